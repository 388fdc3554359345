//! The container image the scale recipes run: built by `scripts/image` (what `cargo xtask image`
//! calls) from this build's binary, read back from its OCI archive, and run with buildah as its
//! non-root user to extract a folder of PDFs against the emulator on the host's loopback.

use std::os::unix::fs::{PermissionsExt, chown};
use std::path::Path;
use std::process::Command;

use crate::common::{keypair_vars, setup, text};

/// The image's user.
const USER: u32 = 65532;

/// buildah with a storage of its own under `dir` (nothing system-wide).
fn buildah(dir: &Path) -> Command {
    let mut command = Command::new("buildah");
    command
        .arg("--root")
        .arg(dir.join("root"))
        .arg("--runroot")
        .arg(dir.join("runroot"))
        .args(["--storage-driver", "vfs"]);
    command
}

fn ok(command: &mut Command) -> String {
    let output = command.output().expect("runs");
    assert!(
        output.status.success(),
        "{command:?}: {}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout).trim().to_string()
}

/// A folder the image's user owns, for a bind mount.
fn theirs(path: &Path) {
    std::fs::create_dir_all(path).expect("mkdir");
    chown(path, Some(USER), Some(USER)).expect("chown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_image_extracts_a_folder_as_its_own_user() {
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| text(&o.stdout).trim() == "0");
    let installed = Command::new("buildah").arg("--version").output().is_ok();
    if !(root && installed) {
        assert!(
            std::env::var_os("CI").is_none(),
            "the image test needs root and `apt-get install buildah`"
        );
        eprintln!("skipped: buildah is not installed or this is not root");
        return;
    }
    let setup = setup().await;
    let work = tempfile::tempdir().expect("tempdir");
    let archive = work.path().join("kensho-extract.oci.tar");
    let storage = work.path().join("storage");
    let built = Command::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/image"))
        .arg(env!("CARGO_BIN_EXE_kensho-extract"))
        .args(["9.9.9-test", "0123abc"])
        .arg(&archive)
        .env("SMOKE", "0")
        .output()
        .expect("runs scripts/image");
    assert!(
        built.status.success(),
        "{}{}",
        text(&built.stdout),
        text(&built.stderr)
    );

    // Read back from the archive, as a registry or `podman load` would hand it over.
    let policy = work.path().join("policy.json");
    std::fs::write(
        &policy,
        r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
    )
    .expect("writes");
    let container = ok(buildah(&storage)
        .args(["from", "--quiet", "--signature-policy"])
        .arg(&policy)
        .arg(format!("oci-archive:{}", archive.display())));
    let inspected: serde_json::Value = serde_json::from_str(&ok(buildah(&storage).args([
        "inspect",
        "--type",
        "container",
        &container,
    ])))
    .expect("JSON");
    let config = &inspected["OCIv1"]["config"];
    assert_eq!(config["User"], format!("{USER}:{USER}"));
    assert_eq!(
        config["Labels"]["org.opencontainers.image.version"],
        "9.9.9-test"
    );
    assert_eq!(
        config["Labels"]["org.opencontainers.image.revision"],
        "0123abc"
    );
    assert_eq!(
        config["Entrypoint"],
        serde_json::json!(["/usr/local/bin/kensho-extract"])
    );

    // Inputs, the key and the output folder, mounted; the key readable by the image's user only.
    let input = work.path().join("in");
    crate::common::pdfs(&input, 3);
    std::fs::set_permissions(&input, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let keys = work.path().join("keys");
    theirs(&keys);
    std::fs::copy(&setup.key_path, keys.join("key.pem")).expect("copies the key");
    chown(keys.join("key.pem"), Some(USER), Some(USER)).expect("chown");
    std::fs::set_permissions(keys.join("key.pem"), std::fs::Permissions::from_mode(0o600))
        .expect("chmod");
    let out = work.path().join("out");
    theirs(&out);
    let mut run = buildah(&storage);
    run.args(["run", "--isolation", "chroot"])
        .arg("-v")
        .arg(format!("{}:/in:ro", input.display()))
        .arg("-v")
        .arg(format!("{}:/keys:ro", keys.display()))
        .arg("-v")
        .arg(format!("{}:/out", out.display()));
    // The emulator listens on the host's 127.0.0.1: chroot isolation shares its network.
    for (name, value) in keypair_vars(&setup) {
        let value = if name == "KENSHO_PRIVATE_KEY" {
            "/keys/key.pem".to_string()
        } else {
            value
        };
        run.arg("--env").arg(format!("{name}={value}"));
    }
    run.args([
        &container,
        "--",
        "/usr/local/bin/kensho-extract",
        "run",
        "/in",
        "--out-dir",
        "/out",
        "--format",
        "markdown",
        "--no-cache",
    ]);
    let output = run.output().expect("runs buildah");
    assert!(
        output.status.success(),
        "{}{}",
        text(&output.stdout),
        text(&output.stderr)
    );
    for i in 0..3 {
        let written = out.join(format!("report-{i}.json"));
        let owner =
            std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&written).expect("written"));
        assert_eq!(owner, USER, "{} is the image user's", written.display());
        let markdown = std::fs::read_to_string(out.join(format!("report-{i}.md"))).expect("md");
        assert!(markdown.contains(&format!("Report {i}")), "{markdown}");
    }
    assert_eq!(setup.emulator.stats().submissions, 3);
    ok(buildah(&storage).args(["rm", &container]));
}
