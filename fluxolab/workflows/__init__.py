"""Workflows: CRUD, immutable versions, activation and duplication (``/api/workflows``)."""
