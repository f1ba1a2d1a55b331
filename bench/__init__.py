"""Benchmarks: `make bench` (`python -m bench`) runs each against the real server and a real
Redis, next to a baseline measured in the same run, and writes `bench/RESULTS.md`."""
