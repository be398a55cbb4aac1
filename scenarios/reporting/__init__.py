"""What a run writes, and the page a person opens first: `reports/index.html`, the grid of
every case and the timeline of each case that is not ok. `matrix` writes the matrix's files
(matrix.json, matrix.md, JUnit XML, the step summary), `merge` joins the matrix's cells run
apart, `runs` keeps a door's JSON runs. The sweep and the route door write their own files
(`scenarios.sweep.report`, `scenarios.routes.report`) with `write_index` and `runs`: moved
here, they would close a circle between this package and theirs.

Data only flows in. A door builds a `Section` of `GridCell`s (the matrix: `matrix_section(run)`)
and calls `write_index(reports_dir, section)`; sections of other doors already on the page are
kept. Nothing in the runner, the matrix or the search imports this package.
"""

from __future__ import annotations

from scenarios.reporting.page import GridCell, Section, matrix_section, read_sections, write_index

__all__ = ["GridCell", "Section", "matrix_section", "read_sections", "write_index"]
