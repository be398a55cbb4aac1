# Modelled on the fastapi/fastapi PR #2945 thread, where the workaround was a middleware that
# sets `request.state.db = SessionLocal()` and a get_db that returns it: the middleware and
# get_db are the composition root; a route that has that session and opens another is not.
from fastapi import Depends, FastAPI, Request
from sqlalchemy.orm import Session, sessionmaker

SessionLocal = sessionmaker()
app = FastAPI()


@app.middleware("http")
async def db_session_middleware(request: Request, call_next):
    request.state.db = SessionLocal()
    try:
        return await call_next(request)
    finally:
        request.state.db.close()


def get_db(request: Request) -> Session:
    return request.state.db


@app.post("/orders")
def create_order(db: Session = Depends(get_db)):
    db.add(object())
    receipt = SessionLocal()  # expect: SCN001
    receipt.add(object())
    receipt.commit()
