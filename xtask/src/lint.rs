//! `cargo xtask lint`: clippy and the public-API check, over the test build itself.
//!
//! `cargo clippy` checks every dependency in check mode, a build of its own beside the test
//! build that compiles them all again: CI's longest step after the test build. Here cargo builds
//! the tests (`cargo test --workspace --all-targets --no-run`, the targets `cargo clippy
//! --all-targets` lints) with `scripts/clippy-rustc` as the workspace's compiler: clippy-driver,
//! which is rustc with clippy's lints, so the one build lints the code, denies its warnings and
//! makes the test binaries. The public-API check then documents each library against the
//! dependencies that build compiled ([`crate::public_api`]).
//!
//! Cargo keys the workspace's compiled crates to `RUSTC_WORKSPACE_WRAPPER`, so a `cargo test
//! --workspace` reuses this build only with that variable set to the same script: CI sets it
//! for the whole run. Without it, this sets it for its own build.

use std::path::{Path, PathBuf};

use crate::Result;

/// The workspace compiler wrapper this build uses, relative to the workspace.
const WRAPPER: &str = "scripts/clippy-rustc";

pub fn run(root: &Path) -> Result {
    let wrapper = root.join(WRAPPER);
    let wrapped = match std::env::var_os("RUSTC_WORKSPACE_WRAPPER") {
        None => false,
        Some(set) if Path::new(&set) == wrapper => true,
        Some(set) => {
            return Err(format!(
                "RUSTC_WORKSPACE_WRAPPER is {}, but the lint build compiles with {}: unset it",
                Path::new(&set).display(),
                wrapper.display()
            )
            .into());
        }
    };
    // Every target, as `cargo clippy --all-targets` lints them (benches, and examples as
    // tests); then what `cargo test --workspace` builds besides (its examples, built as
    // examples), so that the test run that follows compiles nothing.
    for targets in [&["--all-targets"][..], &[]] {
        let mut build = crate::cargo();
        build
            .current_dir(root)
            .args(["test", "--workspace", "--no-run"])
            .args(targets);
        if !wrapped {
            build.env("RUSTC_WORKSPACE_WRAPPER", &wrapper);
        }
        if !build.status()?.success() {
            return Err(
                "the lint build failed: clippy's or the compiler's findings are above".into(),
            );
        }
    }
    crate::public_api::run(root, &target_dir(root).join("debug"))
}

/// Where cargo writes: `CARGO_TARGET_DIR` (relative to the workspace) when set, else `target/`.
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
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
    /// arguments; `primary` sets `CARGO_PRIMARY_PACKAGE`. Returns the stand-in's arguments.
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
            .env("CARGO_PKG_NAME", "probe")
            .env("CARGO_MAKEFLAGS", "-j --jobserver-auth=3,4")
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

    #[test]
    fn the_wrapper_denies_warnings_and_records_a_primary_library_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let deps = dir.path().join("debug/deps");
        let deps = deps.to_str().expect("utf-8");
        let library = [
            "/toolchain/rustc",
            "--crate-name",
            "probe",
            "--crate-type",
            "lib",
            "--cfg",
            "feature=\"a b\"",
            "--out-dir",
            deps,
            "src/lib.rs",
        ];
        let called = wrap(dir.path(), true, &library);
        assert_eq!(called[..library.len()], library);
        assert_eq!(called[library.len()..], ["-D", "warnings"]);
        let records = dir.path().join("debug/rustc-args");
        let args = std::fs::read(records.join("probe.args")).expect("arguments recorded");
        let args: Vec<&[u8]> = args.split(|b| *b == 0).filter(|a| !a.is_empty()).collect();
        assert_eq!(args, library.map(str::as_bytes));
        let env = String::from_utf8(std::fs::read(records.join("probe.env")).expect("env"))
            .expect("utf-8");
        let env: Vec<&str> = env.split('\0').filter(|v| !v.is_empty()).collect();
        assert!(env.contains(&"CARGO_PKG_NAME=probe"), "{env:?}");
        assert!(
            env.iter()
                .all(|v| v.starts_with("CARGO_") || v.starts_with("OUT_DIR="))
        );
        assert!(
            !env.iter().any(|v| v.starts_with("CARGO_MAKEFLAGS=")),
            "{env:?}"
        );
        assert!(!env.iter().any(|v| v.contains("secret-value")), "{env:?}");

        // A test harness of the same crate: linted, not recorded.
        std::fs::remove_dir_all(&records).expect("clear");
        let mut test = library.to_vec();
        test.push("--test");
        assert_eq!(
            wrap(dir.path(), true, &test).last().map(String::as_str),
            Some("warnings")
        );
        assert!(!records.exists());

        // Compiled only as another crate's dependency: its warnings stay warnings, no record.
        let called = wrap(dir.path(), false, &library);
        assert_eq!(called, library);
        assert!(!records.exists());
    }

    #[test]
    fn parallel_work_comes_back_in_order() {
        let items: Vec<u32> = (0..50).collect();
        let doubled = in_parallel(&items, |i| i * 2);
        assert_eq!(doubled, items.iter().map(|i| i * 2).collect::<Vec<_>>());
    }
}
