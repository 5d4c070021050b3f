"""HTTP route of ``/api/audit``: read the workspace's audit trail (JSON page or CSV export).

Owners and admins only; API keys are refused (the blueprint is not in
``API_KEY_RESOURCES``). No route changes or deletes an entry.
"""

from __future__ import annotations

from typing import Any

from flask import Response, request, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint

from fluxolab.audit import export, service
from fluxolab.audit.schemas import AuditArgs, AuditPageOut
from fluxolab.common.security import auth_required, current_actor
from fluxolab.models import utcnow

blp = Blueprint("audit", __name__, url_prefix="/api/audit", description="The audit trail")

CSV = "text/csv"
CSV_OR_JSON = {
    "description": "One page of entries, or with `Accept: text/csv` every matching entry",
    "content": {
        "application/json": {"schema": AuditPageOut},
        CSV: {"schema": {"type": "string"}},
    },
}


def _wants_csv() -> bool:
    return request.accept_mimetypes.best_match(["application/json", CSV]) == CSV


@blp.route("")
class AuditLog(MethodView):
    @auth_required("admin")
    @blp.arguments(AuditArgs, location="query")
    @blp.response(200, AuditPageOut)
    @blp.doc(responses={"200": CSV_OR_JSON})
    def get(self, args: dict[str, Any]) -> Any:
        """List the workspace's audit trail, newest first (or export it as CSV)

        Admin or owner; API keys are refused (403). Filters: `actor` (user id), `action`,
        `targetType`, `targetId`, `from` / `to` (ISO-8601; from inclusive, to exclusive).
        Paginated with `limit`/`offset` or `page`. With `Accept: text/csv` the answer is a
        streamed CSV file of every matching entry (the window is ignored); cells that a
        spreadsheet would evaluate start with `'`. Secrets are never stored: `before` and
        `after` hold the changed fields with secret values masked as `***`.
        """
        limit, offset = args.pop("limit"), args.pop("offset")
        filters = service.AuditFilters(**args)
        workspace_id = current_actor().workspace_id
        if _wants_csv():
            lines = export.csv_lines(service.iter_entries(workspace_id, filters))
            name = f"audit-{utcnow():%Y%m%d-%H%M%S}.csv"
            return Response(
                stream_with_context(lines),
                mimetype=CSV,
                headers={"Content-Disposition": f'attachment; filename="{name}"', "Vary": "Accept"},
            )
        page = service.list_entries(workspace_id, filters, limit, offset)
        return page.body("entries", page.items)
