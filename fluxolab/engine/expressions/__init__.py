"""Expressions in node parameters: `{{ ... }}` with JavaScript-flavoured (n8n-like) syntax.

A small evaluator of our own: source text is tokenised and parsed into an immutable tree (cached
by source), and the tree is walked by an allow-listed evaluator. There is no Python `eval`, no
Jinja and no attribute access on Python objects; data is only read through dict/list lookups.

Templates (`render`)
    ``"{{ expr }}"`` (one expression, surrounding spaces allowed) keeps the result's type.
    ``"Hi {{ expr }}!"`` interpolates: None -> "", arrays/objects -> compact JSON,
    booleans -> "true"/"false", numbers without a trailing ".0", dates -> ISO-8601.
    Results are data: text coming out of an expression is never evaluated again. An unclosed
    ``{{`` is literal text. Results are always JSON-compatible (dates become ISO strings,
    NaN/Infinity become None).

==================  ===========================================================================
Construct           Meaning
==================  ===========================================================================
Literals            ``12``, ``1.5e3``, ``0xFF``, ``'a'``/``"b"`` (escapes ``\\n \\t \\uXXXX``...),
                    ``true false null``, ``undefined`` (= null), ``NaN``, ``Infinity``,
                    ``[1, 2]``, ``{key: 1, "k": 2}``
Access              ``a.b``, ``a[expr]``, ``a?.b``, ``a?.[k]``, ``f?.()``; a missing key or
                    access on null gives null; calling a method on null is an error unless
                    ``?.`` is used
Arithmetic          ``+ - * / %``; ``+`` concatenates when either side is text (null counts
                    as ""); numeric strings count as numbers for ``- * / %``, other text is an
                    error; null counts as 0; division by zero is an error; there is no ``**``
Comparison          ``== !=`` (loose: ``1 == "1"``), ``=== !==`` (strict; arrays/objects compare
                    by value), ``< <= > >=`` (text by text, dates by time, else numbers)
Logic               ``&& ||`` (also ``and or``), ``!`` (also ``not``), ``a ?? b``,
                    ``c ? a : b``, parentheses; ``&& || ??`` return operands like JavaScript
Truthiness          false: ``false null 0 NaN ""``; true: everything else, including ``[]``, ``{}``
Variables           ``$json``, ``$input`` (``.all() .first() .last() .item``),
                    ``$node["Name"]`` / ``$("Name")`` (``.json`` = first item's json,
                    ``.all() .first() .last() .item``), ``$now``, ``$today`` (midnight of
                    ``$now``), ``$execution``, ``$workflow``, ``$vars``, ``$itemIndex``,
                    ``$jmespath(value, "query")``
Legacy              a bare unknown name means ``$json.name``: ``{{ name }}``
Strings             ``length toUpperCase() toLowerCase() trim() split(sep, limit)
                    replace(a, b) replaceAll(a, b) includes() startsWith() endsWith()
                    slice() substring() indexOf() padStart() padEnd() repeat() toNumber()
                    isEmpty() toString()`` (plain text only, no regular expressions)
Numbers             ``toFixed(d) round(d) floor() ceil() abs() toString(radix)``
Arrays              ``length join(sep) includes(x) indexOf(x) slice() first() last()
                    concat(...) reverse() sort() unique() sum() min() max() pluck("f", ...)
                    compact() isEmpty()``; never modify the receiver; ``sort()`` orders
                    numbers numerically, otherwise by text
Objects             ``keys() values() hasField(k)`` / ``has(k)`` ``isEmpty()``
Dates               ``$now``, ``$today``, ``toDateTime(iso | millis)``, ``DateTime.now()``,
                    ``DateTime.fromISO()``, ``DateTime.fromMillis()``; methods ``toISO()
                    toISODate() toMillis() toString() format("yyyy-MM-dd HH:mm:ss")
                    plus({days: 1}) plus(2, "hours") minus(...) startOf("day") endOf("month")``;
                    properties ``year month day hour minute second millisecond weekday``
                    (1 = Monday); format tokens ``yyyy yy y q MMMM MMM MM M WW W dd d EEEE
                    EEE E HH H hh h mm m ss s SSS S a ZZZ ZZ Z X x``, ``'quoted'`` literal
Globals             ``Number() String() Boolean() parseInt() parseFloat() isNaN()``,
                    ``Math.min/max/round/floor/ceil/abs``, ``Math.PI``, ``Math.E``,
                    ``JSON.stringify(v, null, indent)``, ``JSON.parse(text)``,
                    ``Object.keys()``, ``Object.values()``, ``Array.isArray()``
Not supported       assignment, arrow functions, ``new``, ``this``, ``function``, statements,
                    template literals, regular expressions, ``typeof``, imports, any function
                    outside this table (``eval``, ``require``, ``open``, ...)
==================  ===========================================================================

Security rules (enforced when parsing, so ``check_syntax`` reports them too):

* ``.name`` access to a name starting with ``_`` or to ``constructor``/``prototype`` fails with
  "Access to '<name>' is not allowed"; bare names starting with ``_`` fail the same way.
* ``[key]`` access with a key starting with ``__`` fails (also for keys computed at run time);
  other keys, e.g. ``$json["_id"]`` or ``$json["constructor"]``, are plain data lookups.
* Object literal keys starting with ``__`` are refused.
* Only the helpers above can be called, chosen by the receiver's type.
* ``$jmespath`` runs on a JSON copy of its argument (so it only ever sees data); each query node
  costs a step, queries are at most 1 000 characters and intermediate results are size-bounded.

Limits (`ExpressionLimits`): source length and nesting depth are checked while parsing (long
operator chains are flat, so ``1+1+...`` does not nest); every node and chain link costs a step
and per-element helper work costs a step per element; the wall clock is checked with the step
counter; every string, array or serialisation built is bounded by ``max_result_chars`` (repeated
references to the same list/dict count in full, data passed through does not), and everything
one render() call builds, added up, by ``max_built_chars``. Helpers that can grow their input
(``repeat padStart join replace split`` case conversion, ``+``, indented ``JSON.stringify``,
JMESPath's ``join``/``to_string``) compute or bound their result's size before building it, and
every result of a helper, operator or ``$jmespath`` call is checked again once built. Every
failure is an ExpressionError; no other exception leaves `render` or `evaluate`.
"""

from .errors import ExpressionError, ExpressionLimits
from .parser import compile_expression
from .render import check_syntax, evaluate, has_expression, render
from .scope import ExpressionScope

__all__ = [
    "ExpressionError",
    "ExpressionLimits",
    "ExpressionScope",
    "check_syntax",
    "compile_expression",
    "evaluate",
    "has_expression",
    "render",
]
