"""The per-container cache behind webhook subscriptions and workflow names."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.fakes.clock import ManualClock
from workflow_service.webhooks.fresh import FreshCache


class Reads:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> int:
        self.count += 1
        return self.count


def test_an_answer_read_before_the_clock_went_back_is_read_again():
    # Given an answer read at noon
    clock = ManualClock(datetime(2030, 1, 1, 12, tzinfo=UTC))
    cache: FreshCache[str, int] = FreshCache(clock, 30)
    read = Reads()
    assert cache.get_or_read("team", read) == 1
    # When the container's clock steps back a second (an NTP correction)
    clock.advance(seconds=-1)
    # Then the kept answer is not trusted for longer than 30 s: it is read again
    assert cache.get_or_read("team", read) == 2
    assert cache.get_or_read("team", read) == 2


def test_past_the_most_kept_keys_every_answer_is_dropped_and_read_again():
    # Given a cache that keeps at most two keys, holding two
    clock = ManualClock(datetime(2030, 1, 1, tzinfo=UTC))
    cache: FreshCache[str, int] = FreshCache(clock, 30, most_kept=2)
    read = Reads()
    cache.get_or_read("a", read)
    cache.get_or_read("b", read)
    # When a third key is read
    cache.get_or_read("c", read)
    # Then the first two are gone (read anew) while the third is kept
    assert cache.get_or_read("c", read) == 3
    assert cache.get_or_read("a", read) == 4
    assert read.count == 4


def test_a_put_answer_is_used_without_a_read():
    clock = ManualClock(datetime(2030, 1, 1, tzinfo=UTC))
    cache: FreshCache[str, int | None] = FreshCache(clock, 30)
    cache.put("w1", None)
    assert cache.get_or_read("w1", lambda: 99) is None
    clock.advance(seconds=30)
    assert cache.get_or_read("w1", lambda: 99) == 99
