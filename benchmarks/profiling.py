"""Where the default matrix spends its CPU: py-spy samples one `python -m scenarios run`, its
search worker processes included, and the report lists the top functions and each kind of
process's share, so the next change to speed starts from data.

py-spy samples with `--gil`: only a thread that holds its process's GIL counts. Without it, a
thread blocked in C (aiosqlite's worker thread in `SimpleQueue.get()`, or inside SQLite's busy
handler while a lock is waited out) counted as running, and one such thread per SQLite
connection made up 69 % of all samples, hiding where the CPU went."""

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
# A process `multiprocessing` started for the matrix is one of its search workers: spawned
# (`--multiprocessing-fork`), or forked from the fork server (py-spy shows them under it).
_SEARCH_WORKERS = ("--multiprocessing-fork", "multiprocessing.forkserver")


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
    processes: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        worker = any(marker in stack for marker in _SEARCH_WORKERS)
        processes["search workers" if worker else "matrix process"] += count
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

    return {
        "samples": total,
        "by_process": {kind: round(100 * n / total, 1) for kind, n in sorted(processes.items())},
        "self": table(own) if total else [],
        "inclusive": table(inclusive),
    }


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
            "--gil",
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
    result["command"] = "py-spy record --gil --subprocesses -- python -m scenarios run --quiet"
    result["rate_hz"] = SAMPLE_RATE_HZ
    return result


def profile_markdown(part: dict[str, Any]) -> list[str]:
    lines = ["## Profile of the default matrix (CPU samples)", ""]
    if "unavailable" in part:
        return [*lines, f"Not measured: {part['unavailable']}.", ""]
    shares = ", ".join(f"{kind} {share} %" for kind, share in part.get("by_process", {}).items())
    lines += [
        f"`{part['command']}` at {part['rate_hz']} Hz: {part['samples']} samples of threads "
        "holding their process's GIL (Python on a core, not a thread blocked in C), all "
        f"processes together{f' ({shares})' if shares else ''}. Own time is the function "
        "itself; inclusive adds what it called.",
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
