"""How long `opsbot status --json` takes against a big simulator (issue: < 2 s at 500 accounts
and 10,000 running jobs). Runs the real console command as a process, several times, and prints
the wall-clock figures. Usage: .venv/bin/python bench/status_scale.py [--runs N]"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=10_000)
    args = parser.parse_args()
    env = dict(os.environ, USEAPI_TOKEN="bench-token")
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot",
            "simulate",
            "--port",
            "0",
            "--token",
            "bench-token",
            "--accounts",
            str(args.accounts),
            "--jobs",
            str(args.jobs),
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert sim.stdout is not None
        url = sim.stdout.readline().split("listening on ")[1].split()[0]
        env["USEAPI_BASE_URL"] = url
        times: list[float] = []
        jobs = accounts = 0
        for _ in range(args.runs):
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "bot", "status", "--json"],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            )
            times.append(time.perf_counter() - started)
            doc = json.loads(done.stdout)
            jobs = sum(len(p["jobs"]) for p in doc["providers"])
            accounts = sum(len(p["accounts"]) for p in doc["providers"])
        print(f"opsbot status --json: {jobs} jobs, {accounts} accounts, {args.runs} runs")
        print(
            f"  wall time  median {statistics.median(times):.2f} s   max {max(times):.2f} s"
            f"   (process start included)"
        )
    finally:
        sim.terminate()
        sim.wait(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
