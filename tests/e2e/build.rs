//! Build hygiene: with nothing changed, the test command's build step
//! compiles nothing (a build script that watches a path which does not
//! exist reruns on every build, and the host is rebuilt each time).

use std::process::Command;

#[test]
fn a_second_build_with_nothing_changed_compiles_nothing() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace root");
    // The build this test runs in was the first; this is the second, in
    // the environment a shell has: without the variables cargo sets for a
    // test (a build script may watch one, as ring's does
    // CARGO_MANIFEST_DIR).
    let mut command = Command::new(cargo);
    command
        .current_dir(root)
        .args(["test", "--workspace", "--no-run", "--message-format=json"]);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let set_for_tests = ["CARGO_MANIFEST", "CARGO_PKG_", "CARGO_BIN_", "CARGO_CRATE_"]
            .iter()
            .any(|p| name.starts_with(p))
            || ["CARGO_TARGET_TMPDIR", "CARGO_PRIMARY_PACKAGE", "OUT_DIR"].contains(&&*name);
        if set_for_tests {
            command.env_remove(&*name);
        }
    }
    let output = command.output().expect("run cargo");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut artifacts = 0;
    let mut rebuilt = Vec::new();
    for line in stdout.lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if message["reason"] == "compiler-artifact" {
            artifacts += 1;
            if message["fresh"] != true {
                rebuilt.push(message["target"]["name"].to_string());
            }
        }
    }
    assert!(artifacts > 0, "cargo reported no artifacts:\n{stdout}");
    assert!(
        rebuilt.is_empty(),
        "a build with nothing changed compiled {rebuilt:?}"
    );
}
