//! `host new`: the crate it writes builds for wasm32-wasip2 as is, serves
//! a form-handling app (plain and multipart forms, an upload, a cookie),
//! and a native build of it stops with the SDK's one clear error.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{Conn, Host, host_bin};

/// Built apps share one target directory across runs.
fn target_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/host-new")
}

fn cargo(dir: &Path, args: &[&str]) -> Output {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    Command::new(cargo)
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target_dir())
        .output()
        .expect("run cargo")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn host_new_writes_an_app_that_builds_and_serves() {
    let root = std::env::temp_dir().join(format!("wasgi-new-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let dir = root.join("form-app");
    let out = Command::new(host_bin())
        .args(["new", "form-app", "--path"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(said.contains("cargo build --release"), "{said}");
    assert!(
        said.contains("serve target/wasm32-wasip2/release/form_app.wasm"),
        "{said}"
    );
    // The same dependency versions as the examples: no network needed.
    std::fs::copy(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/Cargo.lock"),
        dir.join("Cargo.lock"),
    )
    .unwrap();

    // A second `new` into the same place, and a bad name, are refused.
    let again = Command::new(host_bin())
        .args(["new", "form-app", "--path"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("already exists"));
    let bad = Command::new(host_bin())
        .args(["new", "9lives"])
        .current_dir(&root)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("not a valid app name"));

    // Built natively, the SDK stops with one error naming the target.
    let host_triple = text(&Command::new("rustc").arg("-vV").output().unwrap().stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .unwrap();
    let native = cargo(&dir, &["build", "--target", &host_triple]);
    assert!(!native.status.success());
    let err = text(&native.stderr);
    assert!(
        err.contains("build them with `--target wasm32-wasip2`"),
        "{err}"
    );
    assert!(err.contains("due to 1 previous error"), "{err}");

    // As written, it builds and serves.
    let built = cargo(&dir, &["build", "--release"]);
    assert!(built.status.success(), "{}", text(&built.stderr));
    let component = target_dir().join("wasm32-wasip2/release/form_app.wasm");
    let host = Host::serve(&[component.to_str().unwrap()]);
    let page = host.get("/");
    assert_eq!(page.status, 200);
    assert!(
        page.text().contains("enctype=\"multipart/form-data\""),
        "{}",
        page.text()
    );

    let boundary = "----wasgiTestBoundary";
    let upload = "line one\nline two\n";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nAda <3\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"notes.txt\"\r\n\
         Content-Type: text/plain\r\n\r\n{upload}\r\n--{boundary}--\r\n"
    );
    let r = host.request(&format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    ));
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("Hello, Ada &lt;3!"), "{}", r.text());
    assert!(
        r.text()
            .contains(&format!("You sent notes.txt ({} bytes)", upload.len())),
        "{}",
        r.text()
    );
    assert_eq!(
        r.header("Set-Cookie"),
        Some("name=Ada%20%3C3; HttpOnly; Path=/")
    );

    let r = host.request(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 16\r\n\r\nname=Bob+%26+Co.",
    );
    assert!(r.text().contains("Hello, Bob &amp; Co.!"), "{}", r.text());
    let r =
        host.request("GET / HTTP/1.1\r\nHost: x\r\nCookie: theme=dark; name=Ada%20%3C3\r\n\r\n");
    assert!(
        r.text().contains("Welcome back, Ada &lt;3!"),
        "{}",
        r.text()
    );

    // Uploads over the app's limit get 413, streamed (chunked), more at
    // once than there are cores; a neighbour is answered meanwhile.
    let big = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"upload\"; filename=\"big\"\r\n\r\n{}\r\n--{boundary}--\r\n",
        "x".repeat(1_100_000)
    );
    let raw = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n\
         Transfer-Encoding: chunked\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n",
        big.len()
    );
    let uploads: Vec<_> = (0..6)
        .map(|_| {
            let (addr, raw) = (host.addr, raw.clone());
            std::thread::spawn(move || {
                let mut conn = Conn::open(addr);
                conn.send(raw.as_bytes());
                conn.response(false)
            })
        })
        .collect();
    assert_eq!(host.get("/").status, 200);
    for upload in uploads {
        let r = upload.join().unwrap();
        assert_eq!(r.status, 413, "{}", r.text());
        assert!(r.text().contains("exceeded the size limit"), "{}", r.text());
    }
    let r = host.request("DELETE / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.status, 405);
    assert_eq!(r.header("Allow"), Some("GET, HEAD, POST"));
    let _ = std::fs::remove_dir_all(&root);
}
