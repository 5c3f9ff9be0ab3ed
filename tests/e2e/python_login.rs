//! Server-side sessions (`wasgi.sessions`) under a real login flow:
//! Flask-Login's `login_user`, `login_required` and `logout_user`, from
//! PyPI, over `FlaskSessions`. A logout must log out: the id the browser
//! had opens nothing afterwards, even presented again.

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::common::{Host, Response};
use crate::python::{build, repo};
use crate::python_apps::{form, page};

/// The session cookie a response sets, as a `Cookie` header's value.
fn cookie(r: &Response) -> String {
    let set = r
        .header("Set-Cookie")
        .unwrap_or_else(|| panic!("no cookie: {}", r.head));
    set.split(';').next().unwrap().to_string()
}

fn serve(name: &str) -> Host {
    let dir = repo().join("tests/e2e/python/login_app");
    let requirements = dir.join("requirements.txt");
    let component = build(
        "login-app",
        &[
            "app:app",
            "--path",
            dir.to_str().unwrap(),
            "--requirements",
            requirements.to_str().unwrap(),
        ],
        &[&dir],
    );
    let state = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&state);
    Host::serve(&[
        component.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
    ])
}

fn log_in(addr: SocketAddr, cookie_before: &str) -> Response {
    form(
        addr,
        "/login",
        cookie_before,
        "email=ada%40example.org&pw=analytical",
    )
}

#[test]
fn a_logout_with_flask_login_logs_out_and_the_old_id_opens_nothing() {
    let host = serve("login-logout-state");
    let addr = host.addr;
    assert_eq!(page(addr, "/protected", "").status, 401);
    let login = log_in(addr, "");
    assert_eq!(login.status, 302, "{}", login.text());
    assert_eq!(login.header("Location"), Some("/protected"));
    let sid = cookie(&login);
    let inside = page(addr, "/protected", &sid);
    assert_eq!(inside.status, 200, "{}", inside.text());
    assert_eq!(inside.text(), "Logged in as: ada@example.org");
    assert!(inside.header("Vary").is_some_and(|v| v.contains("Cookie")));

    let logout = page(addr, "/logout", &sid);
    assert_eq!(logout.text(), "Logged out");
    let expired = logout.header("Set-Cookie").expect("the cookie expired");
    assert!(
        expired.contains("Max-Age=0") || expired.contains("1970"),
        "{expired}"
    );
    // A browser that kept the cookie, or whoever copied it, is out.
    let after = page(addr, "/protected", &sid);
    assert_eq!(after.status, 401, "{}", after.text());

    // A session from before the login (planted, or a cart) is not the
    // logged-in one: the login moves it to a new id.
    let before = cookie(&form(addr, "/session/set", "", ""));
    let login = log_in(addr, &before);
    let after_login = cookie(&login);
    assert_ne!(after_login, before);
    assert_eq!(page(addr, "/protected", &before).status, 401);
    let carried = page(addr, "/session", &after_login).text();
    assert!(carried.contains("a=1,b=2"), "{carried}");
    assert_eq!(page(addr, "/protected", &after_login).status, 200);
}

#[test]
fn every_mutating_method_of_a_flask_session_is_saved() {
    let host = serve("login-mutate-state");
    let addr = host.addr;
    let sid = cookie(&form(addr, "/session/set", "", ""));
    // Each request runs in a fresh instance: what the next one reads is
    // what the store kept.
    for (op, expected) in [
        ("pop", "b=2"),
        ("update", "b=2,c=3"),
        ("setdefault", "b=2,c=3,d=4"),
        ("ior", "b=2,c=3,d=4,e=5"),
        ("popitem", "b=2,c=3,d=4"),
        ("del", "b=2,d=4"),
    ] {
        let r = form(addr, &format!("/session/{op}"), &sid, "");
        assert_eq!(r.status, 200, "{op}: {}", r.text());
        assert_eq!(r.text(), expected, "{op}");
        assert_eq!(
            page(addr, "/session", &sid).text(),
            expected,
            "{op} was not saved"
        );
    }
    let cleared = form(addr, "/session/clear", &sid, "");
    assert_eq!(cleared.text(), "");
    assert_eq!(page(addr, "/session", &sid).text(), "");
}
