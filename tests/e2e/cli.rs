//! The `host` command line: the demo app, and clear one-line errors for
//! files that cannot be served.

use std::process::Command;

use crate::common::{Host, example, free_port, host_bin};

/// Runs `host serve <file>` and expects it to refuse: exit code 2 and one
/// line on stderr.
fn refused(file: &std::path::Path) -> String {
    let out = Command::new(host_bin())
        .arg("serve")
        .arg(file)
        .args(["--port", "0"])
        .env("RUST_BACKTRACE", "1")
        .output()
        .expect("run host");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr.lines().count(),
        1,
        "one line, no backtrace: {stderr:?}"
    );
    assert!(stderr.starts_with("error: "), "{stderr:?}");
    assert!(
        stderr.contains(&file.display().to_string()),
        "names the file: {stderr:?}"
    );
    stderr
}

#[test]
fn missing_file() {
    let err = refused(std::path::Path::new("/nonexistent/app.wasm"));
    assert!(err.contains("cannot read"), "{err}");
    assert!(
        err.contains("expected a wasgi app: a .wasm component"),
        "{err}"
    );
}

#[test]
fn not_wasm() {
    let dir = crate::common::fresh_dir("cli-not-wasm");
    let file = dir.join("app.wasm");
    std::fs::write(&file, "print('hello')\n").unwrap();
    let err = refused(&file);
    assert!(err.contains("is not a WebAssembly component"), "{err}");
}

#[test]
fn core_module_is_not_a_component() {
    let dir = crate::common::fresh_dir("cli-core-module");
    let file = dir.join("module.wasm");
    std::fs::write(&file, b"\0asm\x01\0\0\0").unwrap();
    let err = refused(&file);
    assert!(
        err.contains("is a core WebAssembly module, not a component"),
        "{err}"
    );
}

#[test]
fn wrong_world() {
    let dir = crate::common::fresh_dir("cli-wrong-world");
    let file = dir.join("empty-component.wasm");
    // The smallest component: a preamble and nothing else, so no exports.
    std::fs::write(&file, b"\0asm\x0d\0\x01\0").unwrap();
    let err = refused(&file);
    assert!(
        err.contains("exports none of wasgi:wsgi/application@0.1.0"),
        "{err}"
    );
    assert!(err.contains("it exports: nothing"), "{err}");
}

#[test]
fn platform_imports_are_named() {
    let dir = crate::common::fresh_dir("cli-spin-import");
    let file = dir.join("spin-app.wasm");
    // A wasi:http component that also imports a Spin interface.
    let component = wat::parse_str(
        r#"(component
            (import "fermyon:spin/key-value@2.0.0" (instance))
            (instance $handler)
            (export "wasi:http/incoming-handler@0.2.0" (instance $handler)))"#,
    )
    .unwrap();
    std::fs::write(&file, component).unwrap();
    let err = refused(&file);
    assert!(
        err.contains("imports fermyon:spin/key-value@2.0.0, which this host does not provide"),
        "{err}"
    );
}

#[test]
fn validate_is_for_wsgi_apps() {
    let app = crate::common::example("wasi-http-hello");
    let out = Command::new(host_bin())
        .args(["serve", "--validate", "--port", "0"])
        .arg(&app)
        .output()
        .expect("run host");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("--validate checks WSGI apps, and")
            && stderr.contains("is a wasi:http component"),
        "{stderr}"
    );
}

#[test]
fn demo_app_is_served_without_an_app_file() {
    let host = Host::serve(&[]);
    let r = host.get("/caf%C3%A9?x=1");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
    assert_eq!(
        r.header("Content-Length"),
        Some(r.body.len().to_string().as_str())
    );
    let text = r.text();
    assert!(text.starts_with("Hello world!\n\n"), "{text}");
    assert!(
        text.contains("\nPATH_INFO = '/caf\u{c3}\u{a9}'\n"),
        "{text}"
    );
    assert!(text.contains("\nQUERY_STRING = 'x=1'\n"), "{text}");
    assert!(text.contains("\nSERVER_SOFTWARE = 'wasgi/"), "{text}");
    assert!(text.contains("\nwsgi.version = (1, 0)\n"), "{text}");
    // Sorted by key, uppercase CGI keys before wsgi.*.
    let keys: Vec<&str> = text
        .lines()
        .skip(2)
        .map(|l| l.split(" = ").next().unwrap())
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
}

#[test]
fn help_describes_serve() {
    let out = Command::new(host_bin())
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for needle in ["APP.wasm", "--host", "--port", "demo app"] {
        assert!(help.contains(needle), "{needle} missing from:\n{help}");
    }
}

#[test]
fn the_command_is_also_installed_as_wasgi() {
    // On Debian and Ubuntu `host` is the DNS lookup tool.
    let out = Command::new(env!("CARGO_BIN_EXE_wasgi"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("Usage: wasgi <COMMAND>"), "{help}");
    for (command, about) in [
        ("new", "Create a new app"),
        ("build-python", "Compile a Python WSGI app"),
    ] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(command) && l.contains(about)),
            "{help}"
        );
    }
    let out = Command::new(env!("CARGO_BIN_EXE_wasgi"))
        .args(["serve", "--bogus"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unexpected argument '--bogus'"), "{err}");
    assert!(
        err.contains("Usage: wasgi serve [OPTIONS] [APP.wasm]"),
        "{err}"
    );
}

#[test]
fn the_readme_cargo_run_command_picks_the_host_binary() {
    // `cargo run --release -p host -- serve` (the README's first command)
    // needs a default binary now that there are two.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--no-deps",
            "--format-version",
            "1",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let host = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "host")
        .unwrap();
    assert_eq!(host["default_run"], "host");
}

#[test]
fn the_listen_habits_of_spin_and_wasmtime_serve_work() {
    let app = example("hello");
    // `spin up --listen` and `wasmtime serve --addr` spell it HOST:PORT.
    for flag in ["--listen", "--addr"] {
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let host = Host::serve(&[app.to_str().unwrap(), flag, &addr]);
        assert_eq!(host.addr.port(), port, "{flag}");
        assert_eq!(host.get("/").text(), "Hello World");
    }
    // `--host` with a port says what to write instead.
    let out = Command::new(host_bin())
        .args(["serve", app.to_str().unwrap(), "--host", "127.0.0.1:8000"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("\"127.0.0.1:8000\" has a port: use --listen 127.0.0.1:8000 (or --host 127.0.0.1 --port 8000)"),
        "{stderr}"
    );
    // Sizes are sizes wherever one is taken; `--admin PORT` is loopback.
    let admin = free_port();
    let host = Host::serve(&[
        app.to_str().unwrap(),
        "--max-body-size",
        "1KiB",
        "--admin",
        &admin.to_string(),
    ]);
    host.wait_log(&format!("Admin endpoints on http://127.0.0.1:{admin}/"));
    let big = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 1025\r\n\r\n{}",
        "x".repeat(1025)
    );
    assert_eq!(host.request(&big).status, 413);
    let small = "POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 1024\r\n\r\n";
    assert_eq!(
        host.request(&format!("{small}{}", "x".repeat(1024))).status,
        200
    );
}

#[test]
fn the_shutdown_line_names_the_signal_and_the_drain() {
    let app = example("hello");
    let mut host = Host::serve(&[app.to_str().unwrap()]);
    let (code, log) = host.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(
        log.contains("Shutting down on SIGTERM: finishing requests in flight for up to 30 s (--drain-timeout; SIGTERM again to quit now)"),
        "{log}"
    );
    let mut host = Host::serve(&[app.to_str().unwrap(), "--drain-timeout", "0"]);
    let (code, log) = host.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(
        log.contains(
            "Shutting down on SIGTERM: requests in flight are cut now (--drain-timeout 0)"
        ),
        "{log}"
    );
}
