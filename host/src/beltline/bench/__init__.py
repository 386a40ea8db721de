"""Benchmarks: ``beltline bench NAME``. Each prints a table, then one JSON line last."""
