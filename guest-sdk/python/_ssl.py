"""`_ssl` for a guest's CPython, which has no OpenSSL: the standard
library's `ssl` runs unchanged on it, and so do `http.client`'s HTTPS,
`urllib.request` and the libraries built on them. The TLS protocol and the
certificate checks are the host's (`wasgi:wsgi/tls`, rustls): this module
moves the bytes between the host and the socket (or the `MemoryBIO`s),
and speaks `_ssl`'s API and OpenSSL's words to `ssl.py`.

Client connections only (a guest cannot listen; the host terminates TLS
for its own listeners). TLS 1.2 and 1.3. The default roots are Mozilla's
(`load_default_certs`); `load_verify_locations` adds others (certifi's
bundle, a private CA). No session resumption, no NPN, no PSK, no
post-handshake authentication; `set_ciphers` is accepted and the host's
suites are used."""

import base64
import errno
import os
import weakref

import _socket
from componentize_py_types import Err
from wit_world.imports import tls

OPENSSL_VERSION = "rustls 0.23 (the wasgi host's; OpenSSL 3.0's API)"
OPENSSL_VERSION_INFO = (3, 0, 0, 0, 0)
OPENSSL_VERSION_NUMBER = 0x30000000
_OPENSSL_API_VERSION = (3, 0, 0, 0, 0)
_DEFAULT_CIPHERS = "@SECLEVEL=2:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM"

HAS_SNI = HAS_ECDH = HAS_ALPN = HAS_TLSv1_2 = HAS_TLSv1_3 = HAS_TLS_UNIQUE = True
HAS_NPN = HAS_SSLv2 = HAS_SSLv3 = HAS_TLSv1 = HAS_TLSv1_1 = HAS_PSK = HAS_PHA = False

CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED = 0, 1, 2
ENCODING_PEM, ENCODING_DER = 1, 2

PROTOCOL_SSLv23 = PROTOCOL_TLS = 2
PROTOCOL_TLSv1, PROTOCOL_TLSv1_1, PROTOCOL_TLSv1_2 = 3, 4, 5
PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER = 16, 17

PROTO_MINIMUM_SUPPORTED, PROTO_MAXIMUM_SUPPORTED = -2, -1
PROTO_SSLv3, PROTO_TLSv1, PROTO_TLSv1_1, PROTO_TLSv1_2, PROTO_TLSv1_3 = 768, 769, 770, 771, 772

OP_ALL = 0x80000050
OP_NO_SSLv2 = 0
OP_NO_SSLv3 = 0x02000000
OP_NO_TLSv1 = 0x04000000
OP_NO_TLSv1_1 = 0x10000000
OP_NO_TLSv1_2 = 0x08000000
OP_NO_TLSv1_3 = 0x20000000
OP_CIPHER_SERVER_PREFERENCE = 0x00400000
OP_SINGLE_DH_USE = OP_SINGLE_ECDH_USE = 0
OP_NO_COMPRESSION = 0x00020000
OP_NO_TICKET = 0x00004000
OP_NO_RENEGOTIATION = 0x40000000
OP_ENABLE_MIDDLEBOX_COMPAT = 0x00100000
OP_IGNORE_UNEXPECTED_EOF = 0x80
OP_LEGACY_SERVER_CONNECT = 0x4
OP_ENABLE_KTLS = 0x8

VERIFY_DEFAULT = 0
VERIFY_CRL_CHECK_LEAF = 0x4
VERIFY_CRL_CHECK_CHAIN = 0xC
VERIFY_X509_STRICT = 0x20
VERIFY_ALLOW_PROXY_CERTS = 0x40
VERIFY_X509_TRUSTED_FIRST = 0x8000
VERIFY_X509_PARTIAL_CHAIN = 0x80000

HOSTFLAG_ALWAYS_CHECK_SUBJECT = 0x1
HOSTFLAG_NO_WILDCARDS = 0x2
HOSTFLAG_NO_PARTIAL_WILDCARDS = 0x4
HOSTFLAG_MULTI_LABEL_WILDCARDS = 0x8
HOSTFLAG_SINGLE_LABEL_SUBDOMAINS = 0x10
HOSTFLAG_NEVER_CHECK_SUBJECT = 0x20

SSL_ERROR_SSL = 1
SSL_ERROR_WANT_READ = 2
SSL_ERROR_WANT_WRITE = 3
SSL_ERROR_WANT_X509_LOOKUP = 4
SSL_ERROR_SYSCALL = 5
SSL_ERROR_ZERO_RETURN = 6
SSL_ERROR_WANT_CONNECT = 7
SSL_ERROR_EOF = 8
SSL_ERROR_INVALID_ERROR_CODE = 10

_ALERTS = ("CLOSE_NOTIFY", 0), ("UNEXPECTED_MESSAGE", 10), ("BAD_RECORD_MAC", 20), \
    ("RECORD_OVERFLOW", 22), ("DECOMPRESSION_FAILURE", 30), ("HANDSHAKE_FAILURE", 40), \
    ("BAD_CERTIFICATE", 42), ("UNSUPPORTED_CERTIFICATE", 43), ("CERTIFICATE_REVOKED", 44), \
    ("CERTIFICATE_EXPIRED", 45), ("CERTIFICATE_UNKNOWN", 46), ("ILLEGAL_PARAMETER", 47), \
    ("UNKNOWN_CA", 48), ("ACCESS_DENIED", 49), ("DECODE_ERROR", 50), ("DECRYPT_ERROR", 51), \
    ("PROTOCOL_VERSION", 70), ("INSUFFICIENT_SECURITY", 71), ("INTERNAL_ERROR", 80), \
    ("USER_CANCELLED", 90), ("NO_RENEGOTIATION", 100), ("UNSUPPORTED_EXTENSION", 110), \
    ("CERTIFICATE_UNOBTAINABLE", 111), ("UNRECOGNIZED_NAME", 112), \
    ("BAD_CERTIFICATE_STATUS_RESPONSE", 113), ("BAD_CERTIFICATE_HASH_VALUE", 114), \
    ("UNKNOWN_PSK_IDENTITY", 115)
for _name, _value in _ALERTS:
    globals()["ALERT_DESCRIPTION_" + _name] = _value
del _name, _value

# The most a read asks of the host at once, and the largest record.
_CHUNK = 16384


class SSLError(OSError):
    """An error in the SSL implementation."""

    def __str__(self):
        if len(self.args) >= 2 and isinstance(self.args[1], str):
            return self.args[1]
        return super().__str__()


class SSLCertVerificationError(SSLError, ValueError):
    """A certificate could not be verified."""


class SSLZeroReturnError(SSLError):
    """SSL/TLS session closed cleanly."""


class SSLWantReadError(SSLError):
    """Non-blocking SSL socket needs to read more data before the requested
    operation can be completed."""


class SSLWantWriteError(SSLError):
    """Non-blocking SSL socket needs to write more data before the requested
    operation can be completed."""


class SSLSyscallError(SSLError):
    """System error when attempting SSL operation."""


class SSLEOFError(SSLError):
    """SSL/TLS connection terminated abruptly."""


for _cls in (SSLError, SSLCertVerificationError, SSLZeroReturnError, SSLWantReadError,
             SSLWantWriteError, SSLSyscallError, SSLEOFError):
    _cls.__module__ = "ssl"
del _cls


def _error(cls, code, reason, message, library="SSL"):
    text = f"[{library}: {reason}] {message}" if reason else message
    e = cls(code, text)
    e.library, e.reason = (library if reason else None), reason
    return e


def _want_read():
    return _error(SSLWantReadError, SSL_ERROR_WANT_READ, None, "The operation did not complete (read)")


def _want_write():
    return _error(SSLWantWriteError, SSL_ERROR_WANT_WRITE, None, "The operation did not complete (write)")


def _ragged_eof():
    return _error(SSLEOFError, SSL_ERROR_EOF, "UNEXPECTED_EOF_WHILE_READING",
                  "EOF occurred in violation of protocol")


def _host_error(value):
    """The exception for the host's `tls.error`."""
    if isinstance(value, tls.Error_Certificate):
        code, message = value.value
        e = _error(SSLCertVerificationError, SSL_ERROR_SSL, "CERTIFICATE_VERIFY_FAILED",
                   f"certificate verify failed: {message}")
        e.verify_code, e.verify_message = code, message
        return e
    if isinstance(value, tls.Error_Protocol):
        reason, message = value.value
        return _error(SSLError, SSL_ERROR_SSL, reason, message)
    return _error(SSLError, SSL_ERROR_SSL, None, str(value.value))


class MemoryBIO:
    """A buffer of bytes in memory, one side of an `SSLObject`."""

    def __init__(self):
        self._buffer = bytearray()
        self._eof = False

    @property
    def pending(self):
        """The number of bytes pending in the memory BIO."""
        return len(self._buffer)

    @property
    def eof(self):
        """Whether the memory BIO is at EOF."""
        return self._eof and not self._buffer

    def read(self, size=-1):
        """Read up to size bytes from the memory BIO."""
        if size < 0 or size > len(self._buffer):
            size = len(self._buffer)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def write(self, b):
        """Writes the bytes b into the memory BIO."""
        data = memoryview(b).cast("B")
        if self._eof:
            raise _error(SSLError, SSL_ERROR_SSL, None, "cannot write() after write_eof()")
        self._buffer += data
        return len(data)

    def write_eof(self):
        """Write an EOF marker to the memory BIO."""
        self._eof = True


class SSLSession:
    def __init__(self, *args, **kwargs):
        raise TypeError("cannot create 'ssl.SSLSession' instances")


class Certificate:
    """A certificate of a connection's chain (`get_verified_chain()`)."""

    def __init__(self, der):
        self._der = bytes(der)

    def public_bytes(self, format=ENCODING_PEM):
        if format == ENCODING_DER:
            return self._der
        if format != ENCODING_PEM:
            raise ValueError("Unsupported format")
        return _pem(self._der)

    def get_info(self):
        return _decode(self._der)

    def __eq__(self, other):
        return isinstance(other, Certificate) and other._der == self._der

    def __hash__(self):
        return hash(self._der)


def _pem(der):
    lines = base64.standard_b64encode(der).decode("ascii")
    body = "\n".join(lines[i:i + 64] for i in range(0, len(lines), 64))
    return f"-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"


def _decode(der):
    """`getpeercert()`'s dictionary of a DER certificate."""
    try:
        c = tls.decode_certificate(der)
    except Err as e:
        raise _error(SSLError, SSL_ERROR_SSL, "ASN1_PARSE_ERROR", e.value, "X509") from None
    names = lambda rdns: tuple(tuple(tuple(a) for a in rdn) for rdn in rdns)
    out = {"subject": names(c.subject), "issuer": names(c.issuer), "version": c.version,
           "serialNumber": c.serial_number, "notBefore": c.not_before, "notAfter": c.not_after}
    if c.subject_alt_name:
        out["subjectAltName"] = tuple(tuple(n) for n in c.subject_alt_name)
    for key, values in (("OCSP", c.ocsp), ("caIssuers", c.ca_issuers),
                        ("crlDistributionPoints", c.crl_distribution_points)):
        if values:
            out[key] = tuple(values)
    return out


def _pem_certificates(text):
    """The DER certificates of PEM text."""
    return [der for label, der in _pem_blocks(text) if label == "CERTIFICATE"]


def _der_certificates(data):
    """The certificates of concatenated DER `data`."""
    ders, at = [], 0
    while at < len(data):
        if data[at] != 0x30 or at + 2 > len(data):
            raise _error(SSLError, SSL_ERROR_SSL, "NOT_ENOUGH_DATA", "not enough data", "ASN1")
        length, head = data[at + 1], 2
        if length & 0x80:
            n = length & 0x7F
            length = int.from_bytes(data[at + 2:at + 2 + n], "big")
            head += n
        if at + head + length > len(data):
            raise _error(SSLError, SSL_ERROR_SSL, "NOT_ENOUGH_DATA", "not enough data", "ASN1")
        ders.append(bytes(data[at:at + head + length]))
        at += head + length
    return ders


def _no_certificates():
    return _error(SSLError, SSL_ERROR_SSL, "NO_CERTIFICATE_OR_CRL_FOUND",
                  "no certificate or crl found", "X509")


# A CA file's certificates, by (path, size, mtime): certifi's bundle is
# read once per instance, not once per connection.
_read_files = {}


def _file_certificates(path):
    st = os.stat(path)
    key = (path, st.st_size, st.st_mtime_ns)
    if key not in _read_files:
        with open(path, encoding="latin-1") as f:
            _read_files[key] = _pem_certificates(f.read())
    return _read_files[key]


def _pem_blocks(text):
    """(label, DER) of each whole PEM block in `text` (what lies between
    blocks, such as certifi's comments, is left out)."""
    out = []
    for part in text.split("-----BEGIN ")[1:]:
        label, _, rest = part.partition("-----")
        body, end, _ = rest.partition("-----END ")
        if not end:
            break
        try:
            out.append((label, base64.b64decode("".join(body.split()), validate=True)))
        except ValueError:
            raise _error(SSLError, SSL_ERROR_SSL, "BAD_BASE64_DECODE", "bad base64 decode", "PEM") from None
    return out


_OBJECTS = (
    (129, "serverAuth", "TLS Web Server Authentication", "1.3.6.1.5.5.7.3.1"),
    (130, "clientAuth", "TLS Web Client Authentication", "1.3.6.1.5.5.7.3.2"),
    (131, "codeSigning", "Code Signing", "1.3.6.1.5.5.7.3.3"),
    (132, "emailProtection", "E-mail Protection", "1.3.6.1.5.5.7.3.4"),
    (13, "CN", "commonName", "2.5.4.3"),
)


def txt2obj(txt, name=False):
    for obj in _OBJECTS:
        if txt == obj[3] or (name and txt in (obj[1], obj[2])):
            return obj
    raise ValueError(f"unknown object '{txt}'")


def nid2obj(nid):
    if nid < 0:
        raise ValueError("NID must be positive.")
    for obj in _OBJECTS:
        if obj[0] == nid:
            return obj
    raise ValueError(f"unknown NID {nid}")


def RAND_status():
    return True


def RAND_add(string, entropy):
    return None


def RAND_bytes(n):
    if n < 0:
        raise ValueError("num must be positive")
    return os.urandom(n)


def get_default_verify_paths():
    return ("SSL_CERT_FILE", "/usr/lib/ssl/cert.pem", "SSL_CERT_DIR", "/usr/lib/ssl/certs")


def _test_decode_cert(path):
    with open(path, encoding="latin-1") as f:
        ders = _pem_certificates(f.read())
    if not ders:
        raise _no_certificates()
    return _decode(ders[0])


_CIPHERS = (
    ("TLS_AES_256_GCM_SHA384", "TLSv1.3", 256), ("TLS_CHACHA20_POLY1305_SHA256", "TLSv1.3", 256),
    ("TLS_AES_128_GCM_SHA256", "TLSv1.3", 128), ("ECDHE-ECDSA-AES256-GCM-SHA384", "TLSv1.2", 256),
    ("ECDHE-RSA-AES256-GCM-SHA384", "TLSv1.2", 256), ("ECDHE-ECDSA-CHACHA20-POLY1305", "TLSv1.2", 256),
    ("ECDHE-RSA-CHACHA20-POLY1305", "TLSv1.2", 256), ("ECDHE-ECDSA-AES128-GCM-SHA256", "TLSv1.2", 128),
    ("ECDHE-RSA-AES128-GCM-SHA256", "TLSv1.2", 128),
)


class _SSLContext:
    """The settings connections are made with."""

    def __new__(cls, protocol=PROTOCOL_TLS, *args, **kwargs):
        if protocol not in (PROTOCOL_TLS, PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER,
                            PROTOCOL_TLSv1, PROTOCOL_TLSv1_1, PROTOCOL_TLSv1_2):
            raise ValueError(f"invalid or unsupported protocol version {protocol}")
        self = object.__new__(cls)
        self._protocol = protocol
        self._options = 0x82520050
        self._verify_flags = VERIFY_X509_TRUSTED_FIRST
        self._host_flags = HOSTFLAG_NO_PARTIAL_WILDCARDS
        client = protocol == PROTOCOL_TLS_CLIENT
        self._verify_mode = CERT_REQUIRED if client else CERT_NONE
        self._check_hostname = client
        self._minimum = PROTO_TLSv1_2 if protocol in (PROTOCOL_TLS, PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER) \
            else {PROTOCOL_TLSv1: PROTO_TLSv1, PROTOCOL_TLSv1_1: PROTO_TLSv1_1,
                  PROTOCOL_TLSv1_2: PROTO_TLSv1_2}[protocol]
        self._maximum = PROTO_MAXIMUM_SUPPORTED if self._minimum == PROTO_TLSv1_2 else self._minimum
        self._roots = []
        self._default_roots = False
        self._alpn = []
        self._client_certificate = None
        self.post_handshake_auth = False
        self.sni_callback = None
        self.num_tickets = 2
        self._message_callback = None
        return self

    # Kept, never called: the host does not show the guest its records.
    @property
    def _msg_callback(self):
        return self._message_callback

    @_msg_callback.setter
    def _msg_callback(self, callback):
        self._message_callback = callback

    protocol = property(lambda self: self._protocol)
    security_level = property(lambda self: 2)

    @property
    def options(self):
        return self._options

    @options.setter
    def options(self, value):
        self._options = int(value)

    @property
    def verify_flags(self):
        return self._verify_flags

    @verify_flags.setter
    def verify_flags(self, value):
        self._verify_flags = int(value)

    @property
    def verify_mode(self):
        return self._verify_mode

    @verify_mode.setter
    def verify_mode(self, value):
        value = int(value)
        if value not in (CERT_NONE, CERT_OPTIONAL, CERT_REQUIRED):
            raise ValueError("invalid value for verify_mode")
        if value == CERT_NONE and self._check_hostname:
            raise ValueError("Cannot set verify_mode to CERT_NONE when check_hostname is enabled.")
        self._verify_mode = value

    @property
    def check_hostname(self):
        return self._check_hostname

    @check_hostname.setter
    def check_hostname(self, value):
        value = bool(value)
        if value and self._verify_mode == CERT_NONE:
            self._verify_mode = CERT_REQUIRED
        self._check_hostname = value

    @property
    def minimum_version(self):
        return self._minimum

    @minimum_version.setter
    def minimum_version(self, value):
        self._minimum = self._version(value)

    @property
    def maximum_version(self):
        return self._maximum

    @maximum_version.setter
    def maximum_version(self, value):
        self._maximum = self._version(value)

    def _version(self, value):
        value = int(value)
        if self._protocol not in (PROTOCOL_TLS, PROTOCOL_TLS_CLIENT, PROTOCOL_TLS_SERVER):
            raise ValueError("The context's protocol doesn't support modification of highest and lowest version.")
        if value not in (PROTO_MINIMUM_SUPPORTED, PROTO_MAXIMUM_SUPPORTED, PROTO_SSLv3,
                         PROTO_TLSv1, PROTO_TLSv1_1, PROTO_TLSv1_2, PROTO_TLSv1_3):
            raise ValueError(f"Unsupported TLS/SSL version 0x{value:x}")
        return value

    def _versions(self):
        """The lowest and highest version the options and bounds leave."""
        low = {PROTO_MINIMUM_SUPPORTED: PROTO_TLSv1_2}.get(self._minimum, self._minimum)
        high = {PROTO_MAXIMUM_SUPPORTED: PROTO_TLSv1_3}.get(self._maximum, self._maximum)
        low = max(low, PROTO_TLSv1_2)
        if self._options & OP_NO_TLSv1_2:
            low = max(low, PROTO_TLSv1_3)
        if self._options & OP_NO_TLSv1_3:
            high = min(high, PROTO_TLSv1_2)
        return low, high

    def set_ciphers(self, cipherlist):
        if not isinstance(cipherlist, str):
            raise TypeError("cipherlist must be str")

    def get_ciphers(self):
        return [{"id": 0, "name": name, "protocol": proto, "description": name,
                 "strength_bits": bits, "alg_bits": bits, "aead": True, "symmetric": None,
                 "digest": None, "kea": None, "auth": None} for name, proto, bits in _CIPHERS]

    def _set_alpn_protocols(self, protos):
        data, out, at = bytes(protos), [], 0
        while at < len(data):
            n = data[at]
            out.append(data[at + 1:at + 1 + n])
            at += 1 + n
        self._alpn = out

    def set_ecdh_curve(self, name):
        if not isinstance(name, (str, bytes)):
            raise TypeError("name must be str or bytes")

    def load_dh_params(self, path):
        os.stat(path)

    def set_default_verify_paths(self):
        # As OpenSSL: `SSL_CERT_FILE` and `SSL_CERT_DIR`, where set, stand
        # for the default store (here Mozilla's roots, the host's).
        # (A path that is not there is passed over, as OpenSSL does.)
        cafile, capath = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
        if not (cafile or capath):
            self._default_roots = True
            return
        cafile = cafile if cafile and os.path.isfile(cafile) else None
        capath = capath if capath and os.path.isdir(capath) else None
        if cafile or capath:
            self.load_verify_locations(cafile, capath)

    def load_verify_locations(self, cafile=None, capath=None, cadata=None):
        if cafile is None and capath is None and cadata is None:
            raise TypeError("cafile, capath and cadata cannot be all omitted")
        added = []
        if cafile is not None:
            ders = _file_certificates(os.fspath(cafile))
            if not ders:
                raise _no_certificates()
            added += ders
        if capath is not None:
            capath = os.fspath(capath)
            for name in sorted(os.listdir(capath)):
                path = os.path.join(capath, name)
                if os.path.isfile(path):
                    added += _file_certificates(path)
        if cadata is not None:
            if isinstance(cadata, str):
                ders = _pem_certificates(cadata)
            else:
                ders = _der_certificates(bytes(memoryview(cadata).cast("B")))
            if not ders:
                raise _no_certificates()
            added += ders
        self._roots += [d for d in added if d not in self._roots]

    def load_cert_chain(self, certfile, keyfile=None, password=None):
        with open(os.fspath(certfile), encoding="latin-1") as f:
            text = f.read()
        chain = _pem_certificates(text)
        if not chain:
            raise _error(SSLError, SSL_ERROR_SSL, "NO_START_LINE", "no start line", "PEM")
        if keyfile is not None:
            with open(os.fspath(keyfile), encoding="latin-1") as f:
                text = f.read()
        keys = [(label, der) for label, der in _pem_blocks(text) if label.endswith("PRIVATE KEY")]
        if not keys:
            raise _error(SSLError, SSL_ERROR_SSL, "NO_START_LINE", "no start line", "PEM")
        if keys[0][0].startswith("ENCRYPTED"):
            raise _error(SSLError, SSL_ERROR_SSL, "UNSUPPORTED",
                         "encrypted private keys are not supported; decrypt the key first", "PEM")
        self._client_certificate = (chain, keys[0][1])

    def cert_store_stats(self):
        return {"x509": len(self._roots), "crl": 0, "x509_ca": len(self._roots)}

    def get_ca_certs(self, binary_form=False):
        return [der if binary_form else _decode(der) for der in self._roots]

    def session_stats(self):
        return dict.fromkeys(("number", "connect", "connect_good", "connect_renegotiate", "accept",
                              "accept_good", "accept_renegotiate", "hits", "misses", "timeouts",
                              "cache_full"), 0)

    def set_psk_client_callback(self, callback, identity_hint=None):
        raise NotImplementedError("TLS-PSK is not supported by the host")

    def set_psk_server_callback(self, callback, identity_hint=None):
        raise NotImplementedError("TLS-PSK is not supported by the host")

    def _config(self, server_name):
        low, high = self._versions()
        return tls.ClientConfig(
            server_name=server_name,
            verify_chain=self._verify_mode != CERT_NONE,
            verify_name=self._check_hostname,
            default_roots=self._default_roots,
            roots=list(self._roots),
            alpn=list(self._alpn),
            min_version=low,
            max_version=high,
            client_certificate=self._client_certificate)

    def _wrap_socket(self, sock, server_side, server_hostname=None, *, owner=None, session=None):
        if server_side:
            raise NotImplementedError("a guest's TLS is client-side only (the host serves HTTPS: --tls-cert)")
        return _SSLSocket(self, server_hostname, owner, sock=sock)

    def _wrap_bio(self, incoming, outgoing, server_side, server_hostname=None, *, owner=None,
                  session=None):
        if server_side:
            raise NotImplementedError("a guest's TLS is client-side only (the host serves HTTPS: --tls-cert)")
        return _SSLSocket(self, server_hostname, owner, incoming=incoming, outgoing=outgoing)


class _SSLSocket:
    """One connection: the host's protocol state, and the socket or BIOs
    its bytes go through."""

    def __init__(self, context, server_hostname, owner, sock=None, incoming=None, outgoing=None):
        self._context = context
        self.server_hostname = server_hostname
        self._owner = weakref.ref(owner) if owner is not None else None
        self._sock = weakref.ref(sock) if sock is not None else None
        self._bio = (incoming, outgoing) if sock is None else None
        self._outbox = b""
        self._backlog = b""
        self._plain = b""
        self._ended = False
        self._done = False
        self._session = None
        name = server_hostname
        if name is None:
            try:
                name = sock.getpeername()[0] if sock is not None else "0.0.0.0"
            except OSError:
                name = "0.0.0.0"
        try:
            self._client = tls.connect(context._config(name))
        except Err as e:
            raise _host_error(e.value) from None

    server_side = property(lambda self: False)
    session = property(lambda self: None)
    session_reused = property(lambda self: False)

    @session.setter
    def session(self, value):
        if value is not None:
            raise ValueError("Session refers to a different SSLContext.")

    @property
    def context(self):
        return self._context

    @context.setter
    def context(self, value):
        if not isinstance(value, _SSLContext):
            raise TypeError("The value must be a SSLContext")
        self._context = value

    @property
    def owner(self):
        return self._owner() if self._owner is not None else None

    @owner.setter
    def owner(self, value):
        self._owner = weakref.ref(value) if value is not None else None

    # The transport.

    def _socket(self):
        sock = self._sock()
        if sock is None:
            raise ValueError("Underlying socket connection gone")
        return sock

    def _send(self):
        """Sends what the host has to send; raises SSLWantWriteError when a
        non-blocking socket takes no more."""
        out = self._client.transmit()
        if out:
            self._outbox += out
        if self._bio is not None:
            if self._outbox:
                self._bio[1].write(self._outbox)
                self._outbox = b""
            return
        sock = self._socket()
        while self._outbox:
            try:
                n = _socket.socket.send(sock, self._outbox)
            except BlockingIOError:
                raise _want_write() from None
            self._outbox = self._outbox[n:]

    def _receive(self):
        """Feeds the host the next bytes from the peer (or what it did not
        take last time); marks the end of the transport."""
        if not self._backlog:
            if self._bio is not None:
                incoming = self._bio[0]
                data = incoming.read(_CHUNK)
                if not data:
                    if not incoming.eof:
                        raise _want_read()
                    self._ended = True
                    return
            else:
                try:
                    data = _socket.socket.recv(self._socket(), _CHUNK)
                except BlockingIOError:
                    raise _want_read() from None
                if not data:
                    self._ended = True
                    return
            self._backlog = data
        try:
            taken = self._client.receive(self._backlog)
        except Err as e:
            self._alert()
            raise _host_error(e.value) from None
        self._backlog = self._backlog[taken:]

    def _alert(self):
        """Sends an alert the host queued after an error, if it can."""
        try:
            self._send()
        except (OSError, ValueError):
            pass

    # `_ssl._SSLSocket`'s methods.

    def do_handshake(self):
        while self._client.handshaking():
            self._send()
            if not self._client.handshaking():
                break
            if self._ended:
                raise _error(SSLEOFError, SSL_ERROR_EOF, "UNEXPECTED_EOF_WHILE_READING",
                             "EOF occurred in violation of protocol")
            self._receive()
        self._send()
        self._done = True
        self._session = self._client.session()

    def _fill(self, n):
        """Plaintext into the local buffer, at least one byte unless the
        peer closed; True if it closed cleanly."""
        while not self._plain:
            data = self._client.read(max(n, _CHUNK))
            if data is None:
                return True
            if data:
                self._plain = data
                break
            if self._ended and not self._backlog:
                raise _ragged_eof()
            self._send()
            self._receive()
        return False

    def read(self, size=1024, buffer=None):
        if size < 0 and buffer is None:
            raise ValueError("size should not be negative")
        if buffer is not None:
            view = memoryview(buffer).cast("B")
            if size <= 0 or size > view.nbytes:
                size = view.nbytes
        if size == 0:
            return 0 if buffer is not None else b""
        if not self._done:
            self.do_handshake()
        if self._fill(size):
            return 0 if buffer is not None else b""
        data, self._plain = self._plain[:size], self._plain[size:]
        if buffer is not None:
            view[:len(data)] = data
            return len(data)
        return data

    def write(self, data):
        view = memoryview(data).cast("B")
        if not self._done:
            self.do_handshake()
        sent = 0
        while sent < view.nbytes:
            try:
                taken = self._client.write(bytes(view[sent:sent + _CHUNK]))
            except Err as e:
                raise _host_error(e.value) from None
            self._send()
            if taken == 0:
                raise _want_write()
            sent += taken
        return sent

    def pending(self):
        if self._done and not self._plain:
            data = self._client.read(_CHUNK)
            if data:
                self._plain = data
        return len(self._plain)

    def shutdown(self):
        self._client.close()
        self._send()
        if self._bio is not None:
            if self._client.read(_CHUNK) is not None and not self._ended:
                raise _want_read()
            return None
        # Waits for the peer's close_notify, as OpenSSL's second
        # SSL_shutdown does, unless the peer has gone.
        try:
            while self._client.read(_CHUNK) is not None and not self._ended:
                self._receive()
        except (SSLError, OSError):
            pass
        return self._sock()

    def _check_done(self):
        if not self._done:
            raise ValueError("handshake not done yet")

    def getpeercert(self, binary_form=False):
        self._check_done()
        chain = self._session.peer_certificates if self._session else []
        if not chain:
            return None
        if binary_form:
            return bytes(chain[0])
        if self._context.verify_mode == CERT_NONE:
            return {}
        return _decode(bytes(chain[0]))

    def get_verified_chain(self):
        if not self._done or self._session is None or self._context.verify_mode == CERT_NONE:
            return None
        return [Certificate(der) for der in self._session.peer_certificates]

    def get_unverified_chain(self):
        if not self._done or self._session is None:
            return None
        return [Certificate(der) for der in self._session.peer_certificates]

    def selected_alpn_protocol(self):
        alpn = self._session.alpn if self._session else None
        return bytes(alpn).decode("ascii") if alpn is not None else None

    def selected_npn_protocol(self):
        return None

    def cipher(self):
        if self._session is None:
            return None
        s = self._session
        return (s.cipher, "TLSv1.3" if s.cipher.startswith("TLS_") else "TLSv1.2", s.cipher_bits)

    def shared_ciphers(self):
        return None

    def compression(self):
        return None

    def version(self):
        return self._session.version if self._session else None

    def get_channel_binding(self, cb_type="tls-unique"):
        if cb_type != "tls-unique":
            raise ValueError(f"'{cb_type}' channel binding type not implemented")
        return None

    def verify_client_post_handshake(self):
        raise _error(SSLError, SSL_ERROR_SSL, "WRONG_SSL_VERSION", "wrong ssl version")
