"""``cortex migrate``: copy tenants between stores (SQLite and PostgreSQL, either way).

Rows are copied as stored, through a reader over the source's tables and a writer over
the target's (``base.Reader``, ``base.Writer``): vectors without embedding again, audit
leaves and signed checkpoints verbatim (the Merkle roots stay the same), API keys with
their secret hashes, settings, policies and constitutions. Text and metadata are opened
with the source's sealer and sealed again by the target's. Batches commit on their own
and a re-run skips what is there, so an interrupted migration is resumed by running it
again; it ends by comparing counts, audit roots and a sample of memories.
"""

from cortex.migrate.base import Endpoint, Reader, Writer
from cortex.migrate.copy import Copied, Copier, Progress, TenantCopy
from cortex.migrate.endpoints import open_endpoint
from cortex.migrate.run import Options, Report, migrate
from cortex.migrate.verify import Verified, verify

__all__ = [
    "Copied",
    "Copier",
    "Endpoint",
    "Options",
    "Progress",
    "Reader",
    "Report",
    "TenantCopy",
    "Verified",
    "Writer",
    "migrate",
    "open_endpoint",
    "verify",
]
