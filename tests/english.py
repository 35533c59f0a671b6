"""What an English page may show: no Chinese character, CJK punctuation (、。「」) nor full-width
form (：，（）) of the platform's own, only in user data (names, titles, what people typed) and
in the language switch's "中文". One judgement for the rendered pages of tests/test_i18n.py
and the English runs of the browser journeys."""

import re
from collections.abc import Iterable

NOT_ENGLISH = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]+")
# The language switch always offers the other language by its own name.
LANGUAGE_SWITCH = {"中文"}


def chinese_outside_user_data(
    texts: Iterable[str], user_data: Iterable[str] = (), user_words: Iterable[str] = ()
) -> set[str]:
    """The runs of Chinese left in `texts` (a page's text pieces) once each piece of user data
    is taken out of them: the platform's words that have no English. A run that is exactly one
    of `user_words` (words the platform quotes from user data: the words two similar appeals
    share) is user data too."""
    data = sorted({d.strip() for d in user_data if d and NOT_ENGLISH.search(d)}, key=len)[::-1]
    found: set[str] = set()
    for text in texts:
        if not NOT_ENGLISH.search(text):
            continue
        piece = text
        for d in data:
            if d in piece:
                piece = piece.replace(d, " ")
        found |= set(NOT_ENGLISH.findall(piece))
    return found - LANGUAGE_SWITCH - set(user_words)
