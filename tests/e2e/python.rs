//! Python WSGI apps built with `host build-python` (componentize-py, the
//! bridge in guest-sdk/python): each example runs under CPython's own
//! `wsgiref.validate.validator` inside the component, through a matrix of
//! requests, and answers as the same app does under CPython's
//! `wsgiref.simple_server`.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

use crate::common::{Conn, Host, Response, host_bin, source_line_in};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The tools cache `host build-python` installs componentize-py into.
fn tools_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("WASGI_TOOLS_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("wasgi/tools")))
        .or_else(|| env("HOME").map(|d| d.join(".cache/wasgi/tools")))
        .unwrap_or_else(|| std::env::temp_dir().join("wasgi-tools"))
}

/// The Python that runs componentize-py: also runs the apps natively.
fn python() -> PathBuf {
    tools_dir().join("componentize-py-0.25.1/bin/python")
}

/// Builds run one at a time: componentize-py uses every core.
static BUILDS: Mutex<()> = Mutex::new(());

fn hash_tree(dir: &Path, h: &mut DefaultHasher) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        if path.file_name().is_some_and(|n| n == "__pycache__") {
            continue;
        }
        path.file_name().hash(h);
        if path.is_dir() {
            hash_tree(&path, h);
        } else {
            std::fs::read(&path).unwrap().hash(h);
        }
    }
}

/// Runs `host build-python` with `args` (the target, `--path`s, `-r`),
/// unless a component built from the same sources is already there.
fn build(name: &str, args: &[&str], sources: &[&Path]) -> PathBuf {
    let mut h = DefaultHasher::new();
    args.hash(&mut h);
    for dir in [repo().join("guest-sdk/python"), repo().join("wit")] {
        hash_tree(&dir, &mut h);
    }
    for dir in sources {
        hash_tree(dir, &mut h);
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("python-apps");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(format!("{name}-{:016x}.wasm", h.finish()));
    let _one_at_a_time = BUILDS.lock().unwrap_or_else(|e| e.into_inner());
    if out.exists() {
        return out;
    }
    let tmp = out.with_extension("partial.wasm");
    let result = Command::new(host_bin())
        .arg("build-python")
        .args(args)
        .arg("-o")
        .arg(&tmp)
        .output()
        .expect("run host build-python");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "building {name} failed:\n{stderr}");
    assert!(stderr.contains("Built "), "{stderr}");
    std::fs::rename(&tmp, &out).unwrap();
    out
}

/// An example app wrapped in CPython's validator (`python/oracle.py`).
struct Example {
    name: &'static str,
    dir: PathBuf,
    requirements: Option<PathBuf>,
    oracle_dir: PathBuf,
}

impl Example {
    fn new(name: &'static str) -> Example {
        let dir = repo().join("examples").join(name);
        let requirements = Some(dir.join("requirements.txt")).filter(|r| r.exists());
        let oracle_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("python-oracle")
            .join(name);
        std::fs::create_dir_all(&oracle_dir).unwrap();
        std::fs::copy(
            repo().join("tests/e2e/python/oracle.py"),
            oracle_dir.join("oracle.py"),
        )
        .unwrap();
        Example {
            name,
            dir,
            requirements,
            oracle_dir,
        }
    }

    /// The component: the example under the validator.
    fn component(&self) -> PathBuf {
        let (oracle, dir) = (
            self.oracle_dir.to_str().unwrap(),
            self.dir.to_str().unwrap(),
        );
        let mut args = vec!["oracle:application", "--path", oracle, "--path", dir];
        if let Some(r) = &self.requirements {
            args.extend(["--requirements", r.to_str().unwrap()]);
        }
        build(
            &format!("{}-oracle", self.name),
            &args,
            &[&self.oracle_dir, &self.dir],
        )
    }

    fn serve(&self, extra: &[&str]) -> Host {
        let component = self.component();
        let statics = format!("{}::/static", self.dir.join("static").display());
        let mut args = vec![component.to_str().unwrap()];
        if self.dir.join("static").exists() {
            args.extend(["--dir", &statics]);
        }
        args.extend(extra);
        let args: Vec<&str> = args.iter().map(|s| &**s).collect();
        Host::serve(&args)
    }

    /// The same oracle module under CPython's wsgiref.simple_server, with
    /// the requirements installed natively into the tools cache.
    fn serve_natively(&self) -> Native {
        let mut path = vec![self.oracle_dir.clone(), self.dir.clone()];
        if let Some(requirements) = &self.requirements {
            let site = tools_dir().join("python-native").join(self.name);
            if !site.join(".installed").exists() {
                let status = Command::new(python())
                    .args([
                        "-m",
                        "pip",
                        "install",
                        "-q",
                        "--disable-pip-version-check",
                        "--target",
                    ])
                    .arg(&site)
                    .arg("-r")
                    .arg(requirements)
                    .status()
                    .expect("pip");
                assert!(
                    status.success(),
                    "pip install -r {}",
                    requirements.display()
                );
                std::fs::write(site.join(".installed"), "").unwrap();
            }
            path.push(site);
        }
        let mut child = Command::new(python())
            .arg(repo().join("tests/e2e/python/native_server.py"))
            .arg("oracle:application")
            .env("PYTHONPATH", std::env::join_paths(&path).unwrap())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("STATIC_ROOT", self.dir.join("static"))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run native_server.py");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Ok(port) = line.trim().parse::<u16>() else {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!("native server: {}", String::from_utf8_lossy(&out.stderr))
        };
        Native {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }
}

/// CPython's wsgiref.simple_server running the app, killed on drop.
struct Native {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Native {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn exchange(addr: SocketAddr, raw: &str) -> Response {
    let mut conn = Conn::open(addr);
    conn.send(raw.as_bytes());
    conn.response(raw.starts_with("HEAD "))
}

/// One request of the matrix.
struct Case {
    raw: String,
    /// wsgiref.simple_server does not decode chunked bodies: such a case is
    /// compared with its Content-Length twin instead.
    chunked_twin_of: Option<usize>,
}

fn request(method: &str, target: &str, headers: &[&str], body: Option<&str>) -> Case {
    let mut raw =
        format!("{method} {target} HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n");
    for h in headers {
        raw.push_str(h);
        raw.push_str("\r\n");
    }
    if let Some(body) = body {
        raw.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    } else {
        raw.push_str("\r\n");
    }
    Case {
        raw,
        chunked_twin_of: None,
    }
}

fn chunked(method: &str, target: &str, headers: &[&str], body: &str, twin: usize) -> Case {
    let mut raw = format!(
        "{method} {target} HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n"
    );
    for h in headers {
        raw.push_str(h);
        raw.push_str("\r\n");
    }
    raw.push_str("\r\n");
    let (a, b) = body.split_at(body.len() / 2);
    for part in [a, b] {
        raw.push_str(&format!("{:x}\r\n{part}\r\n", part.len()));
    }
    raw.push_str("0\r\n\r\n");
    Case {
        raw,
        chunked_twin_of: Some(twin),
    }
}

/// The requests every framework example answers: query strings, non-ASCII
/// paths, JSON bodies by Content-Length and chunked, other methods, HEAD,
/// static files, and errors (404, 405, a failing route).
fn framework_matrix() -> Vec<Case> {
    let json = ["Content-Type: application/json"];
    vec![
        request("GET", "/", &[], None),
        request("GET", "/?name=Z%C3%BCrich&x=1&x=2", &[], None),
        request("GET", "/hello/caf%C3%A9", &[], None),
        request("GET", "/hello/%E2%82%AC%20and%20more", &[], None),
        request("HEAD", "/", &[], None),
        request(
            "POST",
            "/api/echo",
            &json,
            Some(r#"{"a": [1, 2, "\u00fc"], "b": null}"#),
        ),
        chunked(
            "POST",
            "/api/echo",
            &json,
            r#"{"a": [1, 2, "\u00fc"], "b": null}"#,
            5,
        ),
        request("POST", "/api/echo", &json, Some("{not json")),
        request("PUT", "/api/echo", &[], Some("twelve bytes")),
        request("PATCH", "/api/echo", &[], Some("")),
        request("DELETE", "/api/echo", &[], None),
        request("GET", "/static/hello.txt", &[], None),
        request("GET", "/static/style.css", &[], None),
        request("GET", "/static/missing.txt", &[], None),
        request("GET", "/nope", &[], None),
        request("POST", "/", &[], Some("x=1")),
        request("GET", "/fail", &[], None),
    ]
}

fn hello_matrix() -> Vec<Case> {
    vec![
        request("GET", "/", &[], None),
        request("GET", "/caf%C3%A9?a=1&b=%20", &[], None),
        request("HEAD", "/", &[], None),
        request(
            "POST",
            "/echo",
            &["Content-Type: text/plain"],
            Some("hello body"),
        ),
        chunked(
            "POST",
            "/echo",
            &["Content-Type: text/plain"],
            "hello body",
            3,
        ),
        request("PUT", "/x", &[], Some("")),
        request("OPTIONS", "/", &[], None),
    ]
}

/// Runs the matrix against the component under the validator and against
/// CPython's wsgiref.simple_server: same statuses, same bodies, and not
/// one complaint from the validator.
fn oracle(example: &Example, matrix: &[Case]) -> Host {
    let host = example.serve(&[]);
    let native = example.serve_natively();
    let mut wasm = Vec::new();
    for (i, case) in matrix.iter().enumerate() {
        let got = exchange(host.addr, &case.raw);
        assert!(
            got.complete,
            "{}: case {i} incomplete: {got:?}",
            example.name
        );
        if case.raw.starts_with("HEAD ") {
            assert!(got.body.is_empty(), "a HEAD body");
        }
        match case.chunked_twin_of {
            Some(twin) => {
                let (status, body): &(u16, Vec<u8>) = &wasm[twin];
                assert_eq!(
                    (got.status, String::from_utf8_lossy(&got.body)),
                    (*status, String::from_utf8_lossy(body)),
                    "{}: chunked case {i} differs from its Content-Length twin",
                    example.name
                );
            }
            None => {
                let reference = exchange(native.addr, &case.raw);
                let body = |r: &Response| {
                    if case.raw.starts_with("HEAD ") {
                        String::new()
                    } else {
                        r.text()
                    }
                };
                assert_eq!(
                    (got.status, body(&got)),
                    (reference.status, body(&reference)),
                    "{}: case {i} differs from wsgiref.simple_server:\n{}",
                    example.name,
                    case.raw
                );
            }
        }
        wasm.push((got.status, got.body));
    }
    let log = host.wait_log_count("HTTP/1.1\" ", matrix.len());
    for complaint in ["AssertionError", "WSGIWarning", "wsgiref/validate.py"] {
        assert!(
            !log.contains(complaint),
            "{}: the validator complained:\n{log}",
            example.name
        );
    }
    // The validator's complaints do reach the log: a broken app under it.
    let broken = exchange(host.addr, &request("GET", "/__broken__", &[], None).raw);
    assert_eq!(broken.status, 500);
    host.wait_log("AssertionError: Status codes must be three characters: '200OK'");
    host
}

#[test]
fn the_bare_callable_matches_wsgiref_under_the_validator() {
    let example = Example::new("python-hello");
    let host = oracle(&example, &hello_matrix());
    // The second start of the same component is a compile-cache hit.
    drop(host);
    let again = example.serve(&[]);
    again.wait_log("python-hello-oracle-");
    again.wait_log(".wasm: loaded from the compile cache in ");
}

#[test]
fn bottle_matches_wsgiref_under_the_validator() {
    let example = Example::new("python-bottle");
    let host = oracle(&example, &framework_matrix());
    // bottle printed /fail's traceback to wsgi.errors; the frame names the
    // example's own file and line.
    let line = source_line_in("examples/python-bottle/app.py", "fails on purpose");
    host.wait_log(&format!("python-bottle/app.py\", line {line}, in fail"));
}

#[test]
fn flask_matches_wsgiref_under_the_validator() {
    let example = Example::new("python-flask");
    oracle(&example, &framework_matrix());
}
