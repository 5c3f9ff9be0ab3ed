"""Outbound HTTPS from a guest, written as any WSGI app would: the URL in
`?url=`, fetched with `http.client`, `urllib.request`, `requests`, or a
socket wrapped by hand (`?how=`), trusting the PEM CA in `$TEST_CA`, the
default roots, or nothing (`?trust=ca|default|none`). Answers JSON: what
the connection settled, or the error."""

import http.client
import json
import os
import socket
import ssl
import tempfile
import urllib.parse
import urllib.request


def _context(trust):
    if trust == "ca":
        return ssl.create_default_context(cadata=os.environ["TEST_CA"])
    if trust == "default":
        return ssl.create_default_context()
    return ssl._create_unverified_context()


def _fetch(url, how, trust):
    parts = urllib.parse.urlsplit(url)
    if how == "http.client":
        conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=_context(trust),
                                           timeout=10)
        conn.request("GET", parts.path or "/")
        response = conn.getresponse()
        body = response.read().decode()
        sock = conn.sock
        out = {"status": response.status, "body": body, "version": sock.version(),
               "cipher": sock.cipher(), "peer": sock.getpeercert()}
        conn.close()
        return out
    if how == "urllib":
        with urllib.request.urlopen(url, context=_context(trust), timeout=10) as response:
            return {"status": response.status, "body": response.read().decode()}
    if how == "requests":
        import requests
        with tempfile.NamedTemporaryFile("w", suffix=".pem", delete=False) as f:
            f.write(os.environ["TEST_CA"])
        verify = f.name if trust == "ca" else trust == "default"
        response = requests.get(url, verify=verify, timeout=10)
        return {"status": response.status_code, "body": response.text}
    if how == "wrap":
        # STARTTLS-style: a plain socket first, then a TLS session on it,
        # checked against another name.
        name = urllib.parse.parse_qs(parts.query).get("name", [parts.hostname])[0]
        with socket.create_connection((parts.hostname, parts.port), timeout=10) as raw:
            with _context(trust).wrap_socket(raw, server_hostname=name) as tls:
                tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                data = b""
                while chunk := tls.recv(4096):
                    data += chunk
                return {"status": int(data.split()[1]), "version": tls.version()}
    raise ValueError(how)


def application(environ, start_response):
    query = urllib.parse.parse_qs(environ["QUERY_STRING"])
    url, how = query["url"][0], query.get("how", ["urllib"])[0]
    try:
        out = _fetch(url, how, query.get("trust", ["ca"])[0])
    except Exception as e:
        reason = getattr(e, "reason", None)
        if isinstance(reason, BaseException):
            e = reason
        out = {"error": f"{type(e).__name__}: {e}",
               "verify_code": getattr(e, "verify_code", None)}
    body = json.dumps(out).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]
