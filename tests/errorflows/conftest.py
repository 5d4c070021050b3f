"""Real worker processes for the error-run test (the fixtures of tests/workers)."""

from tests.workers.conftest import start_worker, worker_env

__all__ = ["start_worker", "worker_env"]
