"""The /v1 resources, one module per noun."""
