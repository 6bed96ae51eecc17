"""Operations endpoints: /healthz (the process answers), /readyz (it can serve; 503 with reasons if not)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

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
