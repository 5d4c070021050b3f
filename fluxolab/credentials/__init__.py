"""Credentials: encrypted secrets of a workspace, their types, routes, tests and run resolver."""
