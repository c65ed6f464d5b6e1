"""Benchmarks: pgproto beside asyncpg, psycopg and pg8000 (`python -m bench`), and the parser alone
(`python -m bench.parser`). Timing lives here and never in the test suite (issue 6).
"""
