"""Sealed values: what the platform must be able to give back to a caller but must not be able
to read without that caller. A replayable filing receipt (it holds the query code) is encrypted
under a key derived from the caller's Idempotency-Key, which the database never stores: a copy
of the database (a backup, a read-only account) shows no query code, and the row is found by a
keyed hash of the Idempotency-Key alone."""

import hashlib
import hmac
import json
import os

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

NONCE_BYTES = 12  # AES-GCM's standard nonce, random per sealing


def lookup_hash(secret: str) -> str:
    """A keyed hash (HMAC-SHA-256 under SECRET_KEY) to find a row by `secret`: without the
    SECRET_KEY even a short, guessable Idempotency-Key cannot be tried against the table."""
    return hmac.new(settings.SECRET_KEY.encode(), secret.encode(), hashlib.sha256).hexdigest()


def _key(secret: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=settings.SECRET_KEY.encode(),
        info=b"qihu sealed receipt v1",
    ).derive(secret.encode())


def seal(value: dict, *, secret: str, context: str) -> bytes:
    """`value` as JSON, encrypted and authenticated (AES-256-GCM) under a key derived from
    `secret`; `context` (e.g. the row's owner) is authenticated too, so a sealed value cannot be
    moved to another row."""
    nonce = os.urandom(NONCE_BYTES)
    plain = json.dumps(value, sort_keys=True).encode()
    return nonce + AESGCM(_key(secret)).encrypt(nonce, plain, context.encode())


def unseal(sealed: bytes, *, secret: str, context: str) -> dict:
    """The value sealed under `secret` and `context`; raises cryptography's InvalidTag for any
    other secret or context, or a tampered value."""
    sealed = bytes(sealed)
    nonce, cipher = sealed[:NONCE_BYTES], sealed[NONCE_BYTES:]
    return json.loads(AESGCM(_key(secret)).decrypt(nonce, cipher, context.encode()))
