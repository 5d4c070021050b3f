"""Workspace settings: summary, plans and billing, usage and alerts, API keys."""
