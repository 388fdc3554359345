//! `cargo xtask release VERSION [--dry-run]`: every crate moves to the same version at once.
//!
//! Lockstep versioning keeps the layered crates simple to depend on: `extract-api 0.3.0` always
//! goes with `extract-auth 0.3.0`. The bump touches the workspace version, the `version` of every
//! inter-crate dependency, any member that pins its own version, and the CHANGELOG; then
//! `cargo package` builds and verifies each publishable crate, in dependency order, from a local
//! registry of the others (nothing is published).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml_edit::{DocumentMut, Item, value};

use crate::Result;

/// A file the release rewrites, with a line for each change.
struct Edit {
    path: PathBuf,
    contents: String,
    changes: Vec<String>,
}

pub fn run(root: &Path, version: &str, dry_run: bool) -> Result {
    let new = Version::parse(version)?;
    let mut edits = Vec::new();

    let root_manifest = root.join("Cargo.toml");
    let text = std::fs::read_to_string(&root_manifest)?;
    let current = workspace_version(&text)?;
    if new <= current {
        return Err(format!("{new} is not newer than the current version {current}").into());
    }
    edits.push(edit(root_manifest, &text, |doc| bump_manifest(doc, &new))?);

    for member in member_manifests(root)? {
        let text = std::fs::read_to_string(&member)?;
        edits.push(edit(member, &text, |doc| bump_manifest(doc, &new))?);
    }

    let changelog = root.join("CHANGELOG.md");
    let text =
        std::fs::read_to_string(&changelog).map_err(|e| format!("{}: {e}", changelog.display()))?;
    let (contents, change) = date_unreleased(&text, &new, &today())?;
    edits.push(Edit {
        path: changelog,
        contents,
        changes: vec![change],
    });
    edits.retain(|e| !e.changes.is_empty());

    let order = publishable_in_dependency_order(root)?;
    let verb = if dry_run { "would change" } else { "changing" };
    for edit in &edits {
        let shown = edit.path.strip_prefix(root).unwrap_or(&edit.path);
        println!("{verb} {}:", shown.display());
        for change in &edit.changes {
            println!("  {change}");
        }
    }
    let mut package = vec!["package".to_string(), "--allow-dirty".to_string()];
    for name in &order {
        package.extend(["-p".to_string(), name.clone()]);
    }
    println!("packaging in dependency order: {}", order.join(" → "));
    if dry_run {
        println!("would run: cargo {}", package.join(" "));
        println!("dry run: nothing was written or packaged");
        return Ok(());
    }
    for edit in &edits {
        std::fs::write(&edit.path, &edit.contents)?;
    }
    let status = crate::cargo().args(&package).current_dir(root).status()?;
    if !status.success() {
        return Err(
            "cargo package failed; the version bump is written, fix and rerun `cargo package`"
                .into(),
        );
    }
    println!(
        "packaged {} crates at {new} in target/package; publish them in the order above",
        order.len()
    );
    Ok(())
}

fn edit(
    path: PathBuf,
    text: &str,
    change: impl FnOnce(&mut DocumentMut) -> Vec<String>,
) -> Result<Edit> {
    let mut doc: DocumentMut = text
        .parse()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let changes = change(&mut doc);
    Ok(Edit {
        path,
        contents: doc.to_string(),
        changes,
    })
}

fn workspace_version(root_manifest: &str) -> Result<Version> {
    let doc: DocumentMut = root_manifest.parse()?;
    let version = doc["workspace"]["package"]["version"]
        .as_str()
        .ok_or("the root Cargo.toml has no workspace.package.version")?;
    Version::parse(version)
}

/// Sets every version this manifest owns: `workspace.package.version`, a member's own
/// `package.version` (unless inherited or unpublished), and the `version` of each path
/// dependency. Returns one line per change, such as `workspace.package.version: 0.1.0 → 0.1.1`.
fn bump_manifest(doc: &mut DocumentMut, new: &Version) -> Vec<String> {
    let new = new.to_string();
    let mut changes = Vec::new();
    let mut set = |item: &mut Item, name: String| {
        if let Some(old) = item.as_str().map(str::to_owned)
            && old != new
        {
            // Keep the surrounding spaces and comments of the old value.
            let decor = item.as_value().map(|v| v.decor().clone());
            *item = value(new.as_str());
            if let (Some(decor), Some(v)) = (decor, item.as_value_mut()) {
                *v.decor_mut() = decor;
            }
            changes.push(format!("{name}: {old} → {new}"));
        }
    };

    if let Some(version) = doc
        .get_mut("workspace")
        .and_then(|w| w.get_mut("package"))
        .and_then(|p| p.get_mut("version"))
    {
        set(version, "workspace.package.version".into());
    }
    let publishable = doc
        .get("package")
        .and_then(|p| p.get("publish"))
        .and_then(Item::as_bool)
        != Some(false);
    if publishable && let Some(version) = doc.get_mut("package").and_then(|p| p.get_mut("version"))
    {
        set(version, "package.version".into());
    }

    if let Some(deps) = doc
        .get_mut("workspace")
        .and_then(|w| w.get_mut("dependencies"))
        .and_then(Item::as_table_like_mut)
    {
        bump_path_dependencies(deps, "workspace.dependencies", &mut set);
    }
    for (key, item) in doc.iter_mut() {
        if ["dependencies", "dev-dependencies", "build-dependencies"].contains(&key.get())
            && let Some(deps) = item.as_table_like_mut()
        {
            bump_path_dependencies(deps, key.get(), &mut set);
        }
    }
    changes
}

fn bump_path_dependencies(
    table: &mut dyn toml_edit::TableLike,
    table_name: &str,
    set: &mut impl FnMut(&mut Item, String),
) {
    for (name, dep) in table.iter_mut() {
        if let Some(dep) = dep.as_table_like_mut()
            && dep.contains_key("path")
            && let Some(version) = dep.get_mut("version")
        {
            set(version, format!("{table_name}.{}.version", name.get()));
        }
    }
}

/// Turns `## [Unreleased]` into an empty Unreleased section above `## [VERSION] - DATE`, so
/// everything written under Unreleased is now under the release.
fn date_unreleased(changelog: &str, version: &Version, date: &str) -> Result<(String, String)> {
    let heading = changelog
        .lines()
        .find(|l| l.trim().eq_ignore_ascii_case("## [unreleased]"))
        .ok_or("CHANGELOG.md has no `## [Unreleased]` section")?;
    let start = changelog.find(heading).unwrap_or(0) + heading.len();
    let body_end = changelog[start..]
        .find("\n## ")
        .map_or(changelog.len(), |i| start + i);
    if changelog[start..body_end].trim().is_empty() {
        return Err(
            "the CHANGELOG's Unreleased section is empty: say what changed before releasing".into(),
        );
    }
    let released = format!("## [Unreleased]\n\n## [{version}] - {date}");
    let contents = changelog.replacen(heading, &released, 1);
    Ok((
        contents,
        format!(
            "`## [Unreleased]` becomes `## [{version}] - {date}`, under a new empty Unreleased"
        ),
    ))
}

fn member_manifests(root: &Path) -> Result<Vec<PathBuf>> {
    let mut manifests = Vec::new();
    for dir in ["crates", "xtask"] {
        let dir = root.join(dir);
        if dir.join("Cargo.toml").is_file() {
            manifests.push(dir.join("Cargo.toml"));
            continue;
        }
        for entry in std::fs::read_dir(&dir)? {
            let manifest = entry?.path().join("Cargo.toml");
            if manifest.is_file() {
                manifests.push(manifest);
            }
        }
    }
    manifests.sort();
    Ok(manifests)
}

/// The workspace's publishable packages, each after the workspace packages it depends on.
fn publishable_in_dependency_order(root: &Path) -> Result<Vec<String>> {
    let output = crate::cargo()
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(root)
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let metadata: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    let mut deps: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        // `publish: []` is how metadata spells `publish = false`.
        if package["publish"].as_array().is_some_and(Vec::is_empty) {
            continue;
        }
        let name = package["name"].as_str().unwrap_or_default().to_string();
        let local = package["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["path"].is_string() && d["kind"].is_null())
            .filter_map(|d| d["name"].as_str().map(String::from))
            .collect();
        deps.insert(name, local);
    }
    topological(&deps)
}

fn topological(deps: &BTreeMap<String, Vec<String>>) -> Result<Vec<String>> {
    let mut order: Vec<String> = Vec::new();
    while order.len() < deps.len() {
        let ready = deps
            .iter()
            .find(|(name, needs)| {
                !order.contains(name)
                    && needs
                        .iter()
                        .all(|n| order.contains(n) || !deps.contains_key(n))
            })
            .map(|(name, _)| name.clone())
            .ok_or("the workspace crates depend on each other in a cycle")?;
        order.push(ready);
    }
    Ok(order)
}

/// Today's date in UTC as `YYYY-MM-DD` (Howard Hinnant's days-to-civil algorithm).
fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    civil_date(secs / 86_400)
}

fn civil_date(days_since_epoch: u64) -> String {
    let z = days_since_epoch as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// A `MAJOR.MINOR.PATCH` version, optionally with a `-pre` suffix (which orders before the
/// release, as in SemVer; pre-release tags compare as text).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Version {
    numbers: [u64; 3],
    release: bool,
    pre: String,
}

impl Version {
    fn parse(text: &str) -> Result<Self> {
        let bad = || format!("`{text}` is not a version like 0.1.1 or 1.0.0-rc.1");
        let (core, pre) = text.split_once('-').map_or((text, ""), |(c, p)| (c, p));
        let parts: Vec<u64> = core
            .split('.')
            .map(str::parse)
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| bad())?;
        let numbers: [u64; 3] = parts.try_into().map_err(|_| bad())?;
        if text.contains('-') && pre.is_empty() {
            return Err(bad().into());
        }
        Ok(Version {
            numbers,
            release: pre.is_empty(),
            pre: pre.to_string(),
        })
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [major, minor, patch] = self.numbers;
        write!(f, "{major}.{minor}.{patch}")?;
        if !self.release {
            write!(f, "-{}", self.pre)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Version {
        Version::parse(s).expect("valid")
    }

    #[test]
    fn versions_parse_and_order() {
        assert!(v("0.1.1") > v("0.1.0"));
        assert!(v("1.0.0") > v("1.0.0-rc.1"));
        assert!(v("0.10.0") > v("0.9.9"));
        assert_eq!(v("1.2.3-beta").to_string(), "1.2.3-beta");
        for bad in ["1.2", "1.2.x", "v1.2.3", "1.2.3-", ""] {
            assert!(Version::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn bumps_workspace_version_and_path_dependencies_only() {
        let mut doc: DocumentMut = r#"
[workspace.package]
version = "0.1.0" # the lockstep version

[workspace.dependencies]
extract-keys = { path = "crates/extract-keys", version = "0.1.0" }
serde = { version = "1", features = ["derive"] }
"#
        .parse()
        .expect("toml");
        let changes = bump_manifest(&mut doc, &v("0.1.1"));
        assert_eq!(
            changes,
            [
                "workspace.package.version: 0.1.0 → 0.1.1",
                "workspace.dependencies.extract-keys.version: 0.1.0 → 0.1.1"
            ]
        );
        let text = doc.to_string();
        assert!(
            text.contains(r#"version = "0.1.1" # the lockstep version"#),
            "comments survive: {text}"
        );
        assert!(text.contains(r#"serde = { version = "1""#));
    }

    #[test]
    fn members_with_inherited_or_unpublished_versions_are_left_alone() {
        let mut inherited: DocumentMut = "[package]\nname = \"a\"\nversion.workspace = true\n"
            .parse()
            .expect("toml");
        assert!(bump_manifest(&mut inherited, &v("0.2.0")).is_empty());
        let mut unpublished: DocumentMut =
            "[package]\nname = \"xtask\"\nversion = \"0.0.0\"\npublish = false\n"
                .parse()
                .expect("toml");
        assert!(bump_manifest(&mut unpublished, &v("0.2.0")).is_empty());
        let mut own: DocumentMut =
            "[package]\nname = \"b\"\nversion = \"0.1.0\"\n[dependencies]\na = { path = \"../a\", version = \"0.1.0\" }\n".parse().expect("toml");
        assert_eq!(bump_manifest(&mut own, &v("0.2.0")).len(), 2);
    }

    #[test]
    fn changelog_unreleased_becomes_the_release() {
        let log = "# Changelog\n\n## [Unreleased]\n\n### Added\n- keys\n\n## [0.1.0] - 2026-01-01\n- first\n";
        let (new, _) = date_unreleased(log, &v("0.1.1"), "2026-11-28").expect("dated");
        assert_eq!(
            new,
            "# Changelog\n\n## [Unreleased]\n\n## [0.1.1] - 2026-11-28\n\n### Added\n- keys\n\n## [0.1.0] - 2026-01-01\n- first\n"
        );
        let empty = "# Changelog\n\n## [Unreleased]\n\n## [0.1.0] - 2026-01-01\n";
        assert!(date_unreleased(empty, &v("0.1.1"), "2026-11-28").is_err());
        assert!(date_unreleased("# Changelog\n", &v("0.1.1"), "2026-11-28").is_err());
    }

    #[test]
    fn dependency_order_puts_dependencies_first() {
        let deps = BTreeMap::from([
            (
                "extract-cli".to_string(),
                vec!["extract-keys".to_string(), "extract-auth".to_string()],
            ),
            ("extract-auth".to_string(), vec!["extract-keys".to_string()]),
            ("extract-keys".to_string(), vec![]),
        ]);
        assert_eq!(
            topological(&deps).expect("acyclic"),
            ["extract-keys", "extract-auth", "extract-cli"]
        );
        let cycle = BTreeMap::from([
            ("a".to_string(), vec!["b".to_string()]),
            ("b".to_string(), vec!["a".to_string()]),
        ]);
        assert!(topological(&cycle).is_err());
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(20_785), "2026-11-28");
        assert_eq!(civil_date(11_016), "2000-02-29");
    }
}
