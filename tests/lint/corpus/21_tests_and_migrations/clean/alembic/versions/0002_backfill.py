from sqlalchemy.orm import Session


def upgrade(bind) -> None:
    with Session(bind=bind) as session:
        session.execute("update teams set slug = lower(name)")
        session.commit()
