"""Schedule triggers: beat fires each active schedule exactly once per due time."""
