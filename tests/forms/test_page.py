"""The HTML form page: rendering, language, escaping, CSRF, errors, thank-you, double submit."""

from __future__ import annotations

import re
from html import unescape

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from fluxolab.extensions import db
from fluxolab.forms import csrf
from fluxolab.models import User, Workspace
from tests.forms.conftest import LiveForm, form_flow, form_row, make_live_form
from tests.forms.test_api import executions_of, logs_of

VALID = {
    "name": "Ana",
    "message": "Ola",
    "age": "31",
    "email": "ana@example.com",
    "day": "2026-12-03",
    "plan": "pro",
    "terms": "on",
}


def csrf_of(page: TestResponse) -> str:
    match = re.search(r'name="_csrf" value="([^"]+)"', page.get_data(as_text=True))
    assert match, page.get_data(as_text=True)
    return unescape(match.group(1))


def post_page(client: FlaskClient, live: LiveForm, values: dict[str, str]) -> TestResponse:
    token = csrf_of(client.get(live.page))
    return client.post(live.page, data={**values, csrf.FIELD: token})


def test_page_has_labels_required_marks_and_strict_headers(
    client: FlaskClient, live_form: LiveForm
) -> None:
    page = client.get(live_form.page)
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert '<html lang="pt-BR">' in html
    assert "<script" not in html
    for index, label in enumerate(["Nome", "Mensagem", "Idade", "E-mail", "Dia", "Plano"], 1):
        assert f'<label for="field-{index}">{label}' in html
        assert f'id="field-{index}"' in html
    assert '<label for="field-7">Aceito os termos' in html
    assert 'name="name" required aria-required="true"' in html
    assert 'name="message" rows' in html  # optional: no required attribute
    assert '<option value="pro">pro</option>' in html
    assert "Enviar" in html and "obrigatório" in html
    headers = page.headers
    assert headers["Content-Security-Policy"].startswith("default-src 'none'; style-src 'self'")
    assert "form-action 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"
    cookie = headers["Set-Cookie"]
    assert cookie.startswith(f"{csrf.COOKIE}=") and "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie and f"Path={live_form.page}" in cookie
    css = client.get("/forms/assets/form.css")
    assert css.status_code == 200 and css.mimetype == "text/css"


def test_page_speaks_the_workspace_language(client: FlaskClient) -> None:
    live = make_live_form(client)
    owner = db.session.get(User, live.owner.user_id)
    assert owner is not None
    owner.language = "en-US"
    db.session.commit()
    html = client.get(live.page).get_data(as_text=True)
    assert '<html lang="en-US">' in html and "Submit" in html and "required" in html
    assert client.get(live.api).get_json()["form"]["language"] == "en-US"

    workspace = db.session.get(Workspace, live.owner.workspace_id)
    assert workspace is not None
    workspace.settings = {**workspace.settings, "language": "pt-BR"}
    db.session.commit()
    assert '<html lang="pt-BR">' in client.get(live.page).get_data(as_text=True)

    missing = client.get("/forms/unknown-token")
    assert missing.status_code == 404 and "Formulário não encontrado" in missing.get_data(
        as_text=True
    )
    assert missing.headers["Content-Security-Policy"].startswith("default-src 'none'")


def test_hostile_labels_names_and_values_are_escaped(client: FlaskClient) -> None:
    hostile = [
        {"name": 'x"><script>alert(1)</script>', "label": "<script>alert(1)</script>"},
        {"name": "opt", "type": "select", "options": ['"><img src=x onerror=alert(1)>', "ok"]},
        {"name": "n", "label": "Idade", "type": "number", "required": True},
    ]
    live = make_live_form(client, form_flow(hostile, name="<b>Form</b>"))
    page = client.get(live.page)
    html = page.get_data(as_text=True)
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;Form&lt;/b&gt;" in html

    values = {'x"><script>alert(1)</script>': "</textarea><script>x()</script>", "n": "abc"}
    again = client.post(live.page, data={**values, csrf.FIELD: csrf_of(page)})
    assert again.status_code == 422
    text = again.get_data(as_text=True)
    assert "<script>" not in text
    assert 'value="&lt;/textarea&gt;&lt;script&gt;x()&lt;/script&gt;"' in text
    assert executions_of(live.workflow_id) == []


def test_valid_submission_thanks_and_starts_one_form_execution(
    client: FlaskClient, live_form: LiveForm
) -> None:
    token = csrf_of(client.get(live_form.page))
    # what a browser sends for the page's own post under Referrer-Policy: no-referrer
    browser = {"Origin": "null", "Sec-Fetch-Site": "same-origin"}
    response = client.post(live_form.page, data={**VALID, csrf.FIELD: token}, headers=browser)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert "Obrigado!" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    [execution] = executions_of(live_form.workflow_id)
    assert execution.mode == "form"
    [item] = execution.input_items
    fields = item.get("json", item)["fields"]
    assert fields == {
        "name": "Ana",
        "message": "Ola",
        "age": 31,
        "email": "ana@example.com",
        "day": "2026-12-03",
        "plan": "pro",
        "terms": True,
    }

    # the browser posting the same page again (refresh, double click): still one run
    repeat = client.post(live_form.page, data={**VALID, csrf.FIELD: token})
    assert repeat.status_code == 200 and "Obrigado!" in repeat.get_data(as_text=True)
    assert len(executions_of(live_form.workflow_id)) == 1
    assert [log.execution_id for log in logs_of(live_form)] == [execution.id, execution.id]


def test_errors_show_the_form_again_with_values_and_linked_messages(
    client: FlaskClient, live_form: LiveForm
) -> None:
    response = post_page(client, live_form, {**VALID, "email": "ana@", "name": "", "terms": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'role="alert"' in html
    assert 'aria-invalid="true" aria-describedby="field-4-error"' in html
    assert '<p class="error" id="field-4-error">Informe um e-mail válido.</p>' in html
    assert '<p class="error" id="field-1-error">Campo obrigatório.</p>' in html
    assert '<p class="error" id="field-7-error">Campo obrigatório.</p>' in html
    assert 'value="ana@"' in html and ">Ola</textarea>" in html
    assert '<option value="pro" selected>' in html
    assert executions_of(live_form.workflow_id) == []
    assert [log.response_status for log in logs_of(live_form)] == [422]
    # the form shown again carries a fresh token that works
    fixed = client.post(live_form.page, data={**VALID, csrf.FIELD: csrf_of(response)})
    assert fixed.status_code == 200
    assert len(executions_of(live_form.workflow_id)) == 1


def test_posts_without_a_valid_csrf_token_and_cookie_are_refused(
    client: FlaskClient, live_form: LiveForm
) -> None:
    other = make_live_form(client)
    token = csrf_of(client.get(live_form.page))
    other_token = csrf_of(client.get(other.page))

    refused = [
        client.post(live_form.page, data=VALID),  # no token at all
        client.post(live_form.page, data={**VALID, csrf.FIELD: token + "x"}),  # tampered
        client.post(live_form.page, data={**VALID, csrf.FIELD: other_token}),  # other form's
        client.post(  # a cross-site page posting with the right token
            live_form.page,
            data={**VALID, csrf.FIELD: token},
            headers={"Origin": "https://evil.example"},
        ),
        client.post(  # what browsers say of a cross-site post whatever its Origin
            live_form.page,
            data={**VALID, csrf.FIELD: token},
            headers={"Sec-Fetch-Site": "cross-site", "Origin": "null"},
        ),
    ]
    client.delete_cookie(csrf.COOKIE, path=live_form.page)
    refused.append(client.post(live_form.page, data={**VALID, csrf.FIELD: token}))  # no cookie
    for response in refused:
        assert response.status_code == 403
        assert response.mimetype == "text/html"
        assert "A página expirou" in response.get_data(as_text=True)
    assert executions_of(live_form.workflow_id) == []
    assert [log.response_status for log in logs_of(live_form)] == [403] * 6


def test_csrf_tokens_are_bound_to_their_form_and_expire(
    client: FlaskClient, app: Flask, live_form: LiveForm
) -> None:
    other = make_live_form(client)
    client.get(live_form.page)
    cookie = client.get_cookie(csrf.COOKIE, path=live_form.page)
    assert cookie is not None
    with app.test_request_context():
        forged = csrf.sign(form_row(other.workflow_id).id, cookie.value)  # right nonce, other form
        genuine = csrf.sign(form_row(live_form.workflow_id).id, cookie.value)
    assert client.post(live_form.page, data={**VALID, csrf.FIELD: forged}).status_code == 403
    max_age = app.config["FORM_CSRF_MAX_AGE_SECONDS"]
    app.config["FORM_CSRF_MAX_AGE_SECONDS"] = -1  # every token is older than that
    try:
        expired = client.post(live_form.page, data={**VALID, csrf.FIELD: genuine})
    finally:
        app.config["FORM_CSRF_MAX_AGE_SECONDS"] = max_age
    assert expired.status_code == 403
    assert client.post(live_form.page, data={**VALID, csrf.FIELD: genuine}).status_code == 200
    assert len(executions_of(live_form.workflow_id)) == 1


def test_oversized_and_throttled_posts_answer_html(
    client: FlaskClient, app: Flask, live_form: LiveForm
) -> None:
    token = csrf_of(client.get(live_form.page))
    big = {**VALID, "message": "x" * app.config["FORM_MAX_BODY_BYTES"], csrf.FIELD: token}
    response = client.post(live_form.page, data=big)
    assert response.status_code == 413 and response.mimetype == "text/html"
    assert "O envio é grande demais." in response.get_data(as_text=True)
    assert [log.response_status for log in logs_of(live_form)] == [413]
    assert executions_of(live_form.workflow_id) == []
