"""The PostgreSQL + pgvector backend (``postgresql://`` URLs; ``pip install 'cortex-memory[postgres]'``)."""
