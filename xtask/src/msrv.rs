//! `cargo xtask msrv`: the `rust-version` every crate declares is the toolchain CI runs.
//!
//! A minimum Rust version is a promise; the only one this project can keep is the version its CI
//! compiles and tests with (the machines have one toolchain and fetch no other). Cargo already
//! refuses a toolchain older than the declaration; this check refuses one newer, so the claim
//! moves with the toolchain instead of going stale.

use std::path::Path;
use std::process::Command;

use crate::Result;

pub fn run(root: &Path) -> Result {
    let rustc = Command::new(std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into()))
        .arg("--version")
        .output()?;
    let rustc = String::from_utf8(rustc.stdout)?;
    let toolchain = minor_version(rustc.split_whitespace().nth(1).unwrap_or_default())
        .ok_or_else(|| format!("cannot read the toolchain version from {rustc:?}"))?;
    let metadata = crate::cargo()
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(root)
        .output()?;
    if !metadata.status.success() {
        return Err(String::from_utf8_lossy(&metadata.stderr)
            .into_owned()
            .into());
    }
    let metadata: serde_json::Value = serde_json::from_slice(&metadata.stdout)?;
    let mut wrong = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let name = package["name"].as_str().unwrap_or("?");
        match package["rust_version"].as_str().and_then(minor_version) {
            Some(declared) if declared == toolchain => {}
            Some(declared) => wrong.push(format!("{name} declares {}.{}", declared.0, declared.1)),
            None => wrong.push(format!("{name} declares no rust-version")),
        }
    }
    if !wrong.is_empty() {
        return Err(format!(
            "CI verifies Rust {}.{} only, but {}: set the workspace's rust-version to {}.{}",
            toolchain.0,
            toolchain.1,
            wrong.join(", "),
            toolchain.0,
            toolchain.1
        )
        .into());
    }
    println!(
        "every crate declares rust-version {}.{}, the toolchain CI runs",
        toolchain.0, toolchain.1
    );
    Ok(())
}

/// `1.95.0` or `1.95` → (1, 95).
fn minor_version(version: &str) -> Option<(u32, u32)> {
    let mut parts = version.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_major_and_minor() {
        assert_eq!(minor_version("1.95.0"), Some((1, 95)));
        assert_eq!(minor_version("1.92"), Some((1, 92)));
        assert_eq!(minor_version("nightly"), None);
    }
}
