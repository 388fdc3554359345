//! `cargo xtask lint`: clippy and the public-API check, over the test build itself.
//!
//! `cargo clippy` checks every dependency in check mode, a build of its own beside the test
//! build that compiles them all again: CI's longest step after the test build. Here cargo builds
//! the tests (`cargo test --workspace --all-targets --no-run`, the targets `cargo clippy
//! --all-targets` lints, then `--no-run` alone for the examples as `cargo test` builds them)
//! with `scripts/clippy-rustc` as the workspace's compiler: clippy-driver, which is rustc with
//! clippy's lints, so the one build lints the code, denies its warnings and makes the test
//! binaries. The public-API check then documents each library against the dependencies that
//! build compiled ([`crate::public_api`]).
//!
//! Cargo keys the workspace's compiled crates to `RUSTC_WORKSPACE_WRAPPER`, so a `cargo test
//! --workspace` reuses this build only with that variable set to the same script: CI sets it
//! for the whole run. Without it, this sets it for its own build.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::Result;
use crate::record::Record;
use crate::variants::{Target, VARIANTS};

/// The workspace compiler wrapper this build uses, relative to the workspace.
const WRAPPER: &str = "scripts/clippy-rustc";

pub fn run(root: &Path) -> Result {
    let wrapper = root.join(WRAPPER);
    let wrapped = match std::env::var_os("RUSTC_WORKSPACE_WRAPPER") {
        None => false,
        Some(set) if same_file(Path::new(&set), &wrapper) => true,
        Some(set) => {
            return Err(format!(
                "RUSTC_WORKSPACE_WRAPPER is {}, but the lint build compiles with {}: unset it",
                Path::new(&set).display(),
                wrapper.display()
            )
            .into());
        }
    };
    let work = target_dir(root)?.join("xtask");
    let records = work.join("rustc-args");
    let mut built = build(root, &wrapper, wrapped, &records)?;
    // A crate compiled by another build (as another package's dependency, say: not linted, not
    // recorded) and reused as it is: compiled again here, so that it is linted and its record
    // is this build's.
    let mut unrecorded: Vec<&str> = crate::public_api::LIBRARIES
        .iter()
        .copied()
        .filter(|library| !built.recorded(&records, library, Target::Library))
        .chain(
            VARIANTS
                .iter()
                .filter(|v| !built.recorded(&records, v.package, v.target))
                .map(|v| v.package),
        )
        .collect();
    unrecorded.sort_unstable();
    unrecorded.dedup();
    if !unrecorded.is_empty() {
        for package in &unrecorded {
            let status = crate::cargo()
                .current_dir(root)
                .args(["clean", "--quiet", "--package", package])
                .status()?;
            if !status.success() {
                return Err(format!("cargo clean --package {package} failed").into());
            }
        }
        built = build(root, &wrapper, wrapped, &records)?;
    }
    crate::public_api::run(root, &records, &built.libraries, &work.join("public-api"))?;
    crate::variants::check(
        root,
        &records,
        |variant| built.stem(variant.package, variant.target).cloned(),
        &work.join("variants"),
    )
}

/// What the lint build compiled of the workspace: each crate's record name (its crate name and
/// cargo's `-C extra-filename`), from cargo's report.
#[derive(Debug, Default)]
struct Built {
    /// By package.
    libraries: BTreeMap<String, String>,
    /// By package and binary.
    binaries: BTreeMap<(String, String), String>,
}

impl Built {
    fn stem(&self, package: &str, target: Target) -> Option<&String> {
        match target {
            Target::Library => self.libraries.get(package),
            Target::Binary(name) => self.binaries.get(&(package.to_string(), name.to_string())),
        }
    }

    fn recorded(&self, records: &Path, package: &str, target: Target) -> bool {
        self.stem(package, target)
            .is_some_and(|stem| Record::exists(records, stem))
    }
}

/// The lint build, and what it compiled.
fn build(root: &Path, wrapper: &Path, wrapped: bool, records: &Path) -> Result<Built> {
    let mut built = Built::default();
    // Every target, as `cargo clippy --all-targets` lints them (benches, and examples as
    // tests); then what `cargo test --workspace` builds besides (its examples, built as
    // examples), so that the test run that follows compiles nothing.
    for targets in [&["--all-targets"][..], &[]] {
        let mut build = crate::cargo();
        build
            .current_dir(root)
            .args([
                "test",
                "--workspace",
                "--no-run",
                "--message-format=json-render-diagnostics",
            ])
            .args(targets)
            .env("XTASK_RUSTC_RECORDS", records)
            .stdout(Stdio::piped());
        if !wrapped {
            build.env("RUSTC_WORKSPACE_WRAPPER", wrapper);
        }
        let mut child = build.spawn()?;
        let stdout = child.stdout.take().ok_or("cargo's output")?;
        for line in std::io::BufReader::new(stdout).lines() {
            let message: serde_json::Value = match serde_json::from_str(&line?) {
                Ok(message) => message,
                Err(_) => continue,
            };
            if let Some((package, stem)) = library_built(&message) {
                built.libraries.insert(package, stem);
            } else if let Some((package, name, stem)) = binary_built(&message) {
                built.binaries.insert((package, name), stem);
            }
        }
        if !child.wait()?.success() {
            return Err(
                "the lint build failed: clippy's or the compiler's findings are above".into(),
            );
        }
    }
    Ok(built)
}

/// A workspace crate's compiled target (not a test harness), as cargo's JSON reports it.
fn workspace_artifact(message: &serde_json::Value) -> bool {
    message["reason"] == "compiler-artifact"
        && message["profile"]["test"] == false
        && message["package_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("path+file://"))
}

/// From one of cargo's JSON messages: a workspace library built (not its tests), as its package
/// name and the name of its record (`libextract_api-0123abcd.rlib` → `extract_api-0123abcd`).
fn library_built(message: &serde_json::Value) -> Option<(String, String)> {
    if !workspace_artifact(message)
        || message["target"]["crate_types"] != serde_json::json!(["lib"])
    {
        return None;
    }
    let file = message["filenames"]
        .as_array()?
        .iter()
        .filter_map(|f| f.as_str())
        .find(|f| f.ends_with(".rlib") || f.ends_with(".rmeta"))?;
    let stem = Path::new(file).file_stem()?.to_str()?.strip_prefix("lib")?;
    let name = crate::workspace_hack::package_name(message["package_id"].as_str()?)?.to_string();
    Some((name, stem.to_string()))
}

/// From one of cargo's JSON messages: a workspace binary built (not a test), as its package,
/// its name and the name of its record. Cargo reports the binary it copied out of `deps/`
/// (`target/debug/kensho-extract`), a hard link to the file the compiler wrote
/// (`deps/kensho_extract-0123abcd`): that file's name is the record's. (Where cargo copied it
/// instead, the binary is not found, and a variant of it says so.)
fn binary_built(message: &serde_json::Value) -> Option<(String, String, String)> {
    if !workspace_artifact(message) || message["target"]["kind"] != serde_json::json!(["bin"]) {
        return None;
    }
    let package = crate::workspace_hack::package_name(message["package_id"].as_str()?)?;
    let name = message["target"]["name"].as_str()?;
    let executable = Path::new(message["executable"].as_str()?);
    let stem = compiled_as(executable, &name.replace('-', "_"))?;
    Some((package.to_string(), name.to_string(), stem))
}

/// The name of the file in `deps/` beside `executable` that is the same file
/// (`<crate>-<hash>`).
fn compiled_as(executable: &Path, krate: &str) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let wanted = std::fs::metadata(executable).ok()?;
    let deps = executable.parent()?.join("deps");
    std::fs::read_dir(deps).ok()?.flatten().find_map(|entry| {
        let name = entry.file_name().to_string_lossy().into_owned();
        let rest = name.strip_prefix(krate)?;
        let found = entry.metadata().ok()?;
        (rest.starts_with('-')
            && !rest.contains('.')
            && found.ino() == wanted.ino()
            && found.dev() == wanted.dev())
        .then_some(name)
    })
}

/// Two paths to one file (a checkout reached through a symbolic link names it twice).
fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Where cargo writes, as `cargo metadata` says (`CARGO_TARGET_DIR`, `build.target-dir`, ...).
fn target_dir(root: &Path) -> Result<PathBuf> {
    let metadata = crate::cargo()
        .current_dir(root)
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .stderr(Stdio::inherit())
        .output()?;
    if !metadata.status.success() {
        return Err("cargo metadata failed".into());
    }
    let metadata: serde_json::Value = serde_json::from_slice(&metadata.stdout)?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| "cargo metadata names no target directory".into())
}

/// `work` on every item, as many at a time as the machine has cores; the results in order.
pub fn in_parallel<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::with_capacity(items.len()));
    std::thread::scope(|scope| {
        for _ in 0..workers.min(items.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let result = work(item);
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((i, result));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the wrapper as cargo would, with a stand-in clippy-driver that writes down its
    /// arguments; `primary` sets `CARGO_PRIMARY_PACKAGE`, and records go to `dir`/records.
    /// Returns the stand-in's arguments.
    fn wrap(dir: &Path, primary: bool, arguments: &[&str]) -> Vec<String> {
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).expect("bin");
        let driver = bin.join("clippy-driver");
        std::fs::write(
            &driver,
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$(dirname \"$0\")/called\"\n",
        )
        .expect("stand-in");
        let mut permissions = std::fs::metadata(&driver).expect("meta").permissions();
        std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o755);
        std::fs::set_permissions(&driver, permissions).expect("chmod");
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut command = std::process::Command::new(root.join(WRAPPER));
        command
            .args(arguments)
            .env("PATH", path)
            .env("XTASK_RUSTC_RECORDS", dir.join("records"))
            .env("CARGO_PKG_NAME", "probe")
            .env("CARGO_MAKEFLAGS", "-j --jobserver-auth=3,4")
            .env("CARGO_REGISTRY_TOKEN", "registry-secret")
            .env("SOME_TOKEN", "secret-value")
            .env_remove("CARGO_PRIMARY_PACKAGE");
        if primary {
            command.env("CARGO_PRIMARY_PACKAGE", "1");
        }
        assert!(command.status().expect("wrapper runs").success());
        std::fs::read_to_string(bin.join("called"))
            .expect("clippy-driver called")
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn nul_separated(file: &Path) -> Vec<String> {
        String::from_utf8(std::fs::read(file).expect("recorded"))
            .expect("utf-8")
            .split('\0')
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn the_wrapper_denies_warnings_and_records_a_primary_crate_not_its_tests() {
        let dir = tempfile::tempdir().expect("tempdir");
        let library = [
            "/toolchain/rustc",
            "--crate-name",
            "probe",
            "--crate-type",
            "lib",
            "--cfg",
            "feature=\"a b\"",
            "-C",
            "extra-filename=-0123abcd",
            "src/lib.rs",
        ];
        let called = wrap(dir.path(), true, &library);
        assert_eq!(called[..library.len()], library);
        assert_eq!(called[library.len()..], ["-D", "warnings"]);
        let records = dir.path().join("records");
        assert_eq!(nul_separated(&records.join("probe-0123abcd.args")), library);
        let env = nul_separated(&records.join("probe-0123abcd.env"));
        assert!(env.contains(&"CARGO_PKG_NAME=probe".to_string()), "{env:?}");
        assert!(
            env.iter()
                .all(|v| v.starts_with("CARGO") || v.starts_with("OUT_DIR="))
        );
        for left_out in ["CARGO_MAKEFLAGS=", "CARGO_REGISTRY_TOKEN=", "SOME_TOKEN="] {
            assert!(!env.iter().any(|v| v.starts_with(left_out)), "{env:?}");
        }
        assert!(!env.iter().any(|v| v.contains("secret")), "{env:?}");

        // Cargo's `@file` for a long command line: recorded as the arguments it holds.
        std::fs::remove_dir_all(&records).expect("clear");
        let file = dir.path().join("argfile");
        std::fs::write(&file, library[1..].join("\n")).expect("argfile");
        let at = format!("@{}", file.display());
        wrap(dir.path(), true, &["/toolchain/rustc", &at]);
        assert_eq!(nul_separated(&records.join("probe-0123abcd.args")), library);

        // A test harness of the same crate: linted, not recorded.
        std::fs::remove_dir_all(&records).expect("clear");
        let mut test = library.to_vec();
        test.push("--test");
        assert_eq!(
            wrap(dir.path(), true, &test).last().map(String::as_str),
            Some("warnings")
        );
        assert!(!records.exists());

        // A binary: recorded too (the production binary's variant is compiled from it).
        let binary: Vec<&str> = library
            .iter()
            .map(|a| if *a == "lib" { "bin" } else { a })
            .collect();
        wrap(dir.path(), true, &binary);
        assert_eq!(nul_separated(&records.join("probe-0123abcd.args")), binary);
        std::fs::remove_dir_all(&records).expect("clear");

        // Compiled only as another crate's dependency: its warnings stay warnings, no record.
        let called = wrap(dir.path(), false, &library);
        assert_eq!(called, library);
        assert!(!records.exists());
    }

    #[test]
    fn a_workspace_library_is_told_from_its_tests_and_from_dependencies() {
        let library = serde_json::json!({
            "reason": "compiler-artifact",
            "package_id": "path+file:///w/crates/extract-api#0.1.0",
            "manifest_path": "/w/crates/extract-api/Cargo.toml",
            "target": {"kind": ["lib"], "crate_types": ["lib"], "name": "extract_api"},
            "profile": {"test": false},
            "filenames": ["/w/target/debug/deps/libextract_api-0123abcd.rlib",
                          "/w/target/debug/deps/libextract_api-0123abcd.rmeta"],
            "fresh": true
        });
        assert_eq!(
            library_built(&library),
            Some((
                "extract-api".to_string(),
                "extract_api-0123abcd".to_string()
            ))
        );
        let mut tests = library.clone();
        tests["profile"]["test"] = true.into();
        assert_eq!(library_built(&tests), None);
        let mut dependency = library.clone();
        dependency["package_id"] =
            "registry+https://github.com/rust-lang/crates.io-index#serde@1.0.0".into();
        assert_eq!(library_built(&dependency), None);
        let mut named = library;
        named["package_id"] = "path+file:///w/crates/odd-folder#extract-api@0.1.0".into();
        assert_eq!(
            library_built(&named).map(|(name, _)| name),
            Some("extract-api".to_string())
        );
    }

    #[test]
    fn a_workspace_binary_is_found_as_the_file_cargo_linked_out_of_deps() {
        let dir = tempfile::tempdir().expect("tempdir");
        let deps = dir.path().join("deps");
        std::fs::create_dir_all(&deps).expect("deps");
        for name in [
            "kensho_extract-1111",
            "kensho_extract-2222",
            "kensho_extract-2222.d",
        ] {
            std::fs::write(deps.join(name), name).expect("file");
        }
        let executable = dir.path().join("kensho-extract");
        std::fs::hard_link(deps.join("kensho_extract-2222"), &executable).expect("link");
        let mut message = serde_json::json!({
            "reason": "compiler-artifact",
            "package_id": "path+file:///w/crates/extract-cli#0.1.0",
            "target": {"kind": ["bin"], "crate_types": ["bin"], "name": "kensho-extract"},
            "profile": {"test": false},
            "executable": executable.to_str().expect("utf-8"),
        });
        assert_eq!(
            binary_built(&message),
            Some((
                "extract-cli".to_string(),
                "kensho-extract".to_string(),
                "kensho_extract-2222".to_string()
            ))
        );
        // A copy, not a link: not taken for the compiler's output.
        std::fs::remove_file(&executable).expect("unlink");
        std::fs::copy(deps.join("kensho_extract-2222"), &executable).expect("copy");
        assert_eq!(binary_built(&message), None);
        message["profile"]["test"] = true.into();
        assert_eq!(binary_built(&message), None);
    }

    #[test]
    fn parallel_work_comes_back_in_order() {
        let items: Vec<u32> = (0..50).collect();
        let doubled = in_parallel(&items, |i| i * 2);
        assert_eq!(doubled, items.iter().map(|i| i * 2).collect::<Vec<_>>());
    }
}
