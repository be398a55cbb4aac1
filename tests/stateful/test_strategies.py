"""The text strategies: what users really send is accepted, every bad input is rejected.

Checked against the reference app's own validator, so the machine's "valid" and "bad" agree
with what the app must accept and refuse.
"""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import HealthCheck, find, given
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import NoSuchExample
from pydantic import TypeAdapter, ValidationError

from reference_app.api.schemas import MAX_CONTENT_CHARS, MessageIn
from scenarios.stateful import (
    DEFAULT_MAX_CONTENT_CHARS,
    EMOJI,
    InputToRefuse,
    bad_inputs,
    user_texts,
)

# Hypothesis's defaults time every example (a 200 ms deadline) and the first ones' generation
# (too_slow past 1 s): wall-clock thresholds a busy machine trips (a replay that is fast again
# ends as Flaky), though what these tests check does not depend on time. So: untimed.
UNTIMED = hypothesis_settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
# `find` searches up to 2000 examples by default; the same, untimed.
FIND_UNTIMED = hypothesis_settings(UNTIMED, max_examples=2000)


def test_the_machine_s_default_limit_is_the_reference_app_s() -> None:
    assert DEFAULT_MAX_CONTENT_CHARS == MAX_CONTENT_CHARS


@UNTIMED
@given(user_texts())
def test_every_generated_user_text_is_accepted(text: str) -> None:
    assert MessageIn(content=text).content == text
    assert json.loads(json.dumps({"content": text}, ensure_ascii=False))["content"] == text


@hypothesis_settings(UNTIMED, database=None)
@given(bad_inputs())
def test_every_generated_bad_input_is_rejected_naming_its_field(bad: InputToRefuse) -> None:
    if bad.field == "session_id":
        with pytest.raises(ValidationError):
            TypeAdapter(uuid.UUID).validate_python(bad.raw_session)
        return
    body = bad.body if bad.body is not None else json.dumps({"content": bad.content}).encode()
    with pytest.raises(ValidationError):
        MessageIn.model_validate_json(body)


def test_user_texts_reach_the_length_limit() -> None:
    longest = find(user_texts(), lambda text: len(text) == MAX_CONTENT_CHARS, settings=FIND_UNTIMED)
    assert len(longest) == MAX_CONTENT_CHARS


def test_user_texts_include_emoji_and_astral_characters() -> None:
    assert find(user_texts(), lambda text: any(e in text for e in EMOJI), settings=FIND_UNTIMED)
    assert find(
        user_texts(), lambda text: any(ord(c) > 0xFFFF for c in text), settings=FIND_UNTIMED
    )


@pytest.mark.parametrize(
    "kind",
    [
        "empty",
        "whitespace_only",
        "oversized",
        "nul",
        "lone_surrogate",
        "wrong_type",
        "missing_content",
        "invalid_utf8",
        "malformed_session_id",
    ],
)
def test_every_kind_of_bad_input_is_generated(kind: str) -> None:
    assert find(bad_inputs(), lambda bad: bad.kind == kind, settings=FIND_UNTIMED).kind == kind


def test_an_oversized_input_is_too_long_even_once_stripped() -> None:
    """An app that counts stripped text (the StrictApp of test_search_options.py) accepted
    ' 0 0 ... 0' of 65 code points under a bound of 64, and the search called it a gap: no
    oversized input may be that short once stripped (Hypothesis searches for one)."""
    with pytest.raises(NoSuchExample):
        find(
            bad_inputs(64, 10),
            lambda bad: bad.kind == "oversized" and len(bad.content.strip()) <= 64,
            settings=hypothesis_settings(UNTIMED, database=None, max_examples=2000),
        )
