"""The Redis broker: processes sharing one database relay what they make durable.

Why pub/sub and not streams: the database log is already the durable, ordered
record, and every process can read it. Redis only has to make the common case
fast, so it carries each message once, to the processes subscribed to that
room's channel, with no copy kept in Redis memory to trim. What pub/sub does not
promise (delivery while a subscriber is disconnected or too slow) is made up
for from the log:

- every relayed entry carries its sequence number; a room that receives entry
  n + 2 while it has n waits a moment (messages from different processes may
  cross) and then reads the missing entries from the database;
- every process sends a numbered heartbeat, which every process hears,
  itself included: a jump in anyone's count, or our own subscription
  reconnecting, means messages were lost, and every loaded room catches up;
- while Redis is unreachable, the rooms poll the database instead.

Messages are published from one task, pipelined: a burst of entries costs one
round trip, not one each.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from collections import deque

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy.engine import make_url

from crdt.errors import DecodeError
from server.broker import Broker
from server.broker.messages import Heartbeat, Leaving, Message, decode, encode
from server.storage.database import normalise_url

log = logging.getLogger("plenary.broker")

#: How often each process says it is alive (seconds).
HEARTBEAT_SECONDS = 0.5
#: A process not heard from for this long is taken for dead: its presence goes.
NODE_TIMEOUT_SECONDS = 5.0
#: Messages published in one pipeline at most.
MAX_PIPELINE = 1_000
#: Messages waiting to be published at most; beyond, the oldest are dropped
#: (receivers notice the gap and read the log).
MAX_OUTBOX = 100_000


#: Bytes of HMAC-SHA256 after each message.
SIGNATURE_BYTES = 16


def channel_prefix(database_url: str) -> str:
    """Processes on the same database share channels; others on the same Redis do not hear them.
    (The password is left out: the channel name is visible to anyone on the Redis server.)"""
    public = make_url(normalise_url(database_url)).set(password=None).render_as_string(hide_password=False)
    return "plenary:" + hashlib.sha256(public.encode()).hexdigest()[:12] + ":"


class RedisBroker(Broker):
    shared = True

    def __init__(self, url: str, database_url: str, secret: str) -> None:
        super().__init__()
        # Messages are signed with a key only the processes know: whoever else can publish on
        # this Redis cannot inject edits, presence or reinstatements.
        self._key = hashlib.sha256(b"plenary-broker\x00" + secret.encode()).digest()
        self.url = url
        self.prefix = channel_prefix(database_url)
        self.cluster_channel = self.prefix + "cluster"
        self._client = aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_keepalive=True)
        self._pubsub: aioredis.client.PubSub | None = None
        self._rooms: set[str] = set()
        self._outbox: deque[tuple[str, bytes]] = deque()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribed = asyncio.Event()
        self._heartbeats = 0
        #: node → (last heartbeat count, monotonic time last heard)
        self._nodes: dict[str, tuple[int, float]] = {}
        self.connected = False
        self.published = 0
        self.received = 0
        self.dropped = 0
        self.gaps = 0
        self.forged = 0

    def channel(self, room: str) -> str:
        return self.prefix + "room:" + room

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._listen(), name="plenary-broker-listen"),
            asyncio.create_task(self._send(), name="plenary-broker-send"),
            asyncio.create_task(self._beat(), name="plenary-broker-heartbeat"),
        ]
        # Start serving once subscribed, or after a while without Redis (then the log is polled).
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), timeout=5)

    async def stop(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            data = encode(self.node, Leaving())
            await self._client.publish(self.cluster_channel, data + self._sign(data))
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        with contextlib.suppress(Exception):
            await self._client.aclose()

    async def subscribe(self, room: str) -> None:
        """Listen to ``room`` before it is read from the database, so nothing falls in between."""
        self._rooms.add(room)
        pubsub = self._pubsub
        if pubsub is not None and self.connected:
            try:
                await pubsub.subscribe(self.channel(room))
            except (RedisError, OSError) as exc:
                log.warning("subscribing to %r failed (%s); the log is polled until Redis is back", room, exc)

    async def unsubscribe(self, room: str) -> None:
        self._rooms.discard(room)
        pubsub = self._pubsub
        if pubsub is not None and self.connected:
            with contextlib.suppress(RedisError, OSError):
                await pubsub.unsubscribe(self.channel(room))

    def publish(self, room: str | None, message: Message) -> None:
        if len(self._outbox) >= MAX_OUTBOX:
            self._outbox.popleft()
            self._lost()
        data = encode(self.node, message)
        self._outbox.append(
            (self.cluster_channel if room is None else self.channel(room), data + self._sign(data))
        )
        self._wake.set()

    def stats(self) -> dict[str, int | bool | str]:
        return {
            "kind": "redis",
            "node": self.node,
            "connected": self.connected,
            "nodes": len(self._nodes),
            "published": self.published,
            "received": self.received,
            "dropped": self.dropped,
            "gaps": self.gaps,
            "forged": self.forged,
        }

    def _lost(self) -> None:
        # Skipping a heartbeat number tells every process that something of ours was lost.
        self.dropped += 1
        self._heartbeats += 1

    # Publishing.

    async def _send(self) -> None:
        outbox = self._outbox
        while True:
            await self._wake.wait()
            self._wake.clear()
            while outbox:
                batch = [outbox.popleft() for _ in range(min(len(outbox), MAX_PIPELINE))]
                try:
                    async with self._client.pipeline(transaction=False) as pipe:
                        for channel, data in batch:
                            pipe.publish(channel, data)
                        await pipe.execute()
                    self.published += len(batch)
                except (RedisError, OSError) as exc:
                    log.warning("publishing %d messages failed: %s", len(batch), exc)
                    self._lost()
                    await asyncio.sleep(0.1)

    async def _beat(self) -> None:
        while True:
            self._heartbeats += 1
            self.publish(None, Heartbeat(self._heartbeats))
            await asyncio.sleep(HEARTBEAT_SECONDS)
            now = time.monotonic()
            if self.connected:
                for node, (_, heard) in list(self._nodes.items()):
                    if node != self.node and now - heard > NODE_TIMEOUT_SECONDS:
                        del self._nodes[node]
                        log.warning("process %s not heard from for %.0f s", node, now - heard)
                        self._gone(node)

    # Listening.

    async def _listen(self) -> None:
        backoff = 0.1
        first = True
        while True:
            try:
                pubsub = self._client.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(self.cluster_channel, *(self.channel(room) for room in self._rooms))
                self._pubsub = pubsub
                self.connected = True
                self._subscribed.set()
                backoff = 0.1
                # Whoever we heard before is timed from now: we could not hear them while away.
                now = time.monotonic()
                self._nodes = {node: (count, now) for node, (count, _) in self._nodes.items()}
                if not first:
                    self._gap("the subscription to Redis was re-established")
                first = False
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is None or message.get("type") != "message":
                        continue
                    self._receive(message["data"])
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self.connected or first:
                    log.warning("lost the Redis subscription (%s); polling the log until it is back", exc)
                self.connected = False
                self._subscribed.set()
                if self.receiver is not None:
                    self.receiver.on_gap("Redis unreachable")
                pubsub = self._pubsub
                self._pubsub = None
                if pubsub is not None:
                    with contextlib.suppress(Exception):
                        await pubsub.aclose()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    def _sign(self, data: bytes) -> bytes:
        return hmac.new(self._key, data, hashlib.sha256).digest()[:SIGNATURE_BYTES]

    def _receive(self, signed: bytes) -> None:
        data, signature = signed[:-SIGNATURE_BYTES], signed[-SIGNATURE_BYTES:]
        if len(signed) <= SIGNATURE_BYTES or not hmac.compare_digest(signature, self._sign(data)):
            self.forged += 1
            log.warning("a broker message with a bad signature was dropped")
            return
        try:
            node, message = decode(data)
        except DecodeError as exc:
            log.error("undecodable broker message dropped: %s", exc)
            return
        self.received += 1
        if isinstance(message, Heartbeat):
            previous = self._nodes.get(node)
            self._nodes[node] = (message.count, time.monotonic())
            if previous is not None and message.count > previous[0] + 1:
                self._gap(f"process {node} skipped {message.count - previous[0] - 1} messages")
            return
        if node == self.node:
            return
        if isinstance(message, Leaving):
            self._nodes.pop(node, None)
            self._gone(node)
            return
        if self.receiver is not None:
            try:
                self.receiver.on_message(node, message)
            except Exception:
                log.exception("handling a broker message failed")

    def _gap(self, reason: str) -> None:
        self.gaps += 1
        log.info("catching up from the log: %s", reason)
        if self.receiver is not None:
            self.receiver.on_gap(reason)

    def _gone(self, node: str) -> None:
        if self.receiver is not None:
            self.receiver.on_node_gone(node)
