"""CSV files that are safe to open in a spreadsheet.

A cell starting with = + - @ (or a tab or carriage return) is a formula to Excel
and LibreOffice, so text typed by anyone (a public report, a comment) could run
as one when a DSL opens an export. Such cells are prefixed with an apostrophe.
"""

import csv

from django.http import HttpResponse

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class SafeWriter:
    """A ``csv.writer`` whose every cell goes through ``safe_cell``."""

    def __init__(self, stream):
        self._writer = csv.writer(stream)

    def writerow(self, row):
        return self._writer.writerow([safe_cell(v) for v in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


def csv_download(filename: str) -> tuple[HttpResponse, SafeWriter]:
    """A response that downloads as ``filename``, and a safe writer into it (UTF-8 with the
    byte-order mark Excel needs to read it as UTF-8)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    return response, SafeWriter(response)
