"""A source store with a bit of everything, and whole-store dumps to compare two stores by.

``build_source`` writes through the real engine and the real embedding model: several
tenants, superseded versions, tags, metadata, expiring memories, a conversation (its
turns give each other full-text context), a memory about a subject with a vault item,
API keys (one revoked), signed checkpoints, a constitution, tenant policies and fusion
weights, plus optional bulk memories with precomputed unit vectors.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from ulid import ULID

from cortex import Cortex
from cortex.audit.events import event
from cortex.core.models import FusionWeights, Kind, NewMemory, Receipt, Source, content_hash, utcnow
from cortex.embed import CachingEmbedder
from cortex.governance import init
from cortex.migrate import Endpoint
from cortex.privacy.keys import KeyStore, LocalMasterKey
from cortex.privacy.records import ShieldWrite, VaultItem
from cortex.privacy.sealing import Sealer
from cortex.store import open_store

FACTS = [
    ("Ann moved to Lisbon in March and works as a marine biologist.", "people"),
    ("The deploy pipeline runs integration tests on every merge to main.", "eng"),
    ("Our office coffee machine needs descaling every two weeks.", "office"),
    ("Bob is allergic to peanuts and shellfish.", "people"),
    ("The quarterly board meeting moved to the second Thursday of the month.", "company"),
    ("PostgreSQL backups are written to the cold storage bucket at 02:00 UTC.", "eng"),
    ("Carla prefers tea over coffee and takes it without sugar.", "people"),
    ("The garden tomatoes need watering every evening in July.", "home"),
]
QUERIES = {  # query -> the text its top hit must have, on the source and on the target
    "which city did the marine biologist move to": "Ann moved to Lisbon",
    "when are database backups taken": "PostgreSQL backups",
    "food allergies": "Bob is allergic",
}
POLICIES = """@id("no-legal-writes")
forbid (principal, action == Cortex::Action::"write", resource)
when { resource.namespace like "legal/*" };
"""


@dataclass
class Built:
    url: str
    path: Path
    tenants: list[str]
    receipt: Receipt  # of an acme memory, against a checkpoint signed on the source
    audit_key: Path


def sealer_at(folder: Path, name: str) -> Sealer:
    return Sealer(KeyStore(folder / f"{name}.keys", LocalMasterKey.from_file(folder / f"{name}.master-key")))


def unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def build_source(folder: Path, embedder: CachingEmbedder, *, bulk: int = 0, subjects: bool = True) -> Built:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "source.db"
    url = f"sqlite:///{path}"
    engine = Cortex(open_store(url, dim=embedder.dim), embedder)
    try:
        receipt = _fill(engine, subjects, folder / "constitution-keys")
        if bulk:  # straight into the store (with their audit leaves): quicker than the engine
            vectors = unit_vectors(bulk, embedder.dim, 7)
            for start in range(0, bulk, 500):
                items = [_bulk_item(i) for i in range(start, min(bulk, start + 500))]
                engine.store.insert("bulk", items, vectors[start:start + len(items)], embedder.name)
    finally:
        engine.close()
    return Built(url, path, ["_system", "acme", "globex", *(["bulk"] if bulk else [])], receipt,
                 Path(f"{path}.audit-key"))


def _fill(engine: Cortex, subjects: bool, signers: Path) -> Receipt:
    later = datetime(2099, 1, 1, tzinfo=UTC)
    items = [{"text": text, "namespace": space, "tags": [space, "fact"], "kind": "fact",
              "metadata": {"source": "interview", "rank": i, "nested": {"ok": i % 2 == 0}}}
             for i, (text, space) in enumerate(FACTS)]
    items.append({"text": "The trial licence expires at the end of the century.", "namespace": "eng",
                  "expires_at": later.isoformat()})
    items.append({"text": "A reminder that disappears in an hour.", "namespace": "eng", "ttl": 3600})
    acme = [r.memory for r in engine.remember_many(items, tenant="acme")]
    for turn, (speaker, said) in enumerate([("ann", "Did you book the flights to Porto?"),
                                            ("bob", "Yes, last night, for the 14th of May."),
                                            ("ann", "Great, then I will reserve the hotel.")]):
        engine.remember(said, tenant="acme", namespace="chat", occurred_at=f"2024-05-0{turn + 1}T10:00:00Z",
                        source={"session": "trip", "speaker": speaker})
    second = engine.update(acme[2].id, text="Our office coffee machine needs descaling every week.",
                           tenant="acme")
    engine.update(second.id, text="Our office coffee machine was replaced; no descaling needed.",
                  tenant="acme", tags=["office", "fact", "updated"])
    engine.forget(acme[7].id, tenant="acme")  # a deletion leaves only its audit leaf
    first = engine.audit.checkpoint("acme")
    assert first is not None
    engine.remember_many([{"text": "Globex ships widgets from Rotterdam.", "namespace": "ops"},
                          {"text": "Globex's fiscal year starts in April.", "namespace": "finance"}],
                         tenant="globex")
    engine.set_fusion_weights(FusionWeights(dense=0.55, bm25=0.45), tenant="globex")
    keep = engine.keys.create("acme", "admin", name="ops laptop")
    gone = engine.keys.create("acme", "reader", namespaces=["people"], name="old dashboard",
                              expires_at=utcnow() + timedelta(days=30))
    engine.keys.create("globex", "writer")
    engine.keys.revoke("acme", gone.record.id)
    assert keep.record.revoked_at is None
    engine.governance.apply(init(signers, 3, 2))  # a signed constitution, 2 of 3 keys
    engine.governance.set_tenant_policies("acme", POLICIES)
    if subjects:
        engine.remember("Ann's new phone number ends in 4411.", tenant="acme", namespace="people",
                        subject="user:ann")
        _with_vault(engine)
    receipt = engine.audit.receipt("acme", acme[0].id)  # signs a checkpoint of everything so far
    engine.remember("Written after the last checkpoint.", tenant="acme")
    engine.audit.checkpoint("globex")
    return receipt


def _bulk_item(n: int) -> NewMemory:
    now = utcnow()
    text = f"bulk note {n}: {FACTS[n % len(FACTS)][0]}"
    return NewMemory(id=str(ULID()), namespace="bulk", kind=Kind.EPISODE, text=text, metadata={"n": n},
                     tags=[f"t{n % 3}"], source=Source(session=f"s{n // 10}", speaker="ann"), importance=0.5,
                     created_at=now, occurred_at=None, valid_from=now, expires_at=None,
                     content_hash=content_hash(text))


def _with_vault(engine: Cortex) -> None:
    """A memory whose e-mail address was tokenized: the original waits in the vault."""
    now = utcnow()
    text = "Ann's personal e-mail is [EMAIL_1]."
    item = NewMemory(id=str(ULID()), namespace="people", kind=Kind.FACT, text=text, metadata={},
                     tags=["pii"], source=Source(agent="test"), importance=0.5, created_at=now,
                     occurred_at=None, valid_from=now, expires_at=None, content_hash=content_hash(text),
                     subject="user:ann")
    vector = engine.embedder.embed_batch([text])
    shield = ShieldWrite(vault=[VaultItem("[EMAIL_1]", "email", "ann@example.com")],
                         events=[event("acme", "privacy.tokenize", now, memory_id=item.id)])
    engine.store.insert("acme", [item], vector, engine.embedder.name, {item.id: shield})


def copy_source(template: Built, folder: Path) -> Built:
    """The template's files (database, keys, signing key) in another folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for file in template.path.parent.iterdir():
        if file.name.startswith(template.path.name):
            shutil.copy2(file, folder / file.name)
    path = folder / template.path.name
    return Built(f"sqlite:///{path}", path, template.tenants, template.receipt, Path(f"{path}.audit-key"))


def dump(endpoint: Endpoint, tenants: list[str], *, sessions: bool = False) -> dict[str, Any]:
    """Everything a migration copies, opened and backend-neutral: equal dumps, equal stores."""
    reader = endpoint.reader
    out: dict[str, Any] = {"constitutions": reader.constitutions()}
    for tenant in tenants:
        memories, after = [], 0
        while page := reader.memories(tenant, after, 500):
            after = page[-1][0]
            memories += [record for _, record in page]
        out[tenant] = {
            "memories": memories, "leaves": reader.leaves(tenant, 0, 10**9),
            "checkpoints": reader.checkpoints(tenant), "keys": reader.keys(tenant),
            "settings": reader.settings(tenant), "policies": reader.policies(tenant),
            "counts": reader.counts(tenant).as_dict() | ({} if sessions else {"sessions": 0}),
            "usage": endpoint.store.usage(tenant)}
        if sessions:
            out[tenant]["sessions"] = reader.sessions(tenant)
    return out


__all__ = ["FACTS", "QUERIES", "Built", "build_source", "copy_source", "dump", "sealer_at", "unit_vectors"]
