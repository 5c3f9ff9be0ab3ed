//! wasgi apps as CGI scripts under a real web server: Debian's lighttpd,
//! installed by scripts/install-deb.sh when missing, started on
//! 127.0.0.1 for each test and stopped after it.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::common::{Conn, Response, example, free_port, host_bin, installed};

/// The lighttpd binary, installed on first use.
fn lighttpd_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| installed("lighttpd", "lighttpd"))
}

/// A lighttpd serving a document root of CGI scripts.
struct Lighttpd {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Lighttpd {
    fn start(name: &str) -> Lighttpd {
        let bin = lighttpd_bin();
        let dir =
            std::env::temp_dir().join(format!("wasgi-lighttpd-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let www = dir.join("www");
        std::fs::create_dir_all(&www).unwrap();
        // Each app deployed both ways the README describes.
        for app in ["environ-echo", "conformance"] {
            script(&www.join(format!("{app}.cgi")), app);
        }
        wrapper(&www.join("wrapped.cgi"), "environ-echo");
        // A port found free may be taken before lighttpd binds it: then
        // lighttpd exits, and another port is tried.
        for _ in 0..5 {
            let port = free_port();
            let conf = dir.join("lighttpd.conf");
            std::fs::write(
                &conf,
                format!(
                    "server.document-root = \"{www}\"\nserver.bind = \"127.0.0.1\"\nserver.port = {port}\nserver.modules = ( \"mod_cgi\" )\ncgi.assign = ( \".cgi\" => \"\" )\nserver.errorlog = \"{log}\"\nserver.breakagelog = \"{stderr}\"\n",
                    www = www.display(),
                    log = dir.join("error.log").display(),
                    stderr = dir.join("cgi-stderr.log").display()
                ),
            )
            .unwrap();
            let mut child = Command::new(bin)
                .args(["-D", "-f"])
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                // Keep the compile cache of these tests apart and warm.
                .env("WASGI_CACHE_DIR", crate::common::test_cache_dir())
                .spawn()
                .expect("start lighttpd");
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                if child.try_wait().expect("wait").is_some() {
                    break;
                }
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Lighttpd { child, port, dir };
                }
                assert!(
                    Instant::now() < deadline,
                    "lighttpd did not start: {}",
                    log(&dir)
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("lighttpd would not start: {}", log(&dir));
    }

    fn request(&self, raw: &str) -> Response {
        let mut conn = Conn::open(([127, 0, 0, 1], self.port).into());
        conn.send(raw.as_bytes());
        conn.response(raw.starts_with("HEAD "))
    }

    fn get(&self, target: &str) -> Response {
        self.request(&format!(
            "GET {target} HTTP/1.1\r\nHost: cgi.test\r\nConnection: close\r\n\r\n"
        ))
    }

    fn error_log(&self) -> String {
        log(&self.dir)
    }
}

impl Drop for Lighttpd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// lighttpd's error log, then what CGI scripts wrote to stderr.
fn log(dir: &Path) -> String {
    ["error.log", "cgi-stderr.log"]
        .iter()
        .map(|f| std::fs::read_to_string(dir.join(f)).unwrap_or_default())
        .collect()
}

/// `#!<host> cgi` followed by the component.
fn script(path: &Path, app: &str) {
    let mut bytes = format!("#!{} cgi\n", host_bin()).into_bytes();
    bytes.extend(std::fs::read(example(app)).unwrap());
    std::fs::write(path, bytes).unwrap();
    executable(path);
}

/// The two-line wrapper script.
fn wrapper(path: &Path, app: &str) {
    std::fs::write(
        path,
        format!(
            "#!/bin/sh\nexec {} cgi {}\n",
            host_bin(),
            example(app).display()
        ),
    )
    .unwrap();
    executable(path);
}

fn executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn json(r: &Response) -> Map<String, Value> {
    assert_eq!(r.status, 200, "{}", r.head);
    serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.text()))
}

#[test]
fn get_with_query_string_and_path_info() {
    let server = Lighttpd::start("get");
    for script in ["environ-echo.cgi", "wrapped.cgi"] {
        let env = json(&server.get(&format!("/{script}/extra/path?x=1&y=%20")));
        assert_eq!(env["SCRIPT_NAME"], format!("/{script}"));
        assert_eq!(env["PATH_INFO"], "/extra/path");
        assert_eq!(env["QUERY_STRING"], "x=1&y=%20");
        assert_eq!(env["REQUEST_METHOD"], "GET");
        assert_eq!(env["GATEWAY_INTERFACE"], "CGI/1.1");
        assert_eq!(env["HTTP_HOST"], "cgi.test");
        assert!(
            env["SERVER_SOFTWARE"]
                .as_str()
                .unwrap()
                .starts_with("lighttpd/")
        );
        assert_eq!(env["wsgi.run_once"], true);
        assert_eq!(env["wsgi.multithread"], false);
        assert_eq!(env["wsgi.multiprocess"], true);
        assert_eq!(env["wsgi.url_scheme"], "http");
    }
}

#[test]
fn non_ascii_bytes_in_the_path_are_native_strings() {
    let server = Lighttpd::start("utf8");
    let env = json(&server.get("/environ-echo.cgi/caf%C3%A9/%E9"));
    assert_eq!(env["PATH_INFO"], "/caf\u{c3}\u{a9}/\u{e9}");
}

#[test]
fn post_body_reaches_wsgi_input() {
    let server = Lighttpd::start("post");
    let body = "name=wasgi&text=".to_string() + &"x".repeat(100_000);
    let env = json(&server.request(&format!(
        "POST /environ-echo.cgi HTTP/1.1\r\nHost: cgi.test\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )));
    assert_eq!(env["REQUEST_METHOD"], "POST");
    assert_eq!(env["CONTENT_TYPE"], "application/x-www-form-urlencoded");
    assert_eq!(env["CONTENT_LENGTH"], body.len().to_string());
    assert_eq!(env["wsgi.input"], body);
}

#[test]
fn app_errors_and_traps_are_500_pages() {
    let server = Lighttpd::start("errors");
    for route in ["error-before", "trap-before"] {
        let r = server.get(&format!("/conformance.cgi/{route}"));
        assert_eq!(r.status, 500, "{route}: {}", r.head);
        assert_eq!(r.header("Content-Type"), Some("text/plain"));
        assert_eq!(
            r.text(),
            "A server error occurred.  Please contact the administrator."
        );
    }
    let r = server.get("/conformance.cgi/exc-info");
    assert_eq!(r.status, 503);
    assert_eq!(r.text(), "replaced");
    // The tracebacks went to the web server's log of CGI stderr.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !server.error_log().contains("WasmTrap") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = server.error_log();
    assert!(
        log.contains("ValueError: failed before start_response"),
        "{log}"
    );
    assert!(
        log.contains("WasmTrap: wasm trap: wasm `unreachable` instruction executed"),
        "{log}"
    );
}

#[test]
fn large_streamed_bodies() {
    let server = Lighttpd::start("large");
    let r = server.get("/conformance.cgi/stream?n=20000&size=100");
    assert_eq!(r.status, 200);
    assert!(r.complete);
    assert_eq!(r.body.len(), 2_000_000);
    assert!(r.body.starts_with(b"0:xxx"));
    assert!(r.body.ends_with(b"x"));
    let one = server.get("/conformance.cgi/hello");
    assert_eq!(one.header("Content-Length"), Some("5"));
    assert_eq!(one.text(), "hello");
}

#[test]
fn status_lines_and_headers_pass_through() {
    let server = Lighttpd::start("status");
    // lighttpd writes its own reason phrases; the code comes through.
    let r = server.get("/conformance.cgi/status?status=299+Whatever");
    assert_eq!(r.status, 299);
    let r = server.get("/conformance.cgi/header?name=X-Custom&value=v1");
    assert_eq!(r.header("X-Custom"), Some("v1"));
}
