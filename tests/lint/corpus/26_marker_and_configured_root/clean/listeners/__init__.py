# Listeners are wired by the team's own bus; the config names this package a composition root.
from db import session_context


def on_recipe_created(recipe_id: int) -> None:
    with session_context() as session:
        session.execute("select 1")
