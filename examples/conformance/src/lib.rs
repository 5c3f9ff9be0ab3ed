//! One route per WSGI behaviour that wasgi's end-to-end tests check. The
//! route is PATH_INFO; parameters come from the query string (percent-
//! decoded, as native strings).
//!
//! | route | behaviour |
//! |---|---|
//! | `/hello` | one-chunk list: `Content-Length` is added |
//! | `/list?n=N` | a list of N chunks: no `Content-Length` |
//! | `/empty` | an empty list: `Content-Length: 0` |
//! | `/stream?n=N&size=S` | a lazy body of N chunks of S bytes |
//! | `/write` | the `write()` callable, then a returned chunk |
//! | `/close` | a lazy body (`a`, `b`; or `n` chunks of `size` bytes) whose `close()` logs `close() called` |
//! | `/counter` | counts calls in a static: always 1 with an instance per request |
//! | `/input-io` | reads `wsgi.input` through `BufRead::read_line` and `Read::read_to_end` |
//! | `/readline?size=N&hint=H` | `readline(N)`, `readline()`, `readlines(H)`, `readlines()` |
//! | `/errors` | writes to `wsgi.errors` with write, writelines, flush, `io::Write`, `fmt::Write` |
//! | `/error-mid` | a lazy body that raises after one chunk (then `close()`) |
//! | `/error-before` | raises before `start_response` |
//! | `/error-after` | `write()`s, then raises |
//! | `/trap-before` | panics (a wasm trap) before `start_response` |
//! | `/trap-after` | a lazy body that panics after one chunk |
//! | `/exc-info` | `start_response`, then replaces it with `exc_info` |
//! | `/exc-info-after` | `write()`s, then calls `start_response` with `exc_info` |
//! | `/twice` | calls `start_response` twice without `exc_info` |
//! | `/no-start` | returns a body without calling `start_response` |
//! | `/no-start-empty` | returns an empty list without `start_response` |
//! | `/write-before-start` | calls `write()` before `start_response` |
//! | `/status?status=S` | responds with status S |
//! | `/header?name=N&value=V` | adds header N: V |
//! | `/echo` | echoes `wsgi.input` (all of it) |
//! | `/lines` | reads `wsgi.input` line by line, answers the line count |
//! | `/read?size=N` | reads N bytes of `wsgi.input` |
//! | `/head-length` | no body, `Content-Length: 42` (HEAD support) |
//! | `/print` | prints to the guest's stdout and stderr |
//! | `/spin?ms=N&id=X` | logs `spin X start`, busy-loops for N milliseconds, logs `spin X end` |
//! | `/fs-read?path=P` | reads file P with `std::fs`; answers its bytes or the error |
//! | `/fs-write?path=P` | writes `written` to file P with `std::fs`; answers `ok` or the error |
//! | `/file-wrapper?path=P&skip=N` | a `FileWrapper` over `wasgi::fs::File` P, from byte N |
//! | `/file-wrapper-close?path=P` | like `/file-wrapper`, with a `close()` that logs `file close() called` |
//! | `/file-wrapper-memory?size=N` | a `FileWrapper` over N bytes in memory, 1000-byte blocks |
//! | `/env` | the guest's own process environment (`std::env::vars`), one `NAME=VALUE` per line |
//! | `/connect?addr=A` | tries a TCP connection to A with `std::net`; answers `connected` or the error |
//! | `/outbound?url=U` | `wasgi::client::get(U)`: `200` with the upstream's status and body, or `502` with the error |

use std::collections::BTreeMap;

use wasgi::{Body, Environ, Error, Result, StartResponse};

const TEXT: [(&str, &str); 1] = [("Content-Type", "text/plain")];

fn app(mut environ: Environ, start_response: StartResponse) -> Result<Body> {
    let query = parse_query(environ.get("QUERY_STRING").unwrap_or(""));
    let param = |k: &str| query.get(k).cloned().unwrap_or_default();
    let number = |k: &str, default: usize| param(k).parse::<usize>().unwrap_or(default);
    let path = environ.get("PATH_INFO").unwrap_or("").to_string();
    match path.as_str() {
        "/hello" => {
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::from("hello"))
        }
        "/list" => {
            start_response.call("200 OK", TEXT, None)?;
            let chunks: Vec<Vec<u8>> = (0..number("n", 3))
                .map(|i| format!("{i};").into_bytes())
                .collect();
            Ok(Body::from(chunks))
        }
        "/empty" => {
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::empty())
        }
        "/stream" => {
            start_response.call("200 OK", TEXT, None)?;
            let size = number("size", 16);
            Ok(Body::from_iter((0..number("n", 10)).map(move |i| {
                let mut chunk = format!("{i}:").into_bytes();
                chunk.resize(size.max(chunk.len()), b'x');
                chunk
            })))
        }
        "/write" => {
            let write = start_response.call("200 OK", TEXT, None)?;
            write.write(b"1")?;
            write.write(b"22")?;
            Ok(Body::from("333"))
        }
        "/close" => {
            start_response.call("200 OK", TEXT, None)?;
            let errors = environ.errors.clone();
            let body = match query.get("n") {
                None => Body::from_iter(["a", "b"]),
                Some(_) => {
                    let size = number("size", 1000);
                    Body::from_iter((0..number("n", 1)).map(move |_| vec![b'c'; size]))
                }
            };
            Ok(body.on_close(move || {
                errors.write("close() called\n");
                Ok(())
            }))
        }
        "/counter" => {
            static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
            let calls = CALLS.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::from(format!("calls in this instance: {calls}")))
        }
        "/input-io" => {
            use std::io::{BufRead, Read};
            let mut first = String::new();
            environ.input.read_line(&mut first).map_err(Error::from)?;
            let mut rest = Vec::new();
            environ.input.read_to_end(&mut rest).map_err(Error::from)?;
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::from(format!("first={first:?} rest={}", rest.len())))
        }
        "/readline" => {
            let first = environ.input.readline(Some(number("size", 3)))?;
            let second = environ.input.readline(None)?;
            let rest = environ.input.readlines(Some(number("hint", 1)))?;
            let after = environ.input.readlines(None)?;
            start_response.call("200 OK", TEXT, None)?;
            let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            Ok(Body::from(format!(
                "{:?} {:?} {:?} {:?}",
                text(&first),
                text(&second),
                rest.iter().map(|l| text(l)).collect::<Vec<_>>(),
                after.iter().map(|l| text(l)).collect::<Vec<_>>()
            )))
        }
        "/errors" => {
            use std::io::Write as _;
            let mut errors = environ.errors.clone();
            errors.write("errors: write\n");
            errors.writelines(["errors: line 1\n", "errors: line 2\n"]);
            errors.flush();
            errors
                .write_all(b"errors: io::Write\n")
                .map_err(Error::from)?;
            std::fmt::Write::write_fmt(&mut errors, format_args!("errors: fmt::Write {}\n", 42))
                .map_err(|e| Error::new("ValueError", e.to_string()))?;
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::from("logged"))
        }
        "/error-mid" => {
            start_response.call("200 OK", TEXT, None)?;
            let errors = environ.errors.clone();
            let items = vec![
                Ok(b"first".to_vec()),
                Err(Error::new("ValueError", "failed mid-body")),
            ];
            Ok(Body::try_from_iter(items).on_close(move || {
                errors.write("close() called\n");
                Ok(())
            }))
        }
        "/error-before" => Err(Error::new("ValueError", "failed before start_response")),
        "/error-after" => {
            let write = start_response.call("200 OK", TEXT, None)?;
            write.write(b"partial")?;
            Err(Error::new(
                "ValueError",
                "failed after the headers were sent",
            ))
        }
        "/trap-before" => panic!("guest panicked before start_response"),
        "/trap-after" => {
            start_response.call("200 OK", TEXT, None)?;
            let mut sent = false;
            Ok(Body::from_iter(std::iter::from_fn(move || {
                if sent {
                    panic!("guest panicked in the middle of the body");
                }
                sent = true;
                Some(b"first".to_vec())
            })))
        }
        "/exc-info" => {
            start_response.call(
                "200 OK",
                [("Content-Type", "text/plain"), ("X-A", "1")],
                None,
            )?;
            let err = Error::new("KeyError", "'missing'");
            start_response.call(
                "503 Service Unavailable",
                [("Content-Type", "text/html")],
                Some(&err),
            )?;
            Ok(Body::from("replaced"))
        }
        "/exc-info-after" => {
            let write = start_response.call("200 OK", TEXT, None)?;
            write.write(b"first")?;
            let err = Error::new("KeyError", "'k2'");
            start_response.call("500 Oops", TEXT, Some(&err))?;
            Ok(Body::from("unreachable"))
        }
        "/twice" => {
            start_response.call("200 OK", TEXT, None)?;
            start_response.call("201 Created", TEXT, None)?;
            Ok(Body::from("unreachable"))
        }
        "/no-start" => Ok(Body::from("x")),
        "/no-start-empty" => Ok(Body::empty()),
        "/write-before-start" => {
            start_response.write(b"early")?;
            Ok(Body::empty())
        }
        "/status" => {
            start_response.call(&param("status"), TEXT, None)?;
            Ok(Body::from("status"))
        }
        "/header" => {
            start_response.call(
                "200 OK",
                [
                    ("Content-Type", "text/plain".to_string()),
                    (param("name").as_str(), param("value")),
                ],
                None,
            )?;
            Ok(Body::from("header"))
        }
        "/echo" => {
            let body = environ.input.read(None)?;
            start_response.call(
                "200 OK",
                [("Content-Type", "application/octet-stream")],
                None,
            )?;
            Ok(Body::from(body))
        }
        "/lines" => {
            let lines = environ.input.readlines(None)?;
            start_response.call("200 OK", TEXT, None)?;
            let lengths: Vec<String> = lines.iter().map(|l| l.len().to_string()).collect();
            Ok(Body::from(format!(
                "{} lines: {}",
                lines.len(),
                lengths.join(",")
            )))
        }
        "/read" => {
            let data = environ.input.read(Some(number("size", 0)))?;
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::from(data))
        }
        "/head-length" => {
            start_response.call(
                "200 OK",
                [("Content-Type", "text/plain"), ("Content-Length", "42")],
                None,
            )?;
            Ok(Body::empty())
        }
        "/env" => {
            start_response.call("200 OK", TEXT, None)?;
            let lines: Vec<String> = std::env::vars()
                .map(|(k, v)| format!("{k}={v}\n"))
                .collect();
            Ok(Body::from(lines.concat()))
        }
        "/connect" => {
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::from(
                match std::net::TcpStream::connect(param("addr")) {
                    Ok(_) => "connected".to_string(),
                    Err(e) => format!("error: {e}"),
                },
            ))
        }
        "/outbound" => match wasgi::client::get(&param("url")) {
            Ok(answer) => {
                start_response.call("200 OK", TEXT, None)?;
                let mut text = format!("upstream {}\n", answer.status).into_bytes();
                text.extend(answer.body);
                Ok(Body::from(text))
            }
            Err(e) => {
                start_response.call("502 Bad Gateway", TEXT, None)?;
                Ok(Body::from(format!("{}: {}", e.kind, e.message)))
            }
        },
        "/print" => {
            println!("guest stdout line");
            eprintln!("guest stderr line");
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::from("printed"))
        }
        "/spin" => {
            let id = param("id");
            environ.errors.write(&format!("spin {id} start\n"));
            let until = std::time::Instant::now()
                + std::time::Duration::from_millis(number("ms", 100) as u64);
            let mut spins = 0u64;
            while std::time::Instant::now() < until {
                spins = spins.wrapping_add(1);
            }
            environ.errors.write(&format!("spin {id} end\n"));
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::from(format!("spun {}", spins.min(1))))
        }
        "/fs-read" => {
            let answer = match std::fs::read(param("path")) {
                Ok(data) => data,
                Err(e) => format!("error: {e}").into_bytes(),
            };
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::from(answer))
        }
        "/file-wrapper" => {
            use std::io::{Seek, SeekFrom};
            let mut file = wasgi::fs::File::open(&param("path"))?;
            file.seek(SeekFrom::Start(number("skip", 0) as u64))?;
            start_response.call(
                "200 OK",
                [("Content-Type", "application/octet-stream")],
                None,
            )?;
            Ok(Body::from(wasgi::FileWrapper::new(file, 4096)))
        }
        "/file-wrapper-close" => {
            let file = wasgi::fs::File::open(&param("path"))?;
            start_response.call(
                "200 OK",
                [("Content-Type", "application/octet-stream")],
                None,
            )?;
            let errors = environ.errors.clone();
            Ok(
                Body::from(wasgi::FileWrapper::new(file, 4096)).on_close(move || {
                    errors.write("file close() called\n");
                    Ok(())
                }),
            )
        }
        "/file-wrapper-memory" => {
            let data = vec![b'm'; number("size", 0)];
            start_response.call(
                "200 OK",
                [("Content-Type", "application/octet-stream")],
                None,
            )?;
            Ok(Body::from(wasgi::FileWrapper::new(
                std::io::Cursor::new(data),
                1000,
            )))
        }
        "/fs-write" => {
            let answer = match std::fs::write(param("path"), "written") {
                Ok(()) => "ok".to_string(),
                Err(e) => format!("error: {e}"),
            };
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::from(answer))
        }
        _ => {
            start_response.call("404 Not Found", TEXT, None)?;
            Ok(Body::from(format!("no route {path}")))
        }
    }
}

/// `a=1&b=x%20y` into a map; `+` is a space; values are native strings.
fn parse_query(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (unquote(k), unquote(v))
        })
        .collect()
}

fn unquote(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() && s.is_char_boundary(i + 3) => {
                match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    wasgi::util::from_bytes(&out)
}

wasgi::export!(app);
