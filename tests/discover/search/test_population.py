"""Tests of the island population: clustering, sampling, resets, MAP-Elites cells, resume."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discover.search.islands import Member
from discover.search.population import Population, PopulationConfig


def member(pid: int, score: float, island: int | None = 0, *, signature: tuple[float, ...] | None
           = None, cost: float = 1e-3, size: int = 50) -> Member:
    return Member(pid, f"def f():\n    return {pid}\n", score,
                  signature if signature is not None else (score, score + 1), cost, size,
                  island)


@pytest.fixture
def config() -> PopulationConfig:
    return PopulationConfig(num_islands=4, reset_period=0, diversity_rate=0.0)


def filled(config: PopulationConfig, seed: int, count: int) -> tuple[Population, list[Member]]:
    """A population with ``count`` random members spread over the islands."""
    gen = np.random.default_rng(1000 + seed)
    pop = Population(config, np.random.default_rng(seed))
    members = [member(0, 50.0, None)]
    for pid in range(1, count):
        score = float(np.round(gen.uniform(0, 10), 2))
        members.append(member(pid, score, int(gen.integers(config.num_islands)),
                              cost=float(gen.uniform(1e-4, 1e-1)),
                              size=int(gen.integers(10, 400))))
    pop.replay(members)
    return pop, members


def test_member_validation() -> None:
    with pytest.raises(ValueError):
        member(1, float("inf"))
    with pytest.raises(ValueError):
        member(1, 1.0, signature=(float("nan"),))
    with pytest.raises(ValueError):
        member(1, 1.0, cost=-1.0)
    with pytest.raises(ValueError):
        PopulationConfig(num_islands=0)
    with pytest.raises(ValueError):
        PopulationConfig(diversity_rate=1.5)


def test_seed_registered_on_every_island(config: PopulationConfig) -> None:
    pop = Population(config, np.random.default_rng(0))
    pop.register(member(0, 5.0, None))
    assert all(not isl.empty for isl in pop.islands)
    assert len(pop) == 1
    for k in range(config.num_islands):
        assert pop.sample_parents(k, 1)[0].island == k


def test_duplicate_id_and_bad_island_rejected(config: PopulationConfig) -> None:
    pop = Population(config, np.random.default_rng(0))
    pop.register(member(1, 1.0))
    with pytest.raises(ValueError):
        pop.register(member(1, 2.0))
    with pytest.raises(ValueError):
        pop.register(member(2, 2.0, island=config.num_islands))


def test_empty_population_and_island_raise(config: PopulationConfig) -> None:
    pop = Population(config, np.random.default_rng(0))
    with pytest.raises(LookupError):
        pop.choose_island()
    pop.register(member(1, 1.0, island=2))
    assert pop.choose_island() == 2
    with pytest.raises(LookupError):
        pop.sample_parents(0, 1)


def test_same_signature_forms_one_cluster(config: PopulationConfig) -> None:
    pop = Population(config, np.random.default_rng(0))
    pop.register(member(1, 1.0, signature=(1.0, 2.0)))
    pop.register(member(2, 1.0, signature=(1.0004, 2.0)))  # equal after rounding to 3 decimals
    pop.register(member(3, 1.0, signature=(1.1, 2.0)))
    assert len(pop.islands[0].clusters) == 2


def test_shorter_programs_favoured_within_a_cluster() -> None:
    cfg = PopulationConfig(num_islands=1, reset_period=0, diversity_rate=0.0,
                           length_temperature=0.1)
    pop = Population(cfg, np.random.default_rng(0))
    pop.register(member(1, 1.0, signature=(1.0,), size=500))
    pop.register(member(2, 1.0, signature=(1.0,), size=20))
    picks = Counter(pop.sample_parents(0, 1)[0].program_id for _ in range(400))
    assert picks[2] > 0.9 * 400


def test_better_clusters_sampled_more_and_cooling_sharpens(config: PopulationConfig) -> None:
    cfg = PopulationConfig(num_islands=1, reset_period=0, diversity_rate=0.0,
                           temperature_init=0.1, temperature_period=60, rank_scale=10)
    pop = Population(cfg, np.random.default_rng(0))
    for pid in range(10):
        pop.register(member(pid, float(pid)))
    early = Counter(pop.sample_parents(0, 1)[0].program_id for _ in range(2000))
    assert early[0] > early[3] > early[9]
    t_early = pop.temperature(0)
    for pid in range(10, 55):  # worse programs; the island's counter advances
        pop.register(member(pid, 100.0 + pid))
    assert pop.temperature(0) < t_early
    late = Counter(pop.sample_parents(0, 1)[0].program_id for _ in range(2000))
    assert late[0] > early[0]


def test_distinct_clusters_for_several_parents(config: PopulationConfig) -> None:
    pop = Population(config, np.random.default_rng(0))
    for pid in range(5):
        pop.register(member(pid, float(pid)))
    for _ in range(50):
        parents = pop.sample_parents(0, 3)
        assert len({p.program_id for p in parents}) == 3
        assert [p.score for p in parents] == sorted(p.score for p in parents)
    # More parents than clusters: repeats are allowed, nothing fails.
    assert len(pop.sample_parents(0, 8)) == 8


def test_map_elites_cells_keep_the_best_per_bin() -> None:
    cfg = PopulationConfig(num_islands=1, reset_period=0, diversity_rate=1.0,
                           runtime_unit=1e-3, runtime_bins_per_octave=1, size_bins_per_octave=1)
    pop = Population(cfg, np.random.default_rng(0))
    pop.register(member(1, 5.0, cost=1e-3, size=16))
    pop.register(member(2, 3.0, cost=1.5e-3, size=20))  # same cell (0, 4), better
    pop.register(member(3, 1.0, cost=1.0, size=16))  # slow: its own cell
    cells = pop.cells(0)
    assert cells[(0, 4)].program_id == 2
    assert pop.cell(member(3, 1.0, cost=1.0, size=16)) in cells
    assert len(cells) == 2
    # diversity_rate=1: the last parent is always a cell elite.
    elites = {m.program_id for m in cells.values()}
    assert all(pop.sample_parents(0, 1)[-1].program_id in elites for _ in range(50))


def test_reset_refounds_weakest_half_from_best_survivors() -> None:
    cfg = PopulationConfig(num_islands=4, reset_period=5, diversity_rate=0.0)
    pop = Population(cfg, np.random.default_rng(0))
    for pid, (island, score) in enumerate([(0, 1.0), (1, 2.0), (2, 3.0), (3, 4.0)]):
        pop.register(member(pid, score, island))
    pop.register(member(4, 3.5, 3))  # fifth registration triggers the reset
    assert pop.resets == 1
    # Islands 2 and 3 were weakest; island 3 (the weakest) gets island 0's best.
    assert [m.program_id for c in pop.islands[3].clusters.values() for m in c.members] == [0]
    assert [m.program_id for c in pop.islands[2].clusters.values() for m in c.members] == [1]
    assert pop.islands[3].registered == 1
    assert pop.best(1)[0].program_id == 0
    assert [m.program_id for m in pop.best(3)] == [0, 1, 2]


def test_registration_draws_no_random_numbers() -> None:
    _, members = filled(PopulationConfig(reset_period=7), 7, 40)
    rng = np.random.default_rng(7)
    before = json.dumps(rng.bit_generator.state)
    pop = Population(PopulationConfig(reset_period=7), rng)
    pop.replay(members)
    assert pop.resets > 0
    assert json.dumps(rng.bit_generator.state) == before


def _drive(pop: Population, steps: int, start_id: int) -> list[tuple[int, tuple[int, ...]]]:
    """Alternate sampling and registering, as the loop does; return what was drawn."""
    trace = []
    for step in range(steps):
        island = pop.choose_island()
        parents = pop.sample_parents(island, 2)
        trace.append((island, tuple(p.program_id for p in parents)))
        score = min(p.score for p in parents) + float(pop.rng.uniform(-1, 2))
        pop.register(member(start_id + step, max(score, 0.0), island,
                            cost=float(pop.rng.uniform(1e-4, 1e-2)),
                            size=int(pop.rng.integers(10, 300))))
    return trace


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.integers(5, 60), st.integers(0, 50))
def test_resume_reproduces_state_and_future_draws(seed: int, before: int, after: int) -> None:
    cfg = PopulationConfig(num_islands=3, reset_period=9, diversity_rate=0.3)
    original = Population(cfg, np.random.default_rng(seed))
    original.register(member(0, 10.0, None))
    _drive(original, before, 1)
    state = json.loads(json.dumps(original.state_dict()))  # must survive JSON
    resumed = Population(cfg, np.random.default_rng(12345))
    resumed.load_state_dict(state)
    assert resumed.members == original.members
    assert resumed.resets == original.resets
    for a, b in zip(original.islands, resumed.islands, strict=True):
        assert a.registered == b.registered
        assert sorted(a.clusters) == sorted(b.clusters)
        assert a.cells == b.cells
    assert _drive(original, after, 10_000) == _drive(resumed, after, 10_000)
    assert original.best(5) == resumed.best(5)


def test_load_state_rejects_other_config(config: PopulationConfig) -> None:
    pop, _ = filled(config, 1, 10)
    other = Population(PopulationConfig(num_islands=2), np.random.default_rng(0))
    with pytest.raises(ValueError):
        other.load_state_dict(pop.state_dict())
    with pytest.raises(ValueError):
        other.load_state_dict({"version": 99})


def test_member_json_roundtrip() -> None:
    m = member(3, 1.25, None, signature=(0.5, 1.0, 0.0))
    assert Member.from_json(json.loads(json.dumps(m.to_json()))) == m
