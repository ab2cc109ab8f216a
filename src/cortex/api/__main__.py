"""``python -m cortex.api > docs/openapi.json``: write the committed OpenAPI document."""

from __future__ import annotations

import json
import sys

from cortex.api.app import create_app
from cortex.core.config import Settings


def main() -> None:
    # Building the schema opens nothing: the store and model are opened by the lifespan.
    schema = create_app(Settings.load()).openapi()
    sys.stdout.write(json.dumps(schema, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
