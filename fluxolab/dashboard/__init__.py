"""Dashboard module: production stats, workflow cards, executions and credentials lists."""
