"""Load benchmark of the REST service: recommendations for one user against ``/health``.

Starts ``python -m shopguide.service`` as its own process on loopback over a store holding the
bundled Online Retail data (or a synthetic shop with ``--synthetic``), then drives it from this
process:

1. closed loop, as fast as possible (``wrk`` when installed, else an asyncio httpx client with
   the same concurrency): requests/s and p50/p99 latency of ``GET /health`` (the ceiling: no
   store, no model) and of ``GET /v1/users/{id}/recommendations?n=10`` for the most active
   buyer, in the same run;
2. paced at a fixed rate (200 requests/s by default) on the recommendations: p50/p99
   latency and errors over ``--seconds`` (``wrk`` with a per-connection delay; without wrk, an
   open-loop asyncio client that measures from each request's scheduled time).

The service caches each user's answer until the user's events or the model change; with
``--no-cache`` every request scores the user afresh (the cost of a cache miss).

Goals (issue 7): recommendations >= 50 % of the ceiling's throughput; p99 < 20 ms at 200 req/s;
zero errors over 60 s. Prints a table and writes ``benchmarks/output/bench_service.json``.

    python benchmarks/bench_service.py                 # 60 s per phase, Online Retail
    python benchmarks/bench_service.py --seconds 10 --synthetic
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "output"
KEY = "bench-read-key"
REC_ROUTE = "GET /v1/users/{user_id}/recommendations"


def prepare_store(db: Path, synthetic: bool) -> None:
    """Load the data set into a fresh store (kept between runs)."""
    from shopguide.data.ingest import ingest_frame
    from shopguide.store import open_store

    if db.exists():
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    with open_store(db) as store:
        if synthetic:
            from shopguide.data.datasets.synthetic import generate

            data = generate(n_users=2000, n_items=500, n_events=200_000, seed=1)
            for table in ("items", "users", "events"):
                ingest_frame(store, table, getattr(data, table), source=f"synthetic-{table}")
        else:
            from shopguide.data.datasets.online_retail import load_online_retail

            load_online_retail(store)


def pick_buyer(db: Path, which: str = "busiest") -> tuple[str, int, int]:
    """The user to ask for (``busiest``: the most purchase events, the costliest to score;
    ``median``: the buyer in the middle of that order, a typical one), and the store's user
    and item counts."""
    from shopguide.store import open_store

    with open_store(db, read_only=True) as store:
        ranked = (
            "SELECT user_id, row_number() OVER (ORDER BY count(*) DESC, user_id) AS pos, "
            "count(*) OVER () AS buyers FROM events WHERE event_type = 'purchase' GROUP BY 1"
        )
        position = "1" if which == "busiest" else "(buyers + 1) // 2"
        user = store.scalar(f"SELECT user_id FROM ({ranked}) WHERE pos = {position}")
        users = int(store.scalar("SELECT count(DISTINCT user_id) FROM events"))
        items = int(store.scalar("SELECT count(DISTINCT item_id) FROM events"))
    return str(user), users, items


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    db: Path,
    port: int,
    model: str,
    log: Path,
    cache: bool = True,
    keys: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """The service in its own process; its log (one line per request) goes to ``log``.
    ``keys`` maps API keys to roles (default: :data:`KEY`, read-only)."""
    env = {**os.environ, "SHOPGUIDE_API_KEYS": json.dumps(keys or {KEY: "read"})}
    if not cache:
        env["SHOPGUIDE_RECOMMEND_CACHE_USERS"] = "0"
    cmd = [sys.executable, "-m", "shopguide.service", "--db", str(db), "--port", str(port),
           "--model", model]  # fmt: skip
    handle = open(log, "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(cmd, env=env, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/health"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: see {log}")
        try:
            if httpx.get(url, timeout=1).json().get("version"):
                return proc
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.25)
    proc.kill()
    raise TimeoutError("server did not start")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """Stop a server from :func:`start_server` (killed if it does not exit within 30 s)."""
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


# --------------------------------------------------------------------------- closed loop


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip()).groups()  # type: ignore[union-attr]
    return float(value) * _UNITS[unit]


def wrk_run(url: str, seconds: int, connections: int, rate: float | None = None) -> dict[str, Any]:
    """``wrk --latency`` with one thread; parsed into rps, p50, p99 and errors.

    With ``rate``, each connection pauses ``connections / rate`` seconds between requests
    (a Lua ``delay``), so the server sees about ``rate`` requests per second.
    """
    cmd = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
           "-H", f"X-API-Key: {KEY}"]  # fmt: skip
    if rate is not None:
        script = OUT / "bench_service_rate.lua"
        script.parent.mkdir(parents=True, exist_ok=True)
        script.write_text(f"function delay()\n  return {1000.0 * connections / rate:.3f}\nend\n")
        cmd += ["-s", str(script)]
    cmd.append(url)
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    pct = dict(re.findall(r"^\s+(\d+)%\s+(\S+)$", text, flags=re.M))
    requests = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (
        sum(int(x) for x in sock.groups()) if sock else 0
    )
    return {
        "tool": "wrk",
        "requests": requests,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),  # type: ignore[union-attr]
        "p50_ms": _ms(pct["50"]),
        "p99_ms": _ms(pct["99"]),
        "errors": errors,
    }


async def _closed_loop(url: str, seconds: float, connections: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(headers={"X-API-Key": KEY}, limits=limits, timeout=10) as client:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                started = time.perf_counter()
                try:
                    answer = await client.get(url)
                    ok = answer.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - started) * 1000)
                errors += not ok

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - began
    lat = np.array(latencies)
    return {
        "tool": "httpx-asyncio",
        "requests": len(lat),
        "rps": len(lat) / elapsed,
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
        "errors": errors,
    }


def closed_loop(url: str, seconds: int, connections: int) -> dict[str, Any]:
    if shutil.which("wrk"):
        return wrk_run(url, seconds, connections)
    return asyncio.run(_closed_loop(url, seconds, connections))


# --------------------------------------------------------------------------- open loop


async def _fixed_rate(url: str, rate: float, seconds: float) -> dict[str, Any]:
    """Send ``rate`` requests per second on a fixed schedule (latency from the scheduled time,
    so a slow server cannot hide queueing: no coordinated omission)."""
    total = int(rate * seconds)
    latencies = np.full(total, np.nan)
    errors = 0
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(headers={"X-API-Key": KEY}, limits=limits, timeout=10) as client:
        start = time.perf_counter() + 0.1

        async def one(i: int) -> None:
            nonlocal errors
            scheduled = start + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                answer = await client.get(url)
                ok = answer.status_code == 200 and len(answer.json()["items"]) == 10
            except (httpx.HTTPError, ValueError, KeyError):
                ok = False
            latencies[i] = (time.perf_counter() - scheduled) * 1000
            errors += not ok

        await asyncio.gather(*(one(i) for i in range(total)))
    return {
        "rate": rate,
        "tool": "httpx-asyncio, open loop",
        "rps": total / seconds,
        "requests": total,
        "p50_ms": float(np.nanpercentile(latencies, 50)),
        "p99_ms": float(np.nanpercentile(latencies, 99)),
        "max_ms": float(np.nanmax(latencies)),
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=60, help="Length of each phase.")
    parser.add_argument("--rate", type=float, default=200.0, help="Open-loop requests/s.")
    parser.add_argument("--connections", type=int, default=16, help="Closed-loop concurrency.")
    parser.add_argument("--model", default="item-knn")
    parser.add_argument(
        "--synthetic", action="store_true", help="Synthetic shop, not Online Retail."
    )
    parser.add_argument("--db", type=Path, default=None, help="Use this store instead.")
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="Turn the per-user answer cache off: every request scores the user afresh.",
    )
    parser.add_argument(
        "--user",
        choices=("busiest", "median"),
        default="busiest",
        help="Whose recommendations: the buyer with the most purchases (the costliest to "
        "score) or the median buyer (a typical one).",
    )
    args = parser.parse_args()

    name = "synthetic" if args.synthetic else "online-retail"
    db = args.db or OUT / "bench_service" / name / "shop.duckdb"
    t0 = time.perf_counter()
    prepare_store(db, args.synthetic)
    user, n_users, n_items = pick_buyer(db, args.user)
    print(f"store {db} ({n_users:,} users, {n_items:,} items) ready in "
          f"{time.perf_counter() - t0:.0f} s; user {user!r}")  # fmt: skip
    port = free_port()
    t0 = time.perf_counter()
    server = start_server(db, port, args.model, db.parent / "server.log", cache=not args.no_cache)
    print(f"server up in {time.perf_counter() - t0:.1f} s on port {port}")
    base = f"http://127.0.0.1:{port}"
    recs = f"{base}/v1/users/{user}/recommendations?n=10"
    try:
        with httpx.Client(headers={"X-API-Key": KEY}, timeout=900) as warm:
            # the service scores churn in the background when the store has no current
            # predictions: wait for it, so no fit runs while the phases are measured
            warm.get(f"{base}/v1/churn?limit=1")
            for _ in range(300):
                assert warm.get(recs).status_code == 200
                warm.get(f"{base}/health")
        health = closed_loop(f"{base}/health", args.seconds, args.connections)
        rec = closed_loop(recs, args.seconds, args.connections)
        if shutil.which("wrk"):
            paced = wrk_run(recs, args.seconds, 20, rate=args.rate)
            fixed = {"rate": args.rate, **paced, "tool": "wrk, paced"}
        else:
            fixed = asyncio.run(_fixed_rate(recs, args.rate, args.seconds))
        with httpx.Client(headers={"X-API-Key": KEY}) as client:
            server_metrics = client.get(f"{base}/v1/metrics").json()
    finally:
        stop_server(server)

    ratio = rec["rps"] / health["rps"]
    result = {
        "data": name,
        "users": n_users,
        "items": n_items,
        "model": args.model,
        "user": {"which": args.user, "user_id": user},
        "answer_cache": not args.no_cache,
        "seconds_per_phase": args.seconds,
        "connections": args.connections,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "health": health,
        "recommendations": rec,
        "ratio": ratio,
        "fixed_rate": fixed,
        "server_errors": sum(r["server_errors"] for r in server_metrics["routes"].values()),
        # the server's own latency of its last 2,000 recommendations (the paced phase): time
        # inside the app, without the client's and the operating system's queueing
        "server_side_paced": {
            k: server_metrics["routes"].get(REC_ROUTE, {}).get(k) for k in ("p50_ms", "p99_ms")
        },
        "goals": {
            "throughput_ratio>=0.5": ratio >= 0.5,
            "p99<20ms@rate": fixed["p99_ms"] < 20.0,
            "zero_errors": health["errors"] + rec["errors"] + fixed["errors"] == 0,
        },
    }
    OUT.mkdir(parents=True, exist_ok=True)
    suffix = ("" if not args.no_cache else "_no_cache") + (
        "" if args.user == "busiest" else f"_{args.user}"
    )
    (OUT / f"bench_service{suffix}.json").write_text(json.dumps(result, indent=2))
    print()
    print(f"answer cache: {'on' if not args.no_cache else 'off'}; server metrics: "
          f"{json.dumps(server_metrics.get('model', {}).get('recommend_cache'))}")  # fmt: skip
    print(f"| endpoint ({health['tool']}, {args.connections} connections, {args.seconds} s) "
          "| requests/s | p50 ms | p99 ms | errors |")  # fmt: skip
    print("|---|---:|---:|---:|---:|")
    for label, r in (("GET /health (ceiling)", health), ("GET recommendations, n=10", rec)):
        print(
            f"| {label} | {r['rps']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} |"
        )
    print(f"| recommendations paced at {fixed['rate']:.0f} req/s | {fixed['rps']:.0f} "
          f"| {fixed['p50_ms']:.2f} | {fixed['p99_ms']:.2f} | {fixed['errors']} |")  # fmt: skip
    inside = result["server_side_paced"]
    print(f"| (server side, last 2,000 paced requests) | | {inside['p50_ms']} "
          f"| {inside['p99_ms']} | |")  # fmt: skip
    print()
    print(f"recommendations / health throughput: {ratio:.0%}")
    for goal, met in result["goals"].items():
        print(f"  {'met ' if met else 'MISSED'} {goal}")


if __name__ == "__main__":
    main()
