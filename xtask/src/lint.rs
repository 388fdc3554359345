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

    #[test]
    fn parallel_work_comes_back_in_order() {
        let items: Vec<u32> = (0..50).collect();
        let doubled = in_parallel(&items, |i| i * 2);
        assert_eq!(doubled, items.iter().map(|i| i * 2).collect::<Vec<_>>());
    }
}
