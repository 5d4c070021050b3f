"""The nightly ``execution_stats`` rollup (``rollup``) the dashboard reads for closed days."""
