"""The HTML an installer's browser shows: the install page, and how the install ended.

Everything that comes from outside (the workspace's name, a URL) is escaped; the wording
lives in `bot.wording`.
"""

from __future__ import annotations

import html

from bot import wording

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<link rel="icon" href="data:,"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}}
a.button{{display:inline-block;padding:.6rem 1.2rem;border-radius:6px;background:#4a154b;
color:#fff;text-decoration:none}}</style></head>
<body><h1>{title}</h1><p>{text}</p>{action}</body>
</html>
"""


def _page(title: str, text: str, *, link: str | None = None, label: str = "") -> str:
    action = ""
    if link is not None:
        action = f'<p><a class="button" href="{html.escape(link)}">{html.escape(label)}</a></p>'
    return _PAGE.format(title=html.escape(title), text=html.escape(text), action=action)


def install_page(authorize_url: str) -> str:
    """`GET /slack/install`: what the app does, and the button to Slack's approval page."""
    return _page(
        wording.INSTALL_PAGE_TITLE,
        wording.INSTALL_PAGE_TEXT,
        link=authorize_url,
        label=wording.INSTALL_BUTTON,
    )


def installed_page(*, team_name: str, team_id: str, app_id: str) -> str:
    """The install worked: where to go next (the app in the Slack client)."""
    return _page(
        wording.INSTALLED_TITLE,
        wording.INSTALLED_TEXT.format(team=team_name or team_id),
        link=f"slack://app?team={team_id}&id={app_id}",
        label=wording.OPEN_SLACK,
    )


def failed_page(reason: str, *, install_path: str) -> str:
    """The install did not happen: why, in words, and a way to start again."""
    text = wording.INSTALL_FAILURES.get(reason, wording.INSTALL_FAILED_OTHERWISE)
    return _page(
        wording.INSTALL_FAILED_TITLE, text, link=install_path, label=wording.INSTALL_FAILED_AGAIN
    )
