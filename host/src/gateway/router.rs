//! Many apps on one listener: tenants mounted at route prefixes and on
//! virtual hosts, each with its own limits.
//!
//! A request goes to the tenant whose virtual host names the request's
//! `Host` (tenants without hosts take any), and among those to the one
//! with the longest mount. Mounting is wsgiref's `shift_path_info`: each
//! segment of the mount moves from `PATH_INFO` to `SCRIPT_NAME`, so a
//! WSGI app mounted at `/shop` sees `SCRIPT_NAME = '/shop'` and the rest
//! of the path in `PATH_INFO`, exactly as if a router app had dispatched
//! to it. A `wasi:http` app gets the full path, and the mount in the
//! [`MOUNT_HEADER`] request header.

use std::sync::Arc;
use std::time::Duration;

use wasgi::Vars;
use wasgi::util::shift_path_info;

use crate::executor::Service;
use crate::handlers::HandlerConfig;

/// The request header a `wasi:http` tenant finds its mount in (`/shop`;
/// empty at the root). A client's own header of that name is removed.
pub const MOUNT_HEADER: &str = "x-wasgi-mount";

/// Where a tenant is mounted: a route prefix, and optionally virtual hosts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mount {
    segments: Vec<String>,
    hosts: Vec<String>,
}

impl Mount {
    /// A mount at `route` (`/`, `/shop`, `/api/v1`) for `hosts` (none: any
    /// host). Routes are absolute, without empty, `.` or `..` segments;
    /// hosts are names without a port, matched case-insensitively.
    pub fn new<S: AsRef<str>>(route: &str, hosts: &[S]) -> Result<Mount, String> {
        let Some(rest) = route.strip_prefix('/') else {
            return Err(format!("route {route:?} must start with /"));
        };
        let segments: Vec<String> = rest
            .trim_end_matches('/')
            .split('/')
            .filter(|s| !s.is_empty() || !rest.trim_end_matches('/').is_empty())
            .map(str::to_string)
            .collect();
        if let Some(bad) = segments
            .iter()
            .find(|s| s.is_empty() || *s == "." || *s == "..")
        {
            return Err(format!(
                "route {route:?} has a {:?} segment",
                if bad.is_empty() { "//" } else { bad }
            ));
        }
        let mut names = Vec::new();
        for host in hosts {
            let host = host.as_ref();
            let name = normalize_host(host);
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '*');
            if !valid || host.contains(':') {
                return Err(format!(
                    "host {host:?} is not a host name (no port, no scheme)"
                ));
            }
            names.push(name);
        }
        Ok(Mount {
            segments,
            hosts: names,
        })
    }

    /// The root of every host: what a single app is served at.
    pub fn root() -> Mount {
        Mount {
            segments: Vec::new(),
            hosts: Vec::new(),
        }
    }

    /// The route, `/` for the root.
    pub fn route(&self) -> String {
        format!("/{}", self.segments.join("/"))
    }

    /// The `SCRIPT_NAME` of requests under this mount (`''` at the root).
    pub fn script_name(&self) -> String {
        if self.segments.is_empty() {
            String::new()
        } else {
            self.route()
        }
    }

    /// The virtual hosts; empty means any host.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// Whether two mounts would compete for the same requests: the same
    /// route on hosts they share (or both on any host).
    pub fn overlaps(&self, other: &Mount) -> bool {
        self.segments == other.segments
            && (self.hosts.is_empty() && other.hosts.is_empty()
                || self.hosts.iter().any(|h| other.hosts.contains(h)))
    }

    fn serves_host(&self, host: &str) -> bool {
        self.hosts.iter().any(|h| match h.strip_prefix("*.") {
            Some(domain) => host.len() > domain.len() + 1 && host.ends_with(&format!(".{domain}")),
            None => h == host,
        })
    }
}

/// A host name as routing compares it: lowercase, without port or
/// trailing dot.
fn normalize_host(host: &str) -> String {
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) && !name.ends_with(']') => {
            name
        }
        _ => host,
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// One app and the limits it runs with. Limits of the app itself (memory,
/// CPU, concurrency, files, environment) live in its
/// [`AppOptions`](crate::component::AppOptions); these are the server's.
pub struct Tenant {
    /// A name for logs and errors.
    pub name: Arc<str>,
    /// Where it is mounted.
    pub mount: Mount,
    /// The app.
    pub service: Service,
    /// Its requests' wall-time limit, instead of the server's (`None`: the
    /// server's).
    pub timeout: Option<Duration>,
    /// Its largest request body, instead of the server's.
    pub max_body_size: Option<u64>,
    /// The handler settings its WSGI requests run with, instead of the
    /// server's (e.g. `wsgi.multiprocess` for an app with instance reuse).
    pub handler: Option<Arc<HandlerConfig>>,
    /// What set its own limits, for their messages: a manifest's app
    /// (`app "shop" in wasgi.toml`); empty for the library's tenants.
    pub limits_set_by: Arc<str>,
    /// `handler`, with the hook that counts the tenant's exceptions in the
    /// server's metrics (made on its first request).
    pub(crate) counted: std::sync::OnceLock<Arc<HandlerConfig>>,
}

impl Tenant {
    /// A tenant with the server's limits.
    pub fn new(name: impl Into<String>, mount: Mount, service: impl Into<Service>) -> Tenant {
        Tenant {
            name: Arc::from(name.into()),
            mount,
            service: service.into(),
            timeout: None,
            max_body_size: None,
            handler: None,
            limits_set_by: Arc::from(""),
            counted: std::sync::OnceLock::new(),
        }
    }

    /// The name of its own limit `key` in messages: `timeout of app "shop"
    /// in wasgi.toml`, or `timeout of tenant "shop"`.
    pub(crate) fn limit_name(&self, key: &str) -> Arc<str> {
        match &*self.limits_set_by {
            "" => Arc::from(format!("{key} of tenant {:?}", &*self.name)),
            set_by => Arc::from(format!("{key} of {set_by}")),
        }
    }
}

/// Where a request goes.
pub struct Routed {
    /// The tenant.
    pub tenant: Arc<Tenant>,
    /// `SCRIPT_NAME` and `PATH_INFO` after mounting; `None` at the root
    /// (the environ stays as the request made it).
    pub shifted: Option<(String, String)>,
}

/// The tenants of a server. Immutable: a change builds a new router, which
/// the server swaps in atomically (requests in flight keep the old one).
#[derive(Clone, Default)]
pub struct Router {
    tenants: Vec<Arc<Tenant>>,
}

impl Router {
    /// A router over `tenants`; two tenants on overlapping mounts are an
    /// error naming both.
    pub fn new(tenants: Vec<Tenant>) -> Result<Router, String> {
        let mut router = Router::default();
        for tenant in tenants {
            router = router.with(tenant)?;
        }
        Ok(router)
    }

    /// One app at the root of every host.
    pub fn single(service: impl Into<Service>) -> Router {
        Router {
            tenants: vec![Arc::new(Tenant::new("app", Mount::root(), service))],
        }
    }

    /// The tenants, in the order they were added.
    pub fn tenants(&self) -> &[Arc<Tenant>] {
        &self.tenants
    }

    /// This router plus `tenant`; a tenant of the same name is replaced.
    /// Fails if the mount overlaps another tenant's.
    pub fn with(&self, tenant: Tenant) -> Result<Router, String> {
        let mut tenants: Vec<Arc<Tenant>> = self
            .tenants
            .iter()
            .filter(|t| t.name != tenant.name)
            .cloned()
            .collect();
        if let Some(other) = tenants.iter().find(|t| t.mount.overlaps(&tenant.mount)) {
            return Err(format!(
                "apps {:?} and {:?} are both mounted at {}{}",
                other.name,
                tenant.name,
                tenant.mount.route(),
                match tenant.mount.hosts() {
                    [] => String::new(),
                    hosts => format!(" on {}", hosts.join(", ")),
                }
            ));
        }
        tenants.push(Arc::new(tenant));
        Ok(Router { tenants })
    }

    /// This router without the tenant `name` (`None` if there is none).
    pub fn without(&self, name: &str) -> Option<Router> {
        let tenants: Vec<Arc<Tenant>> = self
            .tenants
            .iter()
            .filter(|t| &*t.name != name)
            .cloned()
            .collect();
        (tenants.len() < self.tenants.len()).then_some(Router { tenants })
    }

    /// The tenant for a request to `host` (the `Host` header, if any) for
    /// the URI path `path` (percent-encoded; it is decoded into `PATH_INFO`
    /// only when mounts must be compared): tenants on that virtual host
    /// first, then those on any host; the longest mount wins.
    pub fn route(&self, host: Option<&str>, path: &str) -> Option<Routed> {
        if let [only] = &self.tenants[..]
            && only.mount == Mount::root()
        {
            return Some(Routed {
                tenant: only.clone(),
                shifted: None,
            });
        }
        let path_info = crate::environ::path_info(path);
        let path_info = path_info.as_str();
        let host = host.map(normalize_host);
        let on_host = |t: &&Arc<Tenant>| host.as_deref().is_some_and(|h| t.mount.serves_host(h));
        let any_host = |t: &&Arc<Tenant>| t.mount.hosts.is_empty();
        for candidates in [&on_host as &dyn Fn(&&Arc<Tenant>) -> bool, &any_host] {
            let best = self
                .tenants
                .iter()
                .filter(candidates)
                .filter_map(|t| mounted(&t.mount, path_info).map(|shifted| (t, shifted)))
                .max_by_key(|(t, _)| t.mount.segments.len());
            if let Some((tenant, shifted)) = best {
                return Some(Routed {
                    tenant: tenant.clone(),
                    shifted,
                });
            }
        }
        None
    }
}

/// `PATH_INFO` under `mount`: `shift_path_info` once per segment of the
/// mount, each shifted name matching it. `Some(None)` at the root.
fn mounted(mount: &Mount, path_info: &str) -> Option<Option<(String, String)>> {
    if mount.segments.is_empty() {
        return Some(None);
    }
    let mut environ = Vars::new();
    environ.insert("SCRIPT_NAME".into(), String::new());
    environ.insert("PATH_INFO".into(), path_info.to_string());
    for segment in &mount.segments {
        match shift_path_info(&mut environ) {
            Ok(Some(name)) if name == *segment => {}
            _ => return None,
        }
    }
    let take = |k: &str| environ.get(k).cloned().unwrap_or_default();
    Some(Some((take("SCRIPT_NAME"), take("PATH_INFO"))))
}

/// A routed request's environ: `SCRIPT_NAME` and `PATH_INFO` moved by
/// its mount.
pub(crate) fn mounted_environ(routed: &Routed, mut environ: Vars) -> Vars {
    if let Some((script_name, path_info)) = &routed.shifted {
        environ.insert("SCRIPT_NAME".into(), script_name.clone());
        environ.insert("PATH_INFO".into(), path_info.clone());
    }
    environ
}

/// A `wasi:http` request's [`MOUNT_HEADER`]: the mount, or none at the
/// root; never the client's.
pub(crate) fn mount_header(mount: &Mount, headers: &mut http::HeaderMap) {
    headers.remove(MOUNT_HEADER);
    if let Ok(value) = http::HeaderValue::from_str(&mount.script_name())
        && !value.is_empty()
    {
        headers.insert(MOUNT_HEADER, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::{Application, Body, Environ, StartResponse};

    fn tenant(name: &str, route: &str, hosts: &[&str]) -> Tenant {
        let app: Arc<dyn Application> =
            Arc::new(|_: Environ, _: StartResponse| async { Ok(Body::from("")) });
        Tenant::new(name, Mount::new(route, hosts).unwrap(), app)
    }

    fn routed(
        router: &Router,
        host: &str,
        path: &str,
    ) -> Option<(String, Option<(String, String)>)> {
        router
            .route(Some(host), path)
            .map(|r| (r.tenant.name.to_string(), r.shifted))
    }

    fn shifted(s: &str, p: &str) -> Option<(String, String)> {
        Some((s.to_string(), p.to_string()))
    }

    #[test]
    fn the_longest_mount_wins_and_becomes_script_name() {
        let router = Router::new(vec![
            tenant("root", "/", &[]),
            tenant("shop", "/shop", &[]),
            tenant("api", "/shop/api/", &[]),
            tenant("static", "/", &["static.test", "*.cdn.test"]),
        ])
        .unwrap();
        assert_eq!(routed(&router, "x", "/"), Some(("root".into(), None)));
        assert_eq!(
            routed(&router, "x", "/shopping"),
            Some(("root".into(), None))
        );
        assert_eq!(
            routed(&router, "x", "/shop"),
            Some(("shop".into(), shifted("/shop", "")))
        );
        assert_eq!(
            routed(&router, "x", "/shop/"),
            Some(("shop".into(), shifted("/shop", "/")))
        );
        assert_eq!(
            routed(&router, "x", "/shop//a/./b"),
            Some(("shop".into(), shifted("/shop", "/a/b")))
        );
        assert_eq!(
            routed(&router, "x", "/shop/api/v1"),
            Some(("api".into(), shifted("/shop/api", "/v1")))
        );
        assert_eq!(
            routed(&router, "Static.Test:8080", "/shop"),
            Some(("static".into(), None))
        );
        assert_eq!(
            routed(&router, "a.cdn.test", "/"),
            Some(("static".into(), None))
        );
        assert_eq!(
            routed(&router, "cdn.test", "/"),
            Some(("root".into(), None))
        );
        let no_root = Router::new(vec![tenant("shop", "/shop", &[])]).unwrap();
        assert!(no_root.route(None, "/other").is_none());
    }

    #[test]
    fn overlapping_mounts_and_bad_routes_are_refused() {
        let e = Router::new(vec![tenant("a", "/x", &[]), tenant("b", "/x/", &[])]);
        assert!(
            e.err()
                .unwrap()
                .contains("\"a\" and \"b\" are both mounted at /x")
        );
        assert!(Router::new(vec![tenant("a", "/x", &["h"]), tenant("b", "/x", &["H"])]).is_err());
        assert!(Router::new(vec![tenant("a", "/x", &["h"]), tenant("b", "/x", &[])]).is_ok());
        for bad in ["x", "/a//b", "/a/../b", "/./a"] {
            assert!(Mount::new::<&str>(bad, &[]).is_err(), "{bad}");
        }
        assert!(Mount::new("/", &["h:80"]).is_err());
        assert!(Mount::new("/", &["http://h"]).is_err());
    }

    #[test]
    fn tenants_are_replaced_and_removed_by_name() {
        let router = Router::new(vec![tenant("a", "/a", &[]), tenant("b", "/b", &[])]).unwrap();
        let router = router.with(tenant("a", "/c", &[])).unwrap();
        assert_eq!(routed(&router, "x", "/c/d").unwrap().0, "a");
        assert!(router.route(None, "/a").is_none());
        let router = router.without("a").unwrap();
        assert_eq!(router.tenants().len(), 1);
        assert!(router.without("zzz").is_none());
    }
}
