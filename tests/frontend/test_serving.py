"""A built frontend served at ``/`` on the API's origin (a small synthetic ``dist/``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import make_test_config
from tests.factories import make_account
from tests.helpers import fresh_app

INDEX = b"<!doctype html><div id=app></div><script src=/assets/index-3f2a9c1d.js></script>"


@pytest.fixture()
def dist(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_bytes(INDEX)
    (root / "assets" / "index-3f2a9c1d.js").write_text("console.log('app')")
    (root / "favicon.ico").write_bytes(b"\x00\x00\x01\x00")
    (tmp_path / "secret.txt").write_text("outside the build")
    return root


@pytest.fixture()
def served(
    app: Flask, database_url: str, redis_url: str, tmp_path: Path, dist: Path
) -> Iterator[FlaskClient]:
    config = {**make_test_config(database_url, redis_url, tmp_path), "FRONTEND_DIR": str(dist)}
    with fresh_app(config, share_db_with=app) as application:
        yield application.test_client()


@pytest.mark.parametrize("path", ["/", "/dashboard", "/settings/api", "/workflows/projects/1"])
def test_app_routes_get_the_index_never_cached(served: FlaskClient, path: str) -> None:
    response = served.get(path)
    assert response.status_code == 200 and response.data == INDEX
    assert response.mimetype == "text/html"
    assert response.headers["Cache-Control"] == "no-cache"


def test_hashed_assets_are_cached_for_a_year(served: FlaskClient) -> None:
    response = served.get("/assets/index-3f2a9c1d.js")
    assert response.status_code == 200 and b"console.log" in response.data
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"


def test_other_files_are_served_and_revalidated(served: FlaskClient) -> None:
    response = served.get("/favicon.ico")
    assert response.status_code == 200 and response.data.startswith(b"\x00\x00\x01")
    assert response.headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("path", ["/api/nothing-here", "/api/", "/metrics", "/metrics/x"])
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_server_paths_stay_json_404s(served: FlaskClient, path: str, method: str) -> None:
    response = served.open(path, method=method)
    assert response.status_code == 404, (method, path)
    assert response.is_json and isinstance(response.get_json()["message"], str)


def test_form_pages_stay_the_servers_own(served: FlaskClient) -> None:
    response = served.get("/forms/unknown-token-shape")
    assert response.status_code == 404 and response.data != INDEX  # the form's own 404 page


def test_the_api_still_answers_next_to_the_app(served: FlaskClient) -> None:
    owner = make_account()
    response = served.get("/api/workflows", headers=owner.headers)
    assert response.status_code == 200 and "workflows" in response.get_json()
    assert served.get("/api/health").status_code == 200


@pytest.mark.parametrize(
    "path", ["/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"]
)
def test_nothing_outside_the_build_is_served(served: FlaskClient, path: str) -> None:
    response = served.get(path)
    assert b"outside the build" not in response.data
    assert response.status_code in (200, 404)


def test_writes_to_app_paths_are_405(served: FlaskClient) -> None:
    response = served.post("/dashboard", json={})
    assert response.status_code == 405 and response.is_json
    assert "GET" in response.headers["Allow"]


def test_without_the_setting_nothing_is_served_at_the_root(client: FlaskClient) -> None:
    assert client.get("/dashboard").status_code == 404


def test_a_build_folder_without_index_refuses_to_start(
    database_url: str, redis_url: str, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    config = {**make_test_config(database_url, redis_url, tmp_path), "FRONTEND_DIR": str(empty)}
    with pytest.raises(RuntimeError, match=r"index\.html"), fresh_app(config):
        pass
