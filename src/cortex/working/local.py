"""In-process working memory: a bounded deque per (tenant, session)."""

from __future__ import annotations

import threading
from collections import OrderedDict, deque

from cortex.working.base import WorkingMessage


class LocalWorkingMemory:
    """Ring buffer per session bounded by messages and tokens; least recent sessions drop first."""

    def __init__(self, max_messages: int = 50, max_tokens: int = 4_000,
                 max_sessions: int = 10_000) -> None:
        self.max_messages = max_messages
        self.max_tokens = max_tokens
        self.max_sessions = max_sessions
        self._sessions: OrderedDict[tuple[str, str], deque[WorkingMessage]] = OrderedDict()
        self._lock = threading.Lock()

    def append(self, tenant: str, message: WorkingMessage) -> list[WorkingMessage]:
        key = (tenant, message.session)
        with self._lock:
            buffer = self._sessions.setdefault(key, deque())
            self._sessions.move_to_end(key)
            buffer.append(message)
            evicted = []
            total = sum(m.tokens for m in buffer)
            while len(buffer) > 1 and (len(buffer) > self.max_messages or total > self.max_tokens):
                gone = buffer.popleft()
                total -= gone.tokens
                evicted.append(gone)
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
            return evicted

    def messages(self, tenant: str, session: str) -> list[WorkingMessage]:
        with self._lock:
            return list(self._sessions.get((tenant, session), ()))

    def clear(self, tenant: str, session: str) -> int:
        with self._lock:
            return len(self._sessions.pop((tenant, session), ()))
