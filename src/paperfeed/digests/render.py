"""Rendering a digest (and the confirmation mail) as one multipart/alternative message: text + HTML.

Templates live in digests/templates and use their own Jinja2 environment: autoescape for .html, none for
.txt. Every value from a paper goes through `plain` first (controls, CR/LF and bidi overrides folded to a
space), so a hostile title can neither break the text layout nor reach a header; the HTML part escapes it
as well. LaTeX is shown as its source (mail clients do not render MathML reliably).

Fast path: `DigestRenderer(settings)` compiles the templates and keys once; reuse one per process and call
`render_digest_from(papers, ..., renderer=r)` with papers preloaded (SelectionContext.papers).
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.contentmanager import raw_data_manager
from email.message import EmailMessage, MIMEPart
from email.policy import Compat32, Policy
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import jinja2
from markupsafe import Markup
from sqlalchemy.orm import Session

from paperfeed.config import Settings
from paperfeed.digests.for_you import is_for_you, shown_reason
from paperfeed.digests.models import Subscription
from paperfeed.digests.periods import Period
from paperfeed.digests.select import DigestPaper, Pick, load_papers
from paperfeed.mail import header_text, mail_domain
from paperfeed.recommend.mail_links import rating_token
from paperfeed.signing import serializer

__all__ = [
    "DigestRenderer",
    "excerpt",
    "plain",
    "render_confirmation",
    "render_digest",
    "render_digest_from",
]

TEMPLATES = Path(__file__).parent / "templates"
# C0/C1 controls (CR, LF, TAB...), DEL, and the bidi overrides that can disguise text.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]+")
_SPACES = re.compile(r"\s+")
_PARAGRAPH = re.compile(r"\n\s*\n")
MAX_AUTHORS = 5


def plain(text: str | None) -> str:
    """One line of text: control characters (CR/LF too) folded to a space, whitespace collapsed."""
    if not text:
        return ""
    return _SPACES.sub(" ", _CONTROLS.sub(" ", text)).strip()


def excerpt(abstract: str, limit: int = 420) -> str:
    """The abstract's first paragraph as one line, cut at a word near `limit` characters."""
    first = _PARAGRAPH.split(abstract.strip(), maxsplit=1)[0] if abstract else ""
    text = plain(first)
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    head = text[: cut if cut > 0 else limit]
    if (head.count("$") - head.count("\\$")) % 2:  # stopped inside $...$ math: back up before it
        head = head[: head.rfind("$")]
    return head.rstrip(" ,;:") + " …"


def _http(url: str | None) -> str | None:
    if not url:
        return None
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or _CONTROLS.search(url):
        return None
    return url


@dataclass(frozen=True, slots=True)
class _Link:
    label: str
    url: str


@dataclass(frozen=True, slots=True)
class _Item:
    title: str
    authors: str
    excerpt: str
    reason: str
    page_url: str
    links: tuple[_Link, ...]


@dataclass(frozen=True, slots=True)
class _ForYou:
    """A For-you paper of one digest: its block and this reader's rating links."""

    item: _Rendered
    more_url: str | None
    less_url: str | None


@dataclass(frozen=True, slots=True)
class _Rendered:
    """One paper's block, rendered once per (paper, reason) and reused for every subscriber."""

    title: str
    html: Markup
    text: str


def _stars(n: int) -> str:
    return f"{n / 1000:.1f}k".replace(".0k", "k") if n >= 10_000 else f"{n:,}"


_KIND_LABELS = {"github": "GitHub", "gitlab": "GitLab", "huggingface": "Hugging Face", "zenodo": "Zenodo"}


class DigestRenderer:
    """Compiled templates, signing keys and site values for rendering many mails with one settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES),
            autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        env.filters["plain"] = plain
        self.env = env
        self.digest_html = env.get_template("digest.html")
        self.digest_txt = env.get_template("digest.txt")
        self.confirm_html = env.get_template("confirm.html")
        self.confirm_txt = env.get_template("confirm.txt")
        self.base_url = settings.base_url.rstrip("/")
        self.site = plain(settings.site_name) or "paperfeed"
        self.domain = mail_domain(settings)
        self.list_id = encode_header(f"{self.site} digest <digest.{self.domain}>")
        self._unsub = serializer(settings, "unsubscribe")
        self._prefs = serializer(settings, "preferences")
        self.item_html = env.get_template("_item.html")
        self.item_txt = env.get_template("_item.txt")
        self._items: dict[tuple[int, str], _Rendered] = {}
        self._titles: dict[Period, str] = {}

    def unsubscribe_token(self, sub: Subscription) -> str:
        """The signed unsubscribe token of a subscription (never expires)."""
        return str(self._unsub.dumps({"s": sub.id, "v": sub.token_version}))

    def preferences_token(self, sub: Subscription) -> str:
        """The signed preferences token of a subscription (revoked by bumping token_version)."""
        return str(self._prefs.dumps({"s": sub.id, "v": sub.token_version}))

    def _item(self, paper: DigestPaper, reason: str) -> _Rendered:
        cached = self._items.get((paper.id, reason))
        if cached is not None:
            return cached
        names = [plain(n) for n in paper.authors]
        authors = ", ".join(names[:MAX_AUTHORS]) + (" et al." if len(names) > MAX_AUTHORS else "")
        links = []
        if paper.arxiv_id:
            links.append(_Link("arXiv", f"https://arxiv.org/abs/{quote(paper.arxiv_id, safe='/.')}"))
        for link in paper.code_links:
            url = _http(link.url)
            if url is None:
                continue
            label = _KIND_LABELS.get(link.kind, "Code")
            if link.stars is not None:
                label += f" ★ {_stars(link.stars)}"
            links.append(_Link(label, url))
            if len(links) >= 3:
                break
        item = _Item(
            title=plain(paper.title),
            authors=authors,
            excerpt=excerpt(paper.abstract),
            reason=plain(shown_reason(reason)),
            page_url=f"{self.base_url}/papers/{quote(paper.key, safe='/:')}",
            links=tuple(links),
        )
        context = {"item": item, "site": self.site}
        # The block comes from an autoescaping template: already safe HTML, so it is marked as such.
        html = Markup(self.item_html.render(context))  # noqa: S704
        rendered = _Rendered(item.title, html, self.item_txt.render(context))
        if len(self._items) < 50_000:  # bounded: a long-lived worker must not grow without end
            self._items[(paper.id, reason)] = rendered
        return rendered

    def _rating_urls(self, rater: int | None, paper_id: int) -> tuple[str | None, str | None]:
        """The paper's "More like this" and "Less like this" links for this reader (None without one)."""
        if rater is None:
            return None, None
        more = rating_token(self.settings, user_id=rater, paper_id=paper_id, kind="more")
        less = rating_token(self.settings, user_id=rater, paper_id=paper_id, kind="less")
        return f"{self.base_url}/for-you/rate?token={more}", f"{self.base_url}/for-you/rate?token={less}"

    def period_title(self, period: Period) -> str:
        """period.title, computed once per period (strftime is slow at 10,000 digests)."""
        title = self._titles.get(period)
        if title is None:
            title = self._titles[period] = period.title
        return title

    def subject(self, items: Sequence[_Rendered], period: Period) -> str:
        """'paperfeed · November 27, 2026: <top title> (+9 more)', header-safe."""
        title = self.period_title(period)
        when = title[:1].upper() + title[1:]
        top = items[0].title if items else ""
        more = f" (+{len(items) - 1} more)" if len(items) > 1 else ""
        if len(top) > 90:
            top = top[:88].rstrip() + "…"
        return header_text(f"{self.site} · {when}" + (f": {top}" if top else "") + more, limit=200)

    def digest(
        self,
        papers: Mapping[int, DigestPaper],
        *,
        subscription: Subscription,
        picks: Sequence[Pick],
        period: Period,
        message_id: str | None = None,
        rater: int | None = None,
    ) -> EmailMessage:
        """One digest mail; picks whose paper is missing from `papers` are skipped.

        rater: the account the For-you section's "More / Less like this" links rate for (None: no links).
        """
        kept = [p for p in picks if p.paper_id in papers]
        items = [self._item(papers[p.paper_id], p.reason) for p in kept]
        if not items:
            raise ValueError("an empty digest is never rendered")
        unsub = self.unsubscribe_token(subscription)
        # The For-you picks (stored first) form their own section, each with its rating links when the
        # reader's account is known; the rest follow under "More papers" (or alone, as before).
        for_you = [
            _ForYou(item, *self._rating_urls(rater, pick.paper_id))
            for pick, item in zip(kept, items, strict=True)
            if is_for_you(pick.reason)
        ]
        rest = [item for pick, item in zip(kept, items, strict=True) if not is_for_you(pick.reason)]
        context: dict[str, Any] = {
            "site": self.site,
            "base_url": self.base_url,
            "period_title": self.period_title(period),
            "items": rest,
            "for_you": for_you,
            "count": len(items),
            "email": plain(subscription.email),
            "frequency": subscription.frequency,
            "preferences_url": f"{self.base_url}/preferences?token={self.preferences_token(subscription)}",
            "unsubscribe_url": f"{self.base_url}/unsubscribe?token={unsub}",
        }
        msg = _multipart(
            self.settings,
            to=subscription.email,
            subject=self.subject(items, period),
            text=self.digest_txt.render(context),
            html=self.digest_html.render(context),
            message_id=message_id or make_msgid(domain=self.domain),
        )
        msg["List-Id"] = self.list_id
        msg["List-Unsubscribe"] = f"<{self.base_url}/unsubscribe/one-click?token={unsub}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg["Auto-Submitted"] = "auto-generated"
        return msg

    def confirmation(self, *, email: str, kind: str, url: str, valid_hours: int) -> EmailMessage:
        """The double opt-in mail (kind 'confirm') or the 'already subscribed' notice (kind 'manage')."""
        context = {
            "site": self.site,
            "base_url": self.base_url,
            "kind": kind,
            "url": url,
            "valid_hours": valid_hours,
        }
        subject = (
            f"Confirm your subscription to {self.site}"
            if kind == "confirm"
            else f"Your {self.site} subscription"
        )
        msg = _multipart(
            self.settings,
            to=email,
            subject=subject,
            text=self.confirm_txt.render(context),
            html=self.confirm_html.render(context),
            message_id=make_msgid(domain=self.domain),
        )
        msg["Auto-Submitted"] = "auto-generated"
        return msg


class _FastPolicy(Compat32):
    """compat32 (headers kept as the ASCII strings we built) with get_content() support and LF endings."""

    content_manager = raw_data_manager
    linesep = "\n"


# Building mail through the modern email API (header objects, set_content) cost ~8 ms a digest; this
# policy plus pre-encoded headers and quoted-printable bodies costs a tenth of it, with the same bytes
# on the wire. Lines up to RFC 5322's 998: a long List-Unsubscribe URL must never be folded.
POLICY = _FastPolicy(max_line_length=998, mangle_from_=False)


def encode_header(value: str) -> str:
    """An ASCII header value: controls folded to spaces, non-ASCII as RFC 2047 encoded words."""
    value = header_text(value, limit=250)
    if value.isascii():
        return value
    # Base64 encoded words of at most 45 UTF-8 bytes (60 encoded), never splitting a character, one per
    # folded line, as email.header.Header does (ten times slower).
    data = value.encode("utf-8")
    words = []
    while data:
        cut = min(45, len(data))
        while cut < len(data) and (data[cut] & 0xC0) == 0x80:  # a continuation byte: back up
            cut -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(data[:cut]).decode('ascii')}?=")
        data = data[cut:]
    return "\n ".join(words)


class DigestMessage(EmailMessage):
    """An EmailMessage whose as_bytes() flattens our pre-encoded parts directly (falls back otherwise)."""

    def as_bytes(self, unixfrom: bool = False, policy: Policy | None = None) -> bytes:
        """The message as bytes, LF line endings, like EmailMessage.as_bytes()."""
        parts = self.get_payload()
        if unixfrom or policy is not None or not isinstance(parts, list):
            return super().as_bytes(unixfrom=unixfrom, policy=policy)
        boundary = self.get_boundary()
        out = [f"{k}: {v}\n" for k, v in self._headers]  # type: ignore[attr-defined]
        out.append("\n")
        for part in parts:
            payload = part.get_payload() if isinstance(part, MIMEPart) else None
            if not isinstance(payload, str) or boundary is None:
                return super().as_bytes()
            out.append(f"--{boundary}\n")
            out.extend(f"{k}: {v}\n" for k, v in part._headers)  # type: ignore[union-attr]
            out.append("\n")
            out.append(payload)
            out.append("\n")
        out.append(f"--{boundary}--\n")
        raw = "".join(out)
        if not raw.isascii():
            return super().as_bytes()
        return raw.encode("ascii")

    def __bytes__(self) -> bytes:
        return self.as_bytes()


def _text_part(body: str, subtype: str) -> MIMEPart:
    part = MIMEPart(policy=POLICY)
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    if subtype == "html":
        # Non-ASCII as character references: the HTML part is then plain ASCII and needs no transfer
        # encoding at all (quoted-printable of 25 kB was the single biggest cost of a digest).
        body = body.encode("ascii", "xmlcharrefreplace").decode("ascii")
    if body.isascii() and max(map(len, body.split("\n"))) <= 900:
        part["Content-Transfer-Encoding"] = "7bit"
        part.set_payload(body)
    else:
        # base64: encoded at C speed (quoted-printable was ten times slower), and every mail client reads it.
        part["Content-Transfer-Encoding"] = "base64"
        encoded = base64.b64encode(body.encode("utf-8")).decode("ascii")
        part.set_payload("\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76)) + "\n")
    return part


def _multipart(
    settings: Settings, *, to: str, subject: str, text: str, html: str, message_id: str
) -> DigestMessage:
    msg = DigestMessage(policy=POLICY)
    msg["From"] = encode_header(settings.mail_from)
    msg["To"] = header_text(to, limit=320)
    msg["Subject"] = encode_header(subject)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = header_text(message_id, limit=250)
    msg["MIME-Version"] = "1.0"
    msg["Content-Type"] = f'multipart/alternative; boundary="==pf-{secrets.token_hex(12)}"'
    # "==" can never occur in a quoted-printable body ("=" is written =3D), so the boundary is safe.
    msg.set_payload([_text_part(text, "plain"), _text_part(html, "html")])
    return msg


def render_digest_from(
    papers_by_id: Mapping[int, DigestPaper],
    *,
    subscription: Subscription,
    picks: Sequence[Pick],
    period: Period,
    settings: Settings,
    message_id: str | None = None,
    renderer: DigestRenderer | None = None,
) -> EmailMessage:
    """A digest from preloaded papers (e.g. SelectionContext.papers); pass a shared renderer for speed."""
    r = renderer if renderer is not None else DigestRenderer(settings)
    return r.digest(
        papers_by_id, subscription=subscription, picks=picks, period=period, message_id=message_id
    )


def render_digest(
    session: Session,
    *,
    subscription: Subscription,
    picks: Sequence[Pick],
    period: Period,
    settings: Settings,
    message_id: str | None = None,
) -> EmailMessage:
    """A digest mail for these picks, loading their papers (multipart/alternative: text + HTML)."""
    papers = load_papers(session, [p.paper_id for p in picks])
    return render_digest_from(
        papers,
        subscription=subscription,
        picks=picks,
        period=period,
        settings=settings,
        message_id=message_id,
    )


def render_confirmation(settings: Settings, *, email: str, kind: str, url: str) -> EmailMessage:
    """The confirmation ('confirm') or already-subscribed ('manage') mail to `email` with its link."""
    hours = max(1, settings.digest_confirm_max_age_s // 3600)
    return DigestRenderer(settings).confirmation(email=email, kind=kind, url=url, valid_hours=hours)
