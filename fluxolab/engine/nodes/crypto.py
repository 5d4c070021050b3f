"""The Crypto node: hash or HMAC a value, or generate a random UUID or random bytes.

Each item gets the result in ``outputField`` (dotted names nest; default ``data``). Text is
hashed as UTF-8; other values as their JSON text. The HMAC ``secret`` is a plain parameter:
it is stored in the workflow definition and visible to everyone who can read the workflow,
so use it for signing keys that may be seen there, not for credentials.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from fluxolab.engine.call import NodeCall
from fluxolab.engine.context import Item
from fluxolab.engine.errors import NodeError
from fluxolab.engine.nodes.rendered import as_text, checked_params
from fluxolab.engine.nodetype import NodeType, Outputs
from fluxolab.engine.paths import set_path, split_path
from fluxolab.engine.schemas import any_value, choice, obj, prop

ACTIONS = ("hash", "hmac", "uuid", "randomBytes")
ALGORITHMS = ("md5", "sha1", "sha256", "sha512")
ENCODINGS = ("hex", "base64")
MAX_RANDOM_BYTES = 1024


def _encoded(digest: bytes, encoding: str) -> str:
    """Return bytes as hex or standard base64 text."""
    return base64.b64encode(digest).decode() if encoding == "base64" else digest.hex()


def _value_bytes(params: Mapping[str, Any]) -> bytes:
    """Return the value to hash as bytes; raises NodeError when there is none."""
    value = params.get("value")
    if value is None:
        raise NodeError("Field 'value': give the value to hash")
    return as_text(value).encode()


def _result(params: Mapping[str, Any]) -> str:
    """Compute the action's result for one item."""
    action, encoding = params["action"], params["encoding"]
    algorithm = params["algorithm"]
    if action == "uuid":
        return str(uuid.uuid4())
    if action == "randomBytes":
        return _encoded(secrets.token_bytes(params["length"]), encoding)
    data = _value_bytes(params)
    if action == "hmac":
        secret = params.get("secret")
        if secret in (None, ""):
            raise NodeError("Field 'secret': give the HMAC secret")
        return _encoded(hmac.new(as_text(secret).encode(), data, algorithm).digest(), encoding)
    return _encoded(hashlib.new(algorithm, data, usedforsecurity=False).digest(), encoding)


def _with_result(item: Item, field: str, result: str) -> Item:
    """Return a copy of the item with ``result`` at ``field``."""
    keys = split_path(field)
    if not keys:
        raise NodeError("Field 'outputField': name the field to write")
    data = item.get("json")
    output = dict(data) if isinstance(data, dict) else {}
    set_path(output, keys, result)
    return {**item, "json": output}


def run_crypto(call: NodeCall) -> Outputs:
    """Apply the action to every item."""
    out = []
    for index, item in enumerate(call.items):
        params = checked_params(call, index)
        out.append(_with_result(item, str(params["outputField"]), _result(params)))
    return {"main": out}


CRYPTO = NodeType(
    type="crypto",
    name="Crypto",
    description="Hash or HMAC a value, or generate a random UUID or random bytes",
    category="data",
    icon="lock",
    run=run_crypto,
    config_schema=obj(
        {
            "action": choice("Action", ACTIONS, "hash"),
            "algorithm": choice("Algorithm (hash, HMAC)", ALGORITHMS, "sha256"),
            "encoding": choice("Encoding", ENCODINGS, "hex"),
            "value": any_value("Value to hash or sign"),
            "secret": prop(
                "string", "HMAC secret (stored in the workflow, visible to its readers)"
            ),
            "length": prop(
                "integer", "Random bytes", minimum=1, maximum=MAX_RANDOM_BYTES, default=16
            ),
            "outputField": prop("string", "Output field", minLength=1, default="data"),
        },
        required=["action"],
    ),
)

NODE_TYPES = (CRYPTO,)
