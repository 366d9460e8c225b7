"""discover: evolutionary search for scheduling heuristics, scored against exact optima."""

__version__ = "0.1.0"
