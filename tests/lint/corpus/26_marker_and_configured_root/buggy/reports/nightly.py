# Modelled on mealie-recipes/mealie's event bus listeners (mealie/services/event_bus_service/
# event_bus_listeners.py), which open their own session with session_context() outside any
# request: unmarked and unconfigured, the check reports it.
from db import session_context


def publish_digest() -> None:
    with session_context() as session:  # expect: SCN003
        session.execute("select 1")
