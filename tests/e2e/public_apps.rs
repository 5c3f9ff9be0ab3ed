//! Public apps nobody here wrote, from their own repositories, unmodified,
//! deployed as the README tells a new user to.
//!
//! `python/locallibrary` is MDN's Django tutorial app
//! (github.com/mdn/django-locallibrary-tutorial at 3dbedbe, CC0: its
//! `LICENSE`), every file as `git archive` gives it: Django 5.1 pinned,
//! whitenoise, `psycopg2-binary` for a PostgreSQL it does not use here,
//! its SQLite database at `BASE_DIR / "db.sqlite3"`, in the project
//! directory itself. `python/falcon_things` is Falcon's quickstart.
//! `python/flask_todolist` is github.com/rtzll/flask-todolist at 6bfd32f
//! (MIT: its `LICENSE`), every file as `git archive` gives it: Flask,
//! Flask-SQLAlchemy, Flask-Login, Flask-WTF and Flask-Migrate, its
//! dependencies in `pyproject.toml`, its `SECRET_KEY` in `.env`.
//! `python/bottle_todo` is Bottle's own tutorial app (`docs/tutorial_app.rst`
//! of bottlepy/bottle at 2a743a3, MIT: Bottle's `LICENSE`): its complete
//! listing as `todo.py`, its templates in `views/` where the tutorial saves
//! them, its database script as `create_db.py`; the tutorial's
//! `pip3 install bottle` is `python/bottle-requirements.txt`.

use crate::common::Host;
use crate::python::{build, repo};
use crate::python_apps::{copy_tree, field_value, form, page};
use crate::python_commands::{cookie, run_python, run_python_with, set_cookie, text};
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

#[test]
fn a_flask_to_do_app_upgrades_registers_logs_in_adds_a_list_and_logs_out() {
    let project = repo().join("tests/e2e/python/flask_todolist");
    // As its README has it (`flask run` with FLASK_APP=todolist.py), built
    // with nothing but the module: the dependencies come from its
    // pyproject.toml, and the import (production config) needs the
    // SECRET_KEY its .env sets.
    let component = build(
        "flask-todolist",
        &["todolist:app", "--path", project.to_str().unwrap()],
        &[&project],
    );
    // Its database is `todolist.db` beside config.py.
    let copy = fresh_dir("flask-todolist");
    copy_tree(&project, &copy);
    let grant = format!("{}::.", copy.display());
    let upgraded = run_python(
        &component,
        &["--dir-rw", &grant],
        &["flask", "db", "upgrade"],
    );
    assert!(upgraded.status.success(), "{upgraded:?}");
    assert!(
        text(&upgraded.stderr).contains("Running upgrade  -> eff90419b076"),
        "{upgraded:?}"
    );

    let host = Host::serve(&[component.to_str().unwrap(), "--dir-rw", &grant]);
    let addr = host.addr;
    // Flask's own session cookie, kept as a browser keeps it.
    let mut session = String::new();
    let mut keep = |response: &crate::common::Response| {
        if let Some(set) = set_cookie(response, "session") {
            session = set;
        }
        session.clone()
    };
    let home = page(addr, "/", "");
    assert_eq!(home.status, 200, "{}", home.text());
    keep(&home);

    let register = page(addr, "/auth/register", "");
    let jar = keep(&register);
    let registered = form(
        addr,
        "/auth/register",
        &jar,
        &format!(
            "csrf_token={}&email=ada%40example.org&username=ada&password=engine-1843\
             &password_confirmation=engine-1843&submit=Register",
            csrf_token(&register.text())
        ),
    );
    assert_eq!(registered.status, 302, "{}", registered.text());
    assert_eq!(registered.header("Location"), Some("/auth/login"));
    let jar = keep(&registered);

    // A page for users only sends a visitor to log in.
    let closed = page(addr, "/todolists/", &jar);
    assert_eq!(closed.status, 302, "{}", closed.text());
    assert_eq!(
        closed.header("Location"),
        Some("/auth/login?next=%2Ftodolists%2F")
    );
    let login = page(addr, "/auth/login", &jar);
    let jar = keep(&login);
    let logged_in = form(
        addr,
        "/auth/login",
        &jar,
        &format!(
            "csrf_token={}&email_or_username=ada&password=engine-1843&submit=Log+In",
            csrf_token(&login.text())
        ),
    );
    assert_eq!(logged_in.status, 302, "{}", logged_in.text());
    assert_eq!(logged_in.header("Location"), Some("/"));
    let jar = keep(&logged_in);
    let lists = page(addr, "/todolists/", &jar);
    assert_eq!(lists.status, 200, "{}", lists.text());
    let jar = keep(&lists);

    // A list, and a to-do on it, both the user's.
    let added = form(
        addr,
        "/todolist/add/",
        &jar,
        &format!(
            "csrf_token={}&title=Engine&submit=Submit",
            csrf_token(&lists.text())
        ),
    );
    assert_eq!(added.status, 302, "{}", added.text());
    assert_eq!(added.header("Location"), Some("/todolist/1/"));
    let jar = keep(&added);
    let list = page(addr, "/todolist/1/", &jar);
    assert_eq!(list.status, 200, "{}", list.text());
    let jar = keep(&list);
    let todo = form(
        addr,
        "/todolist/1/",
        &jar,
        &format!(
            "csrf_token={}&todo=Write+the+first+program&submit=Submit",
            csrf_token(&list.text())
        ),
    );
    assert_eq!(todo.status, 302, "{}", todo.text());
    let jar = keep(&todo);
    let list = page(addr, "/todolist/1/", &jar);
    assert!(
        list.text().contains("Write the first program"),
        "{}",
        list.text()
    );
    let db = rusqlite::Connection::open(copy.join("todolist.db")).unwrap();
    let (title, creator): (String, String) = db
        .query_row(
            "SELECT title, creator FROM todolist WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((title.as_str(), creator.as_str()), ("Engine", "ada"));

    // Logging out logs out: the same browser is a visitor again.
    let out = page(addr, "/auth/logout", &jar);
    assert_eq!(out.status, 302, "{}", out.text());
    let jar = keep(&out);
    let after = page(addr, "/todolists/", &jar);
    assert_eq!(after.status, 302, "{}", after.text());
    assert_eq!(
        after.header("Location"),
        Some("/auth/login?next=%2Ftodolists%2F")
    );
}

#[test]
fn bottle_s_tutorial_to_do_list_keeps_every_task_eight_writers_add() {
    let project = repo().join("tests/e2e/python/bottle_todo");
    let requirements = repo().join("tests/e2e/python/bottle-requirements.txt");
    let component = build(
        "bottle-todo",
        &[
            "todo:app",
            "--path",
            project.to_str().unwrap(),
            "--requirements",
            requirements.to_str().unwrap(),
        ],
        &[&project],
    );
    // The tutorial's database script, run where the app will find
    // `todo.db`: the app's directory (a copy of it).
    let copy = fresh_dir("bottle-todo");
    copy_tree(&project, &copy);
    let grant = format!("{}::.", copy.display());
    let created = run_python(&component, &["--dir-rw", &grant], &["create_db.py"]);
    assert!(created.status.success(), "{created:?}");

    let host = Host::serve(&[component.to_str().unwrap(), "--dir-rw", &grant]);
    let addr = host.addr;
    let root = page(addr, "/", "");
    assert_eq!(root.status, 303, "{}", root.text());
    let open = page(addr, "/todo", "");
    assert_eq!(open.status, 200, "{}", open.text());
    assert!(open.text().contains("<td>Visit the Python website</td>"));
    assert!(!open.text().contains("Choose your favorite WSGI-Framework"));

    // Eight writers at once, each connecting to the file per request as
    // the tutorial does: every task lands, once.
    let writers: Vec<_> = (0..8)
        .map(|w| {
            std::thread::spawn(move || {
                for i in 0..5 {
                    let added = form(
                        addr,
                        "/new",
                        "",
                        &format!("task=writer+{w}+task+{i}&save=save"),
                    );
                    assert_eq!(added.status, 200, "{}", added.text());
                    assert!(
                        added
                            .text()
                            .contains("The new task was inserted into the database"),
                        "{}",
                        added.text()
                    );
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    let all = page(addr, "/todo?show=all", "").text();
    for w in 0..8 {
        for i in 0..5 {
            assert_eq!(
                all.matches(&format!("<td>writer {w} task {i}</td>"))
                    .count(),
                1,
                "{all}"
            );
        }
    }

    let edited = form(
        addr,
        "/edit/2",
        "",
        "task=Visited+python.org&status=closed&save=save",
    );
    assert!(
        edited
            .text()
            .contains("The task number 2 was successfully updated"),
        "{}",
        edited.text()
    );
    let json = page(addr, "/as_json/2", "");
    assert_eq!(json.header("Content-Type"), Some("application/json"));
    assert_eq!(
        json.text(),
        r#"{"id": 2, "task": "Visited python.org", "status": 0}"#
    );
    let missing = page(addr, "/nothing", "");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.text(), "Sorry, this page does not exist!");

    let db = rusqlite::Connection::open(copy.join("todo.db")).unwrap();
    let (rows, check): (i64, String) = db
        .query_row(
            "SELECT (SELECT count(*) FROM todo), (SELECT integrity_check FROM pragma_integrity_check)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((rows, check.as_str()), (44, "ok"));
}

/// The hidden `csrf_token` field of a Flask-WTF form.
fn csrf_token(page: &str) -> String {
    let at = page.find("name=\"csrf_token\"");
    let field = &page[at.unwrap_or_else(|| panic!("no csrf_token field in {page}"))..];
    let value = &field[field.find("value=\"").expect("its value") + 7..];
    value[..value.find('"').expect("its end")].to_string()
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
