from sqlalchemy.orm import Session

from utils import NEW_SESSION, provide_session


@provide_session
def priority_weight(task_id: str, session: Session = NEW_SESSION) -> int:
    return len(task_id)


@provide_session
def verify_integrity(run_id: str, session: Session = NEW_SESSION) -> None:
    session.add(object())
    weight = priority_weight(run_id)  # expect: SCN001
    session.flush()
    del weight
