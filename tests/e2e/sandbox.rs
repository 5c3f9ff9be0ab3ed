//! What a guest cannot reach: the host's environment, the network, files
//! outside its preopens (`..`, absolute paths, symlinks), writes to a
//! read-only preopen. (Outbound HTTP: `wasi_http.rs`; the static-files
//! traversal matrix: `files.rs`.)

use crate::common::{Host, example};

#[test]
fn a_guest_sees_only_the_environment_it_is_given() {
    let app = example("conformance");
    let host = Host::serve_env(
        &[app.to_str().unwrap(), "--env", "GIVEN=yes"],
        &[("WASGI_TEST_HOST_SECRET", "do-not-leak")],
    );
    let env = host.get("/env").text();
    assert_eq!(env, "GIVEN=yes\n", "the guest saw: {env}");
}

#[test]
fn a_guest_opens_no_socket() {
    let upstream = Host::serve(&[example("hello").to_str().unwrap()]);
    let app = example("conformance");
    // Not even with outbound HTTP allowed: that is HTTP through the host,
    // never a socket of the guest's own.
    let host = Host::serve(&[app.to_str().unwrap(), "--allow-outbound", "*"]);
    for addr in [upstream.addr.to_string(), "1.1.1.1:53".to_string()] {
        let answer = host.get(&format!("/connect?addr={addr}")).text();
        assert!(answer.starts_with("error: "), "{addr}: {answer}");
    }
}

#[test]
fn files_outside_the_preopens_do_not_exist_for_the_guest() {
    let root = crate::common::fresh_dir("sandbox-files");
    let data = root.join("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(root.join("secret.txt"), "TOP SECRET").unwrap();
    std::fs::write(data.join("in.txt"), "inside").unwrap();
    let _ = std::fs::remove_file(data.join("escape"));
    std::os::unix::fs::symlink(root.join("secret.txt"), data.join("escape")).unwrap();
    let _ = std::fs::remove_file(data.join("escape-relative"));
    std::os::unix::fs::symlink("../secret.txt", data.join("escape-relative")).unwrap();
    let spec = format!("{}::/data", data.display());
    let app = example("conformance");
    let host = Host::serve(&[app.to_str().unwrap(), "--dir", &spec]);
    assert_eq!(host.get("/fs-read?path=/data/in.txt").text(), "inside");
    let secret = root.join("secret.txt");
    for path in [
        "/data/../secret.txt",
        "/data/escape",
        "/data/escape-relative",
        "/etc/passwd",
        "/proc/self/environ",
        secret.to_str().unwrap(),
        "secret.txt",
    ] {
        let read = host.get(&format!("/fs-read?path={path}")).text();
        assert!(read.starts_with("error:"), "{path}: {read}");
        assert!(
            !read.contains("TOP SECRET") && !read.contains("root:"),
            "{path}"
        );
    }
    // Read-only means read-only: no new file, no change, no removal.
    let written = host.get("/fs-write?path=/data/in.txt").text();
    assert!(written.starts_with("error:"), "{written}");
    assert_eq!(
        std::fs::read_to_string(data.join("in.txt")).unwrap(),
        "inside"
    );
    let _ = std::fs::remove_dir_all(&root);
}
