"""Celery settings, read from the environment (see .env.example).

Production uses Redis; standalone (``make run``) uses kombu's ``filesystem://`` transport
under ``$FLUXOLAB_VAR_DIR/broker``. Results live in the database, not in a result backend.
"""

from __future__ import annotations

import os
from pathlib import Path

from celery.schedules import crontab
from kombu import Exchange, Queue

_var = Path(os.environ.get("FLUXOLAB_VAR_DIR", "var")).resolve()

broker_url = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
if broker_url.startswith("filesystem"):
    _folder = _var / "broker"
    for _sub in ("queue", "processed", "control"):
        (_folder / _sub).mkdir(parents=True, exist_ok=True)
    broker_transport_options = {
        "data_folder_in": str(_folder / "queue"),
        "data_folder_out": str(_folder / "queue"),
        "processed_folder": str(_folder / "processed"),
        "store_processed": False,
        "control_folder": str(_folder / "control"),
        # seconds between scans of the queue folder when every queue is empty: how late a
        # worker sees a new task or a broadcast (Flower's inspect expires after 3 s)
        "polling_interval": 0.25,
    }
else:
    broker_transport_options = {
        # Unacknowledged tasks come back after this many seconds: above the longest task.
        "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600")),
        # How often a worker scans for unacknowledged tasks past the visibility timeout
        # (those of a worker that died) and puts them back in their queue.
        "unacked_restore_interval": int(os.environ.get("CELERY_UNACKED_RESTORE_INTERVAL", "10")),
        "unacked_restore_throttle": 1,
    }
broker_connection_retry_on_startup = True
broker_connection_timeout = 4
broker_pool_limit = int(os.environ.get("CELERY_BROKER_POOL_LIMIT", "10"))

result_backend = None
task_ignore_result = True

task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
event_serializer = "json"
timezone = "UTC"
enable_utc = True

task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
task_time_limit = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "900"))
task_soft_time_limit = int(os.environ.get("CELERY_TASK_SOFT_TIME_LIMIT", "840"))
# Task events feed Flower's task and throughput views. Workers start with them off: a running
# Flower switches them on every few seconds (`celery control enable_events`), so they cost
# the hot path (three publishes per task) only while someone watches. "task-sent" events from
# the API stay off: they would cost every run request a publish.
task_send_sent_event = False
worker_send_task_events = os.environ.get("CELERY_TASK_EVENTS", "false").lower() in {
    "1",
    "true",
    "yes",
    "on",
}
worker_hijack_root_logger = False

task_default_queue = "executions"
task_queues = (
    Queue("executions", Exchange("executions"), routing_key="executions"),
    Queue("node_tests", Exchange("node_tests"), routing_key="node_tests"),
    Queue("maintenance", Exchange("maintenance"), routing_key="maintenance"),
)
task_routes = {
    "executions.*": {"queue": "executions", "routing_key": "executions"},
    "nodes.*": {"queue": "node_tests", "routing_key": "node_tests"},
    "maintenance.*": {"queue": "maintenance", "routing_key": "maintenance"},
    "stats.*": {"queue": "maintenance", "routing_key": "maintenance"},
    "mail.*": {"queue": "maintenance", "routing_key": "maintenance"},
}

beat_schedule_filename = str(_var / "celerybeat-schedule")
_recent_every = float(os.environ.get("STATS_RECENT_INTERVAL_SECONDS", "60"))
beat_schedule = {
    "purge-expired-auth-records": {
        "task": "maintenance.purge_auth_records",
        "schedule": float(os.environ.get("PURGE_AUTH_INTERVAL_SECONDS", "3600")),
    },
    "sweep-executions": {
        "task": "maintenance.sweep_executions",
        "schedule": float(os.environ.get("SWEEP_INTERVAL_SECONDS", "5")),
    },
    "prune-executions": {
        "task": "maintenance.prune_executions",
        "schedule": float(os.environ.get("PRUNE_INTERVAL_SECONDS", "3600")),
    },
    "prune-node-tests": {
        "task": "maintenance.prune_node_tests",
        "schedule": float(os.environ.get("NODE_TEST_PRUNE_INTERVAL_SECONDS", "300")),
    },
    "prune-webhook-logs": {
        "task": "maintenance.prune_webhook_logs",
        "schedule": float(os.environ.get("WEBHOOK_LOG_PRUNE_INTERVAL_SECONDS", "3600")),
    },
    "fire-schedules": {
        "task": "maintenance.fire_schedules",
        "schedule": float(os.environ.get("SCHEDULE_TICK_SECONDS", "15")),
    },
    "prune-audit-log": {
        "task": "maintenance.prune_audit",
        "schedule": float(os.environ.get("AUDIT_PRUNE_INTERVAL_SECONDS", "3600")),
    },
    "evaluate-usage-alerts": {
        "task": "maintenance.evaluate_usage_alerts",
        "schedule": float(os.environ.get("USAGE_ALERT_INTERVAL_SECONDS", "300")),
    },
    # hourly (a few minutes past the hour): every zone's midnight is covered soon after it
    "rollup-execution-stats": {
        "task": "stats.rollup",
        "schedule": crontab(minute=5),
    },
    # the dashboard's current hour: all but the last minute or so comes from the rollup
    "roll-recent-execution-stats": {
        "task": "stats.roll_recent",
        "schedule": _recent_every,
        "options": {"expires": _recent_every * 0.9},  # a late one is skipped: the next comes
    },
    "prune-schedule-fires": {
        "task": "maintenance.prune_schedule_fires",
        "schedule": float(os.environ.get("PRUNE_INTERVAL_SECONDS", "3600")),
    },
}
