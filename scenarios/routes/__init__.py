"""Every write route, with no test written: `python -m scenarios routes`.

The app's own OpenAPI schema names its write operations; Schemathesis makes requests for each,
later ones carrying ids that earlier responses returned; each request is one unit of the
session guard; then each route that answered 2xx has one such request swept by the atomicity
sweep. Schemathesis is the optional extra `[routes]`: nothing else imports this package.

- `headers`: `--header 'Name: value'`;
- `schema`: the schema from the app, its write operations;
- `values`: ids harvested from responses and carried into later requests;
- `generation`: Schemathesis cases for one operation, bounded;
- `driving`: every write operation sent through the guard, in an order that creates first;
- `replay`: the sweep of one 2xx request per route, its ids re-resolved on a fresh database;
- `verdicts`: what a route showed; `report`: routes.json, routes.md, the page's section;
- `cli`: the command.
"""

from __future__ import annotations
