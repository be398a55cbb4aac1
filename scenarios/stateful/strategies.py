"""What users really send, and the malformed requests the app must reject."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from hypothesis import strategies as st

from scenarios.adapter import (
    ChatRequest,
)

if TYPE_CHECKING:
    from hypothesis.vendor.pretty import RepresentationPrinter

DEFAULT_MAX_CONTENT_CHARS = 10_000


EMOJI = ("👋", "🙂", "🎉", "👍🏽", "❤️", "🇺🇦", "👨‍👩‍👧‍👦", "🧪", "🤖")
SAMPLES = (
    "Привет, как дела?",
    "你好，世界",  # noqa: RUF001 (users type full-width punctuation)
    "مرحبا بالعالم",
    "שלום",
    "e\u0301 (combining accent)",
    "naïve café",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",  # noqa: RUF001 (astral-plane letters, as pasted from "fancy text" sites)
    "line one\nline two",
    "tab\tseparated",
    "  surrounded by spaces  ",
    "'; DROP TABLE messages; --",
    "<script>alert(1)</script>",
    "\\u0000 written out, not a NUL",
    "\u200b zero-width space",
)
# Everything `str.strip()` removes: a message of only these is blank.
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
# Any Unicode scalar value except NUL: what a client can send and a database can store.
STORABLE = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")
# Letters, digits and punctuation: what is left of these after `str.strip()` is all of them.
VISIBLE = st.characters(categories=["L", "N", "P"])


def _fill(unit: str, length: int) -> str:
    """`unit` repeated to exactly `length` code points (how the app counts)."""
    return (unit * (length // len(unit) + 1))[:length]


class ContentBoundsError(ValueError):
    """The content bounds cannot hold a message (min above max, or below 1)."""


def check_bounds(min_chars: int, max_chars: int) -> None:
    if not 1 <= min_chars <= max_chars:
        raise ContentBoundsError(
            f"content bounds must satisfy 1 <= min <= max, got min={min_chars}, max={max_chars}"
        )


@lru_cache
def user_texts(
    max_chars: int = DEFAULT_MAX_CONTENT_CHARS, min_chars: int = 1
) -> st.SearchStrategy[str]:
    """Messages a user really sends: any storable Unicode, emoji, scripts, between the bounds.

    Lengths count code points, as Python and pydantic do; a text's length without its surrounding
    whitespace is at least `min_chars`, so an app that strips before measuring accepts it too.
    """
    check_bounds(min_chars, max_chars)
    short = max(min_chars, min(80, max_chars))
    everyday = st.text(STORABLE, min_size=min_chars, max_size=short)
    mixed = (
        st.lists(
            st.one_of(st.sampled_from(EMOJI + SAMPLES), st.text(STORABLE, min_size=1, max_size=8)),
            min_size=1,
            max_size=8,
        )
        .map("".join)
        .map(lambda text: text[:max_chars])
    )
    long = st.builds(
        _fill,
        st.text(STORABLE, min_size=1, max_size=12),
        st.one_of(st.just(max_chars), st.integers(short, max_chars)),
    )
    return st.one_of(everyday, mixed, long).filter(lambda text: len(text.strip()) >= min_chars)


@dataclass(frozen=True)
class InputToRefuse:
    """One input the app must refuse with a 4xx naming `field`, storing nothing."""

    kind: str
    field: str = "content"
    content: Any = None
    body: bytes | None = None
    raw_session: str | None = None

    def request(self, session: str) -> ChatRequest:
        return ChatRequest(
            session=session, content=self.content, raw_session=self.raw_session, body=self.body
        )

    def __repr__(self) -> str:
        shown = self.body if self.body is not None else self.raw_session or self.content
        return f"InputToRefuse({self.kind}: {abridged(shown)})"

    def _repr_pretty_(self, printer: RepresentationPrinter, cycle: bool) -> None:
        printer.text(repr(self))


def _not_a_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return True
    return False


def _raw_json(content: str) -> bytes:
    # json.dumps escapes a lone surrogate as \udXXX: valid JSON that decodes to invalid Unicode.
    return json.dumps({"content": content}).encode("ascii")


def _insert(text: str, at: int, what: str) -> str:
    at %= len(text) + 1
    return text[:at] + what + text[at:]


@lru_cache
def bad_inputs(
    max_chars: int = DEFAULT_MAX_CONTENT_CHARS, min_chars: int = 1
) -> st.SearchStrategy[InputToRefuse]:
    """Every kind of input the app must reject: blank, too short (below `min_chars`), too long,
    NUL, lone surrogate (as a raw JSON body, since it cannot be encoded), wrong type, missing,
    invalid UTF-8, bad id."""
    check_bounds(min_chars, max_chars)
    short = st.text(STORABLE, max_size=20)
    undersized = (
        [
            st.text(VISIBLE, min_size=1, max_size=min_chars - 1).map(
                lambda text: InputToRefuse("undersized", content=text)
            )
        ]
        if min_chars > 1
        else []
    )
    return st.one_of(
        *undersized,
        st.just(InputToRefuse("empty", content="")),
        st.text(st.sampled_from(WHITESPACE), min_size=1, max_size=20).map(
            lambda text: InputToRefuse("whitespace_only", content=text)
        ),
        st.builds(
            lambda unit, extra: InputToRefuse("oversized", content=_fill(unit, max_chars + extra)),
            st.text(STORABLE, min_size=1, max_size=12),
            st.integers(1, 1_000),
        )
        # Too long once stripped, too: an app that counts stripped text (as the min bound's
        # undersized inputs assume) rightly accepts " 0 0 ... 0" of max + 1 code points.
        .filter(lambda bad: len(bad.content.strip()) > max_chars),
        st.builds(
            lambda text, at: InputToRefuse("nul", content=_insert(text, at, "\x00")),
            short,
            st.integers(0, 20),
        ),
        st.builds(
            lambda text, at, code: InputToRefuse(
                "lone_surrogate", body=_raw_json(_insert(text, at, chr(code)))
            ),
            short,
            st.integers(0, 20),
            st.integers(0xD800, 0xDFFF),
        ),
        st.one_of(
            st.integers(),
            st.floats(allow_nan=False, allow_infinity=False),
            st.booleans(),
            st.none(),
            st.lists(short, max_size=3),
            st.dictionaries(short, short, max_size=2),
        ).map(lambda value: InputToRefuse("wrong_type", content=value)),
        st.just(InputToRefuse("missing_content", body=b"{}")),
        short.map(
            lambda text: InputToRefuse(
                "invalid_utf8",
                field="body",
                body=b'{"content": "' + text.encode("utf-8").replace(b'"', b"") + b'\xff"}',
            )
        ),
        st.text("abcdefghijklmnopqrstuvwxyz0123456789-", min_size=1, max_size=40)
        .filter(_not_a_uuid)
        .map(
            lambda raw: InputToRefuse(
                "malformed_session_id", field="session_id", content="hello", raw_session=raw
            )
        ),
    )


def abridged(value: Any) -> str:
    """`repr`, cut short for a long text, so a step of a history stays one readable line."""
    if isinstance(value, str | bytes) and len(value) > 40:
        return f"{value[:30]!r}… ({len(value)} {'chars' if isinstance(value, str) else 'bytes'})"
    return repr(value)
