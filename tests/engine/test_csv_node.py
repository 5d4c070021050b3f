"""CSV: parse text into items and build text from items, with bounded sizes."""

from __future__ import annotations

from typing import Any

import pytest

from fluxolab.engine import Limits, RunContext, run_node
from fluxolab.engine.nodes.rendered import MAX_DOCUMENT_CHARS
from tests.engine.helpers import items, jsons, node


def run(ctx: RunContext, input_items: list[dict[str, Any]], **params: Any) -> Any:
    return run_node(node("csv", "csv", **params), input_items, ctx)


def output(ctx: RunContext, input_items: list[dict[str, Any]], **params: Any) -> list[Any]:
    step = run(ctx, input_items, **params)
    assert step.status == "succeeded", step.error
    return jsons(step.output["main"])


def failure(ctx: RunContext, input_items: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
    step = run(ctx, input_items, **params)
    assert step.status == "failed" and step.error is not None
    return step.error


def test_parse_uses_the_header_row_and_quoted_fields(ctx: RunContext) -> None:
    text = 'name,note\nAna,"likes, commas"\n\nBob,"two\nlines"\n'
    assert output(ctx, items({"data": text})) == [
        {"name": "Ana", "note": "likes, commas"},
        {"name": "Bob", "note": "two\nlines"},
    ]


def test_parse_without_header_names_columns(ctx: RunContext) -> None:
    found = output(ctx, items({"data": "1;2;3\n4;5"}), headerRow=False, delimiter=";")
    assert found == [
        {"column1": "1", "column2": "2", "column3": "3"},
        {"column1": "4", "column2": "5"},  # without names, a short row has fewer fields
    ]
    named = output(ctx, items({"data": "1,2"}), headerRow=False, columns=["a", "b"])
    assert named == [{"a": "1", "b": "2"}]


def test_parse_fixes_empty_and_repeated_header_names(ctx: RunContext) -> None:
    found = output(ctx, items({"csv": "id,,id\n1,2,3,4"}), field="csv")
    assert found == [{"id": "1", "column2": "2", "id_2": "3", "column4": "4"}]


def test_parse_tab_and_custom_quote(ctx: RunContext) -> None:
    found = output(ctx, items({"data": "a\tb\n'x\ty'\tz"}), delimiter="\\t", quoteChar="'")
    assert found == [{"a": "x\ty", "b": "z"}]


def test_parse_rows_of_every_item_are_concatenated(ctx: RunContext) -> None:
    found = output(ctx, items({"data": "n\n1"}, {"data": "n\n2\n3"}))
    assert found == [{"n": "1"}, {"n": "2"}, {"n": "3"}]


def test_parse_refuses_a_missing_or_non_text_field(ctx: RunContext) -> None:
    missing = failure(ctx, items({"x": 1}))
    assert missing["message"] == "Field 'data' is missing from the item; it must hold the CSV text"
    number = failure(ctx, items({"data": 5}))
    assert number["message"] == "Field 'data' holds int, not CSV text"


def test_parse_stops_at_the_step_item_limit(make_ctx: Any) -> None:
    ctx = make_ctx(limits=Limits(max_items_per_step=3))
    error = failure(ctx, items({"data": "n\n1\n2\n3\n4\n5"}))
    assert error["type"] == "LimitExceeded"
    assert error["message"].startswith("Node produced more than 3 items")


def test_parse_refuses_text_past_the_size_limit(ctx: RunContext) -> None:
    error = failure(ctx, items({"data": "a" * (MAX_DOCUMENT_CHARS + 1)}))
    assert error["type"] == "LimitExceeded"
    assert error["message"].startswith("CSV text is")


def test_parse_reports_a_field_past_the_csv_field_limit(ctx: RunContext) -> None:
    error = failure(ctx, items({"data": 'a\n"' + "x" * 200_000 + '"'}))
    assert error["message"].startswith("Invalid CSV at line")


def test_build_writes_one_item_with_all_rows(ctx: RunContext) -> None:
    source = items({"a": 1, "b": "x,y"}, {"a": 2, "c": {"k": True}})
    assert output(ctx, source, action="build") == [
        {"data": 'a,b,c\n1,"x,y",\n2,,"{""k"": true}"\n'}
    ]


def test_build_with_columns_paths_delimiter_and_no_header(ctx: RunContext) -> None:
    source = items({"user": {"name": "Ana"}, "n": 1})
    found = output(
        ctx,
        source,
        action="build",
        columns=["n", "user.name"],
        delimiter=";",
        headerRow=False,
        outputField="out.csv",
    )
    assert found == [{"out": {"csv": "1;Ana\n"}}]


def test_build_escapes_formulas_on_request(ctx: RunContext) -> None:
    source = items({"v": '=HYPERLINK("http://x")'}, {"v": "-1"}, {"v": "ok"})
    plain = output(ctx, source, action="build")[0]["data"]
    assert plain.splitlines()[1].startswith('"=HYPERLINK')
    escaped = output(ctx, source, action="build", escapeFormulas=True)[0]["data"]
    assert escaped.splitlines()[1:] == ['"\'=HYPERLINK(""http://x"")"', "'-1", "ok"]


def test_build_stops_when_the_text_grows_past_the_limit(ctx: RunContext) -> None:
    big = "x" * (MAX_DOCUMENT_CHARS // 2)
    error = failure(ctx, items({"v": big}, {"v": big}, {"v": big}), action="build")
    assert error["type"] == "LimitExceeded"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"delimiter": ";;"}, "Fields 'delimiter' and 'quoteChar' must be one character each"),
        ({"delimiter": '"'}, "Field 'delimiter': must differ from the quote"),
    ],
)
def test_bad_dialects_are_readable_errors(
    ctx: RunContext, params: dict[str, Any], message: str
) -> None:
    assert failure(ctx, items({"data": "a"}), **params)["message"].startswith(message)
