# The clean side of the `orm.Session` spelling: one session, given by the caller.
from sqlalchemy import orm


def close_account(session: orm.Session, account_id: int) -> None:
    session.execute("update accounts set closed = true")
    session.add(object())
