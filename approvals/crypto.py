"""Encryption of official accounts' sign-in details with keys from the environment.

Several keys can be set, newest first (``CREDENTIALS_ENCRYPTION_KEYS``): new details are
encrypted with the newest, and any of them decrypts, so a key can be replaced without
making anything unreadable; ``manage.py rotate_credentials_key`` then re-encrypts every
stored row with the newest. ``CREDENTIALS_ENCRYPTION_KEY`` (one key) still counts, as the
oldest. With DEBUG on and no key set, the settings generate a development key kept under
VAR_DIR, as they do SECRET_KEY, so the first look shows the whole flow.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class CredentialsUnavailable(Exception):
    """The portal cannot keep sign-in details; the message says why."""


def _keys() -> list[str]:
    keys = list(settings.CREDENTIALS_ENCRYPTION_KEYS or [])
    single = settings.CREDENTIALS_ENCRYPTION_KEY
    if single and single not in keys:
        keys.append(single)
    return keys


def _fernets() -> list[Fernet]:
    keys = _keys()
    if not keys:
        raise CredentialsUnavailable(
            "The portal has no encryption key (CREDENTIALS_ENCRYPTION_KEYS), so it will not store sign-in details. "
            "Keep them in your school's usual secure place and record where below, or ask your IT provider to set the key."
        )
    return [Fernet(key) for key in keys]


def unavailable_reason() -> str | None:
    """Why the portal cannot keep sign-in details now, or None when it can: the account page
    says so in place of the form, before anyone types a password."""
    try:
        _fernets()
    except CredentialsUnavailable as exc:
        return str(exc)
    return None


def key_count() -> int:
    """How many keys are set; CredentialsUnavailable when none is."""
    return len(_fernets())


def encrypt(secret: str) -> bytes:
    return MultiFernet(_fernets()).encrypt(secret.encode("utf-8"))


def decrypt(ciphertext: bytes) -> str:
    try:
        return MultiFernet(_fernets()).decrypt(bytes(ciphertext)).decode("utf-8")
    except InvalidToken:
        raise CredentialsUnavailable(
            "The stored sign-in details cannot be read with the current encryption keys. Record them again."
        ) from None


def is_on_newest_key(ciphertext: bytes) -> bool:
    try:
        _fernets()[0].decrypt(bytes(ciphertext))
    except InvalidToken:
        return False
    return True


def reencrypt(ciphertext: bytes) -> bytes:
    """The same details encrypted with the newest key; CredentialsUnavailable if no key reads them."""
    try:
        return MultiFernet(_fernets()).rotate(bytes(ciphertext))
    except InvalidToken:
        raise CredentialsUnavailable("No current encryption key reads these sign-in details.") from None
