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
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tokio::sync::watch;
use wasgi::ExcInfo;

use crate::capability::keyvalue::store::OpenStore;

/// The bounds of the request duration histogram, in seconds.
const LATENCY_BUCKETS: [f64; 17] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 120.0,
];

/// The bounds of the instantiation histogram, in seconds.
const INSTANTIATION_BUCKETS: [f64; 13] = [
    0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1,
    1.0,
];

/// The status classes and failure causes a series can have, for removing
/// an app's series.
const STATUSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];
const CAUSES: [&str; 5] = ["cpu_limit", "memory_limit", "timeout", "trap", "exception"];

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

#[derive(Clone, Debug, Hash, PartialEq, Eq, PartialOrd, Ord, EncodeLabelSet)]
struct StoreCall {
    app: String,
    store: String,
    op: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AppStore {
    app: String,
    store: String,
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
    cpu: Family<App, Counter<f64, std::sync::atomic::AtomicU64>>,
    memory: Family<App, Gauge>,
    store_calls: Family<StoreCall, Counter>,
    store_bytes: Family<AppStore, Gauge>,
    store_quota: Family<AppStore, Gauge>,
    /// The stores apps may open, read at each scrape for their bytes.
    stores: std::sync::Mutex<Vec<(AppStore, std::sync::Weak<OpenStore>)>>,
    /// The apps that have series, for removing them.
    apps: std::sync::Mutex<std::collections::BTreeSet<String>>,
    /// The store-call series there are, for removing an app's.
    store_series: std::sync::Mutex<std::collections::BTreeSet<StoreCall>>,
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
        // Round bounds, up past the longest limits (a 30 s CPU limit, a
        // minute's timeout).
        let latency = Family::<App, Histogram>::new_with_constructor(|| {
            Histogram::new(LATENCY_BUCKETS.iter().copied())
        });
        let in_flight = Family::<App, Gauge>::default();
        let failures = Family::<AppFailure, Counter>::default();
        let reloads = Family::<Outcome, Counter>::default();
        let instantiation = Family::<App, Histogram>::new_with_constructor(|| {
            Histogram::new(INSTANTIATION_BUCKETS.iter().copied())
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
        let cpu = Family::<App, Counter<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register(
            "guest_cpu_seconds",
            "CPU time the app's guests used, by app",
            cpu.clone(),
        );
        let memory = Family::<App, Gauge>::default();
        registry.register(
            "guest_memory_bytes",
            "Linear memory the app's instances hold now, by app",
            memory.clone(),
        );
        let store_calls = Family::<StoreCall, Counter>::default();
        registry.register(
            "kv_operations",
            "Guests' calls to their key-value stores, by app, store, operation (get, set, increment, ...) and result (ok, error)",
            store_calls.clone(),
        );
        let store_bytes = Family::<AppStore, Gauge>::default();
        registry.register(
            "kv_store_bytes",
            "Bytes of keys and values a key-value store holds, by app and store (read at each scrape)",
            store_bytes.clone(),
        );
        let store_quota = Family::<AppStore, Gauge>::default();
        registry.register(
            "kv_store_quota_bytes",
            "A key-value store's max_total_size, by app and store",
            store_quota.clone(),
        );
        Metrics {
            registry,
            cpu,
            memory,
            store_calls,
            store_bytes,
            store_quota,
            stores: Default::default(),
            store_series: Default::default(),
            requests,
            latency,
            in_flight,
            failures,
            reloads,
            instantiation,
            apps: Default::default(),
        }
    }

    /// Notes that `app` has series.
    fn known(&self, app: &str) {
        let mut known = self.apps.lock().unwrap_or_else(|p| p.into_inner());
        if !known.contains(app) {
            known.insert(app.to_string());
        }
    }

    /// The hook that records `app`'s instantiation times
    /// ([`AppOptions::instantiated`](crate::component::AppOptions::instantiated)).
    pub fn instantiation_hook(self: &Arc<Self>, app: &str) -> crate::component::Instantiated {
        self.known(app);
        let histogram = self
            .instantiation
            .get_or_create(&App {
                app: app.to_string(),
            })
            .clone();
        Arc::new(move |took: Duration| histogram.observe(took.as_secs_f64()))
    }

    /// The hook that records what `app`'s instances use
    /// ([`AppOptions::usage`](crate::component::AppOptions::usage)).
    pub fn usage_hook(self: &Arc<Self>, app: &str) -> Arc<dyn crate::component::Usage> {
        self.known(app);
        let labels = App {
            app: app.to_string(),
        };
        Arc::new(AppUsage {
            cpu: self.cpu.get_or_create(&labels).clone(),
            memory: self.memory.get_or_create(&labels).clone(),
            metrics: Arc::downgrade(self),
            app: app.to_string(),
        })
    }

    /// A request to `app` starts; the guard ends it.
    pub fn start(self: &Arc<Self>, app: &str) -> InFlight {
        self.known(app);
        let labels = App {
            app: app.to_string(),
        };
        // The guard holds the gauge itself: a reload may remove the app's
        // series while its last requests finish.
        let gauge = self.in_flight.get_or_create(&labels).clone();
        gauge.inc();
        InFlight {
            metrics: self.clone(),
            labels,
            gauge,
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

    /// Only `apps` are served now (after a reload): the series of the
    /// others go away.
    pub fn retain_apps(&self, apps: &[&str]) {
        let mut known = self.apps.lock().unwrap_or_else(|p| p.into_inner());
        for gone in known.iter().filter(|a| !apps.contains(&a.as_str())) {
            let app = App { app: gone.clone() };
            self.latency.remove(&app);
            self.in_flight.remove(&app);
            self.instantiation.remove(&app);
            self.cpu.remove(&app);
            self.memory.remove(&app);
            let mut stores = self.stores.lock().unwrap_or_else(|p| p.into_inner());
            stores.retain(|(labels, _)| {
                let keep = labels.app != *gone;
                if !keep {
                    self.store_bytes.remove(labels);
                    self.store_quota.remove(labels);
                }
                keep
            });
            drop(stores);
            let mut series = self.store_series.lock().unwrap_or_else(|p| p.into_inner());
            series.retain(|call| {
                let keep = call.app != *gone;
                if !keep {
                    self.store_calls.remove(call);
                }
                keep
            });
            for status in STATUSES {
                let status = status.to_string();
                self.requests.remove(&AppStatus {
                    app: gone.clone(),
                    status,
                });
            }
            for cause in CAUSES {
                let cause = cause.to_string();
                self.failures.remove(&AppFailure {
                    app: gone.clone(),
                    cause,
                });
            }
        }
        *known = apps.iter().map(|a| a.to_string()).collect();
    }

    /// Reads how many bytes each store holds, into its gauge: a store that
    /// does not answer within half a second keeps its last reading.
    pub async fn read_stores(&self) {
        let stores: Vec<(AppStore, Arc<OpenStore>)> = {
            let mut stores = self.stores.lock().unwrap_or_else(|p| p.into_inner());
            stores.retain(|(_, store)| store.strong_count() > 0);
            let live = stores
                .iter()
                .filter_map(|(l, s)| Some((l.clone(), s.upgrade()?)));
            live.collect()
        };
        for (labels, store) in stores {
            let used = tokio::time::timeout(Duration::from_millis(500), store.used()).await;
            if let Ok(Ok(bytes)) = used {
                self.store_bytes
                    .get_or_create(&labels)
                    .set(i64::try_from(bytes).unwrap_or(i64::MAX));
            }
        }
    }

    /// Every metric in the OpenMetrics text format, the process's own
    /// (`process_*`) included.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        let process = process_metrics();
        match out.strip_suffix("# EOF\n") {
            Some(metrics) => format!("{metrics}{process}# EOF\n"),
            None => out + &process,
        }
    }

    /// Every metric in the format `accept` asks for: Prometheus's text
    /// format 0.0.4 for `text/plain` (what a Prometheus server asks for
    /// when it does not offer OpenMetrics), OpenMetrics otherwise; and its
    /// content type.
    pub fn encode_for(&self, accept: &str) -> (String, &'static str) {
        let openmetrics = accept.contains("application/openmetrics-text");
        let text = self.encode();
        if openmetrics || !accept.contains("text/plain") {
            return (
                text,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            );
        }
        (
            to_text_format(&text),
            "text/plain; version=0.0.4; charset=utf-8",
        )
    }
}

/// An app's CPU, memory and store-call series, fed by its instances.
struct AppUsage {
    cpu: Counter<f64, std::sync::atomic::AtomicU64>,
    memory: Gauge,
    /// (Weak: the metrics own the apps' hooks' series, not the reverse.)
    metrics: std::sync::Weak<Metrics>,
    app: String,
}

impl crate::component::Usage for AppUsage {
    fn cpu(&self, cpu: Duration) {
        self.cpu.inc_by(cpu.as_secs_f64());
    }

    fn memory(&self, bytes: i64) {
        self.memory.inc_by(bytes);
    }

    fn store_opened(&self, store: &Arc<OpenStore>) {
        let Some(metrics) = self.metrics.upgrade() else {
            return;
        };
        let labels = AppStore {
            app: self.app.clone(),
            store: store.label.clone(),
        };
        let quota = i64::try_from(store.quotas.max_total_size).unwrap_or(i64::MAX);
        metrics.store_quota.get_or_create(&labels).set(quota);
        let mut stores = metrics.stores.lock().unwrap_or_else(|p| p.into_inner());
        stores.retain(|(l, _)| *l != labels);
        stores.push((labels, Arc::downgrade(store)));
    }

    fn store_call(&self, store: &str, op: &'static str, failed: bool) {
        let Some(metrics) = self.metrics.upgrade() else {
            return;
        };
        let call = StoreCall {
            app: self.app.clone(),
            store: store.to_string(),
            op: op.to_string(),
            result: if failed { "error" } else { "ok" }.to_string(),
        };
        metrics.store_calls.get_or_create(&call).inc();
        let mut series = metrics
            .store_series
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if !series.contains(&call) {
            series.insert(call);
        }
    }
}

/// A request in flight; [`InFlight::answered`] counts it.
pub struct InFlight {
    metrics: Arc<Metrics>,
    labels: App,
    gauge: Gauge,
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
        self.gauge.dec();
    }
}

/// The admin listener's answer to `req`.
async fn admin_answer(
    req: &Request<hyper::body::Incoming>,
    metrics: &Metrics,
    draining: &watch::Receiver<bool>,
) -> Response<Full<Bytes>> {
    let (status, ctype, body) = match req.uri().path() {
        "/healthz" => (StatusCode::OK, "text/plain", "ok\n".to_string()),
        "/readyz" if *draining.borrow() => (
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain",
            "draining\n".to_string(),
        ),
        "/readyz" => (StatusCode::OK, "text/plain", "ready\n".to_string()),
        "/metrics" => {
            let accept = (req.headers().get(http::header::ACCEPT))
                .and_then(|a| a.to_str().ok())
                .unwrap_or("");
            metrics.read_stores().await;
            let (text, ctype) = metrics.encode_for(accept);
            (StatusCode::OK, ctype, text)
        }
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
    response
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
                let (metrics, draining) = (metrics.clone(), draining.clone());
                async move { Ok::<_, Infallible>(admin_answer(&req, &metrics, &draining).await) }
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

/// The process's own metrics, as Prometheus's client libraries name them:
/// CPU seconds, resident memory, open descriptors, start time.
fn process_metrics() -> String {
    let mut out = String::new();
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // The fields after the command (which may hold spaces) in parentheses.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    // SAFETY: sysconf has no preconditions.
    let (ticks, page) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK) as f64,
            libc::sysconf(libc::_SC_PAGESIZE) as f64,
        )
    };
    let field = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    // utime, stime (fields 14 and 15 of stat; 0-based 11, 12 after the
    // command), starttime (22: 19), rss pages (24: 21).
    let mut metric = |name: &str, kind: &str, help: &str, value: Option<f64>| {
        if let Some(value) = value {
            out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n"));
            let sample = if kind == "counter" {
                format!("{name}_total")
            } else {
                name.to_string()
            };
            out.push_str(&format!("{sample} {value}\n"));
        }
    };
    let cpu = field(11).zip(field(12)).map(|(u, s)| (u + s) / ticks);
    metric(
        "process_cpu_seconds",
        "counter",
        "CPU time the process used, in seconds.",
        cpu,
    );
    metric(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory, in bytes.",
        field(21).map(|pages| pages * page),
    );
    let fds = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as f64)
        .ok();
    metric("process_open_fds", "gauge", "Open file descriptors.", fds);
    let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
        let line = s.lines().find(|l| l.starts_with("btime "))?;
        line[6..].trim().parse::<f64>().ok()
    });
    let start = boot.zip(field(19)).map(|(boot, at)| boot + at / ticks);
    metric(
        "process_start_time_seconds",
        "gauge",
        "When the process started, in seconds since the epoch.",
        start,
    );
    out
}

/// OpenMetrics text as Prometheus's text format 0.0.4: no `# EOF` or
/// `# UNIT` lines, and a counter's family named as its samples
/// (`_total`).
fn to_text_format(openmetrics: &str) -> String {
    let counters: std::collections::BTreeSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# TYPE ", "# HELP "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        out.push_str(renamed.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}
