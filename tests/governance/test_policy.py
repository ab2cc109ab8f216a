"""Cedar decisions from the constitution's roles: real cedarpy, no mocks."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cortex.core.models import Kind
from cortex.governance import Constitution, Decision, PolicyEngine, PolicyError, SignedConstitution
from cortex.governance.document import default_document
from cortex.tenancy.principal import Principal, Role
from tests.governance.conftest import LATER

KEY = {"k": "A" * 43 + "="}  # 32 zero bytes: a well-formed key nobody needs to sign with here


def constitution(**roles: list[dict[str, Any]]) -> Constitution:
    data = default_document(KEY, 1, LATER)
    data["roles"].update(roles)
    return SignedConstitution.from_data(data).document()


@pytest.fixture(scope="module")
def engine() -> PolicyEngine:
    return PolicyEngine(constitution(
        writer=[{"actions": ["read", "write"], "kinds": ["*"], "namespaces": ["team/*", "shared"]}],
        reader=[{"actions": ["read"], "kinds": ["fact", "preference"], "namespaces": ["*"]},
                {"actions": ["audit"], "namespaces": ["audit/*"]}],
    ))


def test_a_role_grant_permits_and_names_itself(engine: PolicyEngine) -> None:
    decision = engine.decide("acme", "writer", "write", "acme", "team/notes", "fact")
    assert decision == Decision(True, "permitted by role.writer.0", ("role.writer.0",))


def test_deny_by_default(engine: PolicyEngine) -> None:
    for role, action in [("reader", "write"), ("writer", "admin"), ("writer", "erase"), ("guest", "read")]:
        decision = engine.decide("acme", role, action, "acme", "team/notes", "fact")
        assert decision == Decision(False, "no policy permits it", ()), (role, action)


def test_roles_do_not_inherit(engine: PolicyEngine) -> None:
    """Only what the constitution lists: its defaults nest the roles, the engine does not."""
    assert engine.decide("acme", "admin", "read", "acme", "x", "fact").allowed
    no_admin = PolicyEngine(constitution(admin=[]))
    assert not no_admin.decide("acme", "admin", "read", "acme", "x", "fact").allowed
    assert no_admin.decide("acme", "reader", "read", "acme", "x", "fact").allowed


def test_an_unknown_action_is_denied_without_asking_cedar(engine: PolicyEngine) -> None:
    assert engine.decide("acme", "admin", "fly", "acme", "x") == Decision(False, "unknown action 'fly'", ())


def test_cross_tenant_is_forbidden_even_for_admin(engine: PolicyEngine) -> None:
    decision = engine.decide("acme", "admin", "read", "globex", "team/notes", "fact")
    assert decision == Decision(False, "forbidden by tenant-isolation", ("tenant-isolation",))


NAMES = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)


@given(a=NAMES, b=NAMES, role=st.sampled_from(["admin", "writer", "reader", "x"]),
       action=st.sampled_from(["read", "write", "admin", "audit", "erase"]), namespace=NAMES,
       kind=st.none() | st.sampled_from([k.value for k in Kind]))
def test_no_request_crosses_tenants(engine: PolicyEngine, a: str, b: str, role: str, action: str,
                                    namespace: str, kind: str | None) -> None:
    decision = engine.decide(a, role, action, b, namespace, kind)
    if a != b:
        assert decision == Decision(False, "forbidden by tenant-isolation", ("tenant-isolation",))
    else:
        assert "tenant-isolation" not in decision.policy_ids


def test_quotes_in_values_are_data_not_policy(engine: PolicyEngine) -> None:
    sneaky = 'acme" || "" == "'
    assert not engine.decide(sneaky, "admin", "read", "acme", "x", "fact").allowed
    assert engine.decide(sneaky, "admin", "read", sneaky, 'ns"', "fact").allowed


def test_a_value_cedar_cannot_read_is_denied_not_raised(engine: PolicyEngine) -> None:
    decision = engine.decide("\ud800", "admin", "read", "\ud800", "x", "fact")
    assert decision == Decision(False, "denied: the request cannot be evaluated "
                                       "(error during entity deserialization)")


@pytest.mark.parametrize(("namespace", "allowed"), [
    ("team/a", True), ("team/a/b", True), ("team/", True), ("shared", True),
    ("team", False), ("teams/a", False), ("shared/x", False), ("xteam/a", False), ("Shared", False),
])
def test_namespace_patterns(engine: PolicyEngine, namespace: str, allowed: bool) -> None:
    assert engine.decide("acme", "writer", "write", "acme", namespace, "episode").allowed is allowed


@pytest.mark.parametrize(("kind", "allowed"), [
    ("fact", True), ("preference", True), ("episode", False), ("procedure", False), (None, False),
])
def test_kinds(engine: PolicyEngine, kind: str | None, allowed: bool) -> None:
    assert engine.decide("acme", "reader", "read", "acme", "anywhere", kind).allowed is allowed


def test_a_second_grant_of_the_same_role(engine: PolicyEngine) -> None:
    assert engine.decide("acme", "reader", "audit", "acme", "audit/2030", None) == Decision(
        True, "permitted by role.reader.1", ("role.reader.1",))
    assert not engine.decide("acme", "reader", "audit", "acme", "team/a", None).allowed


def test_kind_none_matches_only_every_kind_grants(engine: PolicyEngine) -> None:
    assert engine.decide("acme", "admin", "admin", "acme", "any", None).allowed


LEGAL = """
@id("legal-is-read-only")
forbid (principal, action == Cortex::Action::"write", resource)
when { resource.tenant == "acme" && resource.namespace like "legal/*" };
"""


def test_an_extra_forbid_overrides_a_permit() -> None:
    engine = PolicyEngine(constitution(), LEGAL)
    decision = engine.decide("acme", "admin", "write", "acme", "legal/contracts", "document")
    assert decision == Decision(False, "forbidden by legal-is-read-only", ("legal-is-read-only",))
    assert engine.decide("acme", "admin", "read", "acme", "legal/contracts", "document").allowed
    assert engine.decide("globex", "admin", "write", "globex", "legal/contracts", "document").allowed


def test_every_matching_forbid_is_named() -> None:
    engine = PolicyEngine(constitution(), LEGAL)
    decision = engine.decide("globex", "admin", "write", "acme", "legal/x", "fact")
    assert not decision.allowed
    assert sorted(decision.policy_ids) == ["legal-is-read-only", "tenant-isolation"]
    assert decision.reason.startswith("forbidden by ")


GRANT_GUESTS = """
@id("acme-guests-read-public")
permit (principal, action == Cortex::Action::"read", resource)
when { principal.role == "guest" && resource.namespace like "public/*" };
"""


def test_extra_permits_need_consent_and_never_cross_tenants() -> None:
    with pytest.raises(PolicyError, match="is a permit; extra policies may only forbid"):
        PolicyEngine(constitution(), GRANT_GUESTS)
    engine = PolicyEngine(constitution(), GRANT_GUESTS, extra_may_permit=True)
    assert engine.decide("acme", "guest", "read", "acme", "public/faq", "fact").policy_ids == (
        "acme-guests-read-public",)
    assert not engine.decide("acme", "guest", "read", "globex", "public/faq", "fact").allowed


@pytest.mark.parametrize(("extra", "expected"), [
    ('forbid (principal, action, resource) when { resource.namespace == "x" };',
     'extra policy #1 has no @id("...") annotation'),
    ('@id("tenant-isolation") forbid (principal, action, resource);', "'tenant-isolation' is already used"),
    ('@id("a") forbid (principal, action, resource);\n@id("a") forbid (principal, action, resource);',
     "'a' is already used"),
    ('@id("a") forbid (principal, action, resource', "extra policies do not parse"),
    ('@id("t") forbid (principal == ?principal, action, resource);', "may not be templates"),
    ('@id("typo") forbid (principal, action, resource) when { resource.namspace == "x" };',
     "do not match the Cortex schema: typo: "),
    ('@id("unguarded") forbid (principal, action, resource) when { resource.kind == "x" };',
     "unguarded: for policy `policy4`, unable to guarantee safety of access to optional attribute `kind`"),
])
def test_bad_extra_policies_are_refused_with_one_line(extra: str, expected: str) -> None:
    with pytest.raises(PolicyError) as caught:
        PolicyEngine(constitution(), extra)
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_an_erroring_forbid_fails_closed() -> None:
    engine = PolicyEngine(constitution(), """
@id("overflow") forbid (principal, action, resource) when { 9223372036854775807 + 1 > 0 };""")
    decision = engine.decide("acme", "admin", "read", "acme", "x", "fact")
    assert not decision.allowed and decision.policy_ids == ("overflow",)
    assert decision.reason.startswith("denied: 1 policy error(s) (fail closed), first: error while "
                                      "evaluating policy `overflow`: integer overflow")


def test_decide_for_a_principal(engine: PolicyEngine) -> None:
    caller = Principal(tenant="acme", role=Role.WRITER, subject="key:1")
    assert engine.decide_for(caller, "write", "acme", "shared", "fact").allowed
    assert not engine.decide_for(caller, "write", "globex", "shared", "fact").allowed


def test_the_entity_cache_never_changes_a_decision(engine: PolicyEngine) -> None:
    uncached = PolicyEngine(constitution(
        writer=[{"actions": ["read", "write"], "kinds": ["*"], "namespaces": ["team/*", "shared"]}],
        reader=[{"actions": ["read"], "kinds": ["fact", "preference"], "namespaces": ["*"]},
                {"actions": ["audit"], "namespaces": ["audit/*"]}],
    ), cache_size=0)
    grid = itertools.product(["acme", "globex"], ["admin", "writer", "reader"],
                             ["read", "write", "admin", "audit"], ["acme"], ["team/a", "shared", "audit/x"],
                             ["fact", "episode", None])
    for request in grid:
        assert engine.decide(*request) == uncached.decide(*request), request
        assert engine.decide(*request) == uncached.decide(*request), request  # second time: cached


def test_generated_policies_are_stable() -> None:
    text = PolicyEngine(constitution(reader=[{"actions": ["read"], "kinds": ["fact"],
                                              "namespaces": ["a/*", "b"]}])).policy_text
    assert text == PolicyEngine(constitution(reader=[{"actions": ["read"], "kinds": ["fact"],
                                                      "namespaces": ["a/*", "b"]}])).policy_text
    assert ('@id("role.reader.0")\n'
            'permit (principal is Cortex::Principal, action in [Cortex::Action::"read"], '
            'resource is Cortex::Memory)\n'
            'when { principal.role == "reader" && resource has kind && ["fact"].contains(resource.kind) '
            '&& (resource.namespace like "a/*" || resource.namespace like "b") };') in text
    assert text.startswith('@id("tenant-isolation")\nforbid')
