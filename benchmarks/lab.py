"""Wall time per stage of the lab study (not a timed test).

    python benchmarks/lab.py --preset quick [--preset default] [--threads 2] [--cold]

``--cold`` uses an empty reference-LM cache (what CI pays); otherwise a cached reference is reused
and its stage shows the time it took when it was trained. Prints one table per preset.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", action="append", choices=["quick", "default", "full"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cold", action="store_true")
    args = ap.parse_args()
    if args.cold:
        os.environ["OVEROPT_CACHE_DIR"] = tempfile.mkdtemp(prefix="overopt-bench-cache-")
    from overopt.lab.presets import preset_config
    from overopt.study.lab import LabStudy, lab_stages

    for preset in args.preset or ["quick"]:
        out = tempfile.mkdtemp(prefix=f"overopt-bench-{preset}-")
        start = time.perf_counter()
        stamps: dict[str, float] = {}

        def progress(stage: str, event: str, stamps: dict[str, float] = stamps) -> None:
            stamps[f"{stage}:{event}"] = time.perf_counter()

        summary = LabStudy(preset_config(preset, seed=args.seed, threads=args.threads), out,
                           progress=progress).run(lab_stages())
        total = time.perf_counter() - start
        print(f"\npreset {preset}  (out {out}, threads {args.threads}, load {os.getloadavg()[0]:.1f})")
        for stage, seconds in summary["timings"].items():
            print(f"  {stage:<28s} {seconds:8.1f} s")
        print(f"  {'TOTAL wall':<28s} {total:8.1f} s")


if __name__ == "__main__":
    main()
