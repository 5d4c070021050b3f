"""Webhooks: the management API (CRUD, stats, token rotation, call logs) and the public intake."""
