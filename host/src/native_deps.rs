//! The native extensions `host build-python` leaves out of an app's
//! dependencies that a direct requirement may not work without: the
//! build imports each in the guest and fails, naming it, when it cannot
//! (`psycopg2` without `_psycopg`, `lxml.etree`). Those of packages the
//! app only gets through another (greenlet, under SQLAlchemy) are left out
//! with a note, as their importers have fallbacks or import them lazily.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::Path;

/// A left-out extension module to check in the guest: `module`
/// (`lxml.etree`) of the import package `package` (`lxml`).
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Check {
    /// The extension's dotted module name.
    pub module: String,
    /// Its top-level import package.
    pub package: String,
}

/// The checks for `left_out` (files relative to `site`) whose distribution
/// `requirements` (a requirements file or a `pyproject.toml`) lists,
/// except packages or distributions named in `allowed`.
pub fn checks(
    site: &Path,
    left_out: &[String],
    requirements: &Path,
    allowed: &[String],
) -> Vec<Check> {
    let direct = direct_requirements(requirements);
    let owners = owners(site);
    let allowed: BTreeSet<String> = allowed.iter().map(|a| normalize(a)).collect();
    let mut checks = BTreeSet::new();
    for file in left_out {
        let Some(dist) = owners.get(file.as_str()) else {
            continue;
        };
        let module = module_of(file);
        let package = module.split('.').next().unwrap_or(&module).to_string();
        if direct.contains(dist)
            && !allowed.contains(dist)
            && !allowed.contains(&normalize(&package))
        {
            checks.insert(Check { module, package });
        }
    }
    checks.into_iter().collect()
}

/// `lxml/etree.cpython-314-x86_64-linux-gnu.so` is `lxml.etree`.
fn module_of(file: &str) -> String {
    let (dir, name) = file.rsplit_once('/').unwrap_or(("", file));
    let stem = name.split('.').next().unwrap_or(name);
    if dir.is_empty() {
        stem.to_string()
    } else {
        format!("{}.{stem}", dir.replace('/', "."))
    }
}

/// A distribution's name as PEP 503 compares them.
fn normalize(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// Every installed file of `site` and the distribution it belongs to,
/// from the `*.dist-info/RECORD` files.
fn owners(site: &Path) -> HashMap<String, String> {
    let mut owners = HashMap::new();
    for entry in fs::read_dir(site).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(dist) = name.strip_suffix(".dist-info") else {
            continue;
        };
        let dist = normalize(dist.split('-').next().unwrap_or(dist));
        let record = fs::read_to_string(entry.path().join("RECORD")).unwrap_or_default();
        for line in record.lines() {
            if let Some(file) = line.split(',').next().filter(|f| !f.is_empty()) {
                owners.insert(file.to_string(), dist.clone());
            }
        }
    }
    owners
}

/// The names of the distributions a requirements file or a
/// `pyproject.toml`'s `[project] dependencies` lists.
fn direct_requirements(file: &Path) -> BTreeSet<String> {
    let text = fs::read_to_string(file).unwrap_or_default();
    let lines: Vec<String> = if file.file_name().is_some_and(|n| n == "pyproject.toml") {
        (text.parse::<toml::Table>().ok())
            .map(|doc| crate::build_python::pyproject_dependencies(&doc))
            .unwrap_or_default()
    } else {
        text.lines().map(str::to_string).collect()
    };
    lines
        .iter()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty() && !line.starts_with('-'))
        .map(requirement_name)
        .filter(|name| !name.is_empty())
        .collect()
}

/// The distribution a requirement names (`psycopg2-binary==2.9.9` is
/// `psycopg2-binary`), normalized.
pub(crate) fn requirement_name(requirement: &str) -> String {
    let requirement = requirement.trim();
    let end = requirement
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(requirement.len());
    normalize(&requirement[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_and_names_are_read_as_python_and_pip_read_them() {
        assert_eq!(
            module_of("lxml/etree.cpython-314-x86_64-linux-gnu.so"),
            "lxml.etree"
        );
        assert_eq!(module_of("ujson.cpython-314-x86_64-linux-gnu.so"), "ujson");
        assert_eq!(normalize("Psycopg2_Binary"), "psycopg2-binary");
        assert_eq!(normalize("zope.interface"), "zope-interface");
        assert_eq!(
            requirement_name("psycopg2_binary==2.9.9"),
            "psycopg2-binary"
        );
        assert_eq!(
            requirement_name(" Django>=5.2 ; python_version > '3'"),
            "django"
        );
        let dir = std::env::temp_dir().join(format!("wasgi-native-deps-{}", std::process::id()));
        fs::create_dir_all(dir.join("lxml-6.0.2.dist-info")).unwrap();
        fs::create_dir_all(dir.join("greenlet-3.2.4.dist-info")).unwrap();
        fs::write(
            dir.join("lxml-6.0.2.dist-info/RECORD"),
            "lxml/__init__.py,sha256=x,1\nlxml/etree.cpython-314-x86_64-linux-gnu.so,sha256=y,2\n",
        )
        .unwrap();
        fs::write(
            dir.join("greenlet-3.2.4.dist-info/RECORD"),
            "greenlet/_greenlet.cpython-314-x86_64-linux-gnu.so,sha256=z,3\n",
        )
        .unwrap();
        let requirements = dir.join("requirements.txt");
        fs::write(
            &requirements,
            "# parsing\nLXML>=6 ; python_version >= '3.9'\n-r other.txt\nsqlalchemy\n",
        )
        .unwrap();
        let left_out = [
            "lxml/etree.cpython-314-x86_64-linux-gnu.so".to_string(),
            "greenlet/_greenlet.cpython-314-x86_64-linux-gnu.so".to_string(),
        ];
        let lxml = Check {
            module: "lxml.etree".into(),
            package: "lxml".into(),
        };
        assert_eq!(checks(&dir, &left_out, &requirements, &[]), [lxml]);
        assert!(checks(&dir, &left_out, &requirements, &["lxml".into()]).is_empty());
        fs::remove_dir_all(&dir).unwrap();
    }
}
