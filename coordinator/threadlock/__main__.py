"""`python -m threadlock ...`: the same as the `threadlock` command (see threadlock.cli)."""

from threadlock.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
