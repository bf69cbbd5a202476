"""Model Markdown → what Slack may show: defused mentions, sandbox links, message pages,
and one-line summaries of code and logs for progress steps.

Pure text functions, shared by the Slack and terminal renderers and tested on their own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# `[label](sandbox:/mnt/data/…)` as the code interpreter writes them.
SANDBOX_LINK = re.compile(r"\[([^\]\n]*)\]\((sandbox:[^)\s]+)\)")
_BARE_SANDBOX = re.compile(r"sandbox:(/mnt/data/[^\s)\]]+)")
_PARTIAL_LINK = re.compile(r"\[[^\]\n]*(\](\([^)\s]*)?)?\Z")
_SPECIAL = re.compile(r"<(?=[!@#])")
_BROADCAST = re.compile(r"@(?=(?:here|channel|everyone)\b)", re.IGNORECASE)
_FENCE = re.compile(r"^\s*```", re.MULTILINE)
ZWSP = "\u200b"
WORD_JOINER = "\u2060"


def defuse(text: str) -> str:
    """Make sure model text can never ping anyone or link a channel.

    `<!channel>`, `<!here>`, `<@U…>`, `<#C…>` and bare `@here`/`@channel`/`@everyone` are
    broken with invisible characters, so they render as text.
    """
    if "<" not in text and "@" not in text:  # the common case, on every streamed delta
        return text
    return _BROADCAST.sub("@" + WORD_JOINER, _SPECIAL.sub("<" + ZWSP, text))


def sandbox_path(target: str) -> str:
    """`sandbox:/mnt/data/x.png` → `/mnt/data/x.png`."""
    return target.removeprefix("sandbox:")


def hide_links(text: str) -> str:
    """While streaming: show a sandbox link's label only (its file is not posted yet)."""
    if "sandbox:" not in text:
        return text
    return SANDBOX_LINK.sub(lambda m: m.group(1) or _basename(m.group(2)), text)


def rewrite_links(text: str, links: Mapping[str, str], *, missing: str) -> str:
    """Point sandbox links at the posted Slack files; `missing` formats the rest (`{label}`)."""

    def replace(match: re.Match[str]) -> str:
        label, path = match.group(1), sandbox_path(match.group(2))
        url = links.get(path)
        if url:
            return f"[{label or _basename(path)}]({url})"
        return missing.format(label=label or _basename(path))

    text = SANDBOX_LINK.sub(replace, text)
    return _BARE_SANDBOX.sub(lambda m: links.get(m.group(1), _basename(m.group(1))), text)


def linked_paths(text: str) -> list[str]:
    """The container paths the text links to, in order."""
    return [sandbox_path(m.group(2)) for m in SANDBOX_LINK.finditer(text)]


def _basename(path: str) -> str:
    return path.rstrip("/").rsplit("/", 1)[-1]


class LinkHolder:
    """Holds back streamed text that might be the start of a Markdown link (so a link is never
    split between two Slack writes and can be rewritten whole) or of a ping (`<!…`, `@here`),
    so `defuse` always sees it complete."""

    MAX_HOLD = 600

    def __init__(self) -> None:
        self._held = ""

    def feed(self, delta: str) -> str:
        if not self._held and not any(c in delta for c in "[<@"):
            return delta  # nothing that could start a link or a ping
        text = self._held + delta
        start = text.rfind("[")
        if not (
            start != -1 and len(text) - start <= self.MAX_HOLD and _PARTIAL_LINK.match(text, start)
        ):
            start = _unsafe_tail(text)
        self._held = text[start:]
        return text[:start]

    def flush(self) -> str:
        held, self._held = self._held, ""
        return held


@dataclass(frozen=True)
class Piece:
    """A run of text for the current page, or the first text of a new page."""

    text: str
    new_page: bool = False


class Paginator:
    """Splits a growing answer into Slack-sized pages: at paragraph breaks outside code
    blocks past `soft` characters, forcibly (closing and reopening a code fence) at `hard`.
    Never truncates: every character fed comes out in some piece."""

    def __init__(self, *, soft: int = 9_000, hard: int = 11_000, marker: str = "") -> None:
        if not 0 < soft <= hard or hard < len(marker) + 64:
            raise ValueError("need 0 < soft <= hard, and hard well above the marker length")
        self.soft, self.hard, self.marker = soft, hard, marker
        self.page = ""
        self.pages = 1
        self._full = False

    def turn_page(self) -> None:
        """Start a new page now (its first content is not text, e.g. a second table)."""
        self.page, self._full = "", False
        self.pages += 1

    def occupy(self, chars: int) -> None:
        """Count `chars` of content that is not text (a table) on the current page; text
        that comes after a page filled up this way starts the next page."""
        self.page += "\x00" * chars
        self._full = len(self.page) >= self.soft

    def feed(self, text: str) -> list[Piece]:
        pieces: list[Piece] = []
        new_page = False
        if text and self._full:  # a table filled the page: text continues on the next
            text = (self.marker + "\n\n" if self.marker else "") + text
            self.page, self._full, new_page = "", False, True
            self.pages += 1
        while text:
            if len(self.page) + len(text) <= self.soft:
                cut = len(text)
            else:
                cut = self._paragraph_cut(text) or self._forced_cut(text)
            head, text = text[:cut], text[cut:]
            closing = reopening = ""
            if text and _inside_fence(self.page + head):
                closing, reopening = "\n```", self._fence_opening(self.page + head)
            pieces.append(Piece(head + closing, new_page))
            self.page += head + closing
            if text:
                text = text.lstrip("\n") if not reopening else text
                self.page = (self.marker + "\n\n" if self.marker else "") + reopening
                self.pages += 1
                if self.page:
                    text = self.page + text
                    self.page = ""
                new_page = True
        return pieces

    def _paragraph_cut(self, text: str) -> int | None:
        low = max(self.soft - len(self.page), 0)
        high = self.hard - len(self.page)
        best = None
        for match in re.finditer(r"\n\n", text):
            position = match.end()
            if position > high:
                break
            if position >= low and not _inside_fence(self.page + text[:position]):
                best = position
        if best is None and len(self.page) + len(text) <= self.hard:
            return len(text)  # fits below the hard limit; wait for a better break
        return best

    def _forced_cut(self, text: str) -> int:
        room = max(self.hard - len(self.page) - 4, 1)  # leave space to close a fence
        newline = text.rfind("\n", 0, room)
        return newline + 1 if newline > 0 else room

    @staticmethod
    def _fence_opening(text: str) -> str:
        opening = list(re.finditer(r"^\s*```[^\n]*", text, re.MULTILINE))[-1]
        return opening.group(0).strip() + "\n"


_PING_TAIL = re.compile(r"(<|@[A-Za-z]{0,8})\Z")


def _unsafe_tail(text: str) -> int:
    """Where a possibly incomplete `<!…`/`<@…`/`@here`-like ending starts (len(text) if none)."""
    match = _PING_TAIL.search(text)
    return match.start() if match else len(text)


def _inside_fence(text: str) -> bool:
    return len(_FENCE.findall(text)) % 2 == 1


def split_text(text: str, *, soft: int = 9_000, hard: int = 11_000, marker: str = "") -> list[str]:
    """A complete text as Slack-sized pages (see `Paginator`)."""
    paginator = Paginator(soft=soft, hard=hard, marker=marker)
    pages: list[str] = [""]
    for piece in paginator.feed(text):
        if piece.new_page:
            pages.append("")
        pages[-1] += piece.text
    return pages


def first_meaningful_line(code: str, *, limit: int = 80) -> str:
    """The line that says what a piece of code does (not an import, comment or blank)."""
    lines = [line.strip() for line in code.splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(("import ", "from ", "#", "%", "!"))]
    line = (useful or lines or [""])[0]
    return line if len(line) <= limit else line[: limit - 1] + "…"


def log_summary(logs: str, *, limit: int = 120) -> str:
    """One line about what a run printed: the last non-empty line (errors say the most)."""
    lines = [line.strip() for line in logs.splitlines() if line.strip()]
    if not lines:
        return ""
    line = lines[-1]
    return line if len(line) <= limit else line[: limit - 1] + "…"
