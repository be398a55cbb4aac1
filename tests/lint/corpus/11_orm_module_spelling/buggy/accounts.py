# Modelled on public catalog code found by code search, where a table object's drop() opens
# `with orm.Session(Env.get().engine)` through the `from sqlalchemy import orm` spelling: here a
# command that is given the request's session builds one more from the module attribute.
from sqlalchemy import orm


def close_account(session: orm.Session, account_id: int) -> None:
    session.execute("update accounts set closed = true")
    with orm.Session(session.get_bind()) as audit:  # expect: SCN001
        audit.add(object())
        audit.commit()
