"""The built-in offline search engine: AST mutation and crossover, no network needed.

``OfflineEngine(spec, rng).propose(operator, parents)`` returns a :class:`Proposal`;
see :mod:`discover.offline.engine` for how operators map to AST edits and
:mod:`discover.offline.vocabulary` for how feature names are bound in candidates.
"""

from discover.offline.engine import EngineConfig, OfflineEngine
from discover.offline.types import EngineError, Operator, ParentInfo, Proposal

__all__ = ["EngineConfig", "EngineError", "OfflineEngine", "Operator", "ParentInfo", "Proposal"]
