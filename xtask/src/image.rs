//! `cargo xtask image [--binary PATH] [--out FILE]`: the container image the Kubernetes, AWS Batch
//! and Slurm recipes of `docs/scale.md` run, as an OCI archive in `target/image/`.
//!
//! No base image is pulled: the image holds the release binary (built without the emulator, as
//! a production binary is), the shared libraries it links, CA certificates and a non-root user,
//! labelled with the version and the source revision. `scripts/image` does the assembling with
//! buildah, so the tests build their image the same way from their own binary.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Result;

/// The features of the binary in the image: a TLS stack and PDF rendering for `--review`; no
/// emulator (axum, a PDF parser) in production.
const FEATURES: &str = "rustls-ring,review-pdf";

pub fn run(root: &Path, binary: Option<PathBuf>, out: Option<PathBuf>) -> Result {
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(|_| root.join("target"), Into::into);
    let binary = match binary {
        Some(binary) => binary,
        None => release_binary(root, &target)?,
    };
    let version = version(root)?;
    let revision = revision(root)?;
    let out = out.unwrap_or_else(|| {
        target
            .join("image")
            .join(format!("kensho-extract-{version}.oci.tar"))
    });
    let mut command = Command::new(root.join("scripts/image"));
    command.arg(&binary).arg(&version).arg(&revision).arg(&out);
    // Layers and the creation time from the commit: the same commit makes the same image.
    if let Some(epoch) = git(root, &["log", "-1", "--format=%ct"])? {
        command.env("SOURCE_DATE_EPOCH", epoch);
    }
    if !command.status()?.success() {
        return Err("scripts/image failed (see above)".into());
    }
    println!(
        "load it with `podman load -i {0}` or push it with `skopeo copy oci-archive:{0} docker://REGISTRY/kensho-extract:{version}`",
        out.display()
    );
    Ok(())
}

fn release_binary(root: &Path, target: &Path) -> Result<PathBuf> {
    let status = crate::cargo()
        .args([
            "build",
            "--release",
            "-p",
            "extract-cli",
            "--no-default-features",
        ])
        .args(["--features", FEATURES])
        .current_dir(root)
        .status()?;
    if !status.success() {
        return Err("building kensho-extract failed".into());
    }
    Ok(target.join("release/kensho-extract"))
}

/// The workspace's version (`[workspace.package] version`).
fn version(root: &Path) -> Result<String> {
    let manifest: toml_edit::DocumentMut =
        std::fs::read_to_string(root.join("Cargo.toml"))?.parse()?;
    manifest["workspace"]["package"]["version"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| "Cargo.toml has no [workspace.package] version".into())
}

/// The commit built, marked `-dirty` when the tree has changes it does not hold.
fn revision(root: &Path) -> Result<String> {
    let Some(commit) = git(root, &["rev-parse", "HEAD"])? else {
        return Ok("unknown".into());
    };
    let dirty = git(root, &["status", "--porcelain", "--untracked-files=no"])?
        .is_some_and(|changes| !changes.is_empty());
    Ok(if dirty {
        format!("{commit}-dirty")
    } else {
        commit
    })
}

/// A git command's trimmed output, `None` outside a repository.
fn git(root: &Path, args: &[&str]) -> Result<Option<String>> {
    match Command::new("git").args(args).current_dir(root).output() {
        Ok(out) if out.status.success() => {
            Ok(Some(String::from_utf8(out.stdout)?.trim().to_string()))
        }
        _ => Ok(None),
    }
}
