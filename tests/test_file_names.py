"""File names are untrusted: where one becomes a path it is reduced to a safe last component."""

from __future__ import annotations

import pytest

from bot.core.files import safe_extension, safe_name
from bot.core.turns import SlackFile


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("sales.csv", "sales.csv"),
        ("../../etc/passwd.csv", "passwd.csv"),
        ("C:\\Users\\dana\\q3.xlsx", "q3.xlsx"),
        ("..", "file"),
        ("", "file"),
        (".env", "env"),
        ("a\x00b|c?.csv", "a_b_c_.csv"),
        ("  two   spaces .csv", "two spaces .csv"),
        ("x" * 300 + ".parquet", "x" * 192 + ".parquet"),
    ],
)
def test_safe_name(name: str, safe: str) -> None:
    assert safe_name(name) == safe
    assert len(safe_name(name)) <= 200


def test_safe_extension_is_letters_and_digits() -> None:
    assert safe_extension(SlackFile(id="F1", name="a./../../tmp/evil")) == "tmpevil"
    assert safe_extension(SlackFile(id="F1", name="noext")) == "csv"
    assert safe_extension(SlackFile(id="F1", name="data.XLSX")) == "xlsx"
