"""The Python SDK: the engine's methods over HTTP, sync (``CortexClient``) or async.

    from cortex.client import CortexClient
    with CortexClient("http://127.0.0.1:8080", api_key="ctx_...") as mem:
        mem.remember("Caroline went to the support group on 7 May 2023", namespace="user:caroline")
        hits = mem.recall("When did Caroline go to the support group?", namespace="user:caroline")

Errors are the engine's own classes (``cortex.core.errors``), mapped back from problem+json.
"""

from cortex.client.aio import AsyncCortexClient
from cortex.client.sync import CortexClient

__all__ = ["AsyncCortexClient", "CortexClient"]
