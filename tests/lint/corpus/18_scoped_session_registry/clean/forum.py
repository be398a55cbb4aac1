from models import db_session


def post_reply(topic_id: int, text: str) -> None:
    db_session().add(object())
    db_session().execute("update topics set replies = replies + 1")
    db_session.commit()
