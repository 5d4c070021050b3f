"""The HTTP Request node's two translations: rendered params to a request, a response to an item.

Bodies: ``json`` (any JSON value; a string is parsed as JSON text), ``form`` (an object,
URL-encoded; a string is sent as already encoded), ``raw`` (text with ``contentType``) and
``multipart`` (an object: scalar values are fields, ``{"data": <base64>, "fileName",
"mimeType"}`` is a file, ``{"binaryProperty": "name"}`` sends the input item's binary of
that name). Without ``bodyType``, an object or array is JSON and a string is raw.

Responses: ``auto`` reads JSON content types as JSON, text types as text and anything else
that is not valid UTF-8 as binary (base64 under ``binary.data``, with its MIME type and size).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from email.message import Message
from typing import Any
from urllib.parse import unquote

import httpx

from fluxolab.engine.context import Item
from fluxolab.engine.errors import NodeError

EXCERPT_CHARS = 200
_JSON_TYPE = re.compile(r"^application/([\w.+-]*\+)?json$|^text/json$")
_TEXT_TYPES = ("application/xml", "application/javascript", "application/x-www-form-urlencoded")


def _text_map(value: Any, field: str) -> dict[str, str]:
    """Return an object of names to texts (None values left out); raises NodeError."""
    if value in (None, ""):
        return {}
    if not isinstance(value, Mapping):
        raise NodeError(f"Field '{field}': must be an object of names to values")
    return {str(name): _scalar(text) for name, text in value.items() if text is not None}


def _scalar(value: Any) -> str:
    """Return a header or field value as text (JSON for objects and lists)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def query_of(value: Any) -> dict[str, str | list[str]]:
    """Return the query parameters; a list value repeats its name."""
    if value in (None, ""):
        return {}
    if not isinstance(value, Mapping):
        raise NodeError("Field 'query': must be an object of names to values")
    query: dict[str, str | list[str]] = {}
    for name, item in value.items():
        if item is None:
            continue
        query[str(name)] = [_scalar(v) for v in item] if isinstance(item, list) else _scalar(item)
    return query


def headers_of(value: Any) -> dict[str, str]:
    """Return the request headers as texts; raises NodeError when they are not an object."""
    return _text_map(value, "headers")


def body_type_of(params: Mapping[str, Any]) -> str | None:
    """Return the body type: the param, else json for objects and arrays, raw for text."""
    body = params.get("body")
    if body in (None, ""):
        return None
    chosen = params.get("bodyType")
    if chosen:
        return str(chosen)
    return "raw" if isinstance(body, str) else "json"


def _file(value: Mapping[str, Any], name: str, item: Item) -> tuple[str, bytes, str]:
    """Return ``(fileName, bytes, mimeType)`` of a multipart file value; raises NodeError."""
    if "binaryProperty" in value:
        prop = str(value["binaryProperty"])
        value = (item.get("binary") or {}).get(prop) or {}
        if not value:
            raise NodeError(f"Field 'body.{name}': the input item has no binary '{prop}'")
    try:
        data = base64.b64decode(str(value.get("data") or ""), validate=True)
    except binascii.Error as exc:
        raise NodeError(f"Field 'body.{name}': 'data' is not valid base64") from exc
    file_name = str(value.get("fileName") or name)
    return file_name, data, str(value.get("mimeType") or "application/octet-stream")


def _multipart(body: Any, item: Item) -> list[tuple[str, Any]]:
    """Return httpx ``files`` parts: fields as ``(None, text)``, files with name and type."""
    if not isinstance(body, Mapping):
        raise NodeError("Field 'body': a multipart body must be an object of fields")
    parts: list[tuple[str, Any]] = []
    for name, value in body.items():
        if isinstance(value, Mapping) and ("data" in value or "binaryProperty" in value):
            parts.append((str(name), _file(value, str(name), item)))
        elif value is not None:
            parts.append((str(name), (None, _scalar(value).encode())))
    return parts


def body_args(params: Mapping[str, Any], item: Item, headers: dict[str, str]) -> dict[str, Any]:
    """Return the httpx body arguments (``json``/``data``/``content``/``files``).

    May set a Content-Type in ``headers`` (raw bodies, pre-encoded forms) unless one is set.
    """
    kind = body_type_of(params)
    body = params.get("body")
    if kind is None:
        return {}
    has_type = any(name.lower() == "content-type" for name in headers)
    if kind == "json":
        if isinstance(body, str):
            try:
                body = json.loads(body)
            except ValueError as exc:
                raise NodeError(f"Field 'body': not valid JSON ({exc.args[0]})") from exc
        return {"json": body}
    if kind == "form":
        if isinstance(body, str):
            if not has_type:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            return {"content": body.encode()}
        return {"data": _text_map(body, "body")}
    if kind == "multipart":
        return {"files": _multipart(body, item)}
    text = body if isinstance(body, str) else json.dumps(body, ensure_ascii=False)
    if not has_type:
        default = "text/plain; charset=utf-8" if isinstance(body, str) else "application/json"
        headers["Content-Type"] = str(params.get("contentType") or default)
    return {"content": text.encode()}


def excerpt(response: httpx.Response) -> str:
    """Return the start of a response body as one line of text, for error messages."""
    text = response.content[: EXCERPT_CHARS * 4].decode("utf-8", "replace")
    text = " ".join(text.split())
    return text[:EXCERPT_CHARS] + ("..." if len(text) > EXCERPT_CHARS else "")


def status_error(response: httpx.Response) -> NodeError:
    """Return the node error of a 4xx/5xx answer: its status and a short body excerpt."""
    status = response.status_code
    reason = f" {response.reason_phrase}" if response.reason_phrase else ""
    body = excerpt(response)
    message = f"Request failed with status {status}{reason}" + (f": {body}" if body else "")
    return NodeError(message, "HttpError", statusCode=status)


def _mime(response: httpx.Response) -> str:
    """Return the response's MIME type without parameters, lower case."""
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


def _file_name(response: httpx.Response) -> str:
    """Return a file name from Content-Disposition, else the last segment of the URL path."""
    disposition = response.headers.get("content-disposition")
    if disposition:
        message = Message()
        message["content-disposition"] = disposition
        name = message.get_filename()
        if name:
            return name
    try:
        path = response.url.path
    except RuntimeError:  # a response built without its request
        path = ""
    return unquote(path.rsplit("/", 1)[-1]) or "file"


def _format(response: httpx.Response, wanted: str) -> str:
    """Return how to read the body: json, text or binary (``auto`` decided by its type)."""
    if wanted != "auto":
        return wanted
    mime = _mime(response)
    if _JSON_TYPE.match(mime):
        return "json"
    if mime.startswith("text/") or mime in _TEXT_TYPES or not response.content:
        return "text"
    try:
        text = response.content.decode("utf-8")
    except UnicodeDecodeError:
        return "binary"
    return "binary" if "\x00" in text else "text"


def _parsed(response: httpx.Response, kind: str, auto: bool) -> Any:
    """Return the body as JSON or text; raises NodeError for invalid JSON asked for."""
    if kind == "text":
        return response.text
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError as exc:
        if auto:
            return response.text
        raise NodeError(f"Response is not valid JSON: {excerpt(response)}") from exc


def output_item(response: httpx.Response, params: Mapping[str, Any]) -> Item:
    """Return the item of one response (body, or ``{statusCode, headers, body}`` when full)."""
    wanted = str(params.get("responseFormat") or "auto")
    kind = _format(response, wanted)
    full = bool(params.get("fullResponse"))
    item: Item = {}
    body: Any
    if kind == "binary":
        file = {
            "data": base64.b64encode(response.content).decode("ascii"),
            "mimeType": _mime(response) or "application/octet-stream",
            "fileName": _file_name(response),
            "fileSize": len(response.content),
        }
        item["binary"] = {"data": file}
        body = {key: file[key] for key in ("mimeType", "fileName", "fileSize")}
    else:
        body = _parsed(response, kind, wanted == "auto")
    if full:
        headers = dict(response.headers.items())  # repeated headers joined with ", "
        item["json"] = {"statusCode": response.status_code, "headers": headers, "body": body}
    elif isinstance(body, dict):
        item["json"] = body
    else:
        item["json"] = {"data": body}
    return item
