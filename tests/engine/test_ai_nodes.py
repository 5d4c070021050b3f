"""AI Agent and AI Summarize against a fake OpenAI-compatible server on loopback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from fluxolab.egress import Egress, EgressPolicy
from fluxolab.engine import RunContext, run_node
from fluxolab.engine.credentials import Credential
from fluxolab.engine.records import StepRecord
from tests.engine.conftest import FakeClock
from tests.engine.fakes import (
    API_KEY,
    ChatFake,
    Credentials,
    chat_credential,
    chat_server,
    loopback_egress,
)
from tests.engine.helpers import items, jsons, node

__all__ = ["chat_server"]  # fixture used below

MakeCtx = Callable[..., RunContext]


def agent(**params: Any) -> dict[str, Any]:
    return node("ai", "ai-agent", **{"credentialId": "ai-1", "prompt": "Say hi", **params})


def summarize(**params: Any) -> dict[str, Any]:
    return node("sum", "ai-summarize", **{"credentialId": "ai-1", **params})


def run(
    make_ctx: MakeCtx,
    node_def: dict[str, Any],
    credential: Credential,
    input_items: list[dict[str, Any]] | None = None,
    egress: Egress | None = None,
) -> StepRecord:
    services = {"egress": egress or loopback_egress(), "credentials": Credentials(credential)}
    return run_node(node_def, input_items or items({}), make_ctx(services=services))


def answered(step: StepRecord) -> list[Any]:
    assert step.status == "succeeded", step.error
    return jsons(step.output["main"])


def test_agent_sends_the_prompt_and_outputs_text_and_usage(
    make_ctx: MakeCtx, chat_server: ChatFake
) -> None:
    chat_server.reply("Hello Ana!", model="gpt-3.5-turbo-0125")
    node_def = agent(prompt="Greet {{ $json.name }}", systemMessage="Be brief", temperature=0.2)
    outputs = answered(
        run(make_ctx, node_def, chat_credential(chat_server.base_url), items({"name": "Ana"}))
    )
    assert outputs == [
        {
            "text": "Hello Ana!",
            "model": "gpt-3.5-turbo-0125",
            "usage": {"promptTokens": 12, "completionTokens": 5, "totalTokens": 17},
            "finishReason": "stop",
        }
    ]
    (request,) = chat_server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == f"Bearer {API_KEY}"
    assert request["json"] == {
        "model": "gpt-3.5-turbo",
        "messages": [
            {"role": "system", "content": "Be brief"},
            {"role": "user", "content": "Greet Ana"},
        ],
        "temperature": 0.2,
        "max_tokens": 1000,
    }


def test_agent_runs_once_per_item(make_ctx: MakeCtx, chat_server: ChatFake) -> None:
    chat_server.reply("one")
    chat_server.reply("two")
    source = items({"q": "a"}, {"q": "b"})
    step = run(
        make_ctx, agent(prompt="{{ $json.q }}"), chat_credential(chat_server.base_url), source
    )
    assert source == items({"q": "a"}, {"q": "b"})  # input items are never changed
    assert [o["text"] for o in answered(step)] == ["one", "two"]
    assert [r["json"]["messages"][-1]["content"] for r in chat_server.requests] == ["a", "b"]


@pytest.mark.parametrize(
    ("node_model", "credential_model", "sent"),
    [
        (None, "llama3", "gpt-3.5-turbo"),  # the template default is explicit
        ("", "llama3", "llama3"),
        ("", None, "gpt-3.5-turbo"),
        ("gpt-4o", "llama3", "gpt-4o"),
    ],
)
def test_model_choice_node_then_credential_then_default(
    make_ctx: MakeCtx,
    chat_server: ChatFake,
    node_model: str | None,
    credential_model: str | None,
    sent: str,
) -> None:
    chat_server.reply("ok")
    params = {} if node_model is None else {"model": node_model}
    credential = chat_credential(chat_server.base_url, model=credential_model)
    answered(run(make_ctx, agent(**params), credential))
    assert chat_server.requests[0]["json"]["model"] == sent


def test_upstream_401_is_surfaced_with_its_message_and_status(
    make_ctx: MakeCtx, chat_server: ChatFake
) -> None:
    credential = chat_credential(chat_server.base_url, api_key="sk-wrong-key-000000")
    step = run(make_ctx, agent(), credential)
    assert step.status == "failed"
    assert step.error == {
        "message": "AI provider answered 401: Incorrect API key provided",
        "type": "UpstreamError",
        "status": 401,
    }
    assert len(chat_server.requests) == 1  # a 401 is not retried
    assert "sk-wrong-key-000000" not in repr(step)


def test_a_500_is_retried_once_after_retry_after(
    make_ctx: MakeCtx, chat_server: ChatFake, clock: FakeClock
) -> None:
    chat_server.answer(500, {"error": {"message": "overloaded"}}, {"Retry-After": "2"})
    chat_server.reply("recovered")
    step = run(make_ctx, agent(), chat_credential(chat_server.base_url))
    assert [o["text"] for o in answered(step)] == ["recovered"]
    assert clock.sleeps == [2.0]
    assert len(chat_server.requests) == 2
    assert "retrying once in 2 s" in step.logs[0]


def test_a_second_429_fails_with_the_upstream_message(
    make_ctx: MakeCtx, chat_server: ChatFake, clock: FakeClock
) -> None:
    chat_server.answer(429, {"error": {"message": "Rate limit reached"}})
    chat_server.answer(429, {"error": {"message": "Rate limit reached"}})
    step = run(make_ctx, agent(), chat_credential(chat_server.base_url))
    assert step.status == "failed" and step.error is not None
    assert step.error["message"] == "AI provider answered 429: Rate limit reached"
    assert clock.sleeps == [1.0]  # no Retry-After: one second


def test_a_retry_after_past_the_node_deadline_is_not_waited_for(
    make_ctx: MakeCtx, chat_server: ChatFake, clock: FakeClock
) -> None:
    chat_server.answer(503, {"error": {"message": "busy"}}, {"Retry-After": "30"})
    node_def = {**agent(), "settings": {"timeoutMs": 5000}}
    step = run(make_ctx, node_def, chat_credential(chat_server.base_url))
    assert step.error is not None
    assert (
        step.error["message"]
        == "AI provider answered 503: busy (not retried: it asks to wait 30 s)"
    )
    assert clock.sleeps == [] and len(chat_server.requests) == 1


def test_a_body_without_choices_is_a_readable_error(
    make_ctx: MakeCtx, chat_server: ChatFake
) -> None:
    chat_server.answer(200, {"object": "list"})
    step = run(make_ctx, agent(), chat_credential(chat_server.base_url))
    assert step.error is not None
    assert step.error["message"].startswith("AI provider answered 200 without a completion")


def test_a_non_json_error_body_is_shown(make_ctx: MakeCtx, chat_server: ChatFake) -> None:
    chat_server.answer(400, b"<html>Bad gateway config</html>")
    step = run(make_ctx, agent(), chat_credential(chat_server.base_url))
    assert step.error is not None
    assert step.error["message"] == "AI provider answered 400: <html>Bad gateway config</html>"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"prompt": "{{ '' }}"}, "Field 'prompt': the prompt is empty"),
        ({"temperature": "{{ 3 }}"}, "Field 'temperature': 3 is greater than the maximum of 2"),
        ({"credentialId": ""}, "Node 'ai': no credential selected"),
    ],
)
def test_bad_params_fail_before_any_request(
    make_ctx: MakeCtx, chat_server: ChatFake, params: dict[str, Any], message: str
) -> None:
    step = run(make_ctx, agent(**params), chat_credential(chat_server.base_url))
    assert step.error is not None and step.error["message"] == message
    assert chat_server.requests == []


def test_static_temperature_out_of_range_is_a_validation_error(make_ctx: MakeCtx) -> None:
    step = run(make_ctx, agent(temperature=2.5), chat_credential("http://127.0.0.1:9/v1"))
    assert step.error is not None and step.error["type"] == "ValidationError"
    assert "2.5 is greater than the maximum of 2" in step.error["message"]


def test_a_closed_port_is_a_connection_error(make_ctx: MakeCtx) -> None:
    from tests.engine.fakes import free_port

    step = run(make_ctx, agent(), chat_credential(f"http://127.0.0.1:{free_port()}/v1"))
    assert step.error is not None and step.error["type"] == "ConnectionError"
    assert API_KEY not in repr(step)


def test_a_host_outside_the_allow_list_is_refused(make_ctx: MakeCtx, chat_server: ChatFake) -> None:
    chat_server.reply("should not be asked")
    step = run(
        make_ctx, agent(), chat_credential(chat_server.base_url), egress=Egress(EgressPolicy())
    )
    assert step.error is not None and step.error["type"] == "EgressDenied"
    assert chat_server.requests == []


def test_summarize_builds_the_prompt_from_style_and_length(
    make_ctx: MakeCtx, chat_server: ChatFake
) -> None:
    chat_server.reply("- short")
    node_def = summarize(text="{{ $json.article }}", maxLength=50, style="paragraph")
    step = run(
        make_ctx,
        node_def,
        chat_credential(chat_server.base_url, model="llama3"),
        items({"article": "Long text."}),
    )
    assert answered(step)[0]["text"] == "- short"
    body = chat_server.requests[0]["json"]
    assert body["model"] == "llama3"  # summarize has no model default: the credential's
    assert body["max_tokens"] == 164 and body["temperature"] == 0.3
    system, user = body["messages"]
    assert system["role"] == "system"
    assert user["content"].startswith(
        "Summarize the text below as one concise paragraph, in at most 50 words."
    )
    assert '"""\nLong text.\n"""' in user["content"]


def test_summarize_defaults_to_the_item_json_and_bullets(
    make_ctx: MakeCtx, chat_server: ChatFake
) -> None:
    chat_server.reply("- a")
    answered(
        run(make_ctx, summarize(), chat_credential(chat_server.base_url), items({"title": "Zé"}))
    )
    content = chat_server.requests[0]["json"]["messages"][1]["content"]
    assert "as a bulleted list" in content and "at most 200 words" in content
    assert '"title": "Zé"' in content


def test_templates_keep_the_contract_fields_and_defaults() -> None:
    from fluxolab.engine import catalog

    by_id = {t["id"]: t for t in catalog.templates()}
    assert by_id["ai-agent"]["category"] == "ai"
    assert by_id["ai-agent"]["configSchema"]["required"] == ["prompt"]
    assert by_id["ai-agent"]["defaultConfig"] == {
        "model": "gpt-3.5-turbo",
        "temperature": 0.7,
        "maxTokens": 1000,
    }
    temperature = by_id["ai-agent"]["configSchema"]["properties"]["temperature"]
    assert (temperature["minimum"], temperature["maximum"]) == (0, 2)
    assert by_id["ai-summarize"]["configSchema"]["required"] == ["maxLength"]
    assert by_id["ai-summarize"]["defaultConfig"] == {"maxLength": 200, "style": "bullet"}
    styles = by_id["ai-summarize"]["configSchema"]["properties"]["style"]["enum"]
    assert styles == ["bullet", "paragraph", "list"]
    assert by_id["email-send"]["category"] == "action"
    assert by_id["email-send"]["configSchema"]["required"] == ["to", "subject", "body"]
    assert by_id["email-send"]["defaultConfig"] == {}
    assert "from" in by_id["email-send"]["configSchema"]["properties"]
