"""Parsing of query parameters that name database rows."""

MAX_ID = 2**63 - 1  # the largest value a bigint primary key holds


def parse_id(value: str | None) -> int | None:
    """A row id from a query parameter: ASCII digits within a bigint, else None. ("²" is a
    digit to str.isdigit() but not to int(); a 30-digit number overflows SQLite.)"""
    if not value or not (value.isascii() and value.isdigit()) or len(value) > 19:
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None
