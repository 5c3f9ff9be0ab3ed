//! Python apps as their authors write them, built with `host build-python`
//! and served unmodified: Flask's tutorial blog (templates, static files,
//! SQLite, sessions, password hashes), SQLite written by two host
//! processes at once, and the probe of the standard library's modules.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::common::{Conn, Host, Response};
use crate::python::{build, repo};
use crate::sqlite::{self, SqliteApp, fresh_dir};

/// A copy of `tests/e2e/python/<name>` to build from (its build writes
/// into it, as a native run would: the Flask tutorial makes its instance
/// folder), made once per test run, at a fixed place: the component
/// records where its project was.
pub(crate) fn project(name: &str) -> PathBuf {
    static MADE: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("python-projects")
        .join(name);
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    if !made.iter().any(|m| m == name) {
        let _ = std::fs::remove_dir_all(&dir);
        copy_tree(&repo().join("tests/e2e/python").join(name), &dir);
        made.push(name.to_string());
    }
    dir
}

pub(crate) fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let path = entry.path();
        if path.file_name().is_some_and(|n| n == "__pycache__") {
            continue;
        }
        if path.is_dir() {
            copy_tree(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
}

/// The tutorial blog, built from `project`.
fn flaskr(project: &Path) -> PathBuf {
    let requirements = repo().join("examples/python-flask/requirements.txt");
    build(
        "flaskr",
        &[
            "flaskr:create_app()",
            "--path",
            project.to_str().unwrap(),
            "--requirements",
            requirements.to_str().unwrap(),
        ],
        &[project],
    )
}

pub(crate) fn form(addr: SocketAddr, target: &str, cookie: &str, body: &str) -> Response {
    let mut conn = Conn::open(addr);
    conn.send(
        format!(
            "POST {target} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    conn.response(false)
}

pub(crate) fn page(addr: SocketAddr, target: &str, cookie: &str) -> Response {
    let mut conn = Conn::open(addr);
    conn.send(
        format!(
            "GET {target} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    );
    conn.response(false)
}

/// Registers `user` and logs in: the session cookie.
fn log_in(addr: SocketAddr, user: &str) -> String {
    let registered = form(
        addr,
        "/auth/register",
        "",
        &format!("username={user}&password=pw-{user}"),
    );
    assert_eq!(registered.status, 302, "{}", registered.text());
    assert_eq!(registered.header("Location"), Some("/auth/login"));
    let wrong = form(
        addr,
        "/auth/login",
        "",
        &format!("username={user}&password=nope"),
    );
    assert!(
        wrong.text().contains("Incorrect password."),
        "{}",
        wrong.text()
    );
    let ok = form(
        addr,
        "/auth/login",
        "",
        &format!("username={user}&password=pw-{user}"),
    );
    assert_eq!(ok.status, 302, "{}", ok.text());
    let cookie = ok.header("Set-Cookie").expect("a session cookie");
    cookie.split(';').next().unwrap().to_string()
}

/// `clients` threads each creating `posts` posts as `cookie`, against the
/// hosts in turn: the titles acknowledged (answered with the redirect),
/// and what each client that got another answer got.
fn write_posts(
    addrs: &[SocketAddr],
    cookie: &str,
    clients: usize,
    posts: usize,
) -> (Vec<String>, Vec<String>) {
    let threads: Vec<_> = (0..clients)
        .map(|c| {
            let addr = addrs[c % addrs.len()];
            let cookie = cookie.to_string();
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                for i in 0..posts {
                    let title = format!("load-{c}-{i}");
                    let r = form(addr, "/create", &cookie, &format!("title={title}&body=b"));
                    if r.status != 302 {
                        return Err(format!("{title}: {} {}", r.status, r.text()));
                    }
                    acked.push(title);
                }
                Ok(acked)
            })
        })
        .collect();
    let mut acked = Vec::new();
    let mut failed = Vec::new();
    for t in threads {
        match t.join().unwrap() {
            Ok(titles) => acked.extend(titles),
            Err(e) => failed.push(e),
        }
    }
    (acked, failed)
}

/// The titles of the posts in the database file, read on the host, after
/// checking the file's integrity.
/// The tutorial's `flask --app flaskr init-db`, run in the component with
/// the instance folder `dir` (a `--dir-rw` value) it is then served with.
fn init_db(component: &Path, dir: &str) {
    let argv = ["flask", "--app", "flaskr", "init-db"];
    let init = crate::python_commands::run_python(component, &["--dir-rw", dir], &argv);
    assert!(init.status.success(), "{init:?}");
    assert_eq!(
        String::from_utf8_lossy(&init.stdout),
        "Initialized the database.\n"
    );
}

fn titles_in(db: &Path) -> Vec<String> {
    sqlite::column_of(db, "SELECT title FROM post ORDER BY title")
}

#[test]
fn flasks_tutorial_blog_runs_unmodified_with_its_templates_static_files_and_sqlite() {
    let project = project("flaskr");
    let component = flaskr(&project);
    let instance = project.join("instance");
    let _ = std::fs::remove_dir_all(&instance);
    std::fs::create_dir_all(&instance).unwrap();
    // Given without a guest path, the instance folder is seen where the
    // app computed it: beside its package in the packed project.
    init_db(&component, instance.to_str().unwrap());
    let host = Host::serve(&[
        component.to_str().unwrap(),
        "--dir-rw",
        instance.to_str().unwrap(),
    ]);
    let addr = host.addr;
    assert_eq!(host.get("/hello").text(), "Hello, World!");
    let index = host.get("/");
    assert_eq!(index.status, 200, "{}", index.text());
    assert!(
        index.text().contains("<title>Posts - Flaskr</title>"),
        "{}",
        index.text()
    );
    let css = host.get("/static/style.css");
    assert_eq!(css.status, 200);
    assert_eq!(
        css.body,
        std::fs::read(project.join("flaskr/static/style.css")).unwrap()
    );
    assert_eq!(host.get("/static/missing.css").status, 404);

    let cookie = log_in(addr, "alice");
    let again = form(addr, "/auth/register", "", "username=alice&password=x");
    assert!(
        again.text().contains("User alice is already registered."),
        "{}",
        again.text()
    );
    assert_eq!(
        form(addr, "/create", "", "title=t&body=b").header("Location"),
        Some("/auth/login")
    );
    let created = form(
        addr,
        "/create",
        &cookie,
        "title=First+post&body=Hello+there",
    );
    assert_eq!(created.status, 302, "{}", created.text());
    let listed = page(addr, "/", &cookie).text();
    assert!(listed.contains("<h1>First post</h1>"), "{listed}");
    // The `created` column came back through the timestamp converter.
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(listed.contains(&format!("by alice on {today}")), "{listed}");
    let edit = page(addr, "/1/update", &cookie);
    assert!(
        edit.text().contains("value=\"First post\""),
        "{}",
        edit.text()
    );
    assert_eq!(
        form(addr, "/1/update", &cookie, "title=Edited&body=b2").status,
        302
    );
    assert!(page(addr, "/", &cookie).text().contains("<h1>Edited</h1>"));
    let other = log_in(addr, "bob");
    assert_eq!(form(addr, "/1/delete", &other, "").status, 403);
    assert_eq!(form(addr, "/1/delete", &cookie, "").status, 302);
    assert!(!page(addr, "/", &cookie).text().contains("Edited"));

    let (acked, failed) = write_posts(&[addr], &cookie, 8, 20);
    assert!(failed.is_empty(), "{failed:?}\n{}", host.log());
    assert_eq!(acked.len(), 160);
    let db = instance.join("flaskr.sqlite");
    let mut acked = acked;
    acked.sort();
    assert_eq!(titles_in(&db), acked);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let hash: String = conn
        .query_row(
            "SELECT password FROM user WHERE username = 'alice'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(hash.starts_with("scrypt:32768:8:1$"), "{hash}");
    assert!(!host.log().contains("database is locked"), "{}", host.log());
    drop(host);

    // In a manifest, a relative `host` with no `guest` is placed as
    // `--dir-rw instance` is: where the app computed its instance folder.
    let manifests = fresh_dir("flaskr-manifest");
    let relative = pathdiff(&instance, &manifests);
    let manifest = manifests.join("wasgi.toml");
    std::fs::write(
        &manifest,
        format!(
            "[[app]]\nname = \"blog\"\ncomponent = {:?}\ndirs = [{{ host = {:?}, rw = true }}]\n",
            component.display().to_string(),
            relative.display().to_string()
        ),
    )
    .unwrap();
    let host = Host::serve(&["--config", manifest.to_str().unwrap()]);
    assert!(page(host.addr, "/", &cookie).text().contains(&acked[0]));
    assert_eq!(
        form(host.addr, "/create", &cookie, "title=Via+manifest&body=b").status,
        302
    );
    assert!(titles_in(&db).contains(&"Via manifest".to_string()));
}

/// `path` relative to the directory `base` (both absolute).
fn pathdiff(path: &Path, base: &Path) -> PathBuf {
    let (path, base) = (path.canonicalize().unwrap(), base.canonicalize().unwrap());
    let common = path
        .components()
        .zip(base.components())
        .take_while(|(a, b)| a == b)
        .count();
    let mut relative = PathBuf::new();
    for _ in base.components().skip(common) {
        relative.push("..");
    }
    relative.extend(path.components().skip(common));
    relative
}

#[test]
fn two_host_processes_write_one_sqlite_database_without_an_error_or_a_lost_row() {
    let component = flaskr(&project("flaskr"));
    // Anywhere else, a relative guest path starts from the app's directory.
    let instance = fresh_dir("flaskr-two-hosts");
    let dir = format!("{}::instance", instance.display());
    init_db(&component, &dir);
    let serve = || Host::serve(&[component.to_str().unwrap(), "--dir-rw", &dir]);
    let (a, b) = (serve(), serve());
    let cookie = log_in(a.addr, "carol");
    let (mut acked, failed) = write_posts(&[a.addr, b.addr], &cookie, 32, 8);
    assert!(failed.is_empty(), "{failed:?}\n{}\n{}", a.log(), b.log());
    acked.sort();
    assert_eq!(acked.len(), 256);
    assert_eq!(titles_in(&instance.join("flaskr.sqlite")), acked);
    for host in [&a, &b] {
        assert!(!host.log().contains("Traceback"), "{}", host.log());
    }
}

/// What the probe (`python/probe.py`) reports in a guest: each check's
/// outcome, as the README's table lists them.
#[test]
fn the_probe_of_the_standard_library_passes_what_the_readme_says() {
    let dir = repo().join("tests/e2e/python");
    let component = build(
        "probe",
        &["probe:application", "--path", dir.to_str().unwrap()],
        &[&dir],
    );
    let host = Host::serve(&[component.to_str().unwrap()]);
    let report: serde_json::Value = serde_json::from_slice(&host.get("/").body).unwrap();
    let not_ok = |name: &str| report[name].as_str().unwrap_or("").to_string();
    let expected_failures = [
        ("bz2", "ModuleNotFoundError: No module named '_bz2'"),
        ("lzma", "ModuleNotFoundError: No module named '_lzma'"),
        (
            "subprocess",
            "OSError: [Errno 58] wasi does not support processes.",
        ),
        ("threading", "RuntimeError: can't start new thread"),
    ];
    for (name, outcome) in report.as_object().unwrap() {
        let expected = expected_failures
            .iter()
            .find(|(n, _)| n == name)
            .map_or("ok", |(_, e)| e);
        assert_eq!(outcome, expected, "{name}: {}", not_ok(name));
    }
    assert_eq!(report.as_object().unwrap().len(), 24, "{report}");
    // Each instance's /tmp goes with it (once the store is dropped, just
    // after the response): none of this host's is left.
    let mine = format!("wasgi-tmp-{}-", host.pid());
    let left = || -> Vec<String> {
        std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(&mine))
            .collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !left().is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(left().is_empty(), "{:?}", left());
}

/// The value of `name="<field>" value="..."` in a page.
pub(crate) fn field_value(page: &str, field: &str) -> String {
    let at = page
        .find(&format!("name=\"{field}\" value=\""))
        .unwrap_or_else(|| panic!("{field} in {page}"));
    let rest = &page[at + field.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// `tests/e2e/python/djsite` built, and the directory of its database,
/// empty.
pub(crate) fn django_site(data: &str) -> (PathBuf, PathBuf) {
    let project = project("djsite");
    let requirements = repo().join("tests/e2e/python/django-requirements.txt");
    let component = build(
        "djsite",
        &[
            "djsite.wsgi:application",
            "--path",
            project.to_str().unwrap(),
            "--requirements",
            requirements.to_str().unwrap(),
        ],
        &[&project],
    );
    (component, fresh_dir(data))
}

#[test]
fn a_django_project_serves_its_templates_and_a_form_that_writes_to_sqlite() {
    let (component, var) = django_site("django-notes");
    // As a Django user deploys: `manage.py migrate` first, here in the
    // component's own Python with the directory it is served with.
    let var_flag = format!("{}::var", var.display());
    let migrated = crate::python_commands::run_python(
        &component,
        &["--dir-rw", &var_flag],
        &["manage.py", "migrate", "--noinput", "-v", "0"],
    );
    assert!(migrated.status.success(), "{migrated:?}");
    let host = Host::serve(&[component.to_str().unwrap(), "--dir-rw", &var_flag]);
    let addr = host.addr;
    let index = host.get("/");
    assert_eq!(index.status, 200, "{}", index.text());
    assert!(
        index.text().contains("<h1>Notes</h1>") && index.text().contains("No notes yet."),
        "{}",
        index.text()
    );
    let csrf = index.header("Set-Cookie").expect("a csrftoken cookie");
    let csrf = csrf.split(';').next().unwrap().to_string();
    let token = field_value(&index.text(), "csrfmiddlewaretoken");
    let refused = form(addr, "/", "", "text=no+token");
    assert_eq!(refused.status, 403);
    let posted = form(
        addr,
        "/",
        &csrf,
        &format!("csrfmiddlewaretoken={token}&text=Bonjour+Django"),
    );
    assert_eq!(posted.status, 302, "{}", posted.text());
    let listed = page(addr, "/", "").text();
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(listed.contains("Bonjour Django ("), "{listed}");
    assert!(listed.contains(&today[..7]), "{listed}");
    // Django's default hasher: PBKDF2-SHA256 with 1,000,000 iterations.
    assert_eq!(host.get("/hasher/").text().trim(), "pbkdf2_sha256 True");
    // The admin's templates come from django.contrib.admin's package.
    let admin = host.get("/admin/login/");
    assert_eq!(admin.status, 200, "{}", admin.text());
    assert!(
        admin.text().contains("Django administration"),
        "{}",
        admin.text()
    );
    let conn = rusqlite::Connection::open(var.join("db.sqlite3")).unwrap();
    let text: String = conn
        .query_row("SELECT text FROM notes_note", [], |r| r.get(0))
        .unwrap();
    assert_eq!(text, "Bonjour Django");
}

/// `python/sqlite_app.py`, its database in `data/` beside it.
fn sqlite_app() -> SqliteApp {
    let dir = repo().join("tests/e2e/python");
    let component = build(
        "sqlite-app",
        &["sqlite_app:application", "--path", dir.to_str().unwrap()],
        &[&dir],
    );
    SqliteApp {
        component,
        guest_dir: "data",
    }
}

#[test]
fn a_second_connection_in_a_request_shares_its_lock() {
    sqlite::a_second_connection_in_a_request_shares_its_lock(&sqlite_app(), "python-nested");
}

#[test]
fn a_request_that_dies_mid_transaction_leaves_no_partial_write() {
    sqlite::a_death_mid_transaction_leaves_no_partial_write(&sqlite_app(), "python-die");
}

#[test]
fn every_committed_row_survives_kill_9_of_the_host() {
    sqlite::every_commit_survives_kill_9(&sqlite_app(), "python-kill9");
}

#[test]
fn a_database_stops_at_max_file_size_whole_and_tmp_at_tmp_size() {
    let app = sqlite_app();
    let host = sqlite::a_database_stops_whole_at_max_file_size(
        &app,
        "python-full",
        &["--tmp-size", "128KiB"],
    );
    let addr = host.addr;
    // /tmp: each instance's own, 128KiB in all, files deleted while open
    // included; hostile instances at once do not take it from the others.
    // (A file write goes through a WASIp2 stream, whose every failure
    // wasi-libc reports as EIO: 29 in WASI's numbering.)
    let full = "OSError 29 I/O error";
    let hostile = crate::common::Load::start(8, move || {
        let text = page(addr, "/tmp?100,100", "").text();
        if text == full { Ok(()) } else { Err(text) }
    });
    for _ in 0..5 {
        assert_eq!(host.get("/tmp?100").text(), "written");
        assert_eq!(host.get("/tmp?60,60").text(), "written");
        assert_eq!(host.get("/tmp?200").text(), full);
    }
    let (refused, failures) = hostile.finish();
    assert!(failures.is_empty(), "{failures:?}");
    assert!(refused > 0);
    let log = host.wait_log("past tmp_size");
    let line = log.lines().find(|l| l.contains("past tmp_size")).unwrap();
    assert!(
        line.starts_with("write to /tmp/") && line.ends_with("tmp_size (128KiB)"),
        "{line}"
    );
}

#[test]
fn an_instances_tmp_is_its_own_even_beside_what_a_killed_host_left() {
    let app = sqlite_app();
    let temp = fresh_dir("python-tmp-left");
    let data = format!(
        "{}::{}",
        fresh_dir("python-tmp-data").display(),
        app.guest_dir
    );
    let host = Host::serve_env(
        &[app.component.to_str().unwrap(), "--dir-rw", &data],
        &[("TMPDIR", temp.to_str().unwrap())],
    );
    // What a host killed with SIGKILL leaves, had it had this one's
    // process id: its instances' directories, never removed.
    let left: Vec<String> = (0..64)
        .map(|n| format!("wasgi-tmp-{}-{n}", host.pid()))
        .collect();
    for name in &left {
        std::fs::create_dir(temp.join(name)).unwrap();
    }
    let addr = host.addr;
    let clients = crate::common::Load::start(8, move || {
        let text = page(addr, "/tmp?4,4", "").text();
        if text == "written" { Ok(()) } else { Err(text) }
    });
    std::thread::sleep(std::time::Duration::from_secs(2));
    let (written, failures) = clients.finish();
    assert!(
        failures.is_empty(),
        "{} failed: {:?}",
        failures.len(),
        failures.first()
    );
    assert!(written > 64, "{written}");
    // Each instance's directory goes with it (the last ones just after
    // their answers); what was there stays.
    let mut left = left;
    left.sort();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let mut there: Vec<String> = std::fs::read_dir(&temp)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        there.sort();
        if there == left {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{there:?}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The client app in `tests/e2e/python/<dir>`, built with its
/// `requirements.txt` from PyPI.
fn client_app(dir: &str, target: &str) -> PathBuf {
    let dir = repo().join("tests/e2e/python").join(dir);
    let requirements = dir.join("requirements.txt");
    let (path, requirements) = (dir.to_str().unwrap(), requirements.to_str().unwrap());
    let name = dir.file_name().unwrap().to_str().unwrap();
    build(
        name,
        &[target, "--path", path, "--requirements", requirements],
        &[&dir],
    )
}

/// The answers to `n` clients asking for `target` at once.
fn at_once(addr: SocketAddr, target: &str, n: usize) -> Vec<Response> {
    let clients: Vec<_> = (0..n)
        .map(|_| {
            let raw = format!("GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            std::thread::spawn(move || {
                let mut conn = Conn::open(addr);
                conn.send(raw.as_bytes());
                conn.response(false)
            })
        })
        .collect();
    clients.into_iter().map(|c| c.join().unwrap()).collect()
}

/// What the HTTPS probe (`python/https/https_app.py`) answers for a query.
fn fetched(host: &Host, query: &str) -> serde_json::Value {
    let response = host.get(&format!("/?{query}"));
    assert_eq!(response.status, 200, "{}", response.text());
    serde_json::from_slice(&response.body).unwrap_or_else(|e| panic!("{e}: {}", response.text()))
}

/// A guest's `ssl` is the host's TLS (rustls) over the guest's own socket:
/// `http.client`, `urllib.request`, `requests` (PyPI's, with certifi) and a
/// socket wrapped by hand all fetch from an HTTPS server, certificates are
/// checked as OpenSSL checks them and refusals read as OpenSSL words
/// them, and many guests do it at once.
#[test]
fn python_clients_fetch_over_https_with_the_hosts_tls() {
    let component = client_app("https", "https_app:application");
    let (server, cert) = crate::tls::serve_tls("wasi-http-hello");
    let port = server.addr.port();
    let ca = std::fs::read_to_string(&cert).unwrap();
    let allowed = format!("tcp://localhost:{port}");
    let allowed_ip = format!("tcp://127.0.0.1:{port}");
    let host = Host::serve(&[
        component.to_str().unwrap(),
        "--allow-outbound",
        &allowed,
        "--allow-outbound",
        &allowed_ip,
        "--env",
        &format!("TEST_CA={ca}"),
    ]);
    let url = format!("https://localhost:{port}/");
    let query = |how: &str, trust: &str| format!("url={url}&how={how}&trust={trust}");

    let got = fetched(&host, &query("http.client", "ca"));
    assert_eq!(got["status"], 200, "{got}");
    assert!(got["body"].as_str().unwrap().contains("Hello"), "{got}");
    assert_eq!(got["version"], "TLSv1.3", "{got}");
    assert_eq!(got["cipher"][1], "TLSv1.3", "{got}");
    assert_eq!(
        got["peer"]["subject"],
        serde_json::json!([[["commonName", "localhost"]]])
    );
    assert_eq!(
        got["peer"]["subjectAltName"],
        serde_json::json!([["DNS", "localhost"], ["IP Address", "127.0.0.1"]])
    );
    assert_eq!(got["peer"]["version"], 3);
    assert!(
        got["peer"]["notAfter"].as_str().unwrap().ends_with(" GMT"),
        "{got}"
    );

    for how in ["urllib", "requests"] {
        let got = fetched(&host, &query(how, "ca"));
        assert_eq!(got["status"], 200, "{how}: {got}");
    }
    // The default roots (Mozilla's; certifi's for requests) do not know
    // a self-signed certificate.
    for how in ["urllib", "http.client", "requests"] {
        let got = fetched(&host, &query(how, "default"));
        let error = got["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"),
            "{how}: {got}"
        );
    }
    assert_eq!(
        fetched(&host, &query("http.client", "default"))["verify_code"],
        18
    );
    // The default store is the one `SSL_CERT_FILE` names, as with OpenSSL.
    let store = format!("{}::/certs", cert.parent().unwrap().display());
    let with_store = Host::serve(&[
        component.to_str().unwrap(),
        "--allow-outbound",
        &allowed,
        "--dir",
        &store,
        "--env",
        "SSL_CERT_FILE=/certs/cert.pem",
    ]);
    assert_eq!(
        fetched(&with_store, &query("urllib", "default"))["status"],
        200
    );
    // CERT_NONE is what the guest asked for.
    assert_eq!(fetched(&host, &query("urllib", "none"))["status"], 200);
    // A socket upgraded by hand, checked against a name the certificate
    // does not have.
    let got = fetched(&host, &format!("url={url}&how=wrap&trust=ca"));
    assert_eq!(
        (got["status"].as_i64(), got["version"].as_str()),
        (Some(200), Some("TLSv1.3")),
        "{got}"
    );
    let got = fetched(
        &host,
        &format!("url={url}%3Fname%3Dexample.com&how=wrap&trust=ca"),
    );
    assert_eq!(got["verify_code"], 62, "{got}");
    assert!(
        got["error"]
            .as_str()
            .unwrap()
            .contains("Hostname mismatch, certificate is not valid for 'example.com'."),
        "{got}"
    );
    // The IP address is checked as one.
    let by_ip = format!("url=https://127.0.0.1:{port}/&how=http.client&trust=ca");
    assert_eq!(fetched(&host, &by_ip)["status"], 200);
    // TLS to a server that speaks plain HTTP there.
    let plain = Host::serve(&[crate::common::example("wasi-http-hello").to_str().unwrap()]);
    let plain_port = plain.addr.port();
    let host_plain = Host::serve(&[
        component.to_str().unwrap(),
        "--allow-outbound",
        &format!("tcp://localhost:{plain_port}"),
        "--env",
        &format!("TEST_CA={ca}"),
    ]);
    let got = fetched(
        &host_plain,
        &format!("url=https://localhost:{plain_port}/&how=urllib&trust=ca"),
    );
    assert!(
        got["error"]
            .as_str()
            .unwrap_or_default()
            .contains("[SSL: WRONG_VERSION_NUMBER]"),
        "{got}"
    );
    // More guests at once than there are cores, each with its own
    // connection.
    for response in at_once(host.addr, &format!("/?{}", query("http.client", "ca")), 8) {
        assert!(
            response.text().contains("\"status\": 200"),
            "{}",
            response.text()
        );
    }
}

/// pg8000 (pure Python, PyPI's) reads and writes PostgreSQL from a guest,
/// in plain text and over TLS started after PostgreSQL's SSLRequest on
/// the same socket (the upgrade the host's TLS allows), with clients at
/// once.
#[test]
fn pg8000_reads_and_writes_postgresql_in_plain_text_and_over_tls() {
    let component = client_app("pg", "pg_app:application");
    let (cert, key) = crate::tls::certificate();
    let pg = crate::common::PgServer::start_tls("python-pg8000", &cert, &key);
    let host = Host::serve(&[
        component.to_str().unwrap(),
        "--allow-outbound",
        &format!("tcp://localhost:{}", pg.port),
        "--env",
        &format!("TEST_CA={}", std::fs::read_to_string(&cert).unwrap()),
    ]);
    let plain = host.get(&format!("/?port={}", pg.port));
    assert_eq!(
        (plain.status, plain.text()),
        (200, "1 tls=False".to_string())
    );
    let tls = host.get(&format!("/?port={}&tls=yes", pg.port));
    assert_eq!((tls.status, tls.text()), (200, "2 tls=True".to_string()));
    for response in at_once(host.addr, &format!("/?port={}&tls=yes", pg.port), 6) {
        assert_eq!(response.status, 200, "{}", response.text());
        assert!(response.text().ends_with("tls=True"), "{}", response.text());
    }
    let last = host.get(&format!("/?port={}", pg.port));
    assert_eq!(last.text(), "9 tls=False");
}
