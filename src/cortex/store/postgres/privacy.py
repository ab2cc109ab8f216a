"""Subjects, the vault and sealing in PostgreSQL (migration 0006).

Sealed values are the SQLite backend's, byte for byte: the same fields (``text``,
``metadata``, ``vault:<placeholder>``), keys and associated data.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from cortex.privacy.records import VaultEntry
from cortex.privacy.sealing import Sealer
from cortex.store.postgres.connection import APP_ROLE, bind_tenant
from cortex.store.postgres.memories import write_tokens
from cortex.store.postgres.rows import metadata_json, open_field

Conn = psycopg.Connection[tuple[Any, ...]]
log = logging.getLogger(__name__)


def vault_entries(conn: Conn, tenant: str, memory_ids: Sequence[str],
                  sealer: Sealer) -> dict[str, list[VaultEntry]]:
    """Opened vault items of these memories, by memory id, in placeholder order."""
    found: dict[str, list[VaultEntry]] = {}
    if not memory_ids:
        return found
    rows = conn.execute("SELECT memory_id, placeholder, entity, sealed, subject FROM vault"
                        " WHERE tenant = %s AND memory_id = ANY(%s) ORDER BY memory_id, placeholder",
                        (tenant, list(memory_ids))).fetchall()
    for memory_id, placeholder, entity, sealed, subject in rows:
        value = open_field(sealer, tenant, memory_id, "vault:" + placeholder, sealed, subject)
        found.setdefault(memory_id, []).append(
            VaultEntry(placeholder=placeholder, entity=entity, value=value.decode("utf-8")))
    return found


def tenant_key_matches(conn: Conn, tenant: str, sealer: Sealer) -> bool:
    """False when the tenant's rows were sealed under another tenant key than this keystore's
    (a node configured with another keystore would otherwise write rows no other node can
    open, and blind-index tokens no other node's filters match)."""
    row = conn.execute("SELECT substring(text FROM 2 FOR 16) FROM memories WHERE tenant = %s"
                       " AND subject IS NULL LIMIT 1", (tenant,)).fetchone()
    return row is None or bytes(row[0]) == sealer.key(tenant, None).key_id


def seal_legacy_rows(conn: Conn, sealer: Callable[[], Sealer]) -> int:
    """Right after migration 0006, in its transaction: seal the rows written in the clear
    before it (their ``text`` and ``metadata`` hold UTF-8 plaintext after the type change)
    and give them blind-index tokens. ``sealer`` is only called when there are rows."""
    conn.execute("SELECT set_config('role', %s, true)", (APP_ROLE,))  # the owner is bound by RLS
    try:
        tenants = [str(r[0]) for r in conn.execute("SELECT cortex_tenants()")]
        sealed = 0
        for tenant in tenants:
            bind_tenant(conn, tenant)
            rows = conn.execute("SELECT seq, id, text, metadata FROM memories WHERE tenant = %s"
                                " ORDER BY seq", (tenant,)).fetchall()
            if rows:
                log.info("sealing %d memories written before encryption at rest", len(rows))
            for seq, memory_id, text, metadata in rows:
                sealed += _seal_row(conn, sealer(), tenant, int(seq), memory_id, bytes(text), bytes(metadata))
        return sealed
    finally:
        conn.execute("RESET ROLE")


def _seal_row(conn: Conn, sealer: Sealer, tenant: str, seq: int, memory_id: str, text: bytes,
              metadata: bytes) -> int:
    key = sealer.key(tenant, None)  # no subject before 0006
    values = json.loads(metadata.decode("utf-8"))
    conn.execute("UPDATE memories SET text = %s, metadata = %s WHERE seq = %s",
                 (Sealer.seal(key, memory_id, "text", text),
                  Sealer.seal(key, memory_id, "metadata", metadata_json(values).encode("utf-8")), seq))
    write_tokens(conn, tenant, seq, sealer.metadata_tokens(tenant, values))
    return 1


__all__ = ["seal_legacy_rows", "tenant_key_matches", "vault_entries"]
