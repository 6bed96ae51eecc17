"""wait_until(): poll for something another thread or process does, bounded only against a real hang."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["HANG_S", "wait_until"]

# Long on purpose: the bound only turns a hang into a failure. A slow, loaded machine gets there in the
# end and must not fail; a fast one returns at the first successful poll, so the bound costs nothing.
HANG_S = 120.0


def wait_until(
    done: Callable[[], object], what: str, *, within_s: float = HANG_S, every_s: float = 0.05
) -> None:
    """Call done() until it is truthy; fail naming `what` if within_s pass first."""
    deadline = time.monotonic() + within_s
    while not done():
        assert time.monotonic() < deadline, f"{what} (waited {within_s:.0f} s)"
        time.sleep(every_s)
