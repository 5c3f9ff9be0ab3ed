"""pg8000, the pure-Python PostgreSQL client, inside a guest: a row
written and counted per request, over the TCP connection the host allows,
in plain text or (`?tls=yes`) upgraded to TLS after PostgreSQL's
SSLRequest, trusting the PEM CA in `$TEST_CA`."""

import os
import ssl
import urllib.parse

import pg8000.native


def application(environ, start_response):
    query = urllib.parse.parse_qs(environ["QUERY_STRING"])
    port = int(query["port"][0])
    context = False  # (None would be pg8000's "prefer": TLS, unverified)
    if query.get("tls") == ["yes"]:
        context = ssl.create_default_context(cadata=os.environ["TEST_CA"])
    try:
        db = pg8000.native.Connection("postgres", host="localhost", port=port,
                                      database="postgres", ssl_context=context, timeout=10)
        try:
            db.run("CREATE TABLE IF NOT EXISTS visits (id serial PRIMARY KEY)")
            db.run("INSERT INTO visits DEFAULT VALUES")
            count = db.run("SELECT count(*) FROM visits")[0][0]
            (encrypted,), = db.run("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        finally:
            db.close()
        text, status = f"{count} tls={encrypted}", "200 OK"
    except Exception as e:
        text, status = f"{type(e).__name__}: {e}", "502 Bad Gateway"
    start_response(status, [("Content-Type", "text/plain")])
    return [text.encode()]
