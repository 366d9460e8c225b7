"""Subtree exchange between two parents (genetic-programming crossover on key expressions)."""

from __future__ import annotations

import ast
import copy

import numpy as np

from discover.offline.sites import Site


def crossover(recipient: Site, donor: Site, rng: np.random.Generator) -> str | None:
    """Graft a sub-expression of ``donor`` into ``recipient`` (edited in place).

    Three moves, chosen at random: replace a random sub-expression of the
    recipient by a random sub-expression of the donor (classic subtree
    crossover); replace a whole key component by one of the donor's; or append
    one of the donor's components as a new tie-break. The donor's item variable
    is renamed to the recipient's; other free names are bound afterwards by the
    vocabulary (helpers such as aggregates are re-created in the recipient's
    context, and a graft whose names cannot be bound is discarded by the engine).

    Returns
    -------
    str or None
        A description, or ``None`` when the move does not apply.
    """
    move = int(rng.integers(4))
    if move <= 1:
        donor_slots = donor.slots()
        target_slots = recipient.slots()
        graft = copy.deepcopy(donor_slots[int(rng.integers(len(donor_slots)))].get())
        target = target_slots[int(rng.integers(len(target_slots)))]
    elif move == 2:
        donor_comps = donor.components()
        target_comps = recipient.components()
        graft = copy.deepcopy(donor_comps[int(rng.integers(len(donor_comps)))].get())
        target = target_comps[int(rng.integers(len(target_comps)))]
    else:
        donor_comps = donor.components()
        graft = copy.deepcopy(donor_comps[int(rng.integers(len(donor_comps)))].get())
        _rename(graft, donor.item, recipient.item)
        root = recipient.root.get()
        item = ast.Name(recipient.item, ast.Load())
        if isinstance(root, ast.Tuple):
            last_is_item = (isinstance(root.elts[-1], ast.Name)
                            and root.elts[-1].id == recipient.item)
            root.elts.insert(len(root.elts) - 1 if last_is_item else len(root.elts), graft)
        else:
            recipient.root.set(ast.Tuple([root, graft, item], ast.Load()))
        return f"tie-break by the other parent's {_short(graft)}"
    _rename(graft, donor.item, recipient.item)
    before = target.get()
    if ast.dump(before) == ast.dump(graft):
        return None
    target.set(graft)
    return f"{_short(before)} -> other parent's {_short(graft)}"


def _rename(expr: ast.AST, old: str, new: str) -> None:
    for node in ast.walk(expr):
        if isinstance(node, ast.Name) and node.id == old:
            node.id = new


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 60 else text[:57] + "..."
