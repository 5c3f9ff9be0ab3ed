//! A Spin app as Spin's Rust SDK 7 writes one, with nothing of wasgi in it:
//! `spin:key-value@3.0.0` and `spin:variables@3.0.0`, in a WASIp3 component.
//!
//! * `GET /get/KEY`: the value of KEY (404 when there is none);
//! * `PUT /set/KEY`: sets KEY to the request body;
//! * `DELETE /get/KEY`: deletes it;
//! * `GET /keys`: the keys, one a line (`get-keys`' stream);
//! * `GET /var/NAME`: the variable NAME;
//! * `?store=LABEL`: a store other than `default`.

use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{IntoResponse, Method, Request, StatusCode};
use spin_sdk::http_service;
use spin_sdk::key_value::Store;

fn answer(status: u16, text: String) -> (StatusCode, String) {
    (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), text)
}

#[http_service]
async fn handle(request: Request) -> anyhow::Result<impl IntoResponse> {
    let path = request.uri().path().to_string();
    let label = request
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("store=")))
        .unwrap_or("default")
        .to_string();
    let method = request.method().clone();
    if let Some(name) = path.strip_prefix("/var/") {
        return Ok(match spin_sdk::variables::get(name).await {
            Ok(value) => answer(200, value),
            Err(e) => answer(404, format!("{e}\n")),
        });
    }
    let store = match Store::open(&label).await {
        Ok(store) => store,
        Err(e) => return Ok(answer(403, format!("{e}\n"))),
    };
    Ok(match (method, path.as_str()) {
        (Method::GET, "/keys") => {
            let mut keys = store.get_keys().await;
            let mut all = Vec::new();
            while let Some(key) = keys.next().await {
                all.push(key);
            }
            keys.result().await?;
            all.sort();
            answer(200, all.iter().map(|k| format!("{k}\n")).collect())
        }
        (Method::GET, p) if p.starts_with("/get/") => match store.get(&p[5..]).await? {
            Some(value) => answer(200, String::from_utf8_lossy(&value).into_owned()),
            None => answer(404, format!("no value for {:?}\n", &p[5..])),
        },
        (Method::DELETE, p) if p.starts_with("/get/") => {
            store.delete(&p[5..]).await?;
            answer(200, "deleted\n".into())
        }
        (Method::PUT, p) if p.starts_with("/set/") => {
            let key = p[5..].to_string();
            let body = request.into_body().bytes().await?;
            store.set(&key, &body).await?;
            answer(200, format!("set {} bytes\n", body.len()))
        }
        (method, path) => answer(404, format!("no route {method} {path}\n")),
    })
}
