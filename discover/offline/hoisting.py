"""Instance-level parts of priority expressions: edited in place, emitted computed once.

A key is evaluated for every item at every decision, so each operation in it is paid
``n²/2`` times per run; a part that depends only on the instance (``2.11 * _inst0``,
``1.55 * (1 + 0.5 * _inst0)``, ``_inst0`` a descriptor such as the tardiness factor) has
the same value at every evaluation. Left in the key, such a weight made descriptor-
adapted rules 6–20 % dearer in the runtime gate's steps than the rule they adapt
(measured on an MDD-type rule with an exchange pass: load 0.87 → 1.06, over the gate's
limit, for ``c·(1 + k·TF)·p``; 0.89 with the weight hoisted), and the gate rejects
them, although computing the weight once is the obvious implementation.

The engine therefore keeps two forms of a program:

* the **editing form** (:func:`expand`): literal-bearing instance-level parts sit in
  the sites, where mutations, crossover, the scale check and the tuner see their
  literals;
* the **emitted form** (:func:`emit`): every instance-level part of a site, literals
  included, is assigned once at the top of the function (``_inst<k> = 2.11 * _inst0``)
  and the site reads the name. Products are regrouped so that their instance-level
  factors form one sub-expression (``2.11 * (p[j] * _inst0)`` →
  ``2.11 * _inst0 * p[j]``); floating-point products are not associative, so this
  changes a program's value in the last bits, which is why only the emitted form — the
  program that is evaluated and archived — is ever regrouped.

``expand`` of an emitted program gives back an editing form with the same literals,
so a child's literals can be tuned and mutated however many generations ago they
were hoisted.
"""

from __future__ import annotations

import ast
import copy
import math

from discover.offline.rewrite import absorb_negations, is_number, number, value_of
from discover.offline.sites import find_sites
from discover.offline.vocabulary import (
    INSTANCE_PREFIX,
    Inline,
    hoist_instance_expressions,
    holds_tunable_literal,
    instance_names,
    is_invariant,
    reads_any,
)

__all__ = ["emit", "expand"]

def expand(func: ast.FunctionDef, tree: ast.Module, policy: bool = False) -> None:
    """Put ``func``'s hoisted literal-bearing instance parts back into its sites (in place).

    ``_inst<k>`` names whose definition (with the definitions it reads) holds a literal
    other than 0 and 1 are replaced by their expressions; their assignments go once
    nothing reads them. Literal-free ones (a descriptor and its guards) stay hoisted,
    as :meth:`~discover.offline.vocabulary.Vocabulary.bind` writes them.
    """
    definitions = _definitions(func)
    tunable = {name for name in definitions if _has_literal(definitions, name)}
    if not tunable:
        return
    inline = Inline({name: definitions[name] for name in tunable})
    for site in find_sites(tree, func, policy=policy):
        root = site.root.get()
        for _ in range(len(tunable)):  # a definition may read an earlier one
            if not reads_any(root, tunable):
                break
            root = inline.visit(root)
        site.root.set(root)
    read = {n.id for stmt in func.body if _assigned(stmt) not in tunable
            for n in ast.walk(stmt) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    func.body[:] = [stmt for stmt in func.body
                    if _assigned(stmt) not in tunable or _assigned(stmt) in read]
    if not func.body:
        func.body.append(ast.Pass())


def emit(func: ast.FunctionDef, tree: ast.Module, policy: bool = False) -> None:
    """The emitted form of ``func`` (in place): every instance-level part of its sites
    computed once, literals included; literal factors of a product folded into one;
    negative literals under ``+``/``-`` absorbed into the operator."""
    for site in find_sites(tree, func, policy=policy):
        names = instance_names(site)
        site.root.set(_Regroup(names).visit(site.root.get()))
        if names:
            hoist_instance_expressions(site, literals=True)
        # Folding may leave a negative literal under a + or -: ``a + -1.5 * x``.
        site.root.set(absorb_negations(site.root.get()))


def emitted(tree: ast.Module, func_name: str, policy: bool = False) -> str:
    """The source of a copy of ``tree`` in the emitted form (``tree`` is left as it is)."""
    out = copy.deepcopy(tree)
    func = next(n for n in out.body if isinstance(n, ast.FunctionDef) and n.name == func_name)
    emit(func, out, policy)
    return ast.unparse(out) + "\n"


# -- helpers -------------------------------------------------------------------------------
def _definitions(func: ast.FunctionDef) -> dict[str, ast.expr]:
    return {t.id: stmt.value for stmt in func.body if isinstance(stmt, ast.Assign)
            for t in stmt.targets
            if isinstance(t, ast.Name) and t.id.startswith(INSTANCE_PREFIX)}


def _has_literal(definitions: dict[str, ast.expr], name: str, depth: int = 0) -> bool:
    value = definitions[name]
    if holds_tunable_literal(value):
        return True
    return depth < len(definitions) and any(
        _has_literal(definitions, n.id, depth + 1) for n in ast.walk(value)
        if isinstance(n, ast.Name) and n.id in definitions and n.id != name)


def _assigned(stmt: ast.stmt) -> str | None:
    """The name ``stmt`` assigns when it is ``name = ...``."""
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
            and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id
    return None


class _Regroup(ast.NodeTransformer):
    """Gather the instance-level factors of each product into one leading sub-product."""

    def __init__(self, names: set[str]) -> None:
        self.names = names


    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        if not isinstance(node.op, ast.Mult):
            return self.generic_visit(node)
        factors = _factors(node)
        written: ast.expr = node
        literal = [f for f in factors if is_number(f)]
        if len(literal) >= 2:  # 1.42 * (1.03 * p[j]) -> 1.46 * p[j]: one product less
            factors = [_literal(math.prod(value_of(f) for f in literal))] + \
                [f for f in factors if not is_number(f)]
            if len(factors) == 1:
                return factors[0]
            written = _product(factors)
        fixed = [f for f in factors if is_invariant(f, self.names)]
        varying = [self.visit(f) for f in factors if not is_invariant(f, self.names)]
        if len(fixed) < 2 or not varying or not any(reads_any(f, self.names) for f in fixed):
            return self.generic_visit(written)  # nothing to gather: the product as written
        return ast.BinOp(_product(fixed), ast.Mult(), _product(varying))


def _factors(node: ast.expr) -> list[ast.expr]:
    """The operands of a chain of ``*`` in source order (``a * (b * c)`` → a, b, c)."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return _factors(node.left) + _factors(node.right)
    return [node]


def _literal(value: float) -> ast.expr:
    return number(value) if value >= 0 else ast.UnaryOp(ast.USub(), number(-value))


def _product(factors: list[ast.expr]) -> ast.expr:
    out = factors[0]
    for f in factors[1:]:
        out = ast.BinOp(out, ast.Mult(), f)
    return out
