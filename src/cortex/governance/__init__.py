"""Governance: the signed constitution (k-of-n, TUF-style rotation) and policy decisions.

    from cortex.governance import load, verify_root, verify_chain, PolicyEngine

    trusted = load("constitution.v1.json")          # pinned by the operator
    constitution = verify_root(trusted)
    constitution = verify_chain(trusted, load("constitution.v2.yaml"))
    engine = PolicyEngine(constitution)
    engine.decide("acme", "writer", "write", "acme", "team/notes", "fact").allowed
"""

from cortex.governance.constitution import (
    diff,
    init,
    verify_chain,
    verify_root,
    verify_updates,
)
from cortex.governance.document import Constitution, GovernedAction, Grant, Limits, PrivacyAction, Roles
from cortex.governance.errors import ConstitutionError, ConstitutionFailure, PolicyError
from cortex.governance.files import dump, dumps, load, loads
from cortex.governance.policy import Decision, PolicyEngine
from cortex.governance.signing import Signature, SignedConstitution, canonical_json, key_id, sign

__all__ = [
    "Constitution",
    "ConstitutionError",
    "ConstitutionFailure",
    "Decision",
    "GovernedAction",
    "Grant",
    "Limits",
    "PolicyEngine",
    "PolicyError",
    "PrivacyAction",
    "Roles",
    "Signature",
    "SignedConstitution",
    "canonical_json",
    "diff",
    "dump",
    "dumps",
    "init",
    "key_id",
    "load",
    "loads",
    "sign",
    "verify_chain",
    "verify_root",
    "verify_updates",
]
