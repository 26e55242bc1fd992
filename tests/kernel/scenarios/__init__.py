"""Dumps and the scenario table for test_scenarios.py (see README.md)."""
