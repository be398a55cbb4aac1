"""Support desk: a second app that does the reference app's job another way.

Synchronous SQLAlchemy (`Session`), its own schema (`threads`, `posts`, `thread_memory`, an
integer thread id), a small dependency container instead of a session module, and sync FastAPI
endpoints that run in the threadpool. `bootstrap.WIRINGS` has the correct version and a buggy
twin that hands the thread repository a session of its own.
"""
