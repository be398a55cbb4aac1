"""The zoo as a target: the reference adapter serving the variants instead of the documented
wirings, with the outcomes each must show in `expected_outcomes.toml` beside this file."""

from __future__ import annotations

from pathlib import Path

from reference_app.adapter import ReferenceTargetFactory
from reference_app.wirings import SessionModule
from reference_app.wirings.commit_in_dependency import CommitInDependencyModule
from tests.zoo.variants.background_task_session import BackgroundTaskSessionModule
from tests.zoo.variants.create_task_session import CreateTaskSessionModule
from tests.zoo.variants.dependency_resolved_twice import DependencyResolvedTwiceModule
from tests.zoo.variants.forgotten_commit import ForgottenCommitModule
from tests.zoo.variants.gather_fan_out import GatherFanOutModule
from tests.zoo.variants.per_repository_provider import PerRepositoryProviderModule
from tests.zoo.variants.read_only_helper import ReadOnlyHelperModule
from tests.zoo.variants.singleton_session import SingletonSessionModule
from tests.zoo.variants.swallowed_error import SwallowedErrorModule
from tests.zoo.variants.task_scoped_registry import TaskScopedRegistryModule
from tests.zoo.variants.unflushed_second_session import UnflushedSecondSessionModule

VARIANTS: dict[str, type[SessionModule]] = {
    module.name: module
    for module in (
        ForgottenCommitModule,
        UnflushedSecondSessionModule,
        SwallowedErrorModule,
        CommitInDependencyModule,  # the documented after-response wiring, scored here too
        PerRepositoryProviderModule,
        SingletonSessionModule,
        TaskScopedRegistryModule,
        GatherFanOutModule,
        DependencyResolvedTwiceModule,
        CreateTaskSessionModule,
        BackgroundTaskSessionModule,
        ReadOnlyHelperModule,
    )
}

ZOO = ReferenceTargetFactory(Path(__file__).with_name("expected_outcomes.toml"), modules=VARIANTS)
# The leak variants each hold up to a pool's worth of connections until the harness takes them
# back: with every variant's shards side by side the zoo alone reached 96 of the server's 100
# connections (PostgreSQL's default max_connections), so its matrix opens a bounded number of
# targets at once on each database (tests/whole_matrix.py, OPEN_TARGETS).
