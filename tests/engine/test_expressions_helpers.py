"""The allow-listed helpers: strings, numbers, arrays, objects, dates, globals and $jmespath."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from fluxolab.engine.expressions import ExpressionError, ExpressionScope, evaluate

NOW = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)  # a Monday
DATA = {
    "text": "  Hello World  ",
    "word": "banana",
    "nums": [3, 1, 2],
    "people": [{"name": "Ann", "age": 31}, {"name": "Bob", "age": 25}, {"age": 40}],
    "obj": {"a": 1, "b": None},
}


def _eval(source: str, now: datetime = NOW) -> Any:
    return evaluate(source, ExpressionScope(json=DATA, now=now))


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("$json.word.length", 6, id="length"),
        pytest.param("'abc'.toUpperCase()", "ABC", id="toUpperCase"),
        pytest.param("'ABC'.toLowerCase()", "abc", id="toLowerCase"),
        pytest.param("$json.text.trim()", "Hello World", id="trim"),
        pytest.param("'a,b,c'.split(',')", ["a", "b", "c"], id="split"),
        pytest.param("'a,b,c'.split(',', 2)", ["a", "b"], id="split-limit"),
        pytest.param("'abc'.split('')", ["a", "b", "c"], id="split-characters"),
        pytest.param("'abc'.split()", ["abc"], id="split-without-separator"),
        pytest.param("$json.word.replace('a', 'o')", "bonana", id="replace-first"),
        pytest.param("$json.word.replaceAll('a', 'o')", "bonono", id="replaceAll"),
        pytest.param("$json.word.includes('nan')", True, id="includes"),
        pytest.param("$json.word.startsWith('ban')", True, id="startsWith"),
        pytest.param("$json.word.endsWith('x')", False, id="endsWith"),
        pytest.param("$json.word.slice(1, 3)", "an", id="slice"),
        pytest.param("$json.word.slice(-2)", "na", id="slice-negative"),
        pytest.param("$json.word.substring(3, 1)", "an", id="substring-swaps"),
        pytest.param("$json.word.indexOf('n')", 2, id="indexOf"),
        pytest.param("$json.word.indexOf('n', 3)", 4, id="indexOf-from"),
        pytest.param("$json.word.indexOf('z')", -1, id="indexOf-missing"),
        pytest.param("'7'.padStart(3, '0')", "007", id="padStart"),
        pytest.param("'7'.padEnd(3)", "7  ", id="padEnd-default-space"),
        pytest.param("'ab'.repeat(3)", "ababab", id="repeat"),
        pytest.param("' 12.5 '.toNumber()", 12.5, id="toNumber"),
        pytest.param("''.isEmpty()", True, id="isEmpty"),
        pytest.param("'x'.toString()", "x", id="toString"),
        pytest.param("'abc'[1]", "b", id="index-character"),
    ],
)
def test_string_helper(source: str, expected: Any) -> None:
    assert _eval(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("(1.005).toFixed(2)", "1.00", id="toFixed-binary-value"),
        pytest.param("(0.125).toFixed(2)", "0.13", id="toFixed-half-up"),
        pytest.param("(3).toFixed(2)", "3.00", id="toFixed-integer"),
        pytest.param("(2.5).round()", 3, id="round-half-up"),
        pytest.param("(1.005).round(2)", 1.01, id="round-decimals"),
        pytest.param("(-2.5).round()", -3, id="round-negative-half-away"),
        pytest.param("(1e308).round()", 1e308, id="round-huge-number"),
        pytest.param("(1e20).toFixed(2)", "100000000000000000000.00", id="toFixed-wide-number"),
        pytest.param("(2.7).floor()", 2, id="floor"),
        pytest.param("(2.1).ceil()", 3, id="ceil"),
        pytest.param("(-4).abs()", 4, id="abs"),
        pytest.param("(255).toString(16)", "ff", id="toString-radix"),
        pytest.param("(2.50).toString()", "2.5", id="toString"),
        pytest.param("true.toString()", "true", id="boolean-toString"),
    ],
)
def test_number_helper(source: str, expected: Any) -> None:
    assert _eval(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("$json.nums.length", 3, id="length"),
        pytest.param("$json.nums.join('-')", "3-1-2", id="join"),
        pytest.param("[1, null, 'a'].join()", "1,,a", id="join-default-comma-null-empty"),
        pytest.param("$json.nums.includes(2)", True, id="includes"),
        pytest.param("[{a: 1}].includes({a: 1})", True, id="includes-by-value"),
        pytest.param("$json.nums.indexOf(1)", 1, id="indexOf"),
        pytest.param("$json.nums.slice(1)", [1, 2], id="slice"),
        pytest.param("$json.nums.first()", 3, id="first"),
        pytest.param("$json.nums.last()", 2, id="last"),
        pytest.param("[].first()", None, id="first-of-empty"),
        pytest.param("$json.nums.concat([4], 5)", [3, 1, 2, 4, 5], id="concat"),
        pytest.param("$json.nums.reverse()", [2, 1, 3], id="reverse"),
        pytest.param("[10, 9, 1].sort()", [1, 9, 10], id="sort-numbers-numerically"),
        pytest.param("['b', 'a', 'C'].sort()", ["C", "a", "b"], id="sort-text"),
        pytest.param("[2, null, 1, 'a'].sort()", [1, 2, "a", None], id="sort-mixed-null-last"),
        pytest.param("[1, 1.0, '1', 1, {a: 1}, {a: 1}].unique()", [1, "1", {"a": 1}], id="unique"),
        pytest.param("$json.nums.sum()", 6, id="sum"),
        pytest.param("['1.5', 2].sum()", 3.5, id="sum-numeric-text"),
        pytest.param("$json.nums.min()", 1, id="min"),
        pytest.param("$json.nums.max()", 3, id="max"),
        pytest.param("[].max()", None, id="max-of-empty"),
        pytest.param("$json.people.pluck('name')", ["Ann", "Bob", None], id="pluck"),
        pytest.param(
            "$json.people.pluck('name', 'age')[1]", {"name": "Bob", "age": 25}, id="pluck-fields"
        ),
        pytest.param("[0, null, '', 'a', false].compact()", [0, "a", False], id="compact"),
        pytest.param("[].isEmpty()", True, id="isEmpty"),
        pytest.param("$json.nums[0]", 3, id="index"),
        pytest.param("$json.nums[5]", None, id="index-out-of-range"),
        pytest.param("$json.nums['length']", 3, id="length-by-index"),
    ],
)
def test_list_helper(source: str, expected: Any) -> None:
    assert _eval(source) == expected


def test_list_helpers_never_modify_the_data() -> None:
    _eval("$json.nums.sort().reverse()")
    assert DATA["nums"] == [3, 1, 2]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("$json.obj.keys()", ["a", "b"], id="keys"),
        pytest.param("$json.obj.values()", [1, None], id="values"),
        pytest.param("$json.obj.hasField('b')", True, id="hasField"),
        pytest.param("$json.obj.has('z')", False, id="has"),
        pytest.param("{}.isEmpty()", True, id="isEmpty"),
        pytest.param("$json.obj['a']", 1, id="index"),
        pytest.param("$json.obj.missing", None, id="missing-key"),
        pytest.param("$json.obj.keys", None, id="method-name-without-call-is-a-key"),
    ],
)
def test_object_helper(source: str, expected: Any) -> None:
    assert _eval(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("$now.toISO()", "2024-05-06T07:08:09.123+00:00", id="toISO"),
        pytest.param("$now.toISODate()", "2024-05-06", id="toISODate"),
        pytest.param("$now.toMillis()", 1714979289123, id="toMillis"),
        pytest.param("$now.format('yyyy-MM-dd HH:mm:ss')", "2024-05-06 07:08:09", id="format"),
        pytest.param("$now.format('EEE d MMM yy, h:mm a')", "Mon 6 May 24, 7:08 AM", id="names"),
        pytest.param("$now.format(\"dd/MM 'at' HH'h'\")", "06/05 at 07h", id="quoted-text"),
        pytest.param("$now.format('SSS ZZ q WW')", "123 +00:00 2 19", id="more-tokens"),
        pytest.param(
            "$now.plus({days: 1, hours: 2}).toISO()", "2024-05-07T09:08:09.123+00:00", id="plus"
        ),
        pytest.param("$now.plus(1, 'month').toISODate()", "2024-06-06", id="plus-amount-unit"),
        pytest.param("$now.minus({weeks: 1}).toISODate()", "2024-04-29", id="minus"),
        pytest.param("$now.startOf('day').toISO()", "2024-05-06T00:00:00.000+00:00", id="day"),
        pytest.param("$now.startOf('month').toISODate()", "2024-05-01", id="startOf-month"),
        pytest.param("$now.startOf('week').toISODate()", "2024-05-06", id="startOf-week"),
        pytest.param("$now.endOf('month').toISO()", "2024-05-31T23:59:59.999+00:00", id="endOf"),
        pytest.param("[$now.year, $now.month, $now.day]", [2024, 5, 6], id="date-properties"),
        pytest.param("[$now.hour, $now.minute, $now.second]", [7, 8, 9], id="time-properties"),
        pytest.param("$now.weekday", 1, id="weekday-monday-is-1"),
        pytest.param("$now.millisecond", 123, id="millisecond"),
        pytest.param("$today.toISO()", "2024-05-06T00:00:00.000+00:00", id="today"),
        pytest.param(
            "toDateTime('2024-01-02T03:04:05Z').toISO()",
            "2024-01-02T03:04:05.000+00:00",
            id="toDateTime-iso",
        ),
        pytest.param(
            "toDateTime(0).toISO()", "1970-01-01T00:00:00.000+00:00", id="toDateTime-millis"
        ),
        pytest.param("toDateTime('2024-01-01') < $now", True, id="dates-compare"),
        pytest.param("DateTime.now().toMillis() == $now.toMillis()", True, id="DateTime-now"),
        pytest.param("$now.plus(1, 'day') - $now", 86_400_000, id="date-difference-is-millis"),
    ],
)
def test_date_helper(source: str, expected: Any) -> None:
    assert _eval(source) == expected


def test_naive_date_text_takes_the_zone_of_now() -> None:
    zone = timezone(timedelta(hours=-3))
    assert _eval("toDateTime('2024-01-02 10:00').toISO()", NOW.astimezone(zone)) == (
        "2024-01-02T10:00:00.000-03:00"
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("Number('42')", 42, id="Number"),
        pytest.param("Number(null)", 0, id="Number-null"),
        pytest.param("isNaN(Number('x'))", True, id="isNaN"),
        pytest.param("String(12.0)", "12", id="String"),
        pytest.param("String({a: 1})", '{"a":1}', id="String-object-is-json"),
        pytest.param("Boolean('')", False, id="Boolean"),
        pytest.param("parseInt('42px')", 42, id="parseInt-prefix"),
        pytest.param("parseInt('ff', 16)", 255, id="parseInt-radix"),
        pytest.param("parseFloat('3.5kg')", 3.5, id="parseFloat"),
        pytest.param("isNaN(parseInt('x'))", True, id="parseInt-invalid"),
        pytest.param("Math.min(3, 1, 2)", 1, id="Math-min"),
        pytest.param("Math.max([3, 1, 2])", 3, id="Math-max-of-array"),
        pytest.param("Math.round(2.5)", 3, id="Math-round"),
        pytest.param("Math.round(-2.5)", -2, id="Math-round-negative-half"),
        pytest.param("Math.floor(-1.5)", -2, id="Math-floor"),
        pytest.param("Math.ceil(1.2)", 2, id="Math-ceil"),
        pytest.param("Math.abs(-3)", 3, id="Math-abs"),
        pytest.param("JSON.stringify({a: [1, 'x']})", '{"a":[1,"x"]}', id="JSON-stringify"),
        pytest.param("JSON.stringify({a: 1}, null, 2)", '{\n  "a": 1\n}', id="JSON-indent"),
        pytest.param("JSON.parse('{\"a\": [1]}').a[0]", 1, id="JSON-parse"),
        pytest.param("Object.keys({a: 1, b: 2})", ["a", "b"], id="Object-keys"),
        pytest.param("Object.values({a: 1, b: 2})", [1, 2], id="Object-values"),
        pytest.param("Array.isArray([])", True, id="Array-isArray"),
        pytest.param("Array.isArray('x')", False, id="Array-isArray-text"),
    ],
)
def test_global_function(source: str, expected: Any) -> None:
    assert _eval(source) == expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("$jmespath($json, 'people[0].name')", "Ann", id="path"),
        pytest.param("$jmespath($json.people, '[?age > `30`].age')", [31, 40], id="filter"),
        pytest.param("$jmespath($json, 'length(nums)')", 3, id="function"),
        pytest.param("$jmespath($json.people, 'sort_by(@, &age)[0].name')", "Bob", id="expref"),
        pytest.param("$jmespath($now, '@')", "2024-05-06T07:08:09.123+00:00", id="date-as-iso"),
    ],
)
def test_jmespath_queries_json_data(source: str, expected: Any) -> None:
    assert _eval(source) == expected


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param("'a'.trim(1)", "trim() takes no arguments", id="too-many-arguments"),
        pytest.param("'a'.padStart()", "padStart() expects 1 to 2 arguments", id="too-few"),
        pytest.param("'a'.foo()", "Unknown method 'foo' for string", id="unknown-string-method"),
        pytest.param("[1].map(1)", "Unknown method 'map' for array", id="unknown-list-method"),
        pytest.param("{}.items()", "Unknown method 'items' for object", id="unknown-obj-method"),
        pytest.param("'a'.includes(1)", "includes() expects text as argument 1", id="arg-type"),
        pytest.param("'abc'.toNumber()", "Cannot convert 'abc' to a number", id="toNumber"),
        pytest.param("['a', {}].sum()", "sum() needs an array of numbers", id="sum-of-text"),
        pytest.param("(1.5).toFixed(101)", "between 0 and 100", id="toFixed-digits"),
        pytest.param("$now.plus({fortnights: 1})", "unknown unit", id="date-unit"),
        pytest.param("$now.startOf('eon')", "Unknown date unit", id="startOf-unit"),
        pytest.param("toDateTime('not a date')", "Cannot convert 'not a date'", id="bad-date"),
        pytest.param("toDateTime(1e20)", "Cannot convert", id="date-out-of-range"),
        pytest.param("$now.plus({years: 1e9})", "out of range", id="date-overflow"),
        pytest.param("JSON.parse('{')", "JSON.parse()", id="bad-json"),
        pytest.param("Object.keys(1)", "Object.keys() expects an object", id="Object-keys"),
        pytest.param("Math.pow(2, 8)", "Unknown method 'pow' for Math", id="not-allow-listed"),
        pytest.param("$jmespath($json, 'a[')", "$jmespath(): Invalid", id="bad-query"),
        pytest.param("[1] - 1", "Cannot apply '-' to array", id="array-arithmetic"),
        pytest.param("'x' * 2", "Cannot apply '*' to the text 'x'", id="text-arithmetic"),
        pytest.param("1 / 0", "Division by zero", id="division-by-zero"),
        pytest.param("1 % 0", "Division by zero", id="remainder-by-zero"),
        pytest.param("(1)()", "A number value is not a function", id="call-a-number"),
    ],
)
def test_helper_misuse_is_an_expression_error(source: str, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        _eval(source)
    assert message in caught.value.message
