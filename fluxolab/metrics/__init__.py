"""Prometheus metrics: the instruments, the scrape-time collectors and ``GET /metrics``.

``instruments`` defines every counter and histogram and imports nothing but
``prometheus_client``, so any layer (the engine's sandbox included) can record into it with a
one-line call. ``collectors`` computes queue depth and execution states when Prometheus
scrapes, ``http`` labels each request by its route template, ``routes`` serves the text
format behind ``METRICS_TOKEN``, and ``multiproc`` sums the processes of one host or container
(``PROMETHEUS_MULTIPROC_DIR``): gunicorn's workers, Celery's pool processes.

This package's ``__init__`` imports nothing, so importing ``instruments`` pulls in no Flask.
"""
