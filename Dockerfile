# FluxoLab backend image: one image for every process (api, worker, beat, flower, migrate).
# docker-compose.yml picks the process with `command:`; the default is the API under gunicorn.
# No secrets are baked in: configuration comes from the environment at run time (.env.example).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONPATH=/app \
    FLUXOLAB_VAR_DIR=/app/var

WORKDIR /app

# tzdata: the IANA time zones behind user preferences and date nodes (zoneinfo).
# bubblewrap: the Code node runs user code inside bwrap (README, "The Code node sandbox").
RUN apt-get update \
    && apt-get install -y --no-install-recommends tzdata bubblewrap \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --create-home --home-dir /home/fluxolab fluxolab

# Runtime dependencies only (no [dev] extra), at the versions pinned in constraints.txt.
COPY constraints.txt setup.cfg pyproject.toml README.md ./
COPY fluxolab/ fluxolab/
COPY workers/ workers/
RUN pip install -c constraints.txt . \
    && rm -rf build fluxolab.egg-info

COPY migrations/ migrations/
COPY wsgi.py celeryconfig.py ./

# The only folder the app writes to (mail outbox when no SMTP_HOST is set).
RUN mkdir -p /app/var && chown fluxolab:fluxolab /app/var

USER fluxolab

EXPOSE 8000 5555

CMD ["gunicorn", "wsgi:app", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "4", "--graceful-timeout", "40", "--limit-request-line", "8190", "--logger-class", "fluxolab.gunicorn_logger.MaskingLogger", "--config", "python:fluxolab.gunicorn_config"]
