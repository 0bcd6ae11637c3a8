"""Pacing outgoing platform calls to the platform's published rate limits, so a busy morning's outbox does not
become a storm of 429s (each still honoured by the client's own retry handler when it comes).

A `Pacer` keeps, per key (a method, or a method and a conversation), the time the next call may start, and
makes a caller wait until then: the generic cell rate algorithm, a call every `1 / rate` seconds after an
allowance of `burst` at once. The clock and the sleep are injected, so tests never really wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    per_second: float
    burst: int = 1

    @classmethod
    def per_minute(cls, calls: int, burst: int | None = None) -> Limit:
        return cls(calls / 60, burst if burst is not None else calls)


class Pacer:
    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ):
        self.clock, self.sleep = clock, sleep
        self._next: dict[tuple, float] = {}  # key -> the theoretical arrival time of its next call

    def reserve(self, key: tuple, limit: Limit) -> float:
        """Take the next slot for `key`: how many seconds to wait before using it (0 when at once)."""
        now, interval = self.clock(), 1 / limit.per_second
        arrival = max(self._next.get(key, now), now)
        self._next[key] = arrival + interval
        delay = arrival - (limit.burst - 1) * interval - now
        return delay if delay > 1e-9 else 0.0  # not a rounding error's wait

    async def wait(self, key: tuple, limit: Limit) -> None:
        delay = self.reserve(key, limit)
        if delay > 0:
            await self.sleep(delay)


class NoPacing(Pacer):
    """Never waits (the stand-in has no rate limits; tests that are not about pacing)."""

    def reserve(self, key: tuple, limit: Limit) -> float:
        return 0.0
