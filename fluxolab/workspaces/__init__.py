"""Workspaces: provisioning, plans, membership."""
