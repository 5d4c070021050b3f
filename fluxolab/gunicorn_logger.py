"""gunicorn's logger with trigger tokens masked in its access and error logs, in LOG_FORMAT.

Used as ``gunicorn --logger-class fluxolab.gunicorn_logger.MaskingLogger`` (the compose
api command and the Dockerfile's). gunicorn's loggers do not propagate to the root logger,
so the filter of ``fluxolab.logmask`` is put on their handlers here, and each access-log
atom (request line, path, Referer, headers) is masked before the line is formatted.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from fluxolab import logs
from fluxolab.logmask import mask_handlers
from fluxolab.triggers.tokens import mask_in_path


class MaskingLogger(Logger):
    """gunicorn's ``Logger`` that never writes a webhook or form token."""

    def setup(self, cfg: Any) -> None:
        """Configure as gunicorn does, then mask on every handler of both logs.

        Both logs are written in ``LOG_FORMAT``, like the app's (``fluxolab.logs``).
        """
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            mask_handlers(log)
            for handler in log.handlers:
                handler.setFormatter(logs.formatter())

    def atoms(self, resp: Any, req: Any, environ: Any, request_time: Any) -> dict[str, Any]:
        """gunicorn's access-log atoms with the token segment of every string masked."""
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if isinstance(value, str) and "/" in value:
                atoms[key] = mask_in_path(value)
        return atoms
