"""The probe: imports and exercises the standard library modules real web
apps need, and answers a JSON object of each check's outcome ("ok", or the
error). `host build-python probe:application` serves it; the same file runs
under any WSGI server."""

import json


def _urllib(environ):
    from wsgiref.util import request_uri
    assert request_uri(environ).startswith("http://")


def _import_by_name(environ):
    import importlib
    assert importlib.import_module("graphlib").TopologicalSorter


def _pbkdf2(environ):
    import hashlib
    key = hashlib.pbkdf2_hmac("sha256", b"password", b"salt", 1000)
    assert key.hex().startswith("632c2812e46d4604102ba7618e9d6d7d"), key.hex()


def _scrypt(environ):
    import hashlib
    key = hashlib.scrypt(b"password", salt=b"NaCl", n=1024, r=8, p=16, dklen=64)
    assert key.hex().startswith("fdbabe1c9d3472007856e7190d01e9fe"), key.hex()


def _ssl(environ):
    import ssl
    ctx = ssl.create_default_context()
    assert ctx.verify_mode == ssl.CERT_REQUIRED


def _tempfile(environ):
    import os
    import tempfile
    with tempfile.NamedTemporaryFile("w+b") as f:
        f.write(b"x" * 10000)
        f.seek(0)
        assert len(f.read()) == 10000
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "a.txt"), "w") as f:
            f.write("a")
        assert os.listdir(d) == ["a.txt"]


def _asyncio(environ):
    import asyncio

    async def main():
        await asyncio.sleep(0.001)
        return await asyncio.gather(*(asyncio.sleep(0, result=i) for i in range(3)))

    assert asyncio.run(main()) == [0, 1, 2]


def _zoneinfo(environ):
    import datetime
    import zoneinfo
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    summer = datetime.datetime(2026, 7, 1, 12, tzinfo=paris)
    assert summer.utcoffset() == datetime.timedelta(hours=2)


def _email(environ):
    from email.message import EmailMessage
    from email import message_from_bytes, policy
    from email.utils import formatdate
    m = EmailMessage()
    m["Subject"] = "Grüße"
    m["To"] = "a@example.com"
    m["Date"] = formatdate()
    m.set_content("body")
    back = message_from_bytes(m.as_bytes(), policy=policy.default)
    assert back["Subject"] == "Grüße"


def _bz2(environ):
    import bz2
    assert bz2.decompress(bz2.compress(b"x" * 100)) == b"x" * 100


def _lzma(environ):
    import lzma
    assert lzma.decompress(lzma.compress(b"x" * 100)) == b"x" * 100


def _zlib(environ):
    import gzip
    import zlib
    assert gzip.decompress(gzip.compress(b"x" * 100)) == b"x" * 100
    assert zlib.crc32(b"x")


def _sqlite3(environ):
    import sqlite3
    db = sqlite3.connect(":memory:")
    db.execute("create table t (x)")
    db.execute("insert into t values (1)")
    assert db.execute("select x from t").fetchone() == (1,)


def _decimal(environ):
    from decimal import Decimal
    assert str(Decimal("1.1") + Decimal("2.2")) == "3.3"


def _uuid_secrets(environ):
    import secrets
    import uuid
    assert uuid.uuid4().version == 4
    assert len(secrets.token_hex(16)) == 32


def _csv_json(environ):
    import csv
    import io
    rows = list(csv.reader(io.StringIO("a,b\n1,2\n")))
    assert json.loads(json.dumps(rows)) == [["a", "b"], ["1", "2"]]


def _xml_html(environ):
    import xml.etree.ElementTree as ET
    from html.parser import HTMLParser
    assert ET.fromstring("<a><b/></a>").find("b") is not None
    HTMLParser().feed("<p>x</p>")


def _http_cookies(environ):
    from http.cookies import SimpleCookie
    c = SimpleCookie()
    c.load("a=1; b=2")
    assert c["b"].value == "2"


def _datetime_locale(environ):
    import datetime
    import locale
    assert datetime.datetime(2026, 1, 2).strftime("%Y-%m-%d") == "2026-01-02"
    locale.getlocale()


def _logging(environ):
    import logging
    logging.getLogger("probe").warning("probe: a log line")


def _threading(environ):
    import threading
    out = []
    t = threading.Thread(target=out.append, args=(1,))
    t.start()
    t.join()
    assert out == [1]


def _subprocess(environ):
    import subprocess
    subprocess.run(["true"], check=True)


def _socket(environ):
    import socket
    assert socket.getaddrinfo is not None
    socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()


def _importlib_resources(environ):
    import importlib.resources
    assert importlib.resources.files("email").joinpath("__init__.py").read_text()


CHECKS = {name[1:]: f for name, f in sorted(globals().items())
          if name.startswith("_") and not name.startswith("__") and callable(f)}


def application(environ, start_response):
    results = {}
    for name, check in CHECKS.items():
        try:
            check(environ)
            results[name] = "ok"
        except BaseException as e:
            results[name] = f"{type(e).__name__}: {e}"
    body = json.dumps(results, indent=1, sort_keys=True).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
