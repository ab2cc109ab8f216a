"""The ``cortex`` command line: a thin front end over ``cortex.Cortex``."""

from cortex.cli.app import app, main

__all__ = ["app", "main"]
