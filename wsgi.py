"""WSGI entry point: ``gunicorn wsgi:app`` and ``flask --app wsgi ...``."""

from fluxolab import create_app, settle

app = create_app()
settle()
