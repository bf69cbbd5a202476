"""An installer's browser going through the OAuth flow: the bot's install page, the fake
Slack's approval page, and back to the bot's redirect URL — with the cookies a browser keeps.

    async with InstallerBrowser(bot.url) as browser:
        done = await browser.install(bot.url)            # page, status, where Slack sent it
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import aiohttp

_LINK = re.compile(r'<a class="button" href="([^"]+)"')


@dataclass(frozen=True)
class Landing:
    """What the browser showed at the end: the bot's page after Slack sent it back."""

    status: int
    page: str
    redirect_url: str
    """The bot URL Slack redirected to (code/error and state in its query)."""

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.redirect_url).query)


class InstallerBrowser:
    """Keeps the bot's cookies (its `Secure` state cookie too: the bot is on loopback http)."""

    def __init__(self, bot_url: str) -> None:
        self._jar = aiohttp.CookieJar(unsafe=True, treat_as_secure_origin=[bot_url])
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> InstallerBrowser:
        self._session = aiohttp.ClientSession(cookie_jar=self._jar)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    @property
    def session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "use `async with InstallerBrowser(...)`"
        return self._session

    async def install_page(self, bot_url: str, query: str = "") -> tuple[int, str]:
        async with self.session.get(f"{bot_url}/slack/install{query}") as response:
            return response.status, await response.text()

    async def approve(self, authorize_url: str) -> str:
        """Open Slack's approval page; returns where Slack redirects (the bot's URL)."""
        async with self.session.get(authorize_url, allow_redirects=False) as response:
            assert response.status == 302, await response.text()
            return response.headers["Location"]

    async def land(self, redirect_url: str, *, cookie: str | None = None) -> Landing:
        """Follow Slack's redirect to the bot (`cookie`: a Cookie header to send instead)."""
        headers = {"Cookie": cookie} if cookie is not None else None
        async with self.session.get(redirect_url, headers=headers) as response:
            return Landing(response.status, await response.text(), redirect_url)

    async def install(self, bot_url: str, query: str = "") -> Landing:
        """The whole flow, as a person clicking through it."""
        status, page = await self.install_page(bot_url, query)
        assert status == 200, page
        return await self.land(await self.approve(install_link(page)))

    def state_cookie(self) -> str | None:
        """The state cookie the bot set in this browser, if it is still there."""
        for cookie in self._jar:
            if cookie.key == "slack-app-oauth-state" and cookie.value != "deleted":
                return cookie.value
        return None


def install_link(page: str) -> str:
    """The "Add to Slack" link of the bot's install page."""
    match = _LINK.search(page)
    assert match is not None, page
    return html.unescape(match.group(1))
