//! The files a component carries (`wasgi-files`): what the host refuses
//! to unpack from a hostile component, and a Rust component carrying its
//! own site (`host pack`).

use std::path::{Path, PathBuf};
use std::process::Command;

use host::capability::packaged::archive::append_section;

use crate::common::{Host, example, host_bin};

/// `examples/<app>.wasm` with `payload` as its files section, written into
/// `dir`.
fn with_section(dir: &Path, app: &str, payload: &[u8]) -> PathBuf {
    let mut component = std::fs::read(example(app)).unwrap();
    append_section(&mut component, payload);
    let file = dir.join(format!("{app}.wasm"));
    std::fs::write(&file, component).unwrap();
    file
}

/// A zstd tar of one entry of type `kind` named `name` (its size claimed
/// as `size`, its content empty but for a symlink's target).
fn tar_of(name: &str, kind: tar::EntryType, size: u64) -> Vec<u8> {
    let mut out = zstd::Encoder::new(Vec::new(), 1).unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(0o644);
    {
        // Written raw: the tar crate refuses to build a `..` name itself.
        let gnu = header.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
    }
    header.set_size(size);
    if kind == tar::EntryType::Symlink {
        header.set_link_name("/etc/passwd").unwrap();
    }
    header.set_cksum();
    use std::io::Write;
    out.write_all(header.as_bytes()).unwrap();
    let mut left = size;
    let zeros = vec![0u8; 1 << 20];
    while left > 0 {
        let n = left.min(zeros.len() as u64) as usize;
        out.write_all(&zeros[..n]).unwrap();
        left -= n as u64;
    }
    let pad = (512 - size % 512) % 512;
    out.write_all(&vec![0u8; pad as usize + 1024]).unwrap();
    out.finish().unwrap()
}

/// `host serve` must refuse to load `file`, with one
/// line naming it and `needle`, and write nothing outside its cache.
fn refused(file: &Path, cache: &Path, needle: &str) {
    let out = Command::new(host_bin())
        .args(["serve", "--port", "0"])
        .arg(file)
        .env("WASGI_FILES_DIR", cache)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains(needle) && err.contains("packaged files"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // Nothing was left in the cache, not even half an unpacking.
    let left: Vec<_> = std::fs::read_dir(cache)
        .map(|d| d.flatten().count())
        .into_iter()
        .collect();
    assert!(left.iter().all(|n| *n == 0), "{left:?}");
}

#[test]
fn a_hostile_files_section_is_refused_at_load_and_writes_nothing_outside() {
    let base = crate::common::fresh_dir("packaged-hostile");
    let cache = base.join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    let symlink = with_section(
        &base,
        "hello",
        &tar_of("site/evil", tar::EntryType::Symlink, 0),
    );
    refused(&symlink, &cache, "only plain files and directories");
    let escape = with_section(
        &base,
        "hello",
        &tar_of("../escaped.txt", tar::EntryType::Regular, 3),
    );
    refused(&escape, &cache, "only plain files and directories");
    assert!(!base.join("escaped.txt").exists());
    let huge = with_section(
        &base,
        "hello",
        &tar_of("site/big", tar::EntryType::Regular, (1 << 30) + 1),
    );
    refused(&huge, &cache, "more than 500000 files or 1024 MiB");
    let garbage = with_section(&base, "hello", b"not zstd at all");
    refused(&garbage, &cache, "cannot be unpacked");
}

#[test]
fn a_rust_component_serves_the_site_it_carries() {
    let base = crate::common::fresh_dir("packaged-site");
    let site = base.join("site");
    std::fs::create_dir_all(site.join("docs")).unwrap();
    std::fs::write(site.join("index.html"), "<h1>carried</h1>").unwrap();
    std::fs::write(site.join("docs/a.txt"), "A").unwrap();
    std::fs::write(site.join(".secret"), "hidden files stay out").unwrap();
    let component = base.join("site.wasm");
    let packed = Command::new(host_bin())
        .arg("pack")
        .arg(example("static-files"))
        .arg("--dir")
        .arg(format!("{}::/site", site.display()))
        .arg("-o")
        .arg(&component)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&packed.stderr);
    assert!(packed.status.success(), "{said}");
    assert!(said.contains("Packed 2 files"), "{said}");
    // Packing twice is refused.
    let again = Command::new(host_bin())
        .arg("pack")
        .arg(&component)
        .args(["--dir", site.to_str().unwrap(), "-o"])
        .arg(base.join("twice.wasm"))
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already carries packed files"));
    let cache = base.join("cache");
    let host = Host::serve_env(
        &[component.to_str().unwrap()],
        &[("WASGI_FILES_DIR", cache.to_str().unwrap())],
    );
    assert_eq!(host.get("/").text(), "<h1>carried</h1>");
    assert_eq!(host.get("/docs/a.txt").text(), "A");
    assert_eq!(host.get("/missing").status, 404);
    assert_eq!(host.get("/.secret").status, 404);
    // Read-only: the guest cannot change what it carries.
    assert_eq!(
        std::fs::read_to_string(
            cache
                .read_dir()
                .unwrap()
                .flatten()
                .next()
                .unwrap()
                .path()
                .join("site/index.html")
        )
        .unwrap(),
        "<h1>carried</h1>"
    );
}
