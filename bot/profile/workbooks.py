"""Excel workbooks (.xlsx): the first sheet's rows, read with openpyxl in read-only mode.

openpyxl is imported only when a workbook arrives. The whole file is read (a workbook cut
short can't be opened), so `fixed_bytes_read` is its size.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path

from bot import wording
from bot.errors import ProfileError
from bot.profile.table import Table


def open_xlsx(path: Path, stack: ExitStack) -> Table:
    try:
        import openpyxl  # type: ignore[import-untyped]  # no stubs; imported only for workbooks
        from openpyxl.utils.exceptions import InvalidFileException  # type: ignore[import-untyped]
    except ImportError as error:
        raise ProfileError(wording.NO_XLSX_READER) from error
    try:
        # openpyxl leaves a sheet's stream open when its rows are not read to the end, so the
        # file is opened (and closed) here rather than by openpyxl.
        file = stack.enter_context(path.open("rb"))
        workbook = openpyxl.load_workbook(file, read_only=True, data_only=True)
        stack.callback(workbook.close)
        if not workbook.worksheets:  # only chart sheets
            raise ProfileError(wording.EMPTY_SHEET)
        sheet = workbook.worksheets[0]
        rows = (r for r in sheet.iter_rows(values_only=True) if any(c is not None for c in r))
        header = list(next(rows, ()))
    except (
        zipfile.BadZipFile,
        InvalidFileException,
        KeyError,  # a part the workbook's index names is missing
        ValueError,
        ElementTree.ParseError,  # damaged XML
    ) as error:
        raise ProfileError(wording.NOT_XLSX) from error
    while header and header[-1] is None:
        header.pop()
    if not header:
        raise ProfileError(wording.EMPTY_SHEET)
    table = Table("xlsx", header, fixed_bytes_read=path.stat().st_size)
    table.notes.extend(_other_sheets(list(workbook.sheetnames), str(sheet.title)))
    table.rows = _sheet_rows(rows, table)
    return table


def _other_sheets(names: list[str], profiled: str) -> list[str]:
    others = [name for name in names if name != profiled]
    if not others:
        return []
    shown = ", ".join(others[:3]) + (", …" if len(others) > 3 else "")
    s = "s" if len(others) > 1 else ""
    return [wording.NOTE_OTHER_SHEETS.format(count=len(others), s=s, names=shown)]


def _sheet_rows(rows: Iterator[tuple[object, ...]], table: Table) -> Iterator[Sequence[object]]:
    """Data rows cut to the header's width (values beyond it are counted, then ignored)."""
    width = len(table.header)
    try:
        for row in rows:
            if any(cell is not None for cell in row[width:]):
                table.tallies[wording.NOTE_LONG_ROWS] += 1
            yield row[:width]
    except (ElementTree.ParseError, ValueError):
        table.stopped = wording.STOPPED_SHEET
