"""Archive browser speed on a 10,000-program run: milliseconds per page, served over HTTP.

Builds (once, then reuses) a synthetic archive with one run of ``--programs``
programs through the store API — lineage, failures, duplicates, validations,
model calls with full prompts and responses, 100 per-instance results per
train evaluation — starts the browser on it and times each page as a client
sees it (request sent → last byte read), in four situations:

* cold: a fresh server, nothing cached, no warm-up (templates compile, the
  run's per-instance runtimes are read, the run page is computed);
* after warm-up: a fresh server whose start-up warm-up (``BrowserApp.warm``,
  what ``discover browse`` runs in the background) has finished;
* warm: median and worst of ``--repeat`` further requests;
* run being written: the run page after each of ``--repeat`` new candidates
  committed to (a copy of) the archive, as while ``discover run`` is going
  (the run's timeline is refreshed incrementally and the page recomputed);
* from scratch: the run page with its cached timeline dropped (runtimes kept).

Usage::

    python experiments/browser_bench.py                  # 10,000 programs
    python experiments/browser_bench.py --programs 2000 --repeat 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

from archive import Archive, EdgeRole, ModelCall, Parent, Program, Split
from archive.browser import BrowserApp, make_server, open_readonly

# The synthetic-run builder is a test fixture (tests/archive/browser), not part
# of the installed package: import it from the checkout this script lives in.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.archive.browser.synthetic import SyntheticSpec, build_run

OUT = Path(__file__).resolve().parent / "out" / "browser_bench"
TARGET_MS = 300.0


def build(path: Path, programs: int) -> None:
    """Write the synthetic archive (a temporary file renamed at the end)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    start = time.perf_counter()
    with Archive.open(partial) as store:
        run = build_run(store, SyntheticSpec(programs=programs), np.random.default_rng(2024))
        with store.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    partial.rename(path)
    print(f"built {path} ({programs} programs, run {run.run_id}) in "
          f"{time.perf_counter() - start:.0f} s, {path.stat().st_size / 2**20:.0f} MiB")


def pages(store: Archive) -> dict[str, str]:
    """The pages to time, chosen from the archive's content."""
    run = store.runs()[0].run.id
    top = store.best(run, Split.TRAIN, top=2)
    best, second = top[0].summary.id, top[1].summary.id
    crossed = next(p.id for p in store.run_state(run, per_instance=False).programs[::-1]
                   if len(p.parents) == 2)
    return {
        "runs list": "/",
        "run page": f"/run/{run}",
        "programs (ids)": f"/run/{run}/programs",
        "programs (by train, p. 50)": f"/run/{run}/programs?sort=train&page=50",
        "programs (failed)": f"/run/{run}/programs?outcome=failed",
        "program (best)": f"/program/{best}",
        "program (crossover)": f"/program/{crossed}",
        "lineage (depth 4)": f"/program/{best}/lineage",
        "compare (top 2)": f"/compare?a={best}&b={second}",
        "code download": f"/program/{best}/code.py",
    }


def fetch(base: str, path: str) -> tuple[float, int]:
    start = time.perf_counter()
    with urllib.request.urlopen(base + path, timeout=600) as response:
        size = len(response.read())
    return 1000 * (time.perf_counter() - start), size


def serve(path: Path, warm: bool) -> tuple[BrowserApp, str, object]:
    app = BrowserApp(open_readonly(path))
    server = make_server(app, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    if warm:
        start = time.perf_counter()
        app.warm().join()
        print(f"warm-up (background at start-up): {time.perf_counter() - start:.1f} s")
    return app, server.url.rstrip("/"), server


def while_written(path: Path, run_page: str, repeat: int) -> list[float]:
    """Run page times on a copy of the archive that gains a candidate before each request."""
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / path.name
        shutil.copy(path, copy)
        app, base, server = serve(copy, warm=True)
        fetch(base, run_page)
        times = []
        with Archive.open(copy) as writer:
            run_id = int(run_page.rsplit("/", 1)[1])
            last = writer.run_state(run_id, per_instance=False).programs[-1]
            for k in range(repeat):
                code = last.program.code + f"\n# variant {k}\n"
                evaluation = last.evaluations.get(Split.TRAIN)
                writer.record_candidate(
                    run_id, Program(code, "modify", last.program.island,
                                    last.program.generation + 1, idea=f"variant {k}"),
                    parents=[Parent(last.id, EdgeRole.MUTATION)],
                    evaluations=[evaluation] if evaluation is not None else [],
                    model_calls=[ModelCall("openai", "gpt-4.1-mini", "prompt", "answer",
                                           1000, 400, 0.001, 3.0)])
                times.append(fetch(base, run_page)[0])
        server.shutdown()  # type: ignore[attr-defined]
        app.archive.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--programs", type=int, default=10_000)
    parser.add_argument("--archive", type=Path, default=None,
                        help="archive file to use or create (default: experiments/out/...)")
    parser.add_argument("--rebuild", action="store_true", help="build the archive again")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    path = args.archive or OUT / f"synthetic_{args.programs}.sqlite"
    if args.rebuild or not path.exists():
        build(path, args.programs)
    with Archive.open(path, create=False) as store:
        targets = pages(store)
    print(f"archive {path}: {path.stat().st_size / 2**20:.0f} MiB; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")

    app, base, server = serve(path, warm=False)
    cold = {name: fetch(base, p) for name, p in targets.items()}
    server.shutdown()  # type: ignore[attr-defined]
    app.archive.close()

    app, base, server = serve(path, warm=True)
    first = {name: fetch(base, p)[0] for name, p in targets.items()}
    warm = {name: [fetch(base, p)[0] for _ in range(args.repeat)] for name, p in targets.items()}
    scratch = []
    for _ in range(args.repeat):
        app.cache.forget_pages()
        scratch.append(fetch(base, targets["run page"])[0])
    server.shutdown()  # type: ignore[attr-defined]
    app.archive.close()
    growing = while_written(path, targets["run page"], args.repeat)

    print(f"\n{'page':<28}{'KiB':>7}{'cold':>9}{'after warm-up':>15}{'warm median':>13}"
          f"{'warm max':>10}   (ms)")
    for name in targets:
        ms, size = cold[name]
        print(f"{name:<28}{size / 1024:>7.0f}{ms:>9.0f}{first[name]:>15.0f}"
              f"{statistics.median(warm[name]):>13.1f}{max(warm[name]):>10.1f}")
    for label, times in (("run page, run being written", growing),
                         ("run page, from scratch", scratch)):
        print(f"{label:<28}{'':>7}{'':>9}{'':>15}{statistics.median(times):>13.0f}"
              f"{max(times):>10.0f}")
    worst_first = max(first.values())
    worst_warm = max(max(v) for v in warm.values())
    print(f"\nslowest page after warm-up: {worst_first:.0f} ms; slowest warm request: "
          f"{worst_warm:.0f} ms; target {TARGET_MS:.0f} ms: "
          f"{'met' if max(worst_first, worst_warm) < TARGET_MS else 'NOT met'}")


if __name__ == "__main__":
    main()
