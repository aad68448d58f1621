"""Encryption of official accounts' sign-in details with a key from the environment."""

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


class CredentialsUnavailable(Exception):
    """The portal cannot keep sign-in details; the message says why."""


def _fernet() -> Fernet:
    key = settings.CREDENTIALS_ENCRYPTION_KEY
    if not key:
        raise CredentialsUnavailable(
            "The portal has no encryption key (CREDENTIALS_ENCRYPTION_KEY), so it will not store sign-in details. "
            "Keep them in your school's usual secure place and record where below, or ask your IT provider to set the key."
        )
    return Fernet(key)


def encrypt(secret: str) -> bytes:
    return _fernet().encrypt(secret.encode("utf-8"))


def decrypt(ciphertext: bytes) -> str:
    try:
        return _fernet().decrypt(bytes(ciphertext)).decode("utf-8")
    except InvalidToken:
        raise CredentialsUnavailable(
            "The stored sign-in details cannot be read with the current encryption key. Record them again."
        ) from None
