"""Executor specs: the accepted forms, clear errors, and the run configuration's field."""

from __future__ import annotations

import pytest

from discover.config import ConfigError, RunConfig, field_docs
from discover.executors import ExecutorKind, ExecutorSpec


@pytest.mark.parametrize(("text", "kind", "address", "workers"), [
    ("local", ExecutorKind.LOCAL, None, None),
    ("dask://127.0.0.1:8786", ExecutorKind.DASK, "tcp://127.0.0.1:8786", None),
    ("dask://scheduler.cluster-1.internal:9000", ExecutorKind.DASK,
     "tcp://scheduler.cluster-1.internal:9000", None),
    ("dask://[::1]:8786", ExecutorKind.DASK, "tcp://[::1]:8786", None),
    ("dask-local:1", ExecutorKind.DASK_LOCAL, None, 1),
    ("dask-local:16", ExecutorKind.DASK_LOCAL, None, 16),
])
def test_accepted_forms_round_trip(text: str, kind: ExecutorKind, address: str | None,
                                   workers: int | None) -> None:
    spec = ExecutorSpec.parse(text)
    assert (spec.kind, spec.address, spec.workers) == (kind, address, workers)
    assert str(spec) == text
    assert ExecutorSpec.parse(str(spec)) == spec


@pytest.mark.parametrize("text", [
    "", "Local", "dask", "dask://", "dask://host", "dask://host:", "dask://host:0",
    "dask://host:70000", "dask://host:80/path", "tcp://127.0.0.1:8786", "dask-local",
    "dask-local:0", "dask-local:-1", "dask-local:two", "dask-local:2000", "dask-local:2 ",
])
def test_other_text_is_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"dask-local:N|1\.\.1024 workers|1\.\.65535"):
        ExecutorSpec.parse(text)


def test_spec_fields_must_fit_the_kind() -> None:
    with pytest.raises(ValueError):
        ExecutorSpec(ExecutorKind.LOCAL, address="tcp://h:1")
    with pytest.raises(ValueError):
        ExecutorSpec(ExecutorKind.DASK)
    with pytest.raises(ValueError):
        ExecutorSpec(ExecutorKind.DASK_LOCAL, workers=0)


def test_run_config_has_a_documented_executor_defaulting_to_local() -> None:
    config = RunConfig()
    assert config.executor == "local"
    assert "dask://HOST:PORT" in field_docs(RunConfig)["executor"]
    assert 'executor = "local"' in config.to_toml()
    changed = config.with_overrides(executor="dask-local:2")
    assert RunConfig.from_dict(changed.to_dict()).executor == "dask-local:2"


def test_a_bad_executor_in_a_config_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="dask-local:N"):
        RunConfig().with_overrides(executor="slurm")
