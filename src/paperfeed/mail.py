"""Building and sending one mail over SMTP (TLS/STARTTLS and AUTH from Settings)."""

from __future__ import annotations

import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from paperfeed.config import Settings

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def header_text(value: str, limit: int = 200) -> str:
    """A header value with CR, LF and other controls folded to spaces: no header injection."""
    return _CONTROL.sub(" ", value).strip()[:limit]


def new_message(
    settings: Settings, *, to: str, subject: str, text: str, html: str | None = None
) -> EmailMessage:
    """A mail with a plain-text part (and an HTML alternative), Date and Message-ID set."""
    msg = EmailMessage()
    msg["From"] = settings.mail_from
    msg["To"] = header_text(to)
    msg["Subject"] = header_text(subject)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=mail_domain(settings))
    msg.set_content(text)
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg


def mail_domain(settings: Settings) -> str:
    """The domain of the From address (for Message-IDs)."""
    match = re.search(r"@([A-Za-z0-9.-]+)", settings.mail_from)
    return match.group(1) if match else "localhost"


def connect(settings: Settings) -> smtplib.SMTP:
    """An open, authenticated SMTP connection as configured; the caller closes it (quit())."""
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if settings.smtp_security == "tls":
        smtp = smtplib.SMTP_SSL(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s, context=context
        )
    else:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s)
        if settings.smtp_security == "starttls":
            smtp.starttls(context=context)
    if settings.smtp_user:
        smtp.login(settings.smtp_user, settings.smtp_password)
    return smtp


def send_message(settings: Settings, message: EmailMessage) -> None:
    """Send one message on its own connection; raises smtplib.SMTPException (or OSError) on failure."""
    smtp = connect(settings)
    try:
        smtp.send_message(message)
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
