//! Prometheus metrics, by app (tenant), and the admin listener that
//! serves them with health and readiness (`host serve --admin ADDR`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::sync::watch;
use wasgi::ExcInfo;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct App {
    app: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppStatus {
    app: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppFailure {
    app: String,
    cause: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct Outcome {
    result: String,
}

/// What a server counts, by app: requests by status class, latency,
/// requests in flight, instantiation time, guests stopped by a limit or a
/// trap, and reloads.
pub struct Metrics {
    registry: Registry,
    requests: Family<AppStatus, Counter>,
    latency: Family<App, Histogram>,
    in_flight: Family<App, Gauge>,
    failures: Family<AppFailure, Counter>,
    reloads: Family<Outcome, Counter>,
    instantiation: Family<App, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Empty metrics, registered under the `wasgi_` prefix.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("wasgi");
        let requests = Family::<AppStatus, Counter>::default();
        let latency = Family::<App, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0001, 2.5, 14))
        });
        let in_flight = Family::<App, Gauge>::default();
        let failures = Family::<AppFailure, Counter>::default();
        let reloads = Family::<Outcome, Counter>::default();
        let instantiation = Family::<App, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.00001, 2.5, 14))
        });
        registry.register(
            "requests",
            "Requests answered, by app and status class (1xx..5xx)",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from a request's head to its response's head, by app",
            latency.clone(),
        );
        registry.register(
            "requests_in_flight",
            "Requests being handled, by app",
            in_flight.clone(),
        );
        registry.register(
            "guest_failures",
            "Requests whose guest failed, by app and cause: cpu_limit, memory_limit, timeout (wall time), trap, exception",
            failures.clone(),
        );
        registry.register(
            "reloads",
            "Manifest reloads, by result (ok, failed)",
            reloads.clone(),
        );
        registry.register(
            "instantiation_seconds",
            "Time to instantiate a fresh instance of the app's component, by app",
            instantiation.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            in_flight,
            failures,
            reloads,
            instantiation,
        }
    }

    /// The hook that records `app`'s instantiation times
    /// ([`AppOptions::instantiated`](crate::component::AppOptions::instantiated)).
    pub fn instantiation_hook(self: &Arc<Self>, app: &str) -> crate::component::Instantiated {
        let histogram = self
            .instantiation
            .get_or_create(&App {
                app: app.to_string(),
            })
            .clone();
        Arc::new(move |took: Duration| histogram.observe(took.as_secs_f64()))
    }

    /// A request to `app` starts; the guard ends it.
    pub fn start(self: &Arc<Self>, app: &str) -> InFlight {
        let labels = App {
            app: app.to_string(),
        };
        self.in_flight.get_or_create(&labels).inc();
        InFlight {
            metrics: self.clone(),
            labels,
            started: std::time::Instant::now(),
        }
    }

    /// A guest of `app` failed with `e` (a limit, a trap, an exception).
    pub fn failed(&self, app: &str, e: &ExcInfo) {
        let cause = match e.kind.as_str() {
            "TimeoutError" if e.message.contains("CPU time") => "cpu_limit",
            "TimeoutError" => "timeout",
            "MemoryError" => "memory_limit",
            "WasmTrap" | "WasmError" => "trap",
            _ => "exception",
        };
        self.failures
            .get_or_create(&AppFailure {
                app: app.to_string(),
                cause: cause.to_string(),
            })
            .inc();
    }

    /// A manifest reload ended.
    pub fn reloaded(&self, ok: bool) {
        let result = if ok { "ok" } else { "failed" };
        self.reloads
            .get_or_create(&Outcome {
                result: result.into(),
            })
            .inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// A request in flight; [`InFlight::answered`] counts it.
pub struct InFlight {
    metrics: Arc<Metrics>,
    labels: App,
    started: std::time::Instant,
}

impl InFlight {
    /// The response's head went out with `status`.
    pub fn answered(&self, status: u16) {
        let class = format!("{}xx", status / 100);
        (self.metrics.requests)
            .get_or_create(&AppStatus {
                app: self.labels.app.clone(),
                status: class,
            })
            .inc();
        (self.metrics.latency.get_or_create(&self.labels))
            .observe(self.started.elapsed().as_secs_f64());
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.metrics.in_flight.get_or_create(&self.labels).dec();
    }
}

/// Serves the admin endpoints on `addr` until the process ends:
/// `/healthz` (200 while the process serves), `/readyz` (200, or 503 once
/// `draining` turns true) and `/metrics`.
pub async fn serve_admin(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
    draining: watch::Receiver<bool>,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let (metrics, draining) = (metrics.clone(), draining.clone());
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                let (status, ctype, body) = match req.uri().path() {
                    "/healthz" => (StatusCode::OK, "text/plain", "ok\n".to_string()),
                    "/readyz" if *draining.borrow() => (
                        StatusCode::SERVICE_UNAVAILABLE,
                        "text/plain",
                        "draining\n".to_string(),
                    ),
                    "/readyz" => (StatusCode::OK, "text/plain", "ready\n".to_string()),
                    "/metrics" => (
                        StatusCode::OK,
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        metrics.encode(),
                    ),
                    _ => (
                        StatusCode::NOT_FOUND,
                        "text/plain",
                        "not found\n".to_string(),
                    ),
                };
                let mut response = Response::new(Full::new(Bytes::from(body)));
                *response.status_mut() = status;
                if let Ok(v) = http::HeaderValue::from_str(ctype) {
                    response.headers_mut().insert(http::header::CONTENT_TYPE, v);
                }
                async move { Ok::<_, Infallible>(response) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Binds the admin listener.
pub fn bind_admin(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    tokio::net::TcpListener::from_std(listener)
}
