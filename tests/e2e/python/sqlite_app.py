"""A WSGI app that writes SQLite with the standard library alone, in its
`data/` directory (given with `--dir-rw HOST::data`): rows committed one
per request, a second connection opened while the request's own is open,
a request that dies mid-transaction, rows of a given size until the
database is full, and temporary files in `/tmp`."""

import sqlite3
import tempfile


def application(environ, start_response):
    path = environ["PATH_INFO"]
    query = environ["QUERY_STRING"]
    status = "200 OK"
    db = sqlite3.connect("data/app.db")
    try:
        db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")
        db.commit()
        if path == "/insert":
            db.execute("INSERT INTO t (v) VALUES (?)", (query,))
            db.commit()
            body = b"committed"
        elif path == "/nested":
            # As an app with a connection per helper does: a second one
            # while the request's own is open, never closed (the collector
            # closes it), then the first writes too.
            db.execute("SELECT count(*) FROM t").fetchone()
            helper = sqlite3.connect("data/app.db")
            helper.execute("INSERT INTO t (v) VALUES (?)", (query,))
            helper.commit()
            db.execute("INSERT INTO t (v) VALUES (?)", (query + "-outer",))
            db.commit()
            body = b"committed"
        elif path == "/fill":
            # /fill?NAME,KIB: a row named NAME, KIB KiB long.
            name, kib = query.split(",")
            try:
                db.execute("INSERT INTO t (v) VALUES (?)", (name.ljust(int(kib) * 1024),))
                db.commit()
                body = b"committed"
            except sqlite3.OperationalError as e:
                status = "507 Insufficient Storage"
                body = str(e).encode()
        elif path == "/tmp":
            # /tmp?KIB,KIB,...: temporary files of those sizes, all open at
            # once (deleted as soon as made, as TemporaryFile does).
            files = []
            try:
                for kib in query.split(","):
                    f = tempfile.TemporaryFile()
                    files.append(f)
                    f.write(b"t" * (int(kib) * 1024))
                    f.flush()
                body = b"written"
            except OSError as e:
                body = b"OSError %d %s" % (e.errno, e.strerror.encode())
            finally:
                for f in files:
                    try:
                        f.close()
                    except OSError:
                        pass  # what it still buffered cannot fit either
        elif path == "/die-mid-transaction":
            # A one-page cache: the uncommitted pages go to the file at once
            # (the rollback journal holds the originals).
            db.execute("PRAGMA cache_size = 1")
            db.executemany("INSERT INTO t (v) VALUES (?)", [("partial " * 20,)] * 2000)
            while True:
                pass
        else:
            count = db.execute("SELECT count(*) FROM t").fetchone()[0]
            body = str(count).encode()
    finally:
        db.close()
    start_response(status, [("Content-Type", "text/plain")])
    return [body]
