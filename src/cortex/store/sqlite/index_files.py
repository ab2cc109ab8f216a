"""Saving and loading HNSW graphs beside the database file.

Each tenant's graph is ``<db>.cortex-index/<key>.hnsw`` with a JSON manifest holding the
file's SHA-256 and the change-log position it reflects. A graph whose checksum does not
match is corrupt and is never handed to hnswlib (which would trust it blindly); a graph
behind the change log is stale and is caught up on load.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMAT = 1


@dataclass(frozen=True)
class Manifest:
    tenant: str
    seq: int
    dim: int
    sha256: str
    elements: int


def index_dir(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".cortex-index")


def _key(tenant: str) -> str:
    return hashlib.sha1(tenant.encode("utf-8")).hexdigest()[:16]


def graph_path(db_path: Path, tenant: str) -> Path:
    return index_dir(db_path) / f"{_key(tenant)}.hnsw"


def manifest_path(db_path: Path, tenant: str) -> Path:
    return index_dir(db_path) / f"{_key(tenant)}.json"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def save(db_path: Path, tenant: str, graph: Any, seq: int, dim: int) -> None:
    """Write graph then manifest, each atomically (temp file + rename)."""
    folder = index_dir(db_path)
    folder.mkdir(exist_ok=True)
    target = graph_path(db_path, tenant)
    tmp = target.with_suffix(".hnsw.tmp")
    graph.save_index(str(tmp))
    manifest = {"format": FORMAT, "tenant": tenant, "seq": seq, "dim": dim,
                "sha256": file_sha256(tmp), "elements": int(graph.get_current_count())}
    os.replace(tmp, target)
    mtmp = manifest_path(db_path, tenant).with_suffix(".json.tmp")
    mtmp.write_text(json.dumps(manifest, sort_keys=True), encoding="utf-8")
    os.replace(mtmp, manifest_path(db_path, tenant))


def read_manifest(db_path: Path, tenant: str) -> Manifest | None:
    path = manifest_path(db_path, tenant)
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Manifest(tenant=raw["tenant"], seq=int(raw["seq"]), dim=int(raw["dim"]),
                        sha256=str(raw["sha256"]), elements=int(raw["elements"]))
    except (ValueError, KeyError, TypeError):
        return None


def verify(db_path: Path, tenant: str) -> tuple[Manifest | None, str | None]:
    """(manifest, problem): problem is None when the graph file is intact."""
    manifest = read_manifest(db_path, tenant)
    path = graph_path(db_path, tenant)
    if manifest is None:
        return None, "manifest missing or unreadable" if path.exists() else "no saved graph"
    if manifest.tenant != tenant:
        return manifest, "manifest belongs to another tenant"
    if not path.exists():
        return manifest, "graph file missing"
    if file_sha256(path) != manifest.sha256:
        return manifest, "graph file checksum mismatch (corrupt)"
    return manifest, None


def load(db_path: Path, tenant: str, dim: int) -> tuple[Any, Manifest] | None:
    """The saved graph if it is intact and of the right dimension, else None."""
    import hnswlib

    manifest, problem = verify(db_path, tenant)
    if problem is not None or manifest is None or manifest.dim != dim:
        return None
    graph = hnswlib.Index(space="ip", dim=dim)
    graph.load_index(str(graph_path(db_path, tenant)), allow_replace_deleted=False)
    return graph, manifest


def remove(db_path: Path, tenant: str) -> None:
    """Delete one tenant's saved graph (it is rebuilt from the vectors table)."""
    for path in (graph_path(db_path, tenant), manifest_path(db_path, tenant)):
        path.unlink(missing_ok=True)


def remove_all(db_path: Path) -> None:
    folder = index_dir(db_path)
    if folder.exists():
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()


def saved_tenants(db_path: Path) -> list[str]:
    folder = index_dir(db_path)
    if not folder.exists():
        return []
    tenants = []
    for child in sorted(folder.glob("*.json")):
        try:
            tenants.append(str(json.loads(child.read_text(encoding="utf-8"))["tenant"]))
        except (ValueError, KeyError, TypeError):
            continue
    return tenants
