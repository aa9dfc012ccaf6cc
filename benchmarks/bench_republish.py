"""Recommendation latency while the served model is re-published again and again (issue 22).

Starts ``python -m shopguide.service`` on a store (the synthetic shop of ``bench_service.py``
with ``--synthetic``, else Online Retail), then for ``--seconds`` each:

1. ``quiet``: ``GET /v1/users/{id}/recommendations`` at a fixed rate (200/s by default,
   open loop: latency from each request's scheduled time);
2. ``republishing``: the same load while ``POST /v1/models/{model}/train`` runs back to back
   (each job waited for, then the next sent), so the service keeps building and swapping
   snapshots under load.

The goal: p99 of the recommendations while re-publishing stays close to the quiet p99 (it
was 450-570 ms against 2 ms before snapshot builds left the request path). Prints a table and
writes ``benchmarks/output/bench_republish.json``.

    python benchmarks/bench_republish.py --synthetic --seconds 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_service import (
    KEY,
    OUT,
    free_port,
    pick_buyer,
    prepare_store,
    start_server,
    stop_server,
)

ADMIN = "bench-admin-key"


async def _paced(url: str, rate: float, seconds: float, workers: int = 64) -> dict[str, Any]:
    """``rate`` requests per second on a fixed schedule, request ``i`` sent by worker
    ``i % workers``; latency counts from the scheduled time, so a stalled server shows in full
    (no coordinated omission). Unlike one task per request, the client's own queue stays
    ``workers`` deep, so a loaded machine slows the client less."""
    total = int(rate * seconds)
    latencies = np.full(total, np.nan)
    errors = 0
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
    async with httpx.AsyncClient(headers={"X-API-Key": KEY}, limits=limits, timeout=30) as client:
        start = time.perf_counter() + 0.1

        async def worker(w: int) -> None:
            nonlocal errors
            for i in range(w, total, workers):
                scheduled = start + i / rate
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                try:
                    answer = await client.get(url)
                    ok = answer.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies[i] = (time.perf_counter() - scheduled) * 1000
                errors += not ok

        await asyncio.gather(*(worker(w) for w in range(workers)))
    return {
        "rate": rate,
        "rps": total / seconds,
        "requests": total,
        "p50_ms": float(np.nanpercentile(latencies, 50)),
        "p99_ms": float(np.nanpercentile(latencies, 99)),
        "max_ms": float(np.nanmax(latencies)),
        "errors": errors,
    }


def republish(base: str, model: str, stop: threading.Event, done: list[dict[str, Any]]) -> None:
    """Train and publish ``model`` back to back until ``stop`` is set."""
    with httpx.Client(base_url=base, headers={"X-API-Key": ADMIN}, timeout=600) as client:
        while not stop.is_set():
            answer = client.post(f"/v1/models/{model}/train")
            if answer.status_code == 409:  # one still running: wait for it
                job_id = answer.json()["job_id"]
            else:
                answer.raise_for_status()
                job_id = answer.json()["job_id"]
            started = time.perf_counter()
            while True:
                job = client.get(f"/v1/jobs/{job_id}").json()
                if job["status"] in ("done", "failed"):
                    break
                time.sleep(0.05)
            done.append(
                {"status": job["status"], "seconds": round(time.perf_counter() - started, 2),
                 "version": (job.get("result") or {}).get("version")}
            )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--model", default="item-knn")
    parser.add_argument("--synthetic", action="store_true")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    db = OUT / ("bench_synthetic.duckdb" if args.synthetic else "bench_online_retail.duckdb")
    prepare_store(db, args.synthetic)
    user, n_users, n_items = pick_buyer(db, "median")
    port = free_port()
    server = start_server(
        db, port, args.model, OUT / "bench_republish.log", keys={KEY: "read", ADMIN: "admin"}
    )
    base = f"http://127.0.0.1:{port}"
    url = f"{base}/v1/users/{user}/recommendations?n=10"
    phases: dict[str, Any] = {}
    try:
        httpx.get(url, headers={"X-API-Key": KEY}, timeout=30)  # warm the answer
        phases["quiet"] = asyncio.run(_paced(url, args.rate, args.seconds))
        stop, publishes = threading.Event(), []
        worker = threading.Thread(target=republish, args=(base, args.model, stop, publishes))
        worker.start()
        time.sleep(0.5)  # the first job is under way
        phases["republishing"] = asyncio.run(_paced(url, args.rate, args.seconds))
        stop.set()
        worker.join()
        phases["republishing"]["publishes"] = len(publishes)
        phases["republishing"]["jobs"] = publishes
    finally:
        stop_server(server)
    result = {
        "store": db.name, "users": n_users, "items": n_items, "model": args.model,
        "seconds": args.seconds, "machine": platform.platform(), "phases": phases,
    }  # fmt: skip
    (OUT / "bench_republish.json").write_text(json.dumps(result, indent=2))
    print(f"{'phase':<14}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}")
    for name, p in phases.items():
        print(
            f"{name:<14}{p['rps']:>8.0f}{p['p50_ms']:>9.1f}{p['p99_ms']:>9.1f}"
            f"{p['max_ms']:>9.1f}{p['errors']:>8}"
        )
    print(f"published {phases['republishing'].get('publishes', 0)} versions meanwhile")


if __name__ == "__main__":
    main()
