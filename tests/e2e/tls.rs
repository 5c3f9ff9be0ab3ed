//! TLS and HTTP/2 at the edge (`--tls-cert`, `--tls-key`): real clients
//! (curl with HTTP/2, Python's ssl module) against a certificate the test
//! makes with openssl.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::common::{Host, example, installed};

/// A self-signed certificate for localhost and 127.0.0.1, and its key,
/// made once for all the tests.
pub(crate) fn certificate() -> (PathBuf, PathBuf) {
    static MADE: std::sync::OnceLock<(PathBuf, PathBuf)> = std::sync::OnceLock::new();
    MADE.get_or_init(make_certificate).clone()
}

fn make_certificate() -> (PathBuf, PathBuf) {
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    {
        let status = Command::new(installed("openssl", "openssl"))
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=localhost",
            ])
            .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
    }
    (cert, key)
}

pub(crate) fn serve_tls(app: &str) -> (Host, PathBuf) {
    let (cert, key) = certificate();
    let host = Host::serve(&[
        example(app).to_str().unwrap(),
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    (host, cert)
}

fn curl(args: &[&str]) -> String {
    let out = Command::new(installed("curl", "curl"))
        .args(["-sS"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "curl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn curl_speaks_http2_and_http1_over_tls_and_the_app_sees_https() {
    let (host, cert) = serve_tls("environ-echo");
    let url = format!("https://localhost:{}/caf%C3%A9?q=1", host.addr.port());
    let cacert = cert.to_str().unwrap();
    for (flag, version, protocol) in [
        ("--http2", "2", "HTTP/2.0"),
        ("--http1.1", "1.1", "HTTP/1.1"),
    ] {
        let out = curl(&[
            flag,
            "--cacert",
            cacert,
            "-w",
            "\n%{http_version}",
            "-H",
            "X-Test: a",
            &url,
        ]);
        let (body, got_version) = out.rsplit_once('\n').unwrap();
        assert_eq!(got_version, version);
        let env: Value = serde_json::from_str(body).unwrap();
        assert_eq!(env["wsgi.url_scheme"], "https", "{body}");
        assert_eq!(env["HTTPS"], "on");
        assert_eq!(env["SERVER_PROTOCOL"], protocol);
        assert_eq!(env["PATH_INFO"], "/cafÃ©");
        assert_eq!(env["QUERY_STRING"], "q=1");
        assert_eq!(env["HTTP_HOST"], format!("localhost:{}", host.addr.port()));
        assert_eq!(env["HTTP_X_TEST"], "a");
    }
    // A body over HTTP/2 (no Content-Length: a stream), and HEAD.
    let posted = curl(&[
        "--http2",
        "--cacert",
        cacert,
        "--data-binary",
        "hello h2",
        "-H",
        "Content-Length:",
        &url,
    ]);
    let env: Value = serde_json::from_str(&posted).unwrap();
    assert_eq!(env["wsgi.input"], "hello h2", "{posted}");
    let head = curl(&["--http2", "--cacert", cacert, "-I", &url]);
    assert!(head.starts_with("HTTP/2 200"), "{head}");
    // The log shows the target as HTTP/1 would.
    host.wait_log("\"GET /caf%C3%A9?q=1 HTTP/2.0\" 200");
    // Plain HTTP to the TLS port is no request at all; the server goes on.
    let plain = std::net::TcpStream::connect(host.addr).unwrap();
    drop(plain);
    assert!(curl(&["--http2", "--cacert", cacert, &url]).contains("HTTPS"));
}

#[test]
fn python_ssl_clients_and_wasi_http_apps_work_over_tls() {
    let (host, cert) = serve_tls("wasi-http-hello");
    let script = format!(
        "import ssl, http.client\n\
         ctx = ssl.create_default_context(cafile={cert:?})\n\
         c = http.client.HTTPSConnection('localhost', {port}, context=ctx)\n\
         c.request('GET', '/py?x=1')\n\
         r = c.getresponse()\n\
         print(r.status, c.sock.version())\n\
         print(r.read().decode())\n\
         c.request('GET', '/again')\n\
         print(c.getresponse().read().decode())\n",
        cert = cert.display().to_string(),
        port = host.addr.port()
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.starts_with("200 TLSv1.3\nHello from wasi:http!\nmethod: GET\ntarget: /py?x=1\n"),
        "{text}"
    );
    assert!(
        text.contains("target: /again"),
        "keep-alive over TLS: {text}"
    );
    // A client that does not trust the certificate is refused by itself.
    let untrusted = script.replace(&format!("cafile={:?}", cert.display().to_string()), "");
    let out = Command::new("python3")
        .arg("-c")
        .arg(&untrusted)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("CERTIFICATE_VERIFY_FAILED"));
}

#[test]
fn bad_certificates_are_refused_at_start() {
    let (cert, key) = certificate();
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let hello = example("hello");
    let run = |args: &[&str]| {
        let out = Command::new(crate::common::host_bin())
            .arg("serve")
            .arg(&hello)
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--tls-cert", key, "--tls-key", key]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("--tls-cert") && err.contains("no certificate"),
        "{err}"
    );
    let (code, err) = run(&["--tls-cert", cert, "--tls-key", cert]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--tls-key"), "{err}");
    let (code, err) = run(&["--tls-cert", cert]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--tls-key"), "{err}");
}

#[test]
fn a_manifest_listens_on_each_listener_with_its_own_tls() {
    let (cert, key) = certificate();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("tls-manifest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    };
    let (plain, secure) = (free(), free());
    let manifest = dir.join("wasgi.toml");
    std::fs::write(
        &manifest,
        format!(
            "[[listener]]\naddress = \"127.0.0.1:{plain}\"\n\n\
             [[listener]]\naddress = \"127.0.0.1:{secure}\"\ntls_cert = {cert:?}\ntls_key = {key:?}\n\n\
             [[app]]\nname = \"echo\"\ncomponent = {:?}\n",
            example("environ-echo")
        ),
    )
    .unwrap();
    // (--port is given, so the harness adds none; the manifest's listeners
    // replace it.)
    let host = Host::serve(&["--config", manifest.to_str().unwrap(), "--port", "1"]);
    assert_eq!(host.addr.port(), plain);
    let r = host.get("/a");
    let env: Value =
        serde_json::from_str(&r.text()).unwrap_or_else(|e| panic!("{e}: {r:?}\n{}", host.log()));
    assert_eq!(env["wsgi.url_scheme"], "http");
    let url = format!("https://localhost:{secure}/b");
    let out = curl(&["--http2", "--cacert", cert.to_str().unwrap(), &url]);
    let env: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (
            env["wsgi.url_scheme"].as_str(),
            env["SERVER_PROTOCOL"].as_str()
        ),
        (Some("https"), Some("HTTP/2.0"))
    );
    assert_eq!(env["SERVER_PORT"], secure.to_string());
    // A listener's missing key file is an error naming the line.
    std::fs::write(
        &manifest,
        format!("[[listener]]\naddress = \"127.0.0.1:0\"\ntls_cert = {cert:?}\ntls_key = \"nope.pem\"\n\n[[app]]\nname = \"a\"\ncomponent = {:?}\n", example("hello")),
    )
    .unwrap();
    let out = Command::new(crate::common::host_bin())
        .args(["serve", "--config", manifest.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("wasgi.toml, line 4: listener 127.0.0.1:0: tls_key: "),
        "{err}"
    );
}

#[test]
fn a_listeners_certificate_error_names_the_manifest_line_and_key() {
    let (cert, key) = certificate();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tls-manifest-swapped");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("wasgi.toml");
    // The certificate and the key swapped.
    std::fs::write(
        &manifest,
        format!(
            "[[app]]\nname = \"a\"\ncomponent = {:?}\n\n[[listener]]\naddress = \"127.0.0.1:0\"\ntls_cert = {key:?}\ntls_key = {cert:?}\n",
            example("hello")
        ),
    )
    .unwrap();
    let out = Command::new(crate::common::host_bin())
        .args(["serve", "--config", manifest.to_str().unwrap()])
        .env("WASGI_CACHE_DIR", crate::common::test_cache_dir())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("wasgi.toml, line 5: listener 127.0.0.1:0: tls_cert ")
            && err.contains("no certificate in it"),
        "{err}"
    );
    assert!(!err.contains("--tls-cert"), "{err}");
}
