"""Markdown tables for reports/bench.md, shared by the bench and the parts it renders."""

from __future__ import annotations

from collections.abc import Sequence


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """A Markdown table and the blank line after it; None cells are left empty."""

    def line(cells: Sequence[object]) -> str:
        return "| " + " | ".join("" if c is None else str(c) for c in cells) + " |"

    return [line(header), line(["---"] * len(header)), *(line(r) for r in rows), ""]
