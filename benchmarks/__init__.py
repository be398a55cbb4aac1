"""Benchmarks of the reference app and the harness; `nox -s bench` (`python -m benchmarks`) runs
them all in one process and writes reports/bench.json and reports/bench.md."""
