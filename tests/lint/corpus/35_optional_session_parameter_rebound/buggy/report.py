# Modelled on keephq/keep's keep/api/core/db.py `get_or_creat_posthog_instance_id(session:
# Optional[Session] = None)`, whose body rebinds the name (`with Session(engine) as session:`).
# The buggy twin takes a session it must use (no default) and still opens another one.
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

engine = create_engine("sqlite:///keep.sqlite3")


def instance_id(session: Session) -> str:
    session.add(object())
    with Session(engine) as other:  # expect: SCN001
        other.add(object())
        other.commit()
    return "id"
