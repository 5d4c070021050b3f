"""The node catalog and single-node tests of ``/api/workflows/nodes``."""
