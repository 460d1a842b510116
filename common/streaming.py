"""Streamed downloads: CSV bytes safe to open in a spreadsheet, and the response that sends them."""

import csv
import io
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse

# Cells starting with these are run as formulas by spreadsheet programs.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """A CSV cell a spreadsheet will show as text: formula-like values get a leading quote."""
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def csv_stream(
    header: Iterable[str], rows: Iterable[Iterable], *, rows_per_chunk: int = 500
) -> Iterator[bytes]:
    """CSV bytes in chunks of rows, every cell through ``safe_cell``: the rule for every CSV we write."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> bytes:
        data = buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        return data

    writer.writerow(header)
    yield flush()
    for count, row in enumerate(rows, start=1):
        writer.writerow([safe_cell(cell) for cell in row])
        if count % rows_per_chunk == 0:
            yield flush()
    yield flush()


def attachment_response(
    chunks: Iterable[bytes], *, content_type: str, filename: str
) -> StreamingHttpResponse:
    """A download streamed from ``chunks``, saved as ``filename``, never kept by a cache (it holds data)."""
    response = StreamingHttpResponse(chunks, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response
