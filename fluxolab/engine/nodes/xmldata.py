"""The XML node: parse XML text into JSON (with ``defusedxml``), or build XML from JSON.

``parse`` reads each item's ``field`` (default ``data``) and writes ``{root: value}`` into
``outputField`` (default: the same field). An element without attributes or children
becomes its text; otherwise an object with attributes under ``attributePrefix`` + name
(default ``@``), children by tag (repeated tags become a list) and its text under
``textKey`` (default ``#text``). Namespaces are dropped (local names kept), comments and
processing instructions ignored. Entity declarations (billion laughs, XXE) and external
references are refused with a clear error; texts are bounded by ``MAX_DOCUMENT_CHARS`` and
nesting by ``MAX_DEPTH``.

``build`` turns each item's JSON (or the value at ``field``) into XML text in
``outputField`` (default ``data``), reading the same conventions back: an object with a
single key names the root element, otherwise ``rootName`` (default ``root``) wraps it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any

from defusedxml import (
    DefusedXmlException,
    EntitiesForbidden,
    ExternalReferenceForbidden,
)
from defusedxml.ElementTree import fromstring

from fluxolab.engine.call import NodeCall
from fluxolab.engine.context import Item
from fluxolab.engine.errors import NodeError
from fluxolab.engine.nodes.rendered import as_text, bounded_text, checked_params
from fluxolab.engine.nodetype import NodeType, Outputs
from fluxolab.engine.paths import MISSING, get_path, set_path, split_path
from fluxolab.engine.schemas import choice, obj, prop

MAX_DEPTH = 100
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
_NAME = re.compile(r"[^\W\d][\w.\-]*")  # an XML element or attribute name (no prefix)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _local(name: str) -> str:
    """Return a tag or attribute name without its ``{namespace}``."""
    return name.rpartition("}")[2]


def _refusal(error: DefusedXmlException) -> str:
    """Return the message for XML that defusedxml refused."""
    if isinstance(error, EntitiesForbidden):
        where = f" ({error.sysid})" if error.sysid else ""
        return (
            f"XML declares the entity '{error.name}'{where}; entity declarations are refused "
            "(they allow entity-expansion and external-entity attacks)"
        )
    if isinstance(error, ExternalReferenceForbidden):
        return f"XML refers to the external resource {error.sysid}; external references are refused"
    return f"XML uses a construct that is refused: {error}"


def parse_xml(text: str) -> ET.Element:
    """Parse ``text`` safely; raises NodeError for invalid or dangerous XML."""
    try:
        return fromstring(
            bounded_text("XML text", text),
            forbid_dtd=False,
            forbid_entities=True,
            forbid_external=True,
        )
    except DefusedXmlException as exc:
        raise NodeError(_refusal(exc), "XmlRefused") from None
    except ET.ParseError as exc:
        raise NodeError(f"Invalid XML: {exc}") from None


def _element_text(element: ET.Element) -> str:
    """Return the element's own text (its text and its children's tails), trimmed."""
    pieces = [element.text or "", *((child.tail or "") for child in element)]
    return " ".join(piece.strip() for piece in pieces if piece.strip())


def to_json(element: ET.Element, prefix: str, text_key: str, depth: int = 1) -> Any:
    """Return an element as JSON by the node's conventions."""
    if depth > MAX_DEPTH:
        raise NodeError(f"XML is nested deeper than {MAX_DEPTH} levels")
    node: dict[str, Any] = {prefix + _local(name): value for name, value in element.attrib.items()}
    for child in element:
        key, value = _local(child.tag), to_json(child, prefix, text_key, depth + 1)
        if key not in node:
            node[key] = value
        elif isinstance(node[key], list):
            node[key].append(value)
        else:
            node[key] = [node[key], value]
    text = _element_text(element)
    if not node:
        return text
    if text:
        node[text_key] = text
    return node


def _source_text(item: Item, field: str) -> str:
    """Return the XML text in the item's ``field``; raises NodeError when it is not text."""
    text = get_path(item.get("json") or {}, split_path(field))
    if text is MISSING or text is None:
        raise NodeError(f"Field '{field}' is missing from the item; it must hold the XML text")
    if not isinstance(text, str):
        raise NodeError(f"Field '{field}' holds {type(text).__name__}, not XML text")
    return text


def _parse_item(item: Item, params: Mapping[str, Any]) -> Item:
    """Return the item with its XML text parsed into ``outputField``."""
    field = str(params.get("field") or "data")
    root = parse_xml(_source_text(item, field))
    value = {
        _local(root.tag): to_json(root, str(params["attributePrefix"]), str(params["textKey"]))
    }
    output = dict(item.get("json") or {})
    set_path(output, split_path(str(params.get("outputField") or field)), value)
    return {**item, "json": output}


def _checked_name(name: str) -> str:
    """Return ``name`` when it is a valid XML name; raises NodeError otherwise."""
    if not _NAME.fullmatch(name) or name.lower().startswith("xml"):
        raise NodeError(f"'{name}' cannot be an XML element or attribute name")
    return name


def _checked_text(value: Any) -> str:
    """Return a value as element text; raises NodeError for characters XML cannot carry."""
    text = as_text(value)
    found = _NOT_XML.search(text)
    if found:
        raise NodeError(
            f"Text holds the character U+{ord(found.group()):04X}, which XML cannot carry"
        )
    return text


class _Builder:
    """Builds elements from JSON by the node's conventions."""

    def __init__(self, prefix: str, text_key: str) -> None:
        self.prefix = prefix
        self.text_key = text_key

    def fill(self, element: ET.Element, value: Any, depth: int) -> None:
        """Put ``value`` into ``element``: attributes, text and children."""
        if depth > MAX_DEPTH:
            raise NodeError(f"JSON is nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            for key, child in value.items():
                self.member(element, str(key), child, depth)
        elif isinstance(value, list):
            for child in value:
                self.fill(ET.SubElement(element, "item"), child, depth + 1)
        elif value is not None:
            element.text = _checked_text(value)

    def member(self, element: ET.Element, key: str, value: Any, depth: int) -> None:
        """Add one object member as an attribute, the text, or child element(s)."""
        if key == self.text_key:
            element.text = _checked_text(value)
        elif self.prefix and key.startswith(self.prefix):
            element.set(_checked_name(key[len(self.prefix) :]), _checked_text(value))
        else:
            for child in value if isinstance(value, list) else [value]:
                self.fill(ET.SubElement(element, _checked_name(key)), child, depth + 1)


def _names_root(key: str, value: Any, prefix: str, text_key: str) -> bool:
    """Return whether the single key of an object names the root element."""
    is_attribute = bool(prefix) and key.startswith(prefix)
    return key != text_key and not is_attribute and not isinstance(value, list)


def build_xml(value: Any, params: Mapping[str, Any]) -> str:
    """Return XML text for a JSON value."""
    prefix, text_key = str(params["attributePrefix"]), str(params["textKey"])
    builder = _Builder(prefix, text_key)
    key = next(iter(value)) if isinstance(value, dict) and len(value) == 1 else None
    if key is not None and _names_root(key, value[key], prefix, text_key):
        root = ET.Element(_checked_name(key))
        builder.fill(root, value[key], 1)
        return _serialized(root, params)
    root = ET.Element(_checked_name(str(params["rootName"])))
    builder.fill(root, value, 1)
    return _serialized(root, params)


def _serialized(root: ET.Element, params: Mapping[str, Any]) -> str:
    """Return the element tree as text, indented and with a declaration when asked."""
    if params.get("pretty") is True:
        ET.indent(root)
    text = ET.tostring(root, encoding="unicode")
    head = DECLARATION if params.get("declaration", True) is not False else ""
    return bounded_text("XML text", head + text)


def _build_item(item: Item, params: Mapping[str, Any]) -> Item:
    """Return the item with the XML text of its JSON (or of ``field``) in ``outputField``."""
    data = item.get("json") or {}
    field = str(params.get("field") or "")
    value = get_path(data, split_path(field)) if field else data
    if value is MISSING:
        raise NodeError(f"Field '{field}' is missing from the item")
    output = dict(data)
    set_path(output, split_path(str(params.get("outputField") or "data")), build_xml(value, params))
    return {**item, "json": output}


def run_xml(call: NodeCall) -> Outputs:
    """Parse or build XML for every item."""
    out = []
    for index, item in enumerate(call.items):
        params = checked_params(call, index)
        convert = _parse_item if params["action"] == "parse" else _build_item
        out.append(convert(item, params))
    return {"main": out}


XML = NodeType(
    type="xml",
    name="XML",
    description="Parse XML text into JSON, or build XML text from JSON",
    category="data",
    icon="file-code",
    run=run_xml,
    config_schema=obj(
        {
            "action": choice("Action", ["parse", "build"], "parse"),
            "field": prop("string", "Field (parse: the XML text, default data; build: the value)"),
            "outputField": prop("string", "Output field (parse: the same field; build: data)"),
            "attributePrefix": prop("string", "Attribute prefix", default="@"),
            "textKey": prop("string", "Text key", minLength=1, default="#text"),
            "rootName": prop("string", "Root element name (build)", minLength=1, default="root"),
            "pretty": prop("boolean", "Indent the XML (build)"),
            "declaration": prop("boolean", "Start with an XML declaration (build)"),
        },
        required=["action"],
    ),
)

NODE_TYPES = (XML,)
