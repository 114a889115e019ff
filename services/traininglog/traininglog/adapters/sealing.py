"""Sealing event bodies at rest with a key per user (AES-256-GCM), so that deleting the key
forgets the user's events everywhere they are stored, backups included, without rewriting the
append-only log ("crypto-shredding").

A sealed body reads `sealed:v1:<base64url(nonce + ciphertext)>`; the event id is bound in as
associated data, so a body moved onto another row does not open. Bodies that are not sealed
(the `user.erased` marker, which holds no health data) are plain JSON.
"""

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "sealed:v1:"
NONCE_BYTES = 12


class Unreadable(Exception):
    """The body cannot be opened: its key was erased, or it is not what it claims."""


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(key: bytes, event_id: str, body: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, body.encode(), event_id.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def is_sealed(stored: str) -> bool:
    return stored.startswith(PREFIX)


def unseal(key: bytes | None, event_id: str, stored: str) -> str:
    if not is_sealed(stored):
        return stored
    if key is None:
        raise Unreadable(f"event {event_id}: its user's key was erased")
    raw = base64.urlsafe_b64decode(stored.removeprefix(PREFIX))
    try:
        return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], event_id.encode()).decode()
    except InvalidTag as err:
        raise Unreadable(f"event {event_id}: the body does not open with its user's key") from err
