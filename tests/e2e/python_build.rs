//! What `host build-python` does with a project before the app runs: the
//! dependencies resolved for the guest's Python (not the build machine's),
//! the environment of the import at build time (`--env`, `.env`), an
//! application factory with literal arguments, a requirement with no
//! wheel for the guest's Python refused by name, and requests served
//! through the app before the snapshot (`--warm`) writing nothing.

use std::process::Command;

use crate::common::{Host, host_bin};
use crate::python::{build, repo};

#[test]
fn a_project_builds_for_the_guests_python_with_its_build_time_environment() {
    let dir = repo().join("tests/e2e/python/configured");
    // No --requirements: the project's pyproject.toml, whose dependency is
    // for Python 3.13 and newer only (the build machine's is older).
    let component = build(
        "configured",
        &[
            "app:create_app(\"production\", debug=False)",
            "--path",
            dir.to_str().unwrap(),
            "--env",
            "GREETING=built",
        ],
        &[&dir],
    );
    let host = Host::serve(&[component.to_str().unwrap(), "--env", "GREETING=running"]);
    assert_eq!(
        host.get("/").text(),
        "mode=production debug=False python=3.14 import=built dotenv=yes now=running cgi=True \
         home=/tmp,/tmp"
    );
    // A home of the app's own choosing, at run time.
    let host = Host::serve(&[component.to_str().unwrap(), "--env", "HOME=/srv/app"]);
    assert!(
        host.get("/")
            .text()
            .ends_with(" now=unset cgi=True home=/tmp,/srv/app"),
        "{}",
        host.get("/").text()
    );
}

/// `host build-python` with `args`, which must fail as the app's fault
/// (status 2, no component written): its stderr.
fn build_fails(args: &[&str]) -> String {
    let out = std::env::temp_dir().join(format!("wasgi-refused-{}.wasm", std::process::id()));
    let result = Command::new(host_bin())
        .arg("build-python")
        .args(args)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr).into_owned();
    assert_eq!(result.status.code(), Some(2), "{stderr}");
    assert!(!out.exists());
    stderr
}

#[test]
fn what_cannot_build_is_one_error_at_the_apps_line_or_naming_the_requirement() {
    let dir = std::env::temp_dir().join(format!("wasgi-no-release-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("app.py"),
        "def application(e, s):\n    return []\n",
    )
    .unwrap();
    // An app that serves itself at import, as run natively: the error is
    // at its own line, not in the library or the bridge below it.
    std::fs::write(
        dir.join("selfserve.py"),
        "from wsgiref.simple_server import make_server\n\n\
         def application(e, s):\n    return []\n\n\
         make_server('', 8000, application).serve_forever()\n",
    )
    .unwrap();
    let stderr = build_fails(&["selfserve", "--path", dir.to_str().unwrap()]);
    let line = format!("error: {}/selfserve.py, line 6: ", dir.display());
    assert!(stderr.starts_with(&line), "{stderr}");
    assert!(stderr.contains("if __name__ == \"__main__\":"), "{stderr}");
    // The host's stores at import: refused with a reason, not a trap.
    std::fs::write(
        dir.join("stateful.py"),
        "import wasgi.kv\n\nvisits = wasgi.kv.open()\n",
    )
    .unwrap();
    let stderr = build_fails(&["stateful", "--path", dir.to_str().unwrap()]);
    let line = format!(
        "error: {}/stateful.py, line 3: PermissionError: ",
        dir.display()
    );
    assert!(stderr.starts_with(&line), "{stderr}");
    assert!(
        stderr.contains(
            "the key-value stores (wasgi.kv, wasgi.sessions) cannot be used while the app is built"
        ),
        "{stderr}"
    );
    let stderr = build_fails(&[
        "app:make(open('/etc/passwd'))",
        "--path",
        dir.to_str().unwrap(),
    ]);
    assert!(stderr.contains("must be Python literals"), "{stderr}");
    // numba 0.60 has wheels up to CPython 3.12, and its llvmlite is
    // native code: the build machine's Python would have taken its wheel.
    std::fs::write(dir.join("requirements.txt"), "numba==0.60.0\n").unwrap();
    let stderr = build_fails(&["app", "--path", dir.to_str().unwrap()]);
    assert!(
        stderr.contains("cannot install")
            && stderr.contains("for the guest's Python 3.14")
            && stderr.contains("has no wheel for CPython 3.14"),
        "{stderr}"
    );
    assert!(!stderr.contains("[stdout]"), "{stderr}");
    // A requirement that does not import without the native code left out
    // (the app imports it only in a request): an error naming the import,
    // unless the app says it can do without.
    std::fs::write(dir.join("requirements.txt"), "psycopg2-binary==2.9.11\n").unwrap();
    let stderr = build_fails(&["app", "--path", dir.to_str().unwrap()]);
    assert!(
        stderr.starts_with(
            "error: `psycopg2` does not work without its native code: `import psycopg2` fails \
             (ModuleNotFoundError: No module named 'psycopg2._psycopg'), as `psycopg2._psycopg` was left out"
        ) && stderr.contains("--allow-missing-native psycopg2"),
        "{stderr}"
    );
    let out = dir.join("allowed.wasm");
    let allowed = Command::new(host_bin())
        .args([
            "build-python",
            "app",
            "--allow-missing-native",
            "psycopg2",
            "--path",
        ])
        .arg(&dir)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert!(allowed.status.success(), "{allowed:?}");
    assert!(
        String::from_utf8_lossy(&allowed.stderr).contains("note: left out psycopg2/_psycopg."),
        "{allowed:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Every file under `dir` and its bytes.
fn contents(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(contents(&path));
        } else {
            files.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    files.sort();
    files
}

#[test]
fn warm_requests_run_at_build_without_writing_and_a_fresh_instance_starts_there() {
    // A Django project with its database migrated, as on a developer's
    // machine, warmed with its pages (one of which hashes a password,
    // which the host does not do at build time, and one that is not there).
    let project = crate::sqlite::fresh_dir("django-warm");
    crate::python_apps::copy_tree(&repo().join("tests/e2e/python/djsite"), &project);
    let var = project.join("var");
    std::fs::create_dir_all(&var).unwrap();
    let (plain, _) = crate::python_apps::django_site("django-warm-unused");
    let migrated = crate::python_commands::run_python(
        &plain,
        &["--dir-rw", &format!("{}::var", var.display())],
        &["manage.py", "migrate", "--noinput", "-v", "0"],
    );
    assert!(migrated.status.success(), "{migrated:?}");
    let before = contents(&project);
    let requirements = repo().join("tests/e2e/python/django-requirements.txt");
    let out = project.join("warm.wasm");
    let built = Command::new(host_bin())
        .args(["build-python", "djsite.wsgi:application", "--path"])
        .arg(&project)
        .arg("--requirements")
        .arg(&requirements)
        .args([
            "--warm",
            "/",
            "--warm",
            "http://localhost:8000/admin/login/",
        ])
        .args(["--warm", "/hasher/", "--warm", "/nope"])
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&built.stderr);
    assert!(built.status.success(), "{stderr}");
    for line in [
        "warmed GET /: 200 OK in ",
        "warmed GET http://localhost:8000/admin/login/: 200 OK in ",
        "warmed GET /nope: 404 Not Found in ",
    ] {
        assert!(stderr.contains(line), "{line} in {stderr}");
    }
    assert!(
        stderr.contains("warmed GET /hasher/: 500 Internal Server Error in ")
            && stderr.contains("password hashing (hashlib.pbkdf2_hmac, hashlib.scrypt) cannot be used while the app is built"),
        "{stderr}"
    );
    // Nothing in the project changed (the database included), but the
    // component written.
    std::fs::rename(&out, project.with_extension("wasm")).unwrap();
    assert!(
        contents(&project) == before,
        "the build changed the project"
    );
    // At run time: the database opens writable (the build's connection was
    // closed before the snapshot), and what was refused at build works.
    let component = project.with_extension("wasm");
    let host = Host::serve(&[
        component.to_str().unwrap(),
        "--dir-rw",
        &format!("{}::var", var.display()),
    ]);
    let index = host.get("/");
    assert_eq!(index.status, 200, "{}", index.text());
    let csrf = index.header("Set-Cookie").unwrap();
    let csrf = csrf.split(';').next().unwrap().trim().to_string();
    let token = crate::python_apps::field_value(&index.text(), "csrfmiddlewaretoken");
    let posted = crate::python_apps::form(
        host.addr,
        "/",
        &csrf,
        &format!("csrfmiddlewaretoken={token}&text=warm"),
    );
    assert_eq!(posted.status, 302, "{}", posted.text());
    assert!(host.get("/").text().contains("warm ("));
    assert_eq!(host.get("/hasher/").text().trim(), "pbkdf2_sha256 True");
    assert!(!host.log().contains("Traceback"), "{}", host.log());
}
