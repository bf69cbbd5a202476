"""Sending events to a Bolt app as Slack does: signed with ``v0`` HMAC-SHA256 headers, raw JSON
(events) or ``payload=<json>`` form fields (interactivity), with ``X-Slack-Retry-Num`` /
``X-Slack-Retry-Reason`` on retries. Re-exported by ``slack_events``."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp
from slack_sdk.signature import SignatureVerifier


def sign_request(body: bytes, signing_secret: str, timestamp: int | None = None) -> dict[str, str]:
    """``X-Slack-Request-Timestamp`` and ``X-Slack-Signature`` (v0 HMAC-SHA256) for ``body``."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=stamp, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


# --- sending ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentResponse:
    status: int
    body: str
    headers: dict[str, str]
    elapsed_s: float

    def json(self) -> Any:
        return json.loads(self.body)


class EventSender:
    """Posts signed requests to a Bolt endpoint (``http://…/slack/events``), one session."""

    USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"

    def __init__(self, url: str, signing_secret: str, *, connections: int = 100) -> None:
        self.url = url
        self.signing_secret = signing_secret
        self._connections = connections  # 0: unlimited, as Slack's many delivery workers
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> EventSender:
        connector = aiohttp.TCPConnector(limit=self._connections)
        self._session = aiohttp.ClientSession(connector=connector)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(
        self,
        envelope: dict[str, Any],
        *,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        timestamp: int | None = None,
        bad_signature: bool = False,
    ) -> SentResponse:
        """POST an event envelope as raw JSON (``timestamp`` = signing time, default now)."""
        body = json.dumps(envelope).encode()
        return await self.send_raw(
            body,
            "application/json",
            retry_num=retry_num,
            retry_reason=retry_reason,
            timestamp=timestamp,
            bad_signature=bad_signature,
        )

    async def send_interaction(
        self,
        payload: dict[str, Any],
        *,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        timestamp: int | None = None,
        bad_signature: bool = False,
    ) -> SentResponse:
        """POST an interactivity payload as Slack does: form field ``payload=<json>``."""
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return await self.send_raw(
            body,
            "application/x-www-form-urlencoded",
            retry_num=retry_num,
            retry_reason=retry_reason,
            timestamp=timestamp,
            bad_signature=bad_signature,
        )

    async def send_form(self, fields: dict[str, str], **kwargs: Any) -> SentResponse:
        """POST form fields as Slack sends slash commands (``application/x-www-form-urlencoded``,
        signed like everything else)."""
        body = urlencode(fields).encode()
        return await self.send_raw(body, "application/x-www-form-urlencoded", **kwargs)

    async def send_raw(
        self,
        body: bytes,
        content_type: str,
        *,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        timestamp: int | None = None,
        bad_signature: bool = False,
        headers: dict[str, str] | None = None,
    ) -> SentResponse:
        """POST any body, signed (``body`` need not be well-formed: malformed-request tests).

        ``headers`` are applied last and replace the ones computed here, e.g. a malformed
        ``X-Slack-Request-Timestamp``.
        """
        if self._session is None:
            raise RuntimeError("use `async with EventSender(...) as sender:`")
        sent_headers = {"Content-Type": content_type, "User-Agent": self.USER_AGENT}
        sent_headers.update(sign_request(body, self.signing_secret, timestamp))
        if bad_signature:
            sent_headers["X-Slack-Signature"] = "v0=" + "0" * 64
        if retry_num is not None:
            sent_headers.update(
                {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
            )
        sent_headers.update(headers or {})
        started = time.monotonic()
        async with self._session.post(self.url, data=body, headers=sent_headers) as response:
            text = await response.text()
            return SentResponse(
                response.status, text, dict(response.headers), time.monotonic() - started
            )
