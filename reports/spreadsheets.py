"""Rows into files: an Excel workbook or a CSV, for the exports and the bulletin, in a web
request (a short list, streamed at once) or in a task (reports.jobs).

Both read the rows lazily and count them; `progress(count)` is called every PROGRESS_EVERY
rows so that a task can report how far it got.
"""

import csv
import io
import tempfile
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from typing import IO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from reports.exports import Row

CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
}
# An Excel file up to this size is built in memory, a larger one in a file on disk.
XLSX_IN_MEMORY = 8 * 1024 * 1024
CSV_FLUSH_AT = 64 * 1024
COLUMN_WIDTH = 16
PROGRESS_EVERY = 500
PERCENT_FORMAT = "0.0%"

Progress = Callable[[int], None]


def _no_progress(count: int) -> None:
    pass


def xlsx_file(
    rows: Iterable[Row],
    *,
    sheet_title: str,
    progress: Progress = _no_progress,
    preamble: Sequence[str] = (),
    percent_columns: Collection[int] = (),
) -> tuple[IO[bytes], int]:
    """The rows (the header first, in bold) as an Excel workbook in a temporary file, rewound;
    and the number of data rows. The caller closes the file.

    `preamble`: lines above the header, one per row, the first as the sheet's title (the
    bulletin's title and period). `percent_columns`: the indexes of columns holding ratios
    (0.9333), stored as numbers shown as percentages (93.3%), so that a spreadsheet can still
    compute with them.

    openpyxl's write-only mode keeps the sheet's rows in a temporary file of its own until the
    workbook is saved, so neither step holds the list in memory."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    sheet.freeze_panes = f"A{len(preamble) + 2}"
    rows = iter(rows)
    header = next(rows)
    for index in range(len(header)):
        sheet.column_dimensions[get_column_letter(index + 1)].width = COLUMN_WIDTH
    for number, line in enumerate(preamble):
        cell = WriteOnlyCell(sheet, value=_xlsx_value(line))
        cell.font = Font(bold=True, size=14) if number == 0 else Font(italic=True)
        sheet.append([cell])
    bold = Font(bold=True)
    cells = []
    for value in header:
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = bold
        cells.append(cell)
    sheet.append(cells)
    count = 0
    for row in rows:
        sheet.append([_xlsx_cell(sheet, i, v, percent_columns) for i, v in enumerate(row)])
        count += 1
        if count % PROGRESS_EVERY == 0:
            progress(count)
    file = tempfile.SpooledTemporaryFile(max_size=XLSX_IN_MEMORY)  # noqa: SIM115
    try:
        workbook.save(file)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    return file, count


def _xlsx_cell(sheet, index: int, value, percent_columns: Collection[int]):
    if index in percent_columns and isinstance(value, int | float):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = PERCENT_FORMAT
        return cell
    return _xlsx_value(value)


def _xlsx_value(value):
    # Control characters other than tab and newlines are not allowed in the XML of a
    # workbook: openpyxl would raise half-way through the export.
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def csv_chunks(rows: Iterable[Row], *, counted: Progress = _no_progress) -> Iterator[bytes]:
    """UTF-8 with a byte-order mark, so that Excel opens Chinese text correctly; written into a
    small buffer and handed over each time it fills. `counted(n)` is called with the number of
    data rows (the header not counted) every PROGRESS_EVERY rows and once at the end."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    count = -1  # the header is not counted
    for row in rows:
        writer.writerow(row)
        count += 1
        if count and count % PROGRESS_EVERY == 0:
            counted(count)
        if buffer.tell() >= CSV_FLUSH_AT:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")
    counted(max(count, 0))


def csv_file(rows: Iterable[Row], *, progress: Progress = _no_progress) -> tuple[IO[bytes], int]:
    """The rows as a CSV in a temporary file, rewound; and the number of data rows."""
    counts = [0]

    def counted(n: int) -> None:
        counts[0] = n
        progress(n)

    file = tempfile.TemporaryFile()  # noqa: SIM115 - the caller closes it
    try:
        for chunk in csv_chunks(rows, counted=counted):
            file.write(chunk)
    except BaseException:
        file.close()
        raise
    file.seek(0)
    return file, counts[0]
