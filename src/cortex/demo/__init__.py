"""Data for ``cortex demo``: a short conversation between two friends over three sessions."""
