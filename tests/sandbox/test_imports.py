"""The import allow-list holds by every route (issue 18, finding 9).

Candidates run with the SMTT problem's real contract (math, numpy, random, ...)
and without the static pre-check, through the real sandbox in both isolation
modes. Each one reaches for a module outside its list, or for the project's own
code, by a different route; had the route worked it would finish ``ok``. Each
must end ``forbidden`` (the child's guard refused it) or, for routes that need a
name the candidate does not have, fail without reaching anything.

A second group runs with an import list that allows everything (the in-process
layer off) and shows what holds without it: the project's heuristics are in
neither the worker's memory nor, under bubblewrap, the sandbox's file system.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.problem import SmttProblem
from sandbox import OutcomeStatus, SandboxPool
from sandbox.scoring import payload_set
from tests.sandbox.support import HOSTILE_SPEC, assert_honest_scores_right

REPO = Path(__file__).resolve().parents[2]
HEURISTIC = REPO / "evaluators" / "smtt" / "heuristics" / "augment.py"
DEF = "def schedule(processing_times, due_dates):\n"
OK = "    return sorted(range(len(due_dates)))\n"

ROUTES = {
    "import_os": "import os\n" + DEF + OK,
    "dunder_import": DEF + "    __import__('os')\n" + OK,
    "import_importlib": DEF + "    import importlib\n"
    "    importlib.import_module('evaluators.smtt.heuristics')\n" + OK,
    "import_sys_modules": DEF + "    import sys\n    sys.modules['os']\n" + OK,
    "import_gc": DEF + "    import gc\n    gc.get_objects()\n" + OK,
    "random_private_os": "import random\n" + DEF + "    random._os.listdir('/')\n" + OK,
    "random_os_to_importlib": "import random\n" + DEF
    + "    random._os.sys.modules['importlib'].import_module('evaluators.smtt.heuristics')\n"
    + OK,
    "getattr_private_module": "import random\n" + DEF
    + "    getattr(random, '_' + 'os').listdir('/')\n" + OK,
    "from_random_import_private": DEF + "    from random import _os\n" + OK,
    "subclasses_walk": DEF + "    ().__class__.__base__.__subclasses__()\n" + OK,
    "getattr_dunder_walk": DEF + "    k = getattr((), '__cla' + 'ss__')\n"
    "    getattr(getattr(k, '__ba' + 'se__'), '__subcl' + 'asses__')()\n" + OK,
    "attrgetter_dunder": "import operator\n" + DEF
    + "    operator.attrgetter('__cla' + 'ss__.__ba' + 'se__')(())\n" + OK,
    "methodcaller_dunder": "import operator\n" + DEF
    + "    operator.methodcaller('__subcl' + 'asses__')(object)\n" + OK,
    "update_wrapper_globals": "import functools, random\n" + DEF
    + "    class Holder:\n        store = {}\n"
      "    functools.update_wrapper(Holder.store, random.shuffle, assigned=(),\n"
      "                             updated=('__glo' + 'bals__',))\n" + OK,
    "typing_get_type_hints": "import typing\n" + DEF
    + "    def f(x: 'open'): pass\n    typing.get_type_hints(f, {})\n" + OK,
    "traceback_frames": DEF + "    try:\n        1 / 0\n    except ZeroDivisionError as e:\n"
    "        e.__traceback__.tb_frame.f_back.f_globals\n" + OK,
    "generator_frame": DEF + "    g = (x for x in [1])\n    g.gi_frame.f_back\n" + OK,
    "numpy_ctypeslib": "import numpy as np\n" + DEF + "    np.ctypeslib.as_ctypes\n" + OK,
    "numpy_array_ctypes": "import numpy as np\n" + DEF
    + "    getattr(np.zeros(1), 'cty' + 'pes').data\n" + OK,
    "numpy_testing": DEF + "    import numpy.testing\n" + OK,
    "numpy_as_strided": "import numpy as np\n" + DEF
    + "    getattr(np.lib.stride_tricks, 'as_' + 'strided')\n" + OK,
    "numpy_read_source": "import numpy as np\n" + DEF
    + f"    np.fromfile({str(HEURISTIC)!r}, dtype=np.uint8)\n" + OK,
    "numpy_load_pickle": "from numpy import load\n" + DEF + OK,
}


@pytest.mark.slow
@pytest.mark.parametrize("route", sorted(ROUTES))
def test_route_outside_the_allow_list_is_refused(route: str, mode_pool: SandboxPool,
                                                 smtt: SmttProblem,
                                                 honest_instances: list[SmttInstance]) -> None:
    outcome = mode_pool.run(ROUTES[route], smtt.candidate_spec,
                            payload_set(smtt, honest_instances), 5.0, check=False)
    assert outcome.status is OutcomeStatus.FORBIDDEN, outcome.describe()
    assert outcome.error is not None and "not" in (outcome.error.refused or "")
    assert_honest_scores_right(mode_pool, smtt, honest_instances)


def test_no_open_builtin(mode_pool: SandboxPool, smtt: SmttProblem,
                         honest_instances: list[SmttInstance]) -> None:
    code = DEF + f"    print(open({str(HEURISTIC)!r}).read())\n" + OK
    outcome = mode_pool.run(code, smtt.candidate_spec, payload_set(smtt, honest_instances),
                            5.0, check=False)
    assert outcome.status is OutcomeStatus.EXCEPTION, outcome.describe()
    assert "NameError" in outcome.error.message  # type: ignore[union-attr]
    assert "def " not in outcome.stdout


def test_allowed_modules_still_work(mode_pool: SandboxPool, smtt: SmttProblem,
                                    honest_instances: list[SmttInstance]) -> None:
    code = """\
import math, heapq, bisect, itertools, functools, operator, statistics, fractions, random
import collections
from collections import defaultdict, deque
import numpy as np
from numpy.linalg import norm

class Job:
    def __init__(self, index, p, d):
        self.index, self.p, self.d = index, p, d

def schedule(processing_times, due_dates):
    jobs = [Job(j, p, d) for j, (p, d) in enumerate(zip(processing_times, due_dates))]
    key = operator.attrgetter("d", "index")
    order = [job.index for job in sorted(jobs, key=key)]
    assert math.isclose(norm(np.array([3.0, 4.0])), 5.0)
    assert np.lib.stride_tricks.sliding_window_view(np.arange(4), 2).shape == (3, 2)
    assert statistics.mean([1, 2, 3]) == 2 and fractions.Fraction(1, 2) < 1
    assert list(itertools.islice(itertools.count(), 2)) == [0, 1]
    assert functools.reduce(operator.add, [1, 2]) == 3 and heapq.nsmallest(1, [2, 1]) == [1]
    assert bisect.bisect([1, 3], 2) == 1 and isinstance(defaultdict(int), dict)
    assert deque([1]).pop() == 1 and collections.Counter("aa")["a"] == 2
    rng = random.Random(0)
    rng.shuffle([1, 2, 3])
    return [int(j) for j in np.array(order)]
"""
    outcome = mode_pool.run(code, smtt.candidate_spec, payload_set(smtt, honest_instances),
                            5.0, check=False)
    assert outcome.status is OutcomeStatus.OK, outcome.describe()


# --- what holds with the in-process layer off --------------------------------------------

def _run_unguarded(pool: SandboxPool, body: str, smtt: SmttProblem,
                   instances: list[SmttInstance]) -> str:
    outcome = pool.run(DEF + body + OK, HOSTILE_SPEC, payload_set(smtt, instances), 5.0,
                       check=False)
    return outcome.stdout + (outcome.error.message if outcome.error else "")


def test_project_heuristics_not_in_worker_memory(mode_pool: SandboxPool, smtt: SmttProblem,
                                                 honest_instances: list[SmttInstance]) -> None:
    text = _run_unguarded(mode_pool, "    import sys\n    print(sorted(m for m in sys.modules "
                          "if m.startswith('evaluators')))\n", smtt, honest_instances)
    loaded = set(eval(text.strip().splitlines()[-1]))  # a list of names printed by the child
    assert loaded <= {"evaluators", "evaluators.base", "evaluators.smtt",
                      "evaluators.smtt.harness"}, loaded


def test_project_heuristics_not_on_disk(mode_pool: SandboxPool, smtt: SmttProblem,
                                        honest_instances: list[SmttInstance]) -> None:
    if not mode_pool.isolation_report.private_root:
        pytest.skip("this launcher shows the host file system (no private root yet)")
    assert HEURISTIC.is_file()
    text = _run_unguarded(mode_pool, "    import importlib\n"
                          "    importlib.import_module('evaluators.smtt.heuristics.augment')\n",
                          smtt, honest_instances)
    assert "ModuleNotFoundError" in text, text
    text = _run_unguarded(mode_pool, f"    print(open({str(HEURISTIC)!r}).read())\n",
                          smtt, honest_instances)
    assert "FileNotFoundError" in text, text
    # the harness modules the workers need are there
    harness = REPO / "evaluators" / "jssp" / "builder.py"
    text = _run_unguarded(mode_pool, f"    print(len(open({str(harness)!r}).read()))\n",
                          smtt, honest_instances)
    assert text.strip().splitlines()[0].isdigit(), text
