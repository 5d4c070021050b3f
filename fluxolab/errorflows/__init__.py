"""Error workflows: the run started when a production execution fails (mode ``error``)."""
