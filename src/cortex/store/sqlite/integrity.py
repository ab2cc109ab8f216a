"""``cortex check`` for SQLite: the file, the derived indexes, and every row's hash."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from cortex.core.errors import CortexError
from cortex.core.models import CheckReport, content_hash
from cortex.privacy.sealing import Sealer
from cortex.store.sqlite import index_files
from cortex.store.sqlite.connection import translate_errors


def run_check(conn: sqlite3.Connection, path: Path, dim: int, sealer: Sealer) -> CheckReport:
    problems: list[str] = []
    notes: list[str] = []
    checked: dict[str, int] = {}
    with translate_errors(path):
        _check_file(conn, problems)
        checked["memories"] = _check_rows(conn, sealer, problems)
        checked["vectors"] = _check_vectors(conn, dim, problems)
        checked["fts_rows"] = _check_fts(conn, problems)
        checked["graphs"] = _check_graphs(conn, path, problems, notes)
    return CheckReport(ok=not problems, problems=problems, notes=notes, checked=checked)


def _check_file(conn: sqlite3.Connection, problems: list[str]) -> None:
    for (line,) in conn.execute("PRAGMA quick_check"):
        if line != "ok":
            problems.append(f"sqlite: {line}")
    for row in conn.execute("PRAGMA foreign_key_check"):
        problems.append(f"sqlite: dangling reference in {row[0]} (rowid {row[1]})")


def _check_rows(conn: sqlite3.Connection, sealer: Sealer, problems: list[str]) -> int:
    count = 0
    for memory_id, tenant, sealed, digest in conn.execute(
            "SELECT id, tenant, text, content_hash FROM memories"):
        count += 1
        try:
            text = sealer.open_text(tenant, memory_id, "text", sealed)
        except CortexError as exc:  # tampered ciphertext, or a destroyed key
            problems.append(f"memory {memory_id}: {exc}")
            continue
        if content_hash(text) != digest:
            problems.append(f"memory {memory_id}: text does not match its content hash")
    return count


def _check_vectors(conn: sqlite3.Connection, dim: int, problems: list[str]) -> int:
    missing = conn.execute("SELECT m.id FROM memories m LEFT JOIN vectors v ON v.seq = m.seq"
                           " WHERE v.seq IS NULL LIMIT 20").fetchall()
    problems.extend(f"memory {r[0]}: no vector" for r in missing)
    count = 0
    for seq, vdim, blob in conn.execute("SELECT seq, dim, vector FROM vectors"):
        count += 1
        vector = np.frombuffer(blob, dtype="<f4")
        if vdim != dim or len(vector) != dim:
            problems.append(f"vector of row {seq}: dimension {len(vector)}, expected {dim}")
        elif not np.isfinite(vector).all() or abs(float(vector @ vector) - 1.0) > 1e-3:
            problems.append(f"vector of row {seq}: not a finite unit vector")
    return count


def _check_fts(conn: sqlite3.Connection, problems: list[str]) -> int:
    try:
        conn.execute("INSERT INTO memories_fts (memories_fts, rank) VALUES ('integrity-check', 1)")
    except sqlite3.DatabaseError as exc:
        problems.append(f"full-text index: {exc} (run `cortex reindex`)")
    # The index is contentless: fts_source records which rows it holds.
    rows = conn.execute("SELECT count(*) FROM fts_source").fetchone()[0]
    missing = conn.execute("SELECT count(*) FROM memories m WHERE NOT EXISTS"
                           " (SELECT 1 FROM fts_source f WHERE f.seq = m.seq)").fetchone()[0]
    orphans = conn.execute("SELECT count(*) FROM fts_source f WHERE NOT EXISTS"
                           " (SELECT 1 FROM memories m WHERE m.seq = f.seq)").fetchone()[0]
    if missing:
        problems.append(f"full-text index: {missing} memories have no row (run `cortex reindex`)")
    if orphans:
        problems.append(f"full-text index: {orphans} rows of deleted memories (run `cortex reindex`)")
    return int(rows)


def _check_graphs(conn: sqlite3.Connection, path: Path, problems: list[str],
                  notes: list[str]) -> int:
    """Saved HNSW graphs: intact checksum; a stale one is only noted if it cannot catch up."""
    tenants = index_files.saved_tenants(path)
    for tenant in tenants:
        manifest, problem = index_files.verify(path, tenant)
        if problem is not None:
            problems.append(f"vector index of a tenant: {problem} (run `cortex reindex`)")
            continue
        assert manifest is not None
        head = conn.execute("SELECT coalesce(max(seq), 0) FROM changes WHERE tenant = ?",
                            (tenant,)).fetchone()[0]
        if manifest.seq < head:
            notes.append(f"vector index of a tenant is stale ({head - manifest.seq} changes"
                         " behind; caught up from the change log on next load)")
        if manifest.seq > head:
            problems.append("vector index of a tenant: ahead of the database "
                            "(restored from another file?) (run `cortex reindex`)")
    folder = index_files.index_dir(path)
    if folder.exists():
        for graph in folder.glob("*.hnsw"):
            if not graph.with_suffix(".json").exists():
                problems.append(f"vector index file {graph.name} has no manifest (run `cortex reindex`)")
    return len(tenants)
