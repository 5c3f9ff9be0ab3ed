//! A hostile guest: one route per way an app can misbehave, each with a
//! defined outcome under `host serve` (see the reliability tests and
//! SECURITY.md). `/ok` is a healthy neighbour.
//!
//! | route | what the app does | outcome |
//! |---|---|---|
//! | `/ok` | answers `ok` | 200 |
//! | `/loop` | computes forever | stopped by `--cpu-limit` (or `--timeout`): 500 / 504 |
//! | `/bomb` | allocates until it fails | stopped at `--max-memory`: 500, `MemoryError` |
//! | `/recurse` | recurses without end | stack overflow trap: 500 |
//! | `/panic-before` | panics before `start_response` | 500 |
//! | `/panic-after` | panics after the first chunk | cut connection |
//! | `/headers?n=N` | sends N headers | 200 (or 500 if the HTTP layer refuses the head) |
//! | `/crlf` | a header value with CR LF | refused by `start_response`: 500 |
//! | `/nul` | a header value with NUL | refused: 500 |
//! | `/bad-status` | status `abc` | refused: 500 |
//! | `/huge-chunk?mb=N` | one chunk of N MiB | 200, or `MemoryError` past `--max-memory` |
//! | `/endless` | a body that never ends | streams until the client leaves |
//! | `/slow?n=N&ms=M` | N chunks, M ms apart | 200, slowly |
//! | `/read-past` | reads 10 MB of `wsgi.input` | gets the body only: 200 with its length |
//! | `/errors-flood?n=N` | N lines on `wsgi.errors` | 200 |
//! | `/hold?mb=N&ms=M` | holds N MiB for M ms, then answers | 200 (others may wait for the memory budget) |
//! | `/read-all` | `wsgi.input.read()` with no size | 200 with the length, or `MemoryError` past `--max-memory` |
//! | `/kv-open?n=N` | opens its key-value store N times, keeping each | 200, or `OSError` past the host's 1024 open stores: 500 |
//! | `/huge-blksize` | `wsgi.file_wrapper` over `data.bin` of the first `--dir`, blksize 4 GiB | 200: the file, in blocks of at most 1 MiB |

use wasgi::{Body, Environ, Error, Result, StartResponse};

const TEXT: [(&str, &str); 1] = [("Content-Type", "text/plain")];

fn hostile(mut environ: Environ, start_response: StartResponse) -> Result<Body> {
    let query = environ.get("QUERY_STRING").unwrap_or("").to_string();
    let number = |key: &str, default: usize| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == key)
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(default)
    };
    let path = environ.get("PATH_INFO").unwrap_or("").to_string();
    match path.as_str() {
        "/ok" => {
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::from("ok"))
        }
        "/loop" => {
            let mut x = 0u64;
            loop {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
        }
        "/bomb" => {
            let mut hoard: Vec<Vec<u8>> = Vec::new();
            loop {
                // Touch every page, so the memory is really used.
                hoard.push(vec![1u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }
        "/recurse" => {
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::from(format!("{}", recurse(std::hint::black_box(1)))))
        }
        "/panic-before" => panic!("hostile: panic before start_response"),
        "/panic-after" => {
            start_response.call("200 OK", TEXT, None)?;
            let mut sent = false;
            Ok(Body::from_iter(std::iter::from_fn(move || {
                if sent {
                    panic!("hostile: panic after the first chunk");
                }
                sent = true;
                Some(b"first chunk\n".to_vec())
            })))
        }
        "/headers" => {
            let n = number("n", 100_000);
            let headers: Vec<(String, String)> = (0..n)
                .map(|i| (format!("X-Header-{i}"), "v".to_string()))
                .chain([("Content-Type".into(), "text/plain".into())])
                .collect();
            start_response.call("200 OK", headers, None)?;
            Ok(Body::from(format!("{n} headers")))
        }
        "/crlf" => {
            start_response.call("200 OK", [("X-Evil", "a\r\nSet-Cookie: owned=1")], None)?;
            Ok(Body::from("crlf"))
        }
        "/nul" => {
            start_response.call("200 OK", [("X-Evil", "a\0b")], None)?;
            Ok(Body::from("nul"))
        }
        "/bad-status" => {
            start_response.call("abc", TEXT, None)?;
            Ok(Body::from("bad status"))
        }
        "/huge-chunk" => {
            let size = number("mb", 300) << 20;
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::from(vec![b'h'; size]))
        }
        "/endless" => {
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::from_iter(std::iter::repeat(vec![b'e'; 64 * 1024])))
        }
        "/slow" => {
            let (n, ms) = (number("n", 10), number("ms", 100) as u64);
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::from_iter((0..n).map(move |i| {
                std::thread::sleep(std::time::Duration::from_millis(ms));
                format!("chunk {i}\n").into_bytes()
            })))
        }
        "/read-past" => {
            let mut got = 0usize;
            for _ in 0..10 {
                got += environ.input.read(Some(1 << 20))?.len();
            }
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::from(format!("read {got} bytes")))
        }
        "/read-all" => {
            let got = environ.input.read(None)?.len();
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::from(format!("read {got} bytes")))
        }
        "/huge-blksize" => {
            let dir = wasgi::fs::Dir::preopened().into_iter().next();
            let file = dir.ok_or("no directory (--dir)")?.open("data.bin")?;
            start_response.call("200 OK", TEXT, None)?;
            Ok(environ.wrap_file(file, usize::MAX))
        }
        "/hold" => {
            let held = vec![1u8; number("mb", 16) << 20];
            environ
                .errors
                .write(&format!("hostile: holding {} MiB\n", held.len() >> 20));
            std::thread::sleep(std::time::Duration::from_millis(number("ms", 1000) as u64));
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::from(format!(
                "held {} MiB",
                std::hint::black_box(held).len() >> 20
            )))
        }
        "/kv-open" => {
            let n = number("n", 100_000);
            let open = (0..n)
                .map(|_| wasgi::kv::open("default"))
                .collect::<Result<Vec<_>>>()?;
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::from(format!("{} open", open.len())))
        }
        "/errors-flood" => {
            let n = number("n", 100_000);
            for i in 0..n {
                environ.errors.write(&format!("hostile: flood line {i}\n"));
            }
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::from(format!("{n} lines")))
        }
        _ => Err(Error::new("LookupError", format!("no route {path}"))),
    }
}

/// Recursion without end, on purpose: the stack overflow is the fault.
#[allow(unconditional_recursion)]
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    let pad = std::hint::black_box([depth; 32]);
    recurse(depth + 1).wrapping_add(pad[depth as usize % 32])
}

wasgi::export!(hostile);
