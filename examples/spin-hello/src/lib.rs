//! A Spin HTTP hello on Spin's Rust SDK 7, as `spin new -t http-rust`
//! makes one: a WASIp3 component with nothing of wasgi in it.

use spin_sdk::http::{IntoResponse, Request, StatusCode};
use spin_sdk::http_service;

#[http_service]
async fn handle(_request: Request) -> anyhow::Result<impl IntoResponse> {
    Ok((StatusCode::OK, "Hello, Fermyon\n".to_string()))
}
