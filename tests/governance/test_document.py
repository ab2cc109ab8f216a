"""What a valid document is, and one-line messages for what it is not."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from cortex.core.models import Kind
from cortex.governance import ConstitutionError, ConstitutionFailure
from tests.governance.conftest import Signer, document, envelope

Change = Callable[[dict[str, Any]], None]


def _grant(**fields: Any) -> Change:
    return lambda d: d["roles"].update(writer=[{"actions": ["read"], **fields}])


@pytest.mark.parametrize(("change", "expected"), [
    (lambda d: d.update(colour="blue"), "colour: Extra inputs are not permitted"),
    (lambda d: d.pop("limits"), "limits: Field required"),
    (lambda d: d.update(version=0), "version: Input should be greater than or equal to 1"),
    (lambda d: d.update(version=True), "version: Input should be a valid integer"),
    (lambda d: d.update(version="2"), "version: Input should be a valid integer"),
    (lambda d: d.update(threshold=1.0), "threshold: Input should be a valid integer"),
    (lambda d: d.update(expires="2031-01-01T00:00:00+02:00"), "expires: must be an RFC 3339 time in UTC"),
    (lambda d: d.update(expires="2031-01-01T00:00:00"), "expires: must be an RFC 3339 time in UTC"),
    (lambda d: d.update(expires="next year"), "expires: Input should be a valid datetime"),
    (lambda d: d.update(keys={}), "keys: Dictionary should have at least 1 item"),
    (lambda d: d.update(keys={"k": "%%%"}), "keys.k: is not valid base64"),
    (lambda d: d.update(keys={"k": base64.b64encode(bytes(31)).decode()}),
     "keys.k: is 31 bytes; an Ed25519 public key is 32"),
    (lambda d: d.update(keys={"bad id!": base64.b64encode(bytes(32)).decode()}), "keys.bad id!.[key]"),
    (_grant(actions=["fly"]), "roles.writer.0.actions.0: Input should be 'read', 'write', 'admin', 'audit'"),
    (_grant(actions=[]), "roles.writer.0.actions: Tuple should have at least 1 item"),
    (_grant(kinds=["gossip"]), "roles.writer.0.kinds: unknown kind 'gossip': use * or one of document"),
    (_grant(kinds=["*", "fact"]), "roles.writer.0.kinds: * already means every kind; list it alone"),
    (_grant(kinds="*"), "roles.writer.0.kinds: Input should be a valid array"),
    (_grant(namespaces=['a" || true || "']), "roles.writer.0.namespaces.0: String should match pattern"),
    (_grant(namespaces=[]), "roles.writer.0.namespaces: Tuple should have at least 1 item"),
    (lambda d: d["roles"].pop("reader"), "roles.reader: Field required"),
    (lambda d: d["roles"].update(guest=[]), "roles.guest: Extra inputs are not permitted"),
    (lambda d: d["retention"].update(fact=0), "retention.fact: Input should be greater than or equal to 1"),
    (lambda d: d["retention"].update(gossip=3), "retention.gossip.[key]: Input should be 'episode'"),
    (lambda d: d["privacy"].update(email="shred"), "privacy.email: Input should be 'allow', 'tag', 'redact'"),
    (lambda d: d["privacy"].update({"E-Mail": "tag"}), "privacy.E-Mail.[key]: String should match pattern"),
    (lambda d: d["limits"].update(burst=0), "limits.burst: Input should be greater than or equal to 1"),
    (lambda d: d["limits"].update(rate_limit_rps=-1), "limits.rate_limit_rps: Input should be greater than"),
    (lambda d: d.update(providers=["local", "local"]), "providers lists a name twice"),
    (lambda d: d.update(providers=["Open AI"]), "providers.0: String should match pattern"),
])
def test_invalid_documents(signers: list[Signer], change: Change, expected: str) -> None:
    data = document(1, signers[:1], 1)
    change(data)
    with pytest.raises(ConstitutionError) as caught:
        envelope(data).document()
    assert caught.value.reason is ConstitutionFailure.INVALID
    message = str(caught.value)
    assert message.startswith("constitution is invalid: ") and "\n" not in message
    assert expected in message, message


def test_many_errors_are_summarised(signers: list[Signer]) -> None:
    data = document(1, signers[:1], 1)
    data.update({f"extra{i}": i for i in range(8)})
    with pytest.raises(ConstitutionError, match=r"\(and 3 more\)$"):
        envelope(data).document()


def test_the_defaults(signers: list[Signer]) -> None:
    constitution = envelope(document(1, signers[:3], 2)).document()
    assert constitution.limits.rate_limit_rps == 100.0
    assert constitution.retention_days(Kind.EPISODE) is None
    assert constitution.privacy["api_key"] == "block"
    assert [g.actions for g in constitution.roles.admin] == [("read", "write", "admin", "audit", "erase")]


def test_retention_of_an_unlisted_kind_is_forever(signers: list[Signer]) -> None:
    constitution = envelope(document(1, signers[:1], 1, retention={"episode": 30})).document()
    assert constitution.retention_days(Kind.EPISODE) == 30
    assert constitution.retention_days(Kind.FACT) is None


def test_an_integer_rate_is_a_float(signers: list[Signer]) -> None:
    data = document(1, signers[:1], 1)
    data["limits"]["rate_limit_rps"] = 5
    assert envelope(data).document().limits.rate_limit_rps == 5.0
