# The clean side of the mealie event-listener shape: the team read the finding and marked the
# line with its reason; a second listener lives in a module the config names a composition root.
from db import session_context


def publish_digest() -> None:
    with session_context() as session:  # scenarios: allow-session -- the digest's own unit
        session.execute("select 1")
