//! `host run-python`: commands run in a Python app's own guest Python with
//! the directories it is served with: Django's `migrate` and
//! `createsuperuser`, then its admin adding a user; Flask-Migrate's
//! `flask db upgrade`, then the app serving the table it made; Python's
//! exit statuses, stdin and tracebacks.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::{Host, host_bin};
use crate::python::{build, repo};
use crate::python_apps::{django_site, field_value, form, page};
use crate::sqlite::fresh_dir;

/// `host run-python COMPONENT FLAGS -- ARGV`, finished.
pub(crate) fn run_python(component: &Path, flags: &[&str], argv: &[&str]) -> Output {
    run_python_with(component, flags, argv, &[], "")
}

pub(crate) fn run_python_with(
    component: &Path,
    flags: &[&str],
    argv: &[&str],
    env: &[(&str, &str)],
    stdin: &str,
) -> Output {
    use std::io::Write;
    let mut cmd = Command::new(host_bin());
    cmd.arg("run-python")
        .arg(component)
        .args(flags)
        .env("WASGI_CACHE_DIR", crate::common::test_cache_dir());
    for (name, value) in env {
        cmd.arg("--env").arg(format!("{name}={value}"));
    }
    let mut child = cmd
        .arg("--")
        .args(argv)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run host run-python");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The `name=value` of a `Set-Cookie` header.
pub(crate) fn cookie(response: &crate::common::Response, name: &str) -> String {
    set_cookie(response, name)
        .unwrap_or_else(|| panic!("no {name} cookie in {:?}", response.headers))
}

/// The `name=value` of a `Set-Cookie` header, if the response sets one.
pub(crate) fn set_cookie(response: &crate::common::Response, name: &str) -> Option<String> {
    let header = (response.headers.iter())
        .filter(|(n, _)| n.eq_ignore_ascii_case("Set-Cookie"))
        .map(|(_, v)| v.trim())
        .find(|v| v.starts_with(&format!("{name}=")))?;
    header.split(';').next().map(str::to_string)
}

#[test]
fn django_migrate_and_createsuperuser_run_in_the_guest_and_its_admin_adds_a_user() {
    let (component, var) = django_site("django-admin");
    let var_flag = format!("{}::var", var.display());
    let grants = ["--dir-rw", var_flag.as_str()];
    let migrated = run_python(&component, &grants, &["manage.py", "migrate", "--noinput"]);
    let out = text(&migrated.stdout);
    assert!(migrated.status.success(), "{migrated:?}");
    assert!(out.contains("Applying auth.0001_initial... OK"), "{out}");
    assert!(out.contains("Applying notes.0001_initial... OK"), "{out}");
    let created = run_python_with(
        &component,
        &grants,
        &["manage.py", "createsuperuser", "--noinput"],
        &[
            ("DJANGO_SUPERUSER_USERNAME", "ada"),
            ("DJANGO_SUPERUSER_EMAIL", "ada@example.org"),
            ("DJANGO_SUPERUSER_PASSWORD", "analytical-engine"),
        ],
        "",
    );
    assert!(created.status.success(), "{created:?}");
    assert!(text(&created.stdout).contains("Superuser created successfully."));
    // A command Django does not know: its own message and exit status.
    let unknown = run_python(&component, &grants, &["manage.py", "nosuchcommand"]);
    assert_eq!(unknown.status.code(), Some(1), "{unknown:?}");
    assert!(text(&unknown.stderr).contains("Unknown command: 'nosuchcommand'"));

    // The admin, under the guest's Python 3.14: log in, open the add-user
    // page (its templates copy a Context, which Django 5.1 could not do on
    // 3.14) and add a user.
    let host = Host::serve(&[component.to_str().unwrap(), "--dir-rw", &var_flag]);
    let addr = host.addr;
    let login = host.get("/admin/login/?next=/admin/");
    assert_eq!(login.status, 200, "{}", login.text());
    let csrf = cookie(&login, "csrftoken");
    let token = field_value(&login.text(), "csrfmiddlewaretoken");
    let logged_in = form(
        addr,
        "/admin/login/?next=/admin/",
        &csrf,
        &format!(
            "csrfmiddlewaretoken={token}&username=ada&password=analytical-engine&next=%2Fadmin%2F"
        ),
    );
    assert_eq!(logged_in.status, 302, "{}", logged_in.text());
    assert_eq!(logged_in.header("Location"), Some("/admin/"));
    let session = cookie(&logged_in, "sessionid");
    let cookies = format!("{csrf}; {session}");
    let add = page(addr, "/admin/auth/user/add/", &cookies);
    assert_eq!(add.status, 200, "{}", add.text());
    assert!(add.text().contains("Add user"), "{}", add.text());
    let token = field_value(&add.text(), "csrfmiddlewaretoken");
    let added = form(
        addr,
        "/admin/auth/user/add/",
        &cookies,
        &format!(
            "csrfmiddlewaretoken={token}&username=grace&usable_password=true\
             &password1=compiler-2-b&password2=compiler-2-b&_save=Save"
        ),
    );
    assert_eq!(added.status, 302, "{}", added.text());
    assert!(
        (added.header("Location").unwrap_or("")).starts_with("/admin/auth/user/"),
        "{:?}",
        added.headers
    );
    let db = rusqlite::Connection::open(var.join("db.sqlite3")).unwrap();
    let users: Vec<(String, bool)> = db
        .prepare("SELECT username, is_superuser FROM auth_user ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        users,
        [("ada".to_string(), true), ("grace".to_string(), false)]
    );
}

#[test]
fn flask_migrate_upgrades_the_database_the_app_then_serves() {
    let project = repo().join("tests/e2e/python/migrate_app");
    let component = build(
        "migrate-app",
        &["app:app", "--path", project.to_str().unwrap()],
        &[&project],
    );
    let instance = fresh_dir("flask-migrate");
    let instance_flag = format!("{}::instance", instance.display());
    let grants = ["--dir-rw", instance_flag.as_str()];
    let upgraded = run_python(&component, &grants, &["flask", "db", "upgrade"]);
    assert!(upgraded.status.success(), "{upgraded:?}");
    assert!(
        text(&upgraded.stderr).contains("Running upgrade  -> b3992f02ac08, users"),
        "{upgraded:?}"
    );
    let current = run_python(&component, &grants, &["flask", "db", "current"]);
    assert!(current.status.success(), "{current:?}");
    assert_eq!(text(&current.stdout).trim(), "b3992f02ac08 (head)");
    // The database is where Flask-SQLAlchemy puts `sqlite:///app.db`: the
    // instance folder, the directory granted.
    let db = rusqlite::Connection::open(instance.join("app.db")).unwrap();
    let version: String = db
        .query_row("SELECT version_num FROM alembic_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, "b3992f02ac08");

    let host = Host::serve(&[component.to_str().unwrap(), "--dir-rw", &instance_flag]);
    let added = form(host.addr, "/users", "", "name=Ada");
    assert_eq!(added.status, 201, "{}", added.text());
    assert_eq!(host.get("/users").text(), "Ada");
}

#[test]
fn a_command_has_python_s_exit_status_stdin_and_tracebacks() {
    let (component, _) = django_site("django-commands");
    let run = |argv: &[&str], stdin: &str| run_python_with(&component, &[], argv, &[], stdin);
    let echoed = run(
        &[
            "-c",
            "import sys; print('got', input(), sys.argv); sys.exit(3)",
            "x",
        ],
        "a line\n",
    );
    assert_eq!(echoed.status.code(), Some(3), "{echoed:?}");
    assert_eq!(text(&echoed.stdout), "got a line ['-c', 'x']\n");
    let module = run(&["-m", "django", "--version"], "");
    assert!(module.status.success(), "{module:?}");
    assert_eq!(text(&module.stdout).trim(), "5.2.8");
    let console_script = run(&["django-admin", "--version"], "");
    assert_eq!(text(&console_script.stdout).trim(), "5.2.8");
    // An exception: Python's traceback from the command's own frame, and
    // status 1; a message as `sys.exit` argument: status 1 too.
    let failed = run(&["-c", "1/0"], "");
    assert_eq!(failed.status.code(), Some(1));
    let stderr = text(&failed.stderr);
    assert!(
        stderr.starts_with("Traceback (most recent call last):\n  File \"<string>\", line 1"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("ZeroDivisionError: division by zero\n"),
        "{stderr}"
    );
    // A file the app's directory lacks is named where the user has it.
    let project = crate::python_apps::project("djsite");
    let absent = run(
        &["-c", "import os; open(os.path.abspath('absent.txt'))"],
        "",
    );
    assert_eq!(absent.status.code(), Some(1));
    let stderr = text(&absent.stderr);
    assert!(
        stderr.ends_with(&format!(
            "FileNotFoundError: [Errno 44] No such file or directory: '{}/absent.txt'\n",
            project.display()
        )),
        "{stderr}"
    );
    let message = run(&["-c", "raise SystemExit('no way')"], "");
    assert_eq!(message.status.code(), Some(1));
    assert_eq!(text(&message.stderr), "no way\n");
    // Nothing by that name: status 2, naming what there is.
    let missing = run(&["nosuch"], "");
    assert_eq!(missing.status.code(), Some(2));
    let stderr = text(&missing.stderr);
    assert!(stderr.contains("run-python: nosuch: no such file in the app's directory"));
    assert!(stderr.contains("django-admin"), "{stderr}");
    // A command that runs away is stopped at its limit, as a request is.
    let endless = run_python_with(
        &component,
        &["--cpu-limit", "1"],
        &["-c", "while True: pass"],
        &[],
        "",
    );
    assert_eq!(endless.status.code(), Some(1), "{endless:?}");
    let stderr = text(&endless.stderr);
    assert!(
        stderr.contains("error: ")
            && stderr.contains("TimeoutError: ")
            && stderr.trim_end().ends_with("(--cpu-limit)"),
        "{stderr}"
    );
    // A component built otherwise runs no commands: one error, status 2.
    let demo = crate::common::example("hello");
    let refused = run_python(&demo, &[], &["manage.py"]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    assert!(
        text(&refused.stderr).contains("does not export wasgi:wsgi/command"),
        "{refused:?}"
    );
}
