"""How a person's name is shown: one function for every page, timeline, notification, export
and API field that names someone.

Django's `get_full_name()` is "first last", which reads a Chinese name given name first
("海燕 潘"). A Chinese name is written family name first with no space (潘海燕); a Latin name
reads "Given Family". With neither part set, the username stands in.
"""

import unicodedata


def _is_cjk(text: str) -> bool:
    return any(unicodedata.name(ch, "").startswith("CJK ") for ch in text)


def person_name(user) -> str:
    """The display name of `user` (anything with first_name, last_name and a username)."""
    if user is None:
        return ""
    given = (getattr(user, "first_name", "") or "").strip()
    family = (getattr(user, "last_name", "") or "").strip()
    if given or family:
        if _is_cjk(given) or _is_cjk(family):
            return family + given
        return " ".join(part for part in (given, family) if part)
    return user.get_username() if hasattr(user, "get_username") else str(user)
