//! A wasgi app calling `wasi:keyvalue@0.2.0-draft` (what components built
//! for `wasmtime serve -S keyvalue` import) through its own wit-bindgen
//! bindings: `POST /incr/KEY` adds 1 (`atomics.increment`), `GET
//! /get/KEY` reads it, `GET /many?k=A&k=B` reads several (`batch`), `GET
//! /keys` lists them page by page (its cursor is a number).

mod bindings {
    wit_bindgen::generate!({
        path: ["../../wit/deps/keyvalue-draft", "wit"],
        world: "wasgi-examples:kv-draft/kv-draft",
        generate_all,
    });
}

use bindings::wasi::keyvalue::{atomics, batch, store};
use wasgi::{Body, Environ, Error, Result, StartResponse};

const TEXT: [(&str, &str); 1] = [("Content-Type", "text/plain; charset=utf-8")];

fn failed(e: store::Error) -> Error {
    Error::new("OSError", format!("wasi:keyvalue: {e:?}"))
}

fn kv_draft(environ: Environ, start_response: StartResponse) -> Result<Body> {
    let bucket = store::open("default").map_err(failed)?;
    let method = environ.get("REQUEST_METHOD").unwrap_or("GET");
    let path = environ.get("PATH_INFO").unwrap_or("/");
    let query = environ.get("QUERY_STRING").unwrap_or("");
    let text = match (method, path) {
        ("POST", p) if p.starts_with("/incr/") => {
            format!(
                "{}\n",
                atomics::increment(&bucket, &p[6..], 1).map_err(failed)?
            )
        }
        ("GET", p) if p.starts_with("/get/") => match bucket.get(&p[5..]).map_err(failed)? {
            Some(value) => String::from_utf8_lossy(&value).into_owned(),
            None => "none".to_string(),
        },
        ("GET", "/many") => {
            let keys: Vec<String> = wasgi::parse::parse_qsl(query, true)
                .into_iter()
                .map(|(_, v)| v)
                .collect();
            let values = batch::get_many(&bucket, &keys).map_err(failed)?;
            values
                .iter()
                .map(|pair| match pair {
                    Some((k, v)) => format!("{k}={}\n", String::from_utf8_lossy(v)),
                    None => "-\n".to_string(),
                })
                .collect()
        }
        ("GET", "/keys") => {
            let (mut keys, mut cursor) = (Vec::new(), None);
            loop {
                let page = bucket.list_keys(cursor).map_err(failed)?;
                keys.extend(page.keys);
                match page.cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            keys.sort();
            keys.iter().map(|k| format!("{k}\n")).collect()
        }
        _ => "no such route\n".to_string(),
    };
    start_response.call("200 OK", TEXT, None)?;
    Ok(Body::from(text))
}

wasgi::export!(kv_draft);
