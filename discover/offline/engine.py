"""The offline engine: proposes children of parent programs by AST mutation and crossover.

It is the search operator behind ``--model offline``: no network, no model, and no
built-in knowledge of good heuristics. Everything it writes is assembled from the
parents it is given (ultimately the problem's seed programs), the problem's
feature vocabulary, numeric literals and generic arithmetic (``+ - * /``,
``min``, ``max``, ``abs``). Given the same generator state and the same parents it
returns the same child.

Loop-level operators map to AST edits as follows:

=========== =====================================================================
operator    edits (one, or for ``new_idea`` sometimes two)
=========== =====================================================================
new_idea    new random sub-expression, wrap a key component with a new term,
            substitute a feature, insert a term, add a tie-break component
crossover   subtree / component exchange between two parents (``modify`` when
            only one parent is given)
modify      swap an operator or function, insert or delete a term, substitute a
            feature, edit the key tuple, perturb a literal
tune        perturb one to three literals (or introduce a coefficient when the
            program has none)
simplify    delete a term, fold constants, round a literal, drop a key component
=========== =====================================================================
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from discover.offline import mutations as m
from discover.offline.budget import LOW, lighten
from discover.offline.crossover import crossover
from discover.offline.deadcode import remove_dead_assignments
from discover.offline.hoisting import emit, expand
from discover.offline.rewrite import (
    absorb_negations,
    guard_divisions,
    misuses,
    node_count,
    number_sequences,
)
from discover.offline.scale import ScaleModel
from discover.offline.shape import add_or_vary_lookahead, has_lookahead
from discover.offline.sites import Site, find_function, find_sites
from discover.offline.state import add_state_feature, features_agree, has_state_features
from discover.offline.structure import add_or_vary_improvement, has_improvement
from discover.offline.types import EngineError, Operator, ParentInfo, Proposal
from discover.offline.vocabulary import Feature, Vocabulary, inline_instance_names
from discover.search.duplicates import normalized_hash
from evaluators.base import CandidateSpec

#: Probability that an operator applies a structural move (:mod:`.structure`) instead of
#: an expression edit, when the problem defines its objective (``cost_source``); the
#: second figure applies to programs that already have the pass (its numbers are varied).
_STRUCTURAL: dict[Operator, tuple[float, float]] = {
    Operator.NEW_IDEA: (0.15, 0.1), Operator.MODIFY: (0.05, 0.1), Operator.TUNE: (0.0, 0.2),
}

#: Which structural move is tried first: the improvement pass, look-ahead, state features.
_MOVE_WEIGHTS = (0.5, 0.25, 0.25)

_PLANS: dict[Operator, tuple[tuple[m.Mutation, float], ...]] = {
    Operator.NEW_IDEA: ((m.random_subtree, 3.0), (m.wrap, 3.0), (m.substitute_feature, 2.0),
                        (m.insert_term, 2.0), (m.edit_key_tuple, 1.0)),
    Operator.MODIFY: ((m.swap_operator, 2.0), (m.swap_function, 2.0), (m.insert_term, 3.0),
                      (m.delete_term, 2.0), (m.substitute_feature, 2.0),
                      (m.edit_key_tuple, 1.0), (m.perturb_constant, 1.0),
                      (m.adapt_coefficient, 1.5)),
    Operator.TUNE: ((m.perturb_constant, 1.0),),
    Operator.SIMPLIFY: ((m.delete_term, 3.0), (m.fold_constants, 2.0), (m.snap_constant, 1.0),
                        (m.drop_key_component, 1.0)),
}


@dataclass(frozen=True)
class EngineConfig:
    """Limits of the offline engine.

    Parameters
    ----------
    max_site_nodes
        Largest total size (AST nodes) of a child's priority expressions; bigger
        children are rejected (bloat control).
    max_attempts
        Tries per proposal before giving up with :class:`EngineError`.
    """

    max_site_nodes: int = 90
    max_attempts: int = 200

    def __post_init__(self) -> None:
        if self.max_site_nodes < 1:
            raise ValueError("max_site_nodes must be positive")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be positive")


@dataclass(frozen=True)
class _Child:
    code: str
    idea: str
    mutations: tuple[str, ...]


class OfflineEngine:
    """AST-level mutation and crossover of candidate programs.

    Parameters
    ----------
    spec
        The problem's candidate contract; its ``feature_vocabulary`` supplies new
        material and its ``function_name``/``parameters`` are enforced on children.
    rng
        The only source of randomness (determinism under ``--seed``).
    config
        Limits; defaults suit priority-rule candidates.
    """

    def __init__(self, spec: CandidateSpec, rng: np.random.Generator,
                 config: EngineConfig | None = None) -> None:
        self.spec = spec
        self.rng = rng
        self.config = config or EngineConfig()
        self.vocabulary = Vocabulary(spec.feature_vocabulary, spec.parameters)
        self._descriptors = any(f.instance_level for f in self.vocabulary.features)
        # Parameters the contract types as flat sequences of numbers (see rewrite.misuses).
        self._number_sequences = number_sequences(spec.signature)
        # Without instance descriptors adapt_coefficient cannot apply: it leaves the plans
        # (and the draws of problems without descriptors stay as they were).
        self._plans = {op: tuple(step for step in plan if step[0] is not m.adapt_coefficient
                                 or self._descriptors) for op, plan in _PLANS.items()}
        self._violation_limit = 0
        self._facts: dict[str, tuple[str, int]] = {}
        self._contexts: dict[tuple[str, int], tuple[list[Feature], dict[str, int | None],
                                                     ScaleModel]] = {}

    def propose(self, operator: str | Operator, parents: Sequence[ParentInfo],
                rng: np.random.Generator | None = None) -> Proposal:
        """Return a child of ``parents`` made by ``operator``.

        Parameters
        ----------
        operator
            ``"new_idea"``, ``"crossover"``, ``"modify"``, ``"tune"`` or ``"simplify"``.
        parents
            One or more parents; single-parent operators edit the first, crossover
            grafts from one parent into another (the better one receives more often).
        rng
            Generator for this call only (e.g. one per batch slot, for determinism
            under parallel proposals); the engine's own generator when omitted.
            Keeping one engine and passing generators per call keeps its caches
            (analyses of parents, which recur) warm; results never depend on them.

        Returns
        -------
        Proposal
            A child that parses, defines the candidate function with the specified
            parameters and differs from every parent after normalisation.

        Raises
        ------
        ValueError
            Unknown operator, no parents, or a parent that does not define the
            candidate function.
        EngineError
            No valid new child was found within ``config.max_attempts`` tries.
        """
        if rng is not None:
            saved, self.rng = self.rng, rng
            try:
                return self.propose(operator, parents)
            finally:
                self.rng = saved
        op = Operator(operator)
        if not parents:
            raise ValueError("propose needs at least one parent")
        for k, parent in enumerate(parents):
            self._check(parent.code, f"parent {k}")
        seen = {self._parent_facts(p.code)[0] for p in parents}
        # Children may not add literal coefficients on growing quantities (see .scale).
        self._violation_limit = max(self._parent_facts(p.code)[1] for p in parents)
        for attempt in range(self.config.max_attempts):
            # After many misses (e.g. simplify on an already minimal program) widen to modify.
            effective = op if attempt < self.config.max_attempts // 8 else Operator.MODIFY
            child = self._attempt(effective, parents)
            if child is not None and normalized_hash(child.code) not in seen:
                return Proposal(child.code, f"{op.value}: {child.idea}", op, child.mutations)
        raise EngineError(f"no new valid child after {self.config.max_attempts} attempts "
                          f"({op.value} on {len(parents)} parent(s))")

    # -- one attempt -------------------------------------------------------------------
    def _attempt(self, op: Operator, parents: Sequence[ParentInfo]) -> _Child | None:
        if op is Operator.CROSSOVER and len(parents) >= 2:
            return self._crossover(parents)
        if op is Operator.CROSSOVER:
            op = Operator.MODIFY
        tree, func = self._parse(parents[0].code)
        load = parents[0].load
        if self.spec.cost_source and op in _STRUCTURAL:
            fresh, again = _STRUCTURAL[op]
            shaped = has_improvement(tree) or has_lookahead(func) or has_state_features(func)
            if self.rng.random() < (again if shaped else fresh):
                if load is not None and load >= LOW:
                    return self._near_limit(tree, func)
                return self._structural(tree, func)
        return self._edit(op, tree, func, parents[0].code)

    def _near_limit(self, tree: ast.Module, func: ast.FunctionDef) -> _Child | None:
        """The structural move of a parent near the step limit (.budget): no structure is
        added; half the time the program is lightened, else an existing structure varied."""
        if self.rng.random() < 0.5:
            desc = lighten(tree, func, self.rng)
            return None if desc is None else self._finish(tree, func, desc, ("lighten",))
        spec = self.spec
        varied = []
        if has_improvement(tree):
            varied.append(lambda: add_or_vary_improvement(tree, spec.function_name,
                                                          spec.parameters, spec.cost_source,
                                                          self.rng))
        if has_lookahead(func):
            varied.append(lambda: add_or_vary_lookahead(func, self.rng))
        if not varied:
            return None
        # A program with both a pass and a look-ahead has either varied (the draw is only
        # made then, so programs with one structure are varied as before).
        move = varied[int(self.rng.integers(len(varied)))] if len(varied) > 1 else varied[0]
        desc = move()
        return None if desc is None else self._finish(tree, func, desc, ("structure",))

    def _edit(self, op: Operator, tree: ast.Module, func: ast.FunctionDef,
              code: str) -> _Child | None:
        """One expression edit (or two for ``new_idea``) at a random site of ``func``."""
        sites = find_sites(tree, func, policy=self.spec.policy)
        if not sites:
            return None
        index = int(self.rng.integers(len(sites)))
        site = sites[index]
        steps = self._steps(op)
        descriptions: list[str] = []
        names: list[str] = []
        for mutation in steps:
            applied = self._apply(mutation, site, func, (code, index))
            if applied is None:
                return None
            descriptions.append(applied[0])
            names.append(applied[1])
        return self._finish(tree, func, "; ".join(descriptions), tuple(names))

    def _structural(self, tree: ast.Module, func: ast.FunctionDef) -> _Child | None:
        """One structural move (.structure, .shape, .state); the others if it cannot apply."""
        spec = self.spec
        moves = (
            lambda: add_or_vary_improvement(tree, spec.function_name, spec.parameters,
                                            spec.cost_source, self.rng),
            lambda: add_or_vary_lookahead(func, self.rng),
            lambda: add_state_feature(tree, func, spec.parameters, spec.cost_source, self.rng),
        )
        first = int(self.rng.choice(len(moves), p=_MOVE_WEIGHTS))
        for k in range(len(moves)):
            desc = moves[(first + k) % len(moves)]()
            if desc is not None:
                return self._finish(tree, func, desc, ("structure",))
        return None

    def _steps(self, op: Operator) -> list[m.Mutation]:
        if op is Operator.TUNE:
            count = 1 + int(self.rng.choice(3, p=[0.6, 0.3, 0.1]))
            return [m.perturb_constant] * count
        plan = self._plans[op]
        weights = np.array([w for _, w in plan])
        count = 2 if op is Operator.NEW_IDEA and self.rng.random() < 0.3 else 1
        picks = self.rng.choice(len(plan), size=count, p=weights / weights.sum())
        return [plan[int(k)][0] for k in picks]

    def _context(self, site: Site, func: ast.FunctionDef,
                 key: tuple[str, int]) -> m.MutationContext:
        """Features bindable at ``site`` with their size degrees (see :mod:`.scale`).

        The analysis of a parent's site is cached under ``key`` (parent code, site
        index): parents are drawn again and again, and a second edit of the same
        attempt may reuse the first analysis (degrees of names rarely change).
        """
        cached = self._contexts.get(key)
        if cached is None:
            features = self.vocabulary.eligible(site)
            previews = {f.source: self.vocabulary.preview(f, site) for f in features}
            model = ScaleModel(func, [p for p in previews.values() if p is not None])
            degrees = {src: (None if p is None else model.degree(p))
                       for src, p in previews.items()}
            if len(self._contexts) >= 512:
                self._contexts.clear()
            cached = self._contexts[key] = (features, degrees, model)
        features, degrees, model = cached
        return m.MutationContext(site, features, self.rng, model.degree, degrees)

    def _apply(self, mutation: m.Mutation, site: Site, func: ast.FunctionDef,
               key: tuple[str, int]) -> tuple[str, str] | None:
        """Apply one mutation and bind its names; (description, mutation name) or None."""
        ctx = self._context(site, func, key)
        desc = mutation(ctx)
        if desc is None and mutation is m.perturb_constant:
            # Nothing to tune yet: introduce a coefficient instead.
            mutation = m.insert_coefficient
            desc = mutation(ctx)
        if desc is None or not self.vocabulary.bind(site):
            return None
        return desc, mutation.__name__

    def _parent_facts(self, code: str) -> tuple[str, int]:
        """Normalised hash and violation count of a parent (cached: parents recur)."""
        facts = self._facts.get(code)
        if facts is None:
            facts = (normalized_hash(code), self._violations(*self._parse(code)))
            if len(self._facts) >= 512:
                self._facts.clear()
            self._facts[code] = facts
        return facts

    def _violations(self, tree: ast.Module, func: ast.FunctionDef) -> int:
        """Literal coefficients on growing quantities over all sites of ``func``."""
        total = 0
        for site in find_sites(tree, func, policy=self.spec.policy):
            previews = [self.vocabulary.preview(f, site) for f in self.vocabulary.eligible(site)]
            model = ScaleModel(func, [p for p in previews if p is not None])
            total += model.violations(site.root.get())
        return total

    def _crossover(self, parents: Sequence[ParentInfo]) -> _Child | None:
        order = sorted(range(len(parents)), key=lambda k: (parents[k].score, k))
        if self.rng.random() < 0.7:  # the better parent receives more often
            a, b = order[0], order[1]
        else:
            a, b = (int(v) for v in self.rng.choice(len(parents), size=2, replace=False))
        tree, func = self._parse(parents[a].code)
        donor_tree, donor_func = self._parse(parents[b].code)
        policy = self.spec.policy
        sites = find_sites(tree, func, policy=policy)
        donor_sites = find_sites(donor_tree, donor_func, policy=policy)
        if not sites or not donor_sites:
            return None
        site = sites[int(self.rng.integers(len(sites)))]
        donor = donor_sites[int(self.rng.integers(len(donor_sites)))]
        inline_instance_names(donor)
        if not features_agree(donor.root.get(), donor_func, func):
            return None  # its state features mean something else here (or nothing)
        desc = crossover(site, donor, self.rng)
        if desc is None or not self.vocabulary.bind(site):
            return None
        return self._finish(tree, func, desc, ("crossover",))

    def _finish(self, tree: ast.Module, func: ast.FunctionDef, idea: str,
                names: tuple[str, ...]) -> _Child | None:
        remove_dead_assignments(func, tree)
        _drop_docstring(func)
        for site in find_sites(tree, func, policy=self.spec.policy):
            guard_divisions(site.root.get())
            # Negative literals are set as ``-c``; under a + or - they would read ``a - -c``.
            absorb_negations(site.root.get())
        if sum(node_count(s.root.get()) for s in find_sites(tree, func, policy=self.spec.policy)) \
                > self.config.max_site_nodes:
            return None
        if self._violations(tree, func) > self._violation_limit:
            return None
        if misuses(func, self._number_sequences) is not None:
            return None
        emit(func, tree, self.spec.policy)  # instance-level weights computed once (.hoisting)
        code = ast.unparse(tree) + "\n"
        try:
            self._check(code, "child")
        except ValueError:
            return None
        return _Child(code, idea, names)

    # -- parsing and checks ------------------------------------------------------------------
    def _parse(self, code: str) -> tuple[ast.Module, ast.FunctionDef]:
        tree = ast.parse(code)
        func = find_function(tree, self.spec.function_name)
        assert func is not None  # checked in propose
        expand(func, tree, self.spec.policy)  # the editing form: literals in the sites
        return tree, func

    def _check(self, code: str, what: str) -> None:
        try:
            tree = ast.parse(code)
        except SyntaxError as exc:
            raise ValueError(f"{what} does not parse: {exc}") from None
        func = find_function(tree, self.spec.function_name)
        if func is None:
            raise ValueError(f"{what} does not define {self.spec.function_name}()")
        params = tuple(a.arg for a in [*func.args.posonlyargs, *func.args.args])
        if params != self.spec.parameters:
            raise ValueError(f"{what}: {self.spec.function_name}{params} does not take "
                             f"{self.spec.parameters}")


def _drop_docstring(func: ast.FunctionDef) -> None:
    """A parent's docstring describes the parent, not the child: remove it."""
    body = func.body
    if (len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)):
        del body[0]
