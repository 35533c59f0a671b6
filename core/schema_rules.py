"""What the API's OpenAPI schema says beyond the serializers' fields (config.schema): the text a
service keeps, the formats of period path values, and rules across fields. Plain values, so
that serializers and views can name them without importing drf-spectacular."""

TEXT = "^[^\\x00]*$"
# What the services keep of a text (appeals.validators.clean_prose): without whitespace,
# control characters (Unicode Cc), zero-width characters and bidirectional controls, something
# must be left.
_KEPT = "[^\\s\\x00-\\x1f\\x7f-\\x9f\\u200b-\\u200d\\u2060\\ufeff\\u202a-\\u202e\\u2066-\\u2069]"
NOT_BLANK = f"^[^\\x00]*{_KEPT}[^\\x00]*$"

# Path values with a format of their own (reports.league, reports.bulletin): a quarter such as
# 2026Q3, a two-month period such as 2026B5 (September–October), a year such as 2026.
QUARTER = "^2[0-9]{3}Q[1-4]$"
PERIOD = "^2[0-9]{3}(Q[1-4]|B[1-6])$"
QUARTER_OR_YEAR = "^2[0-9]{3}(Q[1-4])?$"


def required_when(field: str, value: bool, *texts: str) -> list[dict]:
    """A request rule a serializer's fields cannot say, for its `schema_any_of`: when `field`
    is `value`, `texts` must be given and not blank (e.g. a refusal needs its note)."""
    return [
        {"properties": {field: {"enum": [not value]}}, "required": [field]},
        {
            "properties": {text: {"type": "string", "pattern": NOT_BLANK} for text in texts},
            "required": list(texts),
        },
    ]
