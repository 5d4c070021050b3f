"""AI nodes over an OpenAI-compatible chat API: AI Agent (a prompt) and AI Summarize.

Both take an ``openai-compatible`` credential ``{baseUrl, apiKey, model?}`` and call the one
chat client (``fluxolab.engine.chat``), one completion per input item, and output
``{text, model, usage: {promptTokens, completionTokens, totalTokens}, finishReason}``.

The model sent is the node's ``model`` when it is set (the agent's template default is
``gpt-3.5-turbo``), else the credential's ``model``, else ``gpt-3.5-turbo``: clear the
node's field to use the credential's. Summarize sends ``text`` (by default the item's JSON)
with an instruction built from ``maxLength`` (words) and ``style``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from fluxolab.engine.call import NodeCall
from fluxolab.engine.chat import ChatEndpoint, ChatError, complete
from fluxolab.engine.errors import NodeError
from fluxolab.engine.nodes.rendered import checked_params, text_param
from fluxolab.engine.nodetype import NodeType, Outputs
from fluxolab.engine.schemas import choice, obj, prop

CREDENTIAL_TYPES = ("openai-compatible",)
DEFAULT_MODEL = "gpt-3.5-turbo"
DEFAULT_TIMEOUT_MS = 60_000
MAX_TIMEOUT_MS = 600_000
MAX_PROMPT_CHARS = 200_000
SUMMARY_TEMPERATURE = 0.3
SUMMARY_STYLES = {
    "bullet": "as a bulleted list of the key points, one '- ' line each",
    "paragraph": "as one concise paragraph",
    "list": "as a numbered list of the key points",
}
SUMMARY_SYSTEM = (
    "You write faithful summaries. Answer with the summary only, in the language of the text."
)


def _model(params: Mapping[str, Any], endpoint: ChatEndpoint) -> str:
    """Return the node's model, else the credential's, else the default."""
    return text_param(params, "model").strip() or endpoint.model or DEFAULT_MODEL


def _endpoint(call: NodeCall, params: Mapping[str, Any]) -> ChatEndpoint:
    """Return the chat endpoint of the item's credential; raises NodeError."""
    credential = call.credential(params.get("credentialId"), CREDENTIAL_TYPES)
    try:
        return ChatEndpoint.from_secret(credential.secret)
    except ChatError as exc:
        raise NodeError(f"Credential '{credential.name}': {exc.message}", exc.kind) from None


def _ask(
    call: NodeCall,
    params: Mapping[str, Any],
    messages: list[dict[str, str]],
    options: Mapping[str, Any],
    started: float,
) -> dict[str, Any]:
    """Send one completion for an item and return the output JSON; raises NodeError."""
    if sum(len(message["content"]) for message in messages) > MAX_PROMPT_CHARS:
        raise NodeError(f"Prompt is longer than {MAX_PROMPT_CHARS} characters")
    endpoint = _endpoint(call, params)
    body = {"model": _model(params, endpoint), "messages": messages, **options}
    left = None if call.deadline_s is None else call.deadline_s - (time.monotonic() - started)
    try:
        reply = complete(
            call.egress,
            endpoint,
            body,
            timeout_s=(params.get("timeoutMs") or DEFAULT_TIMEOUT_MS) / 1000.0,
            deadline_s=left,
            sleep=call.ctx.sleep,
            log=call.logs.append,
        )
    except ChatError as exc:
        details = {} if exc.status is None else {"status": exc.status}
        raise NodeError(exc.message, exc.kind, **details) from None
    usage = reply.usage
    call.logs.append(f"{reply.model}: {usage['totalTokens']} tokens, finish {reply.finish_reason}")
    return reply.to_json()


def run_agent(call: NodeCall) -> Outputs:
    """Answer each item's prompt (with the optional system message)."""
    started = time.monotonic()
    out = []
    for index in range(len(call.items)):
        params = checked_params(call, index)
        prompt = text_param(params, "prompt")
        if not prompt.strip():
            raise NodeError("Field 'prompt': the prompt is empty")
        messages = [{"role": "user", "content": prompt}]
        system = text_param(params, "systemMessage")
        if system.strip():
            messages.insert(0, {"role": "system", "content": system})
        options = {"temperature": params["temperature"], "max_tokens": params["maxTokens"]}
        out.append({"json": _ask(call, params, messages, options, started)})
    return {"main": out}


def summary_prompt(text: str, max_length: int, style: str) -> str:
    """Return the instruction that asks for a summary of ``text``."""
    how = SUMMARY_STYLES.get(style, SUMMARY_STYLES["bullet"])
    return (
        f'Summarize the text below {how}, in at most {max_length} words.\n\nText:\n"""\n{text}\n"""'
    )


def _summary_text(call: NodeCall, params: Mapping[str, Any], index: int) -> str:
    """Return the text to summarize: ``text``, else the item's JSON as indented text."""
    text = text_param(params, "text")
    if text.strip():
        return text
    data = call.items[index].get("json") or {}
    return json.dumps(data, ensure_ascii=False, indent=2)


def run_summarize(call: NodeCall) -> Outputs:
    """Summarize each item's text in the chosen style and length."""
    started = time.monotonic()
    out = []
    for index in range(len(call.items)):
        params = checked_params(call, index)
        max_length = int(params["maxLength"])
        prompt = summary_prompt(_summary_text(call, params, index), max_length, params["style"])
        messages = [
            {"role": "system", "content": SUMMARY_SYSTEM},
            {"role": "user", "content": prompt},
        ]
        options = {"temperature": SUMMARY_TEMPERATURE, "max_tokens": max_length * 2 + 64}
        out.append({"json": _ask(call, params, messages, options, started)})
    return {"main": out}


CREDENTIAL = prop("string", "AI credential (OpenAI-compatible)")
TIMEOUT = prop("integer", "Timeout per request (ms)", minimum=1, maximum=MAX_TIMEOUT_MS)

AI_AGENT = NodeType(
    type="ai-agent",
    name="AI Agent",
    description="Ask an OpenAI-compatible chat model; output its answer and token usage",
    category="ai",
    icon="bot",
    run=run_agent,
    config_schema=obj(
        {
            "prompt": prop("string", "Prompt"),
            "model": prop("string", "Model (empty: the credential's model)", default=DEFAULT_MODEL),
            "temperature": prop("number", "Temperature", minimum=0, maximum=2, default=0.7),
            "maxTokens": prop("integer", "Max tokens", minimum=1, maximum=128_000, default=1000),
            "credentialId": CREDENTIAL,
            "systemMessage": prop("string", "System message"),
            "timeoutMs": TIMEOUT,
        },
        required=["prompt"],
    ),
)

AI_SUMMARIZE = NodeType(
    type="ai-summarize",
    name="AI Summarize",
    description="Summarize each item's text with an OpenAI-compatible chat model",
    category="ai",
    icon="file-text",
    run=run_summarize,
    config_schema=obj(
        {
            "maxLength": prop(
                "integer", "Max length (words)", minimum=1, maximum=10_000, default=200
            ),
            "style": choice("Style", list(SUMMARY_STYLES), "bullet"),
            "credentialId": CREDENTIAL,
            "model": prop("string", "Model (empty: the credential's model)"),
            "text": prop("string", "Text to summarize (default: the item's JSON)"),
            "timeoutMs": TIMEOUT,
        },
        required=["maxLength"],
    ),
)

NODE_TYPES = (AI_AGENT, AI_SUMMARIZE)
