from models import SessionFactory, db_session


def post_reply(topic_id: int, text: str) -> None:
    db_session().add(object())
    counter = SessionFactory()  # expect: SCN003
    counter.execute("update topics set replies = replies + 1")
    counter.commit()
