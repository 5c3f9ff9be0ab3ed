//! Builds the guest apps in `examples/` for wasm32-wasip2, so that
//! `cargo build` / `cargo test` alone produce every component the host
//! embeds (the demo) and the tests serve.
//!
//! The components land in `<target>/wasm-guests/wasm32-wasip2/release/` and
//! are copied to `examples/<name>.wasm`. The wasm32-wasip2 target is
//! installed with rustup when it is missing (rustup does not add a
//! toolchain file's targets to a toolchain that is already installed).

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const TARGET: &str = "wasm32-wasip2";

/// The wasgi apps also built as `wasi:http` components
/// (`examples/<name>.wasi-http.wasm`).
const WASI_HTTP_BUILDS: [&str; 3] = ["hello", "environ-echo", "conformance"];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest_dir.parent().expect("workspace root").to_path_buf();
    let examples = root.join("examples");
    let target_dir = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("wasm-guests");

    watch(&root, &examples);
    ensure_target();

    let built = build(&examples, &target_dir, &["--workspace"]);
    for name in members(&examples) {
        copy(&built, &name, &examples.join(format!("{name}.wasm")));
    }
    // The same wasgi apps built as wasi:http components (the SDK's
    // `wasi-http` feature), in a target directory of their own so the two
    // builds do not rebuild each other.
    let mut args = vec!["--features", "wasgi/wasi-http"];
    for name in WASI_HTTP_BUILDS {
        args.extend(["-p", name]);
    }
    let built = build(&examples, &target_dir.with_extension("wasi-http"), &args);
    for name in WASI_HTTP_BUILDS {
        copy(
            &built,
            name,
            &examples.join(format!("{name}.wasi-http.wasm")),
        );
    }
    println!("cargo:rustc-env=WASGI_EXAMPLES_DIR={}", examples.display());
}

/// Runs `cargo build` for wasm32-wasip2 on the examples workspace with
/// `args`; returns where the components are.
fn build(examples: &Path, target_dir: &Path, args: &[&str]) -> PathBuf {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.arg("build")
        .arg("--release")
        .arg("--target")
        .arg(TARGET)
        .arg("--manifest-path")
        .arg(examples.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        .args(args);
    // The outer build's settings must not leak into the guest build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_PKG_NAME",
    ] {
        cmd.env_remove(var);
    }
    let output = cmd.output().expect("run cargo to build the guest apps");
    if !output.status.success() {
        panic!(
            "building the guest apps in {} failed:\n{}",
            examples.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    target_dir.join(TARGET).join("release")
}

/// Copies the component of crate `name` from `built` to `to`.
fn copy(built: &Path, name: &str, to: &Path) {
    let artifact = built.join(format!("{}.wasm", name.replace('-', "_")));
    let tmp = to.with_extension("wasm.tmp");
    fs::copy(&artifact, &tmp)
        .and_then(|_| fs::rename(&tmp, to))
        .unwrap_or_else(|e| panic!("copy {} to {}: {e}", artifact.display(), to.display()));
}

/// The guest crates: every directory of `examples/` with a Cargo.toml,
/// but those that are workspaces of their own (`rust-sqlite`, which needs
/// a C compiler for wasm32 and is built by its tests).
fn members(examples: &Path) -> Vec<String> {
    let own_workspace = |manifest: &Path| {
        fs::read_to_string(manifest).is_ok_and(|m| m.lines().any(|l| l.trim() == "[workspace]"))
    };
    let mut names: Vec<String> = fs::read_dir(examples)
        .expect("read examples/")
        .filter_map(Result::ok)
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .filter(|e| !own_workspace(&e.path().join("Cargo.toml")))
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Rebuild when the guests, the SDK or the WIT change (and not when the
/// copied `.wasm` files appear).
fn watch(root: &Path, examples: &Path) {
    for path in [
        root.join("wit"),
        root.join("guest-sdk/src"),
        root.join("guest-sdk/Cargo.toml"),
        examples.join("Cargo.toml"),
        examples.join("Cargo.lock"),
    ] {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    for name in members(examples) {
        let dir = examples.join(&name);
        // Only paths that exist: cargo takes a missing watched path for a
        // changed one, and would rerun this script (and rebuild the host)
        // on every build.
        for path in [dir.join("src"), dir.join("wit"), dir.join("Cargo.toml")] {
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
}

/// Installs the wasm32-wasip2 standard library when this toolchain lacks it.
fn ensure_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    if sysroot.is_some_and(|s| s.join("lib/rustlib").join(TARGET).is_dir()) {
        return;
    }
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", TARGET]);
    if let Ok(toolchain) = env::var("RUSTUP_TOOLCHAIN") {
        rustup.args(["--toolchain", &toolchain]);
    }
    let status = rustup.status().unwrap_or_else(|e| {
        panic!("the {TARGET} target is missing and rustup could not be run to add it: {e}")
    });
    assert!(status.success(), "`rustup target add {TARGET}` failed");
}
