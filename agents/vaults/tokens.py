"""Access tokens of ``oauth2_client_credentials`` credentials, kept in the process for their lifetime and never
stored: a token is as good as the material for that long. Keyed by the credential and a digest of its sealed
material, so that a rotation (or revocation, which forgets them) is never answered with the old token."""

import threading
import time

_tokens = {}
_lock = threading.Lock()


def cached(credential_pk, material_digest):
    with _lock:
        found = _tokens.get((credential_pk, material_digest))
    if found is not None and found[1] > time.monotonic():
        return found[0]
    return None


def keep(credential_pk, material_digest, token, lifetime_seconds):
    with _lock:
        _tokens[(credential_pk, material_digest)] = (token, time.monotonic() + lifetime_seconds)


def forget(credential_pk):
    with _lock:
        for key in [key for key in _tokens if key[0] == credential_pk]:
            del _tokens[key]
