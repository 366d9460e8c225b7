"""The trusted side: bad returns are rejected with a reason, scores cannot be forged,
and gaps are computed against stored optima."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluators.base import FailureReason, relative_gap
from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.problem import SmttProblem
from sandbox import OutcomeStatus, SandboxPool, evaluate
from sandbox.scoring import payload_set
from tests.sandbox.support import HOSTILE_SPEC, PermissiveSmtt, edd_objectives

DEF = "def schedule(processing_times, due_dates):\n    n = len(due_dates)\n"
EDD_ORDER = "sorted(range(n), key=lambda j: (due_dates[j], j))"
R = FailureReason

BAD_RETURNS = [
    ("none", "    return None\n", R.NOT_A_SEQUENCE),
    ("string", "    return 'the best order'\n", R.NOT_A_SEQUENCE),
    ("nan", "    return [float('nan')] * n\n", R.NOT_FINITE),
    ("inf", "    return [float('inf')] + list(range(1, n))\n", R.NOT_FINITE),
    ("floats", "    return [float(j) for j in range(n)]\n", R.NON_INTEGER),
    ("evil_float_subclass",
     "    class F(float):\n        def __eq__(self, o): return True\n"
     "        def __lt__(self, o): return True\n        def __int__(self): return 0\n"
     "        def __index__(self): return 0\n        __hash__ = float.__hash__\n"
     "    return [F(j) for j in range(n)]\n", R.NON_INTEGER),
    ("numpy_float_array", "    import numpy as np\n    return np.arange(n, dtype=float)\n",
     R.NON_INTEGER),
    ("numpy_2d_array", "    import numpy as np\n    return np.arange(n).reshape(1, n)\n",
     R.WRONG_LENGTH),
    ("bools", "    return [True] * n\n", R.NON_INTEGER),
    ("wrong_length", "    return list(range(n - 1))\n", R.WRONG_LENGTH),
    ("duplicates", "    return [0] * n\n", R.DUPLICATE),
    ("out_of_range", "    return list(range(1, n + 1))\n", R.OUT_OF_RANGE),
    ("nested_lists", "    return [[j] for j in range(n)]\n", R.NON_INTEGER),
]


@pytest.mark.parametrize(("name", "body", "reason"), BAD_RETURNS,
                         ids=[c[0] for c in BAD_RETURNS])
def test_bad_returns_are_rejected(name: str, body: str, reason: FailureReason,
                                  strict_pool: SandboxPool, smtt: SmttProblem,
                                  honest_instances: list[SmttInstance]) -> None:
    result = evaluate(smtt, honest_instances, DEF + body, strict_pool, 5.0, check=False)
    assert result.status is OutcomeStatus.INVALID_OUTPUT, result.message
    assert result.outcome.ok  # the sandbox ran fine; the trusted side rejected the output
    assert result.failures
    assert all(f.reason is reason for _, f in result.failures), result.failures
    assert result.total_objective is None and result.mean_gap is None
    assert "invalid output on instance" in result.message


@pytest.mark.parametrize(("name", "body"), [
    ("dict", "    return {j: j for j in range(n)}\n"),
    ("generator", "    return (j for j in range(n))\n"),
    ("self_reference", "    out = []\n    out.append(out)\n    return out\n"),
    ("huge_int", "    return [10 ** 5000] * n\n"),
    ("object_array", "    import numpy as np\n    return np.array([object()] * n)\n"),
])
def test_unsendable_returns(name: str, body: str, strict_pool: SandboxPool, smtt: SmttProblem,
                            honest_instances: list[SmttInstance]) -> None:
    result = evaluate(smtt, honest_instances, DEF + body, strict_pool, 5.0, check=False)
    assert result.status is OutcomeStatus.INVALID_OUTPUT
    assert result.outcome.status is OutcomeStatus.INVALID_OUTPUT
    assert result.outcome.error is not None
    assert "cannot be sent" in result.outcome.error.message


def test_numpy_int_array_and_int_subclass_are_honest_values(
        strict_pool: SandboxPool, smtt: SmttProblem,
        honest_instances: list[SmttInstance]) -> None:
    expected = edd_objectives(smtt, honest_instances)
    for body in (f"    import numpy as np\n    return np.array({EDD_ORDER})\n",
                 "    class I(int):\n        def __eq__(self, o): return True\n"
                 "        __hash__ = int.__hash__\n"
                 f"    return [I(j) for j in {EDD_ORDER}]\n"):
        result = evaluate(smtt, honest_instances, DEF + body, strict_pool, 5.0)
        assert result.ok, result.message
        assert list(result.objectives) == expected


FORGERIES = [
    ("patch_builtins", "import builtins\nbuiltins.sum = lambda *a, **k: 0\n"
     "builtins.max = lambda *a, **k: 0\n"),
    ("patch_harness", "import sys\nsys.modules['evaluators.smtt.harness'].call = "
     "lambda f, p: list(range(len(p['due_dates'])))\n"),
    # Under bubblewrap the objective is not even in the sandbox (only the harness
    # modules are); where it is (other launchers), patching it changes nothing.
    ("patch_objective", "import sys\ntry:\n    import evaluators.smtt.objective as o\n"
     "    o.total_tardiness = lambda *a, **k: 0\nexcept ModuleNotFoundError:\n    pass\n"
     "sys.modules['evaluators.smtt.problem'] = None\n"),
    ("claim_a_score", "import sys\nprint('objective: 0, gap: -100%')\n"
     "sys.stderr.write('{\"total_objective\": 0}')\n"),
]


@pytest.mark.parametrize(("name", "prelude"), FORGERIES, ids=[f[0] for f in FORGERIES])
def test_scores_cannot_be_forged(name: str, prelude: str, strict_pool: SandboxPool,
                                 smtt: SmttProblem,
                                 honest_instances: list[SmttInstance]) -> None:
    code = prelude + DEF + "    return list(range(n))\n"
    result = evaluate(PermissiveSmtt(), honest_instances, code, strict_pool, 5.0, check=False)
    assert result.ok, result.message
    truth = [smtt.objective(i, list(range(i.size))) for i in honest_instances]
    assert list(result.objectives) == truth
    assert all(v > 0 for v in truth)  # identity order is genuinely tardy on these instances
    result = evaluate(smtt, honest_instances, smtt.seed_programs["edd"], strict_pool, 5.0)
    assert list(result.objectives) == edd_objectives(smtt, honest_instances)


def test_gaps_against_stored_optima(strict_pool: SandboxPool, smtt: SmttProblem,
                                    smtt_paper_dir: Path, tmp_path: Path) -> None:
    items = json.loads((smtt_paper_dir / "n20_uniform.json").read_text())[::20]  # every class
    (tmp_path / "slice.json").write_text(json.dumps(items))
    instances = smtt.load(tmp_path / "slice.json")
    result = evaluate(smtt, instances, smtt.seed_programs["mdd"], strict_pool, 10.0)
    assert result.ok, result.message
    namespace: dict[str, object] = {}
    exec(smtt.seed_programs["mdd"], namespace)
    truth = [smtt.objective(i, namespace["schedule"](list(i.processing_times),  # type: ignore[operator]
                                                     list(i.due_dates))) for i in instances]
    assert list(result.objectives) == truth
    optima = [float(i.optimum) for i in instances]  # type: ignore[arg-type]
    assert all(v >= opt for v, opt in zip(truth, optima, strict=True))  # optima are optimal
    gaps = [relative_gap(v, opt) for v, opt in zip(truth, optima, strict=True)]
    positive = [g for g in gaps if g is not None]
    assert result.mean_gap == pytest.approx(sum(positive) / len(positive))
    assert result.total_reference == sum(optima)
    assert result.total_gap == pytest.approx(100 * (sum(truth) - sum(optima)) / sum(optima))
    data = result.as_dict()
    assert data["status"] == "ok" and data["instances"] == 40


def test_explicit_references_and_partial_runs(strict_pool: SandboxPool, smtt: SmttProblem,
                                              honest_instances: list[SmttInstance]) -> None:
    refs = [1.0] * len(honest_instances)
    result = evaluate(smtt, honest_instances, smtt.seed_programs["edd"], strict_pool, 5.0,
                      references=refs)
    assert [s.reference for s in result.scores] == refs
    code = DEF + "    while True:\n        pass\n"
    result = evaluate(smtt, honest_instances, code, strict_pool, 0.3)
    assert result.status is OutcomeStatus.TIMEOUT
    assert all(s.objective is None and s.failure is None for s in result.scores)
    with pytest.raises(ValueError):
        evaluate(smtt, [], smtt.seed_programs["edd"], strict_pool, 1.0)
    with pytest.raises(ValueError):
        evaluate(smtt, honest_instances, smtt.seed_programs["edd"], strict_pool, 1.0,
                 references=[1.0])


def test_payload_sets_are_cached(smtt: SmttProblem,
                                 honest_instances: list[SmttInstance]) -> None:
    assert payload_set(smtt, honest_instances) is payload_set(smtt, list(honest_instances))
    assert payload_set(smtt, honest_instances[:2]).count == 2


def test_hostile_spec_is_not_the_problem_spec(smtt: SmttProblem) -> None:
    # guard against a fixture mix-up that would make the adversarial suite too easy
    assert set(HOSTILE_SPEC.allowed_imports) > set(smtt.candidate_spec.allowed_imports)
