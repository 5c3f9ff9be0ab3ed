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

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The Python that runs componentize-py: also runs the apps natively.
pub(crate) fn python() -> PathBuf {
    host::component::default_tools_dir().join("componentize-py-0.25.1/bin/python")
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
pub(crate) fn build(name: &str, args: &[&str], sources: &[&Path]) -> PathBuf {
    let mut h = DefaultHasher::new();
    args.hash(&mut h);
    for dir in [repo().join("guest-sdk/python"), repo().join("wit")] {
        hash_tree(&dir, &mut h);
    }
    // The host's side of the build (the entry module it writes, the
    // dependencies it installs) makes the component too.
    for file in ["host/src/build_python.rs", "host/src/native_deps.rs"] {
        std::fs::read(repo().join(file)).unwrap().hash(&mut h);
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
        // The example's directory first: the app's working directory.
        let mut args = vec!["oracle:application", "--path", dir, "--path", oracle];
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
        let mut args = vec![component.to_str().unwrap()];
        args.extend(extra);
        let args: Vec<&str> = args.iter().map(|s| &**s).collect();
        Host::serve(&args)
    }

    /// The same oracle module under CPython's wsgiref.simple_server, with
    /// the requirements installed natively into the tools cache.
    fn serve_natively(&self) -> Native {
        // `wasgi` too: natively, `wasgi.kv` is a SQLite file of its own.
        let mut path = vec![
            self.oracle_dir.clone(),
            self.dir.clone(),
            repo().join("guest-sdk/python"),
        ];
        if let Some(requirements) = &self.requirements {
            path.push(native_site(self.name, requirements));
        }
        let mut child = Command::new(python())
            .arg(repo().join("tests/e2e/python/native_server.py"))
            .arg("oracle:application")
            .env("PYTHONPATH", std::env::join_paths(&path).unwrap())
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .current_dir(&self.dir)
            .env("WASGI_STATE_DIR", self.oracle_dir.join("native-state"))
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

/// `requirements` installed natively (for the tools' Python) into the
/// tools cache, once: the directory to put on `PYTHONPATH`.
pub(crate) fn native_site(name: &str, requirements: &Path) -> PathBuf {
    let site = host::component::default_tools_dir()
        .join("python-native")
        .join(name);
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
    site
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
    // With the real Python traceback, naming the files as built.
    let line = source_line_in("tests/e2e/python/oracle.py", "return broken(");
    host.wait_log(&format!(
        "{}\", line {line}, in application",
        example.oracle_dir.join("oracle.py").display()
    ));
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

/// `/environ` of the bare callable, as `key = repr(value)` lines.
fn environ_lines(addr: SocketAddr, target: &str) -> Vec<String> {
    let got = exchange(addr, &request("GET", target, &["X-Custom: a b"], None).raw);
    assert_eq!(got.status, 200, "{got:?}");
    got.text().lines().map(str::to_string).collect()
}

#[test]
fn a_file_wrapper_over_a_preopened_file_is_sent_by_the_host() {
    let example = Example::new("python-hello");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("python-static");
    std::fs::create_dir_all(&dir).unwrap();
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(dir.join("big.bin"), &data).unwrap();
    let statics = format!("{}::/static", dir.display());
    let component = example.component();
    let host = Host::serve(&[component.to_str().unwrap(), "--dir", &statics]);
    // The app set no Content-Length: the host's sendfile gives one (an
    // iterated body would go out chunked), and sends exactly the file.
    let got = exchange(
        host.addr,
        &request("GET", "/__unchecked__/static/big.bin", &[], None).raw,
    );
    assert_eq!(got.status, 200);
    assert_eq!(got.header("Content-Length"), Some("3000000"), "{got:?}");
    assert_eq!(got.header("Transfer-Encoding"), None);
    assert!(got.body == data, "the body differs from the file");
    // Under the validator the result is wrapped, so the same file is
    // iterated through the guest, chunked, and still the same bytes.
    let wrapped = exchange(host.addr, &request("GET", "/static/big.bin", &[], None).raw);
    assert_eq!(wrapped.header("Transfer-Encoding"), Some("chunked"));
    assert!(wrapped.body == data);
    let missing = exchange(host.addr, &request("GET", "/static/nope", &[], None).raw);
    assert_eq!(missing.status, 404);
    let log = host.wait_log_count("HTTP/1.1\" ", 3);
    assert!(!log.contains("AssertionError"), "{log}");
}

#[test]
fn the_environ_is_wsgirefs_and_reuse_tells_the_truth() {
    let example = Example::new("python-hello");
    let host = example.serve(&[]);
    let native = example.serve_natively();
    let target = "/environ/caf%C3%A9?q=%C3%BC&x";
    let wasm = environ_lines(host.addr, target);
    let reference = environ_lines(native.addr, target);
    // What the request decides is the same, value for value (the servers'
    // names, ports and the process environment of wsgiref aside).
    for key in [
        "CONTENT_TYPE",
        "GATEWAY_INTERFACE",
        "HTTP_HOST",
        "HTTP_X_CUSTOM",
        "PATH_INFO",
        "QUERY_STRING",
        "REMOTE_ADDR",
        "REQUEST_METHOD",
        "SCRIPT_NAME",
        "SERVER_PROTOCOL",
        "wsgi.multithread",
        "wsgi.run_once",
        "wsgi.url_scheme",
        "wsgi.version",
    ] {
        let of = |lines: &[String]| {
            lines
                .iter()
                .find(|l| l.starts_with(&format!("{key} = ")))
                .cloned()
        };
        assert!(of(&wasm).is_some(), "{key} missing: {wasm:#?}");
        assert_eq!(of(&wasm), of(&reference), "{key}");
    }
    assert!(
        wasm.contains(&"PATH_INFO = '/environ/cafÃ©'".to_string()),
        "{wasm:#?}"
    );
    for key in ["wsgi.input", "wsgi.errors", "wsgi.file_wrapper"] {
        assert!(
            wasm.iter().any(|l| l.starts_with(&format!("{key} = "))),
            "{key}"
        );
    }
    // No host environment leaks in, and no key wsgiref would not set.
    assert!(
        !wasm
            .iter()
            .any(|l| l.starts_with("PATH = ") || l.starts_with("HOME = "))
    );
    assert!(!wasm.iter().any(|l| l.starts_with("wsgi.input_terminated")));
    assert!(!wasm.iter().any(|l| l.starts_with("HTTP_TRANSFER_ENCODING")));
    assert!(
        wasm.contains(&"wsgi.multiprocess = False".to_string()),
        "{wasm:#?}"
    );
    // With --reuse an instance serves several requests, which the app can
    // tell from wsgi.multiprocess (other instances run the same app).
    let reused = example.serve(&["--reuse", "10"]);
    let lines = environ_lines(reused.addr, target);
    assert!(
        lines.contains(&"wsgi.multiprocess = True".to_string()),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&"wsgi.run_once = False".to_string()),
        "{lines:#?}"
    );
}

/// `host build-python` on a broken app, in `dir`: exit status 2 and one
/// `error:` line, no tool output.
fn build_error(dir: &Path, target: &str, extra: &[&str]) -> String {
    let _one_at_a_time = BUILDS.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new(host_bin())
        .args(["build-python", target, "-o"])
        .arg(dir.join("out.wasm"))
        .arg("--path")
        .arg(dir)
        .args(extra)
        .output()
        .expect("run host build-python");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{target}: {stderr}");
    assert!(stderr.starts_with("error: "), "{target}: {stderr}");
    assert_eq!(stderr.matches("error:").count(), 1, "{target}: {stderr}");
    for noise in ["Traceback", "backtrace", "panicked", "componentize-py"] {
        assert!(!stderr.contains(noise), "{target}: {stderr}");
    }
    assert!(!dir.join("out.wasm").exists());
    stderr
}

#[test]
fn build_errors_are_one_message_naming_the_file_and_line() {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("python-broken");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = |name: &str, text: &str| {
        std::fs::write(dir.join(name), text).unwrap();
        dir.join(name).display().to_string()
    };
    let syntax = file(
        "syntax.py",
        "def application(environ, start_response):\n    return [b'x'\n",
    );
    let e = build_error(&dir, "syntax:application", &[]);
    assert!(
        e.contains(&format!(
            "{syntax}, line 2: SyntaxError: '[' was never closed"
        )),
        "{e}"
    );

    let imports = file("imports.py", "import json\nimport no_such_module\n");
    let e = build_error(&dir, "imports", &[]);
    assert!(
        e.contains(&format!(
            "{imports}, line 2: ModuleNotFoundError: No module named 'no_such_module'"
        )),
        "{e}"
    );

    let e = build_error(&dir, "not_there:app", &[]);
    assert!(
        e.contains("ModuleNotFoundError: No module named 'not_there'"),
        "{e}"
    );

    file("nocallable.py", "app = None\n");
    let e = build_error(&dir, "nocallable:application", &[]);
    assert!(
        e.contains("AttributeError: module 'nocallable' has no attribute 'application'"),
        "{e}"
    );
    let e = build_error(&dir, "nocallable:app", &[]);
    assert!(
        e.contains("TypeError: nocallable:app is not callable (it is NoneType)"),
        "{e}"
    );

    let raises = file(
        "raises.py",
        "def setup():\n    raise ValueError('no config')\n\nsetup()\n",
    );
    let e = build_error(&dir, "raises", &[]);
    assert!(
        e.contains(&format!("{raises}, line 2: ValueError: no config")),
        "{e}"
    );

    // A file the app reads at import, named where the user has it.
    let reads = file(
        "reads.py",
        "import os\nopen(os.path.join(os.path.dirname(__file__), 'settings.json'))\n",
    );
    let e = build_error(&dir, "reads", &[]);
    assert!(
        e.contains(&format!(
            "{reads}, line 2: FileNotFoundError: [Errno 44] No such file or directory: '{}'",
            dir.join("settings.json").display()
        )),
        "{e}"
    );

    // ujson is C only: its wheel's extension module cannot run in wasm.
    file(
        "native.py",
        "import ujson\n\ndef application(environ, start_response):\n    pass\n",
    );
    let requirements = file("requirements.txt", "ujson==5.13.0\n");
    let e = build_error(&dir, "native", &["--requirements", &requirements]);
    assert!(
        e.contains("ModuleNotFoundError: No module named 'ujson'"),
        "{e}"
    );
    assert!(
        e.contains("the dependency `ujson` needs native code (ujson.cpython-"),
        "{e}"
    );

    let e = build_error(&dir, "not-a-module", &[]);
    assert!(e.contains("is not MODULE:CALLABLE"), "{e}");
}

#[test]
fn an_app_from_pypi_builds_and_serves_under_the_validator() {
    // werkzeug's own test app, wrapped in CPython's validator: code this
    // repository did not write.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("python-outside");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("outside.py"),
        "from wsgiref.validate import validator\n\
         from werkzeug.testapp import test_app\n\n\
         application = validator(test_app)\n",
    )
    .unwrap();
    std::fs::write(dir.join("requirements.txt"), "werkzeug==3.1.3\n").unwrap();
    let (d, r) = (dir.to_str().unwrap(), dir.join("requirements.txt"));
    let component = build(
        "outside",
        &[
            "outside:application",
            "--path",
            d,
            "--requirements",
            r.to_str().unwrap(),
        ],
        &[&dir],
    );
    let host = Host::serve(&[component.to_str().unwrap()]);
    let page = exchange(host.addr, &request("GET", "/?x=%C3%A9", &[], None).raw);
    assert_eq!(page.status, 200);
    assert!(page.text().contains("Werkzeug"), "{}", page.text());
    assert!(page.text().contains("x=%C3%A9"), "{}", page.text());
    assert!(page.text().contains("WSGI Environment"), "{}", page.text());
    assert!(
        page.text().contains("3.1.3"),
        "the version, from package metadata"
    );
    let posted = exchange(host.addr, &request("POST", "/", &[], Some("a=1")).raw);
    assert_eq!(posted.status, 200);
    let log = host.wait_log_count("HTTP/1.1\" 200", 2);
    for complaint in ["AssertionError", "WSGIWarning", "Traceback"] {
        assert!(!log.contains(complaint), "{log}");
    }
}

/// A Flask app with state: `wasgi.kv` (a counter exact under concurrent
/// clients, a mapping of bytes), server-side sessions in a store
/// (`wasgi.sessions.FlaskSessions`) and `wasgi.config`.
#[test]
fn a_flask_app_keeps_counters_data_and_sessions_in_the_hosts_stores() {
    let dir = repo().join("tests/e2e/python");
    let flask = repo().join("examples/python-flask");
    let (dir_s, requirements) = (dir.to_str().unwrap(), flask.join("requirements.txt"));
    let component = build(
        "python-kv",
        &[
            "kv_app:application",
            "--path",
            dir_s,
            "--requirements",
            requirements.to_str().unwrap(),
        ],
        &[&dir],
    );
    let state = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("python-kv-state");
    let _ = std::fs::remove_dir_all(&state);
    let host = Host::serve(&[
        component.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        "--config-var",
        "region=eu",
    ]);
    let addr = host.addr;
    let threads: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                let mut conn = Conn::open(addr);
                for _ in 0..25 {
                    conn.send(b"GET /count HTTP/1.1\r\nHost: t\r\n\r\n");
                    assert_eq!(conn.response(false).status, 200);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(host.get("/count").text(), "201");
    let put = "PUT /kv/greeting HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";
    assert_eq!(host.request(put).text(), "stored");
    assert_eq!(host.get("/kv/greeting").text(), "hello");
    assert_eq!(host.get("/keys").text(), "greeting\nvisits\n");
    assert_eq!(host.get("/kv/nothing").status, 404);
    let denied = host.get("/kv/x?store=other");
    assert_eq!(denied.status, 403, "{}", denied.text());
    assert_eq!(host.get("/config/region").text(), "eu");
    // A session survives across requests, each in a fresh instance: the
    // cookie holds only its id.
    let first = host.request("POST /cart/apple HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(first.text(), "apple");
    let cookie = first
        .header("Set-Cookie")
        .expect("a session cookie")
        .to_string();
    let sid = cookie.split(';').next().unwrap().to_string();
    assert!(!cookie.contains("apple"), "{cookie}");
    let second = host.request(&format!(
        "POST /cart/pear HTTP/1.1\r\nHost: t\r\nCookie: {sid}\r\nContent-Length: 0\r\n\r\n"
    ));
    assert_eq!(second.text(), "apple,pear");
    let read = host.request(&format!(
        "GET /cart HTTP/1.1\r\nHost: t\r\nCookie: {sid}\r\n\r\n"
    ));
    assert_eq!(read.text(), "apple,pear");
    assert_eq!(host.get("/cart").text(), "");
}

/// redis-py in a guest, over outbound TCP to a real redis-server the host
/// allows (`--allow-outbound tcp://...`); another port is refused.
#[test]
fn redis_py_reaches_an_allowed_redis_server_over_outbound_tcp() {
    let dir = repo().join("tests/e2e/python");
    let requirements = dir.join("redis-requirements.txt");
    let component = build(
        "python-redis",
        &[
            "redis_app:application",
            "--path",
            dir.to_str().unwrap(),
            "--requirements",
            requirements.to_str().unwrap(),
        ],
        &[&dir],
    );
    let redis = crate::common::RedisServer::start("python-redis");
    let allowed = format!("tcp://127.0.0.1:{}", redis.port);
    let host = Host::serve(&[component.to_str().unwrap(), "--allow-outbound", &allowed]);
    assert_eq!(host.get(&format!("/?{}", redis.port)).text(), "1");
    assert_eq!(host.get(&format!("/?{}", redis.port)).text(), "2");
    let denied = host.get("/?1");
    assert_eq!(denied.status, 502, "{}", denied.text());
    host.wait_log("outbound connection denied: tcp 127.0.0.1:1 is not allowed");
}

/// The Flask example keeps its sessions in the host's store: the cookie
/// holds only an id, and the next request, in a fresh instance, finds the
/// data.
#[test]
fn the_flask_example_keeps_its_sessions_in_the_hosts_store() {
    let flask = repo().join("examples/python-flask");
    let requirements = flask.join("requirements.txt");
    let component = build(
        "python-flask",
        &[
            "app:app",
            "--path",
            flask.to_str().unwrap(),
            "--requirements",
            requirements.to_str().unwrap(),
        ],
        &[&flask],
    );
    let state = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("python-flask-state");
    let _ = std::fs::remove_dir_all(&state);
    let host = Host::serve(&[
        component.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
    ]);
    assert!(host.get("/").text().contains("Hello, world!"));
    let remembered = host.request(
        "POST /remember HTTP/1.1\r\nHost: t\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 8\r\n\r\nname=Ada",
    );
    assert_eq!(remembered.status, 302, "{}", remembered.text());
    let cookie = remembered.header("Set-Cookie").expect("a session cookie");
    assert!(!cookie.contains("Ada"), "{cookie}");
    let sid = cookie.split(';').next().unwrap();
    let greeted = host.request(&format!(
        "GET / HTTP/1.1\r\nHost: t\r\nCookie: {sid}\r\n\r\n"
    ));
    assert!(greeted.text().contains("Hello, Ada!"), "{}", greeted.text());
    assert!(host.get("/").text().contains("Hello, world!"));
    assert!(host.get("/static/style.css").status == 200);
}
