"""XML: parse with defusedxml (entity attacks refused), build from JSON, bounded sizes."""

from __future__ import annotations

from typing import Any

import pytest

from fluxolab.engine import RunContext, run_node
from fluxolab.engine.nodes.rendered import MAX_DOCUMENT_CHARS
from fluxolab.engine.nodes.xmldata import MAX_DEPTH
from tests.engine.helpers import items, jsons, node

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz>&lol3;</lolz>"""
XXE = """<?xml version="1.0"?>
<!DOCTYPE data [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<data>&secret;</data>"""


def run(ctx: RunContext, input_items: list[dict[str, Any]], **params: Any) -> Any:
    return run_node(node("x", "xml", **params), input_items, ctx)


def output(ctx: RunContext, input_items: list[dict[str, Any]], **params: Any) -> list[Any]:
    step = run(ctx, input_items, **params)
    assert step.status == "succeeded", step.error
    return jsons(step.output["main"])


def failure(ctx: RunContext, input_items: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
    step = run(ctx, input_items, **params)
    assert step.status == "failed" and step.error is not None
    return step.error


def test_parse_maps_attributes_children_lists_and_text(ctx: RunContext) -> None:
    text = (
        '<order id="7" xmlns="urn:shop"><item sku="a">Pen</item><item sku="b">Ink</item>'
        "<note>fast</note><empty/><!-- ignored --></order>"
    )
    assert output(ctx, items({"data": text, "keep": 1})) == [
        {
            "keep": 1,
            "data": {
                "order": {
                    "@id": "7",
                    "item": [{"@sku": "a", "#text": "Pen"}, {"@sku": "b", "#text": "Ink"}],
                    "note": "fast",
                    "empty": "",
                }
            },
        }
    ]


def test_parse_with_other_conventions_into_another_field(ctx: RunContext) -> None:
    found = output(
        ctx,
        items({"xml": '<a k="v">t<b/></a>'}),
        field="xml",
        outputField="parsed",
        attributePrefix="$",
        textKey="_",
    )
    assert found[0]["parsed"] == {"a": {"$k": "v", "b": "", "_": "t"}}
    assert found[0]["xml"] == '<a k="v">t<b/></a>'


@pytest.mark.parametrize(
    ("text", "start"),
    [
        (BILLION_LAUGHS, "XML declares the entity 'lol'; entity declarations are refused"),
        (XXE, "XML declares the entity 'secret' (file:///etc/passwd); entity declarations"),
    ],
    ids=["billion-laughs", "xxe"],
)
def test_entity_attacks_are_refused(ctx: RunContext, text: str, start: str) -> None:
    error = failure(ctx, items({"data": text}))
    assert error["type"] == "XmlRefused"
    assert error["message"].startswith(start)


def test_invalid_xml_is_a_readable_error(ctx: RunContext) -> None:
    error = failure(ctx, items({"data": "<a><b></a>"}))
    assert error["message"].startswith("Invalid XML: mismatched tag: line 1")


def test_parse_limits_size_and_depth(ctx: RunContext) -> None:
    big = failure(ctx, items({"data": "<a>" + "x" * MAX_DOCUMENT_CHARS + "</a>"}))
    assert big["type"] == "LimitExceeded"
    deep = "<a>" * (MAX_DEPTH + 1) + "</a>" * (MAX_DEPTH + 1)
    assert failure(ctx, items({"data": deep}))["message"] == (
        f"XML is nested deeper than {MAX_DEPTH} levels"
    )


def test_parse_needs_text(ctx: RunContext) -> None:
    assert failure(ctx, items({"data": {"a": 1}}))["message"] == (
        "Field 'data' holds dict, not XML text"
    )


def test_build_from_the_item_json(ctx: RunContext) -> None:
    source = items(
        {"order": {"@id": 7, "item": [{"@sku": "a", "#text": "Pen"}, "Ink"], "ok": True}}
    )
    (found,) = output(ctx, source, action="build", declaration=False)
    assert (
        found["data"]
        == '<order id="7"><item sku="a">Pen</item><item>Ink</item><ok>true</ok></order>'
    )


def test_build_wraps_several_keys_in_the_root_and_round_trips(ctx: RunContext) -> None:
    source = items({"a": "1", "b": {"c": "2"}})
    (built,) = output(ctx, source, action="build", rootName="doc", pretty=True)
    text = built["data"]
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<doc>\n  <a>1</a>')
    (parsed,) = output(ctx, items({"data": text}))
    assert parsed["data"] == {"doc": {"a": "1", "b": {"c": "2"}}}


def test_build_from_a_field_escapes_text(ctx: RunContext) -> None:
    (found,) = output(
        ctx,
        items({"v": {"t": "a < b & c"}}),
        action="build",
        field="v",
        outputField="x",
        declaration=False,
    )
    assert found["x"] == "<t>a &lt; b &amp; c</t>"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"bad name": 1}, "'bad name' cannot be an XML element or attribute name"),
        ({"a": "\x01"}, "Text holds the character U+0001, which XML cannot carry"),
    ],
)
def test_build_refuses_what_xml_cannot_hold(
    ctx: RunContext, data: dict[str, Any], message: str
) -> None:
    assert failure(ctx, items(data), action="build")["message"] == message
