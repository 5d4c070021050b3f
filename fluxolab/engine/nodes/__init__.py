"""Every node type the engine can run, in catalog order; the registry is built from this list."""

from fluxolab.engine.nodes import (
    ai,
    branching,
    code,
    core,
    crypto,
    csvdata,
    dates,
    emailsend,
    httprequest,
    human,
    loop,
    merge,
    renamekeys,
    reshape,
    setfields,
    subworkflow,
    summarize,
    triggers,
    waiting,
    xmldata,
)
from fluxolab.engine.nodetype import NodeType

ALL_NODE_TYPES: tuple[NodeType, ...] = (
    *triggers.NODE_TYPES,
    *ai.NODE_TYPES,
    *httprequest.NODE_TYPES,
    *emailsend.NODE_TYPES,
    *setfields.NODE_TYPES,
    *reshape.NODE_TYPES,
    *summarize.NODE_TYPES,
    *dates.NODE_TYPES,
    *renamekeys.NODE_TYPES,
    *crypto.NODE_TYPES,
    *csvdata.NODE_TYPES,
    *xmldata.NODE_TYPES,
    *branching.NODE_TYPES,
    *merge.NODE_TYPES,
    *loop.NODE_TYPES,
    *waiting.NODE_TYPES,
    *subworkflow.NODE_TYPES,
    *core.NODE_TYPES,
    *code.NODE_TYPES,
    *human.NODE_TYPES,
)

__all__ = ["ALL_NODE_TYPES"]
