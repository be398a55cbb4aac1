"""Where the default matrix spends its CPU: py-spy samples one `python -m scenarios run`, its
search worker processes included, and the report lists the top functions, so the next change
to speed starts from data. py-spy samples only threads that are running (not waiting), so the
figures are CPU, not wall time."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

SAMPLE_RATE_HZ = 100
PROFILE_LIMIT_S = 600.0
TOP = 15
_FRAME = re.compile(r"^(?P<function>.*) \((?P<path>[^()]*?)(?::\d+)?\)$")
# Frames every stack passes through: shown inclusive, they would only crowd the table.
_PLUMBING = (
    "<frozen runpy>",
    "threading.py",
    "asyncio/",
    "<frozen importlib",
    "concurrent/",
    "multiprocessing/",
    "(<string>)",
)
# py-spy's own root frames: one per process.
_ROOTS = re.compile(r'^process \d+:|--multiprocessing-fork"$')


def _short(frame: str) -> str:
    found = _FRAME.match(frame)
    if not found:
        return frame.strip() or "(native)"
    path = re.sub(r".*/(site-packages|lib/python3\.\d+)/", "", found["path"])
    path = re.sub(r"^.*/(reference_app|scenarios|benchmarks|examples)/", r"\1/", path)
    return f"{found['function']} ({path})"


def top_functions(raw: str, top: int = TOP) -> dict[str, Any]:
    """From py-spy's raw (collapsed-stack) output: the top functions by own and by inclusive
    samples, as percentages of all samples."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_short(f) for f in stack.split(";")]
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count

    def table(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"function": name, "percent": round(100 * n / total, 1)}
            for name, n in counter.most_common()
            if not any(p in name for p in _PLUMBING) and not _ROOTS.search(name)
        ][:top]

    return {"samples": total, "self": table(own) if total else [], "inclusive": table(inclusive)}


def profile_matrix(py_spy: str | None = None) -> dict[str, Any]:
    """py-spy over one default matrix run; `unavailable` with the reason when it cannot run."""
    py_spy = py_spy or shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        return {"unavailable": "py-spy is not installed (it is in the `bench` dependency group)"}
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as folder:
        output = Path(folder) / "profile.txt"
        command = [
            py_spy,
            "record",
            "--subprocesses",
            "--rate",
            str(SAMPLE_RATE_HZ),
            "--format",
            "raw",
            "--output",
            str(output),
            "--",
            sys.executable,
            "-m",
            "scenarios",
            "run",
            "--quiet",
            "--reports",
            folder,
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=PROFILE_LIMIT_S, check=False
            )
        except subprocess.TimeoutExpired:
            return {"unavailable": f"the profiled run took over {PROFILE_LIMIT_S:.0f} s"}
        if not output.exists():
            why = (done.stderr or done.stdout).strip().splitlines()[-1:]
            return {"unavailable": f"py-spy wrote no profile: {why[0] if why else done.returncode}"}
        result = top_functions(output.read_text(encoding="utf-8", errors="replace"))
    result["command"] = "py-spy record --subprocesses -- python -m scenarios run --quiet"
    result["rate_hz"] = SAMPLE_RATE_HZ
    return result


def profile_markdown(part: dict[str, Any]) -> list[str]:
    lines = ["## Profile of the default matrix (CPU samples)", ""]
    if "unavailable" in part:
        return [*lines, f"Not measured: {part['unavailable']}.", ""]
    lines += [
        f"`{part['command']}` at {part['rate_hz']} Hz: {part['samples']} samples of running "
        "threads, all processes together. Own time is the function itself; inclusive adds what "
        "it called. On a busy machine a thread that waits for a core counts as running, so "
        "waits (the event loop's select, aiosqlite's worker thread) grow with the load.",
        "",
        "| own % | function | | inclusive % | function |",
        "|---|---|---|---|---|",
    ]
    for own, inclusive in zip(part["self"], part["inclusive"], strict=False):
        lines.append(
            f"| {own['percent']} | `{own['function']}` | | "
            f"{inclusive['percent']} | `{inclusive['function']}` |"
        )
    return [*lines, ""]
