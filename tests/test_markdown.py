"""Pure text handling: defusing pings, sandbox links, paging long answers."""

from __future__ import annotations

import random
import re

import pytest

from bot.core.markdown import (
    LinkHolder,
    Paginator,
    defuse,
    hide_links,
    linked_paths,
    rewrite_links,
    split_text,
)
from bot.core.tables import Table, TableCutter


def test_defuse_breaks_every_kind_of_ping() -> None:
    text = "Hey <!channel> and <!here|here>, ask <@U123ABC> in <#C42|sales>; @here @Channel"
    safe = defuse(text)
    assert not re.search(r"<[!@#]", safe)
    assert not re.search(r"@(here|channel|everyone)\b", safe, re.IGNORECASE)
    assert safe.replace("\u200b", "").replace("\u2060", "") == text


def test_sandbox_links_are_hidden_then_rewritten() -> None:
    text = "Chart: [Revenue chart](sandbox:/mnt/data/rev.png) and [data](sandbox:/mnt/data/t.csv)."
    assert hide_links(text) == "Chart: Revenue chart and data."
    assert linked_paths(text) == ["/mnt/data/rev.png", "/mnt/data/t.csv"]
    rewritten = rewrite_links(
        text, {"/mnt/data/rev.png": "https://slack.test/files/F1"}, missing="{label} (n/a)"
    )
    assert rewritten == "Chart: [Revenue chart](https://slack.test/files/F1) and data (n/a)."
    assert "sandbox:" not in rewrite_links("see sandbox:/mnt/data/x.png", {}, missing="{label}")


@pytest.mark.parametrize("seed", range(5))
def test_link_holder_never_splits_a_link_and_loses_nothing(seed: int) -> None:
    text = "Intro [a [b] c] then [Chart](sandbox:/mnt/data/c.png) and [x](https://e.x) end ["
    rng = random.Random(seed)
    holder, out, cuts = LinkHolder(), [], sorted(rng.sample(range(1, len(text)), 12))
    for start, end in zip([0, *cuts], [*cuts, len(text)], strict=True):
        released = holder.feed(text[start:end])
        out.append(released)
    out.append(holder.flush())
    assert "".join(out) == text
    joined = ""
    for chunk in out[:-1]:
        joined += chunk
        # Whatever was released so far never ends inside a sandbox link.
        assert hide_links(joined) == hide_links(joined).split("](sandbox:")[0]


def _paragraphs(n: int, seed: int = 1) -> str:
    rng = random.Random(seed)
    words = [
        "revenue",
        "profit",
        "margin",
        "growth",
        "region",
        "quarter",
        "total",
        "average",
        "median",
    ]
    return "\n\n".join(
        " ".join(rng.choice(words) for _ in range(rng.randint(5, 120))) for _ in range(n)
    )


def test_long_answer_is_paged_without_truncation() -> None:
    text = _paragraphs(400)
    assert len(text) > 30_000
    pages = split_text(text, soft=9_000, hard=11_000)
    assert len(pages) >= 3
    assert all(len(p) <= 11_000 for p in pages)
    assert "\n\n".join(p.strip("\n") for p in pages) == text


def test_code_blocks_are_closed_and_reopened_across_pages() -> None:
    code = "\n".join(f"df.loc[{i}] = {i} * 2" for i in range(900))
    text = f"Here is the code:\n\n```python\n{code}\n```\n\nDone."
    pages = split_text(text, soft=5_000, hard=6_000, marker="_(continued)_")
    assert len(pages) >= 3
    for page in pages:
        assert len(page) <= 6_000
        assert len(re.findall(r"^\s*```", page, re.MULTILINE)) % 2 == 0
    assert pages[1].startswith("_(continued)_\n\n```python\n")
    body = "".join(pages)
    for i in range(900):
        assert f"df.loc[{i}] = {i} * 2" in body


def test_streamed_paging_matches_whole_text_paging() -> None:
    text = _paragraphs(300, seed=7)
    paginator = Paginator(soft=4_000, hard=5_000)
    pages = [""]
    rng = random.Random(3)
    position = 0
    while position < len(text):
        step = rng.randint(1, 300)
        for piece in paginator.feed(text[position : position + step]):
            if piece.new_page:
                pages.append("")
            pages[-1] += piece.text
        position += step
    assert all(len(p) <= 5_000 for p in pages)
    assert "\n\n".join(p.strip("\n") for p in pages) == text


def test_paginator_rejects_limits_it_cannot_honour() -> None:
    with pytest.raises(ValueError, match="soft"):
        Paginator(soft=10, hard=20, marker="_(continued)_")


def test_pings_split_across_deltas_are_still_defused() -> None:
    holder = LinkHolder()
    shown = ""
    for delta in ["Tell <", "!chan", "nel> and @", "he", "re now"]:
        shown += defuse(holder.feed(delta))
    shown += defuse(holder.flush())
    assert not re.search(r"<[!@#]", shown)
    assert not re.search(r"@here\b", shown)
    assert shown.replace("\u200b", "").replace("\u2060", "") == "Tell <!channel> and @here now"


TABLE_ANSWER = (
    "Top companies:\n\n"
    "| rank | name | revenue |\n"
    "|---:|:---|---:|\n"
    "| 1 | Northwind | $572,754 |\n"
    "| 2 | Contoso \\| Ltd | $499,100 |\n"
    "\nThat is all.\n\n"
    "```\n| not | a table |\n|---|---|\n```\n"
    "A line with a | pipe.\n"
)


@pytest.mark.parametrize("step", [1, 3, 7, 1000])
def test_tables_are_cut_out_of_streamed_text(step: int) -> None:
    cutter = TableCutter()
    pieces = []
    for start in range(0, len(TABLE_ANSWER), step):
        pieces += cutter.feed(TABLE_ANSWER[start : start + step])
    pieces += cutter.flush()
    tables = [p for p in pieces if isinstance(p, Table)]
    assert len(tables) == 1
    assert tables[0].rows == (
        ("rank", "name", "revenue"),
        ("1", "Northwind", "$572,754"),
        ("2", "Contoso | Ltd", "$499,100"),
    )
    text = "".join(p for p in pieces if isinstance(p, str))
    assert text == TABLE_ANSWER.replace(tables[0].source, "")
    assert "| not | a table |" in text  # code blocks keep their pipes
    assert "A line with a | pipe." in text


def test_text_without_tables_streams_through_at_once() -> None:
    cutter = TableCutter()
    assert cutter.feed("Hello, wor") == ["Hello, wor"]
    assert cutter.feed("ld.\nNext") == ["ld.\nNext"]
    assert cutter.feed("\n| a ") == ["\n"]  # the start of a possible table is held
    assert cutter.flush() == ["| a "]


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+cmd", "'+cmd"),
        ("\t=1", "'\t=1"),
        ("\uff1dcmd", "'\uff1dcmd"),
        ("=1+1", "'=1+1"),
        ("-1+2", "'-1+2"),
        ("-42", "-42"),
        ("+3.5", "+3.5"),
        ("-1,234.50", "-1,234.50"),
        ("-12%", "-12%"),
        ("-$5", "-$5"),
        ("1e5", "1e5"),
        ("plain", "plain"),
        ("", ""),
    ],
)
def test_spreadsheet_safe_cells(cell: str, written: str) -> None:
    from bot.core.tables import spreadsheet_safe

    assert spreadsheet_safe(cell) == written
