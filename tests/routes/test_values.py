"""Ids carried from earlier responses: by name, by resource, by collection; a delete forgets
what it deleted; headers parsed with a one-line error."""

from __future__ import annotations

import pytest

from scenarios.routes.headers import parse_header
from scenarios.routes.values import Harvest, carry
from scenarios.sweep.app import UsageError


def harvest_of(*responses: tuple[str, object]) -> Harvest:
    harvest = Harvest()
    for number, (path, body) in enumerate(responses):
        harvest.add(number, path, body, None)
    return harvest


def test_a_path_id_comes_from_a_create_on_its_collection() -> None:
    harvest = harvest_of(("/items", {"id": 7, "name": "x"}), ("/users", {"id": 3}))
    params = {"item_id": 123456}
    (use,) = carry(harvest, "/items/{item_id}", params, None, in_body=False)
    assert params == {"item_id": 7}
    assert use.value.producer == 0


def test_a_slug_comes_from_a_field_of_the_same_name_one_level_down() -> None:
    harvest = harvest_of(("/articles", {"article": {"slug": "hello-world", "id": 1}}))
    params = {"slug": "random"}
    carry(harvest, "/articles/{slug}/comments", params, None, in_body=False)
    assert params == {"slug": "hello-world"}


def test_a_body_reference_and_a_list_of_ids_name_their_resource() -> None:
    harvest = harvest_of(("/api/notebooks", {"id": 4}), ("/api/notes", {"id": 9}))
    body = {"title": "t", "notebook_id": 0, "notes": [123, 456]}
    carry(harvest, "/api/notebooks", {}, body, in_body=True)
    assert body == {"title": "t", "notebook_id": 4, "notes": [9]}


def test_an_id_of_the_wrong_type_is_not_carried() -> None:
    harvest = harvest_of(("/items", {"id": "abc"}))
    params = {"item_id": 5}
    assert carry(harvest, "/items/{item_id}", params, None, in_body=False) == []
    assert params == {"item_id": 5}


def test_a_successful_delete_forgets_the_id_it_deleted() -> None:
    harvest = harvest_of(("/items", {"id": 1}), ("/items", {"id": 2}))
    params = {"item_id": 0}
    uses = carry(harvest, "/items/{item_id}", params, None, in_body=False)
    assert params == {"item_id": 2}
    harvest.forget(uses)
    again = {"item_id": 0}
    carry(harvest, "/items/{item_id}", again, None, in_body=False)
    assert again == {"item_id": 1}


def test_a_header_is_name_colon_value() -> None:
    assert parse_header("Authorization:  Bearer a:b ") == ("Authorization", "Bearer a:b")
    with pytest.raises(UsageError, match="expected 'Name: value'"):
        parse_header("Authorization")
