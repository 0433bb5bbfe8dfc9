"""A judge model behind an OpenAI-compatible ``/v1/chat/completions`` endpoint on 127.0.0.1, streaming SSE as such
servers do. What it answers follows its ``behaviour``:

- ``prefer``: reads the two answers of our judge prompt and picks the one holding ``keyword`` (a consistent judge);
- ``first``: always picks whichever answer is shown first (a judge with position bias: its pick flips on swap);
- ``mumble``: explains but never ends with a decision marker (unparsable);
- ``fail``: answers HTTP 500 (a judge that is down);
- ``stall``: never answers until ``release()`` (a judge that hangs).

It counts requests and the most it served at once, so tests can see that both orders are asked concurrently. It
runs on the test's event loop (``serve``) or on a thread of its own for tests that run ``ftarena`` as a process
(``in_thread``)."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from aiohttp import web

ANSWER = re.compile(r"=== Answer A ===\n(?P<a>.*)\n\n=== Answer B ===\n(?P<b>.*)", re.S)


class JudgePeer:
    def __init__(self, behaviour: str = "prefer", keyword: str = "clear") -> None:
        self.behaviour = behaviour
        self.keyword = keyword
        self.requests: list[dict[str, object]] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self._released: asyncio.Event | None = None

    def release(self) -> None:
        """End every stall, now and later."""
        self.behaviour = "prefer" if self.behaviour == "stall" else self.behaviour
        if self._released is not None:
            self._released.set()

    def answer(self, prompt: str) -> str:
        if self.behaviour == "first":
            return "Answer A is shown first, which settles it for me.\n[[A]]"
        if self.behaviour == "mumble":
            return "Both answers have their merits and I would rather not choose."
        found = ANSWER.search(prompt)
        if found is None:
            return "I cannot see two answers here."
        a, b = (self.keyword in found.group(side) for side in ("a", "b"))
        # The format may be quoted before the decision: the peer does so, as real judges do.
        verdict = "[[A]]" if a and not b else "[[B]]" if b and not a else "[[C]]"
        return f"I answer with [[A]], [[B]] or [[C]]. One answer is clearer than the other.\n{verdict}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.behaviour == "fail":
                return web.json_response({"error": {"message": "judge down"}}, status=500)
            if self.behaviour == "stall":
                assert self._released is not None
                await self._released.wait()
            # Let the other order's request arrive while this one is open, as a real model's latency would.
            await asyncio.sleep(0.05)
            text = self.answer(body["messages"][-1]["content"])
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            for word in re.findall(r"\S+\s*", text):
                event = {"choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]}
                await response.write(f"data: {json.dumps(event)}\n\n".encode())
            await response.write(b"data: [DONE]\n\n")
            return response
        finally:
            self.in_flight -= 1

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        """Serve on the running loop; yields the base URL (``http://127.0.0.1:PORT/v1``)."""
        self._released = asyncio.Event()
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        try:
            yield f"http://127.0.0.1:{runner.addresses[0][1]}/v1"
        finally:
            self._released.set()
            await runner.cleanup()

    @contextmanager
    def in_thread(self) -> Iterator[str]:
        """Serve on a loop in a thread of its own, for tests that wait on a subprocess."""
        loop = asyncio.new_event_loop()
        ready: asyncio.Future[str] = loop.create_future()
        stop = asyncio.Event()

        async def main() -> None:
            async with self.serve() as url:
                ready.set_result(url)
                await stop.wait()

        thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
        thread.start()
        url = asyncio.run_coroutine_threadsafe(asyncio.wait_for(asyncio.shield(ready), 10), loop).result(15)
        try:
            yield url
        finally:
            loop.call_soon_threadsafe(stop.set)
            thread.join(10)
            loop.close()
