"""A portable regression pack for the two-sessions-in-one-request data loss.

Point it at an app by writing one adapter (`scenarios.adapter.Target`); it knows nothing else
about the app.
"""
