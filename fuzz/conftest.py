"""pytest setup for fuzz/: the properties carry their own settings (see fuzz/__init__.py), so this only
reports which profile the run uses. Set PGPROTO_FUZZ_PROFILE=long for a longer, random run.
"""

from __future__ import annotations

from fuzz import profile_name


def pytest_report_header() -> str:
    return f"pgproto fuzz profile: {profile_name()} (PGPROTO_FUZZ_PROFILE; 'quick' or 'long')"
