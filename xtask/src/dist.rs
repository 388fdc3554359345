//! `cargo xtask dist [--binary PATH]`: what a package installs beside the binary, written into
//! `target/dist/`: shell completions (`completions/`) and a man page per command (`man/`).
//!
//! The binary renders them itself (`kensho-extract completions SHELL`, `kensho-extract man
//! CMD…`), so they always describe the flags of the build being packaged.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Result;

/// The shells and their conventional file names.
const SHELLS: [(&str, &str); 5] = [
    ("bash", "kensho-extract.bash"),
    ("zsh", "_kensho-extract"),
    ("fish", "kensho-extract.fish"),
    ("powershell", "_kensho-extract.ps1"),
    ("elvish", "kensho-extract.elv"),
];

pub fn run(root: &Path, binary: Option<PathBuf>) -> Result {
    let binary = match binary {
        Some(binary) => binary.to_string_lossy().into_owned(),
        None => crate::bench::release_binary(root)?,
    };
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(|_| root.join("target"), Into::into);
    let dist = target.join("dist");
    let completions = dist.join("completions");
    let man = dist.join("man");
    std::fs::create_dir_all(&completions)?;
    std::fs::create_dir_all(&man)?;

    for (shell, file) in SHELLS {
        std::fs::write(
            completions.join(file),
            output(&binary, &["completions", shell])?,
        )?;
    }
    let mut pages = 1;
    std::fs::write(man.join("kensho-extract.1"), output(&binary, &["man"])?)?;
    let paths = String::from_utf8(output(&binary, &["commands"])?)?;
    for path in paths.lines().filter(|l| !l.trim().is_empty()) {
        let words: Vec<&str> = path.split_whitespace().collect();
        let page = format!("kensho-extract-{}.1", words.join("-"));
        let args: Vec<&str> = ["man"].into_iter().chain(words).collect();
        std::fs::write(man.join(page), output(&binary, &args)?)?;
        pages += 1;
    }
    println!(
        "wrote {} completion scripts to {} and {pages} man pages to {}",
        SHELLS.len(),
        completions.display(),
        man.display()
    );
    Ok(())
}

fn output(binary: &str, args: &[&str]) -> Result<Vec<u8>> {
    let out = Command::new(binary).args(args).output()?;
    if !out.status.success() || out.stdout.is_empty() {
        return Err(format!(
            "`{binary} {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(out.stdout)
}
