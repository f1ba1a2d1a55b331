"""`python -m bench [--quick] [--output PATH]`: run every benchmark, write RESULTS.md.

Each group gets its own redis-server (AOF on, fsync always) in a temp dir and its own server
process. `--quick` shortens every run and caps history at 100k rows, for trying changes.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from bench import decision, history, intake, memory, reading, report, seed, sweep
from bench.harness import countersign_server, redis_client, redis_server

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true", help="short runs, history up to 100k")
    parser.add_argument("--output", type=Path, default=HERE / "RESULTS.md")
    parser.add_argument(
        "--only", choices=["reading"], help="run one group and replace its section only"
    )
    args = parser.parse_args()
    began = time.monotonic()
    results = report.Results(command=" ".join(["python -m bench", *sys.argv[1:]]))
    if args.only == "reading":
        results.reading = reading.run(500 if args.quick else 2000)
        existing = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        section = report.reading(results)
        args.output.write_text(report.splice_reading(existing, section), encoding="utf-8")
        print(f"wrote the reading section of {args.output}")
        return 0
    with tempfile.TemporaryDirectory(prefix="countersign-bench-") as tmp:
        workdir = Path(tmp)
        _online(workdir, results, quick=args.quick)
        _bulk(workdir, results, quick=args.quick)
    results.reading = reading.run(500 if args.quick else 2000)
    results.seconds = time.monotonic() - began
    args.output.write_text(report.render(results), encoding="utf-8")
    print(f"wrote {args.output} after {results.seconds:.0f} s")
    return 0


def _online(workdir: Path, results: report.Results, *, quick: bool) -> None:
    """Memory, intake and decision latency: server process plus Redis, AOF fsync always."""
    (workdir / "online").mkdir()
    with redis_server(workdir / "online") as redis, countersign_server(redis, workdir) as served:
        results.memory = asyncio.run(_memory(served.base, redis.url))
        print(f"memory: {results.memory}", flush=True)
        results.intake = asyncio.run(intake.run(served, redis.url, 3 if quick else 8))
        print("intake done", flush=True)
        samples = 50 if quick else 300
        results.decision = asyncio.run(decision.run(served.base, redis.url, samples))
        print("decision done", flush=True)


async def _memory(base: str, url: str) -> memory.MemoryResult:
    async with redis_client(url) as client:
        return await memory.run(base, client, url)


def _bulk(workdir: Path, results: report.Results, *, quick: bool) -> None:
    """History and sweep on bulk-loaded data; AOF is switched off while loading."""
    (workdir / "bulk").mkdir()
    with redis_server(workdir / "bulk") as redis:
        asyncio.run(_appendonly(redis.url, "no"))
        # No server yet: its own once-a-second sweep would race the measured one.
        results.sweep = asyncio.run(_sweep(redis.url, workdir))
        print("sweep done", flush=True)
        with countersign_server(redis, workdir) as served:
            sizes = history.SIZES[:2] if quick else history.SIZES
            results.history = asyncio.run(_history(served.base, redis.url, workdir, sizes, quick))
            print("history done", flush=True)


async def _appendonly(url: str, value: str) -> None:
    async with redis_client(url) as client:
        await client.config_set("appendonly", value)


async def _sweep(url: str, workdir: Path) -> list[sweep.SweepRow]:
    async with redis_client(url) as client:
        runtime = seed.runtime_on(client, workdir)
        try:
            return await sweep.run(runtime, await seed.template(runtime))
        finally:
            await runtime.http.aclose()


async def _history(
    base: str, url: str, workdir: Path, sizes: tuple[int, ...], quick: bool
) -> list[history.HistoryRow]:
    async with redis_client(url) as client:
        runtime = seed.runtime_on(client, workdir)
        tpl = await seed.template(runtime)
        await runtime.http.aclose()
        return await history.run(base, client, url, tpl, 2 if quick else 5, sizes)


if __name__ == "__main__":
    raise SystemExit(main())
