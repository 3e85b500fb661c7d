"""Sending one rendered email: SES v2 in AWS (EMAIL_BACKEND=ses), a real SMTP server locally (smtp).

Both build the same message: the subject, a plain-text part and an HTML part, from EMAIL_FROM. Any
failure of the provider becomes SendFailed, which the caller turns into a retry (the record or the
reminder comes again); nothing else leaves these functions. Neither logs the body.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from functools import lru_cache
from typing import Any, Protocol

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError

from app.config import Settings
from app.db.client import ClientTimeouts
from app.notifications.render import RenderedEmail


class SendFailed(Exception):
    """The provider did not accept the email (down, refused, throttled): try again later."""


class Sender(Protocol):
    def send(self, *, to: str, email: RenderedEmail) -> str:
        """Hand the email to the provider; its message id. SendFailed when it was not accepted."""
        ...


@dataclass(frozen=True)
class SmtpSender:
    """A plain SMTP submission (no auth, no TLS): the local mail catcher or the tests' aiosmtpd server."""

    host: str
    port: int
    sender: str
    timeout: float

    def send(self, *, to: str, email: RenderedEmail) -> str:
        message = _mime(sender=self.sender, to=to, email=email)
        message_id = make_msgid(domain="lending.local")
        message["Message-ID"] = message_id
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise SendFailed(f"SMTP {self.host}:{self.port} refused or unreachable: {type(exc).__name__}") from exc
        return message_id


@dataclass(frozen=True)
class SesSender:
    """SES v2 SendEmail with a Simple message (subject, text and HTML bodies)."""

    client: Any
    sender: str

    def send(self, *, to: str, email: RenderedEmail) -> str:
        content = {
            "Simple": {
                "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                "Body": {"Text": {"Data": email.text, "Charset": "UTF-8"}, "Html": {"Data": email.html, "Charset": "UTF-8"}},
            }
        }
        try:
            response = self.client.send_email(FromEmailAddress=self.sender, Destination={"ToAddresses": [to]}, Content=content)
        except (ClientError, BotoCoreError) as exc:
            raise SendFailed(f"SES SendEmail failed: {type(exc).__name__}") from exc
        return str(response.get("MessageId", ""))


def _mime(*, sender: str, to: str, email: RenderedEmail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = email.subject
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


@lru_cache(maxsize=4)
def _ses_client(region: str, endpoint_url: str | None, timeouts: ClientTimeouts) -> Any:
    """One SES v2 client per process (clients are thread-safe)."""
    return botocore.session.get_session().create_client("sesv2", region_name=region, endpoint_url=endpoint_url, config=timeouts.config())


def sender_for(settings: Settings) -> Sender:
    """The sender EMAIL_BACKEND names."""
    if settings.email_backend == "ses":
        return SesSender(
            client=_ses_client(settings.aws_region, settings.ses_endpoint_url, ClientTimeouts.of(settings)), sender=settings.email_from
        )
    return SmtpSender(host=settings.smtp_host, port=settings.smtp_port, sender=settings.email_from, timeout=settings.smtp_timeout_seconds)
