"""Ids carried from earlier responses into later requests: a `PUT /items/{item_id}` needs an
item the run created, which a random id almost never names.

Every 2xx JSON response (and its `Location` header) is harvested: each scalar field, at the top
and one level down (`{"article": {"slug": ...}}`). A path parameter, or a body field that names
another resource (`article_id`), takes the most recent value whose name matches: the same name
(`slug`), `<resource>_id` against the `id` of a response from a path naming that resource, or
`id` of the collection the path is under (`/items/{id}` after `POST /items`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Scalar = str | int


@dataclass(frozen=True)
class Value:
    """A scalar an earlier response returned: `producer` is that exchange's number."""

    producer: int
    path: str  # the producing route's path template
    keys: tuple[str, ...]  # where in the response: ("article", "slug"); ("Location",)
    value: Scalar

    @property
    def name(self) -> str:
        return self.keys[-1]


@dataclass(frozen=True)
class Use:
    """A value put into a request: `("path", "item_id")` or `("body", "article_id")`."""

    where: tuple[str, str]
    value: Value


def _norm(name: str) -> str:
    return name.replace("_", "").replace("-", "").lower()


def _singular(word: str) -> str:
    word = word.lower()
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _resource_of(name: str) -> str | None:
    """`article_id`, `articleId`, `article_pk` -> `article`."""
    lowered = name.lower()
    for suffix in ("_id", "id", "_pk", "_uuid", "uuid", "_slug"):
        if lowered.endswith(suffix) and len(lowered) > len(suffix):
            return _singular(lowered[: -len(suffix)].rstrip("_-"))
    return None


def _walk(data: Any, prefix: tuple[str, ...], depth: int) -> Iterator[tuple[tuple[str, ...], Any]]:
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, (dict, list)) and depth > 0:
                yield from _walk(value, (*prefix, str(key)), depth - 1)
            elif isinstance(value, (str, int)) and not isinstance(value, bool):
                yield (*prefix, str(key)), value
    elif isinstance(data, list) and data and depth > 0:
        yield from _walk(data[0], prefix, depth - 1)


class Harvest:
    """Every value harvested so far, newest last."""

    def __init__(self) -> None:
        self.values: list[Value] = []

    def add(self, producer: int, path: str, body: Any, location: str | None) -> None:
        for keys, value in _walk(body, (), 2):
            if isinstance(value, str) and (not value or len(value) > 200):
                continue
            self.values.append(Value(producer, path, keys, value))
        if location:
            last = location.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
            if last:
                self.values.append(Value(producer, path, ("Location",), last))

    def forget(self, uses: list[Use]) -> None:
        """A delete succeeded: the values that named what it deleted name nothing any more."""
        gone = {(use.value.producer, use.value.value) for use in uses if use.where[0] == "path"}
        self.values = [v for v in self.values if (v.producer, v.value) not in gone]

    def _score(self, value: Value, name: str, template: str) -> int:
        resource = _resource_of(name)
        segments = {_singular(s) for s in value.path.strip("/").split("/") if "{" not in s}
        segments |= {_singular(k) for k in value.keys[:-1]}
        if _norm(value.name) == _norm(name) and value.name.lower() != "id":
            return 4
        if value.name.lower() in ("id", "location") and resource and resource in segments:
            return 3
        marker = "/{" + name + "}"
        collection = template.split(marker)[0] if marker in template else None
        if value.name.lower() in ("id", "location") and value.path.rstrip("/") == collection:
            return 3
        if value.name.lower() == "id" and len(value.keys) == 1 and name.lower() in ("id", "pk"):
            return 1
        return 0

    def find(self, name: str, template: str, like: Any) -> Value | None:
        """The best (then newest) value for a parameter named `name` of `template`, of the
        same type as `like` (what Schemathesis generated there)."""
        best: tuple[int, int] | None = None
        chosen: Value | None = None
        for order, value in enumerate(self.values):
            if isinstance(like, int) and not isinstance(like, bool):
                if not (isinstance(value.value, int) or str(value.value).isdigit()):
                    continue
            elif isinstance(like, (dict, list, bool, float)) or like is None:
                continue
            score = self._score(value, name, template)
            if score and (best is None or (score, order) >= best):
                best, chosen = (score, order), value
        return chosen


def coerce(value: Value, like: Any) -> Scalar:
    """The harvested value in the generated value's type (an int id for an int parameter)."""
    if isinstance(like, int) and not isinstance(like, bool):
        return int(value.value)
    return str(value.value) if isinstance(like, str) else value.value


def _carry_list(
    harvest: Harvest, template: str, body: dict[str, Any], key: str, generated: list[Any]
) -> list[Use]:
    """A list of ids named for a resource (`notes`, `note_ids`, `tagIds`): one harvested id of
    that resource, in the type the generated items have (nothing when the list was empty)."""
    if not generated or not all(isinstance(item, (int, str)) for item in generated):
        return []
    resource = _resource_of(key.rstrip("s")) or _singular(key)
    found = harvest.find(f"{resource}_id", template, generated[0])
    if found is None:
        return []
    body[key] = [coerce(found, generated[0])]
    return [Use(("body", key), found)]


def carry(
    harvest: Harvest, template: str, path_parameters: dict[str, Any], body: Any, *, in_body: bool
) -> list[Use]:
    """Put harvested values into a generated request, in place; returns what was put where.
    Body fields are filled only when `in_body` (half the examples keep what was generated)."""
    uses: list[Use] = []
    for name, generated in list(path_parameters.items()):
        found = harvest.find(name, template, generated)
        if found is not None:
            path_parameters[name] = coerce(found, generated)
            uses.append(Use(("path", name), found))
    if in_body and isinstance(body, dict):
        for key, generated in list(body.items()):
            if isinstance(generated, list):
                uses += _carry_list(harvest, template, body, key, generated)
                continue
            if _resource_of(key) is None:
                continue  # only fields that name another resource: `article_id`, `tagIds`
            found = harvest.find(key, template, generated)
            if found is not None:
                body[key] = coerce(found, generated)
                uses.append(Use(("body", key), found))
    return uses


def plausible(body: Any, number: int) -> list[str]:
    """Fields a schema often leaves as bare strings that an app validates anyway: an `email`
    gets an address (unique per request). Returns the fields changed."""
    changed: list[str] = []
    if isinstance(body, dict):
        for key, generated in body.items():
            if isinstance(generated, str) and _norm(key).endswith("email"):
                body[key] = f"routes{number}@example.com"
                changed.append(key)
    return changed
