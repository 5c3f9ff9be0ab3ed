#!/usr/bin/env python3
"""One-run benchmark: the same apps served by `host` and by their peers,
side by side, on this machine: hellos, key-value state, static files
(beside nginx), a body the guest streams (beside `wasmtime serve`), and
Python apps (beside gunicorn).

Each server is pinned to core 0 and the load generator (wrk, one thread,
keep-alive) to core 1. For each row: requests per second, MB/s (wrk's
Transfer/sec: what the big-file and streamed-body rows are about), p50 and
p99 latency, errors, idle RSS (of a second start, compile caches warm) and
peak RSS, and the server's CPU time per request
(utime + stime of the server's processes over the run, divided by the
requests served): the figure least disturbed by the load generator.

    benches/bench.py                 # `just bench`: BENCHMARKS.md + benchmarks.svg
    benches/bench.py --smoke         # seconds; what CI runs so this cannot rot

Everything it needs is installed into caches on first use: wrk (Debian,
scripts/install-deb.sh), nginx and PostgreSQL (Debian's, for the
static-file rows and the SQL row), wasmtime-cli 48.0.8
(scripts/install-wasmtime.sh, not in smoke runs), gunicorn, bottle, Flask and Django
(pip, into ~/.cache/wasgi/bench-venv). The Python rows (the bottle hello;
the index of Flask's tutorial blog, `tests/e2e/python/flaskr`, which
renders a template over rows read from SQLite, built plain and with
`--warm /`; the tests' Django project, `tests/e2e/python/djsite`, its notes
page listing ten rows through the ORM and its admin's login page, built
with `--warm`; rtzll/flask-todolist, `tests/e2e/python/flask_todolist`,
a list of ten to-dos through Flask-SQLAlchemy with a Flask-WTF form,
built from its pyproject.toml with `--warm`; each built with `host build-python`, next to the same app
under CPython's wsgiref and gunicorn) are left out of smoke runs: the
e2e tests build Python apps already.
"""

import argparse
import datetime
import math
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "wasgi"
GUNICORN_VERSION = "23.0.0"
BOTTLE_VERSION = "0.13.4"
FLASK_VERSION = "3.1.3"
DJANGO_VERSION = "5.2.8"
TICKS = os.sysconf("SC_CLK_TCK")


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout.strip()


def installed(package, command):
    """`command`'s path, installing the Debian package `package` first if it
    is missing (scripts/install-deb.sh)."""
    run(["bash", "-c", f"{ROOT}/scripts/install-deb.sh {package} {command} >&2"])
    for d in os.environ.get("PATH", "").split(os.pathsep) + ["/usr/sbin", "/usr/bin", "/usr/local/sbin"]:
        if (Path(d) / command).exists():
            return str(Path(d) / command)
    raise RuntimeError(f"{package} is installed but {command} is not found")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree(pid):
    """`pid` and its descendants (gunicorn's workers)."""
    children = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu_seconds(pid):
    total = 0
    for p in tree(pid):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def memory_kb(pid, key):
    total = 0
    for p in tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith(key + ":"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total


def settled_rss(pid, limit=10.0):
    """Idle RSS once it stops falling: a server that has just loaded a large
    component (a Python app's snapshot) gives the loading memory back a
    moment after it listens."""
    time.sleep(0.3)
    last = memory_kb(pid, "VmRSS")
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = memory_kb(pid, "VmRSS")
        if now >= last * 0.99:
            return now
        last = now
    return last


class Row:
    """A server to measure: its command, the path wrk asks for, and requests
    (method, path, body) sent once it listens, before the load."""

    def __init__(self, name, cmd, note="", env=None, path="/", setup=(), connections=None):
        self.name, self.cmd, self.note, self.env = name, cmd, note, env or {}
        self.path, self.setup = path, setup
        # A big body is measured one download at a time (a stream's
        # throughput, as curl would see it), not at the run's connections.
        self.connections = connections


def send(port, method, path, body=b""):
    """One request on a connection of its own; its status."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\nContent-Length: {len(body)}\r\n\r\n"
        s.sendall(head.encode() + body)
        # The status line is all that is kept: a 100 MiB answer is read
        # to its end and dropped.
        answer = s.recv(65536)
        while s.recv(1 << 20):
            pass
    return int(answer.split(b" ", 2)[1])


def kv_rows(host, tools):
    """The key-value rows: a `get` and an `increment` per request (the
    kv-counter app, a fresh instance each), on SQLite and on Redis."""
    counter = str(ROOT / "examples/kv-counter.wasm")
    state = ROOT / "target/bench/state"
    subprocess.run(["rm", "-rf", str(state)], check=True)
    sqlite = [host, "serve", counter, "--port", "{port}", "--state-dir", str(state)]
    put = (("PUT", "/set/k", b"a value of some bytes"),)
    out = [
        Row("host: kv get per request (SQLite), fresh instance", sqlite, path="/get/k", setup=put),
        Row("host: kv increment per request (SQLite), fresh instance", sqlite, path="/"),
    ]
    redis = tools.get("redis")
    if redis:
        manifest = ROOT / "target/bench/kv-redis.toml"
        manifest.write_text(
            f'[[store]]\nname = "default"\ntype = "redis"\nurl = "redis://127.0.0.1:{redis}"\n\n'
            f'[[app]]\nname = "counter"\ncomponent = "{counter}"\n'
        )
        on_redis = [host, "serve", "--config", str(manifest), "--port", "{port}"]
        out += [
            Row("host: kv get per request (Redis), fresh instance", on_redis, path="/get/k", setup=put),
            Row("host: kv increment per request (Redis), fresh instance", on_redis, path="/"),
        ]
    return out


BIG = 100 * 1024 * 1024


def files_dir():
    """The files the static rows serve: 1 KiB and 100 MiB of random bytes,
    made once."""
    files = ROOT / "target/bench/files"
    files.mkdir(parents=True, exist_ok=True)
    for name, size in (("1k.bin", 1024), ("100m.bin", BIG)):
        f = files / name
        if not f.exists() or f.stat().st_size != size:
            with open(f, "wb") as out:
                for _ in range(0, size, 1 << 20):
                    out.write(os.urandom(min(size, 1 << 20)))
    return files


def nginx_cmd(nginx, files):
    """nginx serving `files` with Debian's static-file settings (sendfile,
    tcp_nopush, an access log), one worker: the peer of the static rows."""
    prefix = ROOT / "target/bench/nginx"
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    # Started as root, nginx's worker would run as nobody, who may not
    # reach a checkout under a private home directory.
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf.write_text(
        f"{user}daemon off;\nworker_processes 1;\nerror_log {prefix}/logs/error.log;\npid {prefix}/nginx.pid;\n"
        "events { worker_connections 1024; }\n"
        "http {\n  sendfile on;\n  tcp_nopush on;\n  types { application/octet-stream bin; }\n"
        f"  access_log {prefix}/logs/access.log;\n"
        f"  client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy;\n"
        f"  fastcgi_temp_path {prefix}/fastcgi; uwsgi_temp_path {prefix}/uwsgi; scgi_temp_path {prefix}/scgi;\n"
        f"  server {{ listen 127.0.0.1:LISTEN_PORT; root {files}; }}\n}}\n"
    )
    # The port is only known per run: the row's command rewrites the
    # configuration with it before nginx starts.
    return ["bash", "-c", f"sed 's/LISTEN_PORT/{{port}}/' {conf} > {conf}.run && exec {nginx} -p {prefix} -c {conf}.run"]


def file_rows(host, tools):
    """Static files (the static-files app beside nginx), and a body the
    guest makes (the wasi:http hello's /bytes, beside wasmtime serve)."""
    files = files_dir()
    static = [host, "serve", str(ROOT / "examples/static-files.wasm"), "--port", "{port}", "--dir", str(files)]
    out = [
        Row("host: static-files, 1 KiB file", static, path="/1k.bin"),
        Row("host: static-files, 1 KiB file, --reuse 1000", static + ["--reuse", "1000"], path="/1k.bin"),
        Row("host: static-files, 100 MiB file (sent by the host)", static, path="/100m.bin", connections=1),
        Row("host: static-files, 100 MiB file in 8 KiB host reads (--no-sendfile)",
            static + ["--no-sendfile"], path="/100m.bin", connections=1),
        Row(
            "host: static-files, 100 MiB file read and streamed by the guest (--no-file-wrapper)",
            static + ["--no-file-wrapper"], path="/100m.bin", connections=1,
        ),
    ]
    nginx = tools.get("nginx")
    if nginx:
        out += [
            Row("nginx: 1 KiB file", nginx_cmd(nginx, files), path="/1k.bin"),
            Row("nginx: 100 MiB file", nginx_cmd(nginx, files), path="/100m.bin", connections=1),
        ]
    wasi_hello = str(ROOT / "examples/wasi-http-hello.wasm")
    streamed = f"/bytes?n={BIG}"
    out.append(
        Row("host: wasi:http body of 100 MiB made by the guest, fresh instance",
            [host, "serve", wasi_hello, "--port", "{port}"], path=streamed, connections=1)
    )
    wasmtime = tools.get("wasmtime")
    if wasmtime:
        out.append(
            Row("wasmtime serve -Scli: wasi:http body of 100 MiB made by the guest, fresh instance",
                [wasmtime, "serve", "-Scli", "--addr", "127.0.0.1:{port}", wasi_hello], path=streamed, connections=1)
        )
    return out


def rows(tools, reuse):
    host, native, wasmtime, gunicorn = (tools.get(k) for k in ("host", "native", "wasmtime", "gunicorn"))
    hello = str(ROOT / "examples/hello.wasm")
    wasi_hello = str(ROOT / "examples/wasi-http-hello.wasm")
    out = [
        Row("host: wasgi hello, fresh instance", [host, "serve", hello, "--port", "{port}"]),
        Row("host: wasi:http hello, fresh instance", [host, "serve", wasi_hello, "--port", "{port}"]),
        # The hello writes a log line to stderr per request; $QUIET stops
        # it, so the pair says what a guest's log line costs.
        Row("host: wasi:http hello without its log line, fresh instance",
            [host, "serve", wasi_hello, "--port", "{port}", "--env", "QUIET=1"]),
    ]
    # WASIp3: each server at its defaults (an instance serves up to 128
    # requests, 16 at once, under host and wasmtime serve alike).
    spin_hello = str(ROOT / "examples/spin-hello.wasm")
    out += [
        Row("host: Spin SDK 7 hello (WASIp3), defaults (128 per instance, 16 at once)", [host, "serve", spin_hello, "--port", "{port}"]),
        Row("host: Spin SDK 7 hello (WASIp3), fresh instance", [host, "serve", spin_hello, "--port", "{port}", "--reuse", "1"]),
    ]
    out += kv_rows(host, tools)
    pg = tools.get("postgres")
    if pg:
        # pg-client connects to PostgreSQL for each request (a fresh
        # instance has no pool): the row is a connection, a SELECT and the
        # answer; PostgreSQL's own CPU is not counted.
        db = f"127.0.0.1:{pg}"
        out.append(
            Row("host: SQL read per request (PostgreSQL, pg-client over outbound TCP), fresh instance",
                [host, "serve", str(ROOT / "examples/pg-client.wasm"), "--port", "{port}", "--allow-outbound", f"tcp://{db}"],
                path=f"/notes?db={db}", setup=(("POST", f"/notes?db={db}", b"a note of some words"),))
        )
    out += file_rows(host, tools)
    if reuse:
        out += [
            Row(f"host: wasgi hello, --reuse {reuse}", [host, "serve", hello, "--port", "{port}", "--reuse", str(reuse)]),
            Row(f"host: wasi:http hello, --reuse {reuse}", [host, "serve", wasi_hello, "--port", "{port}", "--reuse", str(reuse)]),
        ]
    if wasmtime:
        serve = [wasmtime, "serve", "-Scli", "--addr", "127.0.0.1:{port}"]
        out += [
            Row("wasmtime serve -Scli: wasi:http hello, fresh instance", serve + [wasi_hello]),
            Row("wasmtime serve -Scli: wasi:http hello without its log line, fresh instance",
                serve + ["--env", "QUIET=1", wasi_hello]),
            Row(
                f"wasmtime serve -Scli: wasi:http hello, --max-instance-reuse-count {reuse or 1000}",
                serve + ["--max-instance-reuse-count", str(reuse or 1000), wasi_hello],
            ),
            Row("wasmtime serve -Scli: Spin SDK 7 hello (WASIp3), defaults", serve + [spin_hello]),
        ]
    out.append(Row("native hyper hello (the ceiling)", [native, "{port}"]))
    out.append(Row("CPython wsgiref.simple_server: hello", [sys.executable, str(ROOT / "benches/hello_wsgi.py"), "{port}"]))
    if gunicorn:
        out.append(
            Row(
                "gunicorn (1 sync worker): hello",
                [gunicorn, "-w", "1", "-b", "127.0.0.1:{port}", "--chdir", str(ROOT / "benches"), "hello_wsgi:app"],
            )
        )
    bottle = tools.get("bottle")
    if bottle:
        fresh = [host, "serve", bottle, "--port", "{port}"]
        reused = fresh + ["--reuse", str(reuse or 1000)]
        native_bottle = [gunicorn, "-w", "1", "-b", "127.0.0.1:{port}", "--chdir", str(ROOT / "benches"), "hello_bottle:app"]
        out.append(Row("host: bottle hello (Python), fresh instance", fresh))
        out.append(Row(f"host: bottle hello (Python), --reuse {reuse or 1000}", reused))
        if gunicorn:
            out.append(Row("gunicorn (1 sync worker): bottle hello", native_bottle))
        out.append(Row(f"host: bottle 16 KiB templated page (Python), --reuse {reuse or 1000}", reused, path="/page"))
        if gunicorn:
            out.append(Row("gunicorn (1 sync worker): bottle 16 KiB templated page", native_bottle, path="/page"))
    flaskr = tools.get("flaskr")
    if flaskr:
        wasm, project = flaskr
        out.append(
            Row(
                "host: Flask tutorial index (template + SQLite rows), fresh instance",
                [host, "serve", wasm, "--port", "{port}", "--dir-rw", str(project / "instance")],
            )
        )
        warmed = tools.get("flaskr-warm")
        if warmed:
            out.append(
                Row(
                    "host: Flask tutorial index, fresh instance, built with --warm /",
                    [host, "serve", warmed, "--port", "{port}", "--dir-rw", str(project / "instance")],
                )
            )
        if gunicorn:
            out.append(
                Row(
                    "gunicorn (1 sync worker): Flask tutorial index",
                    [gunicorn, "-w", "1", "-b", "127.0.0.1:{port}", "--chdir", str(project), "flaskr:create_app()"],
                )
            )
    todolist = tools.get("todolist")
    if todolist:
        wasm, project, venv314 = todolist
        page = "flask-todolist list page (Flask-SQLAlchemy ORM list of 10, a Flask-WTF form)"
        fresh = [host, "serve", wasm, "--port", "{port}", "--dir-rw", f"{project}::."]
        out.append(Row(f"host: {page}, fresh instance, built with --warm", fresh, path="/todolist/1/"))
        out.append(Row(f"host: {page}, --reuse {reuse or 1000}", fresh + ["--reuse", str(reuse or 1000)],
                       path="/todolist/1/"))
        if venv314:
            out.append(Row(f"CPython 3.14 wsgiref.simple_server: {page}",
                           [str(venv314 / "bin/python"), str(ROOT / "benches/wsgiref_serve.py"), str(project),
                            "todolist:app", "{port}"], path="/todolist/1/"))
            out.append(Row(f"gunicorn (1 sync worker, CPython 3.14): {page}",
                           [str(venv314 / "bin/gunicorn"), "-w", "1", "-b", "127.0.0.1:{port}", "--chdir",
                            str(project), "todolist:app"], path="/todolist/1/"))
    django = tools.get("django")
    if django:
        wasm, project = django
        fresh = [host, "serve", wasm, "--port", "{port}", "--dir-rw", str(project / "var")]
        reused = fresh + ["--reuse", str(reuse or 1000)]
        wsgiref = [str(CACHE / "bench-venv/bin/python"), str(ROOT / "benches/wsgiref_serve.py"), str(project),
                   "djsite.wsgi:application", "{port}"]
        native = [gunicorn, "-w", "1", "-b", "127.0.0.1:{port}", "--chdir", str(project), "djsite.wsgi:application"]
        for page, path in (("notes page (template + ORM list of 10)", "/"), ("admin login page", "/admin/login/")):
            out.append(Row(f"host: Django {page}, fresh instance, built with --warm", fresh, path=path))
            out.append(Row(f"host: Django {page}, --reuse {reuse or 1000}", reused, path=path))
            out.append(Row(f"CPython wsgiref.simple_server: Django {page}", wsgiref, path=path))
            if gunicorn:
                out.append(Row(f"gunicorn (1 sync worker): Django {page}", native, path=path))
    return out


def flaskr_project(venv):
    """A copy of the tutorial blog with a database of one user and ten
    posts (made natively, as `flask init-db` would)."""
    import shutil
    import sqlite3

    project = CACHE / "bench-flaskr"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(ROOT / "tests/e2e/python/flaskr", project)
    (project / "instance").mkdir()
    db = sqlite3.connect(project / "instance/flaskr.sqlite")
    db.executescript((project / "flaskr/schema.sql").read_text())
    db.execute("INSERT INTO user (username, password) VALUES ('bench', 'x')")
    db.executemany("INSERT INTO post (author_id, title, body) VALUES (1, ?, ?)",
                   [(f"Post {i}", "A body of some words. " * 10) for i in range(10)])
    db.commit()
    return project


def pinned(cmd, core):
    return ["taskset", "-c", str(core)] + cmd if os.cpu_count() and os.cpu_count() > 1 else cmd


def wait_listening(port, proc, limit=60):
    deadline = time.time() + limit
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the server did not listen")


def wrk(wrk_bin, url, seconds, connections):
    # A 100 MiB body takes longer than wrk's default 2 s timeout on a slow row.
    out = run(pinned([wrk_bin, "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "60s", "--latency", url], 1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (sum(map(int, sock.groups())) if sock else 0)

    def latency(pct):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return None
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    transfer = re.search(r"Transfer/sec:\s+([\d.]+)([KMG]?B)", out)
    scale = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}
    return {
        "requests": requests,
        "mbps": float(transfer.group(1)) * scale[transfer.group(2)] / 1e6 if transfer else None,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "errors": errors,
        "p50": latency(50),
        "p99": latency(99),
    }


def measure(row, tools, seconds, connections, logdir):
    port = free_port()
    cmd = [c.replace("{port}", str(port)) for c in row.cmd]
    env = dict(os.environ, **row.env)
    env.pop("RUST_BACKTRACE", None)  # wasmtime captures backtraces with it: skewed figures
    logfile = open(logdir / (re.sub(r"\W+", "-", row.name).strip("-") + ".log"), "w")

    def start():
        return subprocess.Popen(pinned(cmd, 0), stdout=logfile, stderr=subprocess.STDOUT, env=env, start_new_session=True)

    # A first start fills the compile caches, so idle RSS is that of a
    # server started as it usually is: with its compiled code cached.
    proc = start()
    try:
        wait_listening(port, proc)
    finally:
        stop(proc)
    proc = start()
    try:
        wait_listening(port, proc)
        for method, path, body in row.setup:
            status = send(port, method, path, body)
            if status != 200:
                raise RuntimeError(f"{method} {path} answered {status}")
        # One request first, so a row that does not serve fails here with
        # its status instead of showing as a slow row.
        status = send(port, "GET", row.path)
        if not 200 <= status < 300:
            raise RuntimeError(f"GET {row.path} answered {status} (log: {logfile.name})")
        url = f"http://127.0.0.1:{port}{row.path}"
        idle = settled_rss(proc.pid)
        connections = row.connections or connections
        wrk(tools["wrk"], url, 1, connections)  # warm up: caches, pools, JIT
        before = cpu_seconds(proc.pid)
        result = wrk(tools["wrk"], url, seconds, connections)
        cpu = cpu_seconds(proc.pid) - before
        result.update(
            cpu_us=cpu / max(result["requests"], 1) * 1e6,
            idle_mb=idle / 1024,
            peak_mb=memory_kb(proc.pid, "VmHWM") / 1024,
            command=" ".join(cmd) + (f" (wrk -c{connections})" if row.connections else ""),
        )
        return result
    finally:
        stop(proc)
        logfile.close()


def stop(proc):
    """SIGTERM to the server's process group, SIGKILL if it lingers."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
            proc.wait(10)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def install(args):
    tools = {}
    tools["wrk"] = installed("wrk", "wrk")
    if args.host:
        tools["host"], tools["native"] = args.host, args.native
    else:
        log("building the release host and the native hello ...")
        subprocess.run(
            ["cargo", "build", "--release", "-p", "host", "--bin", "host", "--example", "native_hello"], cwd=ROOT, check=True
        )
        tools["host"] = str(ROOT / "target/release/host")
        tools["native"] = str(ROOT / "target/release/examples/native_hello")
    def asked(*words):
        """No --only, or one naming any of `words`."""
        return not args.only or any(w in o.lower() for o in args.only for w in words)

    def wanted(word):
        """Asked for, and not a smoke run (too slow to install or build there)."""
        return not args.smoke and asked(word)

    if asked("nginx", "static"):
        tools["nginx"] = installed("nginx", "nginx")
    if wanted("wasmtime"):
        tools["wasmtime"] = run([f"{ROOT}/scripts/install-wasmtime.sh"])
    if asked("kv"):
        tools["redis"] = start_redis()
    if asked("sql"):
        tools["postgres"] = start_postgres()
    venv = CACHE / "bench-venv"
    gunicorn = venv / "bin/gunicorn"
    works = gunicorn.exists() and subprocess.run([str(gunicorn), "--version"], capture_output=True).returncode == 0
    has_apps = works and subprocess.run([str(venv / "bin/python"), "-c", "import bottle, flask, django"], capture_output=True).returncode == 0
    if not works or not has_apps:
        log(f"installing gunicorn {GUNICORN_VERSION}, bottle {BOTTLE_VERSION}, Flask {FLASK_VERSION} "
            f"and Django {DJANGO_VERSION} into {venv} ...")
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin/pip"), "install", "-q", f"gunicorn=={GUNICORN_VERSION}", f"bottle=={BOTTLE_VERSION}",
             f"flask=={FLASK_VERSION}", f"django=={DJANGO_VERSION}"],
            check=True,
        )
    tools["gunicorn"] = str(gunicorn)
    def build(name, target, path, pin, *flags):
        """`host build-python TARGET` from `path` with the one requirement
        `pin` (`None`: the project's own), into the cache as
        `bench-NAME.wasm`."""
        wasm = CACHE / f"bench-{name}.wasm"
        if pin is not None:
            requirements = CACHE / f"bench-{name}-requirements.txt"
            requirements.write_text(pin + "\n")
            flags = ("--requirements", str(requirements), *flags)
        subprocess.run(
            [tools["host"], "build-python", target, "-o", str(wasm), "--path", str(path), *flags],
            check=True,
        )
        return str(wasm)

    if wanted("bottle"):
        log("building the bottle hello with host build-python ...")
        tools["bottle"] = build("bottle", "hello_bottle:app", ROOT / "benches", f"bottle=={BOTTLE_VERSION}")
    if wanted("flask"):
        project = flaskr_project(venv)
        log("building Flask's tutorial blog with host build-python, plain and warmed with its index ...")
        pin = f"flask=={FLASK_VERSION}"
        tools["flaskr"] = (build("flaskr", "flaskr:create_app()", project, pin), project)
        tools["flaskr-warm"] = build("flaskr-warm", "flaskr:create_app()", project, pin, "--warm", "/")
    if wanted("todolist"):
        project, venv314 = todolist_project()
        log("building rtzll/flask-todolist with host build-python (its pyproject.toml), warmed with a list ...")
        # The warm request reads a list: the database first, made by a plain build.
        todolist_data(tools["host"], build("todolist-plain", "todolist:app", project, None), project)
        wasm = build("todolist", "todolist:app", project, None, "--warm", "/todolist/1/")
        tools["todolist"] = (wasm, project, venv314)
    if wanted("django"):
        project = django_project(venv)
        log("building the Django project with host build-python, warmed with its pages ...")
        wasm = build("djsite", "djsite.wsgi:application", project, f"django=={DJANGO_VERSION}",
                     "--warm", "/", "--warm", "/admin/login/")
        tools["django"] = (wasm, project)
    return tools


def todolist_project():
    """A copy of rtzll/flask-todolist (`tests/e2e/python/flask_todolist`),
    and a venv of CPython 3.14 (which it requires) with its dependencies
    and gunicorn, when the machine has a `python3.14` (else `None`)."""
    import shutil
    import tomllib

    project = CACHE / "bench-todolist"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(ROOT / "tests/e2e/python/flask_todolist", project)
    python = shutil.which("python3.14")
    if not python:
        log("no python3.14 on PATH: the to-do app (which requires it) has no native rows")
        return project, None
    venv = CACHE / "bench-venv-3.14"
    if not (venv / "bin/gunicorn").exists():
        dependencies = tomllib.loads((project / "pyproject.toml").read_text())["project"]["dependencies"]
        subprocess.run([python, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(venv / "bin/pip"), "install", "-q", f"gunicorn=={GUNICORN_VERSION}", *dependencies],
                       check=True)
    return project, venv


def todolist_data(host, wasm, project):
    """The to-do app's database, upgraded in the guest (`host run-python --
    flask db upgrade`, as its users would), with a list of ten to-dos."""
    import sqlite3

    subprocess.run([host, "run-python", wasm, "--dir-rw", f"{project}::.", "--", "flask", "db", "upgrade"],
                   check=True, capture_output=True)
    db = sqlite3.connect(project / "todolist.db")
    db.execute("INSERT INTO todolist (title, created_at) VALUES ('Bench', datetime('now'))")
    db.executemany("INSERT INTO todo (description, created_at, todolist_id) VALUES (?, datetime('now'), 1)",
                   [(f"To-do {i}: a few words to show.",) for i in range(10)])
    db.commit()


def django_project(venv):
    """A copy of the tests' Django project (`tests/e2e/python/djsite`: a
    notes app and the admin) migrated natively, with ten notes."""
    import shutil
    import sqlite3

    project = CACHE / "bench-djsite"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(ROOT / "tests/e2e/python/djsite", project)
    (project / "var").mkdir()
    subprocess.run([str(venv / "bin/python"), "manage.py", "migrate", "--noinput", "-v", "0"],
                   cwd=project, check=True)
    db = sqlite3.connect(project / "var/db.sqlite3")
    db.executemany("INSERT INTO notes_note (text, created) VALUES (?, datetime('now'))",
                   [(f"Note {i}: a few words to show.",) for i in range(10)])
    db.commit()
    return project


SERVERS = []  # the throw-away servers (redis-server, postgres), stopped when the run ends


def start_redis():
    """A throw-away redis-server (Debian's) on a free port, for the Redis
    rows; stopped when the run ends. Its port."""
    server = installed("redis-server", "redis-server")
    port = free_port()
    proc = subprocess.Popen(
        pinned([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], 1),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    SERVERS.append(proc)
    wait_listening(port, proc)
    return port


def start_postgres():
    """A throw-away PostgreSQL cluster (Debian's) on a free port, trusting
    local connections as `postgres`, for the SQL row; stopped when the run
    ends. As root it runs as the `postgres` user (PostgreSQL refuses root).
    Its port."""
    import shutil

    installed("postgresql", "pg_ctlcluster")
    bin = next(b / "bin" for b in sorted(Path("/usr/lib/postgresql").iterdir()) if (b / "bin/initdb").exists())
    data = ROOT / "target/bench/pg"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if owner:
        shutil.chown(data, "postgres")
    subprocess.run(owner + [str(bin / "initdb"), "-A", "trust", "-U", "postgres", "-D", str(data)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port = free_port()
    proc = subprocess.Popen(
        pinned(owner + [str(bin / "postgres"), "-D", str(data), "-k", str(data), "-h", "127.0.0.1", "-p", str(port)], 1),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    SERVERS.append(proc)
    wait_listening(port, proc)
    return port


def machine(tools):
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break

    def version(cmd):
        try:
            return run(cmd).splitlines()[0]
        except (subprocess.CalledProcessError, FileNotFoundError, IndexError):
            return "?"

    return {
        "date": datetime.date.today().isoformat(),
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "kernel": f"{platform.system()} {platform.release()}",
        "rustc": version(["rustc", "--version"]),
        "wasmtime": version([tools["wasmtime"], "--version"]) if tools.get("wasmtime") else "not installed",
        "python": platform.python_version(),
    }


def ratio(a, b):
    return a / b if a is not None and b else None


def targets(results, reuse):
    def get(prefix):
        return next((r for name, r in results if name.startswith(prefix) and r.get("rps")), None)

    host_fresh = get("host: wasi:http hello, fresh")
    wasgi_fresh = get("host: wasgi hello, fresh")
    wt_fresh = get("wasmtime serve -Scli: wasi:http hello, fresh")
    host_reuse = get(f"host: wasi:http hello, --reuse") or get("host: wasgi hello, --reuse")
    wt_reuse = get("wasmtime serve -Scli: wasi:http hello, --max")
    native = get("native hyper")
    out = []

    def check(what, value, goal, ok):
        if value is None:
            out.append((what, "not measured", goal, "—"))
        else:
            out.append((what, f"{value:.2f}", goal, "met" if ok(value) else "missed"))

    def info(what, value, spec=".2f"):
        out.append((what, "not measured" if value is None else format(value, spec), "(beside its peer)", "—"))

    if host_fresh and wt_fresh:
        check("fresh instance: host CPU µs/request ÷ wasmtime serve's", ratio(host_fresh["cpu_us"], wt_fresh["cpu_us"]), "≤ 0.45", lambda v: v <= 0.45)
        check("fresh instance: host req/s ÷ wasmtime serve's", ratio(host_fresh["rps"], wt_fresh["rps"]), "≥ 2", lambda v: v >= 2)
    else:
        check("fresh instance: host CPU µs/request ÷ wasmtime serve's", None, "≤ 0.45", None)
    quiet, wt_quiet = get("host: wasi:http hello without its log line"), get("wasmtime serve -Scli: wasi:http hello without")
    if host_fresh and quiet and wt_fresh and wt_quiet:
        wt_line = wt_fresh["cpu_us"] - wt_quiet["cpu_us"]
        check("a guest's log line: CPU µs it adds to a fresh request, host", host_fresh["cpu_us"] - quiet["cpu_us"],
              f"≤ wasmtime serve's {wt_line:.1f}", lambda v: v <= max(wt_line, 0) + 2)
    if wasgi_fresh and host_fresh:
        check("wasgi hello CPU µs/request ÷ wasi:http hello's (host)", ratio(wasgi_fresh["cpu_us"], host_fresh["cpu_us"]), "≤ 1.10", lambda v: v <= 1.10)
    if host_reuse and wt_reuse:
        check("reuse: host CPU µs/request ÷ wasmtime serve's", ratio(host_reuse["cpu_us"], wt_reuse["cpu_us"]), "≤ 0.8", lambda v: v <= 0.8)
    else:
        check("reuse: host CPU µs/request ÷ wasmtime serve's", None, "≤ 0.8", None)
    host_p3 = get("host: Spin SDK 7 hello (WASIp3), defaults")
    wt_p3 = get("wasmtime serve -Scli: Spin SDK 7 hello")
    check(
        "WASIp3 at defaults (Spin SDK 7 hello): host CPU µs/request ÷ wasmtime serve's",
        ratio(host_p3["cpu_us"], wt_p3["cpu_us"]) if host_p3 and wt_p3 else None,
        "≤ 0.8",
        lambda v: v <= 0.8,
    )
    if host_reuse and native:
        check("reuse: host req/s ÷ native hyper's", ratio(host_reuse["rps"], native["rps"]), "≥ 0.30", lambda v: v >= 0.30)
    kv_get = get("host: kv get per request (SQLite)")
    if kv_get and wasgi_fresh:
        check("SQLite kv get: server CPU µs added to a request (over the wasgi hello)", kv_get["cpu_us"] - wasgi_fresh["cpu_us"], "≤ 10", lambda v: v <= 10)
    bottle_fresh, bottle_reuse = get("host: bottle hello (Python), fresh"), get("host: bottle hello (Python), --reuse")
    gunicorn_bottle = get("gunicorn (1 sync worker): bottle hello")
    if bottle_fresh:
        check("Python fresh instance (bottle hello): server CPU µs/request", bottle_fresh["cpu_us"], "≤ 1000", lambda v: v <= 1000)
    if bottle_reuse and gunicorn_bottle:
        check("Python reuse (bottle hello): host CPU µs/request ÷ gunicorn's", ratio(bottle_reuse["cpu_us"], gunicorn_bottle["cpu_us"]), "≤ 1.2", lambda v: v <= 1.2)
    page, gunicorn_page = get("host: bottle 16 KiB templated page"), get("gunicorn (1 sync worker): bottle 16 KiB")
    if page and gunicorn_page:
        info("bottle 16 KiB page at reuse: host CPU µs/request ÷ gunicorn's", ratio(page["cpu_us"], gunicorn_page["cpu_us"]))
        info("bottle 16 KiB page at reuse: host p99 ÷ gunicorn's", ratio(page["p99"], gunicorn_page["p99"]))
    small, nginx_small = get("host: static-files, 1 KiB"), get("nginx: 1 KiB")
    if small and nginx_small:
        info("static 1 KiB file: host req/s ÷ nginx's", ratio(small["rps"], nginx_small["rps"]))
        info("static 1 KiB file: host CPU µs/request ÷ nginx's", ratio(small["cpu_us"], nginx_small["cpu_us"]))
    small_reuse = get("host: static-files, 1 KiB file, --reuse")
    if small_reuse and nginx_small:
        info("static 1 KiB file, --reuse 1000: host CPU µs/request ÷ nginx's", ratio(small_reuse["cpu_us"], nginx_small["cpu_us"]))
    big, nginx_big = get("host: static-files, 100 MiB file (sent"), get("nginx: 100 MiB")
    if big and nginx_big:
        info("static 100 MiB file: host GB/s ÷ nginx's", ratio(big["mbps"], nginx_big["mbps"]))
    streamed, wt_streamed = get("host: wasi:http body of 100 MiB"), get("wasmtime serve -Scli: wasi:http body of 100 MiB")
    if streamed and wt_streamed:
        check("a body the guest makes (100 MiB): host MB/s ÷ wasmtime serve's", ratio(streamed["mbps"], wt_streamed["mbps"]), "≥ 1", lambda v: v >= 1)
    if host_fresh:
        check("host p99 at the run's connections (ms)", host_fresh["p99"], "≤ 2", lambda v: v <= 2)
        check("host idle RSS (MB)", host_fresh["idle_mb"], "≤ 25", lambda v: v <= 25)
    return out


def fmt(v, spec):
    return "—" if v is None else format(v, spec)


def report(results, info, args, goals):
    lines = [
        "# Benchmarks",
        "",
        f"One run of `benches/bench.py` ({'smoke: ' if args.smoke else ''}{args.seconds} s per row, "
        f"{args.connections} connections, wrk -t1 keep-alive) on {info['date']}.",
        f"Machine: {info['cpu']}; {info['kernel']}; {info['rustc']}; {info['wasmtime']}; Python {info['python']}.",
        "Each server pinned to core 0 (`taskset -c 0`), wrk to core 1. CPU µs/request is the server's",
        "utime + stime over the measured run divided by the requests it served. Idle RSS is read",
        "before any load, once it stops falling, on a second start (the first fills the compile caches).",
        "",
        "![CPU per request](benchmarks.svg)" if not args.smoke else "",
        "",
        "| server | req/s | MB/s | p50 ms | p99 ms | errors | CPU µs/request | idle RSS MB | peak RSS MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results:
        if "skipped" in r:
            lines.append(f"| {name} | skipped: {r['skipped']} | | | | | | | |")
            continue
        lines.append(
            f"| {name} | {r['rps']:.0f} | {fmt(r['mbps'], '.1f')} | {fmt(r['p50'], '.2f')} | {fmt(r['p99'], '.2f')} | {r['errors']} | "
            f"{r['cpu_us']:.1f} | {r['idle_mb']:.1f} | {r['peak_mb']:.1f} |"
        )
    lines += ["", "## Targets", "", "| target | measured | goal | |", "|---|---:|---|---|"]
    lines += [f"| {w} | {v} | {g} | {ok} |" for w, v, g, ok in goals]
    lines += ["", "## Commands", ""]
    lines += [f"- {name}: `{r.get('command', '')}`" for name, r in results if "command" in r]
    lines += [f"- load: `taskset -c 1 wrk -t1 -c{args.connections} -d{args.seconds}s --timeout 60s --latency URL` "
              "(the 100 MiB rows: `-c1`, one download at a time)", ""]
    # The profile and the levers are measured by hand; they live in
    # benches/levers.md and are carried into every report.
    lines += ["", (ROOT / "benches/levers.md").read_text()]
    return "\n".join(lines)


def chart(results):
    bars = [(n, r["cpu_us"]) for n, r in results if "cpu_us" in r]
    width, left, bar_h, gap = 900, 420, 22, 8
    height = 40 + len(bars) * (bar_h + gap)
    # A log scale: native hyper's 7 µs and a fresh Python instance's
    # milliseconds on one chart.
    top = math.log10(max(max(v for _, v in bars), 10)) if bars else 1
    esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="13">',
        f'<text x="10" y="20" font-weight="bold">Server CPU per request, µs (lower is better; log scale)</text>',
    ]
    for i, (name, v) in enumerate(bars):
        y = 34 + i * (bar_h + gap)
        w = max(1, (width - left - 70) * math.log10(max(v, 1)) / top)
        color = "#2a7ab0" if name.startswith("host") else "#999"
        parts.append(f'<text x="{left - 8}" y="{y + 16}" text-anchor="end">{esc(name)}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{color}"/>')
        parts.append(f'<text x="{left + w + 6:.1f}" y="{y + 16}">{v:.1f}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="a few seconds, no wasmtime-cli: what CI runs")
    ap.add_argument("--seconds", type=int, default=None, help="measured seconds per row (default 10; smoke 1)")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--reuse", type=int, default=0, help="also measure instance reuse (host --reuse N)")
    ap.add_argument("--only", action="append", default=[], help="run only the rows whose name contains this (repeatable)")
    ap.add_argument("--host", help="the host binary (default: build the release one)")
    ap.add_argument("--native", help="the native_hello binary (with --host)")
    ap.add_argument("--out", type=Path, default=None, help="report directory (default: the repository; smoke: target/bench/smoke)")
    args = ap.parse_args()
    args.seconds = args.seconds or (1 if args.smoke else 10)
    out = args.out or (ROOT / "target/bench/smoke" if args.smoke else ROOT)
    out.mkdir(parents=True, exist_ok=True)
    logdir = ROOT / "target/bench/logs"
    logdir.mkdir(parents=True, exist_ok=True)
    tools = install(args)
    results = []
    for row in rows(tools, args.reuse):
        if args.only and not any(o in row.name for o in args.only):
            continue
        log(f"{row.name} ...")
        try:
            r = measure(row, tools, args.seconds, args.connections, logdir)
        except (RuntimeError, subprocess.CalledProcessError) as e:
            r = {"skipped": str(e).splitlines()[0]}
        log(f"  {r}")
        results.append((row.name, r))
    for proc in SERVERS:
        stop(proc)
    info = machine(tools)
    goals = targets(results, args.reuse)
    (out / "BENCHMARKS.md").write_text(report(results, info, args, goals))
    (out / "benchmarks.svg").write_text(chart(results))
    log(f"wrote {out / 'BENCHMARKS.md'} and {out / 'benchmarks.svg'}")
    if any("skipped" in r for _, r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
