"""`make bench`: speed targets measured outside the unit tests (the machines are shared).

School scale: making the demo school (target < 20 s) and importing all its sample files
(target < 10 s). Results are printed and written to bench/out/results.json.
"""
from __future__ import annotations

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from csdl import demo, ingest, snapshots  # noqa: E402

TARGETS = {"demo_school_s": 20.0, "import_samples_s": 10.0}


def main() -> int:
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        demo_dir = Path(tmp) / "demo"
        start = time.perf_counter()
        demo.make_demo(demo_dir)
        results["demo_school_s"] = time.perf_counter() - start

        samples = sorted((demo_dir / "samples").iterdir())
        latest = snapshots.latest_snapshot(demo_dir)
        target = Path(tmp) / "imported"
        start = time.perf_counter()
        parsed = ingest.read_files([(p, p.name) for p in samples], None)
        prepared = ingest.prepare_import(parsed, target, school_id="DEMO01",
                                         school_name="Trường mẫu", taken_at=latest.taken_at)
        ingest.commit_import(prepared, target)
        results["import_samples_s"] = time.perf_counter() - start
        results["import_files"] = len(samples)
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    failed = []
    for key, value in results.items():
        limit = TARGETS.get(key)
        verdict = "" if limit is None else ("ok" if value < limit else "MISSED")
        if verdict == "MISSED":
            failed.append(key)
        print(f"{key:20s} {value:10.2f}" + (f"   target < {limit:g}  {verdict}" if limit else ""))
    out = Path(__file__).with_name("out")
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
