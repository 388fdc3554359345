//! What `scripts/clippy-rustc` wrote down when the lint build compiled a crate: rustc's
//! arguments (`<crate><extra-filename>.args`) and cargo's variables for the crate (`.env`), each
//! NUL-separated. The public-API check documents a library from it, and the feature variants
//! compile a crate again from it, both against the dependencies the lint build compiled.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Result;

#[derive(Debug)]
pub struct Record {
    /// rustc's path, then its arguments.
    pub arguments: Vec<OsString>,
    /// `NAME=value`: cargo's variables for the crate (its `env!`s, `OUT_DIR`).
    variables: Vec<OsString>,
}

impl Record {
    /// The record `stem` (`extract_api-0123abcd`) in `records`.
    pub fn read(records: &Path, stem: &str) -> Result<Record> {
        let read = |extension: &str| -> Result<Vec<OsString>> {
            let file = records.join(format!("{stem}.{extension}"));
            let bytes = std::fs::read(&file).map_err(|e| {
                format!(
                    "no record of its compilation ({}: {e}); `cargo xtask lint` makes it",
                    file.display()
                )
            })?;
            Ok(split_nul(&bytes))
        };
        Ok(Record {
            arguments: read("args")?,
            variables: read("env")?,
        })
    }

    /// Whether both files of the record `stem` are in `records`.
    pub fn exists(records: &Path, stem: &str) -> bool {
        ["args", "env"]
            .iter()
            .all(|extension| records.join(format!("{stem}.{extension}")).is_file())
    }

    /// `program` with the crate's cargo variables, and none of this process's.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("CARGO_") {
                command.env_remove(name);
            }
        }
        for variable in &self.variables {
            let variable = variable.to_string_lossy();
            if let Some((name, value)) = variable.split_once('=') {
                command.env(name, value);
            }
        }
        command
    }

    /// The clippy-driver beside the recorded rustc (the wrapper's choice), else rustup's.
    pub fn clippy_driver(&self) -> PathBuf {
        let beside = self
            .arguments
            .first()
            .and_then(|rustc| Path::new(rustc).parent())
            .map(|dir| dir.join("clippy-driver"));
        match beside {
            Some(driver) if driver.is_file() => driver,
            _ => PathBuf::from("clippy-driver"),
        }
    }
}

fn split_nul(bytes: &[u8]) -> Vec<OsString> {
    use std::os::unix::ffi::OsStrExt;
    bytes
        .split(|b| *b == 0)
        .filter(|part| !part.is_empty())
        .map(|part| std::ffi::OsStr::from_bytes(part).to_os_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_split_on_nul() {
        assert_eq!(
            split_nul(b"a=1\0b=two words\0"),
            [OsString::from("a=1"), OsString::from("b=two words")]
        );
        assert!(split_nul(b"").is_empty());
    }

    #[test]
    fn a_record_is_read_and_gives_its_variables_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("probe-01.args"),
            b"/t/rustc\0--crate-name\0probe\0",
        )
        .expect("args");
        std::fs::write(dir.path().join("probe-01.env"), b"CARGO_PKG_NAME=probe\0").expect("env");
        assert!(Record::exists(dir.path(), "probe-01"));
        assert!(!Record::exists(dir.path(), "probe-02"));
        let record = Record::read(dir.path(), "probe-01").expect("reads");
        assert_eq!(record.arguments.len(), 3);
        assert_eq!(record.clippy_driver(), PathBuf::from("clippy-driver"));
        let command = record.command("true");
        let set: Vec<_> = command
            .get_envs()
            .filter_map(|(name, value)| value.map(|v| (name.to_owned(), v.to_owned())))
            .collect();
        assert_eq!(set, [("CARGO_PKG_NAME".into(), "probe".into())]);
        let missing = Record::read(dir.path(), "probe-02").expect_err("no record");
        assert!(
            missing.to_string().contains("cargo xtask lint"),
            "{missing}"
        );
    }
}
