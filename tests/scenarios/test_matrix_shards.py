"""The matrix splits each wiring's cases into shards that run side by side: every scenario
lands in exactly one shard, in pack order, and the shards hold about equal numbers of cases."""

from __future__ import annotations

import pytest

from scenarios.matrix import shard
from scenarios.scenario import load_pack


@pytest.mark.parametrize("parts", [1, 2, 3, 5])
def test_shards_keep_every_scenario_once_in_order_and_balanced(parts: int) -> None:
    pack = load_pack(())
    shards = shard(pack, parts)
    assert [s.name for part in shards for s in part] == [s.name for s in pack]
    assert len(shards) == min(parts, len(pack))
    sizes = [sum(len(s.interleavings()) for s in part) for part in shards]
    largest_scenario = max(len(s.interleavings()) for s in pack)
    assert max(sizes) - min(sizes) <= 2 * largest_scenario, sizes


def test_no_scenarios_make_no_shards() -> None:
    assert shard([], 2) == []
