"""Reading a webhook call: its body by content type, and the headers the log may keep.

The raw bytes are kept for the signature check; the item the workflow sees is
``{headers, query, body, method, receivedAt}`` with files as binary data. Bodies are data:
nothing in them is ever evaluated (``{{ }}``, ``__proto__`` ... stay plain text).

- ``application/json`` and ``*+json``: parsed with the API's own refusals (depth, NUL,
  lone surrogates, NaN, huge numbers) -> 400 for bad JSON;
- ``application/x-www-form-urlencoded``: an object (a repeated name becomes a list);
- ``multipart/form-data``: fields as an object, files under ``binary`` (base64 with name,
  MIME type and size), at most ``MAX_FILES``;
- ``text/*``, XML: the text (invalid UTF-8 is kept as binary instead);
- anything else: ``body`` is empty and the bytes are the ``data`` binary.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from werkzeug.datastructures import Headers
from werkzeug.formparser import FormDataParser
from werkzeug.http import parse_options_header

from fluxolab.common.jsonbody import nesting_depth_exceeds, refused_value
from fluxolab.errors import BadRequest, PayloadTooLarge
from fluxolab.triggers import tokens

MAX_FILES = 20
MAX_FIELDS = 1000
MAX_JSON_DEPTH = 64
REDACTED = "[redacted]"
# header names whose values never reach the log or the workflow
_SENSITIVE = re.compile(
    r"authorization|cookie|token|secret|signature|password|passwd|api[-_]?key|session|"
    r"^x-(amz|goog)-|credential|private",
    re.IGNORECASE,
)
_JSON = re.compile(r"^application/([\w.+-]*\+)?json$|^text/json$")
_TEXTUAL = ("application/xml", "application/javascript", "application/graphql")


@dataclass
class ParsedBody:
    """The body as the workflow sees it, plus files and whether it was read as text."""

    body: Any
    binary: dict[str, Any] = field(default_factory=dict)
    text: str | None = None  # what the log keeps (None: binary, logged by size)


def media_type(content_type: str) -> str:
    """Return the lower-case media type of a Content-Type header ('' when absent)."""
    return parse_options_header(content_type)[0].lower() if content_type else ""


def content_type_allowed(content_type: str, allowed: tuple[str, ...]) -> bool:
    """Whether the call's media type is one of ``allowed`` (``type/*`` wildcards; empty: any)."""
    if not allowed:
        return True
    kind = media_type(content_type)
    for entry in allowed:
        entry = entry.lower().strip()
        if entry == kind or (entry.endswith("/*") and kind.startswith(entry[:-1])):
            return True
    return False


def _binary(data: bytes, mime: str, name: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {
        "data": base64.b64encode(data).decode(),
        "mimeType": mime or "application/octet-stream",
        "fileSize": len(data),
    }
    if name:
        found["fileName"] = name
    return found


def _json(raw: bytes) -> Any:
    if not raw.strip():
        return {}
    if nesting_depth_exceeds(raw, MAX_JSON_DEPTH):
        raise BadRequest(f"JSON aninhado demais (limite de {MAX_JSON_DEPTH} niveis).")
    refused = refused_value(raw)
    if refused is not None:
        raise refused
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest("Corpo JSON invalido.", code="invalid_json") from None


def _form(raw: bytes) -> dict[str, Any]:
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("Formulario invalido.", code="invalid_form") from None
    return _grouped(pairs)


def _grouped(pairs: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            raise BadRequest("O corpo contem o caractere nulo.", code="nul_character")
        if name in found:
            previous = found[name]
            found[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            found[name] = value
    return found


def _multipart(raw: bytes, content_type: str, limit: int) -> ParsedBody:
    parser = FormDataParser(
        max_form_memory_size=limit, max_content_length=limit, max_form_parts=MAX_FIELDS
    )
    environ_headers = Headers({"Content-Type": content_type})
    mimetype, options = parse_options_header(environ_headers["Content-Type"])
    try:
        _stream, form, files = parser.parse(io.BytesIO(raw), mimetype, len(raw), options)
    except ValueError:
        raise BadRequest("Corpo multipart invalido.", code="invalid_multipart") from None
    except Exception as exc:  # werkzeug raises RequestEntityTooLarge for too many parts
        if getattr(exc, "code", None) == 413:
            raise PayloadTooLarge("Corpo multipart grande demais.") from None
        raise BadRequest("Corpo multipart invalido.", code="invalid_multipart") from None
    if not options.get("boundary"):
        raise BadRequest("Corpo multipart sem boundary.", code="invalid_multipart")
    if len(files) > MAX_FILES:
        raise PayloadTooLarge(f"No maximo {MAX_FILES} arquivos por chamada.")
    binary: dict[str, Any] = {}
    for index, (name, upload) in enumerate(files.items(multi=True)):
        key = name if name not in binary else f"{name}_{index}"
        binary[key] = _binary(upload.read(), upload.mimetype, upload.filename)
    fields = _grouped(form.items(multi=True))
    text = json.dumps(fields, ensure_ascii=False)
    return ParsedBody(fields, binary, text)


def parse(raw: bytes, content_type: str, limit: int) -> ParsedBody:
    """Return the body of a call by its content type; raises 400/413 ``FluxoError``s."""
    kind = media_type(content_type)
    if not raw:
        return ParsedBody({}, text="")
    if _JSON.match(kind):
        return ParsedBody(_json(raw), text=raw.decode("utf-8", "replace"))
    if kind == "application/x-www-form-urlencoded":
        return ParsedBody(_form(raw), text=raw.decode("utf-8", "replace"))
    if kind == "multipart/form-data":
        return _multipart(raw, content_type, limit)
    if kind.startswith("text/") or kind in _TEXTUAL or kind.endswith("+xml"):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return ParsedBody("", {"data": _binary(raw, kind)})
        if "\x00" in text:
            return ParsedBody("", {"data": _binary(raw, kind)})
        return ParsedBody(text, text=text)
    return ParsedBody("", {"data": _binary(raw, kind)})


def redact_headers(
    headers: Mapping[str, str], also: tuple[str, ...] = (), secrets: tuple[str, ...] = ()
) -> dict[str, str]:
    """Return lower-cased headers with sensitive ones redacted.

    Sensitive: a name that looks secret, one of ``also``'s names, or a value holding one of
    ``secrets`` (the webhook credential's values, wherever the caller put them).
    """
    hidden = {name.lower() for name in also}
    shown: dict[str, str] = {}
    for name, value in headers.items():
        lower = name.lower()
        secret = bool(lower in hidden or _SENSITIVE.search(lower))
        secret = secret or any(text in value for text in secrets)
        if lower in ("referer", "origin") and not secret:
            value = tokens.mask_in_path(value)  # a page that links here may hold a token
        shown[lower] = REDACTED if secret else value
    return shown


def truncate(text: str | None, limit: int) -> tuple[str | None, bool]:
    """Return ``text`` cut to ``limit`` characters and whether it was cut."""
    if text is None or len(text) <= limit:
        return text, False
    return text[:limit], True
