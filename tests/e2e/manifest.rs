//! `host serve --config wasgi.toml`: many apps on one port, mounted at
//! routes (SCRIPT_NAME) and virtual hosts, each with its own limits.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::common::{Host, Load, example, host_bin, test_cache_dir};

fn examples_manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/wasgi.toml")
}

fn get(host: &Host, target: &str, host_header: &str, extra: &str) -> crate::common::Response {
    host.request(&format!(
        "GET {target} HTTP/1.1\r\nHost: {host_header}\r\n{extra}Connection: close\r\n\r\n"
    ))
}

fn environ(host: &Host, target: &str, extra: &str) -> Map<String, Value> {
    let r = get(host, target, "example.test", extra);
    assert_eq!(r.status, 200, "{target}: {}", r.head);
    match serde_json::from_slice(&r.body) {
        Ok(Value::Object(map)) => map,
        other => panic!("{target}: not a JSON object: {other:?}"),
    }
}

fn var<'a>(env: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    env.get(key).and_then(Value::as_str)
}

#[test]
fn one_manifest_serves_every_kind_of_app_on_one_port() {
    let manifest = examples_manifest();
    let host = Host::serve(&["--config", manifest.to_str().unwrap()]);
    host.wait_log("files (");
    // A WSGI app under /shop: the mount is SCRIPT_NAME, as shift_path_info
    // leaves it.
    let env = environ(&host, "/shop/cart?x=1", "");
    assert_eq!(var(&env, "SCRIPT_NAME"), Some("/shop"));
    assert_eq!(var(&env, "PATH_INFO"), Some("/cart"));
    assert_eq!(var(&env, "QUERY_STRING"), Some("x=1"));
    let env = environ(&host, "/shop", "");
    assert_eq!(
        (var(&env, "SCRIPT_NAME"), var(&env, "PATH_INFO")),
        (Some("/shop"), Some(""))
    );
    let env = environ(&host, "/shop//caf%C3%A9/./x", "");
    assert_eq!(var(&env, "PATH_INFO"), Some("/cafÃ©/x"));
    // The nested mount takes its own prefix.
    let env = environ(&host, "/shop/api/v1/items", "");
    assert_eq!(var(&env, "SCRIPT_NAME"), Some("/shop/api"));
    assert_eq!(var(&env, "PATH_INFO"), Some("/v1/items"));
    // A wasi:http app: the full path, and the mount in a header a client
    // cannot forge.
    let env = environ(&host, "/wasi/deep/path?q", "X-Wasgi-Mount: /forged\r\n");
    assert_eq!(var(&env, "PATH_INFO"), Some("/wasi/deep/path"));
    assert_eq!(var(&env, "HTTP_X_WASGI_MOUNT"), Some("/wasi"));
    // /shopping is not under /shop: the root app answers.
    for target in ["/shopping", "/", "/anything/else"] {
        let r = get(&host, target, "example.test", "");
        assert_eq!(r.status, 200, "{target}");
        let greeting = format!("Hello from wasi:http!\nmethod: GET\ntarget: {target}\n");
        assert!(r.text().starts_with(&greeting), "{target}: {}", r.text());
    }
    // The virtual host: the static file server, whatever the path.
    let r = get(&host, "/hello.txt", "Static.Localhost:8000", "");
    assert_eq!(
        (r.status, r.text().as_str()),
        (200, "Hello from a static file.\n")
    );
    let r = get(&host, "/shop/cart", "static.localhost", "");
    assert_eq!(r.status, 404, "the virtual host has no /shop");
    // The validated app answers through the validator.
    assert_eq!(get(&host, "/shop/api/", "x", "").status, 200);
    let log = host.wait_log_count("HTTP/1.1\" ", 11);
    assert!(!log.contains("wsgi validator"), "{log}");
}

#[test]
fn without_a_root_app_a_path_no_app_serves_is_404() {
    let dir = crate::common::fresh_dir("manifest-noroot");
    let manifest = dir.join("wasgi.toml");
    std::fs::write(
        &manifest,
        format!(
            "[[app]]\nname = \"shop\"\ncomponent = {:?}\nroute = \"/shop\"\n",
            example("hello")
        ),
    )
    .unwrap();
    let host = Host::serve(&["--config", manifest.to_str().unwrap()]);
    let r = host.get("/other");
    assert_eq!(r.status, 404);
    assert_eq!(r.text(), "Not found: no app is mounted at this path.\n");
    assert_eq!(host.get("/shop/x").status, 200);
    host.wait_log("\"GET /other HTTP/1.1\" 404");
}

#[test]
fn a_path_no_app_serves_keeps_a_keep_alive_connection_open() {
    let dir = crate::common::fresh_dir("manifest-keepalive404");
    let manifest = dir.join("wasgi.toml");
    std::fs::write(
        &manifest,
        format!(
            "[[app]]\nname = \"shop\"\ncomponent = {:?}\nroute = \"/shop\"\n",
            example("hello")
        ),
    )
    .unwrap();
    let host = Host::serve(&["--config", manifest.to_str().unwrap()]);
    // A proxy's keep-alive connection survives a 404...
    let mut conn = crate::common::Conn::open(host.addr);
    conn.send(b"GET /other HTTP/1.1\r\nHost: t\r\n\r\n");
    let r = conn.response(false);
    assert_eq!(r.status, 404, "{}", r.head);
    assert_eq!(r.header("Connection"), None, "{}", r.head);
    conn.send(b"GET /shop/x HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(conn.response(false).text(), "Hello World");
    // ...unless the request had a body nobody read.
    let mut conn = crate::common::Conn::open(host.addr);
    conn.send(b"POST /other HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
    let r = conn.response(false);
    assert_eq!((r.status, r.header("Connection")), (404, Some("close")));
}

#[test]
fn an_absolute_form_target_names_the_host_for_routing_and_for_the_app() {
    let dir = crate::common::fresh_dir("manifest-absolute");
    let manifest = dir.join("wasgi.toml");
    std::fs::write(
        &manifest,
        format!(
            "[[app]]\nname = \"a\"\ncomponent = {:?}\nhosts = [\"a.test\"]\n\n\
             [[app]]\nname = \"b\"\ncomponent = {:?}\nhosts = [\"b.test\"]\n",
            example("environ-echo"),
            example("environ-echo.wasi-http")
        ),
    )
    .unwrap();
    let host = Host::serve(&["--config", manifest.to_str().unwrap()]);
    // RFC 9112 §3.2.2: the target's authority wins over the Host header,
    // for the router and for what either kind of app is shown.
    for (target, header) in [
        ("http://b.test:8080/x", "a.test"),
        ("http://a.test/x", "b.test"),
    ] {
        let r = get(&host, target, header, "");
        assert_eq!(r.status, 200, "{target}: {}", r.head);
        let env: Map<String, Value> = serde_json::from_slice(&r.body).unwrap();
        let name = target
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap();
        assert_eq!(var(&env, "HTTP_HOST"), Some(name), "{target}: {env:?}");
        assert_eq!(var(&env, "PATH_INFO"), Some("/x"), "{target}");
        host.wait_log(&format!("\"GET {target} HTTP/1.1\" 200"));
    }
    // The wasi:http tenant is the one that answered b.test (it has no
    // REMOTE_ADDR, a wasgi app does).
    let r = get(&host, "http://b.test/", "a.test", "");
    let env: Map<String, Value> = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(var(&env, "REMOTE_ADDR"), None, "{env:?}");
    let r = get(&host, "http://a.test/", "b.test", "");
    let env: Map<String, Value> = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(var(&env, "REMOTE_ADDR"), Some("127.0.0.1"), "{env:?}");
}

#[test]
fn manifest_errors_say_what_is_wrong_in_the_manifests_words() {
    let dir = crate::common::fresh_dir("manifest-words");
    let hello = format!("{:?}", example("hello"));
    let app = format!("[[app]]\nname = \"a\"\ncomponent = {hello}\n");
    let cases = [
        (
            format!("{app}dirs = [\".\"]\n"),
            "wasgi.toml, line 4: app \"a\": dirs: each entry is a table, such as { host = \"static\", guest = \"/static\", rw = false }, not \".\"",
        ),
        (
            format!("{app}allow_outbound = [\"a b\"]\n"),
            "wasgi.toml, line 4: app \"a\": allow_outbound: \"a b\": expected HOST",
        ),
        (
            "spin_manifest_version = 2\n[application]\nname = \"x\"\n".to_string(),
            "wasgi.toml, line 1: unknown field `spin_manifest_version`: this looks like a Spin manifest (spin.toml)",
        ),
    ];
    for (text, expected) in cases {
        let path = dir.join("wasgi.toml");
        std::fs::write(&path, &text).unwrap();
        let (code, _, err) = host_cmd(&["check", "--config", path.to_str().unwrap()]);
        assert_eq!(code, Some(2), "{text}\n{err}");
        assert!(err.contains(expected), "{text}\n{err}\nwanted: {expected}");
        assert!(!err.contains("--allow-outbound"), "{err}");
    }
    // Sizes mean their units: 1.5G and 64MB are taken as they say.
    let path = dir.join("wasgi.toml");
    std::fs::write(
        &path,
        format!("{app}max_memory = \"1.5G\"\nmax_body_size = \"64MB\"\n"),
    )
    .unwrap();
    let (code, out, err) = host_cmd(&["check", "--config", path.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("wasgi.toml: 1 app\n"), "{out}");
    // check prints the limits each app ends up with.
    assert!(
        out.contains("  a: max_memory 1536.0 MiB, cpu_limit 30 s, timeout the server's, max_concurrency 1000, max_queue 1000, max_body_size 61.0 MiB, reuse 1"),
        "{out}"
    );
}

#[test]
fn a_reload_that_changes_the_listeners_is_refused_with_a_line_saying_why() {
    let dir = crate::common::fresh_dir("manifest-listeners");
    let manifest = dir.join("wasgi.toml");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let write = |port: u16| {
        let text = format!(
            "[[app]]\nname = \"a\"\ncomponent = {:?}\n\n[[listener]]\naddress = \"127.0.0.1:{port}\"\n",
            example("hello")
        );
        std::fs::write(dir.join("wasgi.toml.new"), text).unwrap();
        std::fs::rename(dir.join("wasgi.toml.new"), &manifest).unwrap();
    };
    write(port);
    let host = Host::serve(&["--config", manifest.to_str().unwrap()]);
    assert_eq!(host.addr.port(), port);
    write(port + 1);
    host.wait_log("its [[listener]] tables changed; listeners change only with a restart");
    assert_eq!(host.get("/").text(), "Hello World");
}

#[test]
fn metrics_speak_both_formats_cover_the_limits_and_forget_removed_apps() {
    let dir = crate::common::fresh_dir("manifest-metrics");
    let manifest = dir.join("wasgi.toml");
    let write = |apps: &[&str]| {
        let text: String = apps
            .iter()
            .map(|name| {
                format!(
                    "[[app]]\nname = \"{name}\"\ncomponent = {:?}\nroute = \"/{name}\"\n\n",
                    example("hello")
                )
            })
            .collect();
        std::fs::write(dir.join("wasgi.toml.new"), text).unwrap();
        std::fs::rename(dir.join("wasgi.toml.new"), &manifest).unwrap();
    };
    write(&["one", "two"]);
    let host = Host::serve(&[
        "--config",
        manifest.to_str().unwrap(),
        "--admin",
        "127.0.0.1:0",
    ]);
    assert_eq!(host.get("/one/").status, 200);
    assert_eq!(host.get("/two/").status, 200);
    let metrics = |accept: &str| {
        let line = host.wait_log("Admin endpoints on http://");
        let admin = line
            .split("Admin endpoints on http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap();
        let mut conn = crate::common::Conn::open(admin.parse().unwrap());
        conn.send(
            format!(
                "GET /metrics HTTP/1.1\r\nHost: a\r\nAccept: {accept}\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        );
        conn.response(false)
    };
    // OpenMetrics by default; Prometheus's text format when it asks.
    let open = metrics("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5");
    assert!(
        open.header("Content-Type")
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    assert!(open.text().ends_with("# EOF\n"));
    assert!(
        open.text().contains("# TYPE wasgi_requests counter\n"),
        "{}",
        open.text()
    );
    let text = metrics("text/plain;version=0.0.4;q=1,*/*;q=0.1");
    assert_eq!(
        text.header("Content-Type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let body = text.text();
    assert!(
        !body.contains("# EOF") && !body.contains("# UNIT"),
        "{body}"
    );
    assert!(
        body.contains("# TYPE wasgi_requests_total counter\n"),
        "{body}"
    );
    assert!(
        body.contains("wasgi_requests_total{app=\"one\",status=\"2xx\"} 1\n"),
        "{body}"
    );
    // The process's own metrics.
    for name in [
        "process_cpu_seconds_total ",
        "process_resident_memory_bytes ",
        "process_open_fds ",
        "process_start_time_seconds ",
    ] {
        assert!(
            body.lines().any(|l| l.starts_with(name)),
            "{name} not in:\n{body}"
        );
    }
    // Round bounds, past the 30 s CPU limit.
    assert!(body.contains("le=\"30.0\""), "{body}");
    assert!(!body.contains("14.9"), "{body}");
    // What each app's guests used: CPU seconds, and memory held now (none:
    // every request's instance is gone).
    let cpu = body
        .lines()
        .find_map(|l| l.strip_prefix("wasgi_guest_cpu_seconds_total{app=\"one\"} "))
        .and_then(|v| v.parse::<f64>().ok());
    assert!(cpu.is_some_and(|c| c > 0.0), "{body}");
    assert!(
        body.contains("wasgi_guest_memory_bytes{app=\"one\"} 0\n"),
        "{body}"
    );
    // No series for an app nobody configured.
    assert!(!body.contains("app=\"app\""), "{body}");
    // A reload that removes an app takes its series along.
    write(&["one"]);
    host.wait_log("reloaded: 1 app now serving");
    let body = metrics("text/plain").text();
    assert!(body.contains("app=\"one\""), "{body}");
    assert!(!body.contains("app=\"two\""), "{body}");
}

#[test]
fn every_line_of_a_json_log_is_a_json_object() {
    let dir = crate::common::fresh_dir("manifest-jsonlog");
    let manifest = dir.join("wasgi.toml");
    std::fs::write(
        &manifest,
        format!(
            "[[app]]\nname = \"h\"\ncomponent = {:?}\n\n[[app]]\nname = \"w\"\nroute = \"/w\"\ncomponent = {:?}\n",
            example("hostile"),
            example("wasi-http-hello")
        ),
    )
    .unwrap();
    let mut host = Host::serve(&[
        "--config",
        manifest.to_str().unwrap(),
        "--log-format",
        "json",
        "--admin",
        "127.0.0.1:0",
    ]);
    // Refusals, a panic, guest output, a cut response, a reload, a drain.
    assert_eq!(
        host.request("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")
            .status,
        400
    );
    assert_eq!(host.get("/panic-before").status, 500);
    assert_eq!(host.get("/errors-flood?n=2").status, 200);
    assert_eq!(host.get("/ok").text(), "ok");
    assert_eq!(host.get("/w/x?y=1").status, 200);
    host.signal("HUP");
    host.wait_log("reloaded: 2 apps now serving");
    let (code, log) = host.stop();
    assert_eq!(code, Some(0), "{log}");
    let mut events = std::collections::BTreeMap::new();
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let object: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(object["time"].is_string(), "{line}");
        assert!(object["level"].is_string(), "{line}");
        let event = match object["event"].as_str() {
            Some(event) => event.to_string(),
            None => panic!("no event: {line}"),
        };
        events.entry(event).or_insert_with(Vec::new).push(object);
    }
    for event in [
        "compiled",
        "admin",
        "refused",
        "exception",
        "guest_output",
        "reload",
        "shutdown",
        "access",
    ] {
        assert!(events.contains_key(event), "no {event} line in:\n{log}");
    }
    // A traceback is one object with its frames, naming the app.
    let exception = &events["exception"][0];
    assert_eq!(exception["app"], "h", "{exception}");
    assert!(
        exception["frames"]
            .as_array()
            .is_some_and(|f| !f.is_empty()),
        "{exception}"
    );
    // Guest output (wsgi.errors, a wasi:http guest's stderr) names its
    // app and its request, as the request's access line does.
    let said = |message: &str| {
        let found = events["guest_output"]
            .iter()
            .find(|o| o["message"] == message);
        found.unwrap_or_else(|| panic!("no {message:?} in:\n{log}"))
    };
    let flood = said("hostile: flood line 1");
    assert_eq!(flood["app"], "h", "{flood}");
    assert_eq!(
        flood["request"], "GET /errors-flood?n=2 HTTP/1.1",
        "{flood}"
    );
    let printed = said("wasi-http-hello: GET /w/x?y=1");
    assert_eq!(printed["app"], "w", "{printed}");
    assert_eq!(printed["request"], "GET /w/x?y=1 HTTP/1.1", "{printed}");
    let access = events["access"].iter().find(|a| a["app"] == "w");
    assert_eq!(
        access.map(|a| &a["request"]),
        Some(&printed["request"]),
        "{log}"
    );
}

pub(crate) fn host_cmd(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(host_bin())
        .args(args)
        .env("WASGI_CACHE_DIR", test_cache_dir())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_lists_the_apps_and_bad_manifests_name_the_line() {
    let manifest = examples_manifest();
    let (code, out, err) = host_cmd(&["check", "--config", manifest.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("wasgi.toml: 7 apps"), "{out}");
    assert!(
        out.contains("shop-api") && out.contains("/shop/api") && out.contains("wasi:http"),
        "{out}"
    );
    assert!(out.contains("static.localhost"), "{out}");

    let dir = crate::common::fresh_dir("manifest-bad");
    let hello = format!("{:?}", example("hello"));
    let cases = [
        (
            format!("[[app]]\nname = \"a\"\ncomponent = {hello}\nmax_memroy = \"1G\"\n"),
            "wasgi.toml, line 4: unknown field `max_memroy`, expected one of",
        ),
        (
            format!("[[app]]\nname = \"a\"\ncomponent = {hello}\ntimeout = \"soon\"\n"),
            "wasgi.toml, line 4: invalid type: string \"soon\", expected f64",
        ),
        (
            "[[app]]\nname = \"a\"\ncomponent = \"nope.wasm\"\n".to_string(),
            "wasgi.toml, line 3: app \"a\": component: ",
        ),
        (
            format!(
                "[[app]]\nname = \"a\"\ncomponent = {hello}\n\n[[app]]\nname = \"b\"\ncomponent = {hello}\nroute = \"/\"\n"
            ),
            "wasgi.toml, line 8: app \"b\": route: / overlaps app \"a\" (line 1)",
        ),
        (
            format!("[[app]]\nname = \"a\"\ncomponent = {hello}\nhosts = [\"a.test:80\"]\n"),
            "wasgi.toml, line 4: app \"a\": host \"a.test:80\" is not a host name",
        ),
        (
            format!("[[app]]\nname = \"a\"\ncomponent = {:?}\n", manifest),
            "wasgi.toml, line 1: app \"a\": ",
        ),
    ];
    for (text, expected) in cases {
        let path = dir.join("wasgi.toml");
        std::fs::write(&path, &text).unwrap();
        let path = path.to_str().unwrap();
        for args in [
            &["check", "--config", path][..],
            &["serve", "--config", path, "--port", "0"],
        ] {
            let command = args[0];
            let (code, _, err) = host_cmd(args);
            assert_eq!(code, Some(2), "{command}: {text}\n{err}");
            assert!(
                err.starts_with("error: ") && err.contains(expected),
                "{command}: {text}\n{err}\nwanted: {expected}"
            );
            assert_eq!(
                err.lines().filter(|l| l.starts_with("error:")).count(),
                1,
                "{err}"
            );
        }
    }
}

#[test]
fn each_limit_trips_on_its_tenant_while_the_neighbour_answers() {
    let dir = crate::common::fresh_dir("manifest-limits");
    let manifest = dir.join("wasgi.toml");
    let hostile = format!("{:?}", example("hostile"));
    std::fs::write(
        &manifest,
        format!(
            "[defaults]\ncpu_limit = 10\ntimeout = 60\n\n\
             [[app]]\nname = \"neighbour\"\ncomponent = {hostile}\n\n\
             [[app]]\nname = \"bomb\"\ncomponent = {hostile}\nroute = \"/bomb-app\"\nmax_memory = \"24MiB\"\n\n\
             [[app]]\nname = \"spin\"\ncomponent = {hostile}\nroute = \"/spin\"\ncpu_limit = 0.3\n\n\
             [[app]]\nname = \"slow\"\ncomponent = {hostile}\nroute = \"/slow-app\"\ntimeout = 1\n\n\
             [[app]]\nname = \"small\"\ncomponent = {hostile}\nroute = \"/small\"\nmax_body_size = 1000\n\n\
             [[app]]\nname = \"narrow\"\ncomponent = {hostile}\nroute = \"/narrow\"\nmax_concurrency = 1\nmax_queue = 1\n"
        ),
    )
    .unwrap();
    let host = Arc::new(Host::serve(&["--config", manifest.to_str().unwrap()]));
    assert_eq!(host.get("/ok").text(), "ok");
    // The neighbour is asked the whole time, and always answers.
    let neighbour = {
        let host = host.clone();
        Load::start(1, move || {
            let r = host.get("/ok");
            match (r.status, r.text().as_str()) {
                (200, "ok") => Ok(()),
                _ => Err(r.head),
            }
        })
    };
    let body = "x".repeat(2000);
    let faults: Vec<(String, u16)> = vec![
        (
            "GET /bomb-app/bomb HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".into(),
            500,
        ),
        (
            "GET /spin/loop HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".into(),
            500,
        ),
        (
            "GET /slow-app/hold?mb=1&ms=5000 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
                .into(),
            504,
        ),
        (
            format!(
                "POST /small/ok HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 2000\r\n\r\n{body}"
            ),
            413,
        ),
    ];
    // More hostile requests than cores, all at once.
    let storm: Vec<_> = faults
        .iter()
        .flat_map(|f| std::iter::repeat_n(f.clone(), 4))
        .map(|(raw, status)| {
            let host = host.clone();
            std::thread::spawn(move || (host.request(&raw).status, status))
        })
        .collect();
    for thread in storm {
        let (got, wanted) = thread.join().unwrap();
        assert_eq!(got, wanted);
    }
    let (answered, failed) = neighbour.finish();
    assert!(
        failed.is_empty(),
        "the neighbour was not answered: {failed:?}"
    );
    assert!(answered > 0);
    // One line per request naming the limit and the app that set it.
    host.wait_log_count("(max_memory of app \"bomb\" in wasgi.toml)", 4);
    host.wait_log_count(
        "CPU time for this request (cpu_limit of app \"spin\" in wasgi.toml)",
        4,
    );
    host.wait_log_count("\"GET /slow-app/hold?mb=1&ms=5000 HTTP/1.1\" 504", 4);
    // The message names the limit where it was set.
    host.wait_log_count(
        "TimeoutError: the request took longer than its 1s (timeout of app \"slow\" in wasgi.toml)",
        4,
    );
    host.wait_log_count("\"POST /small/ok HTTP/1.1\" 413", 4);
    // The small tenant still takes small bodies, the others big ones.
    let ok = |target: &str, len: usize| {
        let raw = format!(
            "POST {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: {len}\r\n\r\n{}",
            "y".repeat(len)
        );
        host.request(&raw).status
    };
    assert_eq!((ok("/small/ok", 1000), ok("/ok", 2000)), (200, 200));
    // One request runs, one waits, the others get 503 at once.
    let narrow: Vec<_> = (0..4)
        .map(|_| {
            let host = host.clone();
            std::thread::spawn(move || host.get("/narrow/hold?mb=1&ms=1500"))
        })
        .collect();
    let mut answers: Vec<(u16, Option<String>)> = narrow
        .into_iter()
        .map(|t| {
            let r = t.join().unwrap();
            (r.status, r.header("Retry-After").map(str::to_string))
        })
        .collect();
    answers.sort();
    let busy = (503, Some("1".to_string()));
    assert_eq!(answers, [(200, None), (200, None), busy.clone(), busy]);
    host.wait_log_count(
        "the app is busy: 1 requests running (max_concurrency) and 1 waiting (max_queue)",
        2,
    );
    assert_eq!(host.get("/ok").status, 200);
}

/// Replaces `to` with `from` the way deploys do: a copy, then a rename.
fn deploy(from: &std::path::Path, to: &std::path::Path) {
    let tmp = to.with_extension("tmp");
    std::fs::copy(from, &tmp).unwrap();
    std::fs::rename(&tmp, to).unwrap();
}

#[test]
fn reloads_under_load_lose_no_request_and_a_broken_file_keeps_the_old_app() {
    let dir = crate::common::fresh_dir("manifest-reload");
    let component = dir.join("app.wasm");
    deploy(&example("hello"), &component);
    let manifest = dir.join("wasgi.toml");
    std::fs::write(
        &manifest,
        "[[app]]\nname = \"app\"\ncomponent = \"app.wasm\"\n",
    )
    .unwrap();
    let host = Arc::new(Host::serve(&[
        "--config",
        manifest.to_str().unwrap(),
        "--admin",
        "127.0.0.1:0",
    ]));
    // Requests the whole time, on several connections at once.
    let drivers = {
        let host = host.clone();
        Load::start(4, move || {
            let r = host.get("/x");
            if r.status == 200 && r.complete {
                Ok(())
            } else {
                Err(r.head)
            }
        })
    };
    let apps = [example("environ-echo"), example("hello")];
    for i in 1..=10 {
        deploy(&apps[(i + 1) % 2], &component);
        host.wait_log_count("reloaded: 1 app now serving", i);
        let body = host.get("/x").text();
        let echo = body.contains("\"SCRIPT_NAME\"");
        assert_eq!(
            echo,
            i % 2 == 1,
            "reload {i} serves the wrong app: {body}\n{}",
            host.log()
        );
    }
    // A broken component: the old app keeps serving, the log says why.
    std::fs::write(dir.join("broken.wasm"), b"not wasm").unwrap();
    deploy(&dir.join("broken.wasm"), &component);
    host.wait_log("reload failed; the apps loaded before keep serving: ");
    assert_eq!(host.get("/x").text(), "Hello World");
    // A broken manifest: the same.
    std::fs::write(
        &manifest,
        "[[app]]\nname = \"app\"\ncomponent = \"app.wasm\"\nbogus = 1\n",
    )
    .unwrap();
    host.wait_log("wasgi.toml, line 4: unknown field `bogus`");
    assert_eq!(host.get("/x").text(), "Hello World");
    // Fixed, and SIGHUP reloads too.
    deploy(&apps[0], &component);
    std::fs::write(
        &manifest,
        "[[app]]\nname = \"app\"\ncomponent = \"app.wasm\"\nroute = \"/x\"\n",
    )
    .unwrap();
    host.wait_log_count("reloaded: 1 app now serving", 11);
    host.signal("HUP");
    host.wait_log_count("reloaded: 1 app now serving", 12);
    let (served, failed) = drivers.finish();
    assert!(
        failed.is_empty(),
        "failed requests across reloads: {failed:?}"
    );
    assert!(served > 0);
    let env = environ(&host, "/x/y", "");
    assert_eq!(
        (var(&env, "SCRIPT_NAME"), var(&env, "PATH_INFO")),
        (Some("/x"), Some("/y"))
    );
    // The metrics counted the reloads the log reports (a deploy's two
    // writes may make one reload or two).
    let metrics = admin_get(&host, "/metrics").text();
    let log = host.log();
    let (ok, failed) = (
        log.matches("reloaded: 1 app now serving").count(),
        log.matches("reload failed; ").count(),
    );
    assert!(ok >= 12 && failed == 2, "{log}");
    let reloads = format!("wasgi_reloads_total{{result=\"ok\"}} {ok}\n");
    assert!(metrics.contains(&reloads), "{metrics}");
    assert!(
        metrics.contains("wasgi_reloads_total{result=\"failed\"} 2\n"),
        "{metrics}"
    );
}

/// A GET to the admin listener `host` logged.
pub(crate) fn admin_get(host: &Host, path: &str) -> crate::common::Response {
    let line = host.wait_log("Admin endpoints on http://");
    let admin: std::net::SocketAddr = line
        .split("Admin endpoints on http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap()
        .parse()
        .unwrap();
    let mut conn = crate::common::Conn::open(admin);
    conn.send(format!("GET {path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").as_bytes());
    conn.response(false)
}

#[test]
fn the_admin_listener_reports_health_readiness_and_what_happened() {
    let dir = crate::common::fresh_dir("manifest-admin");
    let manifest = dir.join("wasgi.toml");
    let hostile = format!("{:?}", example("hostile"));
    std::fs::write(
        &manifest,
        format!(
            "[[app]]\nname = \"neighbour\"\ncomponent = {hostile}\n\n\
             [[app]]\nname = \"bomb\"\ncomponent = {hostile}\nroute = \"/bomb-app\"\nmax_memory = \"24MiB\"\n\n\
             [[app]]\nname = \"spin\"\ncomponent = {hostile}\nroute = \"/spin\"\ncpu_limit = 0.3\n\n\
             [[app]]\nname = \"slow\"\ncomponent = {hostile}\nroute = \"/slow-app\"\ntimeout = 0.5\n"
        ),
    )
    .unwrap();
    let host = Host::serve(&[
        "--config",
        manifest.to_str().unwrap(),
        "--admin",
        "127.0.0.1:0",
        "--drain-timeout",
        "20",
    ]);
    let admin_get = |path: &str| admin_get(&host, path);
    assert_eq!(admin_get("/healthz").text(), "ok\n");
    assert_eq!(
        (admin_get("/readyz").status, admin_get("/nope").status),
        (200, 404)
    );
    for _ in 0..3 {
        assert_eq!(host.get("/ok").status, 200);
    }
    for target in [
        "/bomb-app/bomb",
        "/bomb-app/bomb",
        "/spin/loop",
        "/slow-app/hold?ms=3000",
    ] {
        assert!(host.get(target).status >= 500, "{target}");
    }
    host.wait_log_count("HTTP/1.1\" 5", 4);
    let metrics = admin_get("/metrics");
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    for line in [
        "wasgi_requests_total{app=\"neighbour\",status=\"2xx\"} 3",
        "wasgi_requests_total{app=\"bomb\",status=\"5xx\"} 2",
        "wasgi_requests_total{app=\"spin\",status=\"5xx\"} 1",
        "wasgi_requests_total{app=\"slow\",status=\"5xx\"} 1",
        "wasgi_guest_failures_total{app=\"bomb\",cause=\"memory_limit\"} 2",
        "wasgi_guest_failures_total{app=\"spin\",cause=\"cpu_limit\"} 1",
        "wasgi_guest_failures_total{app=\"slow\",cause=\"timeout\"} 1",
        "wasgi_requests_in_flight{app=\"neighbour\"} 0",
        "wasgi_request_duration_seconds_count{app=\"neighbour\"} 3",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in:\n{text}");
    }
    // Every request of the neighbour instantiated a fresh instance.
    let instantiations = text
        .lines()
        .find_map(|l| l.strip_prefix("wasgi_instantiation_seconds_count{app=\"neighbour\"} "))
        .and_then(|n| n.parse::<u64>().ok());
    assert_eq!(instantiations, Some(3), "{text}");
    // Draining (SIGTERM with a request in flight): not ready any more.
    let addr = host.addr;
    let in_flight = std::thread::spawn(move || {
        let mut conn = crate::common::Conn::open(addr);
        conn.send(b"GET /hold?mb=1&ms=2000 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        conn.response(false).status
    });
    host.wait_log("hostile: holding 1 MiB");
    host.signal("TERM");
    host.wait_log("Shutting down");
    let ready = admin_get("/readyz");
    assert_eq!((ready.status, ready.text().as_str()), (503, "draining\n"));
    assert_eq!(in_flight.join().unwrap(), 200);
}

#[test]
fn json_access_lines_name_the_app() {
    let manifest = examples_manifest();
    let host = Host::serve(&[
        "--config",
        manifest.to_str().unwrap(),
        "--log-format",
        "json",
    ]);
    assert_eq!(get(&host, "/shop/cart?x=1", "t", "").status, 200);
    assert_eq!(get(&host, "/wasi/y", "t", "").status, 200);
    assert_eq!(
        get(&host, "/missing.txt", "static.localhost", "").status,
        404
    );
    let log = host.wait_log_count("\"remote_addr\"", 3);
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let find = |app: &str| {
        lines
            .iter()
            .find(|l| l["app"] == app)
            .unwrap_or_else(|| panic!("{app}: {log}"))
    };
    let shop = find("shop");
    assert_eq!(shop["request"], "GET /shop/cart?x=1 HTTP/1.1");
    assert_eq!(
        (shop["status"].as_u64(), shop["remote_addr"].as_str()),
        (Some(200), Some("127.0.0.1"))
    );
    assert!(shop["bytes"].as_u64().unwrap() > 100);
    assert!(shop["time"].as_str().unwrap().contains('T'));
    assert_eq!(find("wasi")["status"], 200);
    assert_eq!(find("files")["status"], 404);
}
