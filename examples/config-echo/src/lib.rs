//! A wasgi app reading its configuration from `wasi:config/store`: `GET
//! /KEY` answers the value of KEY (404 when there is none), `GET /` the
//! keys there are, one a line.

use wasgi::{Body, Environ, Result, StartResponse};

const TEXT: [(&str, &str); 1] = [("Content-Type", "text/plain; charset=utf-8")];

fn config_echo(environ: Environ, start_response: StartResponse) -> Result<Body> {
    let key = environ
        .get("PATH_INFO")
        .unwrap_or("/")
        .trim_start_matches('/');
    if key.is_empty() {
        let mut keys: Vec<String> = wasgi::config::get_all()?
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        keys.sort();
        start_response.call("200 OK", TEXT, None)?;
        return Ok(Body::from(
            keys.iter().map(|k| format!("{k}\n")).collect::<String>(),
        ));
    }
    match wasgi::config::get(key)? {
        Some(value) => {
            start_response.call("200 OK", TEXT, None)?;
            Ok(Body::from(value))
        }
        None => {
            start_response.call("404 Not Found", TEXT, None)?;
            Ok(Body::from(format!("no configuration value {key}\n")))
        }
    }
}

wasgi::export!(config_echo);
