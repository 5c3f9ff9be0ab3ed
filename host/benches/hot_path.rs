//! The per-request path without sockets: the environ, `Headers`, the
//! response head, and a whole request through the `Application` trait
//! (instance, call, body) for the wasgi and the wasi:http hello.
//!
//! `cargo bench -p host --bench hot_path` (the end-to-end figures, with
//! sockets and peers, come from `just bench`).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use host::app::Responder;
use host::component::{AppOptions, Loaded, load_component, new_engine};
use host::handlers::ResponseHead;
use host::{
    Application, BoxFuture, Environ, ErrorStream, ExcInfo, InputStream, StartResponse, Vars,
};
use wasgi::Headers;

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("WASGI_EXAMPLES_DIR")).join(format!("{name}.wasm"))
}

fn request() -> http::request::Parts {
    http::Request::get("/caf%C3%A9/items?x=1&y=2")
        .header("Host", "localhost:8000")
        .header("User-Agent", "curl/8.5.0")
        .header("Accept", "*/*")
        .header("Accept-Encoding", "gzip, deflate")
        .header("Cookie", "sid=abc; theme=dark")
        .body(())
        .unwrap()
        .into_parts()
        .0
}

fn base_environ() -> Vars {
    let mut base = Vars::new();
    base.insert("SERVER_NAME".into(), "localhost".into());
    base.insert("SERVER_PORT".into(), "8000".into());
    base.insert("GATEWAY_INTERFACE".into(), "CGI/1.1".into());
    base.insert("SCRIPT_NAME".into(), String::new());
    base
}

fn environ(c: &mut Criterion) {
    let parts = request();
    let base = base_environ();
    let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
    c.bench_function("environ: request_environ, 5 headers", |b| {
        b.iter(|| {
            host::environ::request_environ(
                &base,
                &parts.method,
                &parts.uri,
                parts.version,
                &parts.headers,
                ip,
                "WSGIServer/0.2",
            )
        })
    });
}

fn headers(c: &mut Criterion) {
    let pairs: Vec<(String, String)> = (0..10)
        .map(|i| (format!("X-Header-{i}"), format!("value {i}")))
        .collect();
    c.bench_function("headers: 10 pairs, get, to_bytes", |b| {
        b.iter(|| {
            let mut h = Headers::new(pairs.clone());
            h.set("Content-Type", "text/plain");
            let _ = h.get("x-header-5");
            h.to_bytes().unwrap()
        })
    });
}

fn head(c: &mut Criterion) {
    let mut headers = Headers::default();
    headers.set("Content-Type", "text/plain; charset=utf-8");
    headers.set("Content-Length", "11");
    let head = ResponseHead {
        status: "200 OK".into(),
        headers,
        origin_server: true,
        http_version: "1.1".into(),
        server_software: Some("WSGIServer/0.2 wasgi".into()),
        date: "Wed, 25 Nov 2026 08:00:00 GMT".into(),
    };
    c.bench_function("head: status line and headers to bytes", |b| {
        b.iter(|| head.to_bytes())
    });
}

/// A `start_response` that accepts anything.
struct Accept;

impl Responder for Accept {
    fn start_response(
        &self,
        _status: String,
        _headers: Vec<(String, String)>,
        _exc_info: Option<ExcInfo>,
    ) -> BoxFuture<'_, Result<(), ExcInfo>> {
        Box::pin(async { Ok(()) })
    }

    fn write(&self, _data: Bytes) -> BoxFuture<'_, Result<(), ExcInfo>> {
        Box::pin(async { Ok(()) })
    }
}

fn wsgi_environ() -> Environ {
    let mut vars = Vars::new();
    wasgi::util::setup_testing_defaults(&mut vars);
    Environ {
        vars,
        input: InputStream::empty(),
        errors: ErrorStream::memory().0,
        version: (1, 0),
        multithread: false,
        multiprocess: false,
        run_once: false,
        file_wrapper: true,
        input_terminated: true,
    }
}

fn request_through_the_app(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let engine = new_engine().unwrap();
    for reuse in [1, 1000] {
        let options = AppOptions {
            reuse: host::component::Reuse {
                requests: Some(reuse),
                ..Default::default()
            },
            ..AppOptions::default()
        };
        let Ok(Loaded::Wasgi(app)) = load_component(&engine, &example("hello"), options) else {
            panic!("hello.wasm is a wasgi app");
        };
        let name = if reuse == 1 {
            "request: wasgi hello, fresh instance (Application::call + body)"
        } else {
            "request: wasgi hello, --reuse (Application::call + body)"
        };
        c.bench_function(name, |b| {
            b.to_async(&runtime).iter(|| async {
                let mut body = app
                    .call(wsgi_environ(), StartResponse::new(Accept))
                    .await
                    .unwrap();
                while body.next_chunk().await.unwrap().is_some() {}
                body.close().await.unwrap();
            })
        });
    }
}

criterion_group!(benches, environ, headers, head, request_through_the_app);
criterion_main!(benches);
