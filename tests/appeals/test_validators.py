"""Identifiers enterprises type in: unified social credit codes (GB 32100-2015) and phones."""

import re

import pytest
from django.core.exceptions import ValidationError
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from appeals.validators import (
    CREDIT_CODE_CHARSET,
    CREDIT_CODE_STORED,
    credit_code_check_char,
    credit_code_clean,
    mask_name,
    mask_phone,
    normalize_credit_code,
    normalize_phone,
    validate_credit_code,
    validate_phone,
)
from tests.factories import credit_code


def full_width(text: str) -> str:
    """ASCII letters and digits as their full-width forms (what a Chinese IME may type)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def refusal_code(validator, value: str) -> str:
    with pytest.raises(ValidationError) as caught:
        validator(value)
    return caught.value.code


# --- Credit codes -------------------------------------------------------------------------

# Published codes; each passes the check-char function (a random string does 1 time in 31).
PUBLISHED_CODES = [
    "91350100M000100Y43",  # the worked example of GB 32100-2015
    "914403001922038216",
    "91330100716105852F",
    "91440300708461136T",
    "12100000400000624D",  # registered by 机构编制 (a public institution)
]


@pytest.mark.parametrize("code", PUBLISHED_CODES)
def test_published_credit_codes_are_valid(code):
    assert credit_code_check_char(code[:17]) == code[17]

    validate_credit_code(code)


def test_the_standard_worked_example_has_check_char_3():
    assert credit_code_check_char("91350100M000100Y4") == "3"


@pytest.mark.parametrize(
    "code",
    [
        credit_code("MA2MXXXXX", prefix="91", region="341800"),  # 宣城市, a company
        credit_code("MA2N0K1P7", prefix="92", region="341821"),  # 郎溪县, a sole trader
        credit_code("000000001", prefix="11", region="341800"),
        credit_code("MA2MXXXX0", prefix="52", region="341802"),  # 民政: a social organisation
    ],
)
def test_built_codes_starting_with_digits_are_valid(code):
    validate_credit_code(code)


@pytest.mark.parametrize("prefix", ["Y1", "A1", "N2", "N3", "Y9"])
def test_codes_registered_by_letter_authorities_are_valid(prefix):
    # Y: 其他, A: 中央军委改革和编制办公室, N: 农业 (e.g. N2 农民专业合作社).
    code = credit_code("MA2MXXXXX", prefix=prefix, region="341802")

    assert code[0].isalpha()
    validate_credit_code(code)


def test_every_wrong_check_character_is_refused():
    code = credit_code("MA2MXXXXX")

    for wrong in CREDIT_CODE_CHARSET.replace(code[17], ""):
        assert refusal_code(validate_credit_code, code[:17] + wrong) == "check_char"


@pytest.mark.parametrize("length", [0, 1, 17, 19, 20])
def test_a_code_of_the_wrong_length_is_refused(length):
    code = (credit_code("MA2MXXXXX") * 2)[:length]

    assert refusal_code(validate_credit_code, code) == "length"


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
@pytest.mark.parametrize("position", [9, 16, 17])
def test_the_letters_i_o_z_s_v_are_refused(letter, position):
    code = credit_code("MA2MXXXXX")
    bad = code[:position] + letter + code[position + 1 :]

    assert refusal_code(validate_credit_code, bad) == "charset"


def test_a_code_whose_positions_3_to_8_are_not_digits_is_refused():
    first17 = "9134A800MA2MXXXXX"
    code = first17 + credit_code_check_char(first17)

    assert refusal_code(validate_credit_code, code) == "region"


def test_full_width_input_is_normalised():
    code = credit_code("MA2MXXXXX")

    validate_credit_code(full_width(code))
    assert normalize_credit_code(full_width(code)) == code


def test_lowercase_input_is_accepted():
    code = credit_code("MA2MXXXXX")

    validate_credit_code(code.lower())
    assert normalize_credit_code(code.lower()) == code


def test_spaces_and_zero_width_characters_in_a_code_are_ignored():
    code = credit_code("MA2MXXXXX")
    typed = f" {code[:6]} {code[6:12]}\u200b{code[12:]}\ufeff "

    validate_credit_code(typed)
    assert normalize_credit_code(typed) == code


@pytest.mark.parametrize(
    "separator",
    [
        "-",  # hyphen-minus
        "－",  # full-width hyphen-minus
        "\u2010",  # hyphen
        "\u2013",  # en dash
        "\u2014",  # em dash
        "\u2212",  # minus sign
        "\u00ad",  # soft hyphen
        "\u00a0",  # no-break space
        "\u3000",  # ideographic (full-width) space
        "\t",
        "\n",
        "\u200b",  # zero-width space
    ],
)
def test_separators_between_groups_of_a_code_are_removed(separator):
    code = credit_code("MA2MXXXXX")
    typed = separator.join([code[:2], code[2:8], code[8:17], code[17]])

    assert normalize_credit_code(typed) == code
    assert credit_code_clean(typed) == code


@pytest.mark.parametrize("control", ["\u202e", "\u2066", "\u200e"])
def test_a_bidirectional_control_in_a_code_is_refused_not_removed(control):
    # Not a separator anyone types: it makes the code read differently from what it is.
    code = credit_code("MA2MXXXXX")

    assert refusal_code(credit_code_clean, code[:9] + control + code[9:]) == "length"


def test_credit_code_clean_refuses_what_validate_credit_code_refuses():
    code = credit_code("MA2MXXXXX")

    assert refusal_code(credit_code_clean, full_width(code[:17]) + "0") == "check_char"
    assert refusal_code(credit_code_clean, code[:17]) == "length"


def test_the_stored_form_is_18_characters_of_the_alphabet_and_nothing_else():
    code = credit_code("MA2MXXXXX")
    stored = re.compile(CREDIT_CODE_STORED)

    assert stored.search(code)
    for other in [code.lower(), full_width(code), code + "\n", code[:17], f" {code}", code + "0"]:
        assert not stored.search(other), other
    for letter in "IOSVZ":
        assert not stored.search(code[:10] + letter + code[11:])


@settings(database=None, max_examples=200)
@given(typed=st.text(max_size=30))
def test_a_normalised_code_that_validates_is_in_the_stored_form(typed):
    try:
        code = credit_code_clean(typed)
    except ValidationError:
        return
    assert re.search(CREDIT_CODE_STORED, code)
    assert normalize_credit_code(code) == code


@pytest.mark.parametrize("junk", ["😀", "中", "-", "_", "\u00a0"])
def test_other_characters_in_a_code_are_refused_with_a_validation_error(junk):
    code = credit_code("MA2MXXXXX")

    with pytest.raises(ValidationError):
        validate_credit_code(code[:10] + junk + code[11:])


_CHAR = st.sampled_from(CREDIT_CODE_CHARSET)
_DIGIT = st.sampled_from("0123456789")
FIRST_17 = st.builds(
    lambda head, region, body: "".join(head + region + body),
    st.lists(_CHAR, min_size=2, max_size=2),
    st.lists(_DIGIT, min_size=6, max_size=6),
    st.lists(_CHAR, min_size=9, max_size=9),
)


@settings(database=None, max_examples=300)
@given(first17=FIRST_17, other=_CHAR)
def test_any_17_valid_characters_with_their_check_char_validate_and_no_other_char_does(
    first17, other
):
    check = credit_code_check_char(first17)
    assert check in CREDIT_CODE_CHARSET

    validate_credit_code(first17 + check)
    validate_credit_code(full_width(first17 + check).lower())

    assume(other != check)
    assert refusal_code(validate_credit_code, first17 + other) == "check_char"


@settings(database=None, max_examples=300)
@given(first17=FIRST_17, position=st.integers(0, 16), data=st.data())
def test_changing_any_one_of_the_first_17_characters_breaks_the_check(first17, position, data):
    # 31 is prime and no weight is a multiple of it, so every single substitution shows.
    code = first17 + credit_code_check_char(first17)
    pool = "0123456789" if 2 <= position <= 7 else CREDIT_CODE_CHARSET
    replacement = data.draw(st.sampled_from(pool.replace(code[position], "")))

    changed = code[:position] + replacement + code[position + 1 :]

    assert refusal_code(validate_credit_code, changed) == "check_char"


# --- Phones -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("13805630000", "13805630000"),
        ("19905630000", "19905630000"),
        ("0563-1234567", "0563-1234567"),
        ("05631234567", "05631234567"),
        ("010-12345678", "010-12345678"),
        ("１３８０５６３００００", "13805630000"),  # full-width digits
        ("０５６３－１２３４５６７", "0563-1234567"),  # full-width digits and hyphen
        ("+8613805630000", "13805630000"),
        ("+86 138 0563 0000", "13805630000"),
        ("＋８６１３８０５６３００００", "13805630000"),
        ("138\u200b0563\u200c0000", "13805630000"),  # zero-width spaces pasted from a chat
        ("\ufeff13805630000\u2060", "13805630000"),
        ("  138 0563 0000  ", "13805630000"),
    ],
)
def test_valid_phones_pass_and_normalise(typed, normalised):
    validate_phone(typed)

    assert normalize_phone(typed) == normalised


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "12805630000",  # no mobile network starts 12
        "1380563000",  # 10 digits
        "138056300001",  # 12 digits
        "0563-123456",  # a 6-digit local number
        "563-1234567",  # no trunk prefix 0
        "138😀05630000",
        "📞13805630000",
        "13805630000😀",
        "138-0563-0000x",
        "tel:13805630000",
        "一三八零五六三零零零零",
    ],
)
def test_invalid_phones_are_refused_with_a_validation_error(typed):
    assert refusal_code(validate_phone, typed) == "phone"


def test_digits_of_other_scripts_never_pass_as_a_phone_number():
    # Python's \d matches any Unicode decimal digit, e.g. Devanagari ०-९, and NFKC keeps them.
    devanagari = "13" + "".join(chr(0x0966 + int(d)) for d in "805630000")

    try:
        validate_phone(devanagari)
    except ValidationError:
        return
    assert normalize_phone(devanagari).isascii(), "a non-ASCII phone number passed validation"


# --- Masking ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13805634567", "138****4567"),
        ("0563-1234567", "0563-***4567"),
        ("1234567", "***4567"),
        ("1234", "****"),
        ("", ""),
    ],
)
def test_mask_phone_hides_the_middle_digits(phone, masked):
    assert mask_phone(phone) == masked


def test_a_masked_mobile_never_shows_the_middle_four_digits():
    assert "0563" not in mask_phone("13805634567")


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三", "张*"), ("王小明", "王**"), ("欧阳娜娜", "欧***"), ("张", "张*"), ("", "")],
)
def test_mask_name_shows_only_the_first_character(name, masked):
    assert mask_name(name) == masked
