"""Users module: profile, trial info, workspace members, preferences."""
