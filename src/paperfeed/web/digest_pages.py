"""Subscribe, confirm, preferences, unsubscribe and the demo outbox. Thin over digests/."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, BackgroundTasks, Form, HTTPException, Query, Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from paperfeed.config import Settings
from paperfeed.digests import subscriptions as subs
from paperfeed.digests.models import Subscription
from paperfeed.digests.outbox import list_outbox, outbox_dir, read_outbox
from paperfeed.http.csrf import CsrfDep
from paperfeed.http.deps import SettingsDep, session_factory
from paperfeed.web.templating import CSP, http_url, render

router = APIRouter(include_in_schema=False)

TokenQ = Annotated[str, Query(max_length=400)]
TokenF = Annotated[str, Form(max_length=400)]


def _message(request: Request, title: str, text: str, *, status: int = 200, **extra: Any) -> Response:
    context = {"title": title, "text": text, "links": [], **extra}
    return render(request, "subscribe_message.html", context, status_code=status)


def _bad_link(request: Request, exc: subs.TokenError) -> Response:
    return _message(request, "This link does not work", str(exc), status=400)


@router.get("/subscribe", name="subscribe")
def subscribe_page(request: Request) -> Response:
    """A page with just the subscribe form (the same form sits in every page's footer)."""
    return render(request, "subscribe.html", {"error": None, "email": ""})


@router.post("/subscribe")
def subscribe_post(
    request: Request,
    settings: SettingsDep,
    background: BackgroundTasks,
    _csrf: CsrfDep,
    email: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """Double opt-in: the same answer for every valid address; the mail goes out after the response."""
    factory = session_factory(request)
    try:
        mailing = subs.subscribe(factory, settings, email)
    except subs.SubscriptionError as exc:
        return render(request, "subscribe.html", {"error": str(exc), "email": email[:254]}, status_code=400)
    if mailing is not None:
        # After the response: SMTP's speed or failure can neither delay nor change the answer.
        background.add_task(subs.send_mailing, factory, settings, mailing)
    return _message(
        request,
        "Check your inbox",
        "If this address can get mail from us, a message is on its way: open the link in it to confirm "
        "your subscription (or to change it, if you are already subscribed). Nothing is sent until you do.",
    )


@router.get("/subscribe/confirm")
def confirm_page(request: Request, settings: SettingsDep, token: TokenQ = "") -> Response:
    """The page a confirmation link opens: a button that confirms. A GET changes nothing (mail scanners
    fetch links, and must not complete a double opt-in for the reader)."""
    with session_factory(request)() as session:
        try:
            sub = subs.subscription_for(session, settings, token, subs.CONFIRM)
        except subs.TokenError as exc:
            return _bad_link(request, exc)
        if sub.status == "active":
            return _subscribed(request, settings, sub)
        return render(request, "subscribe_confirm.html", {"email": sub.email, "token": token})


@router.post("/subscribe/confirm")
def confirm_post(request: Request, settings: SettingsDep, _csrf: CsrfDep, token: TokenF = "") -> Response:
    """Confirm a subscription from the landing page's button (idempotent)."""
    try:
        sub = subs.confirm(session_factory(request), settings, token)
    except subs.TokenError as exc:
        return _bad_link(request, exc)
    return _subscribed(request, settings, sub)


def _subscribed(request: Request, settings: Settings, sub: Subscription) -> Response:
    prefs = f"/preferences?token={subs.preferences_token(settings, sub)}"
    return _message(
        request,
        "You are subscribed",
        f"Trending papers will arrive at {sub.email} "
        + ("every weekday" if sub.frequency == "daily" else "every Monday")
        + ". Choose daily or weekly, categories, saved searches or authors to follow on your "
        "preferences page.",
        links=[("Set your preferences", prefs)],
    )


@router.get("/preferences", name="preferences")
def preferences_page(
    request: Request, settings: SettingsDep, token: TokenQ = "", saved: Annotated[int, Query()] = 0
) -> Response:
    """The preferences form, reached by the signed link in every digest."""
    with session_factory(request)() as session:
        try:
            sub = subs.subscription_for(session, settings, token, subs.PREFERENCES)
        except subs.TokenError as exc:
            return _bad_link(request, exc)
        context = {
            "sub": sub,
            "prefs": sub.preferences(),
            "token": token,
            "error": None,
            "saved": bool(saved),
        }
        context["unsubscribe_url"] = f"/unsubscribe?token={subs.unsubscribe_token(settings, sub)}"
        return render(request, "preferences.html", context)


@router.post("/preferences")
async def preferences_post(request: Request, settings: SettingsDep, _csrf: CsrfDep) -> Response:
    """Save the preferences form, then show it again (303 to the GET)."""
    form = await request.form()
    token = str(form.get("token", ""))[:400]
    fields = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    factory = session_factory(request)
    try:
        prefs = subs.parse_preferences(fields)
    except subs.SubscriptionError as exc:
        with factory() as session:
            try:
                sub = subs.subscription_for(session, settings, token, subs.PREFERENCES)
            except subs.TokenError as bad:
                return _bad_link(request, bad)
            shown = {
                "frequency": fields.get("frequency", sub.frequency),
                "categories": fields.get("categories", "").split(),
                "saved_searches": fields.get("saved_searches", "").splitlines(),
                "authors": fields.get("authors", "").splitlines(),
                "max_papers": fields.get("max_papers", sub.max_papers),
                "only_code": "only_code" in fields,
            }
            context = {"sub": sub, "prefs": shown, "token": token, "error": str(exc), "saved": False}
            context["unsubscribe_url"] = f"/unsubscribe?token={subs.unsubscribe_token(settings, sub)}"
            return render(request, "preferences.html", context, status_code=400)
    try:
        subs.update_preferences(factory, settings, token, prefs)
    except subs.TokenError as exc:
        return _bad_link(request, exc)
    return RedirectResponse(f"/preferences?{urlencode({'token': token, 'saved': 1})}", status_code=303)


@router.get("/unsubscribe")
def unsubscribe_page(request: Request, settings: SettingsDep, token: TokenQ = "") -> Response:
    """Ask before unsubscribing: a GET (link scanners follow links) never changes anything."""
    with session_factory(request)() as session:
        try:
            sub = subs.subscription_for(session, settings, token, subs.UNSUBSCRIBE)
        except subs.TokenError as exc:
            return _bad_link(request, exc)
        return render(request, "subscribe_stop.html", {"email": sub.email, "token": token})


@router.post("/unsubscribe")
def unsubscribe_post(request: Request, settings: SettingsDep, _csrf: CsrfDep, token: TokenF = "") -> Response:
    """Unsubscribe from the confirm page's button (idempotent)."""
    try:
        sub = subs.unsubscribe(session_factory(request), settings, token)
    except subs.TokenError as exc:
        return _bad_link(request, exc)
    return _message(
        request,
        "You are unsubscribed",
        f"No more digests will be sent to {sub.email}. You can subscribe again at any time.",
    )


@router.get("/unsubscribe/one-click")
def unsubscribe_one_click_get(token: TokenQ = "") -> Response:
    """A mail client without RFC 8058 support opens the URL in a browser: show the confirm page."""
    return RedirectResponse(f"/unsubscribe?{urlencode({'token': token})}", status_code=303)


@router.post("/unsubscribe/one-click")
def unsubscribe_one_click(request: Request, settings: SettingsDep, token: TokenQ = "") -> Response:
    """RFC 8058 one-click unsubscribe: the mail client POSTs `List-Unsubscribe=One-Click` without cookies.

    The signed token is the authorisation (hence no CSRF check); idempotent; 200, never a redirect.
    """
    try:
        subs.unsubscribe(session_factory(request), settings, token)
    except subs.TokenError:
        return PlainTextResponse("invalid unsubscribe link\n", status_code=400)
    return PlainTextResponse("unsubscribed\n")


# A request that came through a proxy is not from this machine, whatever its TCP peer is.
_FORWARDED = ("forwarded", "x-forwarded-for", "x-forwarded-host", "x-real-ip")


def _from_this_machine(request: Request) -> bool:
    """True when the TCP peer is a loopback address and no proxy forwarded the request."""
    try:
        peer = ipaddress.ip_address(request.client.host if request.client else "")
    except ValueError:
        return False
    if isinstance(peer, ipaddress.IPv6Address) and peer.ipv4_mapped is not None:
        peer = peer.ipv4_mapped
    return peer.is_loopback and not any(name in request.headers for name in _FORWARDED)


def _demo_only(request: Request, settings: Any) -> None:
    # The outbox shows every mail the demo sent, confirm and password-reset links included: it exists in
    # demo mode only, and answers only a browser on the machine the demo runs on (404 to anyone else).
    if not settings.demo or not _from_this_machine(request):
        raise HTTPException(404, "Not Found")


@router.get("/dev/outbox", name="outbox")
def outbox_page(request: Request, settings: SettingsDep) -> Response:
    """The demo's received mail (demo mode and loopback clients only; 404 otherwise)."""
    _demo_only(request, settings)
    entries = list_outbox(outbox_dir(settings))
    return render(request, "outbox.html", {"entries": entries, "message": None})


@router.get("/dev/outbox/{key}")
def outbox_message(request: Request, settings: SettingsDep, key: str) -> Response:
    """One received message: headers, the text part, and the HTML part in a sandboxed frame."""
    _demo_only(request, settings)
    found = read_outbox(outbox_dir(settings), key)
    if found is None:
        raise HTTPException(404, "No such message in the outbox.")
    msg, raw = found
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    text_body = text.get_content() if text is not None else None
    # The text part's links as real links, so the demo's confirm/preferences links are one click away.
    # (Sentence punctuation after a URL is not part of it: "subscribed at http://host:8000." links the host.)
    urls = [u.rstrip(".,;:!?)") for u in re.findall(r"https?://[^\s<>\"']+", text_body or "")]
    context: dict[str, Any] = {
        "entries": None,
        "key": key,
        "message": msg,
        "headers": [(k, str(v)) for k, v in msg.items()],
        "text": text_body,
        "html": html.get_content() if html is not None else None,
        "raw": raw.decode("utf-8", "replace"),
        # Action links (confirm, preferences) before bare site links.
        "links": sorted(
            (u for u in dict.fromkeys(urls) if http_url(u)), key=lambda u: urlsplit(u).path in ("", "/")
        ),
    }
    response = render(request, "outbox.html", context)
    # The page may frame only our own sandboxed HTML view of the message.
    response.headers["Content-Security-Policy"] = CSP.replace(
        "frame-ancestors 'none'", "frame-ancestors 'none'; frame-src 'self'"
    )
    return response


@router.get("/dev/outbox/{key}/html")
def outbox_message_html(request: Request, settings: SettingsDep, key: str) -> Response:
    """The HTML part alone, for the outbox page's sandboxed iframe: no script, no network, inline CSS only."""
    _demo_only(request, settings)
    found = read_outbox(outbox_dir(settings), key)
    html = found[0].get_body(preferencelist=("html",)) if found else None
    if html is None:
        raise HTTPException(404, "No HTML part.")
    response = Response(html.get_content(), media_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = (
        "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
