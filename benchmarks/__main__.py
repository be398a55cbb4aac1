"""`python -m benchmarks` (what `nox -s bench` runs): see benchmarks.bench."""

from __future__ import annotations

import sys

from benchmarks.bench import main

sys.exit(main())
