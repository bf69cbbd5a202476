"""Parquet files: the first record batch as rows; the row count comes from the metadata.

pyarrow is imported only when a Parquet file arrives.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

from bot import wording
from bot.errors import ProfileError
from bot.profile.table import Table

PARQUET_SAMPLE_ROWS = 10_000


def open_parquet(path: Path, stack: ExitStack) -> Table:
    try:
        import pyarrow as pa  # type: ignore[import-untyped]  # no stubs; imported only for Parquet
        import pyarrow.parquet as pq  # type: ignore[import-untyped]
    except ImportError as error:
        raise ProfileError(wording.NO_PARQUET_READER) from error

    try:
        parquet = pq.ParquetFile(path)
        stack.callback(parquet.close)
        batch = next(parquet.iter_batches(batch_size=PARQUET_SAMPLE_ROWS), None)
    except (pa.ArrowInvalid, OSError) as error:
        raise ProfileError(wording.NOT_PARQUET) from error
    metadata = parquet.metadata
    table = Table("parquet", list(parquet.schema_arrow.names), total_rows=metadata.num_rows)
    table.fixed_bytes_read = path.stat().st_size
    if metadata.num_row_groups > 1:
        group = metadata.row_group(0)
        read = sum(group.column(i).total_compressed_size for i in range(group.num_columns))
        table.fixed_bytes_read = int(read)
    if batch is not None:
        columns = [_arrow_values(column, pa) for column in batch.columns]
        table.rows = zip(*columns, strict=True)
    return table


def _arrow_values(column: Any, pa: Any) -> list[object]:
    """Python values of an Arrow array; text where Python has no type for them (ns times)."""
    try:
        values: list[object] = column.to_pylist()
    except ValueError:
        values = column.cast(pa.string()).to_pylist()
    return values
