//! Test harness: run `host serve` on a free port, talk raw HTTP to it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The compiled guest app `examples/<name>.wasm`.
pub fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("WASGI_EXAMPLES_DIR")).join(format!("{name}.wasm"))
}

/// The `host` binary: this build's, or `$WASGI_HOST_BIN` (a release
/// build, for figures closer to production).
pub fn host_bin() -> String {
    std::env::var("WASGI_HOST_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_host").to_string())
}

/// A running `host serve`, killed on drop.
pub struct Host {
    child: Child,
    pub addr: SocketAddr,
    log: Arc<Mutex<String>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

/// Where the tests' hosts cache compiled components (not the user's cache).
pub fn test_cache_dir() -> PathBuf {
    std::env::temp_dir().join("wasgi-test-cache")
}

impl Host {
    /// `host serve <args> --port 0`, once it listens.
    pub fn serve(args: &[&str]) -> Host {
        Host::serve_env(args, &[])
    }

    /// Like [`Host::serve`], with extra environment variables.
    pub fn serve_env(args: &[&str], env: &[(&str, &str)]) -> Host {
        let mut cmd = Command::new(host_bin());
        cmd.arg("serve").args(args);
        // A free port unless the test chose where to listen.
        if !["--port", "--listen", "--addr"]
            .iter()
            .any(|f| args.contains(f))
        {
            cmd.args(["--port", "0"]);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("WASGI_CACHE_DIR", test_cache_dir())
            .env_remove("RUST_BACKTRACE");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn host");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let sink = log.clone();
        let reader = std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr);
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                sink.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        let mut first = String::new();
        let mut stdout = BufReader::new(stdout);
        stdout
            .read_line(&mut first)
            .expect("read the listening line");
        // Later lines (more listeners) go to the log; the pipe stays open.
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut line = String::new();
            while stdout.read_line(&mut line).unwrap_or(0) > 0 {
                sink.lock().unwrap().push_str(&line);
                line.clear();
            }
        });
        let addr = first
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| {
                panic!(
                    "host did not report its address: {first:?}; log: {}",
                    log.lock().unwrap()
                )
            });
        Host {
            child,
            addr,
            log,
            reader: Some(reader),
        }
    }

    /// Sends SIGTERM, waits for the process to exit, and returns its exit
    /// code and its whole log.
    pub fn stop(&mut self) -> (Option<i32>, String) {
        self.signal("TERM");
        let status = self.wait_exit(Duration::from_secs(30));
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        (status, self.log())
    }

    /// Sends a signal (`TERM`, `INT`, ...) to the process.
    pub fn signal(&self, name: &str) {
        let sent = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill");
        assert!(sent.success());
    }

    /// Waits up to `limit` for the process to exit; its exit code.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status.code();
            }
            assert!(Instant::now() < deadline, "the host did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's resident memory, in KiB, and its open descriptors.
    pub fn rss_and_fds(&self) -> (u64, usize) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let rss = status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kib| kib.parse().ok())
            .unwrap_or(0);
        let fds = std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0);
        (rss, fds)
    }

    /// Waits until the log contains `needle` `n` times (10 s at most).
    pub fn wait_log_count(&self, needle: &str, n: usize) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            if log.matches(needle).count() >= n {
                return log;
            }
            if Instant::now() > deadline {
                panic!(
                    "log never contained {needle:?} {n} times ({} now)",
                    log.matches(needle).count()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything the server logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the log contains `needle` (10 s at most), then returns it.
    pub fn wait_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            if log.contains(needle) {
                return log;
            }
            if Instant::now() > deadline {
                panic!("log never contained {needle:?}; log:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `GET path` on a fresh connection.
    pub fn get(&self, path: &str) -> Response {
        self.request(&format!(
            "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
        ))
    }

    /// Sends raw request text on a fresh connection and reads one response.
    pub fn request(&self, raw: &str) -> Response {
        self.request_bytes(raw.as_bytes())
    }

    /// Sends raw request bytes on a fresh connection and reads one response.
    pub fn request_bytes(&self, raw: &[u8]) -> Response {
        let head_request = raw.starts_with(b"HEAD ");
        let mut conn = Conn::open(self.addr);
        conn.send(raw);
        conn.response(head_request)
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A test that fails shows what its host logged: a failure seen
        // once under CI's load names its cause without a rerun.
        if std::thread::panicking() {
            eprintln!("the host's log:\n{}", self.log());
        }
    }
}

/// One client connection.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    eof: bool,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        Conn {
            stream,
            buf: Vec::new(),
            eof: false,
        }
    }

    /// The socket itself.
    pub fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    pub fn send(&mut self, raw: &[u8]) {
        self.stream.write_all(raw).expect("send");
    }

    fn fill(&mut self) -> bool {
        if self.eof {
            return false;
        }
        let mut chunk = [0u8; 65536];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => {
                self.eof = true;
                false
            }
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Everything until the server closes the connection.
    pub fn read_to_end(&mut self) -> Vec<u8> {
        while self.fill() {}
        std::mem::take(&mut self.buf)
    }

    /// Whether the server has closed the connection (waits up to `wait`).
    pub fn is_closed(&mut self, wait: Duration) -> bool {
        self.stream.set_read_timeout(Some(wait)).expect("timeout");
        let mut byte = [0u8; 1];
        let closed = match self.stream.read(&mut byte) {
            Ok(0) => true,
            Ok(n) => {
                self.buf.extend_from_slice(&byte[..n]);
                false
            }
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        };
        self.stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        closed
    }

    /// Reads one response, framed by its headers (`head_request`: the
    /// request was HEAD, so there is no body).
    pub fn response(&mut self, head_request: bool) -> Response {
        let mut interim = Vec::new();
        loop {
            let mut response = self.one_response(head_request);
            if (100..200).contains(&response.status) {
                interim.push(response.head);
                continue;
            }
            response.interim = interim;
            return response;
        }
    }

    fn one_response(&mut self, head_request: bool) -> Response {
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            if !self.fill() {
                return Response::partial(std::mem::take(&mut self.buf));
            }
        };
        let head: Vec<u8> = self.buf.drain(..head_end).collect();
        let mut response = Response::parse_head(&head);
        let no_body = head_request
            || response.status < 200
            || response.status == 204
            || response.status == 304;
        if no_body {
            response.complete = true;
        } else if response
            .header("Transfer-Encoding")
            .is_some_and(|te| te.eq_ignore_ascii_case("chunked"))
        {
            response.complete = self.read_chunked(&mut response.body);
        } else if let Some(len) = response
            .header("Content-Length")
            .and_then(|l| l.parse::<usize>().ok())
        {
            while self.buf.len() < len && self.fill() {}
            let take = len.min(self.buf.len());
            response.body = self.buf.drain(..take).collect();
            response.complete = take == len;
        } else {
            response.body = self.read_to_end();
            response.complete = true;
        }
        response
    }

    fn read_chunked(&mut self, body: &mut Vec<u8>) -> bool {
        loop {
            let line_end = loop {
                if let Some(i) = find(&self.buf, b"\r\n") {
                    break i;
                }
                if !self.fill() {
                    return false;
                }
            };
            let size_text = String::from_utf8_lossy(&self.buf[..line_end]).to_string();
            let Ok(size) = usize::from_str_radix(size_text.trim(), 16) else {
                return false;
            };
            self.buf.drain(..line_end + 2);
            while self.buf.len() < size + 2 {
                if !self.fill() {
                    body.append(&mut self.buf);
                    return false;
                }
            }
            body.extend(self.buf.drain(..size));
            self.buf.drain(..2);
            if size == 0 {
                return true;
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A parsed response.
#[derive(Debug, Default)]
pub struct Response {
    /// The status line and headers, verbatim (latin-1 decoded).
    pub head: String,
    pub version: String,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The body arrived whole, as its framing announced.
    pub complete: bool,
    /// Interim (1xx) responses that came first.
    pub interim: Vec<String>,
}

impl Response {
    fn partial(raw: Vec<u8>) -> Response {
        Response {
            head: latin1(&raw),
            complete: false,
            ..Response::default()
        }
    }

    fn parse_head(head: &[u8]) -> Response {
        let text = latin1(head);
        let mut lines = text.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default().to_string();
        let status = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let reason = parts.next().unwrap_or_default().to_string();
        let headers = lines
            .filter(|l| !l.is_empty())
            .filter_map(|l| {
                l.split_once(": ")
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
        Response {
            head: text,
            version,
            status,
            reason,
            headers,
            ..Response::default()
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn header_names(&self) -> Vec<&str> {
        self.headers.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// Header names in order, without the `Connection: close` that answers
    /// a request's own `Connection: close`.
    pub fn header_names_except_connection(&self) -> Vec<&str> {
        self.header_names()
            .into_iter()
            .filter(|k| !k.eq_ignore_ascii_case("Connection"))
            .collect()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Bytes as a native (latin-1) string.
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// The IMF-fixdate shape of a `Date` header.
pub fn is_http_date(value: &str) -> bool {
    let b = value.as_bytes();
    value.len() == 29
        && value.ends_with(" GMT")
        && b[3] == b','
        && b[7] == b' '
        && b[11] == b' '
        && b[16] == b' '
        && b[19] == b':'
        && b[22] == b':'
}

/// The line of `examples/NAME/src/lib.rs` that contains `needle`.
pub fn source_line(name: &str, needle: &str) -> usize {
    source_line_in(&format!("examples/{name}/src/lib.rs"), needle)
}

/// The line of the repository's file `path` that contains `needle`.
pub fn source_line_in(path: &str, needle: &str) -> usize {
    let path = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(&path).unwrap();
    1 + source.lines().position(|l| l.contains(needle)).unwrap()
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// `COMMAND` from Debian's `PACKAGE`, installed by scripts/install-deb.sh
/// when missing.
pub fn installed(package: &str, command: &str) -> PathBuf {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/install-deb.sh");
    let status = Command::new("bash")
        .arg(&script)
        .args([package, command])
        .status()
        .expect("run scripts/install-deb.sh");
    assert!(status.success(), "installing {package} failed: {status}");
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/bin", "/usr/local/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(command))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{package} is installed but {command} is not found"))
}

/// Clients sending requests the whole time, on threads of their own,
/// until [`Load::finish`].
pub struct Load {
    stop: Arc<std::sync::atomic::AtomicBool>,
    clients: Vec<std::thread::JoinHandle<(usize, Vec<String>)>>,
}

impl Load {
    /// `clients` threads each calling `request` again and again: `Ok` for
    /// the answer expected, else what came instead.
    pub fn start<F>(clients: usize, request: F) -> Load
    where
        F: Fn() -> Result<(), String> + Clone + Send + 'static,
    {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let clients = (0..clients)
            .map(|_| {
                let (stop, request) = (stop.clone(), request.clone());
                std::thread::spawn(move || {
                    let (mut ok, mut failed) = (0, Vec::new());
                    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                        match request() {
                            Ok(()) => ok += 1,
                            Err(got) => failed.push(got),
                        }
                    }
                    (ok, failed)
                })
            })
            .collect();
        Load { stop, clients }
    }

    /// Stops the clients: how many requests got the answer expected, and
    /// what the others got.
    pub fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut total = (0, Vec::new());
        for client in self.clients {
            let (ok, mut failed) = client.join().expect("a client thread");
            total.0 += ok;
            total.1.append(&mut failed);
        }
        total
    }
}

/// A `redis-server` on 127.0.0.1 with a throw-away directory, stopped
/// when dropped.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
}

impl RedisServer {
    pub fn start(name: &str) -> RedisServer {
        let mut redis = RedisServer {
            child: None,
            port: free_port(),
            dir: {
                let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("redis-{name}"));
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir).unwrap();
                dir
            },
        };
        redis.up();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) on its port, once it answers.
    pub fn up(&mut self) {
        let bin = installed("redis-server", "redis-server");
        let child = Command::new(bin)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn down(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.down();
    }
}

/// A throw-away PostgreSQL cluster (Debian's `postgresql`, installed by
/// scripts/install-deb.sh) on 127.0.0.1, trusting local connections as
/// `postgres`; stopped when dropped. As root, it runs as the `postgres`
/// user (PostgreSQL refuses root).
pub struct PgServer {
    child: Child,
    dir: PathBuf,
    pub port: u16,
}

impl PgServer {
    pub fn start(name: &str) -> PgServer {
        PgServer::start_with(name, None)
    }

    /// The same, also serving TLS with the PEM certificate and key
    /// `tls` (clients ask for it after connecting: SSLRequest).
    pub fn start_tls(name: &str, cert: &Path, key: &Path) -> PgServer {
        PgServer::start_with(name, Some((cert, key)))
    }

    fn start_with(name: &str, tls: Option<(&Path, &Path)>) -> PgServer {
        installed("postgresql", "pg_ctlcluster");
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .expect("/usr/lib/postgresql")
            .flatten()
            .map(|e| e.path().join("bin"))
            .find(|b| b.join("initdb").exists())
            .expect("initdb");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("pg-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
        let as_owner = |program: PathBuf| {
            let mut cmd = if root {
                let mut cmd = Command::new("runuser");
                cmd.args(["-u", "postgres", "--"]).arg(program);
                cmd
            } else {
                Command::new(program)
            };
            cmd.stdout(Stdio::null()).stderr(Stdio::null());
            cmd
        };
        if root {
            let owned = Command::new("chown")
                .arg("postgres")
                .arg(&dir)
                .status()
                .unwrap();
            assert!(owned.success());
        }
        let init = as_owner(bin.join("initdb"))
            .args(["-A", "trust", "-U", "postgres", "-D"])
            .arg(&dir)
            .status()
            .expect("initdb");
        assert!(init.success(), "initdb failed");
        let mut settings = Vec::new();
        if let Some((cert, key)) = tls {
            // PostgreSQL reads its key only if no one else may.
            for (from, to) in [(cert, "server.crt"), (key, "server.key")] {
                std::fs::copy(from, dir.join(to)).unwrap();
                let mode = std::os::unix::fs::PermissionsExt::from_mode(0o600);
                std::fs::set_permissions(dir.join(to), mode).unwrap();
                if root {
                    let owned = Command::new("chown")
                        .arg("postgres")
                        .arg(dir.join(to))
                        .status()
                        .unwrap();
                    assert!(owned.success());
                }
            }
            settings = vec!["-c", "ssl=on"];
        }
        let port = free_port();
        let child = as_owner(bin.join("postgres"))
            .args(settings)
            .arg("-D")
            .arg(&dir)
            .arg("-k")
            .arg(&dir)
            .args(["-h", "127.0.0.1", "-p", &port.to_string()])
            .spawn()
            .expect("start postgres");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "postgres did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        PgServer { child, dir, port }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // SIGINT to the postmaster (not to runuser, which keeps it):
        // PostgreSQL's fast shutdown.
        let pid = std::fs::read_to_string(self.dir.join("postmaster.pid")).unwrap_or_default();
        match pid.lines().next() {
            Some(pid) => {
                let _ = Command::new("kill").args(["-INT", pid]).status();
            }
            None => {
                let _ = self.child.kill();
            }
        }
        let _ = self.child.wait();
    }
}

/// An empty directory of the test's own, under the build's temporary
/// directory (`name` unique across the suite): the one temp-dir helper.
pub fn fresh_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("app-data")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
