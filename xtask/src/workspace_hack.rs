//! `workspace-hack/Cargo.toml`: for the builds that name one package, the features the test
//! build compiles each of their dependencies with. Written by `cargo xtask codegen`, checked by
//! `cargo xtask codegen --check`.
//!
//! Cargo resolves features for the packages on its command line only: `cargo xtask` (`cargo run
//! --package xtask`) and maturin (`cargo rustc --package extract-py`) build tokio without the
//! `test-util` the tests turn on, serde_json without `raw_value`, and so on. Each such crate,
//! and every crate above it, is then compiled a second time beside the test build's copy: 29
//! crates for xtask and 72 for the Python wheel, about 150 core-seconds of CI. (Cargo's
//! `resolver.feature-unification = "workspace"` does this, but is not stable yet.) A package
//! that depends on this crate, with the feature named after it, asks for the test build's
//! features itself and reuses what the test build compiled: the "workspace-hack" of rustc and
//! cargo-hakari, generated here from cargo's own unit graph so that it cannot drift. Every
//! feature listed is one the test build already has: the test build is unchanged by it.
//!
//! The unit graph (`--unit-graph`) is an unstable cargo output; it is read with
//! `RUSTC_BOOTSTRAP=1`, in a cargo command that compiles nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use crate::Result;

const MANIFEST: &str = "workspace-hack/Cargo.toml";
const PACKAGE: &str = "workspace-hack";
/// The one registry an entry may name by version alone.
const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

/// A build that names one package: the feature of this crate it turns on, and its cargo command
/// (without the `workspace-hack` feature, which is added when the package has one).
struct Consumer {
    feature: &'static str,
    package: &'static str,
    build: &'static [&'static str],
}

const CONSUMERS: &[Consumer] = &[
    // `cargo xtask` (.cargo/config.toml).
    Consumer {
        feature: "xtask",
        package: "xtask",
        build: &["build", "--package", "xtask"],
    },
    // maturin's build of the wheel (scripts/python-check), with `--features workspace-hack`.
    Consumer {
        feature: "extract-py",
        package: "extract-py",
        build: &[
            "build",
            "--package",
            "extract-py",
            "--lib",
            "--features",
            "pyo3/abi3-py39,workspace-hack",
        ],
    },
];

/// The test build's two cargo commands, as `cargo xtask lint` runs them.
const TEST_BUILDS: [&[&str]; 2] = [
    &["test", "--workspace", "--no-run", "--all-targets"],
    &["test", "--workspace", "--no-run"],
];

/// One compiled library in a unit graph.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Library {
    /// Cargo's package id: `registry+…#serde@1.0.0`, `path+file:///w/crates/extract-api#0.1.0`.
    id: String,
    features: BTreeSet<String>,
    /// How it is compiled (opt-level, debug info, ...; not the profile's name, `dev` in a
    /// build and `test` in a test build for the same compiled crate). A build script's
    /// dependency of an optimised package is compiled unoptimised: another unit.
    profile: String,
    /// Compiled for a build script or a procedural macro (a `[build-dependencies]` entry).
    host: bool,
}

/// One dependency of this crate: a package, which side of the build, with which features.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    host: bool,
    id: String,
}

pub fn run(root: &Path, check: bool) -> Result {
    let path = root.join(MANIFEST);
    let lock = root.join("Cargo.lock");
    let current = std::fs::read_to_string(&path).map_err(|e| format!("{MANIFEST}: {e}"))?;
    let current_lock = std::fs::read(&lock).map_err(|e| format!("Cargo.lock: {e}"))?;
    // Generated from nothing, writing the manifest (and, through cargo, Cargo.lock) as it goes;
    // both are put back as they were after a check, or after a failure.
    let generated = generate(root, &path);
    let restore = || -> Result {
        std::fs::write(&path, &current)?;
        std::fs::write(&lock, &current_lock)?;
        Ok(())
    };
    let generated = match generated {
        Ok(text) => text,
        Err(e) => {
            restore()?;
            return Err(e);
        }
    };
    if check {
        restore()?;
        if generated != current {
            return Err(format!(
                "{MANIFEST} is out of date with the workspace's dependencies: run `cargo xtask \
                 codegen` and commit the result"
            )
            .into());
        }
        println!("{MANIFEST} gives xtask and the wheel the test build's features");
    } else if generated == current {
        println!("{MANIFEST} is already up to date");
    } else {
        println!("wrote {MANIFEST}");
    }
    Ok(())
}

/// The manifest, made from nothing: the test build is read with a manifest that asks for no
/// dependency (xtask is a workspace member, so what this crate asks for would otherwise be
/// part of the test build it is compared with), then entries are added until no build needs
/// another (an entry can bring in a dependency of its own: reqwest's native-tls brings openssl).
fn generate(root: &Path, path: &Path) -> Result<String> {
    let mut entries: BTreeMap<Entry, BTreeSet<&'static str>> = BTreeMap::new();
    std::fs::write(path, manifest(root, &entries, &[])?)?;
    let test_build: Vec<Library> = TEST_BUILDS
        .iter()
        .map(|args| unit_graph(root, args))
        .collect::<Result<Vec<_>>>()?
        .concat();
    for round in 0.. {
        let text = manifest(root, &entries, &test_build)?;
        std::fs::write(path, &text)?;
        let missing = needed(root, &test_build)?;
        if missing.is_empty() {
            return Ok(text);
        }
        if round == 8 {
            let names: Vec<String> = missing.values().flatten().map(|e| short(&e.id)).collect();
            return Err(format!(
                "{MANIFEST}: after 8 rounds, still compiled with other features: {}",
                names.join(", ")
            )
            .into());
        }
        for (consumer, needs) in missing {
            for entry in needs {
                entries.entry(entry).or_default().insert(consumer);
            }
        }
    }
    unreachable!("the loop returns")
}

fn needed(root: &Path, test_build: &[Library]) -> Result<BTreeMap<&'static str, Vec<Entry>>> {
    let mut needed = BTreeMap::new();
    for consumer in CONSUMERS {
        let graph = unit_graph(root, consumer.build)?;
        let entries = needs(&graph, test_build, consumer.package);
        if !entries.is_empty() {
            needed.insert(consumer.feature, entries);
        }
    }
    Ok(needed)
}

/// The libraries of `graph` that the test build has not compiled with the same features.
fn needs(graph: &[Library], test_build: &[Library], consumer: &str) -> Vec<Entry> {
    let mut entries: Vec<Entry> = graph
        .iter()
        .filter(|library| {
            let name = package_name(&library.id);
            name != Some(consumer) && name != Some(PACKAGE)
        })
        .filter(|library| {
            !test_build.iter().any(|t| {
                t.id == library.id && t.features == library.features && t.profile == library.profile
            })
        })
        .map(|library| Entry {
            host: library.host,
            id: library.id.clone(),
        })
        .collect();
    entries.sort();
    entries.dedup();
    entries
}

/// The test build's features for a package on one side of the build: the smallest set it
/// compiles the package with there.
fn features_in<'a>(test_build: &'a [Library], entry: &Entry) -> Option<&'a BTreeSet<String>> {
    let on_side = test_build
        .iter()
        .filter(|t| t.id == entry.id && t.host == entry.host);
    let anywhere = test_build.iter().filter(|t| t.id == entry.id);
    on_side
        .min_by_key(|t| t.features.len())
        .or_else(|| anywhere.min_by_key(|t| t.features.len()))
        .map(|t| &t.features)
}

/// This crate's manifest, its dependencies in order.
fn manifest(
    root: &Path,
    entries: &BTreeMap<Entry, BTreeSet<&'static str>>,
    test_build: &[Library],
) -> Result<String> {
    let mut text = String::from(
        "# Generated by `cargo xtask codegen` (xtask/src/workspace_hack.rs): do not edit.\n\
         # The test build's features, for the builds that name one package (cargo xtask, the\n\
         # Python wheel): with them, those builds reuse what the test build compiled.\n\
         [package]\n\
         name = \"workspace-hack\"\n\
         description = \"The test build's dependency features, for the builds of xtask and of the wheel.\"\n\
         version = \"0.0.0\"\n\
         edition.workspace = true\n\
         rust-version.workspace = true\n\
         license.workspace = true\n\
         publish = false\n\n",
    );
    let mut features: BTreeMap<&str, Vec<String>> =
        CONSUMERS.iter().map(|c| (c.feature, Vec::new())).collect();
    let mut tables: [BTreeMap<String, String>; 2] = [BTreeMap::new(), BTreeMap::new()];
    let mut keys = BTreeSet::new();
    for (entry, consumers) in entries {
        let name = package_name(&entry.id).ok_or_else(|| format!("package id {}", entry.id))?;
        let wanted = features_in(test_build, entry)
            .ok_or_else(|| format!("{} is not in the test build", entry.id))?;
        let (source, version) = entry
            .id
            .split_once('#')
            .ok_or_else(|| format!("package id {}", entry.id))?;
        let mut key = if entry.host {
            format!("host-{name}")
        } else {
            name.to_string()
        };
        if !keys.insert(key.clone()) {
            // A second version of the package: named apart by its version.
            let version = version.rsplit('@').next().unwrap_or(version);
            key = format!("{key}-{}", version.replace(['.', '+'], "-"));
            keys.insert(key.clone());
        }
        let mut line = format!("{key} = {{ ");
        if key != name {
            write!(line, "package = \"{name}\", ")?;
        }
        if let Some(path) = source.strip_prefix("path+file://") {
            let relative = Path::new(path)
                .strip_prefix(root)
                .map_err(|_| format!("{path} is outside the workspace"))?;
            write!(line, "path = \"../{}\", ", relative.display())?;
        } else if source == CRATES_IO {
            // A caret requirement (the lockfile pins); build metadata is not part of one.
            let version = version.rsplit('@').next().unwrap_or(version);
            let version = version.split('+').next().unwrap_or(version);
            write!(line, "version = \"{version}\", ")?;
        } else {
            return Err(format!(
                "{}: only registry and path packages are supported",
                entry.id
            )
            .into());
        }
        let listed: Vec<String> = wanted.iter().map(|f| format!("\"{f}\"")).collect();
        writeln!(
            line,
            "default-features = false, features = [{}], optional = true }}",
            listed.join(", ")
        )?;
        tables[usize::from(entry.host)].insert(key.clone(), line);
        for consumer in consumers {
            if let Some(list) = features.get_mut(consumer) {
                list.push(format!("\"dep:{key}\""));
            }
        }
    }
    text.push_str("[features]\n");
    for (feature, list) in &mut features {
        list.sort();
        writeln!(text, "{feature} = [{}]", list.join(", "))?;
    }
    for (title, table) in ["[dependencies]", "[build-dependencies]"]
        .iter()
        .zip(&tables)
    {
        write!(
            text,
            "\n{title}\n{}",
            table.values().cloned().collect::<String>()
        )?;
    }
    Ok(text)
}

/// The libraries in the unit graph of one cargo command (which compiles nothing).
fn unit_graph(root: &Path, args: &[&str]) -> Result<Vec<Library>> {
    let output = crate::cargo()
        .current_dir(root)
        .args(args)
        .args(["--unit-graph", "-Z", "unstable-options"])
        .env("RUSTC_BOOTSTRAP", "1")
        .stderr(std::process::Stdio::inherit())
        .output()?;
    if !output.status.success() {
        return Err(format!("cargo {} --unit-graph failed", args.join(" ")).into());
    }
    libraries(&serde_json::from_slice(&output.stdout)?)
}

/// The libraries of a unit graph (`{"units": [...]}`), each marked host if a build script or a
/// procedural macro needs it.
fn libraries(graph: &serde_json::Value) -> Result<Vec<Library>> {
    let units = graph["units"]
        .as_array()
        .ok_or("a unit graph without units")?;
    let kinds = |unit: &serde_json::Value| -> Vec<String> {
        unit["target"]["kind"]
            .as_array()
            .map(|k| {
                k.iter()
                    .filter_map(|k| k.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut host = vec![false; units.len()];
    let mut work: Vec<usize> = Vec::new();
    for (i, unit) in units.iter().enumerate() {
        let kinds = kinds(unit);
        if kinds.iter().any(|k| k == "proc-macro")
            || (kinds.iter().any(|k| k == "custom-build") && unit["mode"] == "build")
        {
            host[i] = true;
            work.push(i);
        }
    }
    while let Some(i) = work.pop() {
        for dependency in units[i]["dependencies"].as_array().into_iter().flatten() {
            let j = dependency["index"]
                .as_u64()
                .and_then(|j| usize::try_from(j).ok())
                .filter(|j| *j < units.len())
                .ok_or("a unit graph dependency out of range")?;
            if !host[j] {
                host[j] = true;
                work.push(j);
            }
        }
    }
    let mut libraries = Vec::new();
    for (i, unit) in units.iter().enumerate() {
        let kinds = kinds(unit);
        let library = kinds.iter().any(|k| {
            matches!(
                k.as_str(),
                "lib" | "rlib" | "proc-macro" | "cdylib" | "dylib"
            )
        });
        if unit["mode"] != "build" || !library {
            continue;
        }
        let id = unit["pkg_id"]
            .as_str()
            .ok_or("a unit without a package id")?;
        let features = unit["features"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str().map(str::to_string))
            .collect();
        let mut profile = unit["profile"].clone();
        if let Some(fields) = profile.as_object_mut() {
            fields.remove("name");
        }
        libraries.push(Library {
            id: id.to_string(),
            features,
            profile: profile.to_string(),
            host: host[i],
        });
    }
    Ok(libraries)
}

/// A package id as a person reads it: `serde 1.0.0`, `extract-api 0.1.0`.
fn short(id: &str) -> String {
    let version = id.rsplit(['#', '@']).next().unwrap_or(id);
    format!("{} {version}", package_name(id).unwrap_or(id))
}

/// A package's name from its id: `registry+…#serde@1.0.0` → `serde`;
/// `path+file:///w/crates/extract-api#0.1.0` → `extract-api` (the folder's name is the
/// package's, or the id says `#name@version`).
pub fn package_name(id: &str) -> Option<&str> {
    let (path, version) = id.rsplit_once('#')?;
    match version.split_once('@') {
        Some((name, _)) => Some(name),
        None => path.rsplit('/').next(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library(id: &str, features: &[&str], host: bool) -> Library {
        Library {
            id: id.to_string(),
            features: features.iter().map(|f| f.to_string()).collect(),
            profile: "null".to_string(),
            host,
        }
    }

    #[test]
    fn a_unit_is_host_when_a_build_script_or_a_macro_depends_on_it() {
        let graph = serde_json::json!({"units": [
            {"pkg_id": "r#app@1.0.0", "target": {"kind": ["bin"]}, "mode": "build",
             "features": [], "dependencies": [{"index": 1}, {"index": 3}]},
            {"pkg_id": "r#derive@1.0.0", "target": {"kind": ["proc-macro"]}, "mode": "build",
             "features": [], "dependencies": [{"index": 2}]},
            {"pkg_id": "r#syn@2.0.0", "target": {"kind": ["lib"]}, "mode": "build",
             "features": ["full"], "dependencies": []},
            {"pkg_id": "r#serde@1.0.0", "target": {"kind": ["lib"]}, "mode": "build",
             "features": ["std"], "dependencies": []},
            {"pkg_id": "r#serde@1.0.0", "target": {"kind": ["lib"]}, "mode": "test",
             "features": ["std"], "dependencies": []}
        ]});
        let found = libraries(&graph).expect("parses");
        assert_eq!(
            found,
            [
                library("r#derive@1.0.0", &[], true),
                library("r#syn@2.0.0", &["full"], true),
                library("r#serde@1.0.0", &["std"], false),
            ]
        );
        let broken = serde_json::json!({"units": [
            {"pkg_id": "r#derive@1.0.0", "target": {"kind": ["proc-macro"]}, "mode": "build",
             "features": [], "dependencies": [{"index": 9}]}
        ]});
        assert!(
            libraries(&broken).is_err(),
            "an index out of range is refused"
        );
    }

    #[test]
    fn only_a_library_with_other_features_than_the_test_builds_is_needed() {
        let test_build = [
            library("r#tokio@1.0.0", &["rt", "test-util"], false),
            library("r#syn@2.0.0", &["full", "visit"], true),
            library("r#cfg-if@1.0.0", &[], true),
        ];
        let graph = [
            library("r#tokio@1.0.0", &["rt"], false),
            library("r#syn@2.0.0", &["full"], true),
            // The same unit serves both sides when the features agree.
            library("r#cfg-if@1.0.0", &[], false),
            library("path+file:///w/xtask#0.0.0", &[], false),
        ];
        let needed = needs(&graph, &test_build, "xtask");
        assert_eq!(
            needed,
            [
                Entry {
                    host: false,
                    id: "r#tokio@1.0.0".into()
                },
                Entry {
                    host: true,
                    id: "r#syn@2.0.0".into()
                },
            ]
        );
        let features = features_in(&test_build, &needed[0]).expect("in the test build");
        assert!(features.contains("test-util"));
        // The same features, compiled another way (a build script's unoptimised copy of an
        // optimised crate): another unit, needed too.
        let mut optimised = library("r#ring@0.17.0", &["alloc"], false);
        optimised.profile = "{\"opt_level\":\"2\"}".to_string();
        let unoptimised = library("r#ring@0.17.0", &["alloc"], true);
        assert_eq!(needs(&[optimised], &[unoptimised], "xtask").len(), 1);
    }

    #[test]
    fn the_manifest_asks_for_the_test_builds_features_per_consumer() {
        let root = Path::new("/w");
        let test_build = [
            library(
                "registry+https://github.com/rust-lang/crates.io-index#toml_datetime@1.1.3+spec-1.1.0",
                &["serde", "std"],
                false,
            ),
            library(
                "registry+https://github.com/rust-lang/crates.io-index#syn@2.0.0",
                &["full"],
                true,
            ),
            library(
                "registry+https://github.com/rust-lang/crates.io-index#rand@0.8.5",
                &["std"],
                false,
            ),
            library(
                "registry+https://github.com/rust-lang/crates.io-index#rand@0.10.4",
                &["default"],
                false,
            ),
            library("path+file:///w/crates/extract-api#0.1.0", &["mock"], false),
        ];
        let mut entries = BTreeMap::new();
        for (library, consumers) in test_build.iter().zip([
            &["xtask"][..],
            &["xtask"],
            &["extract-py"],
            &["extract-py"],
            &["extract-py"],
        ]) {
            entries.insert(
                Entry {
                    host: library.host,
                    id: library.id.clone(),
                },
                consumers.iter().copied().collect(),
            );
        }
        let text = manifest(root, &entries, &test_build).expect("a manifest");
        let parsed: toml_edit::DocumentMut = text.parse().expect("valid TOML");
        let dependencies = &parsed["dependencies"];
        assert_eq!(
            dependencies["toml_datetime"]["version"].as_str(),
            Some("1.1.3")
        );
        assert_eq!(
            dependencies["extract-api"]["path"].as_str(),
            Some("../crates/extract-api")
        );
        assert_eq!(dependencies["rand"]["version"].as_str(), Some("0.10.4"));
        assert_eq!(dependencies["rand-0-8-5"]["package"].as_str(), Some("rand"));
        assert_eq!(
            dependencies["rand-0-8-5"]["version"].as_str(),
            Some("0.8.5")
        );
        assert_eq!(
            parsed["build-dependencies"]["host-syn"]["package"].as_str(),
            Some("syn")
        );
        let xtask: Vec<&str> = parsed["features"]["xtask"]
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(xtask, ["dep:host-syn", "dep:toml_datetime"]);
        assert!(!text.contains("\"="), "caret requirements only");
        // A crate from another registry is not named by version alone (crates.io would serve
        // another crate of that name).
        let elsewhere = library("registry+https://example.com/index#serde@1.0.0", &[], false);
        let mut other = BTreeMap::new();
        other.insert(
            Entry {
                host: false,
                id: elsewhere.id.clone(),
            },
            BTreeSet::from(["xtask"]),
        );
        assert!(manifest(root, &other, &[elsewhere]).is_err());
        assert_eq!(
            short("registry+https://github.com/rust-lang/crates.io-index#rand@0.8.5"),
            "rand 0.8.5"
        );
        assert_eq!(
            short("path+file:///w/crates/extract-api#0.1.0"),
            "extract-api 0.1.0"
        );
    }
}
