"""The dashboard's reads (contract 3.1 and 4): overview, workflow lists, executions, credentials.

Every read is scoped to one workspace. Workflow cards are the ``DashboardWorkflow`` built by
``fluxolab.workflows.service.dashboard_workflows`` (the same shape ``PATCH
/api/workflows/<id>/status`` answers); lists reuse the workflow, execution and credential
queries and the one pagination helper.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fluxolab.credentials import service as credentials
from fluxolab.dashboard import summary
from fluxolab.executions import service as executions
from fluxolab.models import Credential, Execution
from fluxolab.users import service as users
from fluxolab.workflows import queries
from fluxolab.workflows import service as workflows

OVERVIEW_WORKFLOWS = 50
# the card statuses (contract 3.1) and the workflow statuses each stands for
CARD_STATUSES: dict[str, tuple[str, ...]] = {
    "active": ("active",),
    "inactive": ("draft", "inactive"),
    "error": ("error",),
    "draft": ("draft",),
}
# the dashboard's sort keys and the workflow list's
SORT_KEYS = {
    "name": "name",
    "status": "status",
    "created": "createdAt",
    "updated": "updatedAt",
    "executions": "executionCount",
}


def trial_view(workspace_id: uuid.UUID) -> dict[str, Any]:
    """``trialInfo``: plan, trial end and days left, executions used and the plan's limit."""
    info = users.trial_info(workspace_id)
    ends = info["trial_ends_at"]
    return {
        "plan": info["plan_code"],
        "planName": info["plan_name"],
        "isTrial": info["is_trial"],
        "trialEndsAt": ends.isoformat() if ends is not None else None,
        "daysLeft": info["days_left"],
        "executionsUsed": info["executions_used"],
        "executionsLimit": info["executions_limit"],
    }


def overview(workspace_id: uuid.UUID, now: datetime | None = None) -> dict[str, Any]:
    """The dashboard's first screen: last 7 days' stats, the newest cards, the trial bar."""
    headline, today = summary.read_window(
        workspace_id, None, lambda window: summary.headline_stats(workspace_id, window), now=now
    )
    page = queries.list_cards(workspace_id, sort="-updatedAt", limit=OVERVIEW_WORKFLOWS)
    return {
        "status": "ok",
        "stats": headline,
        "workflows": workflows.dashboard_cards(page.items),
        "totalWorkflows": page.total,
        "recentExecutions": today.total,
        "trialInfo": trial_view(workspace_id),
    }


def sort_key(sort: str) -> str:
    """Map a dashboard sort (``name``, ``-updated`` ...) to the workflow list's key."""
    descending = sort.startswith("-")
    key = SORT_KEYS[sort.lstrip("-")]
    return f"-{key}" if descending else key


def list_workflows(
    workspace_id: uuid.UUID,
    *,
    search: str | None,
    status: str | None,
    sort: str,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """One page of cards ``{workflows, total}`` filtered by name part and card status."""
    page = queries.list_cards(
        workspace_id,
        search=search,
        status=CARD_STATUSES[status] if status else None,
        sort=sort_key(sort),
        limit=limit,
        offset=offset,
    )
    return {
        "status": "ok",
        "workflows": workflows.dashboard_cards(page.items),
        "total": page.total,
    }


def search_workflows(workspace_id: uuid.UUID, text: str, limit: int) -> dict[str, Any]:
    """Cards whose name contains ``text`` (any case), by name: the search-as-you-type.

    On PostgreSQL the match is answered by the trigram index ``ix_workflows_name_trgm``.
    An empty ``text`` matches every workflow.
    """
    page = queries.list_cards(workspace_id, search=text.strip() or None, sort="name", limit=limit)
    return {
        "status": "ok",
        "workflows": workflows.dashboard_cards(page.items),
        "total": page.total,
    }


def error_message(execution: Execution) -> str | None:
    """The message of a run's error, ``None`` when it has none."""
    message = (execution.error or {}).get("message")
    return str(message) if message else None


def execution_card(execution: Execution, workflow_name: str | None) -> dict[str, Any]:
    """One row of the dashboard's executions tab."""
    return {
        "id": str(execution.id),
        "workflowId": str(execution.workflow_id),
        "workflowName": workflow_name or "",
        "status": execution.status,
        "mode": execution.mode,
        "startedAt": _iso(execution.started_at),
        "finishedAt": _iso(execution.finished_at),
        "durationMs": execution.duration_ms,
        "errorMessage": error_message(execution),
        "createdAt": _iso(execution.created_at),
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def list_executions(
    workspace_id: uuid.UUID,
    *,
    workflow_id: uuid.UUID | None,
    status: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """One page of runs (every mode) created in ``[start, end)``, newest first.

    Another workspace's ``workflow_id`` is a ``NotFound``.
    """
    filters = executions.ExecutionFilters(
        workflow_id=workflow_id, status=status, start=start, end=end
    )
    page = executions.list_executions(workspace_id, filters, limit, offset)
    return {
        "status": "ok",
        "executions": [execution_card(row[0], row[1]) for row in page.items],
        "total": page.total,
    }


def credential_card(row: Credential, *, full: bool) -> dict[str, Any]:
    """One credential, never its secret; state (``isActive``, ``lastUsedAt``) is null unless
    ``full`` (editors and above, as in ``GET /api/workflows/credentials``)."""
    return {
        "id": str(row.id),
        "name": row.name,
        "type": row.type,
        "createdAt": row.created_at.isoformat(),
        "lastUsedAt": _iso(row.last_used_at) if full else None,
        "isActive": row.is_active if full else None,
    }


def list_credentials(
    workspace_id: uuid.UUID, limit: int, offset: int, *, full: bool
) -> dict[str, Any]:
    """One page of the workspace's credentials, by name."""
    page = credentials.list_credentials(workspace_id, limit=limit, offset=offset)
    return {
        "status": "ok",
        "credentials": [credential_card(row, full=full) for row in page.items],
        "total": page.total,
    }
