//! The handler family over in-memory streams, byte for byte against
//! wsgiref (conformance cases 54–101, spec §3.8), and `host cgi` run as a
//! CGI script (case 100).

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use host::handlers::{
    BaseCGIHandler, BaseHandler, HandlerConfig, SimpleHandler, format_date_time, transcode_environ,
};
use host::streams::MemoryLog;
use host::{Application, Body, Environ, ErrorStream, ExcInfo, InputStream, StartResponse, Vars};
use tokio::io::AsyncWrite;

use crate::common::{example, host_bin, is_http_date};

/// An in-memory stdout.
#[derive(Clone, Default)]
struct Out(Arc<Mutex<Vec<u8>>>);

impl Out {
    fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }

    /// The output with the Date header's value checked and replaced by
    /// `<DATE>`.
    fn text(&self) -> String {
        let text: String = self.bytes().iter().map(|&b| char::from(b)).collect();
        match text.find("Date: ") {
            Some(at) => {
                let date = &text[at + 6..at + 35];
                assert!(is_http_date(date), "{date:?} in {text:?}");
                format!("{}<DATE>{}", &text[..at + 6], &text[at + 35..])
            }
            None => text,
        }
    }
}

impl AsyncWrite for Out {
    fn poll_write(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn testing_environ(overrides: &[(&str, &str)]) -> Vars {
    let mut vars: Vars = overrides
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    wasgi::util::setup_testing_defaults(&mut vars);
    vars
}

/// Harness S: a SimpleHandler (or, with `cgi`, a BaseCGIHandler) over
/// memory, set up by `configure`, running `app` once.
async fn run_with(
    cgi: bool,
    environ: Vars,
    configure: impl FnOnce(&mut HandlerConfig),
    app: &dyn Application,
) -> (Out, MemoryLog, BaseHandler) {
    let out = Out::default();
    let (err, log) = ErrorStream::memory();
    let mut handler = if cgi {
        BaseCGIHandler::new(InputStream::empty(), out.clone(), err, environ, true, false)
    } else {
        SimpleHandler::new(InputStream::empty(), out.clone(), err, environ, true, false)
    };
    configure(handler.config_mut());
    handler.run(app).await;
    (out, log, handler)
}

async fn run(app: &dyn Application) -> (String, String) {
    let (out, log, _) = run_with(false, testing_environ(&[]), |_| {}, app).await;
    (out.text(), log.contents())
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `MK(status, headers, body)`: start_response, then return `body`.
fn mk(
    status: &'static str,
    hdrs: &'static [(&'static str, &'static str)],
    body: Vec<&'static str>,
) -> impl Application {
    move |_env: Environ, sr: StartResponse| {
        let body = body.clone();
        async move {
            sr.call(status, headers(hdrs), None).await?;
            Ok(Body::Chunks(
                body.into_iter()
                    .map(|c| Bytes::from_static(c.as_bytes()))
                    .collect(),
            ))
        }
    }
}

const TEXT: &[(&str, &str)] = &[("Content-Type", "text/plain")];

fn hello() -> impl Application {
    mk("200 OK", TEXT, vec!["hello"])
}

async fn say_hello(_env: Environ, sr: StartResponse) -> Result<Body, ExcInfo> {
    sr.call("200 OK", headers(TEXT), None).await?;
    Ok(Body::from("hello"))
}

fn raises(kind: &'static str, message: &'static str) -> impl Application {
    move |_env: Environ, _sr: StartResponse| async move { Err::<Body, _>(ExcInfo::new(kind, message)) }
}

const E500: &str = "HTTP/1.0 500 Internal Server Error\r\nDate: <DATE>\r\nContent-Type: text/plain\r\nContent-Length: 59\r\n\r\nA server error occurred.  Please contact the administrator.";

#[tokio::test]
async fn case_54_simple_handler_basic_response() {
    let (out, err) = run(&hello()).await;
    assert_eq!(
        out,
        "HTTP/1.0 200 OK\r\nDate: <DATE>\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
    );
    assert_eq!(err, "");
}

#[tokio::test]
async fn cases_55_56_server_software_and_http_version() {
    let seen = Arc::new(Mutex::new(String::new()));
    let record = seen.clone();
    let app = move |env: Environ, sr: StartResponse| {
        *record.lock().unwrap() = env.get("SERVER_SOFTWARE").unwrap_or("").to_string();
        say_hello(env, sr)
    };
    let (out, _, _) = run_with(
        false,
        testing_environ(&[]),
        |c| c.server_software = Some("Foo/1".into()),
        &app,
    )
    .await;
    assert_eq!(
        out.text(),
        "HTTP/1.0 200 OK\r\nDate: <DATE>\r\nServer: Foo/1\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
    );
    assert_eq!(*seen.lock().unwrap(), "Foo/1");
    let (out, _, _) = run_with(
        false,
        testing_environ(&[]),
        |c| {
            c.server_software = Some("Foo/1".into());
            c.http_version = "1.1".into();
        },
        &hello(),
    )
    .await;
    assert!(out.text().starts_with("HTTP/1.1 200 OK\r\n"));
}

#[tokio::test]
async fn case_57_cgi_mode() {
    let (out, _, _) = run_with(
        true,
        testing_environ(&[]),
        |c| c.server_software = Some("Foo/1".into()),
        &hello(),
    )
    .await;
    assert_eq!(
        out.text(),
        "Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
    );
}

#[tokio::test]
async fn case_58_http_09_client_origin_versus_cgi() {
    for protocol in ["HTTP/0.9", "http/0.9"] {
        let (out, _, _) = run_with(
            false,
            testing_environ(&[("SERVER_PROTOCOL", protocol)]),
            |_| {},
            &hello(),
        )
        .await;
        assert_eq!(out.text(), "hello");
    }
    let (out, _, _) = run_with(
        true,
        testing_environ(&[("SERVER_PROTOCOL", "HTTP/0.9")]),
        |_| {},
        &hello(),
    )
    .await;
    assert_eq!(
        out.text(),
        "Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
    );
}

#[tokio::test]
async fn cases_59_to_61_content_length_only_for_one_item() {
    let (out, _) = run(&mk("200 OK", TEXT, vec!["a", "b"])).await;
    assert_eq!(
        out,
        "HTTP/1.0 200 OK\r\nDate: <DATE>\r\nContent-Type: text/plain\r\n\r\nab"
    );
    let (out, _) = run(&mk("200 OK", TEXT, vec![])).await;
    assert_eq!(
        out,
        "HTTP/1.0 200 OK\r\nDate: <DATE>\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n"
    );
    let (out, _) = run(&mk("200 OK", TEXT, vec![""])).await;
    assert_eq!(
        out,
        "HTTP/1.0 200 OK\r\nDate: <DATE>\r\nContent-Type: text/plain\r\nContent-Length: 0\r\n\r\n"
    );
    let (out, _) = run(&mk("200 OK", TEXT, vec!["", "abc"])).await;
    assert_eq!(
        out,
        "HTTP/1.0 200 OK\r\nDate: <DATE>\r\nContent-Type: text/plain\r\n\r\nabc"
    );
}

#[tokio::test]
async fn cases_62_63_generator_and_write_callable() {
    let generator = |_env: Environ, sr: StartResponse| async move {
        sr.call("200 OK", headers(TEXT), None).await?;
        Ok(Body::lazy(
            vec![Ok(Bytes::from("a")), Ok(Bytes::from("b"))],
            || Ok(()),
        ))
    };
    let (out, _) = run(&generator).await;
    assert_eq!(
        out,
        "HTTP/1.0 200 OK\r\nDate: <DATE>\r\nContent-Type: text/plain\r\n\r\nab"
    );
    let writes = |_env: Environ, sr: StartResponse| async move {
        sr.call("200 OK", headers(&[("Content-Type", "t")]), None)
            .await?;
        sr.write("1").await?;
        sr.write("22").await?;
        Ok(Body::from("333"))
    };
    let (out, _) = run(&writes).await;
    assert_eq!(
        out,
        "HTTP/1.0 200 OK\r\nDate: <DATE>\r\nContent-Type: t\r\n\r\n122333"
    );
}

#[tokio::test]
async fn cases_64_to_66_app_headers_win() {
    let (out, _) = run(&mk(
        "200 OK",
        &[("Content-Type", "text/plain"), ("content-length", "99")],
        vec!["hello"],
    ))
    .await;
    assert_eq!(
        out,
        "HTTP/1.0 200 OK\r\nDate: <DATE>\r\nContent-Type: text/plain\r\ncontent-length: 99\r\n\r\nhello"
    );
    let app = mk(
        "200 OK",
        &[("date", "D"), ("server", "S"), ("Content-Type", "t")],
        vec!["hello"],
    );
    let (out, _, _) = run_with(
        false,
        testing_environ(&[]),
        |c| c.server_software = Some("X/1".into()),
        &app,
    )
    .await;
    assert_eq!(
        String::from_utf8(out.bytes()).unwrap(),
        "HTTP/1.0 200 OK\r\ndate: D\r\nserver: S\r\nContent-Type: t\r\nContent-Length: 5\r\n\r\nhello"
    );
    let app = mk(
        "200 OK",
        &[("Content-Type", "t"), ("Content-Length", "42")],
        vec![],
    );
    let (out, _, _) = run_with(
        false,
        testing_environ(&[("REQUEST_METHOD", "HEAD")]),
        |_| {},
        &app,
    )
    .await;
    assert_eq!(
        out.text(),
        "HTTP/1.0 200 OK\r\nDate: <DATE>\r\nContent-Type: t\r\nContent-Length: 42\r\n\r\n"
    );
}

#[tokio::test]
async fn cases_67_to_69_error_page_and_traceback() {
    let (out, err) = run(&raises("ValueError", "x")).await;
    assert_eq!(out, E500);
    assert!(
        err.starts_with("Traceback (most recent call last):\n"),
        "{err}"
    );
    assert!(err.ends_with("ValueError: x\n"), "{err}");
    let (out, _, _) = run_with(
        false,
        testing_environ(&[]),
        |c| {
            c.error_status = "503 Busy".into();
            c.error_headers = headers(&[("Content-Type", "text/html"), ("Retry-After", "5")]);
            c.error_body = Bytes::from_static(b"<b>busy</b>");
        },
        &raises("ValueError", "x"),
    )
    .await;
    assert_eq!(
        out.text(),
        "HTTP/1.0 503 Busy\r\nDate: <DATE>\r\nContent-Type: text/html\r\nRetry-After: 5\r\nContent-Length: 11\r\n\r\n<b>busy</b>"
    );
    let (_, log, _) = run_with(
        false,
        testing_environ(&[]),
        |c| c.traceback_limit = Some(0),
        &raises("ValueError", "x"),
    )
    .await;
    assert_eq!(log.contents(), "ValueError: x\n");
}

#[tokio::test]
async fn case_70_error_output_is_an_app_of_its_own() {
    let error_app = |_env: Environ, sr: StartResponse| async move {
        // No exc_info passed: the handler supplies the exception itself.
        sr.call("500 Oops", headers(TEXT), None).await?;
        Ok(Body::lazy(
            vec![Ok(Bytes::from("a")), Ok(Bytes::from("b"))],
            || Ok(()),
        ))
    };
    let failing = |_env: Environ, sr: StartResponse| async move {
        sr.call("200 OK", headers(TEXT), None).await?;
        Err::<Body, _>(ExcInfo::new("ValueError", "late"))
    };
    let (out, _, _) = run_with(
        false,
        testing_environ(&[]),
        |c| c.error_output = Some(Arc::new(error_app)),
        &failing,
    )
    .await;
    assert_eq!(
        out.text(),
        "HTTP/1.0 500 Oops\r\nDate: <DATE>\r\nContent-Type: text/plain\r\n\r\nab"
    );
}

#[tokio::test]
async fn log_exception_is_replaceable() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let (_, log, _) = run_with(
        false,
        testing_environ(&[]),
        |c| {
            c.log_exception = Some(Arc::new(move |e: &ExcInfo, stderr: &ErrorStream| {
                record.lock().unwrap().push(e.to_string());
                stderr.write("custom\n");
            }))
        },
        &raises("KeyError", "'k'"),
    )
    .await;
    assert_eq!(*seen.lock().unwrap(), ["KeyError: 'k'"]);
    assert_eq!(log.contents(), "custom\n");
}

#[tokio::test]
async fn cases_71_to_77_start_response_rules() {
    let twice = |_env: Environ, sr: StartResponse| async move {
        sr.call("200 OK", headers(TEXT), None).await?;
        sr.call("201 Created", headers(TEXT), None).await?;
        Ok(Body::from("x"))
    };
    let (out, err) = run(&twice).await;
    assert_eq!(out, E500);
    assert!(
        err.ends_with("AssertionError: Headers already set!\n"),
        "{err}"
    );

    let replace = |_env: Environ, sr: StartResponse| async move {
        sr.call(
            "200 OK",
            headers(&[("Content-Type", "text/plain"), ("X-A", "1")]),
            None,
        )
        .await?;
        let exc = ExcInfo::new("KeyError", "'k'");
        sr.call(
            "503 Unavailable",
            headers(&[("Content-Type", "text/html")]),
            Some(exc),
        )
        .await?;
        Ok(Body::from("replaced"))
    };
    let (out, _) = run(&replace).await;
    assert_eq!(
        out,
        "HTTP/1.0 503 Unavailable\r\nDate: <DATE>\r\nContent-Type: text/html\r\nContent-Length: 8\r\n\r\nreplaced"
    );

    let first_with_exc = |_env: Environ, sr: StartResponse| async move {
        sr.call(
            "404 Not Found",
            headers(TEXT),
            Some(ExcInfo::new("KeyError", "'k'")),
        )
        .await?;
        Ok(Body::from("nf"))
    };
    let (out, _) = run(&first_with_exc).await;
    assert_eq!(
        out,
        "HTTP/1.0 404 Not Found\r\nDate: <DATE>\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nnf"
    );

    let after_headers = |_env: Environ, sr: StartResponse| async move {
        sr.call("200 OK", headers(TEXT), None).await?;
        sr.write("first").await?;
        sr.call(
            "500 Err",
            headers(TEXT),
            Some(ExcInfo::new("KeyError", "'k2'")),
        )
        .await?;
        Ok(Body::from("never"))
    };
    let (out, err) = run(&after_headers).await;
    assert_eq!(
        out,
        "HTTP/1.0 200 OK\r\nDate: <DATE>\r\nContent-Type: text/plain\r\n\r\nfirst"
    );
    assert!(err.ends_with("KeyError: 'k2'\n"), "{err}");

    let poisoned = |_env: Environ, sr: StartResponse| async move {
        let _ = sr.call("200 OK", headers(&[("Upgrade", "x")]), None).await;
        sr.call("200 OK", headers(&[("Content-Type", "t")]), None)
            .await?;
        Ok(Body::from("x"))
    };
    let (out, err) = run(&poisoned).await;
    assert_eq!(out, E500);
    assert!(
        err.ends_with("AssertionError: Headers already set!\n"),
        "{err}"
    );
}

#[tokio::test]
async fn cases_78_79_82_83_status_headers_and_order() {
    for (status, message) in [
        (
            "200",
            "AssertionError: Status must be at least 4 characters",
        ),
        (
            "200OK",
            "AssertionError: Status message must have a space after code",
        ),
        (
            "2000 OK",
            "AssertionError: Status message must have a space after code",
        ),
        (
            "abc OK",
            "AssertionError: Status message must begin w/3-digit code",
        ),
    ] {
        let (out, err) = run(&mk(status, TEXT, vec!["x"])).await;
        assert_eq!(out, E500, "{status}");
        assert!(err.ends_with(&format!("{message}\n")), "{status}: {err}");
    }
    let (out, err) = run(&mk(
        "200 OK",
        &[("Content-Type", "t"), ("Connection", "close")],
        vec!["x"],
    ))
    .await;
    assert_eq!(out, E500);
    assert!(err.ends_with("AssertionError: Hop-by-hop header, 'Connection: close', not allowed\n"));
    let no_start = |_env: Environ, _sr: StartResponse| async move { Ok(Body::from("x")) };
    let (out, err) = run(&no_start).await;
    assert_eq!(out, E500);
    assert!(err.ends_with("AssertionError: write() before start_response()\n"));
    let empty_no_start =
        |_env: Environ, _sr: StartResponse| async move { Ok(Body::Chunks(Default::default())) };
    let (out, err) = run(&empty_no_start).await;
    assert_eq!(out, E500);
    assert!(
        err.ends_with(
            "AttributeError: 'NoneType' object has no attribute 'setdefault' (the application returned without calling start_response())\n"
        )
    );
}

#[tokio::test]
async fn cases_85_86_state_reset_and_mid_stream_error() {
    let (_, _, handler) = run_with(false, testing_environ(&[]), |_| {}, &hello()).await;
    assert_eq!(handler.status().await, None);
    assert!(!handler.headers_sent().await);
    assert_eq!(handler.bytes_sent().await, 0);

    let mid = |_env: Environ, sr: StartResponse| async move {
        sr.call("200 OK", headers(&[("Content-Type", "t")]), None)
            .await?;
        Ok(Body::lazy(
            vec![Ok(Bytes::from("a")), Err(ExcInfo::new("ValueError", "mid"))],
            || Ok(()),
        ))
    };
    let (out, err) = run(&mid).await;
    assert_eq!(
        out,
        "HTTP/1.0 200 OK\r\nDate: <DATE>\r\nContent-Type: t\r\n\r\na"
    );
    assert!(err.ends_with("ValueError: mid\n"));
}

#[tokio::test]
async fn case_87_close_is_called_exactly_once() {
    for fail in [false, true] {
        let closes = Arc::new(AtomicUsize::new(0));
        let counter = closes.clone();
        let app = move |_env: Environ, sr: StartResponse| {
            let counter = counter.clone();
            async move {
                sr.call("200 OK", headers(TEXT), None).await?;
                let mut items = vec![Ok(Bytes::from("a"))];
                if fail {
                    items.push(Err(ExcInfo::new("ValueError", "boom")));
                }
                items.push(Ok(Bytes::from("b")));
                Ok(Body::lazy(items, move || {
                    counter.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }))
            }
        };
        run(&app).await;
        assert_eq!(closes.load(Ordering::SeqCst), 1, "fail={fail}");
    }
}

#[tokio::test]
async fn cases_88_89_non_latin1_head_gives_the_error_page() {
    // wsgiref writes nothing (or half a head) then fails; wasgi refuses the
    // status or header in start_response, so the error page goes out.
    let (out, err) = run(&mk("200 \u{20ac}", TEXT, vec!["x"])).await;
    assert_eq!(out, E500);
    assert!(
        err.contains("Status must be a latin-1 native string"),
        "{err}"
    );
    let (out, err) = run(&mk(
        "200 OK",
        &[("Content-Type", "t"), ("X-E", "\u{20ac}")],
        vec!["x"],
    ))
    .await;
    assert_eq!(out, E500);
    assert!(
        err.contains("header values must be latin-1 native strings"),
        "{err}"
    );
}

#[tokio::test]
async fn case_90_missing_server_protocol() {
    let raw: Vars = [("PATH_INFO".to_string(), "/".to_string())].into();
    let (out, log, _) = run_with(false, raw.clone(), |_| {}, &hello()).await;
    assert_eq!(out.bytes(), b"");
    assert!(
        log.contents().ends_with("KeyError: 'SERVER_PROTOCOL'\n"),
        "{}",
        log.contents()
    );
    let (out, _, _) = run_with(true, raw, |_| {}, &hello()).await;
    assert_eq!(
        out.text(),
        "Status: 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello"
    );
}

/// What [`env_probe`] saw: the vars and multithread, multiprocess,
/// run_once and file_wrapper.
type Seen = Arc<Mutex<Option<(Vars, bool, bool, bool, bool)>>>;

/// An app reporting the environ values the next cases check.
fn env_probe(seen: Seen) -> impl Application {
    move |env: Environ, sr: StartResponse| {
        *seen.lock().unwrap() = Some((
            env.vars.clone(),
            env.multithread,
            env.multiprocess,
            env.run_once,
            env.file_wrapper,
        ));
        say_hello(env, sr)
    }
}

#[tokio::test]
async fn cases_91_to_93_environ_values() {
    let seen = Arc::new(Mutex::new(None));
    let base: Vars = [("PATH_INFO", "/p"), ("SERVER_PROTOCOL", "HTTP/1.0")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let (out, _, _) = run_with(
        false,
        base,
        |c| {
            c.os_environ = [
                ("FOO", "bar"),
                ("HTTPS", "on"),
                ("SERVER_SOFTWARE", "Env/1"),
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
            c.server_software = Some("Foo/1".into());
        },
        &env_probe(seen.clone()),
    )
    .await;
    let (vars, ..) = seen.lock().unwrap().clone().unwrap();
    assert_eq!(vars["FOO"], "bar");
    assert_eq!(vars["wsgi.url_scheme"], "https");
    assert_eq!(vars["SERVER_SOFTWARE"], "Env/1");
    assert!(out.text().contains("\r\nServer: Foo/1\r\n"));

    let (_, _, _) = run_with(
        false,
        testing_environ(&[("wsgi.url_scheme", "https")]),
        |_| {},
        &env_probe(seen.clone()),
    )
    .await;
    assert_eq!(
        seen.lock().unwrap().clone().unwrap().0["wsgi.url_scheme"],
        "http"
    );

    run_with(
        false,
        testing_environ(&[]),
        |_| {},
        &env_probe(seen.clone()),
    )
    .await;
    let (_, multithread, multiprocess, run_once, file_wrapper) =
        seen.lock().unwrap().clone().unwrap();
    assert_eq!(
        (multithread, multiprocess, run_once, file_wrapper),
        (true, false, false, true)
    );

    let out = Out::default();
    let mut handler = SimpleHandler::new(
        InputStream::empty(),
        out,
        ErrorStream::memory().0,
        testing_environ(&[]),
        false,
        true,
    );
    handler.config_mut().wsgi_file_wrapper = false;
    handler.run(&env_probe(seen.clone())).await;
    let (_, multithread, multiprocess, _, file_wrapper) = seen.lock().unwrap().clone().unwrap();
    assert_eq!(
        (multithread, multiprocess, file_wrapper),
        (false, true, false)
    );
}

#[tokio::test]
async fn case_94_wrong_len() {
    let lying = |_env: Environ, sr: StartResponse| async move {
        sr.call("200 OK", headers(TEXT), None).await?;
        Ok(Body::lazy_with_len(
            vec![Ok(Bytes::from("ab")), Ok(Bytes::from("cd"))],
            Ok(1),
        ))
    };
    let (out, _) = run(&lying).await;
    assert_eq!(
        out,
        "HTTP/1.0 200 OK\r\nDate: <DATE>\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nabcd"
    );
    let raising = |_env: Environ, sr: StartResponse| async move {
        sr.call("200 OK", headers(TEXT), None).await?;
        Ok(Body::lazy_with_len(
            vec![Ok(Bytes::from("ab"))],
            Err(ExcInfo::new("ValueError", "no")),
        ))
    };
    let (out, err) = run(&raising).await;
    assert_eq!(out, E500);
    assert!(err.ends_with("ValueError: no\n"));
}

#[tokio::test]
async fn case_95_client_disconnect_is_swallowed() {
    let (out, err) = run(&raises("ConnectionResetError", "gone")).await;
    assert_eq!(out, "");
    assert_eq!(err, "");
}

#[test]
fn case_98_format_date_time() {
    assert_eq!(
        format_date_time(1_700_000_000.9),
        "Tue, 14 Nov 2023 22:13:20 GMT"
    );
    assert_eq!(
        format_date_time(-62_135_596_800.0),
        "Mon, 01 Jan    1 00:00:00 GMT"
    );
}

#[test]
fn case_99_read_environ_transcoding() {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    let raw = |k: &str, v: &[u8]| (OsString::from(k), OsString::from_vec(v.to_vec()));
    let vars = transcode_environ([
        raw("PATH_INFO", b"/caf\xc3\xa9/\xff"),
        raw("HTTP_X", b"\xc3\xa9"),
        raw("REDIRECT_HTTP_X", b"\xc3\xa9"),
        raw("REDIRECT_REDIRECT_PATH_INFO", b"\xc3\xa9"),
        raw("SSL_X", b"\xc3\xa9"),
        raw("OTHER", b"\xc3\xa9"),
        raw("REDIRECT_OTHER", b"\xc3\xa9"),
    ]);
    assert_eq!(vars["PATH_INFO"], "/caf\u{c3}\u{a9}/\u{ff}");
    assert_eq!(vars["HTTP_X"], "\u{c3}\u{a9}");
    assert_eq!(vars["REDIRECT_HTTP_X"], "\u{c3}\u{a9}");
    assert_eq!(vars["REDIRECT_REDIRECT_PATH_INFO"], "\u{c3}\u{a9}");
    assert_eq!(vars["SSL_X"], "\u{c3}\u{a9}");
    assert_eq!(vars["OTHER"], "\u{e9}");
    assert_eq!(vars["REDIRECT_OTHER"], "\u{e9}");
}

/// Runs `host cgi <args>` as a web server would: a CGI environment, the
/// body on stdin. Returns stdout and stderr.
fn cgi(args: &[&str], env: &[(&str, &[u8])], stdin: &[u8]) -> (Vec<u8>, String) {
    use std::io::Write;
    use std::os::unix::ffi::OsStrExt;
    let mut cmd = std::process::Command::new(host_bin());
    cmd.arg("cgi")
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin");
    for (k, v) in env {
        cmd.env(k, std::ffi::OsStr::from_bytes(v));
    }
    let mut child = cmd
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{out:?}");
    (
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn case_100_cgi_handler_end_to_end() {
    let app = example("environ-echo");
    let (out, _) = cgi(
        &[app.to_str().unwrap()],
        &[
            ("REQUEST_METHOD", b"POST"),
            ("PATH_INFO", b"/x"),
            ("SCRIPT_NAME", b"/app"),
            ("HTTPS", b"on"),
            ("CONTENT_LENGTH", b"3"),
            ("SERVER_NAME", b"cgi.test"),
            ("SERVER_PORT", b"443"),
        ],
        b"abcdef",
    );
    let text = String::from_utf8(out).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let length = body.len().to_string();
    assert_eq!(
        head,
        format!("Status: 200 OK\r\nContent-Type: application/json\r\nContent-Length: {length}")
    );
    let env: serde_json::Map<String, serde_json::Value> = serde_json::from_str(body).unwrap();
    assert_eq!(env["wsgi.run_once"], true);
    assert_eq!(env["wsgi.multithread"], false);
    assert_eq!(env["wsgi.multiprocess"], true);
    assert_eq!(env["wsgi.url_scheme"], "https");
    // wsgi.input stops at CONTENT_LENGTH.
    assert_eq!(env["wsgi.input"], "abc");
    assert_eq!(env["PATH_INFO"], "/x");
    assert_eq!(env["SCRIPT_NAME"], "/app");
}

#[test]
fn case_101_iis_path_fix() {
    let app = example("environ-echo");
    for (path_info, fixed) in [
        ("/app/x", "/x"),
        ("/app", ""),
        ("/application", "/application"),
        ("/x", "/x"),
    ] {
        let (out, _) = cgi(
            &["--iis", app.to_str().unwrap()],
            &[
                ("REQUEST_METHOD", b"GET"),
                ("SCRIPT_NAME", b"/app"),
                ("PATH_INFO", path_info.as_bytes()),
            ],
            b"",
        );
        let text = String::from_utf8(out).unwrap();
        let body = text.split_once("\r\n\r\n").unwrap().1;
        let env: serde_json::Map<String, serde_json::Value> = serde_json::from_str(body).unwrap();
        assert_eq!(env["PATH_INFO"], fixed, "{path_info}");
    }
}

#[test]
fn cgi_errors_and_traps_give_a_status_500_page() {
    let app = example("conformance");
    for route in ["/error-before", "/trap-before"] {
        let (out, err) = cgi(
            &[app.to_str().unwrap()],
            &[("REQUEST_METHOD", b"GET"), ("PATH_INFO", route.as_bytes())],
            b"",
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Status: 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 59\r\n\r\nA server error occurred.  Please contact the administrator."
        );
        assert!(err.contains("Traceback (most recent call last):"), "{err}");
    }
    // An app that cannot be loaded still answers with a well-formed page.
    let (out, err) = cgi(&["/nonexistent.wasm"], &[("REQUEST_METHOD", b"GET")], b"");
    assert!(
        String::from_utf8(out)
            .unwrap()
            .starts_with("Status: 500 Internal Server Error\r\n")
    );
    assert!(
        err.contains("error: cannot read /nonexistent.wasm"),
        "{err}"
    );
}

#[test]
fn cgi_scripts_start_with_a_shebang_line() {
    use std::os::unix::fs::PermissionsExt;
    let dir = crate::common::fresh_dir("handlers-cgi-script");
    let bin = host_bin();
    let bin_dir = std::path::Path::new(&bin).parent().unwrap();
    let path = format!("{}:/usr/bin:/bin", bin_dir.display());
    for (name, shebang) in [
        ("absolute.cgi", format!("#!{} cgi", host_bin())),
        ("env.cgi", "#!/usr/bin/env -S host cgi".to_string()),
    ] {
        let script = dir.join(name);
        let mut bytes = format!("{shebang}\n").into_bytes();
        bytes.extend(std::fs::read(example("hello")).unwrap());
        std::fs::write(&script, bytes).unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = std::process::Command::new(&script)
            .env_clear()
            .env("PATH", &path)
            .env("REQUEST_METHOD", "GET")
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "Status: 200 OK\r\nContent-type: text/plain; charset=utf-8\r\nContent-Length: 11\r\n\r\nHello World",
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[tokio::test]
async fn refused_headers_never_go_out_even_if_the_app_ignores_the_error() {
    let stubborn = |_env: Environ, sr: StartResponse| async move {
        let refused = sr
            .call(
                "200 OK",
                headers(&[("Content-Type", "t"), ("X-A", "a\r\nX-Injected: 1")]),
                None,
            )
            .await;
        assert!(refused.is_err());
        // The app goes on as if nothing happened.
        sr.write("body").await?;
        Ok(Body::from("more"))
    };
    for cgi in [false, true] {
        let (out, log, _) = run_with(cgi, testing_environ(&[]), |_| {}, &stubborn).await;
        let text = out.text();
        assert!(!text.contains("X-Injected"), "{text}");
        assert!(text.contains("500 Internal Server Error"), "{text}");
        assert!(
            log.contents()
                .contains("header values must not contain control characters")
        );
    }
    let hop = |_env: Environ, sr: StartResponse| async move {
        let _ = sr
            .call(
                "200 OK",
                headers(&[("Content-Type", "t"), ("Transfer-Encoding", "chunked")]),
                None,
            )
            .await;
        Ok(Body::from("x"))
    };
    let (out, _) = run(&hop).await;
    assert_eq!(out, E500);
}

#[tokio::test]
async fn file_bodies_are_sent_by_sendfile_or_read_in_blocks() {
    let dir = crate::common::fresh_dir("handlers-sendfile");
    let path = dir.join("data.txt");
    std::fs::write(&path, "0123456789").unwrap();
    let file = Arc::new(std::fs::File::open(&path).unwrap());
    let app = move |_env: Environ, sr: StartResponse| {
        let file = file.clone();
        async move {
            sr.call("200 OK", headers(TEXT), None).await?;
            Ok(Body::File(host::FileBody::new(file, 2, 4)))
        }
    };
    // sendfile(): the handler sends the rest of the file, with its length.
    let (out, _) = run(&app).await;
    assert_eq!(
        out,
        "HTTP/1.0 200 OK\r\nDate: <DATE>\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\n23456789"
    );
    // Without it the file is an iterable of blksize blocks: no length.
    let (out, _, _) = run_with(false, testing_environ(&[]), |c| c.sendfile = false, &app).await;
    assert_eq!(
        out.text(),
        "HTTP/1.0 200 OK\r\nDate: <DATE>\r\nContent-Type: text/plain\r\n\r\n23456789"
    );
}

#[test]
fn cgi_takes_the_serve_options() {
    let dir = crate::common::fresh_dir("handlers-cgi-options");
    std::fs::write(dir.join("in.txt"), "from the host").unwrap();
    let spec = format!("{}::/data", dir.display());
    let conformance = example("conformance");
    // A CGI environment as a web server sets it.
    let get = |path: &str, query: &[u8]| -> [(&str, Vec<u8>); 7] {
        [
            ("REQUEST_METHOD", b"GET".to_vec()),
            ("SCRIPT_NAME", b"/app.cgi".to_vec()),
            ("PATH_INFO", path.as_bytes().to_vec()),
            ("QUERY_STRING", query.to_vec()),
            ("SERVER_NAME", b"cgi.test".to_vec()),
            ("SERVER_PORT", b"80".to_vec()),
            ("SERVER_PROTOCOL", b"HTTP/1.1".to_vec()),
        ]
    };
    let env = get("/fs-read", b"path=/data/in.txt");
    let env: Vec<(&str, &[u8])> = env.iter().map(|(k, v)| (*k, v.as_slice())).collect();
    let (out, _) = cgi(&["--dir", &spec, conformance.to_str().unwrap()], &env, b"");
    assert!(
        String::from_utf8(out)
            .unwrap()
            .ends_with("\r\n\r\nfrom the host")
    );

    let env = get("/spin", b"ms=20000");
    let env: Vec<(&str, &[u8])> = env.iter().map(|(k, v)| (*k, v.as_slice())).collect();
    let (out, err) = cgi(
        &["--cpu-limit", "0.3", conformance.to_str().unwrap()],
        &env,
        b"",
    );
    assert!(
        String::from_utf8(out)
            .unwrap()
            .starts_with("Status: 500 Internal Server Error\r\n")
    );
    assert!(
        err.contains("TimeoutError: the app used more than its 300ms of CPU time"),
        "{err}"
    );

    let misbehaving = example("misbehaving");
    let env = get("/no-content-type", b"");
    let env: Vec<(&str, &[u8])> = env.iter().map(|(k, v)| (*k, v.as_slice())).collect();
    let (out, err) = cgi(&["--validate", misbehaving.to_str().unwrap()], &env, b"");
    assert!(
        String::from_utf8(out)
            .unwrap()
            .starts_with("Status: 500 Internal Server Error\r\n")
    );
    assert!(
        err.contains("wsgi validator: No Content-Type header found in headers ([])\n"),
        "{err}"
    );
}

#[tokio::test]
async fn wsgi_input_from_memory() {
    let app = |mut env: Environ, sr: StartResponse| async move {
        let first = env.input.read(Some(3)).await?;
        let line = env.input.readline(None).await?;
        let rest = env.input.readlines(None).await?;
        sr.call("200 OK", headers(TEXT), None).await?;
        let text = format!("{first:?} {line:?} {rest:?}");
        Ok(Body::from(text.into_bytes()))
    };
    let out = Out::default();
    let mut handler = SimpleHandler::new(
        InputStream::from_bytes(&b"abcdef\ng\nh"[..]),
        out.clone(),
        ErrorStream::memory().0,
        testing_environ(&[]),
        true,
        false,
    );
    handler.run(&app).await;
    assert!(
        out.text()
            .ends_with("\r\n\r\nb\"abc\" b\"def\\n\" [b\"g\\n\", b\"h\"]"),
        "{}",
        out.text()
    );
}
