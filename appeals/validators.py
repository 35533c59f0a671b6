"""Validators for the identifiers enterprises type in: credit codes and phone numbers."""

import re
import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# GB 32100-2015: the 31 characters allowed (no I, O, Z, S, V) and the weights of positions 1–17.
CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# A stored code: 18 characters of that alphabet, nothing else. The same text for PostgreSQL's
# regular expressions and Python's (SQLite's REGEXP is Python's re): \A and \Z, because "$"
# also matches before a final line break in Python.
CREDIT_CODE_STORED = rf"\A[{CREDIT_CODE_CHARSET}]{{18}}\Z"
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
# Bidirectional overrides and isolates: they make "photo\u202egnp.exe" read as "photoexe.png".
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def clean_text(value: str) -> str:
    """For identifiers (codes, phone numbers): full-width to half-width (NFKC), zero-width
    characters removed, outer spaces stripped.

    Full-width digits and letters (１３８…, ＭＡ…) are accepted, not refused: Chinese input
    methods type them, and NFKC maps them to the ASCII the validators check. Digits of other
    scripts (٣, ३) are not mapped by NFKC and stay refused."""
    return unicodedata.normalize("NFKC", value).translate(_ZERO_WIDTH).strip()


def _printable(value: str, *, keep: str) -> str:
    return "".join(
        c
        for c in value.translate(_ZERO_WIDTH)
        if c in keep or (unicodedata.category(c) != "Cc" and c not in _BIDI_CONTROLS)
    )


def clean_words(value: str) -> str:
    """For one-line prose (titles, names): zero-width characters, control characters and
    bidirectional overrides removed, line breaks and tabs turned into spaces, outer spaces
    stripped. Chinese full-width punctuation and emoji are kept as typed.

    Removing, not refusing: a stray zero-width space pasted from a chat app is not worth a
    refusal, and a line break in a title would break the e-mail subject it goes into."""
    one_line = " ".join(value.replace("\r\n", "\n").splitlines())
    return _printable(one_line.replace("\t", " "), keep="").strip()


def clean_prose(value: str) -> str:
    """For multi-line prose (content, replies, opinions, notes): like clean_words, but line
    breaks (normalised to \\n) and tabs are kept."""
    return _printable(value.replace("\r\n", "\n").replace("\r", "\n"), keep="\n\t").strip()


def credit_code_check_char(first17: str) -> str:
    total = sum(
        CREDIT_CODE_CHARSET.index(c) * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


# What people put between the groups of a code they type or paste: spaces of every kind and
# dashes (Unicode category Pd, the minus sign, the soft hyphen); clean_text has already removed
# zero-width characters. Bidirectional controls are not separators: they stay, and are refused.
_DASH_LIKE = frozenset("\u2212\u00ad")


def _is_separator(c: str) -> bool:
    return c.isspace() or c in _DASH_LIKE or unicodedata.category(c) == "Pd"


def normalize_credit_code(value: str) -> str:
    """The one form a credit code is stored and compared in: full-width to half-width (NFKC),
    separators removed (spaces, dashes, zero-width characters), letters upper-case.

    "９１３４ １８０２-ma２…" and "913418 02MA2…" are one enterprise; storing either as typed
    let the same enterprise be registered twice. Whether the result is a valid code is
    validate_credit_code's business."""
    return "".join(c for c in clean_text(value) if not _is_separator(c)).upper()


def credit_code_clean(value: str) -> str:
    """The code as stored: normalised, then validated (length, alphabet, check character).
    Raises ValidationError with the validator's message."""
    code = normalize_credit_code(value)
    validate_credit_code(code)
    return code


def validate_credit_code(value: str) -> None:
    code = normalize_credit_code(value)
    if len(code) != 18:
        raise ValidationError(
            _("统一社会信用代码应为18位，您输入了%(n)d位。"), code="length", params={"n": len(code)}
        )
    bad = [c for c in code if c not in CREDIT_CODE_CHARSET]
    if bad:
        raise ValidationError(
            _("统一社会信用代码含有不允许的字符：%(chars)s（不使用 I、O、Z、S、V）。"),
            code="charset",
            params={"chars": "".join(dict.fromkeys(bad))},
        )
    if not code[2:8].isdigit():
        raise ValidationError(
            _("统一社会信用代码第3至8位应为行政区划代码（数字）。"), code="region"
        )
    if credit_code_check_char(code[:17]) != code[17]:
        raise ValidationError(
            _("统一社会信用代码校验位不正确，请核对后重新输入。"), code="check_char"
        )


_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_LANDLINE = re.compile(r"^0[0-9]{2,3}-?[0-9]{7,8}$")


def normalize_phone(value: str) -> str:
    """Spaces go, "+86" goes, and a mobile typed in groups (138-0563-0000) loses its dashes; a
    landline keeps the one after its area code."""
    phone = clean_text(value).replace(" ", "").replace("－", "-")
    if phone.startswith("+86"):
        phone = phone[3:]
    digits = phone.replace("-", "")
    return digits if _MOBILE.match(digits) else phone


def is_phone(value: str) -> bool:
    """Whether a normalised value is a mobile or landline number."""
    return bool(_MOBILE.match(value) or _LANDLINE.match(value))


def validate_phone(value: str) -> None:
    phone = normalize_phone(value)
    if not (_MOBILE.match(phone) or _LANDLINE.match(phone)):
        raise ValidationError(
            _("请输入有效的手机号码（11位）或固定电话（如 0563-1234567）。"), code="phone"
        )


def mask_phone(value: str) -> str:
    """138****5678 for mobiles, 0563-***4567 for landlines; short values are fully masked."""
    if not value:
        return ""
    if len(value) >= 11 and value.isdigit():
        return f"{value[:3]}****{value[-4:]}"
    if len(value) > 4:
        return f"{value[:-7] if len(value) > 7 else ''}***{value[-4:]}"
    return "****"


def mask_name(value: str) -> str:
    """张** — only the family name shows."""
    return f"{value[0]}{'*' * max(len(value) - 1, 1)}" if value else ""
