"""redis-py, the pure-Python Redis client, inside a guest: its TCP
connection goes through wasi:sockets to where the host allows it."""

import redis


def application(environ, start_response):
    port = int(environ["QUERY_STRING"])
    try:
        text, status = str(redis.Redis(host="127.0.0.1", port=port).incr("hits")), "200 OK"
    except redis.exceptions.ConnectionError as e:
        text, status = f"{type(e).__name__}: {e}", "502 Bad Gateway"
    start_response(status, [("Content-Type", "text/plain")])
    return [text.encode()]
