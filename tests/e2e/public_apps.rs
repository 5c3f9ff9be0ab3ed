//! Public apps nobody here wrote, from their own repositories, unmodified,
//! deployed as the README tells a new user to.
//!
//! `python/locallibrary` is MDN's Django tutorial app
//! (github.com/mdn/django-locallibrary-tutorial at 3dbedbe, CC0: its
//! `LICENSE`), every file as `git archive` gives it: Django 5.1 pinned,
//! whitenoise, `psycopg2-binary` for a PostgreSQL it does not use here,
//! its SQLite database at `BASE_DIR / "db.sqlite3"`, in the project
//! directory itself. `python/falcon_things` is Falcon's quickstart.

use crate::common::Host;
use crate::python::{build, repo};
use crate::python_apps::{copy_tree, field_value, form, page};
use crate::python_commands::{cookie, run_python, run_python_with, text};
use crate::sqlite::fresh_dir;

#[test]
fn mdn_s_django_local_library_migrates_logs_in_adds_an_author_and_logs_out() {
    let project = repo().join("tests/e2e/python/locallibrary");
    let requirements = project.join("requirements.txt");
    // psycopg2-binary 2.9.9 has no wheel for the guest's Python: left out,
    // as the flag asks, the build goes on.
    let component = build(
        "locallibrary",
        &[
            "locallibrary.wsgi:application",
            "--path",
            project.to_str().unwrap(),
            "--requirements",
            requirements.to_str().unwrap(),
            "--allow-missing-native",
            "psycopg2-binary",
        ],
        &[&project],
    );
    // The database goes in the project's own directory: a copy of it,
    // granted where the component has it (`.`, the app's directory).
    let copy = fresh_dir("locallibrary");
    copy_tree(&project, &copy);
    let grant = format!("{}::.", copy.display());
    let grants = ["--dir-rw", grant.as_str()];
    let no_driver = run_python(&component, &grants, &["-c", "import psycopg2"]);
    assert_eq!(no_driver.status.code(), Some(1), "{no_driver:?}");
    assert!(
        text(&no_driver.stderr).contains("No module named 'psycopg2'"),
        "{no_driver:?}"
    );

    let migrated = run_python(&component, &grants, &["manage.py", "migrate"]);
    assert!(migrated.status.success(), "{migrated:?}");
    let out = text(&migrated.stdout);
    assert!(
        out.contains(
            "Applying catalog.0027_genre_genre_name_case_insensitive_unique_and_more... OK"
        ),
        "{out}"
    );
    let created = run_python_with(
        &component,
        &grants,
        &["manage.py", "createsuperuser", "--noinput"],
        &[
            ("DJANGO_SUPERUSER_USERNAME", "librarian"),
            ("DJANGO_SUPERUSER_EMAIL", "librarian@example.org"),
            ("DJANGO_SUPERUSER_PASSWORD", "dewey-decimal-500"),
        ],
        "",
    );
    assert!(created.status.success(), "{created:?}");

    let host = Host::serve(&[component.to_str().unwrap(), "--dir-rw", &grant]);
    let addr = host.addr;
    let root = page(addr, "/", "");
    assert_eq!(root.status, 301, "{}", root.text());
    assert_eq!(root.header("Location"), Some("/catalog/"));
    let home = page(addr, "/catalog/", "");
    assert_eq!(home.status, 200, "{}", home.text());
    assert!(
        home.text().contains("<h1>Local Library Home</h1>"),
        "{}",
        home.text()
    );
    assert!(
        home.text().contains("<strong>Books:</strong> 0"),
        "{}",
        home.text()
    );
    // Its stylesheet, from the app's static directory (whitenoise, DEBUG).
    let css = page(addr, "/static/css/styles.css", "");
    assert_eq!(css.status, 200);
    assert_eq!(
        css.body,
        std::fs::read(project.join("catalog/static/css/styles.css")).unwrap()
    );
    // A page for staff only sends a visitor to log in.
    let mine = page(addr, "/catalog/mybooks/", "");
    assert_eq!(mine.status, 302);
    assert_eq!(
        mine.header("Location"),
        Some("/accounts/login/?next=/catalog/mybooks/")
    );

    // Logged in through the app's own login page.
    let login = page(addr, "/accounts/login/", "");
    assert_eq!(login.status, 200, "{}", login.text());
    let csrf = cookie(&login, "csrftoken");
    let token = field_value(&login.text(), "csrfmiddlewaretoken");
    let logged_in = form(
        addr,
        "/accounts/login/",
        &csrf,
        &format!("csrfmiddlewaretoken={token}&username=librarian&password=dewey-decimal-500&next="),
    );
    assert_eq!(logged_in.status, 302, "{}", logged_in.text());
    assert_eq!(logged_in.header("Location"), Some("/"));
    let cookies = format!("{csrf}; {}", cookie(&logged_in, "sessionid"));
    let mine = page(addr, "/catalog/mybooks/", &cookies);
    assert_eq!(mine.status, 200, "{}", mine.text());
    assert!(mine.text().contains("User: librarian"), "{}", mine.text());
    let admin = page(addr, "/admin/", &cookies);
    assert_eq!(admin.status, 200, "{}", admin.text());
    assert!(admin.text().contains("Site administration"));

    // The librarian's form adds an author, which the list then shows.
    let new = page(addr, "/catalog/author/create/", &cookies);
    assert_eq!(new.status, 200, "{}", new.text());
    let token = field_value(&new.text(), "csrfmiddlewaretoken");
    let added = form(
        addr,
        "/catalog/author/create/",
        &cookies,
        &format!(
            "csrfmiddlewaretoken={token}&first_name=Ada&last_name=Lovelace\
             &date_of_birth=1815-12-10&date_of_death=1852-11-27"
        ),
    );
    assert_eq!(added.status, 302, "{}", added.text());
    assert_eq!(added.header("Location"), Some("/catalog/author/1"));
    let authors = page(addr, "/catalog/authors/", "");
    assert!(
        authors.text().contains("Lovelace, Ada"),
        "{}",
        authors.text()
    );
    let db = rusqlite::Connection::open(copy.join("db.sqlite3")).unwrap();
    let born: String = db
        .query_row(
            "SELECT date_of_birth FROM catalog_author WHERE last_name = 'Lovelace'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(born, "1815-12-10");

    // Logging out (a POST, as Django 5 has it) logs out.
    let token = field_value(&mine.text(), "csrfmiddlewaretoken");
    let out = form(
        addr,
        "/accounts/logout/",
        &cookies,
        &format!("csrfmiddlewaretoken={token}"),
    );
    assert_eq!(out.status, 200, "{}", out.text());
    assert!(out.text().contains("Logged out!"), "{}", out.text());
    let after = page(addr, "/catalog/mybooks/", &cookies);
    assert_eq!(after.status, 302, "{}", after.text());
    assert!(!copy.join("db.sqlite3-journal").exists());
}

/// Falcon's quickstart, `examples/things.py` from its repository
/// (falconry/falcon at ce0a35b8, Apache-2.0: its `LICENSE`). Falcon's wheel
/// carries Cython accelerators (`falcon.cyutil.*`) with pure-Python
/// fallbacks: left out, they stop nothing.
#[test]
fn falcon_s_quickstart_serves_without_its_optional_accelerators() {
    let project = repo().join("tests/e2e/python/falcon_things");
    let requirements = repo().join("tests/e2e/python/falcon-requirements.txt");
    let component = build(
        "falcon-things",
        &[
            "things:app",
            "--path",
            project.to_str().unwrap(),
            "--requirements",
            requirements.to_str().unwrap(),
        ],
        &[&project],
    );
    let host = Host::serve(&[component.to_str().unwrap()]);
    let things = host.get("/things");
    assert_eq!(things.status, 200, "{}", things.text());
    assert_eq!(
        things.header("Content-Type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        things.text(),
        "\nTwo things awe me most, the starry sky above me and the moral law within me.\n\n    ~ Immanuel Kant\n\n"
    );
    let missing = host.get("/nothing");
    assert_eq!(missing.status, 404);
}
