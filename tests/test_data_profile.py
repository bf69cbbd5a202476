"""The local data profile: real dataset fixtures, messy generated files, every format."""

from __future__ import annotations

import csv
import datetime as dt
import json
import random
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl  # type: ignore[import-untyped]
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.parquet as pq  # type: ignore[import-untyped]
import pytest

from bot import wording
from bot.errors import ProfileError
from bot.profile.cells import parse_date, parse_number
from bot.profile.columns import ColumnProfile
from bot.profile.profiler import DataProfile, profile_file
from bot.profile.questions import FALLBACK_QUESTIONS, suggest_questions
from tests.conftest import DATASETS, REPO

WOMENS = DATASETS / "womens-clothing-reviews-first1000.csv"
FORBES = DATASETS / "forbes2000-2004.csv"
FORTUNE = DATASETS / "fortune-style-1000-synthetic.csv"
ALL_CSV = sorted(DATASETS.glob("*.csv"))


def profile_of(tmp_path: Path, name: str, content: str | bytes, **options) -> DataProfile:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", newline="")
    else:
        path.write_bytes(content)
    return profile_file(path, name=name, **options)


def column(profile: DataProfile, name: str) -> ColumnProfile:
    matches = [c for c in profile.columns if c.name == name]
    assert len(matches) == 1, [c.name for c in profile.columns]
    return matches[0]


def kinds(profile: DataProfile) -> dict[str, str]:
    return {c.name: c.kind for c in profile.columns}


def refusal(tmp_path: Path, name: str, content: str | bytes) -> str:
    with pytest.raises(ProfileError) as caught:
        profile_of(tmp_path, name, content)
    return caught.value.reason


# --- The real datasets -----------------------------------------------------------------------


def test_womens_clothing_counts_records_not_lines() -> None:
    profile = profile_file(WOMENS, name=WOMENS.name)

    assert (profile.rows, len(profile.columns)) == (1000, 11)
    assert WOMENS.read_text(encoding="utf-8").count("\n") > 1001  # quoted reviews span lines
    assert profile.columns[0].name == "column_1"
    assert "1 column had no name (now column_1)" in profile.notes
    assert (profile.format, profile.encoding, profile.delimiter) == ("csv", "utf-8", ",")
    assert not profile.sampled
    assert profile.bytes_read == profile.total_bytes == 358_081
    assert profile.total_rows == 1000
    assert column(profile, "Review Text").missing == 42
    rating = column(profile, "Rating")
    assert (rating.kind, rating.minimum, rating.maximum, rating.distinct) == ("integer", 1, 5, 5)
    assert column(profile, "Department Name").kind == "text"
    assert profile.sample_rows[0][:3] == ("0", "767", "33")
    assert all(len(row) == 11 for row in profile.sample_rows)


def test_forbes_counts_na_profits_as_missing() -> None:
    profile = profile_file(FORBES, name=FORBES.name)

    assert (profile.rows, len(profile.columns)) == (2000, 9)
    assert [c.name for c in profile.columns][:3] == ["rownames", "rank", "name"]
    profits = column(profile, "profits")
    assert (profits.kind, profits.missing) == ("number", 5)
    assert column(profile, "sales").kind == "number"
    assert column(profile, "rank").kind == "integer"
    assert column(profile, "country").distinct == 61
    assert profile.notes == ()


def _fortune_values(header: str) -> list[float]:
    with FORTUNE.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    texts = [row[header] for row in rows if row[header] != "-"]
    return [float(t.replace("$", "").replace(",", "").replace("%", "")) for t in texts]


def test_fortune_style_parses_money_and_percent_text() -> None:
    profile = profile_file(FORTUNE, name=FORTUNE.name)

    assert (profile.rows, len(profile.columns)) == (1000, 12)
    assert [c.name for c in profile.columns][:3] == ["rank", "name", "revenues"]
    assert all(c.name == c.name.strip() for c in profile.columns)
    assert "header names had extra spaces" in profile.notes
    revenues = column(profile, "revenues")
    expected = _fortune_values("revenues ")
    assert revenues.kind == "money"
    assert (revenues.minimum, revenues.maximum) == (min(expected), max(expected))
    assert revenues.maximum == 572_754  # a text sort would have picked "$99,…"
    assert revenues.mean == pytest.approx(sum(expected) / len(expected))
    profits = column(profile, "profits")
    assert (profits.kind, profits.minimum, profits.missing) == ("money", -39_102, 23)
    change = column(profile, "revenue_percent_change")
    assert change.kind == "percent"
    assert change.maximum == max(_fortune_values("revenue_percent_change "))
    assert column(profile, "change_in_rank").missing == 500  # bare "-"
    assert column(profile, "market_value").missing == 267
    assert column(profile, "employees").kind == "integer"


def test_the_datasets_are_there() -> None:
    assert {WOMENS, FORBES, FORTUNE} <= set(ALL_CSV)


@pytest.mark.parametrize("path", ALL_CSV, ids=lambda p: p.stem)
def test_each_dataset_profiles_fast_and_whole(path: Path) -> None:
    started = time.perf_counter()
    profile = profile_file(path, name=path.name)

    assert time.perf_counter() - started < 0.5
    assert profile.rows > 0
    assert not profile.sampled
    assert not any("fields than the header" in note for note in profile.notes)


@pytest.mark.parametrize("path", ALL_CSV, ids=lambda p: p.stem)
def test_each_dataset_gets_three_questions_about_its_columns(path: Path) -> None:
    profile = profile_file(path, name=path.name)
    questions = suggest_questions(profile)

    assert len(questions) == len(set(questions)) == 3
    assert all(len(q) <= 75 for q in questions)
    names = [c.name for c in profile.columns]
    assert all(any(name in q for name in names) for q in questions), questions


def test_questions_for_the_fortune_dataset() -> None:
    profile = profile_file(FORTUNE, name=FORTUNE.name)

    assert suggest_questions(profile) == [
        "Top 10 by revenues as a bar chart",
        "Compare revenues by sector",
        "How do profits relate to revenues?",
    ]


def test_questions_for_the_reviews_dataset() -> None:
    questions = suggest_questions(profile_file(WOMENS, name=WOMENS.name))

    assert "What themes come up in Review Text?" in questions
    assert "How does Positive Feedback Count relate to Rating?" in questions
    assert not any("Clothing ID" in q or "column_1" in q for q in questions)


# --- Encodings and binary data ---------------------------------------------------------------


def test_utf8_bom_is_not_part_of_the_first_name(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, "bom.csv", "\ufeffid,city\n1,Zürich\n".encode())

    assert profile.encoding == "utf-8-sig"
    assert [c.name for c in profile.columns] == ["id", "city"]
    assert profile.sample_rows == (("1", "Zürich"),)


def test_latin1_bytes_are_decoded(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, "l1.csv", "name,n\nCafé,1\nNaïve,2\n".encode("latin-1"))

    assert profile.encoding in ("cp1252", "latin-1")
    assert column(profile, "name").example == "Café"


def test_cp1252_euro_sign_is_decoded_as_money(tmp_path: Path) -> None:
    content = "item,price\nCafé,€12\nThé,€3\n".encode("cp1252")
    profile = profile_of(tmp_path, "eu.csv", content)

    assert profile.encoding == "cp1252"
    price = column(profile, "price")
    assert (price.kind, price.example, price.maximum) == ("money", "€12", 12)


def test_utf16_with_bom(tmp_path: Path) -> None:
    content = "name\tscore\nÅsa\t3\nBo\t4\n".encode("utf-16")
    profile = profile_of(tmp_path, "u16.csv", content)

    assert (profile.encoding, profile.delimiter, profile.rows) == ("utf-16", "\t", 2)
    assert column(profile, "name").example == "Åsa"
    assert column(profile, "score").kind == "integer"


def test_utf16_without_bom(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, "u16.csv", "name,score\nÅsa,3\nBo,4\n".encode("utf-16-le"))

    assert (profile.encoding, profile.rows, column(profile, "name").example) == (
        "utf-16-le",
        2,
        "Åsa",
    )


def test_png_named_csv_is_refused_as_binary(tmp_path: Path) -> None:
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
    reason = refusal(tmp_path, "chart.csv", png)

    assert "binary" in reason
    assert "PNG" in reason


def test_random_bytes_named_csv_are_refused_as_binary(tmp_path: Path) -> None:
    noise = random.Random(7).randbytes(20_000)
    assert b"\x00" in noise
    assert "binary" in refusal(tmp_path, "noise.csv", noise)


def test_binary_named_json_is_refused(tmp_path: Path) -> None:
    reason = refusal(tmp_path, "x.json", b"PK\x03\x04\x14\x00\x00\x00" + bytes(300))

    assert reason == (
        "doesn't look like a JSON file (it contains binary data: "
        "it looks like a ZIP archive or Excel workbook)"
    )


def test_empty_file_is_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path, "empty.csv", b"") == "is empty"


def test_whitespace_only_file_is_refused(tmp_path: Path) -> None:
    assert refusal(tmp_path, "blank.csv", "  \n\t\n   \n") == wording.BLANK


@pytest.mark.parametrize(
    ("name", "fmt"), [("old.xls", None), ("notes.pdf", None), ("data", None), ("x.csv", "docx")]
)
def test_unsupported_formats_are_refused(tmp_path: Path, name: str, fmt: str | None) -> None:
    path = tmp_path / "file"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ProfileError, match=r"xls|preview"):
        profile_file(path, name=name, fmt=fmt)


def test_txt_is_sniffed_as_delimited_text(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, "export.txt", "a|b|c\n1|2|3\n4|5|6\n")

    assert (profile.format, profile.delimiter, len(profile.columns)) == ("csv", "|", 3)


# --- Delimiters, quoting, headers, ragged rows -----------------------------------------------


def test_semicolons_with_decimal_commas(tmp_path: Path) -> None:
    content = "name;amount;share\nA;1.234,56;12,5%\nB;7,5;3%\nC;-2;0,5%\n"
    profile = profile_of(tmp_path, "eu.csv", content)

    assert profile.delimiter == ";"
    amount = column(profile, "amount")
    assert (amount.kind, amount.minimum, amount.maximum) == ("number", -2, 1234.56)
    share = column(profile, "share")
    assert (share.kind, share.maximum) == ("percent", 12.5)


def test_tsv_file(tmp_path: Path) -> None:
    profile = profile_of(
        tmp_path, "data.tsv", "city\tpeople, roughly\nOslo\t700,000\nBergen\t290,000\n"
    )

    assert (profile.format, profile.delimiter) == ("tsv", "\t")
    assert [c.name for c in profile.columns] == ["city", "people, roughly"]
    assert column(profile, "people, roughly").maximum == 700_000


def test_tab_delimited_file_named_csv(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, "data.csv", "a\tb\tc\n1\t2\t3\n4\t5\t6\n")

    assert (profile.format, profile.delimiter, len(profile.columns)) == ("csv", "\t", 3)


def test_header_names_with_trailing_spaces(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, "h.csv", "rank , name ,revenue\n1,Acme,5\n")

    assert [c.name for c in profile.columns] == ["rank", "name", "revenue"]
    assert "header names had extra spaces" in profile.notes


def test_embedded_newlines_and_escaped_quotes(tmp_path: Path) -> None:
    content = 'id,text\r\n1,"line one\r\nline two"\r\n2,"she said ""hi"", twice"\r\n3,plain\r\n'
    profile = profile_of(tmp_path, "q.csv", content)

    assert profile.rows == 3
    assert profile.sample_rows[0] == ("1", "line one\r\nline two")
    assert profile.sample_rows[1] == ("2", 'she said "hi", twice')


def test_ragged_rows_are_padded_cut_and_noted(tmp_path: Path) -> None:
    content = "a,b,c\n1,2,3\n4,5\n6\n7,8,9,10\n"
    profile = profile_of(tmp_path, "r.csv", content)

    assert profile.rows == 4
    assert profile.sample_rows == (("1", "2", "3"), ("4", "5", ""), ("6", "", ""), ("7", "8", "9"))
    assert "2 rows had fewer fields than the header" in profile.notes
    assert "1 row had more fields than the header (extra fields ignored)" in profile.notes
    assert column(profile, "c").missing == 2


def test_blank_lines_are_not_rows(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, "b.csv", "\n\na,b\n1,2\n\n3,4\n\n")

    assert profile.rows == 2
    assert not profile.notes


def test_header_only_file(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, "h.csv", "id,name,amount\n")

    assert profile.rows == 0
    assert [c.name for c in profile.columns] == ["id", "name", "amount"]
    assert {c.kind for c in profile.columns} == {"empty"}
    assert profile.sample_rows == ()
    assert suggest_questions(profile)[0] == "Summarise this data and its quality"


def test_duplicate_header_names_are_made_unique(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, "d.csv", "amount,amount,amount_2,,\n1,2,3,4,5\n")

    assert [c.name for c in profile.columns] == [
        "amount",
        "amount_3",
        "amount_2",
        "column_4",
        "column_5",
    ]
    assert "duplicate column names were renamed: amount_3" in profile.notes
    assert "2 columns had no name (now column_4, column_5)" in profile.notes


def test_very_wide_file(tmp_path: Path) -> None:
    header = ",".join(f"c{i}" for i in range(300))
    rows = "\n".join(",".join(str(r * i) for i in range(300)) for r in range(20))
    profile = profile_of(tmp_path, "wide.csv", f"{header}\n{rows}\n")

    assert (profile.rows, len(profile.columns)) == (20, 300)
    assert column(profile, "c299").maximum == 19 * 299
    assert all(len(row) == 300 for row in profile.sample_rows)


def test_malformed_csv_stops_with_a_note(tmp_path: Path) -> None:
    huge = "x" * 200_000  # over the csv module's field size limit
    profile = profile_of(tmp_path, "m.csv", f"a,b\n1,2\n3,{huge}\n5,6\n")

    assert profile.rows == 1
    assert profile.sampled
    assert profile.notes == ("stopped after 1 row: the rest of the file couldn't be read as CSV",)


# --- Kinds and missing values ----------------------------------------------------------------


def test_missing_value_spellings(tmp_path: Path) -> None:
    cells = ["", "-", "NA", "n/a", "null", "None", "NaN", "—", " ", "#N/A"]
    content = "n,k\n" + "".join(f"{cell},k\n" for cell in ["5", *cells, "7"])
    profile = profile_of(tmp_path, "m.csv", content)

    n = column(profile, "n")
    assert (profile.rows, n.missing, n.kind, n.distinct, n.mean) == (12, 10, "integer", 2, 6)


def test_blank_lines_in_a_one_column_file_are_not_rows(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, "one.csv", 'n\n1\n\n   \n""\n2\n')

    assert (profile.rows, column(profile, "n").missing) == (2, 0)


def test_dates_in_iso_and_common_formats(tmp_path: Path) -> None:
    content = (
        "iso,us,eu,named,stamp,bad\n"
        "2024-03-01,03/01/2024,01.03.2024,1 Mar 2024,2024-03-01T10:00:00Z,2024-02-30\n"
        '2024-12-31,12/31/2024,31.12.2024,"Dec 31, 2024",2024-12-31 23:59:59.5,2024-01-01\n'
    )
    profile = profile_of(tmp_path, "d.csv", content)

    assert kinds(profile) == {
        "iso": "date",
        "us": "date",
        "eu": "date",
        "named": "date",
        "stamp": "datetime",
        "bad": "text",
    }


def test_booleans_integers_and_numbers(tmp_path: Path) -> None:
    content = (
        "flag,answer,whole,decimal,big,mixed,zero_one\n"
        'true,yes,1,1.5,"1,000,000",1,0\n'
        'False,No,-2,2,"2,500",x,1\n'
        "TRUE,y,30,1e3,12,3,1\n"
    )
    profile = profile_of(tmp_path, "k.csv", content)

    assert kinds(profile) == {
        "flag": "boolean",
        "answer": "boolean",
        "whole": "integer",
        "decimal": "number",
        "big": "integer",
        "mixed": "text",
        "zero_one": "integer",
    }
    assert column(profile, "decimal").maximum == 1000
    assert column(profile, "big").maximum == 1_000_000


@pytest.mark.parametrize(
    ("text", "value", "money", "percent"),
    [
        ("$572,754", 572_754, True, False),
        ("-$4,539", -4_539, True, False),
        ("$-4,539", -4_539, True, False),
        ("12.4%", 12.4, False, True),
        ("(1,234)", -1_234, False, False),
        ("1.5e3", 1_500, False, False),
        ("€ 12", 12, True, False),
        ("12 €", 12, True, False),
        (".5", 0.5, False, False),
        ("+7", 7, False, False),
    ],
)
def test_parse_number(text: str, value: float, money: bool, percent: bool) -> None:
    parsed = parse_number(text)
    assert parsed is not None
    assert parsed.dot is not None
    assert (parsed.dot[0], parsed.money, parsed.percent) == (value, money, percent)


def test_parse_number_reads_both_decimal_marks() -> None:
    european = parse_number("1.234,56")
    ambiguous = parse_number("1,234")
    assert european is not None
    assert ambiguous is not None
    assert (european.dot, european.comma) == (None, (1234.56, True))
    assert (ambiguous.dot, ambiguous.comma) == ((1234.0, False), (1.234, True))


@pytest.mark.parametrize("text", ["abc", "1,2,3", "12-34", "(5", "--5", "$", "1.2.3", "12,34,5"])
def test_parse_number_rejects(text: str) -> None:
    assert parse_number(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01", (True, False)),
        ("2024/3/1", (True, False)),
        ("03/01/2024", (True, False)),
        ("31/12/2024", (True, False)),
        ("1-Mar-2024", (True, False)),
        ("March 1, 2024", (True, False)),
        ("2024-03-01T10:00:00Z", (True, True)),
        ("2024-03-01 10:00", (True, True)),
        ("3/1/2024 9:15 PM", (True, True)),
        ("2024-03-01T10:00:00+02:00", (True, True)),
        ("2024-13-01", (False, False)),
        ("13/13/2024", (False, False)),
        ("1 Foo 2024", (False, False)),
        ("20240301", (False, False)),
    ],
)
def test_parse_date(text: str, expected: tuple[bool, bool]) -> None:
    assert parse_date(text) == expected


def test_distinct_counting_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.profile.columns.DISTINCT_CAP", 10)
    profile = profile_of(tmp_path, "c.csv", "n,k\n" + "".join(f"{i},{i % 3}\n" for i in range(50)))

    assert (column(profile, "n").distinct, column(profile, "n").distinct_capped) == (10, True)
    assert (column(profile, "k").distinct, column(profile, "k").distinct_capped) == (3, False)


def test_long_examples_are_shortened(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, "l.csv", f"text\n{'word ' * 100}\n")

    assert len(column(profile, "text").example) == 101
    assert column(profile, "text").example.endswith("…")


# --- Budgets ---------------------------------------------------------------------------------


def _big_csv(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "big.csv"
    body = "".join(f'{i},{i * 1.5},"label, {i % 7}"\n' for i in range(1, rows + 1))
    path.write_text("id,value,label\n" + body)
    return path


def _whole_rows(prefix: bytes) -> int:
    """Data rows complete in `prefix` (the row after the last newline is cut, or empty)."""
    return prefix.count(b"\n") - 1 - prefix.endswith(b"\n")


def test_byte_budget_reads_a_prefix_of_whole_rows(tmp_path: Path) -> None:
    path = _big_csv(tmp_path, 200_000)
    total = path.stat().st_size
    assert total > 5_000_000

    profile = profile_file(path, name="big.csv", max_bytes=1024 * 1024)

    prefix = path.read_bytes()[: 1024 * 1024]
    assert profile.sampled
    assert profile.rows == _whole_rows(prefix) < 200_000
    assert profile.bytes_read == 1024 * 1024
    assert profile.total_rows is None
    assert profile.notes == (f"only the first 1.0 MB of {total / 1024 / 1024:.1f} MB were read",)
    ids = column(profile, "id")
    assert (ids.kind, ids.missing, ids.maximum) == ("integer", 0, profile.rows)  # no partial row
    assert column(profile, "label").missing == 0


def test_a_partly_downloaded_file(tmp_path: Path) -> None:
    whole = _big_csv(tmp_path, 20_000)
    part = tmp_path / "part.csv"
    part.write_bytes(whole.read_bytes()[:100_000])
    assert not part.read_bytes().endswith(b"\n")

    profile = profile_file(part, name="big.csv", total_bytes=whole.stat().st_size)

    assert profile.sampled
    assert (profile.bytes_read, profile.total_bytes) == (100_000, whole.stat().st_size)
    assert profile.notes == (
        f"only the first 98 KB of {-(-whole.stat().st_size // 1024)} KB were read",
    )
    assert profile.rows == _whole_rows(part.read_bytes())  # the cut row was dropped
    assert column(profile, "label").missing == 0


def test_time_budget_stops_early(tmp_path: Path) -> None:
    path = _big_csv(tmp_path, 100_000)

    started = time.perf_counter()
    profile = profile_file(path, name="big.csv", max_seconds=0)

    assert time.perf_counter() - started < 1
    assert profile.sampled
    assert profile.rows == 64
    assert profile.notes == ("stopped after 0 s: only the first 64 rows were read",)


# --- Excel -----------------------------------------------------------------------------------


def test_xlsx_first_sheet_with_typed_cells(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "Sales"
    sheet.append(["Region ", "Units", "Price", "Day", "Paid", "Stamp", None])
    sheet.append(["North", 3, 2.5, dt.datetime(2024, 3, 1), True, dt.datetime(2024, 3, 1, 9, 30)])
    sheet.append(["South", 5, 4.0, dt.datetime(2024, 3, 2), False, dt.datetime(2024, 3, 2, 10)])
    sheet.append([None, None, None, None, None, None])
    sheet.append(["East", None, 1.25, dt.datetime(2024, 3, 3), None, None, "stray"])
    workbook.create_sheet("Notes")
    workbook.create_sheet("Lookup")
    path = tmp_path / "sales.xlsx"
    workbook.save(path)

    profile = profile_file(path, name="sales.xlsx")

    assert (profile.format, profile.rows, profile.encoding) == ("xlsx", 3, None)
    assert kinds(profile) == {
        "Region": "text",
        "Units": "integer",
        "Price": "number",
        "Day": "date",
        "Paid": "boolean",
        "Stamp": "datetime",
    }
    assert column(profile, "Units").missing == 1
    assert profile.sample_rows[0] == (
        "North",
        "3",
        "2.5",
        "2024-03-01",
        "true",
        "2024-03-01 09:30:00",
    )
    assert "2 more sheets not profiled: Notes, Lookup" in profile.notes
    assert "1 row had more fields than the header (extra fields ignored)" in profile.notes


def test_xlsx_time_budget_stops_early_and_closes_the_file(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    for i in range(300):
        workbook.active.append([i, f"row {i}"] if i else ["n", "label"])
    path = tmp_path / "long.xlsx"
    workbook.save(path)

    profile = profile_file(path, name="long.xlsx", max_seconds=0)

    assert (profile.rows, profile.sampled) == (64, True)
    assert profile.notes == ("stopped after 0 s: only the first 64 rows were read",)


def test_xlsx_with_an_empty_first_sheet(tmp_path: Path) -> None:
    path = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(path)

    with pytest.raises(ProfileError, match="first sheet"):
        profile_file(path, name="empty.xlsx")


def test_damaged_workbook(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.xlsx", tmp_path / "bad.xlsx"
    workbook = openpyxl.Workbook()
    workbook.active.append(["a", "b"])
    workbook.save(good)
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(bad, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            target.writestr(item, data[:60] if item.filename.endswith("sheet1.xml") else data)

    with pytest.raises(ProfileError) as caught:
        profile_file(bad, name="bad.xlsx")
    assert caught.value.reason == wording.NOT_XLSX


@pytest.mark.parametrize(("module", "name"), [("openpyxl", "a.xlsx"), ("pyarrow", "a.parquet")])
def test_missing_reader_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, module: str, name: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    monkeypatch.setitem(sys.modules, f"{module}.parquet", None)

    reason = refusal(tmp_path, name, b"not read")
    assert reason.startswith("can't be previewed here (the reader for ")


def test_not_a_workbook(tmp_path: Path) -> None:
    assert refusal(tmp_path, "fake.xlsx", "a,b\n1,2\n") == wording.NOT_XLSX


# --- JSON ------------------------------------------------------------------------------------


def test_json_array_takes_the_union_of_keys(tmp_path: Path) -> None:
    records = [{"a": 1, "b": "x"}, {"a": 2, "c": True}, {"a": None, "b": "y", "c": False}]
    profile = profile_of(tmp_path, "r.json", json.dumps(records))

    assert (profile.format, profile.rows) == ("json", 3)
    assert [c.name for c in profile.columns] == ["a", "b", "c"]
    assert [c.missing for c in profile.columns] == [1, 1, 1]
    assert kinds(profile) == {"a": "integer", "b": "text", "c": "boolean"}
    assert profile.sample_rows == (("1", "x", ""), ("2", "", "true"), ("", "y", "false"))


def test_json_nested_values_are_compact_json_text(tmp_path: Path) -> None:
    records = [{"id": 1, "tags": ["a", "é"], "meta": {"k": 1}}]
    profile = profile_of(tmp_path, "n.json", json.dumps(records, indent=2))

    assert column(profile, "tags").example == '["a","é"]'
    assert (column(profile, "meta").kind, column(profile, "meta").example) == ("text", '{"k":1}')


def test_json_array_bigger_than_the_read_chunk(tmp_path: Path) -> None:
    records = [{"id": i, "text": "x" * 100, "when": "2024-01-01"} for i in range(6000)]
    profile = profile_of(tmp_path, "big.json", json.dumps(records))

    assert (profile.rows, profile.sampled) == (6000, False)
    assert column(profile, "id").maximum == 5999
    assert column(profile, "when").kind == "date"


def test_json_array_cut_by_the_byte_budget(tmp_path: Path) -> None:
    records = [{"id": i, "text": "x" * 100} for i in range(6000)]
    profile = profile_of(tmp_path, "big.json", json.dumps(records), max_bytes=100_000)

    assert profile.sampled
    assert 0 < profile.rows < 6000
    assert column(profile, "id").maximum == profile.rows - 1
    assert profile.notes[0].startswith("only the first 98 KB of ")


def test_json_lines(tmp_path: Path) -> None:
    content = '{"n": 1, "s": "a"}\n\n{"n": 2}\nnot json\n{"n": 3, "s": "c"}\n'
    profile = profile_of(tmp_path, "l.jsonl", content)

    assert (profile.format, profile.rows) == ("jsonl", 3)
    assert column(profile, "s").missing == 1
    assert profile.notes == ("1 line wasn't valid JSON and was skipped",)


def test_json_lines_in_a_file_named_json(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, "l.json", '{"n": 1}\n{"n": 2}\n')

    assert (profile.format, profile.rows) == ("jsonl", 2)


def test_records_inside_a_single_object(tmp_path: Path) -> None:
    document = {"meta": {"v": 1}, "data": [{"n": 1}, {"n": 2}]}
    profile = profile_of(tmp_path, "w.json", json.dumps(document))

    assert profile.rows == 2
    assert 'records taken from the "data" field' in profile.notes


def test_non_object_items_are_skipped(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, "m.json", '[{"n": 1}, 2, {"n": 3}]')

    assert profile.rows == 2
    assert "1 item wasn't a JSON object and was skipped" in profile.notes


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"name": "report", "pages": 3}', wording.NOT_RECORDS),
        ("42", wording.NOT_RECORDS),
        ('"text"', wording.NOT_RECORDS),
        ("[1, 2, 3]", wording.NOT_RECORDS),
        ("[[1, 2], [3, 4]]", wording.NOT_RECORDS),
        ("[]", wording.NOT_RECORDS),
        ('[{"a": 1', wording.NOT_JSON),
        ('{"a": ', wording.NOT_JSON),
        ("[{}]", wording.NO_COLUMNS),
    ],
)
def test_json_that_is_not_a_table(tmp_path: Path, content: str, reason: str) -> None:
    assert refusal(tmp_path, "x.json", content) == reason


def test_broken_json_after_some_records_stops_with_a_note(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, "b.json", '[{"n": 1}, {"n": 2}, {"n": oops}]')

    assert (profile.rows, profile.sampled) == (2, True)
    assert profile.notes == ("stopped after 2 rows: the rest of the file isn't valid JSON",)


# --- Parquet ---------------------------------------------------------------------------------


def _parquet(tmp_path: Path, rows: int, **options) -> Path:
    start = dt.datetime(2024, 1, 1, 8, 30)
    table = pa.table(
        {
            "id": pa.array(range(rows), pa.int64()),
            "price": pa.array([i / 4 for i in range(rows)], pa.float64()),
            "city": pa.array([["Oslo", "Rome", None][i % 3] for i in range(rows)]),
            "day": pa.array([dt.date(2024, 1, 1 + i % 28) for i in range(rows)]),
            "at": pa.array(
                [start + dt.timedelta(hours=i) for i in range(rows)], pa.timestamp("ns")
            ),
            "ok": pa.array([i % 2 == 0 for i in range(rows)]),
        }
    )
    path = tmp_path / "t.parquet"
    pq.write_table(table, path, **options)
    return path


def test_parquet_row_count_comes_from_metadata(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.profile.parquet.PARQUET_SAMPLE_ROWS", 100)
    path = _parquet(tmp_path, 3000, row_group_size=1000)

    profile = profile_file(path, name="t.parquet")

    assert (profile.rows, profile.total_rows, profile.sampled) == (100, 3000, True)
    assert profile.notes == ("profiled the first 100 of 3,000 rows",)
    assert 0 < profile.bytes_read < profile.total_bytes
    assert kinds(profile) == {
        "id": "integer",
        "price": "number",
        "city": "text",
        "day": "date",
        "at": "datetime",
        "ok": "boolean",
    }
    assert column(profile, "city").missing == 33
    assert profile.sample_rows[0][:4] == ("0", "0.0", "Oslo", "2024-01-01")


def test_small_parquet_is_read_whole(tmp_path: Path) -> None:
    profile = profile_file(_parquet(tmp_path, 10), name="t.parquet")

    assert (profile.rows, profile.total_rows, profile.sampled) == (10, 10, False)
    assert column(profile, "id").maximum == 9


def test_not_a_parquet_file(tmp_path: Path) -> None:
    assert refusal(tmp_path, "x.parquet", "a,b\n1,2\n") == wording.NOT_PARQUET


def test_heavy_readers_are_imported_lazily() -> None:
    code = (
        "import sys, bot.profile.profiler; "
        "print(sorted({'pyarrow', 'openpyxl'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


# --- Suggested questions ---------------------------------------------------------------------


def _profile_with(*columns: tuple[str, str, int], rows: int = 100) -> DataProfile:
    return DataProfile(
        file_name="f.csv",
        format="csv",
        rows=rows,
        columns=tuple(
            ColumnProfile(name, kind, 0, distinct, False, "x", None, None, None)
            for name, kind, distinct in columns
        ),
        sample_rows=(),
        sampled=False,
        bytes_read=1,
        total_bytes=1,
        encoding="utf-8",
        delimiter=",",
        notes=(),
    )


def test_questions_with_a_date_and_a_measure() -> None:
    profile = _profile_with(
        ("order_date", "date", 90), ("revenue", "money", 80), ("age", "integer", 40)
    )

    assert suggest_questions(profile) == [
        "Monthly revenue over time as a line chart",
        "How does age relate to revenue?",
        "Show the distribution of revenue as a histogram",
    ]


def test_questions_prefer_measure_and_category_names() -> None:
    profile = _profile_with(
        ("code", "text", 5),
        ("height", "number", 50),
        ("flag", "integer", 2),
        ("sales", "number", 60),
        ("colour", "text", 12),
        ("department", "text", 8),
    )

    assert suggest_questions(profile, count=2) == [
        "Compare sales by department",
        "How does height relate to sales?",
    ]


@pytest.mark.parametrize(
    ("name", "identifier"),
    [
        ("Clothing ID", True),
        ("change_in_rank", True),
        ("rownames", True),
        ("column_1", True),
        ("Phone Number", True),
        ("Total Rows", False),
        ("Number of orders", False),
        ("revenues", False),
        ("***", False),
    ],
)
def test_identifier_columns_are_not_measures(name: str, identifier: bool) -> None:
    profile = _profile_with((name, "integer", 90), ("amount", "money", 50))

    relation = f"How {'do' if name.endswith('s') else 'does'} {name} relate to amount?"
    assert (relation in suggest_questions(profile)) != identifier


def test_questions_fall_back_when_no_column_is_usable() -> None:
    profile = _profile_with(("id", "integer", 100), ("note", "empty", 0))

    assert suggest_questions(profile) == list(FALLBACK_QUESTIONS)


def test_questions_stay_short_with_long_column_names() -> None:
    long = "total_revenue_in_thousands_of_euros_after_returns_and_discounts_q4"
    profile = _profile_with((long, "money", 90), ("region", "text", 4), ("profit", "money", 80))
    questions = suggest_questions(profile, count=4)

    assert len(questions) == len(set(questions)) == 4
    assert all(len(q) <= 75 for q in questions)
    assert "Which region values are most common?" in questions
