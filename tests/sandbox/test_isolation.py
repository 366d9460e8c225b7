"""The isolation report names what ran; both launchers build the same root; the launcher
can be forced for a whole process."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from sandbox import Layer, launch
from sandbox.isolation import IsolationReport, LayerStatus, assess
from sandbox.launch import LAUNCHER_VARIABLE, launcher_override

ALL = frozenset(Layer)
NO_UID = ALL - {Layer.UNPRIVILEGED_UID}


def _report(launcher: str, private_root: bool, active: frozenset[Layer]) -> IsolationReport:
    return IsolationReport("auto", launcher, private_root,
                           tuple(LayerStatus(layer, layer in active, "") for layer in Layer))


@pytest.mark.parametrize(("launcher", "private_root", "active", "level"), [
    ("bwrap", True, ALL, "full"),
    ("unshare", True, ALL, "full(unshare)"),
    ("bwrap", True, NO_UID, "partial:namespaces+seccomp+rlimits"),
    ("unshare", True, NO_UID, "partial:namespaces(unshare)+seccomp+rlimits"),
    ("unshare", False, ALL, "partial:namespaces(host-fs)+unprivileged_uid+seccomp+rlimits"),
    ("plain", False, ALL - {Layer.NAMESPACES}, "partial:unprivileged_uid+seccomp+rlimits"),
])
def test_level_names_the_launcher_and_the_root(launcher: str, private_root: bool,
                                               active: frozenset[Layer], level: str) -> None:
    report = _report(launcher, private_root, active)
    assert report.level == level
    assert report.complete == level.startswith("full")


def _ready(root: list[str]) -> dict[str, object]:
    ns = {name: 1 for name in ("net", "pid", "mnt", "ipc", "uts")}  # never the host's inodes
    return {"ns": ns, "seccomp_enforced": True,
            "probe": {"uid": 65534, "euid": 65534, "gid": 65534, "cap_eff": "0" * 16,
                      "seccomp": "2", "root": root,
                      "rlimits": {"RLIMIT_FSIZE": [0, 0], "RLIMIT_CORE": [0, 0],
                                  "RLIMIT_NOFILE": [32, 32], "RLIMIT_CPU": [3, 4],
                                  "RLIMIT_AS": [2**28, 2**28], "RLIMIT_NPROC": [1, 1]}}}


def test_a_private_root_counts_only_if_the_probe_sees_one() -> None:
    visible = frozenset({"usr", "proc", "dev", "tmp", "work"})
    good = assess("strict", "unshare", True, ALL, _ready(["dev", "proc", "tmp", "usr", "work"]),
                  65534, {}, visible)
    assert good.private_root and good.complete and good.level == "full(unshare)"
    assert "/ holds dev, proc, tmp, usr, work" in good.summary()
    # The launcher claims a private root, but the child sees the host's /.
    leaky = assess("strict", "unshare", True, ALL,
                   _ready(["boot", "dev", "home", "proc", "tmp", "usr", "var", "work"]),
                   65534, {}, visible)
    assert not leaky.private_root and not leaky.complete
    assert leaky.level == "partial:namespaces(host-fs)+unprivileged_uid+seccomp+rlimits"
    assert "not private: / also holds boot, home, var" in leaky.summary()
    unconfirmed = assess("strict", "bwrap", True, ALL, _ready([]), 65534, {}, visible)
    assert not unconfirmed.private_root


def test_both_launchers_build_the_same_root(tmp_path: object) -> None:
    unshare = launch.plan("unshare", ["evaluators"], "/tmp/x/scratch")
    spec = json.loads(unshare.argv[-1])
    assert unshare.argv[-2] == str(launch.PRIVROOT_SCRIPT)
    assert spec["argv"] == launch.worker_argv()
    assert spec["mountpoint"] == "/tmp/x/scratch"
    layout = [launch.RootEntry(*entry) for entry in spec["layout"]]
    binds = {e.dest for e in layout if e.kind == "ro-bind"}
    evaluators = launch.package_dirs(["evaluators"])[0]
    assert {"/usr", *(str(p) for p in launch.package_dirs(["sandbox"])),
            str(evaluators / "smtt" / "harness.py"),
            str(evaluators / "jssp" / "builder.py")} <= binds
    # Of the harness packages, only the harness modules: never the project's heuristics.
    heuristics = evaluators / "smtt" / "heuristics"
    assert not [b for b in binds if Path(b) == heuristics or Path(b) in heuristics.parents
                or heuristics in Path(b).parents]
    assert unshare.private_root and unshare.visible == launch.visible_names(layout)
    assert unshare.scratch == launch.SCRATCH_IN_NAMESPACE
    if shutil.which("bwrap") is None:
        return
    bwrap = launch.plan("bwrap", ["evaluators"], "/tmp/x/scratch")
    expected = [arg for entry in layout for arg in entry.bwrap_args()]
    argv = list(bwrap.argv)
    start = argv.index(expected[0])
    assert argv[start:start + len(expected)] == expected
    assert bwrap.visible == unshare.visible


def test_root_entries_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown root entry kind"):
        launch.RootEntry("overlay", "/x")
    with pytest.raises(ValueError, match="absolute"):
        launch.RootEntry("dir", "x")
    with pytest.raises(ValueError, match="source is required"):
        launch.RootEntry("ro-bind", "/x")


def test_the_launcher_can_be_forced_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LAUNCHER_VARIABLE, raising=False)
    assert launcher_override("auto") == "auto"
    monkeypatch.setenv(LAUNCHER_VARIABLE, "unshare")
    assert launcher_override("auto") == "unshare"
    assert launcher_override("plain") == "plain"  # an explicit choice wins
    monkeypatch.setenv(LAUNCHER_VARIABLE, "chroot")
    with pytest.raises(ValueError, match=f"{LAUNCHER_VARIABLE}='chroot' is not one of"):
        launcher_override("auto")
