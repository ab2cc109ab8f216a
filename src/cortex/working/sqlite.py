"""Working memory in the store's SQLite file: shared by every process that opens it.

The HTTP service runs several worker processes; a message appended through one must be
read back through another, and survive a restart. Each session keeps its newest
messages within the message and token budget; older ones are deleted on append.
"""

from __future__ import annotations

import threading
from pathlib import Path

from cortex.store.sqlite.connection import connect, translate_errors, write_transaction
from cortex.store.sqlite.rows import from_us, to_us
from cortex.working.base import WorkingMessage

_COLUMNS = "id, session, role, text, speaker, at, tokens"


class SQLiteWorkingMemory:
    def __init__(self, path: str | Path, max_messages: int = 50, max_tokens: int = 4_000) -> None:
        self.path = Path(path)
        self.max_messages = max_messages
        self.max_tokens = max_tokens
        self._conn = connect(self.path)  # the store has migrated the file already
        self._lock = threading.Lock()

    def append(self, tenant: str, message: WorkingMessage) -> list[WorkingMessage]:
        with self._lock, write_transaction(self._conn, self.path) as conn:
            conn.execute(
                f"INSERT INTO session_messages (tenant, {_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (tenant, message.id, message.session, message.role, message.text, message.speaker,
                 to_us(message.at), message.tokens))
            rows = conn.execute(
                f"SELECT seq, {_COLUMNS} FROM session_messages WHERE tenant = ? AND session = ?"
                " ORDER BY seq DESC", (tenant, message.session)).fetchall()
            keep, total = 0, 0
            for row in rows:  # newest first: keep while within budget, always the newest
                if keep and (keep >= self.max_messages or total + row[7] > self.max_tokens):
                    break
                keep += 1
                total += row[7]
            evicted = rows[keep:]
            if evicted:
                conn.execute("DELETE FROM session_messages WHERE tenant = ? AND session = ? AND seq <= ?",
                             (tenant, message.session, evicted[0][0]))
        return [_message(row[1:]) for row in reversed(evicted)]

    def messages(self, tenant: str, session: str) -> list[WorkingMessage]:
        with self._lock, translate_errors(self.path):
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM session_messages WHERE tenant = ? AND session = ? ORDER BY seq",
                (tenant, session)).fetchall()
        return [_message(row) for row in rows]

    def clear(self, tenant: str, session: str) -> int:
        with self._lock, write_transaction(self._conn, self.path) as conn:
            return conn.execute("DELETE FROM session_messages WHERE tenant = ? AND session = ?",
                                (tenant, session)).rowcount

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def _message(row: tuple[object, ...]) -> WorkingMessage:
    return WorkingMessage.model_validate({
        "id": row[0], "session": row[1], "role": row[2], "text": row[3], "speaker": row[4],
        "at": from_us(row[5]), "tokens": row[6]})  # type: ignore[arg-type]
