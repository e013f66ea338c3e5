"""Section 6, load: many concurrent POST /ask to ``rag serve`` in its own process, per batching/worker variant."""

from __future__ import annotations

import time

from .common import Run, payload, spread, stats, table, timed

LOAD_REQUESTS = 200
LOAD_TIMEOUT_S = 300
LONE_REQUESTS = 20  # one at a time, per variant
# (name, reader windows per call: RAG_BATCH_WINDOWS (1 turns question batching off too), reader workers); the first is the baseline.
LOAD_VARIANTS = (("no batching, 1 worker", 1, 1), ("batching, 1 worker", 32, 1),
                 ("no batching, 2 workers", 1, 2), ("batching, 2 workers", 32, 2))


async def _fire(url: str, headers: dict, payloads: list[dict]):
    """All ``payloads`` sent at once; (milliseconds, error or None) for each, and the wall seconds."""
    import asyncio

    import httpx

    limits = httpx.Limits(max_connections=len(payloads), max_keepalive_connections=len(payloads))
    async with httpx.AsyncClient(base_url=url, timeout=LOAD_TIMEOUT_S, limits=limits, headers=headers) as client:
        async def one(body: dict) -> tuple[float, str | None]:
            started = time.perf_counter()
            try:
                response = await client.post("/ask", json=body)
                error = None if response.status_code == 200 else f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            return (time.perf_counter() - started) * 1000, error

        started = time.perf_counter()
        results = await asyncio.gather(*(one(p) for p in payloads))
        return results, time.perf_counter() - started


def bench_load(run: Run) -> tuple[dict, str]:
    """200 concurrent POST /ask on loopback, batching off vs on and one vs two reader workers, side
    by side in one run: errors, latency, throughput; and one request at a time, so batching is
    seen not to slow a lone question."""
    import asyncio

    import httpx

    payloads = [payload(run.items[i % len(run.items)]) for i in range(LOAD_REQUESTS)]
    lone = [payload(item) for item in spread(run.items, LONE_REQUESTS)]
    data, rows = {}, []
    for name, windows, workers in LOAD_VARIANTS:
        with run.server(batch_windows=windows, workers=workers) as live:
            with httpx.Client(base_url=live.url, timeout=60, headers=live.headers) as http:
                one_at_a_time = timed(lambda p: http.post("/ask", json=p).raise_for_status(), lone)
            results, wall_s = asyncio.run(_fire(live.url, live.headers, payloads))
        errors = [e for _, e in results if e]
        s, single = stats([ms for ms, _ in results]), stats(one_at_a_time)
        data[name] = {"requests": LOAD_REQUESTS, "errors": len(errors), "error_kinds": sorted(set(errors)), **s,
                      "wall_s": round(wall_s, 2), "throughput_rps": round(LOAD_REQUESTS / wall_s, 2),
                      "lone_p50": single["p50"], "lone_p95": single["p95"], "workers": workers, "batch_windows": windows}
        rows.append([name, len(errors), s["p50"], s["p95"], s["max"], data[name]["wall_s"], data[name]["throughput_rps"],
                     single["p50"], single["p95"]])
    first = LOAD_VARIANTS[0][0]
    for name in data:
        data[name]["throughput_over_unbatched"] = round(data[name]["throughput_rps"] / data[first]["throughput_rps"], 2)
    data = {"variants": data}
    md = (f"{LOAD_REQUESTS} requests sent at once (httpx.AsyncClient, loopback, timeout {LOAD_TIMEOUT_S} s), gold "
          f"questions, to `rag serve` in its own process (runtime {run.settings.runtime}, {run.settings.threads} thread(s) "
          f"per reader worker, RAG_BATCH_WINDOWS and RAG_WORKERS per variant); then {LONE_REQUESTS} requests one at a "
          "time on the same server (a lone question must not get slower), sent before the burst. Variants run one "
          "after another in this run, each on a fresh server.\n\n"
          + table(["variant", "errors", "p50 ms", "p95 ms", "max ms", "wall s", "requests/s", "lone p50 ms", "lone p95 ms"], rows)
          + "\n\nThroughput against the unbatched server: "
          + ", ".join(f"{name} {v['throughput_over_unbatched']}×" for name, v in data["variants"].items()) + ".")
    return data, md
