"""`hashlib.pbkdf2_hmac` and `hashlib.scrypt`, which the guest's CPython
lacks (they come from OpenSSL), done by the host natively
(`wasgi:wsgi/kdf`): werkzeug's and Django's password hashers call them."""

import hashlib

from componentize_py_types import Err
from wit_world.imports import kdf

_DIGEST_SIZE = {"sha1": 20, "sha224": 28, "sha256": 32, "sha384": 48, "sha512": 64}


def _bytes(value, what):
    if isinstance(value, str):
        raise TypeError(f"a bytes-like object is required, not 'str'")
    try:
        return bytes(memoryview(value))
    except TypeError:
        raise TypeError(f"a bytes-like object is required, not {type(value).__name__!r}") from None


def pbkdf2_hmac(hash_name, password, salt, iterations, dklen=None):
    """Password based key derivation function 2 (PKCS #5 v2.0) with HMAC
    as pseudorandom function."""
    if not isinstance(hash_name, str):
        raise TypeError(f"pbkdf2_hmac() argument 'hash_name' must be str, not {type(hash_name).__name__}")
    name = hash_name.lower().replace("-", "")
    if name not in _DIGEST_SIZE:
        raise ValueError(f"unsupported hash type {hash_name}")
    if not isinstance(iterations, int):
        raise TypeError("'%s' object cannot be interpreted as an integer" % type(iterations).__name__)
    if dklen is None:
        dklen = _DIGEST_SIZE[name]
    if iterations < 1:
        raise ValueError("iteration value must be greater than 0.")
    if dklen < 1:
        raise ValueError("key length must be greater than 0.")
    try:
        return kdf.pbkdf2_hmac(name, _bytes(password, "password"), _bytes(salt, "salt"),
                               iterations, dklen)
    except Err as e:
        raise ValueError(e.value) from None


def scrypt(password, *, salt=None, n=None, r=None, p=None, maxmem=0, dklen=64):
    """scrypt password-based key derivation function."""
    if salt is None:
        raise TypeError("salt is required")
    if n is None or r is None or p is None:
        raise TypeError("n, r and p are required")
    for name, value in (("n", n), ("r", r), ("p", p), ("maxmem", maxmem), ("dklen", dklen)):
        if not isinstance(value, int):
            raise TypeError(f"{name} must be an integer")
    if n < 2 or n & (n - 1):
        raise ValueError("n must be a power of 2.")
    if maxmem < 0 or r < 1 or p < 1 or dklen < 1:
        raise ValueError("Invalid parameter combination for n, r, p, maxmem.")
    try:
        return kdf.scrypt(_bytes(password, "password"), _bytes(salt, "salt"), n, r, p, maxmem, dklen)
    except Err as e:
        raise ValueError(e.value) from None


def install():
    """Puts them into `hashlib`, where code looks them up."""
    hashlib.pbkdf2_hmac = pbkdf2_hmac
    hashlib.scrypt = scrypt
    if "pbkdf2_hmac" not in hashlib.__all__:
        hashlib.__all__ = hashlib.__all__ + ("pbkdf2_hmac", "scrypt")
