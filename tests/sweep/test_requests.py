"""Requests as a team writes them: headers, values saved from a response by a path and used
as `${name}`, request files; every mistake one line naming what was wrong (exit 2)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios.cli import main
from scenarios.sweep.requests import (
    SweepRequest,
    UsageError,
    extract,
    load_request_file,
    parse_header,
    saved_values,
)


def test_a_value_is_taken_from_a_response_by_a_dotted_path() -> None:
    document = {"user": {"token": "t"}, "items": [{"id": 7}, {"id": 9}]}
    assert extract(document, "user.token") == "t"
    assert extract(document, "$.items.1.id") == 9
    with pytest.raises(KeyError, match=r"items\.2"):
        extract(document, "items.2.id")


def test_saved_values_fill_the_path_the_body_and_the_headers() -> None:
    request = SweepRequest.build(
        "post",
        "/articles/${slug}/comments",
        {"parent": "${id}", "text": "on ${slug}"},
        headers=(("Authorization", "Token ${token}"),),
    )
    resolved = request.resolve({"slug": "a-1", "id": 9, "token": "t"})
    assert resolved.method == "POST"
    assert resolved.path == "/articles/a-1/comments"
    assert resolved.body == {"parent": 9, "text": "on a-1"}  # a whole placeholder keeps its type
    assert resolved.headers == (("Authorization", "Token t"),)


def test_a_setup_request_goes_without_a_header_whose_value_is_not_saved_yet() -> None:
    request = SweepRequest.build("POST", "/users", headers=(("Authorization", "Token ${t}"),))
    assert request.resolve({}, setup=True).headers == ()
    with pytest.raises(UsageError, match=r"\$\{t\} is not a saved value"):
        request.resolve({})


def test_an_environment_value_is_read_and_a_missing_one_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    request = SweepRequest.build("GET", "/", headers=(("X-Key", "${env.SWEEP_TEST_KEY}"),))
    monkeypatch.setenv("SWEEP_TEST_KEY", "k")
    assert request.resolve({}).headers == (("X-Key", "k"),)
    monkeypatch.delenv("SWEEP_TEST_KEY")
    with pytest.raises(UsageError, match="SWEEP_TEST_KEY, which is not set"):
        request.resolve({})


def test_a_value_missing_from_the_response_is_named() -> None:
    request = SweepRequest.build("POST", "/users", save=(("token", "user.token"),))
    assert saved_values(request, 201, '{"user": {"token": "t"}}') == {"token": "t"}
    with pytest.raises(UsageError, match=r"no 'user\.token'"):
        saved_values(request, 201, '{"user": {}}')
    with pytest.raises(UsageError, match="not JSON"):
        saved_values(request, 201, "<html>")


def test_a_request_file_gives_setup_requests_requests_and_headers(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text(
        'headers = { Authorization = "Token ${token}" }\n'
        '[[setup]]\nmethod = "POST"\npath = "/users"\njson = { name = "a" }\n'
        'save = { token = "user.token" }\n'
        '[[request]]\nmethod = "PUT"\npath = "/me"\nheaders = { "X-A" = "1" }\n'
    )
    plan, headers = load_request_file(path)
    assert headers == (("Authorization", "Token ${token}"),)
    assert [r.describe() for r in plan.setup] == ['POST /users {"name": "a"}']
    assert plan.setup[0].save == (("token", "user.token"),)
    assert plan.requests[0].headers == (("X-A", "1"),)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[[request]\n", "not valid TOML"),
        ('[[request]]\nmethod = "GET"\n', "'method' and 'path' are required"),
        ('[[request]]\nmethod = "GET"\npath = "/"\nbody = 1\n', "unknown key(s) body"),
        ('[[request]]\nmethod = "FETCH"\npath = "/"\n', "unknown method 'FETCH'"),
        ('[[setup]]\nmethod = "GET"\npath = "/"\n', "no [[request]] to sweep"),
        ("request = 1\n", "expected [[...]] tables"),
    ],
)
def test_a_bad_request_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content)
    code = main(
        [
            "sweep",
            "--app-factory",
            "tests.sweep.small_apps:clean_orders",
            "--db",
            "sqlite",
            "--request-file",
            str(path),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--app", "tests.sweep.container_app:clean_app"], "also say what it reaches"),
        (
            ["--app-factory", "tests.sweep.small_apps:clean_orders", "--engine", "m:e"],
            "go with --app, not --app-factory",
        ),
        (
            [
                "--app",
                "tests.sweep.container_app:clean_app",
                "--sessionmaker",
                "tests.sweep.container_app:metadata",
            ],
            "not a sessionmaker",
        ),
        (
            ["--app-factory", "tests.sweep.small_apps:clean_orders", "--header", "NoColon"],
            "Name: value",
        ),
    ],
)
def test_a_bad_app_or_header_option_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    code = main(["sweep", "--db", "sqlite", "--request", "POST /x {}", *arguments])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_parse_header_keeps_colons_in_the_value() -> None:
    assert parse_header("Authorization: Bearer a:b") == ("Authorization", "Bearer a:b")


def test_a_login_form_is_read_and_its_values_never_shown(tmp_path: Path) -> None:
    path = tmp_path / "login.toml"
    path.write_text(
        '[[setup]]\nmethod = "POST"\npath = "/auth/token"\n'
        'form = { username = "a@example.com", password = "${env.SWEEP_PW}" }\n'
        'save = { token = "access_token" }\n'
        '[[request]]\nmethod = "POST"\npath = "/x"\n'
    )
    plan, _ = load_request_file(path)
    (login,) = plan.setup
    assert login.describe() == "POST /auth/token form(username, password)"
    with pytest.raises(UsageError, match="SWEEP_PW, which is not set"):
        login.resolve({}, setup=True)  # a form value is never left out, unlike a header
