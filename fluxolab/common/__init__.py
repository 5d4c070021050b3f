"""Shared HTTP helpers: base schemas, pagination, error handlers, security."""
