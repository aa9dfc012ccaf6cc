"""Event ingestion through the REST API: one writer against several writers at once.

Every ``POST /v1/events`` answers only after the batch's users' profiles include it; a live
profile update rewrites only the batch's users' rows, against the population statistics
stored with the live version. Batches that arrive while an update runs share the next one
(group commit, ``ProfileUpdates`` in ``shopguide.service.state``). This measures it: a
synthetic shop of ``--users`` users is loaded into a fresh store, ``python -m
shopguide.service`` serves it in its own process, and then

1. one writer sends ``--batches`` batches one after the other (each runs its own update);
2. ``--writers`` writers send ``--batches`` batches each, all at once (p50/p99 latency);
3. the same, not waiting for the profiles;
4. the same as 2, two hours of event time later: the population statistics are stale, and the
   service measures them again on a thread of its own while the writers go on (the worst case,
   which a shop sees about once an hour). The writers go on past ``--batches`` until the
   service logs the refresh done, so the phase includes its swap, when the updates wait.

Then, with the server stopped, the profile update itself is timed in process on the same
store: ``--update-batches`` batches are stored one after the other and each is followed by
``update_profiles(store, live=True)`` (p50/p99 of that call alone), and the population
refresh (``refresh_population``) is timed before and after them. ``--skip-http`` runs only
this part (for sizes where the service's start-up work, churn scoring included, takes long).

Each batch holds ``--batch-events`` purchases of random known users, timed ``--event-step``
seconds after the batch before (after the latest event for the first), so every update moves
the live version forward. Prints batches/s, latency and how
many profile updates ran; writes ``benchmarks/output/bench_ingest_api.json``.

    python benchmarks/bench_ingest_api.py                       # 100k users, 1M events
    python benchmarks/bench_ingest_api.py --users 1000000 --events 10000000 --skip-http
    python benchmarks/bench_ingest_api.py --users 10000 --events 200000 --batches 3
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from bench_service import OUT, free_port, start_server, stop_server

WRITE_KEY = "bench-write-key"


def prepare_store(
    db: Path,
    users: int,
    items: int,
    events: int,
    pristine: Path | None = None,
    *,
    time_ordered: bool = False,
) -> tuple[list[str], str, str]:
    """A fresh store with a synthetic shop; returns its user ids, an item id and the latest
    event time. With ``pristine``, the freshly loaded store is kept there and copied from it
    on later runs of the same size (generating 10M events takes minutes).

    The generator writes each user's events together, so a search by user skips most of the
    events' row groups. A shop's store fills in time order, where every row group holds some
    of any user's events: ``time_ordered`` loads the events sorted by time, as such a store
    has them (that is the slower case for a live update, which reads its users' events)."""
    from shopguide.data.datasets.synthetic import generate
    from shopguide.data.ingest import ingest_frame
    from shopguide.store import open_store

    db.unlink(missing_ok=True)
    db.with_name(db.name + ".wal").unlink(missing_ok=True)
    if pristine is not None and pristine.exists():
        shutil.copyfile(pristine, db)
    else:
        data = generate(n_users=users, n_items=items, n_events=events, seed=7)
        frames = {"items": data.items, "users": data.users, "events": data.events}
        if time_ordered:
            frames["events"] = data.events.sort_values("timestamp", kind="stable")
        with open_store(db) as store:
            for table, frame in frames.items():
                ingest_frame(store, table, frame, source=f"synthetic-{table}")
            store.execute("CHECKPOINT")
        del data, frames
        if pristine is not None:
            shutil.copyfile(db, pristine)
    with open_store(db) as store:
        latest = str(store.scalar('SELECT max("timestamp") FROM events'))
        ids = store.query_df("SELECT user_id FROM users ORDER BY rowid")["user_id"]
        item = str(store.scalar("SELECT item_id FROM items ORDER BY rowid LIMIT 1"))
    return [str(u) for u in ids], item, latest


class Workload:
    """Batches of purchases with ever later timestamps, shared by every writer."""

    def __init__(
        self,
        users: list[str],
        item: str,
        start: str,
        size: int,
        tag: str = "bench",
        step_seconds: float = 60.0,
    ) -> None:
        # the tag keeps event ids apart between workloads on one store: ingestion drops an
        # event id it has stored as a duplicate, and its batch then changes nobody's profile
        self.users, self.item, self.size, self.tag = users, item, size, tag
        self.clock = np.datetime64(start.replace(" ", "T"))
        self.step = np.timedelta64(round(step_seconds * 1e6), "us")
        self.rng = np.random.default_rng(0)
        self.lock = threading.Lock()
        self.serial = 0

    def batch(self) -> dict[str, Any]:
        with self.lock:
            self.serial += 1
            self.clock += self.step
            picked = self.rng.choice(len(self.users), self.size, replace=False)
            serial, when = self.serial, str(self.clock)
        return {"events": [self._purchase(f"{self.tag}-{serial}-{k}", u, when) for k, u in
                           enumerate(picked)]}  # fmt: skip

    def _purchase(self, key: str, user: int, when: str) -> dict[str, Any]:
        return {"event_id": key, "user_id": self.users[user], "item_id": self.item,
                "event_type": "purchase", "timestamp": when, "quantity": 1, "price": 9.5,
                "order_id": key}  # fmt: skip


#: What the service logs when a population refresh is done.
REFRESH_DONE = "population statistics measured again"


def run_phase(
    base: str,
    workload: Workload,
    writers: int,
    batches: int,
    *,
    wait: bool = True,
    until: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """``writers`` threads each POST ``batches`` batches; latencies and shared updates.
    With ``wait=False`` the batches are sent with ``wait_for_profiles=false``. With ``until``,
    each writer goes on after its ``batches`` until ``until()`` is true (at most 20 times as
    many)."""
    latencies: list[float] = []
    shared: list[bool] = []
    updates_ms: list[float] = []  # each profile update's own time, as the service reports it
    errors: list[str] = []
    guard = threading.Lock()

    def writer() -> None:
        with httpx.Client(base_url=base, headers={"X-API-Key": WRITE_KEY}, timeout=600) as c:
            for sent in range(20 * batches if until else batches):
                if sent >= batches and (until is None or until()):
                    break
                started = time.perf_counter()
                answer = c.post(
                    "/v1/events",
                    json=workload.batch(),
                    params={"wait_for_profiles": str(wait).lower()},
                )
                took = time.perf_counter() - started
                with guard:
                    if answer.status_code != 200:
                        errors.append(f"{answer.status_code}: {answer.text[:200]}")
                        continue
                    latencies.append(took)
                    body = answer.json()
                    shared.append(bool(body["profiles_update_shared"]) or not wait)
                    own_update = wait and not body["profiles_update_shared"]
                    if own_update and body.get("profiles_update_ms") is not None:
                        updates_ms.append(float(body["profiles_update_ms"]))

    threads = [threading.Thread(target=writer) for _ in range(writers)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    lat = np.array(latencies)
    return {
        "writers": writers,
        "batches": len(lat),
        "seconds": elapsed,
        "batches_per_s": len(lat) / elapsed,
        "p50_s": float(np.percentile(lat, 50)),
        "p99_s": float(np.percentile(lat, 99)),
        "max_s": float(lat.max()),
        "profile_updates": shared.count(False),
        "update_p50_ms": float(np.percentile(updates_ms, 50)) if updates_ms else None,
        "update_p99_ms": float(np.percentile(updates_ms, 99)) if updates_ms else None,
        "errors": errors,
    }


@contextlib.contextmanager
def _logged(log: Path, line: str) -> Iterator[threading.Event]:
    """An event set once ``log`` gains a ``line`` it did not hold when the block began (a
    thread looks at the lines written since, every 0.2 s)."""
    seen = threading.Event()
    stop = threading.Event()
    with log.open("rb") as file:
        file.seek(0, 2)  # from the end: only what is written from now on

        def watch() -> None:
            wanted, tail = line.encode(), b""
            while not stop.wait(0.2):
                text = tail + file.read()  # a line may be half written at one look
                if wanted in text:
                    seen.set()
                    return
                tail = text[-len(wanted) :]

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            yield seen
        finally:
            stop.set()
            watcher.join()


def _wait_until_profiled(base: str, workload: Workload) -> float:
    """Seconds until the live profiles are as of the last batch's time."""
    started = time.perf_counter()
    last = pd.Timestamp(str(workload.clock))
    with httpx.Client(base_url=base, headers={"X-API-Key": WRITE_KEY}, timeout=60) as c:
        while time.perf_counter() - started < 600:
            profile = c.get(f"/v1/users/{workload.users[0]}/profile").json()
            if pd.Timestamp(profile["as_of"]) >= last:
                break
            time.sleep(0.1)
    return time.perf_counter() - started


def time_profile_updates(
    db: Path, users: list[str], item: str, batches: int, size: int, step: float
) -> dict[str, Any]:
    """The live profile update alone, in process: p50/p99 over ``batches`` batches of
    ``size`` purchases (and the p50 of storing each batch before it), and the population
    refresh before and after them."""
    from shopguide.profiles import refresh_population, update_profiles
    from shopguide.store import open_store
    from shopguide.store.user_indexes import ensure_user_indexes
    from shopguide.workflows.serving.live_ingest import ingest_events

    with open_store(db) as store:
        latest = str(store.scalar('SELECT max("timestamp") FROM events'))
        workload = Workload(users, item, latest, size, tag="in-process", step_seconds=step)
        started = time.perf_counter()
        ingest_events(store, workload.batch()["events"])  # makes the live version if needed
        first_s = time.perf_counter() - started
        started = time.perf_counter()
        refresh_population(store)  # fresh statistics: no refresh is due during the batches
        refresh_before_s = time.perf_counter() - started
        started = time.perf_counter()
        ensure_user_indexes(store)  # what `shopguide serve` does at start-up
        indexes_s = time.perf_counter() - started
        took: list[float] = []
        stored: list[float] = []
        steps: dict[str, float] = {}
        stale = recomputed = 0
        for _ in range(batches):
            started = time.perf_counter()
            ingest_events(store, workload.batch()["events"], update_profiles=False)
            stored.append(time.perf_counter() - started)
            started = time.perf_counter()
            result = update_profiles(store, live=True)
            took.append(time.perf_counter() - started)
            stale += result.population_stale
            recomputed += result.recomputed_users
            for name, seconds in result.steps.items():
                steps[name] = steps.get(name, 0.0) + seconds
        started = time.perf_counter()
        refresh = refresh_population(store)
        refresh_after_s = time.perf_counter() - started
    ms = np.array(took) * 1000
    return {
        "batches": batches,
        "batch_events": size,
        "first_update_s": first_s,
        "user_indexes_s": indexes_s,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "store_batch_p50_ms": float(np.percentile(np.array(stored) * 1000, 50)),
        "users_recomputed_mean": recomputed / batches,
        "steps_mean_ms": {k: v * 1000 / batches for k, v in steps.items()},
        "updates_reporting_stale_statistics": stale,
        "population_refresh_s": refresh_before_s,
        "population_refresh_after_batches_s": refresh_after_s,
        "population_users": None if refresh is None else refresh.users,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=2_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch-events", type=int, default=10)
    parser.add_argument("--batches", type=int, default=5, help="Batches per writer.")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--event-step", type=float, default=1.0,
                        help="Seconds from one batch's events to the next's (default 1; a "
                        "minute would cover hours of event time in a few seconds, and the "
                        "population refresh due every hour would run in every phase).")  # fmt: skip
    parser.add_argument("--update-batches", type=int, default=100,
                        help="Batches for the in-process profile update timing.")  # fmt: skip
    parser.add_argument("--pristine", type=Path, default=None,
                        help="Keep the freshly loaded store here and start later runs from a "
                        "copy of it (same sizes only).")  # fmt: skip
    parser.add_argument("--time-ordered", action="store_true",
                        help="Load the events in time order, as a shop's store fills "
                        "(the generator groups them by user, which a search by user "
                        "favours).")  # fmt: skip
    parser.add_argument("--skip-http", action="store_true",
                        help="Only the in-process profile update timing.")  # fmt: skip
    parser.add_argument("--warmup-timeout", type=float, default=900,
                        help="Seconds to wait for the service's churn warm-up before giving "
                        "up (default 900).")  # fmt: skip
    args = parser.parse_args()

    db = OUT / "bench_ingest_api" / "shop.duckdb"
    db.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    users, item, latest = prepare_store(
        db, args.users, args.items, args.events, args.pristine, time_ordered=args.time_ordered
    )
    print(f"store with {args.users:,} users, {args.events:,} events ready in "
          f"{time.perf_counter() - t0:.0f} s")  # fmt: skip
    result: dict[str, Any] = {"users": args.users, "events": args.events,
                              "batch_events": args.batch_events,
                              "time_ordered": args.time_ordered}  # fmt: skip
    if not args.skip_http:
        result.update(http_phases(db, args, users, item, latest))
    else:
        from shopguide.profiles import build_profiles
        from shopguide.store import open_store

        with open_store(db) as store:
            t0 = time.perf_counter()
            build_profiles(store)
            print(f"profiles built in {time.perf_counter() - t0:.1f} s")
    updates = time_profile_updates(
        db, users, item, args.update_batches, args.batch_events, args.event_step
    )
    result["profile_updates"] = updates
    print(f"\nprofile update alone (in process, {updates['batches']} batches of "
          f"{updates['batch_events']} events, one after the other): p50 "
          f"{updates['p50_ms']:.0f} ms, p99 {updates['p99_ms']:.0f} ms, max "
          f"{updates['max_ms']:.0f} ms; first update (makes the live version) "
          f"{updates['first_update_s']:.1f} s; user indexes built first (as `serve` does at "
          f"start-up) in {updates['user_indexes_s']:.1f} s; "
          f"{updates['users_recomputed_mean']:.1f} users recomputed per batch")  # fmt: skip
    print(f"  storing a batch before its update (ingest_events): p50 "
          f"{updates['store_batch_p50_ms']:.1f} ms")  # fmt: skip
    per_step = updates["steps_mean_ms"].items()
    print("  mean per step: " + ", ".join(f"{k} {v:.1f} ms" for k, v in per_step))
    print(f"population refresh ({updates['population_users']:,} users): "
          f"{updates['population_refresh_s']:.1f} s, after the batches "
          f"{updates['population_refresh_after_batches_s']:.1f} s")  # fmt: skip
    out = OUT / "bench_ingest_api.json"
    out.write_text(json.dumps(result, indent=2))
    print(f"wrote {out}")


def http_phases(
    db: Path, args: argparse.Namespace, users: list[str], item: str, latest: str
) -> dict[str, Any]:
    """The three phases through the REST service; prints their table."""
    port = free_port()
    t0 = time.perf_counter()
    server = start_server(db, port, "popular", db.parent / "server.log", keys={WRITE_KEY: "write"})
    print(f"server up in {time.perf_counter() - t0:.1f} s (profiles built at start-up)")
    base = f"http://127.0.0.1:{port}"
    workload = Workload(users, item, latest, args.batch_events, step_seconds=args.event_step)
    try:
        # the service scores churn in the background after start-up (on a connection of its
        # own, but on the same cores): wait for it, so it does not run while the phases are
        # measured, and time reads and event posts meanwhile
        # the probes' purchases are dated before the latest event: a batch on a later day
        # would make the scores stale, and the wait below would score again for that day
        before = str(pd.Timestamp(latest) - pd.Timedelta(hours=2))
        probes = Workload(users, item, before, args.batch_events, tag="warmup")
        warmup = wait_for_churn_warmup(base, probes, args.warmup_timeout)
        run_phase(base, workload, 1, 1)  # the first update creates the live version
        alone = run_phase(base, workload, 1, args.batches)
        together = run_phase(base, workload, args.writers, args.batches)
        background = run_phase(base, workload, args.writers, args.batches, wait=False)
        caught_up = _wait_until_profiled(base, workload)
        # two hours on: the next update finds the population statistics stale, and the
        # service measures them again (seconds at 1M users) on a thread of its own while
        # the writers go on
        workload.clock += np.timedelta64(2, "h")
        with _logged(db.parent / "server.log", REFRESH_DONE) as refreshed:
            refreshing = run_phase(
                base, workload, args.writers, args.batches, until=refreshed.is_set
            )
    finally:
        stop_server(server)

    print(f"\n{'phase':<28}{'batches':>8}{'batches/s':>11}{'p50 s':>8}{'p99 s':>8}{'max s':>8}"
          f"{'profile updates':>17}{'update p50/p99 ms':>19}{'errors':>8}")  # fmt: skip
    phases = (
        ("1 writer", alone),
        (f"{args.writers} writers at once", together),
        (f"{args.writers} writers, not waiting", background),
        (f"{args.writers} writers, refresh running", refreshing),
    )
    for name, phase in phases:
        update = (
            "-" if phase["update_p50_ms"] is None
            else f"{phase['update_p50_ms']:.0f} / {phase['update_p99_ms']:.0f}"
        )  # fmt: skip
        print(f"{name:<28}{phase['batches']:>8}{phase['batches_per_s']:>11.2f}"
              f"{phase['p50_s']:>8.3f}{phase['p99_s']:>8.3f}{phase['max_s']:>8.3f}"
              f"{phase['profile_updates']:>17}{update:>19}{len(phase['errors']):>8}")  # fmt: skip
    speedup = together["batches_per_s"] / alone["batches_per_s"]
    print("(not waiting: the answers come once the batch is stored; profile updates run in the "
          f"background and had caught up {caught_up:.1f} s after the last answer)")  # fmt: skip
    print(f"\nthroughput with {args.writers} writers: {speedup:.1f}x one writer's")
    return {"one_writer": alone, "writers": together, "speedup": speedup,
            "writers_not_waiting": background, "profiles_caught_up_s": caught_up,
            "writers_during_refresh": refreshing,
            "churn_warmup": warmup}  # fmt: skip


class WarmupTimeout(SystemExit):
    """The service's churn warm-up did not end in time (exits with the message)."""


class Probes:
    """A profile read and an event post (a batch of ``workload``, not waiting for the
    profiles), timed, at most every 2 s: does the service answer while it works?"""

    def __init__(self, client: httpx.Client, workload: Workload) -> None:
        self.client, self.workload = client, workload
        self.reads: list[float] = []
        self.posts: list[float] = []

    def once(self) -> None:
        t0 = time.perf_counter()
        self.client.get(f"/v1/users/{self.workload.users[0]}/profile").raise_for_status()
        self.reads.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        self.client.post("/v1/events", json=self.workload.batch(),
                         params={"wait_for_profiles": "false"}).raise_for_status()  # fmt: skip
        self.posts.append(time.perf_counter() - t0)

    def summary(self) -> dict[str, Any]:
        def ms(values: list[float], q: float) -> float | None:
            return float(np.percentile(values, q) * 1000) if values else None

        return {"probes": len(self.reads),
                "profile_read_p50_ms": ms(self.reads, 50),
                "profile_read_max_ms": ms(self.reads, 100),
                "event_post_p50_ms": ms(self.posts, 50),
                "event_post_max_ms": ms(self.posts, 100)}  # fmt: skip

    def line(self) -> str:
        got = self.summary()
        return (f"{got['probes']} profile reads p50 {got['profile_read_p50_ms'] or 0:.0f} ms, "
                f"max {got['profile_read_max_ms'] or 0:.0f} ms; event posts (not waiting for "
                f"profiles) p50 {got['event_post_p50_ms'] or 0:.0f} ms, max "
                f"{got['event_post_max_ms'] or 0:.0f} ms")  # fmt: skip


def wait_for_churn_warmup(base: str, workload: Workload, timeout: float) -> dict[str, Any]:
    """Wait until the service has scored churn (``GET /v1/churn`` answers once it has),
    printing a line every 15 s, with :class:`Probes` every 2 s meanwhile (at most 100: the
    probes' batches are a minute apart from two hours before the latest event, so they stay
    before it) and 10 more after it, to compare with.
    Exits with a message when the scoring takes longer than ``timeout`` seconds."""
    done = threading.Event()
    failure: list[str] = []

    def churn() -> None:
        try:
            with httpx.Client(base_url=base, headers={"X-API-Key": WRITE_KEY},
                              timeout=timeout + 60) as c:  # fmt: skip
                answer = c.get("/v1/churn", params={"limit": 1})
                if answer.status_code != 200:
                    failure.append(f"{answer.status_code}: {answer.text[:300]}")
        except httpx.HTTPError as exc:
            failure.append(f"{type(exc).__name__}: {exc}")
        finally:
            done.set()

    started = time.perf_counter()
    threading.Thread(target=churn, daemon=True).start()
    said = 0.0
    with httpx.Client(base_url=base, headers={"X-API-Key": WRITE_KEY}, timeout=120) as c:
        during = Probes(c, workload)
        while not done.wait(2.0):
            waited = time.perf_counter() - started
            if waited > timeout:
                raise WarmupTimeout(
                    f"the service's churn warm-up (scoring every buyer) did not finish within "
                    f"{timeout:.0f} s; the phases were not run. Give it longer with "
                    "--warmup-timeout SECONDS, or measure in process only with --skip-http."
                )
            if len(during.posts) < 100:
                during.once()
            if waited - said >= 15:
                said = waited
                print(f"  churn warm-up running: {waited:.0f} s; meanwhile {during.line()}",
                      flush=True)  # fmt: skip
        seconds = time.perf_counter() - started
        if failure:
            raise SystemExit(f"GET /v1/churn failed during the warm-up: {failure[0]}")
        print(f"churn warm-up done {seconds:.1f} s after the server was up; meanwhile "
              f"{during.line()}")  # fmt: skip
        after = Probes(c, workload)
        for _ in range(10):
            after.once()
            time.sleep(2.0)
        print(f"the same probes after the warm-up: {after.line()}")
    return {"seconds": seconds, "during": during.summary(), "after": after.summary()}


if __name__ == "__main__":
    main()
