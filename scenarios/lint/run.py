"""One run of the static check: collect the files, find each one's configuration, parse what
parses (skipping the rest with the reason), apply the rules and markers, and rank."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from scenarios.lint.after_response import after_response_findings
from scenarios.lint.callgraph import CallGraph, InHandCall
from scenarios.lint.config import LintConfig, find_pyproject, load_config
from scenarios.lint.depends import route_findings
from scenarios.lint.fastapi_version import describe, known_for
from scenarios.lint.findings import LintFinding, Report, Skipped
from scenarios.lint.markers import apply, markers_in
from scenarios.lint.project import Project
from scenarios.lint.roots import dependencies_used, in_main_block
from scenarios.lint.rules import SILENT_PATHS, Context, ModuleRules
from scenarios.lint.selection import Selection
from scenarios.lint.source import Module, SourceError
from scenarios.lint.unit_roots import unit_roots

SKIPPED_DIRS = frozenset({"__pycache__", "node_modules", "site-packages", "venv", "build"})


def python_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    files: list[Path] = []
    for candidate in sorted(path.rglob("*.py")):
        parts = candidate.relative_to(path).parts[:-1]
        if any(p.startswith(".") or p in SKIPPED_DIRS for p in parts):
            continue
        if any((path / Path(*parts[: i + 1]) / "pyvenv.cfg").exists() for i in range(len(parts))):
            continue
        files.append(candidate)
    return files


def configs_for(paths: list[Path]) -> list[tuple[LintConfig, list[Path]]]:
    """Group the checked paths by the `[tool.scenarios.lint]` found above each of them."""
    groups: dict[Path | None, list[Path]] = {}
    for path in paths:
        groups.setdefault(find_pyproject(path), []).append(path)
    return [(load_config(pyproject), group) for pyproject, group in groups.items()]


def check(
    paths: list[Path], config: LintConfig | None = None, selection: Selection | None = None
) -> Report:
    """Check `paths` with `config` (default: found from the paths) and the rules of
    `selection` (default: the configuration's). Raises ConfigError for a configuration that
    cannot be used; files that cannot be parsed are skipped."""
    groups = configs_for(paths) if config is None else [(config, paths)]
    report = Report()
    for group_config, group in groups:
        _check_group(group, group_config, report, selection or group_config.selection)
    report.sort()
    return report


def _check_group(
    paths: list[Path], config: LintConfig, report: Report, selection: Selection
) -> None:
    project = Project()
    checked: list[tuple[Module, str]] = []
    relatives: list[str] = []
    for path in paths:
        for file in python_files(path):
            relative = config.relative(file, path)
            relatives.append(relative)
            if config.excluded(relative):
                continue
            try:
                module = project.add(file)
            except SourceError as error:
                report.skipped.append(Skipped(error.path, error.line, error.message))
                continue
            checked.append((module, relative))
    report.files += len(checked)
    if config.base is not None and any(p.resolve() == config.base.resolve() for p in paths):
        # only a check of the whole project can tell a pattern that matches nothing
        report.warnings += config.unmatched(relatives, [m.name for m, _ in checked])
    modules = [m for m, _ in checked]
    dependencies = dependencies_used(project, modules)
    roots = frozenset(unit_roots(project, modules))
    found: dict[str, list[LintFinding]] = {}
    calls: list[InHandCall] = []
    reported: set[str] = set()  # modules where the call graph may report an opening
    for module, relative in checked:
        role = config.path_role(relative)
        if role is None and in_main_block(module, None):
            role = "entry-points"  # a script: `if __name__ == "__main__":`
        if role not in SILENT_PATHS:
            reported.add(module.name)
        try:
            rules = module_rules(project, module, Context(config, role, dependencies, roots))
        except RecursionError:
            report.skipped.append(Skipped(module.path, 1, "code nested too deeply to follow"))
            report.files -= 1
            continue
        except Exception as error:  # noqa: BLE001 - a gap in the check: name the file, check the rest
            message = f"the check failed on this file ({type(error).__name__}: {error})"
            report.skipped.append(Skipped(module.path, 1, message))
            report.files -= 1
            continue
        found[module.name] = rules[0]
        calls += rules[1]
    try:
        followed = CallGraph(project).findings(calls, reported)
    except RecursionError:
        followed = []
        report.warnings.append("calls nested too deeply to follow; SCN001 across calls skipped")
    except Exception as error:  # noqa: BLE001 - a gap in the check: say so, keep the rest
        followed = []
        report.warnings.append(
            f"following the calls failed ({type(error).__name__}: {error}); "
            "SCN001 across calls skipped"
        )
    by_path = {m.path: m.name for m, _ in checked}
    for finding in followed:
        found.setdefault(by_path[finding.path], []).append(finding)
    for module, relative in checked:
        if module.name not in found:
            continue
        markers, warnings = markers_in(module.path, module.lines)
        report.warnings += warnings
        chosen = [
            _weighed(f, selection, config)
            for f in found[module.name]
            if selection.enabled(f.code, relative)
        ]
        kept, used, unused = apply(_unique(chosen), markers)
        report.findings += kept
        report.used_markers += used
        report.unused_markers += unused


def module_rules(
    project: Project, module: Module, context: Context
) -> tuple[list[LintFinding], list[InHandCall]]:
    """The module's findings, and the calls it makes with a session in hand."""
    rules = ModuleRules(project, module, context)
    rules.visit(module.tree)
    found: list[LintFinding] = rules.findings
    if context.path_role not in ("tests", "migrations"):
        found += route_findings(project, module)
    if context.path_role not in ("tests", "migrations", "entry-points"):
        found += after_response_findings(project, module, context.dependencies)
    return found, rules.in_hand_calls


def _weighed(finding: LintFinding, selection: Selection, config: LintConfig) -> LintFinding:
    """The finding at its configured level; `SCN004` informational where the app's FastAPI
    still runs the code after `yield` before the response."""
    level = selection.level(finding.code)
    reason = finding.reason
    if finding.code == "SCN004" and level == "error":
        known = known_for(finding.path, config.fastapi_version)
        if known is not None and known.before_response():
            level = "info"
            reason = f"{reason} [{describe(known)}: the commit still runs before the response]"
    return dataclasses.replace(finding, level=level, reason=reason)


def _unique(findings: list[LintFinding]) -> list[LintFinding]:
    seen: set[tuple[Path, int, str]] = set()
    unique: list[LintFinding] = []
    for finding in findings:
        key = (finding.path, finding.line, finding.code)
        if key not in seen:
            seen.add(key)
            unique.append(finding)
    return unique
