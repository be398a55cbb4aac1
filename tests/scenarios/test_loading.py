"""`MODULE:ATTRIBUTE` loading, shared by the run's --target and the sweep's --app-factory."""

from __future__ import annotations

import pytest

from scenarios.loading import NotLoadable, load_attribute
from tests.sweep import small_apps


def test_a_dotted_attribute_walks_attributes() -> None:
    assert load_attribute("tests.sweep.small_apps:Order.__tablename__") == "orders"
    assert load_attribute("tests.sweep.small_apps:clean_orders") is small_apps.clean_orders


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("tests.sweep.small_apps", "must look like MODULE:FUNC"),
        (":clean_orders", "must look like MODULE:FUNC"),
        ("no_such_module_here:app", "cannot import 'no_such_module_here'"),
        ("tests.sweep.small_apps:Order.nothing", "'tests.sweep.small_apps' has no 'Order.nothing'"),
    ],
)
def test_each_mistake_is_one_line_naming_it(spec: str, message: str) -> None:
    with pytest.raises(NotLoadable) as raised:
        load_attribute(spec, "MODULE:FUNC")
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_an_attribute_that_is_none_is_found_not_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    # None is a value: the caller says what is wrong with it (for a factory, "is not callable").
    monkeypatch.setattr(small_apps, "unset_factory", None, raising=False)
    assert load_attribute("tests.sweep.small_apps:unset_factory") is None
