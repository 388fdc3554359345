//! Feature sets the test build does not compile, checked on what it compiled.
//!
//! The test build compiles each crate once, with the features of the whole workspace: every TLS
//! stack, the emulator, PDF rendering. A build with fewer (the production binary of `cargo
//! install --no-default-features --features rustls-ring`, a library with one TLS stack)
//! compiles code the test build never sees: a `use` that only the emulator needs is unused
//! there, a function behind a feature may be called from outside it. `cargo clippy` with those
//! features would check the whole dependency tree again (173 core-seconds in CI for the
//! production binary). Here each variant compiles its one crate again, in check mode, from the
//! lint build's record of its compilation ([`crate::record`]): the same arguments with other
//! `--cfg feature=...`, against the dependencies the lint build compiled, with clippy's lints
//! and warnings denied. A variant can stand in for a dependency of a later one (the production
//! binary is checked against extract-review without its `pdf` feature).
//!
//! What this does not see: a dependency with fewer features than the test build gave it, other
//! than through a variant listed here.

use std::ffi::OsString;
use std::path::Path;

use crate::Result;
use crate::record::Record;

/// A crate's library, or one of its binaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Library,
    Binary(&'static str),
}

#[derive(Debug)]
pub struct Variant {
    pub name: &'static str,
    pub package: &'static str,
    pub target: Target,
    /// The crate's features in this build (the test build's are replaced, not added to).
    features: &'static [&'static str],
    /// Earlier variants compiled in place of the test build's copy of a dependency.
    using: &'static [&'static str],
}

pub const VARIANTS: &[Variant] = &[
    Variant {
        name: "extract-review without PDF pages",
        package: "extract-review",
        target: Target::Library,
        features: &[],
        using: &[],
    },
    Variant {
        name: "extract-auth as a dependency gets it by default (rustls on ring alone)",
        package: "extract-auth",
        target: Target::Library,
        features: &["default", "rustls-ring"],
        using: &[],
    },
    Variant {
        name: "extract-auth with rustls on aws-lc-rs alone",
        package: "extract-auth",
        target: Target::Library,
        features: &["rustls-aws-lc"],
        using: &[],
    },
    Variant {
        name: "extract-auth with native-tls alone",
        package: "extract-auth",
        target: Target::Library,
        features: &["native-tls"],
        using: &[],
    },
    Variant {
        name: "extract-auth without TLS (plain HTTP)",
        package: "extract-auth",
        target: Target::Library,
        features: &[],
        using: &[],
    },
    // README: `cargo install --path crates/extract-cli --no-default-features --features
    // rustls-ring`.
    Variant {
        name: "the production binary (no emulator, no PDF pages)",
        package: "extract-cli",
        target: Target::Binary("kensho-extract"),
        features: &["rustls-ring"],
        using: &["extract-review without PDF pages"],
    },
];

/// Compiles each variant into `out`, from the record `stem(variant)` names, in order (a variant
/// may use an earlier one's output).
pub fn check(
    root: &Path,
    records: &Path,
    stem: impl Fn(&Variant) -> Option<String>,
    out: &Path,
) -> Result {
    // Each variant's crate name and the metadata it wrote, for the variants after it.
    let mut compiled: Vec<(&str, String, std::path::PathBuf)> = Vec::new();
    for variant in VARIANTS {
        let stem = stem(variant).ok_or_else(|| {
            format!(
                "{}: the lint build has no record of {}'s {:?} (a binary cargo copied out of \
                 deps/ rather than linked is not found)",
                variant.name, variant.package, variant.target
            )
        })?;
        let record = Record::read(records, &stem)?;
        let folder = out.join(
            variant
                .name
                .replace(|c: char| !c.is_ascii_alphanumeric(), "-"),
        );
        std::fs::create_dir_all(&folder)?;
        let mut using = Vec::new();
        for name in variant.using {
            let (_, krate, metadata) = compiled
                .iter()
                .find(|(earlier, _, _)| earlier == name)
                .ok_or_else(|| format!("{}: no earlier variant {name}", variant.name))?;
            using.push((krate.clone(), metadata.clone()));
        }
        let arguments = arguments(&record.arguments, variant.features, &folder, &using)?;
        // Cargo names the sources relative to the workspace.
        let status = record
            .command(record.clippy_driver())
            .current_dir(root)
            .args(&arguments)
            .args(["-D", "warnings"])
            .status()?;
        if !status.success() {
            return Err(format!(
                "{}: clippy's or the compiler's findings are above",
                variant.name
            )
            .into());
        }
        let krate = value_of(&record.arguments, "--crate-name")
            .ok_or_else(|| format!("{}: the record names no crate", variant.name))?;
        let extra = record
            .arguments
            .iter()
            .filter_map(|a| a.to_str()?.strip_prefix("extra-filename="))
            .next()
            .unwrap_or_default()
            .to_string();
        let metadata = folder.join(format!("lib{krate}{extra}.rmeta"));
        println!("{}: no finding", variant.name);
        compiled.push((variant.name, krate, metadata));
    }
    Ok(())
}

/// The value after `flag` in `arguments`.
fn value_of(arguments: &[OsString], flag: &str) -> Option<String> {
    let at = arguments.iter().position(|a| a == flag)?;
    arguments.get(at + 1)?.to_str().map(str::to_string)
}

/// The recorded arguments (rustc's path first) for a check of the crate with `features`, its
/// output in `folder`, and the metadata of `using` (crate name, file) in place of those
/// dependencies: the feature `--cfg`s replaced, metadata only, no incremental state, and
/// diagnostics for a person (not cargo's JSON).
fn arguments(
    recorded: &[OsString],
    features: &[&str],
    folder: &Path,
    using: &[(String, std::path::PathBuf)],
) -> Result<Vec<OsString>> {
    let mut out: Vec<OsString> = Vec::with_capacity(recorded.len());
    let mut arguments = recorded.iter();
    let mut replaced = std::collections::BTreeSet::new();
    while let Some(argument) = arguments.next() {
        let text = argument.to_string_lossy();
        match text.as_ref() {
            "--cfg" | "-C" | "--out-dir" | "--extern" => {
                let value = arguments
                    .next()
                    .ok_or_else(|| format!("{text} without a value in the record"))?;
                let value_text = value.to_string_lossy();
                match text.as_ref() {
                    "--cfg" if value_text.starts_with("feature=") => {}
                    "-C" if value_text.starts_with("incremental=") => {}
                    "--out-dir" => {
                        out.push(argument.clone());
                        out.push(folder.as_os_str().to_owned());
                    }
                    "--extern" => {
                        // `[options:]name[=path]` (options such as `priv`, `noprelude`).
                        let spec = value_text.split('=').next().unwrap_or_default();
                        let name = spec.rsplit(':').next().unwrap_or(spec);
                        out.push(argument.clone());
                        match using.iter().find(|(krate, _)| krate == name) {
                            Some((krate, file)) => {
                                let mut with_file = OsString::from(format!("{spec}="));
                                with_file.push(file);
                                out.push(with_file);
                                replaced.insert(krate.as_str());
                            }
                            None => out.push(value.clone()),
                        }
                    }
                    _ => {
                        out.push(argument.clone());
                        out.push(value.clone());
                    }
                }
            }
            _ if text.starts_with("--emit=") => out.push("--emit=metadata".into()),
            _ if text.starts_with("--error-format=") || text.starts_with("--json=") => {}
            _ => out.push(argument.clone()),
        }
    }
    if let Some((krate, _)) = using.iter().find(|(k, _)| !replaced.contains(k.as_str())) {
        return Err(format!("the record has no dependency named {krate} to replace").into());
    }
    for feature in features {
        out.push("--cfg".into());
        out.push(format!("feature=\"{feature}\"").into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(values: &[&str]) -> Vec<OsString> {
        values.iter().map(OsString::from).collect()
    }

    #[test]
    fn a_variant_compiles_the_recorded_crate_with_its_own_features_and_dependencies() {
        let recorded = os(&[
            "/t/rustc",
            "--crate-name",
            "kensho_extract",
            "--error-format=json",
            "--json=diagnostic-rendered-ansi,artifacts",
            "--crate-type",
            "bin",
            "--emit=dep-info,link",
            "--cfg",
            "feature=\"default\"",
            "--cfg",
            "feature=\"emulator\"",
            "--cfg",
            "tokio_unstable",
            "-C",
            "incremental=/w/target/debug/incremental",
            "-C",
            "extra-filename=-0123",
            "--out-dir",
            "/w/target/debug/deps",
            "--extern",
            "extract_review=/w/target/debug/deps/libextract_review-aa.rlib",
            "--extern",
            "serde=/w/target/debug/deps/libserde-bb.rlib",
            "src/main.rs",
        ]);
        let folder = Path::new("/w/target/xtask/variants/production");
        let review = (
            "extract_review".to_string(),
            folder.join("libextract_review-aa.rmeta"),
        );
        let checked = arguments(&recorded, &["rustls-ring"], folder, &[review]).expect("arguments");
        assert_eq!(
            checked,
            os(&[
                "/t/rustc",
                "--crate-name",
                "kensho_extract",
                "--crate-type",
                "bin",
                "--emit=metadata",
                "--cfg",
                "tokio_unstable",
                "-C",
                "extra-filename=-0123",
                "--out-dir",
                "/w/target/xtask/variants/production",
                "--extern",
                "extract_review=/w/target/xtask/variants/production/libextract_review-aa.rmeta",
                "--extern",
                "serde=/w/target/debug/deps/libserde-bb.rlib",
                "src/main.rs",
                "--cfg",
                "feature=\"rustls-ring\"",
            ])
        );
        assert_eq!(
            value_of(&recorded, "--crate-name").as_deref(),
            Some("kensho_extract")
        );
        assert!(arguments(&os(&["/t/rustc", "--cfg"]), &[], folder, &[]).is_err());
        // A dependency to replace that the crate does not name (renamed, say): refused, not
        // checked against the test build's copy.
        let missing = (
            "extract_emulator".to_string(),
            folder.join("libextract_emulator.rmeta"),
        );
        assert!(arguments(&recorded, &[], folder, &[missing]).is_err());
    }

    #[test]
    fn every_variant_uses_only_variants_before_it() {
        for (at, variant) in VARIANTS.iter().enumerate() {
            for name in variant.using {
                assert!(
                    VARIANTS[..at].iter().any(|earlier| earlier.name == *name),
                    "{}: {name}",
                    variant.name
                );
            }
        }
    }
}
