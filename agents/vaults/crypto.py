"""Encryption at rest of credential material (RFC-0014 §1.2, §10.1): AES-256-GCM under keys kept outside the database.

The keys come from ``OPENINTENT_VAULT_KEYS`` (and ``OPENINTENT_VAULT_KEY_FILE``), newest first: the newest encrypts,
every listed key decrypts. A sealed value names the key that sealed it, so rotation is: put a new key at the front
everywhere, then ``manage.py rotatevaultkey`` re-seals each value under it, while servers keep reading both; the old
key is dropped once the command reports nothing left under it.

In development (``OPENINTENT_DEV`` on) and with no key configured, a key is created in ``VAR_DIR/vault.key`` on
first use. Outside development no key is ever made up: a server without one refuses to start (``checks.py``).

Each value is sealed with the credential's id as associated data: a sealed value copied onto another credential's
row does not open there.
"""

import base64
import binascii
import functools
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

FORMAT = "v1"
NONCE_BYTES = 12


class VaultKeyMissing(ImproperlyConfigured):
    """No vault key is configured, or the key that sealed a value is not among those configured."""


class SealBroken(Exception):
    """A sealed value does not open: altered, truncated, or sealed for another credential."""


@dataclass(frozen=True)
class VaultKey:
    key_id: str
    cipher: AESGCM


def generate_key():
    """A new key, written as the settings take it (URL-safe base64 of 32 random bytes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def key_id_of(raw):
    # A short digest names the key in each sealed value; it tells nothing about the key itself.
    return hashlib.sha256(raw).hexdigest()[:12]


def parse_key(text, source):
    try:
        raw = base64.urlsafe_b64decode(text.strip().encode())
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        # The value itself is never repeated: it is (or is meant to be) a secret.
        raise ImproperlyConfigured(
            f"{source} must hold URL-safe base64 keys of 32 bytes each (manage.py rotatevaultkey --generate prints one)"
        )
    return VaultKey(key_id_of(raw), AESGCM(raw))


def read_key_file(path, source):
    """The keys in a file, one a line (``#`` comments allowed). Read again only when the file changes: every seal
    and every opening asks for the keys."""
    try:
        stat = Path(path).stat()
        return _key_file_lines(str(path), stat.st_mtime_ns, stat.st_size)
    except OSError as error:
        raise ImproperlyConfigured(f"{source} ({path}) cannot be read: {error.strerror or error}") from None


@functools.lru_cache(maxsize=8)
def _key_file_lines(path, mtime_ns, size):
    lines = Path(path).read_text().splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))


def create_development_key(path):
    """Write a new key to ``path`` unless one is there, and return what the file holds. Several processes starting
    at once all end up with the key of the first: the file appears whole (a link to a finished temporary file) or
    not at all."""
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write("# Development vault key, made by the server. Not for production: see README, Vaults.\n")
            handle.write(generate_key() + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return read_key_file(path, "The development vault key file")


def configured_key_texts():
    """``(texts, source)``: the configured keys, newest first, and where they came from. Creates the development key
    when that is where they come from. Raises VaultKeyMissing when there is none."""
    texts = list(settings.OPENINTENT_VAULT_KEYS)
    sources = ["OPENINTENT_VAULT_KEYS"] if texts else []
    key_file = settings.OPENINTENT_VAULT_KEY_FILE
    if key_file:
        texts += read_key_file(key_file, "OPENINTENT_VAULT_KEY_FILE")
        sources.append("OPENINTENT_VAULT_KEY_FILE")
    if not texts and settings.OPENINTENT_VAULT_DEV_KEY_FILE:
        texts = create_development_key(settings.OPENINTENT_VAULT_DEV_KEY_FILE)
        sources.append(str(settings.OPENINTENT_VAULT_DEV_KEY_FILE))
    if not texts:
        raise VaultKeyMissing(
            "No vault key: set OPENINTENT_VAULT_KEYS (or OPENINTENT_VAULT_KEY_FILE) to at least one key; "
            "manage.py rotatevaultkey --generate prints a new one"
        )
    return texts, " and ".join(sources)


def keyring():
    texts, source = configured_key_texts()
    return _keyring(tuple(texts), source)


@functools.cache
def _keyring(texts, source):
    keys = [parse_key(text, source) for text in texts]
    return keys[0], {key.key_id: key for key in reversed(keys)}


def newest_key_id():
    return keyring()[0].key_id


def seal(plaintext: bytes, associated: str) -> str:
    """``plaintext`` sealed under the newest key: ``v1.<key id>.<base64 of nonce and ciphertext>``."""
    key, _ = keyring()
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = key.cipher.encrypt(nonce, plaintext, associated.encode())
    return f"{FORMAT}.{key.key_id}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"


def key_id_of_sealed(token):
    parts = token.split(".")
    return parts[1] if len(parts) == 3 and parts[0] == FORMAT else None


def open_sealed(token: str, associated: str) -> bytes:
    _, keys = keyring()
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != FORMAT:
        raise SealBroken("Not a sealed value")
    key = keys.get(parts[1])
    if key is None:
        raise VaultKeyMissing(f"The vault key {parts[1]} that sealed this credential is not configured")
    try:
        blob = base64.urlsafe_b64decode(parts[2].encode())
        return key.cipher.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], associated.encode())
    except (InvalidTag, binascii.Error, ValueError):
        raise SealBroken("The sealed value does not open under its key") from None
