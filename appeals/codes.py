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
    return clean_text(code).upper().replace("-", "").replace(" ", "")


def query_code_hash(code: str) -> str:
    return hashlib.sha256(query_code_normalize(code).encode()).hexdigest()
