"""Load a running followup service: throughput and latency of POST /v1/ask at several concurrencies.

A bounded asyncio client (httpx): at each level, N clients share a fixed number of requests, each client
sending its next request when the last one is answered. Only loopback or your own test hosts are
targets. Start the service first (`make run`), then:

    python bench/load.py [--url http://127.0.0.1:8000] [--levels 1,8,32] [--requests 300] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import time
from typing import Any

import httpx

QUESTIONS = [
    {"question": "Which medication treats spasticity in multiple sclerosis?"},
    {"question": "What dose should be used?", "history": ["Which medication treats spasticity in multiple sclerosis?"]},
    {"question": "Can water pills cause muscle cramps?"},
    {"question": "Is Valium useful for muscle spasm?"},
    {"question": "How should exercise-associated muscle cramps be treated?"},
    {"question": "What is the capital of France?"},
]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def level(url: str, clients: int, requests: int) -> dict[str, Any]:
    bodies = itertools.cycle(QUESTIONS)
    remaining = requests
    latencies: list[float] = []
    errors: dict[str, int] = {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:

        async def client() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                try:
                    response = await http.post("/v1/ask", json=next(bodies))
                    outcome = "ok" if response.status_code == 200 else str(response.status_code)
                except httpx.HTTPError as error:
                    outcome = type(error).__name__
                latencies.append((time.perf_counter() - started) * 1000)
                if outcome != "ok":
                    errors[outcome] = errors.get(outcome, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "throughput_rps": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies),
        "p99_ms": percentile(latencies, 99),
    }


async def main_async(url: str, levels: list[int], requests: int, warmup: int) -> list[dict[str, Any]]:
    await level(url, 1, warmup)  # first requests pay for lazy initialisation; not measured
    return [await level(url, clients, requests) for clients in levels]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--levels", default="1,8,32", help="comma-separated concurrencies")
    parser.add_argument("--requests", type=int, default=300, help="requests per level")
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(main_async(args.url, [int(n) for n in args.levels.split(",")], args.requests, args.warmup))
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'clients':>7}  {'requests':>8}  {'errors':>6}  {'req/s':>7}  {'p50 ms':>7}  {'p99 ms':>7}")
    for r in results:
        print(f"{r['clients']:>7}  {r['requests']:>8}  {r['errors']:>6}  {r['throughput_rps']:>7.1f}  "
              f"{r['p50_ms']:>7.1f}  {r['p99_ms']:>7.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
