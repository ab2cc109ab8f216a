"""The privacy shield: detection, actions, encryption at rest, erasure."""
