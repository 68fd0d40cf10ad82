"""Benchmarks: scripts that measure and print figures (bench/README.md). Not tests."""
