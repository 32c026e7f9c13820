"""Reading CSV import files: an upload's text, its lines as {column: cell}, a preview's checked lines.

Each feature says what its files look like (a CsvFormat) and checks the cells itself; the file is
never trusted to have been checked before.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from status_platform.errors import ValidationError

MAX_BYTES = 1_000_000
MAX_ROWS = 5_000
FILE_FIELD = "file"
# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class CheckedLine:
    """One line of an import file, numbered as the file counts; `error` says why it cannot be imported."""

    line: int
    error: str | None = None

    @property
    def is_valid(self) -> bool:
        return self.error is None


LineT = TypeVar("LineT", bound=CheckedLine)


@dataclass(frozen=True)
class ImportPreview(Generic[LineT]):
    """Every line of an import file, checked: what an import would add, and what it leaves out."""

    rows: tuple[LineT, ...]

    @property
    def valid(self) -> list[LineT]:
        return [row for row in self.rows if row.is_valid]

    @property
    def invalid(self) -> list[LineT]:
        return [row for row in self.rows if not row.is_valid]


def refuse_repeats(
    rows: Iterable[LineT], key: Callable[[LineT], Hashable], refuse: Callable[[LineT, str], LineT]
) -> list[LineT]:
    """The rows, each valid one with the `key` of an earlier valid one refused (by `refuse`) as its repeat."""
    seen: dict[Hashable, int] = {}
    checked: list[LineT] = []
    for row in rows:
        if row.is_valid:
            if key(row) in seen:
                row = refuse(row, f"Repeats line {seen[key(row)]}.")
            else:
                seen[key(row)] = row.line
        checked.append(row)
    return checked


def decode_upload(data: bytes) -> str:
    """The text of an uploaded file; ValidationError (field `file`) for one too big, binary or not UTF-8."""
    if not data.strip():
        raise ValidationError("Choose a CSV file with at least a header line.", field=FILE_FIELD)
    if len(data) > MAX_BYTES:
        raise ValidationError(
            f"The file is larger than {MAX_BYTES // 1_000_000} MB; split it into smaller files.",
            field=FILE_FIELD,
        )
    if b"\x00" in data:
        raise ValidationError("This is not a CSV file: it holds binary data.", field=FILE_FIELD)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(
            "The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again.", field=FILE_FIELD
        ) from None


@dataclass(frozen=True)
class CsvFormat:
    """What one kind of import file looks like: a first line naming its columns, then one line per item."""

    kind: str  # "viewer", as in "This is not a viewer CSV file"
    items: str  # "viewers", as in "more than 5,000 viewers"
    columns: tuple[str, ...]  # the columns read; each may be named once
    required: tuple[str, ...]  # a file names at least one of these
    example: str  # a first line shown to a file that names none of them
    aliases: Mapping[str, str]  # other spellings of the columns people's spreadsheets use
    delimiters: tuple[str, ...] = (",", ";", "\t")  # the first one the first line holds separates cells

    def column(self, name: str) -> str:
        normal = re.sub(r"[\s-]+", "_", name.strip().lower())
        return self.aliases.get(normal, normal)

    def check_header(self, header: list[str]) -> None:
        if not any(name in self.required for name in header):
            shown = ", ".join(name for name in header[:6] if name) or "nothing"
            raise ValidationError(
                f"This is not a {self.kind} CSV file: its first line must name the columns, e.g. "
                f"“{self.example}” (it names {shown}).",
                field=FILE_FIELD,
            )
        known = [name for name in header if name in self.columns]
        repeated = sorted({name for name in known if known.count(name) > 1})
        if repeated:
            raise ValidationError(
                f"The column “{repeated[0]}” appears twice in the first line.", field=FILE_FIELD
            )

    def records(self, text: str) -> list[tuple[int, dict[str, str]]]:
        """The file's non-blank lines after its first as {column: cell}, each with its line number.

        ValidationError (field `file`) for a file that is not valid CSV, has no first line naming
        the columns, or holds more than MAX_ROWS lines.
        """
        text = text.removeprefix("\ufeff")
        first_line = text.lstrip("\r\n").split("\n", 1)[0]
        delimiter = next((each for each in self.delimiters if each in first_line), ",")
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
        header: list[str] | None = None
        records: list[tuple[int, dict[str, str]]] = []
        try:
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue
                if header is None:
                    header = [self.column(cell) for cell in cells]
                    self.check_header(header)
                    continue
                if len(records) >= MAX_ROWS:
                    raise ValidationError(
                        f"The file has more than {MAX_ROWS:,} {self.items}; split it into smaller files.",
                        field=FILE_FIELD,
                    )
                records.append((reader.line_num, dict(zip(header, cells, strict=False))))
        except csv.Error as error:
            raise ValidationError(
                f"Line {reader.line_num} is not valid CSV ({error}).", field=FILE_FIELD
            ) from None
        if header is None:
            raise ValidationError("Choose a CSV file with at least a header line.", field=FILE_FIELD)
        return records


def cell(record: Mapping[str, str], name: str) -> str:
    """A line's cell of column `name`, trimmed; "" when the line has none."""
    value = (record.get(name) or "").strip()
    # An export quotes cells a spreadsheet would run as a formula; read back, the quote goes.
    if value.startswith("'") and value[1:2] and value[1] in FORMULA_STARTS:
        value = value[1:]
    return value
