"""`MODULE:ATTRIBUTE`, loaded as uvicorn loads an app (the current folder importable first): the
one way every door finds code in the user's project, the run's `--target` and the sweep's
`--app-factory` alike. Each door adds what it needs of the thing (a target's methods, a
factory's being callable) and its option's name to the message."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path


class NotLoadable(LookupError):
    """Why a spec did not load, in one line (without the spec: the caller names its option)."""


_MISSING = object()


def load_attribute(spec: str, form: str = "'package.module:attribute'") -> object:
    """The object `spec` names; a dotted attribute (`module:App.factory`) walks attributes."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise NotLoadable(f"must look like {form}")
    cwd = str(Path.cwd())
    if cwd not in sys.path:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise NotLoadable(f"cannot import {module_name!r} ({error})") from None
    except ValueError as error:  # a malformed file the module reads at import (its TOML, say)
        raise NotLoadable(f"cannot load {module_name!r}: {error}") from None
    found: object = module
    for part in attribute.split("."):
        found = getattr(found, part, _MISSING)
        if found is _MISSING:
            raise NotLoadable(f"{module_name!r} has no {attribute!r}")
    return found
