"""The chaos suite's helpers: SDK worker processes, a fencing-checked resource, the checks
over their hold records, and the run of one scenario (see tests/test_chaos.py)."""
