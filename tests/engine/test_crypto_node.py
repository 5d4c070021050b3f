"""Crypto: hashes and HMACs against published test vectors, random UUIDs and bytes."""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

import pytest

from fluxolab.engine import RunContext, run_node
from tests.engine.helpers import items, jsons, node

ABC_DIGESTS = {
    "md5": "900150983cd24fb0d6963f7d28e17f72",
    "sha1": "a9993e364706816aba3e25717850c26c9cd0d89d",
    "sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    "sha512": (
        "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
        "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
    ),
}


def output(ctx: RunContext, input_items: list[dict[str, Any]], **params: Any) -> list[Any]:
    step = run_node(node("c", "crypto", **params), input_items, ctx)
    assert step.status == "succeeded", step.error
    return jsons(step.output["main"])


def failure(ctx: RunContext, **params: Any) -> str:
    step = run_node(node("c", "crypto", **params), items({"v": "abc"}), ctx)
    assert step.status == "failed" and step.error is not None
    return str(step.error["message"])


@pytest.mark.parametrize("algorithm", list(ABC_DIGESTS))
def test_hash_matches_the_published_digest_of_abc(ctx: RunContext, algorithm: str) -> None:
    found = output(ctx, items({"v": "abc"}), value="{{ $json.v }}", algorithm=algorithm)
    assert found == [{"v": "abc", "data": ABC_DIGESTS[algorithm]}]


def test_hash_in_base64_into_a_nested_field(ctx: RunContext) -> None:
    found = output(ctx, items({}), value="abc", encoding="base64", outputField="sig.sha")
    assert found == [{"sig": {"sha": "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="}}]


def test_hmac_sha256_matches_rfc_4231_case_2(ctx: RunContext) -> None:
    found = output(
        ctx, items({}), action="hmac", value="what do ya want for nothing?", secret="Jefe"
    )
    assert found[0]["data"] == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"


def test_non_text_values_are_hashed_as_their_json(ctx: RunContext) -> None:
    found = output(ctx, items({"n": {"a": 1}}), value="{{ $json.n }}", algorithm="md5")
    same = output(ctx, items({}), value='{"a": 1}', algorithm="md5")
    assert found[0]["data"] == same[0]["data"]


def test_uuid_is_a_fresh_version_4_uuid_per_item(ctx: RunContext) -> None:
    found = output(ctx, items({}, {}), action="uuid", outputField="id")
    ids = [uuid.UUID(entry["id"]) for entry in found]
    assert all(value.version == 4 for value in ids) and ids[0] != ids[1]


def test_random_bytes_have_the_asked_length(ctx: RunContext) -> None:
    (hex_item,) = output(ctx, items({}), action="randomBytes", length=24)
    assert re.fullmatch(r"[0-9a-f]{48}", hex_item["data"])
    (b64_item,) = output(ctx, items({}), action="randomBytes", length=5, encoding="base64")
    assert len(base64.b64decode(b64_item["data"])) == 5


def test_random_bytes_length_is_bounded(ctx: RunContext) -> None:
    assert "1025 is greater than the maximum of 1024" in failure(
        ctx, action="randomBytes", length=1025
    )


def test_missing_value_and_secret_are_readable_errors(ctx: RunContext) -> None:
    assert failure(ctx, value="{{ $json.nope }}") == "Field 'value': give the value to hash"
    assert failure(ctx, action="hmac", value="x") == "Field 'secret': give the HMAC secret"


def test_unknown_algorithm_is_a_validation_error(ctx: RunContext) -> None:
    assert "'crc32' is not one of" in failure(ctx, value="x", algorithm="crc32")
