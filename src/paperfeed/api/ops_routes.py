"""Operations endpoints: /healthz (the process answers), /readyz (it can serve; 503 with reasons if not)."""

from __future__ import annotations

import hmac
from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from paperfeed.errors import NotFound
from paperfeed.http.deps import FactoryDep, SettingsDep
from paperfeed.ops.health import readiness
from paperfeed.ops.status import pipeline_status_or_none
from paperfeed.search.keyword import keyword_dir

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness: the process runs and answers; it touches nothing else (a load balancer polls it often)."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(settings: SettingsDep, factory: FactoryDep) -> JSONResponse:
    """Readiness: database reachable, schema current, index lag and backlogs within limits."""
    verdict = await run_in_threadpool(
        readiness,
        factory,
        keyword_root=keyword_dir(settings),
        now=datetime.now(UTC),
        max_index_lag_s=settings.ready_max_index_lag_s,
        max_embed_backlog=settings.ready_max_embed_backlog,
        require_index=settings.search_maintainer,
    )
    body = {"status": "ready" if verdict.ready else "not ready", "reasons": verdict.reasons, **verdict.checks}
    # The worker pipeline's state is shown, never a reason for 503: a web node serves whatever the jobs do.
    body["jobs"] = await run_in_threadpool(pipeline_status_or_none, factory, datetime.now(UTC))
    # no-store: a cache between the balancer and the node must never answer for it.
    headers = {"Cache-Control": "no-store"}
    return JSONResponse(body, status_code=200 if verdict.ready else 503, headers=headers)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, settings: SettingsDep) -> Response:
    """Prometheus text format: request and search latency, and the database's counts (when enabled)."""
    if not settings.metrics_enabled:
        raise NotFound("metrics are off (PAPERFEED_METRICS_ENABLED)")
    if settings.metrics_token:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {settings.metrics_token}".encode()):
            return Response(
                "metrics need a bearer token\n", status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
    # The database collector runs queries: off the event loop.
    body = await run_in_threadpool(generate_latest, request.app.state.metrics.registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})
