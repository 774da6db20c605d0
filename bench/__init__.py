"""Benchmarks (`make bench`): report pages and CSV on a million calls, webhook throughput."""
