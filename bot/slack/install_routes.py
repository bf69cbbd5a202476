"""The install pages' routes: `GET /slack/install` and `GET /slack/oauth_redirect`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.response import BoltResponse

from bot.slack import install_pages

logger = logging.getLogger(__name__)


class InstallPages:
    """`GET /slack/install` and `GET /slack/oauth_redirect`, answered by Bolt's OAuth flow.

    This is the boundary of the install pages: whatever fails in a flow (Slack or the
    database unreachable) ends on the error page, and the log names the error's type."""

    def __init__(self, flow: AsyncOAuthFlow) -> None:
        self._flow = flow

    def add_routes(self, application: web.Application) -> None:
        application.router.add_get(self._flow.install_path, self.install)
        application.router.add_get(self._flow.redirect_uri_path, self.redirect)

    async def install(self, request: web.Request) -> web.StreamResponse:
        return await self._answer(request, self._flow.handle_installation)

    async def redirect(self, request: web.Request) -> web.StreamResponse:
        return await self._answer(request, self._flow.handle_callback)

    async def _answer(
        self,
        request: web.Request,
        handle: Callable[[Any], Awaitable[BoltResponse]],
    ) -> web.StreamResponse:
        try:
            response = await handle(await to_bolt_request(request))
        except Exception as error:
            logger.error("the install flow failed (%s)", type(error).__name__)
            logger.debug("the install flow's failure", exc_info=error)
            page = install_pages.failed_page("", install_path=self._flow.install_path)
            return web.Response(status=500, text=page, content_type="text/html")
        return await to_aiohttp_response(response)
