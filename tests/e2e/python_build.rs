//! What `host build-python` does with a project before the app runs: the
//! dependencies resolved for the guest's Python (not the build machine's),
//! the environment of the import at build time (`--env`, `.env`), an
//! application factory with literal arguments, and a requirement with no
//! wheel for the guest's Python refused by name.

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
        "mode=production debug=False python=3.14 import=built dotenv=yes now=running cgi=True"
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
    std::fs::remove_dir_all(&dir).unwrap();
}
