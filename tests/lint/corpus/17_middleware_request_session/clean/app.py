# The clean side of the fastapi/fastapi PR #2945 middleware workaround: one session per
# request, set by the middleware and read through get_db.
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
    db.add(object())
    db.commit()
