"""Executions: create and queue runs, run them on workers, list, cancel, retry, prune."""
