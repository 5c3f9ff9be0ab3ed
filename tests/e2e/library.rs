//! The host library used directly: `make_server` with native and wasm
//! applications, `handle_request`, `set_app`/`get_app`, `shutdown`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use host::component::{AppOptions, load_component, new_engine};
use host::simple_server::{ServerConfig, WSGIServer};
use host::{Application, Body, Environ, ErrorStream, ExcInfo, StartResponse, make_server};

use crate::common::{Conn, example};

async fn hello(_environ: Environ, start_response: StartResponse) -> Result<Body, ExcInfo> {
    start_response
        .call(
            "200 OK",
            vec![("Content-Type".into(), "text/plain".into())],
            None,
        )
        .await?;
    Ok(Body::from("hello"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn make_server_binds_a_free_port_and_serves_a_native_app() {
    let server = Arc::new(make_server("127.0.0.1", 0, hello).unwrap());
    assert_ne!(server.server_port(), 0);
    assert_eq!(server.server_name(), "localhost");
    let serving = tokio::spawn({
        let server = server.clone();
        async move { server.serve_forever().await }
    });
    let addr = server.server_address();
    let r = tokio::task::spawn_blocking(move || {
        let mut conn = Conn::open(addr);
        conn.send(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        conn.response(false)
    })
    .await
    .unwrap();
    assert_eq!(r.body, b"hello");
    server.shutdown();
    tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .expect("serve_forever returns after shutdown")
        .unwrap()
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handle_request_serves_one_request_and_set_app_switches_apps() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let (log, memory) = ErrorStream::memory();
    let config = ServerConfig {
        log,
        ..ServerConfig::default()
    };
    let first: Arc<dyn Application> = Arc::new(move |environ: Environ, sr: StartResponse| {
        counted.fetch_add(1, Ordering::SeqCst);
        hello(environ, sr)
    });
    let server = Arc::new(WSGIServer::bind("127.0.0.1", 0, first.clone(), config).unwrap());
    let addr = server.server_address();
    assert!(Arc::ptr_eq(&server.get_app().expect("a WSGI app"), &first));
    // What a connection's WSGIRequestHandler makes of a request.
    let handler = server.request_handler("10.1.2.3:4567".parse().unwrap());
    let (parts, _) = http::Request::get("/a%20b?x=1")
        .header("X-Test", "yes")
        .body(())
        .unwrap()
        .into_parts();
    let environ = handler.get_environ(&parts);
    assert_eq!(environ["PATH_INFO"], "/a b");
    assert_eq!(environ["QUERY_STRING"], "x=1");
    assert_eq!(environ["REMOTE_ADDR"], "10.1.2.3");
    assert_eq!(environ["HTTP_X_TEST"], "yes");
    assert_eq!(environ["SERVER_PORT"], addr.port().to_string());
    handler.get_stderr().write("via get_stderr\n");
    assert!(memory.contents().contains("via get_stderr\n"));

    let client = tokio::task::spawn_blocking(move || {
        let mut conn = Conn::open(addr);
        conn.send(b"GET /one HTTP/1.1\r\nHost: x\r\n\r\n");
        let r = conn.response(false);
        // handle_request serves one request, then the connection closes.
        (r, conn.is_closed(Duration::from_secs(5)))
    });
    server.handle_request().await.unwrap();
    let (r, closed) = client.await.unwrap();
    assert_eq!(r.body, b"hello");
    assert!(closed);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(
        memory.contents().contains("\"GET /one HTTP/1.1\" 200 5"),
        "{}",
        memory.contents()
    );

    // A wasm component is an Application like any other.
    let engine = new_engine().unwrap();
    let wasm = load_component(&engine, &example("hello"), AppOptions::default()).unwrap();
    server.set_service(wasm.into());
    let client = tokio::task::spawn_blocking(move || {
        let mut conn = Conn::open(addr);
        conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        conn.response(false)
    });
    server.handle_request().await.unwrap();
    let r = client.await.unwrap();
    assert_eq!(r.header("Content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.body, b"Hello World");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_requests_in_flight_finish() {
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let started_tx = std::sync::Mutex::new(started_tx);
    let slow = move |_environ: Environ, sr: StartResponse| {
        // The request is in flight: now the test may shut the server down.
        let _ = started_tx.lock().unwrap().send(());
        async move {
            sr.call(
                "200 OK",
                vec![("Content-Type".into(), "text/plain".into())],
                None,
            )
            .await?;
            let chunks = vec![
                Ok(Bytes::from_static(b"slow ")),
                Ok(Bytes::from_static(b"done")),
            ];
            tokio::time::sleep(Duration::from_millis(300)).await;
            Ok(Body::lazy(chunks, || Ok(())))
        }
    };
    let server = Arc::new(make_server("127.0.0.1", 0, slow).unwrap());
    let serving = tokio::spawn({
        let server = server.clone();
        async move { server.serve_forever().await }
    });
    let addr = server.server_address();
    let client = tokio::task::spawn_blocking(move || {
        let mut conn = Conn::open(addr);
        conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        conn.response(false)
    });
    tokio::task::spawn_blocking(move || started_rx.recv().unwrap())
        .await
        .unwrap();
    server.shutdown();
    let r = client.await.unwrap();
    assert_eq!(r.text(), "slow done");
    assert!(r.complete);
    tokio::time::timeout(Duration::from_secs(10), serving)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// `host/examples/embed.rs`, which `cargo test` builds with the tests (a
/// cargo run from here would build with the test's environment, which
/// makes the next build of the workspace rebuild part of it).
fn embed_example() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let embed = (exe.parent().unwrap().parent().unwrap()).join("examples/embed");
    assert!(
        embed.is_file(),
        "{} is not built: run the tests with `cargo test --workspace` (or --examples)",
        embed.display()
    );
    embed
}

/// `host/examples/embed.rs` serving `hello` at `/a` and `environ-echo` at
/// `/b`, driven by its commands; killed on drop.
struct Embed {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    stdout: std::io::BufReader<std::process::ChildStdout>,
    addr: std::net::SocketAddr,
}

impl Embed {
    fn start() -> Embed {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let mut child = Command::new(embed_example())
            .args([example("hello"), example("environ-echo")])
            .env("WASGI_CACHE_DIR", crate::common::test_cache_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let addr = (line.trim().strip_prefix("listening on ").unwrap())
            .parse()
            .unwrap();
        Embed {
            child,
            stdin,
            stdout,
            addr,
        }
    }

    /// Sends one command; its answer line.
    fn command(&mut self, text: &str) -> String {
        use std::io::{BufRead, Write};
        writeln!(self.stdin, "{text}").unwrap();
        let mut answer = String::new();
        self.stdout.read_line(&mut answer).unwrap();
        answer.trim().to_string()
    }

    fn get(&self, target: &str) -> crate::common::Response {
        let mut conn = Conn::open(self.addr);
        conn.send(
            format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
        );
        conn.response(false)
    }
}

impl Drop for Embed {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn an_embedding_program_hosts_two_tenants_and_swaps_one_while_serving() {
    let mut embed = Embed::start();
    assert_eq!(embed.get("/a/x").text(), "Hello World");
    let b = embed.get("/b/x");
    assert!(b.text().contains("\"SCRIPT_NAME\": \"/b\""), "{}", b.text());
    // Once b is swapped, its requests get the new app.
    assert_eq!(embed.command("swap"), "ok");
    assert_eq!(embed.get("/b/x").text(), "Hello World");
    assert_eq!(embed.command("remove a"), "ok");
    assert_eq!(embed.get("/a/x").status, 404);
    let added = embed.command(&format!("add c {} /c", example("environ-echo").display()));
    assert_eq!(added, "ok");
    assert!(embed.get("/c/y").text().contains("\"PATH_INFO\": \"/y\""));
    assert!(embed.command("add d /nope.wasm /d").starts_with("error: "));
    let overlap = embed.command(&format!("add e {} /c", example("hello").display()));
    assert_eq!(
        overlap,
        "error: apps \"c\" and \"e\" are both mounted at /c"
    );
    assert_eq!(embed.get("/b").status, 200);
}

#[test]
fn an_embedding_program_serves_a_manifest_and_reloads_it_through_the_library() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("embed-manifest");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = dir.join("wasgi.toml");
    let write_manifest = |component: &str| {
        // A deploy writes the new file beside the old and renames it.
        let text = format!(
            "[[app]]\nname = \"m\"\ncomponent = {:?}\nroute = \"/m\"\n",
            example(component)
        );
        std::fs::write(dir.join("wasgi.toml.new"), text).unwrap();
        std::fs::rename(dir.join("wasgi.toml.new"), &manifest).unwrap();
    };
    write_manifest("hello");
    let mut embed = Embed::start();
    let answer = embed.command(&format!("manifest {}", manifest.display()));
    assert_eq!(answer, "ok");
    // The manifest's apps replaced the tenants.
    assert_eq!(embed.get("/m/x").text(), "Hello World");
    assert_eq!(embed.get("/a/x").status, 404);
    // A changed manifest is reloaded by the library's watch.
    write_manifest("environ-echo");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let r = embed.get("/m/x");
        if r.text().contains("\"SCRIPT_NAME\": \"/m\"") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no reload: {}",
            r.text()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let answer = embed.command(&format!("manifest {}", dir.join("missing.toml").display()));
    assert!(answer.starts_with("error: "), "{answer}");
    assert!(answer.contains("missing.toml"), "{answer}");
}
