"""The command line (click): `ipt-lint`, `python -m ipt_lint`."""
