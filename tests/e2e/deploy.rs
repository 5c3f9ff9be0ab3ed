//! Deployment files: the container build's context leaves out what builds
//! make (`.dockerignore`).

use std::path::{Path, PathBuf};

/// The bytes under `path` the context would hold: what `ignored` says
/// is left out does not count.
fn size(path: &Path, ignored: &dyn Fn(&Path) -> bool) -> u64 {
    if ignored(path) {
        return 0;
    }
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| size(&e.path(), ignored))
            .sum(),
        Ok(m) => m.len(),
        Err(_) => 0,
    }
}

#[test]
fn the_docker_context_leaves_out_what_builds_make() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let ignore = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    let patterns: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for must in ["target", "examples/target", "fuzz/target", ".git"] {
        assert!(patterns.contains(&must), "{must} is not in .dockerignore");
    }
    // Whatever is large in this tree now (a build's output) is left out.
    let mut places: Vec<PathBuf> = Vec::new();
    for dir in [root.clone(), root.join("examples"), root.join("fuzz")] {
        places.extend(
            std::fs::read_dir(&dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path()),
        );
    }
    let ignored = |path: &Path| {
        let relative = path
            .strip_prefix(&root)
            .map(|r| r.to_string_lossy().into_owned());
        relative.is_ok_and(|r| patterns.contains(&r.as_str()))
    };
    for place in places {
        let relative = place
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let bytes = size(&place, &ignored);
        assert!(
            bytes <= 100 << 20,
            "{relative} ({} MB) would be sent as build context",
            bytes >> 20
        );
    }
}
