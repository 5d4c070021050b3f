"""The statements that store a new ``queued`` execution and charge it to the plan quota.

``insert_one`` stores one run; on PostgreSQL the quota charge, the execution and an extra
row (a public trigger's call log) are one statement, sent as a transaction of its own
(``transaction_of_its_own``) when the request has nothing else in flight. ``charge_quota``
is the charge on its own (SQLite, and a usage period that must be renewed first).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from typing import cast as typed

from sqlalchemy import Connection, Engine, Insert, Table, bindparam, insert, select, update

from fluxolab.errors import PlanLimitExceeded
from fluxolab.extensions import db
from fluxolab.models import Execution, Workspace, utcnow

USAGE_PERIOD = timedelta(days=30)
_E = typed(Table, Execution.__table__)
_WS = typed(Table, Workspace.__table__)
INSERT = insert(_E)
WORKSPACE_ID = bindparam("workspace_id", type_=_WS.c.id.type)
_CHARGE = update(_WS).where(_WS.c.id == WORKSPACE_ID)
_CHARGE = _CHARGE.values(executions_used=_WS.c.executions_used + 1)
_CHARGE_WITHIN = _CHARGE.where(_WS.c.executions_used < bindparam("limit"))


def over_quota(limit: int | None) -> PlanLimitExceeded:
    """The error of a run past the plan's quota."""
    return PlanLimitExceeded(
        f"Limite de {limit} execucoes do plano atingido neste periodo; faca upgrade do plano.",
    )


@lru_cache(maxsize=16)
def _charged_insert(
    within: bool, keys: tuple[str, ...], extra: Table | None, extra_keys: tuple[str, ...]
) -> Insert:
    """Charge the quota, insert the execution (and ``extra``'s row) in one statement.

    PostgreSQL only (data-modifying CTEs): ``WITH charged AS (UPDATE workspaces ...
    RETURNING id), started AS (INSERT INTO executions SELECT ... FROM charged RETURNING
    id) INSERT INTO <extra> SELECT ... FROM started RETURNING id``. Over the quota the
    UPDATE matches nothing, so nothing is inserted and no row comes back. Parameters are
    ``e_<column>`` for the execution, ``x_<column>`` for the extra row.
    """
    charged = (_CHARGE_WITHIN if within else _CHARGE).returning(_WS.c.id).cte("charged")
    started = insert(_E).from_select(
        list(keys),
        select(*(bindparam(f"e_{key}", type_=_E.c[key].type) for key in keys)).select_from(charged),
    )
    if extra is None:
        return started.returning(_E.c.id)
    started_cte = started.returning(_E.c.id).cte("started")
    rows = select(*(bindparam(f"x_{key}", type_=extra.c[key].type) for key in extra_keys))
    return (
        insert(extra)
        .from_select(list(extra_keys), rows.select_from(started_cte))
        .returning(extra.c.id)
    )


def charge_quota(workspace_id: uuid.UUID, period_start: datetime, limit: int | None) -> None:
    """Count one execution against the plan, atomically; raise ``PlanLimitExceeded`` when over."""
    connection = db.session.connection()
    if period_start + USAGE_PERIOD <= utcnow():
        connection.execute(
            update(_WS)
            .where(_WS.c.id == workspace_id, _WS.c.usage_period_start == period_start)
            .values(usage_period_start=utcnow(), executions_used=0)
        )
    params = {"workspace_id": workspace_id, "limit": limit}
    charged = connection.execute(_CHARGE if limit is None else _CHARGE_WITHIN, params)
    if charged.rowcount != 1:
        raise over_quota(limit)


def transaction_of_its_own() -> Connection | None:
    """A pooled connection in autocommit mode, when the session has no transaction open.

    None when it has one (what the request read must stay in its snapshot) or when the
    database is bound to a connection rather than an engine (the tests' rolled-back outer
    transaction). Use it as a context manager: it goes back to the pool at the end.
    """
    engine = db.engine
    if not isinstance(engine, Engine) or db.session().in_transaction():
        return None
    return engine.connect().execution_options(isolation_level="AUTOCOMMIT")


def insert_one(
    connection: Connection,
    values: dict[str, Any],
    with_row: tuple[Table, dict[str, Any]] | None,
    *,
    charge: bool,
    limit: int | None,
) -> bool:
    """Insert one execution (and ``with_row``); with ``charge``, in the same statement as the
    quota charge (PostgreSQL). False: over the quota, nothing inserted. Does not commit."""
    if not charge:
        connection.execute(INSERT, values)
        if with_row is not None:
            connection.execute(insert(with_row[0]), with_row[1])
        return True
    extra, extra_row = with_row if with_row is not None else (None, {})
    params = {f"e_{key}": value for key, value in values.items()}
    params.update({f"x_{key}": value for key, value in extra_row.items()})
    params.update(workspace_id=values["workspace_id"], limit=limit)
    statement = _charged_insert(limit is not None, tuple(values), extra, tuple(extra_row))
    return connection.execute(statement, params).first() is not None
