"""Benchmarks with their budgets (DESIGN.md section 10). Run with ``make bench``."""
