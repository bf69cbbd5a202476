"""The paragraph that opens a dropped file's profile: its shape, format, size and notes."""

from __future__ import annotations

from bot import wording
from bot.profile.profiler import DataProfile


def profile_summary(profile: DataProfile) -> str:
    """One paragraph about a profiled file: size, shape, format, and what to know."""
    rows = profile.total_rows if profile.total_rows is not None else profile.rows
    shape = wording.SUMMARY_SHAPE.format(rows=rows, columns=len(profile.columns))
    if profile.sampled and profile.total_rows is None:
        shape = wording.SUMMARY_SAMPLE_SHAPE.format(rows=profile.rows, columns=len(profile.columns))
    details = [profile.format.upper()]
    if profile.encoding and profile.encoding not in ("utf-8", "ascii"):
        details.append(profile.encoding)
    if profile.delimiter and profile.delimiter not in (",", "\t"):
        details.append(wording.SUMMARY_DELIMITER.format(delimiter=profile.delimiter))
    lines = [f"{shape} · {', '.join(details)} · {profile.total_bytes / 2**20:,.1f} MB"]
    lines += [f"• {note}" for note in profile.notes[:5]]
    lines.append(wording.SUMMARY_ASK)
    return "\n".join(lines)
