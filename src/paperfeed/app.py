"""The ASGI application factory: engine, sessions, templates, static files and routers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from starlette.responses import Response

from paperfeed.api.account_routes import router as api_account_router
from paperfeed.api.community_routes import router as api_community_router
from paperfeed.api.ops_routes import router as ops_router
from paperfeed.api.recommend_routes import router as api_recommend_router
from paperfeed.api.repos import router as api_repos_router
from paperfeed.api.routes import router as api_router
from paperfeed.api.search_routes import router as api_search_router
from paperfeed.api.trending_routes import router as api_trending_router
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.http.csrf import CsrfCookieMiddleware
from paperfeed.http.errors import install_error_handlers
from paperfeed.http.headers import SecurityHeadersMiddleware
from paperfeed.http.observe import Metrics, ObserveMiddleware
from paperfeed.http.session import LoginSessionMiddleware
from paperfeed.jobs.queue import start_in_process
from paperfeed.ops.metrics import DatabaseCollector
from paperfeed.search.maintainer import start_for_app
from paperfeed.search.service import create_search_service
from paperfeed.web.account_pages import router as account_pages_router
from paperfeed.web.author_pages import router as author_pages_router
from paperfeed.web.category_pages import router as category_pages_router
from paperfeed.web.community_pages import router as community_pages_router
from paperfeed.web.digest_pages import router as digest_pages_router
from paperfeed.web.feeds import router as feeds_router
from paperfeed.web.for_you_pages import router as for_you_pages_router
from paperfeed.web.onboarding_pages import router as onboarding_pages_router
from paperfeed.web.pages import router as pages_router
from paperfeed.web.paper_formats import router as paper_formats_router
from paperfeed.web.search_pages import router as search_pages_router
from paperfeed.web.templating import HERE as WEB_DIR
from paperfeed.web.templating import make_templates, render
from paperfeed.web.trending_pages import router as trending_pages_router


def _error_page(request: Request, status: int, message: str) -> Response:
    return render(request, "error.html", {"status": status, "message": message}, status_code=status)


def create_app(settings: Settings) -> FastAPI:
    """Build the app for `settings`; it neither migrates nor loads data (the CLI does)."""
    engine = make_engine(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Search: keeps the keyword and vector indexes in step with the database when enabled.
        maintainer = start_for_app(settings, _app.state.sessionmaker, _app.state.search)
        jobs = start_in_process(settings)  # huey consumer, when jobs_in_process is on
        yield
        if jobs is not None:
            jobs.stop(graceful=True)
        if maintainer is not None:
            maintainer.stop(timeout=10)
        engine.dispose()

    # fastapi-offline serves Swagger UI from the package, not a CDN: /docs works on an offline machine.
    app = FastAPIOffline(
        title=settings.site_name,
        summary="Trending research papers: daily lists, paper pages, feeds and a Hugging Face-style API.",
        version="0.1.0",
        docs_url="/docs",
        redoc_url=None,
        static_url="/static-docs",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.templates = make_templates()
    app.state.search = create_search_service(settings, app.state.sessionmaker)
    app.state.metrics = Metrics.create()
    if settings.metrics_enabled:
        app.state.metrics.registry.register(DatabaseCollector(app.state.sessionmaker))

    app.add_middleware(CsrfCookieMiddleware, secure=settings.base_url.startswith("https://"))
    # Sets request.state.user for every request (pages, API, error pages): see http/session.py.
    app.add_middleware(LoginSessionMiddleware)
    # Outermost, so every answer (pages, API, feeds, static files, error pages, /docs) gets nosniff.
    app.add_middleware(SecurityHeadersMiddleware, docs_path="/docs")
    # Outermost of all: the request id is set before anything logs, and the time covers every layer.
    app.add_middleware(ObserveMiddleware, metrics=app.state.metrics, access=settings.log_access)
    install_error_handlers(app, page=_error_page)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
    # Specific routes first: /api/papers/search and /papers/{id:path} overlap, and the first match wins.
    for router in (
        ops_router,
        api_search_router,
        api_trending_router,
        api_community_router,
        api_recommend_router,
        api_account_router,
        api_router,
        api_repos_router,
        search_pages_router,
        trending_pages_router,
        for_you_pages_router,
        digest_pages_router,
        onboarding_pages_router,
        account_pages_router,
        author_pages_router,
        community_pages_router,
        feeds_router,
        category_pages_router,
        paper_formats_router,
        pages_router,
    ):
        app.include_router(router)
    return app
