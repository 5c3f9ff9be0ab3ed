//! Every input kept in `fuzz/regressions/<target>/` (seeds, and inputs a
//! fuzzer once crashed on) through the same checks the fuzz targets make.

// The `cgi` feature is the fuzz crate's; here `test` turns its target on.
#[allow(unexpected_cfgs)]
#[path = "../../fuzz/src/targets.rs"]
mod targets;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/regressions")
        .join(target);
    let mut inputs = 0;
    for entry in std::fs::read_dir(&dir).expect("the regressions directory") {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{target}: {} fails again", path.display());
        inputs += 1;
    }
    assert!(inputs > 0, "no inputs in {}", dir.display());
}

#[test]
fn environ() {
    replay("environ", targets::environ);
}

#[test]
fn headers() {
    replay("headers", targets::headers);
}

#[test]
fn cgi() {
    replay("cgi", targets::cgi);
}

#[test]
fn shift_path_info() {
    replay("shift_path_info", targets::shift_path_info);
}

#[test]
fn validator() {
    replay("validator", targets::validator);
}
