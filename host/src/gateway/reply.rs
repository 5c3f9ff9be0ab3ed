//! The answers the server gives itself: a refusal before any app ran, and
//! the handlers' error page for an app that failed before its head.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};
use wasgi::util::latin1_bytes;

use super::access_log::AccessLog;
use super::body::ResponseBody;
use crate::handlers::HandlerConfig;

/// A request the server answers itself, without running the app: `status`
/// with `text`, a log line in wsgiref's `code N, message ...` form and
/// the access line. The connection closes after it (its body is never
/// read).
pub(crate) fn refuse(
    access: &AccessLog,
    status: StatusCode,
    text: String,
) -> Response<ResponseBody> {
    let mut response = answer(access, status, text);
    (response.headers_mut()).insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// Like [`refuse`], for a well-formed request without a body (a path no
/// app serves): the connection stays open, so a proxy's keep-alive
/// connection survives it.
pub(crate) fn answer(
    access: &AccessLog,
    status: StatusCode,
    text: String,
) -> Response<ResponseBody> {
    access.refusal(status.as_u16(), text.trim_end());
    access.write(status.as_str(), text.len() as u64, false);
    let mut response = Response::new(ResponseBody::full(Bytes::from(text)));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain"),
    );
    if status == StatusCode::METHOD_NOT_ALLOWED {
        headers.insert(
            http::header::ALLOW,
            HeaderValue::from_static("GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, TRACE"),
        );
    }
    response
}

/// The handlers' error page (`error_headers`, `error_body`) with
/// `status`, and its access line.
pub(crate) fn error_page(
    access: &AccessLog,
    config: &HandlerConfig,
    status: &str,
) -> Response<ResponseBody> {
    let code = status.get(..3).unwrap_or("500");
    let status = code
        .parse()
        .ok()
        .and_then(|c| StatusCode::from_u16(c).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = config.error_body.clone();
    access.write(status.as_str(), body.len() as u64, false);
    let mut response = Response::new(ResponseBody::full(body));
    *response.status_mut() = status;
    for (name, value) in &config.error_headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_bytes(&latin1_bytes(value)),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    response
}
