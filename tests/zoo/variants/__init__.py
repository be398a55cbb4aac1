"""The bug's relatives, one composition a file, so the static check can be scored per variant.

Each is a `SessionModule` subclass the reference adapter serves like a documented wiring. None of
them belongs in `reference_app/wirings/`: they are what a team's code might look like, written
to measure which of the harness's detectors finds what.
"""
