//! One request's path, top to bottom: the request line for the log, the
//! RFC checks, the authority settled once, the router's tenant, the
//! tenant's limits and admission, then the tenant's executor; last, what
//! HTTP/1.0 needs of the response.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, Request, Response, StatusCode};
use http_body::Body as HttpBody;
use hyper::body::Incoming;

use super::access_log::AccessLog;
use super::body::{RequestBody, ResponseBody};
use super::stop::{LEFT_MID_BODY_GRACE, Stop};
use super::{checks, reply};
use crate::executor::Call;
use crate::router::Routed;
use crate::simple_server::WSGIRequestHandler;

/// Handles one request of the connection `conn`: the response as soon as
/// its head is known; the body streams on.
pub(crate) async fn handle(
    conn: &WSGIRequestHandler,
    req: Request<Incoming>,
) -> Response<ResponseBody> {
    let (mut parts, body) = req.into_parts();
    let shared = &conn.shared;
    let access = AccessLog::new(
        shared.config.log.clone(),
        shared.config.log_format,
        conn.peer.ip(),
        request_line(&parts),
    );
    if let Some((status, why)) = checks::malformed(&parts) {
        return reply::refuse(&access, status, why);
    }
    checks::resolve_authority(&mut parts);
    let router = shared.router();
    let Some(routed) = router.route(checks::authority(&parts), parts.uri.path()) else {
        let text = "Not found: no app is mounted at this path.\n".to_string();
        // A body nobody reads would be taken for the next request.
        return match body.is_end_stream() {
            true => reply::answer(&access, StatusCode::NOT_FOUND, text),
            false => reply::refuse(&access, StatusCode::NOT_FOUND, text),
        };
    };
    let access = access.for_app(&routed.tenant.name);
    let in_flight = (shared.config.metrics.as_ref()).map(|m| m.start(&routed.tenant.name));
    let response = handle_routed(conn, parts, body, access, routed).await;
    if let Some(f) = &in_flight {
        f.answered(response.status().as_u16());
    }
    super::batch::others_first().await;
    response
}

/// `handle()` once the request's tenant is known: its limits, admission,
/// and its executor.
async fn handle_routed(
    conn: &WSGIRequestHandler,
    parts: http::request::Parts,
    body: Incoming,
    access: AccessLog,
    routed: Routed,
) -> Response<ResponseBody> {
    let shared = &conn.shared;
    let tenant = routed.tenant.clone();
    let length = body.size_hint().exact();
    let max = tenant.max_body_size.or(shared.config.max_body_size);
    if let (Some(length), Some(max)) = (length, max)
        && length > max
    {
        let text =
            format!("Request body too large: {length} bytes; this server accepts at most {max}.\n");
        return reply::refuse(&access, StatusCode::PAYLOAD_TOO_LARGE, text);
    }
    // The request's wall-time limit and stop signal cover its wait for
    // admission too.
    let (timeout, set_by) = match tenant.timeout {
        Some(own) => (Some(own), tenant.limit_name("timeout")),
        None => (shared.config.timeout, Arc::from("--timeout")),
    };
    let stop = Stop::new(timeout, set_by, shared.cut.subscribe());
    // Until hyper has the response, this future going away means the
    // client left.
    let mut client_left = stop.on_drop(Duration::ZERO);
    let executor = tenant.service.executor();
    let admission = match admit(&stop, executor.admit()).await {
        Ok(Ok(admission)) => admission,
        Ok(Err(busy)) => {
            client_left.disarm();
            let text = format!("Service unavailable: {}; try again later.\n", busy.reason);
            let mut response = reply::refuse(&access, StatusCode::SERVICE_UNAVAILABLE, text);
            response.headers_mut().insert(
                http::header::RETRY_AFTER,
                busy.retry_after.as_secs().max(1).into(),
            );
            return response;
        }
        Err(reason) => {
            client_left.disarm();
            let exc = stop.exception(reason);
            if let Some(metrics) = &shared.config.metrics {
                metrics.failed(&tenant.name, &exc);
            }
            access.stream().event(
                crate::streams::Event::Exception,
                &exc.format_exception(None),
            );
            return reply::error_page(&access, &shared.handler_config, reason.status());
        }
    };
    let head = parts.method == http::Method::HEAD;
    let version = parts.version;
    let body = RequestBody {
        body,
        seen: 0,
        max,
        client: conn.client.clone(),
    };
    let call = Call {
        conn,
        routed,
        parts,
        body,
        length,
        access,
        stop: stop.clone(),
        admission,
    };
    let mut response = executor.execute(call).await;
    client_left.disarm();
    // An HTTP/1.0 client reads a body without a length to the end of the
    // connection, so the connection cannot stay open for it.
    let code = response.status().as_u16();
    let no_body = super::body::carries_no_body(head, code);
    if version == http::Version::HTTP_10
        && !no_body
        && !response
            .headers()
            .contains_key(http::header::CONTENT_LENGTH)
        && !response.body().is_end_stream()
    {
        // (hyper keeps an HTTP/1.0 connection open unless the response
        // itself is HTTP/1.0 and does not ask for keep-alive.)
        *response.version_mut() = http::Version::HTTP_10;
        response
            .headers_mut()
            .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    if no_body {
        response
    } else {
        response.map(|body| body.guarded(stop.on_drop(LEFT_MID_BODY_GRACE)))
    }
}

/// Waits for `admission` while the request may run (`stop`): most
/// requests are admitted at once, and skip the wait's machinery.
async fn admit<T>(
    stop: &Stop,
    admission: crate::app::BoxFuture<'_, T>,
) -> Result<T, super::stop::Reason> {
    let mut admission = admission;
    let polled = {
        let mut now = std::task::Context::from_waker(std::task::Waker::noop());
        admission.as_mut().poll(&mut now)
    };
    match polled {
        std::task::Poll::Ready(admitted) => Ok(admitted),
        std::task::Poll::Pending => stop.run(admission).await,
    }
}

/// The request line as the log shows it: HTTP/2 requests carry an
/// absolute URI, shown as HTTP/1 sends the target.
fn request_line(parts: &http::request::Parts) -> Arc<str> {
    let protocol = crate::environ::protocol(parts.version);
    match (parts.version, parts.uri.path_and_query()) {
        (http::Version::HTTP_2, Some(pq)) => format!("{} {pq} {protocol}", parts.method),
        _ => format!("{} {} {protocol}", parts.method, parts.uri),
    }
    .into()
}
