"""Wake long-polls the moment a request is decided, on every replica.

One pub/sub subscription per process listens on the decided channel and sets the asyncio
events of local waiters; callers re-read the request after waking, so a lost message only
costs the rest of the wait, never a wrong answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterator

from redis.asyncio import Redis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)


class Waiters:
    def __init__(self, redis: Redis, channel: str) -> None:
        self.redis = redis
        self.channel = channel
        self._events: dict[str, set[asyncio.Event]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self.any_message = asyncio.Event()  # set on every message; for "something happened"

    async def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="countersign-waiters")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await self._ready.wait()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @contextlib.contextmanager
    def watch(self, request_id: str) -> Iterator[asyncio.Event]:
        """Register interest before reading state, so no decision slips between the two."""
        event = asyncio.Event()
        self._events[request_id].add(event)
        try:
            yield event
        finally:
            self._events[request_id].discard(event)
            if not self._events[request_id]:
                del self._events[request_id]

    def notify(self, request_id: str) -> None:
        for event in self._events.get(request_id, ()):
            event.set()

    async def _listen(self) -> None:
        while True:
            try:
                await self._subscribe_and_dispatch()
            except (RedisError, OSError) as exc:  # any of them would end the listener
                log.warning("decision channel lost (%s); resubscribing", exc)
                self._wake_all()  # waiters re-read state rather than miss a decision
                await asyncio.sleep(0.5)

    async def _subscribe_and_dispatch(self) -> None:
        async with self.redis.pubsub() as pubsub:
            await pubsub.subscribe(self.channel)
            self._ready.set()
            async for message in pubsub.listen():
                if message["type"] == "message":
                    self.any_message.set()
                    data = message["data"]
                    self.notify(data.decode() if isinstance(data, bytes) else str(data))

    def _wake_all(self) -> None:
        for events in self._events.values():
            for event in events:
                event.set()
