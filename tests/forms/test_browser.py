"""The form page in a real browser: Debian's headless Chromium driven by Playwright.

The app is served by waitress on loopback and a real Celery worker runs what the form
starts. Fields are found by their labels, as a person (or a screen reader) finds them.
Skips when /usr/bin/chromium or the ``playwright`` package is missing (``make test``
installs both: ``scripts/ensure-tools.sh`` and the dev extras); it never downloads a
browser of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from waitress import create_server

from fluxolab.extensions import db
from tests.forms.conftest import make_live_form
from tests.forms.test_api import executions_of
from tests.workers.conftest import (  # noqa: F401  (fixtures used by this module)
    WorkerProcess,
    start_worker,
    wait_for_status,
    worker_env,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.worker


@pytest.fixture()
def served(app: Flask, committed_db: None) -> Iterator[str]:
    """The session app on a real HTTP server on loopback; yields its base URL."""
    server: Any = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        thread.join(timeout=5)


def test_fill_submit_and_see_the_execution(
    app: Flask,
    served: str,
    start_worker: Callable[..., WorkerProcess],  # noqa: F811  (the imported fixture)
) -> None:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing (apt-get install chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed (dev extras)"
    )
    with app.app_context():
        live = make_live_form(app.test_client())
    start_worker()

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = browser.new_page()
            opened = page.goto(f"{served}{live.page}")
            assert opened is not None and opened.status == 200
            assert page.locator("html").get_attribute("lang") == "pt-BR"
            page.get_by_label("Mensagem").fill("Ola {{ $json.x }}")
            page.get_by_label("Idade").fill("31")
            page.get_by_label("E-mail").fill("ana@example.com")
            page.get_by_label("Dia").fill("2026-12-03")
            page.get_by_label("Plano").select_option("pro")
            page.get_by_label("Aceito os termos").check()

            # "Nome" is required and still empty: the form comes back with the error there
            with page.expect_navigation() as refused:
                page.get_by_role("button", name="Enviar").click()
            assert refused.value is not None and refused.value.status == 422
            name = page.get_by_label("Nome")
            assert name.get_attribute("aria-invalid") == "true"
            described = name.get_attribute("aria-describedby")
            assert described and page.locator(f"#{described}").inner_text() == "Campo obrigatório."
            assert page.get_by_label("E-mail").input_value() == "ana@example.com"
            assert page.get_by_label("Aceito os termos").is_checked()
            assert executions_of_committed(app, live.workflow_id) == []

            name.fill("Ana <b>Souza</b>")
            with page.expect_navigation() as sent:
                page.get_by_role("button", name="Enviar").click()
            assert sent.value is not None and sent.value.status == 200
            assert page.get_by_role("heading").inner_text() == "Obrigado!"
        finally:
            browser.close()

    with app.app_context():
        [execution] = executions_of(live.workflow_id)
        db.session.expunge(execution)
    assert execution.mode == "form"
    fields = execution.input_items[0].get("json", execution.input_items[0])["fields"]
    assert fields == {
        "name": "Ana <b>Souza</b>",
        "message": "Ola {{ $json.x }}",
        "age": 31,
        "email": "ana@example.com",
        "day": "2026-12-03",
        "plan": "pro",
        "terms": True,
    }
    finished = wait_for_status(app, execution.id)
    assert finished.status == "succeeded", finished.error


def executions_of_committed(app: Flask, workflow_id: str) -> list[Any]:
    with app.app_context():
        return executions_of(workflow_id)
