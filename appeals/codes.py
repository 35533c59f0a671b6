"""The secret query code an anonymous filer tracks an appeal with: made, normalised, hashed.
Only its hash is stored. Pure functions: the filing service makes codes, the tracking selector
compares them."""

import base64
import hashlib
import secrets

from appeals.validators import clean_text


def query_code_new() -> str:
    """128 random bits as 26 base32 characters, grouped for reading aloud: ABCD-EFGH-…"""
    raw = base64.b32encode(secrets.token_bytes(16)).decode().rstrip("=")
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


def query_code_normalize(code: str) -> str:
    """The code as issued, however it was kept: in any case, with or without the dashes, with
    spaces, full-width characters or other dashes (－, —) from a phone's note or a chat app.
    A code holds only A–Z and 2–7, so dropping everything else loses nothing."""
    return "".join(c for c in clean_text(code).upper() if c.isascii() and c.isalnum())


def query_code_hash(code: str) -> str:
    return hashlib.sha256(query_code_normalize(code).encode()).hexdigest()
