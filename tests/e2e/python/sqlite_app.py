"""A WSGI app that writes SQLite with the standard library alone, in its
`data/` directory (given with `--dir-rw HOST::data`): rows committed one
per request, and a request that dies mid-transaction."""

import sqlite3


def application(environ, start_response):
    path = environ["PATH_INFO"]
    db = sqlite3.connect("data/app.db")
    try:
        db.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT)")
        db.commit()
        if path == "/insert":
            db.execute("INSERT INTO t (v) VALUES (?)", (environ["QUERY_STRING"],))
            db.commit()
            body = b"committed"
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
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]
