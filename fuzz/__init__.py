"""Hypothesis fuzzing of the pgproto core: `pytest fuzz/` for a short run, `python -m fuzz` for a long one.

Two settings profiles: "quick" (the default, derandomized so the suite is stable) and "long", chosen with
the PGPROTO_FUZZ_PROFILE environment variable. `python -m fuzz` builds its own settings.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis.strategies import SearchStrategy

#: The environment variable naming the profile the pytest run uses ("quick" or "long").
PROFILE_VARIABLE = "PGPROTO_FUZZ_PROFILE"

#: Our generators draw whole conversations, so Hypothesis' size and speed health checks only get in the way.
SUPPRESSED_HEALTH_CHECKS = (HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much)

settings.register_profile(
    "quick",
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=SUPPRESSED_HEALTH_CHECKS,
    print_blob=True,
)
settings.register_profile(
    "long",
    max_examples=20_000,
    deadline=None,
    derandomize=False,
    suppress_health_check=SUPPRESSED_HEALTH_CHECKS,
    print_blob=True,
)


def profile_name() -> str:
    """The profile the pytest run uses: $PGPROTO_FUZZ_PROFILE, else "quick"."""
    return os.environ.get(PROFILE_VARIABLE) or "quick"


def fuzz_settings() -> settings:
    """The settings every fuzz property is decorated with (read once, when the test module is imported).

    Raises:
        hypothesis.errors.InvalidArgument: $PGPROTO_FUZZ_PROFILE names no registered profile.
    """
    return settings.get_profile(profile_name())


T = TypeVar("T")


@dataclass(frozen=True)
class Target(Generic[T]):
    """One fuzz property: a strategy of cases and a check that raises when a case breaks the property.

    The pytest tests decorate the check with the profile's settings; `python -m fuzz` builds its own.
    """

    name: str
    strategy: SearchStrategy[T]
    check: Callable[[T], None]

    def hypothesis_test(self, settings_: settings, on_case: Callable[[], None]) -> Callable[[], None]:
        """A Hypothesis test running the check under `settings_`, calling `on_case` before each case."""

        def run(case: T) -> None:
            on_case()
            self.check(case)

        run.__name__ = run.__qualname__ = self.name
        test: Callable[[], None] = settings_(given(self.strategy)(run))
        return test


class Runnable(Protocol):
    """What `python -m fuzz` needs of a Target, whatever its case type."""

    @property
    def name(self) -> str: ...

    def hypothesis_test(self, settings_: settings, on_case: Callable[[], None]) -> Callable[[], None]: ...
