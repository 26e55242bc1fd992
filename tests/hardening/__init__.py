"""Hardening tests (issue 6): fuzzing, determinism, hostile input, resource bounds, no injection."""
