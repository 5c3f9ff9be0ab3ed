//! A wasgi app with state: each request runs in a fresh instance, and what
//! it keeps goes to a key-value store (`wasgi::kv`).
//!
//! * `GET /`: counts the visit (`increment`) and says how many there were;
//! * `POST /incr/KEY`: adds 1 to the counter KEY, answers the sum;
//! * `GET /get/KEY`: the value of KEY (404 when it has none);
//! * `PUT /set/KEY`: sets KEY to the request body;
//! * `POST /cas/KEY?from=OLD&to=NEW`: sets KEY to NEW only if it holds OLD
//!   (no `from`: only if it has no value), answers `swapped` or 409;
//! * `DELETE /get/KEY`: deletes KEY;
//! * `GET /keys`: the keys, one a line.
//!
//! `?store=LABEL` uses the store LABEL instead of the app's `default`.

use wasgi::parse::parse_qsl;
use wasgi::{Body, Environ, Result, StartResponse};

const TEXT: [(&str, &str); 1] = [("Content-Type", "text/plain; charset=utf-8")];

fn kv_counter(mut environ: Environ, start_response: StartResponse) -> Result<Body> {
    let query = parse_qsl(environ.get("QUERY_STRING").unwrap_or(""), true);
    let arg = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let label = arg("store").unwrap_or_else(|| "default".into());
    let store = match wasgi::kv::open(&label) {
        Ok(store) => store,
        Err(e) => {
            start_response.call("403 Forbidden", TEXT, None)?;
            return Ok(Body::from(format!("{e}\n")));
        }
    };
    let method = environ.get("REQUEST_METHOD").unwrap_or("GET").to_string();
    let path = environ.get("PATH_INFO").unwrap_or("/").to_string();
    let (status, text) = match (method.as_str(), path.split_once('/').map(|(_, p)| p)) {
        ("GET", Some("")) => {
            let n = store.increment("visits", 1)?;
            ("200 OK", format!("visits: {n}\n"))
        }
        ("POST", Some(p)) if p.starts_with("incr/") => {
            ("200 OK", format!("{}\n", store.increment(&p[5..], 1)?))
        }
        ("GET", Some(p)) if p.starts_with("get/") => match store.get(&p[4..])? {
            Some(value) => ("200 OK", String::from_utf8_lossy(&value).into_owned()),
            None => ("404 Not Found", format!("no value for {:?}\n", &p[4..])),
        },
        ("DELETE", Some(p)) if p.starts_with("get/") => {
            store.delete(&p[4..])?;
            ("200 OK", "deleted\n".to_string())
        }
        ("PUT", Some(p)) if p.starts_with("set/") => {
            let value = environ.input.read(None)?;
            store.set(&p[4..], &value)?;
            ("200 OK", format!("set {} bytes\n", value.len()))
        }
        ("POST", Some(p)) if p.starts_with("cas/") => {
            let (from, to) = (arg("from"), arg("to").unwrap_or_default());
            match store.compare_and_swap(&p[4..], from.as_deref().map(str::as_bytes), &to)? {
                true => ("200 OK", "swapped\n".to_string()),
                false => ("409 Conflict", "the value changed\n".to_string()),
            }
        }
        ("GET", Some("keys")) => {
            let mut keys = store.keys()?;
            keys.sort();
            ("200 OK", keys.iter().map(|k| format!("{k}\n")).collect())
        }
        _ => ("404 Not Found", format!("no route {method} {path}\n")),
    };
    start_response.call(status, TEXT, None)?;
    Ok(Body::from(text))
}

wasgi::export!(kv_counter);
