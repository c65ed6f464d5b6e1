"""`python -m pgproto`: the command line, which lives in `pgproto_sync.cli` (the core itself does no I/O)."""

if __name__ == "__main__":
    import sys

    from pgproto_sync.cli import main

    sys.exit(main())
