"""The workflow runtime: pure Python, no Flask, no database session.

See ``runner.run`` for the entry point used by workers and node tests.
"""
