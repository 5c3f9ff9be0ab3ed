//! `host new NAME`: writes a guest crate that builds and serves as is, as
//! `cargo new` and `spin new` do.

use std::fs;
use std::path::{Path, PathBuf};

/// Where the SDK sources were when this binary was built.
const SDK_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../guest-sdk");

const CARGO_TOML: &str = include_str!("../templates/app/Cargo.toml.in");
const CARGO_CONFIG: &str = include_str!("../templates/app/config.toml");
const GITIGNORE: &str = include_str!("../templates/app/gitignore");
const LIB_RS: &str = include_str!("../templates/app/src/lib.rs");
/// The toolchain the SDK is built and tested with, with its wasm target.
const TOOLCHAIN: &str = include_str!("../../rust-toolchain.toml");

/// Writes the app `name` into the new directory `dir`, depending on the
/// SDK at `sdk` (default: the SDK this binary was built from). Returns the
/// component's path once built.
pub fn new_app(name: &str, dir: &Path, sdk: Option<&Path>) -> Result<PathBuf, String> {
    check_name(name)?;
    let sdk = match sdk {
        Some(sdk) => sdk.to_path_buf(),
        None => PathBuf::from(SDK_DIR),
    };
    let sdk = sdk.canonicalize().ok().filter(|p| p.join("Cargo.toml").is_file()).ok_or_else(|| {
        format!(
            "cannot find the wasgi guest SDK at {}; pass --sdk DIR (the guest-sdk directory of a wasgi checkout)",
            sdk.display()
        )
    })?;
    if dir.exists() {
        return Err(format!("destination {} already exists", dir.display()));
    }
    let crate_name = name.replace('-', "_");
    let fill = |text: &str| {
        text.replace("{{name}}", name)
            .replace("{{crate}}", &crate_name)
            .replace("{{sdk}}", &sdk.to_string_lossy().replace('\\', "/"))
    };
    let files = [
        ("Cargo.toml", fill(CARGO_TOML)),
        (".cargo/config.toml", CARGO_CONFIG.to_string()),
        (".gitignore", GITIGNORE.to_string()),
        ("rust-toolchain.toml", TOOLCHAIN.to_string()),
        ("src/lib.rs", fill(LIB_RS)),
    ];
    for (file, text) in files {
        let path = dir.join(file);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(dir.join(format!("target/wasm32-wasip2/release/{crate_name}.wasm")))
}

/// A package name cargo accepts: ASCII letters, digits, `-` and `_`, not
/// starting with a digit.
fn check_name(name: &str) -> Result<(), String> {
    let ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a valid app name: use ASCII letters, digits, '-' and '_', starting with a letter"
        ))
    }
}
