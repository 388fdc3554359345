//! `cargo xtask public-api`: which other crates' types each library's public API shows.
//!
//! A type of another crate in one of our signatures makes that crate's breaking release a
//! breaking release of ours. `docs/stability.md` lists, per library, the crates whose types it
//! shows on purpose (and which of their versions it uses); this reads each library's public API
//! from rustdoc's JSON output and fails when it shows a crate the list does not name, or the
//! list names one it no longer shows. rustdoc's JSON is unstable, so it is asked for with
//! `RUSTC_BOOTSTRAP=1` on the one toolchain CI uses, and read as untyped JSON.
//!
//! `RUSTC_BOOTSTRAP=1` reaches rustdoc alone: this binary stands in as cargo's `RUSTDOC` and
//! adds it (see [`rustdoc_wrapper`]). In cargo's own environment it would reach every build
//! script too, and proc-macro2's, anyhow's and thiserror's watch it: each would run again and
//! every crate after them be checked again, here and once more by the next cargo command
//! without it (this step took 126 s that way after clippy, and the next `cargo check` 79 s).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::Result;

/// The libraries whose public API is checked.
const LIBRARIES: &[&str] = &[
    "extract-model",
    "extract-keys",
    "extract-fs",
    "extract-auth",
    "extract-api",
    "extract-poll",
    "extract-batch",
    "extract-convert",
    "extract-review",
    "extract-emulator",
];

/// Crates whose types are everyone's: the standard library.
const STANDARD: &[&str] = &["std", "core", "alloc"];

/// Where `docs/stability.md` keeps the list: the table between these two lines.
const BEGIN: &str = "<!-- public-api: begin -->";
const END: &str = "<!-- public-api: end -->";

pub fn run(root: &Path) -> Result {
    let rustdoc = std::env::var_os("RUSTDOC").unwrap_or_else(|| "rustdoc".into());
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(root)
        .env("RUSTDOC", std::env::current_exe()?)
        .env(RUSTDOC_WRAPPED, rustdoc)
        .env(
            "RUSTDOCFLAGS",
            "-Z unstable-options --output-format json -A warnings",
        )
        // The whole workspace's libraries and examples, as `cargo clippy --workspace
        // --all-targets` (CI's step before this one) resolves features: every dependency is
        // then already checked, and rustdoc runs on this workspace's crates alone.
        .args([
            "doc",
            "--quiet",
            "--no-deps",
            "--workspace",
            "--lib",
            "--examples",
        ]);
    let status = command.status()?;
    if !status.success() {
        return Err("cargo doc (JSON output) failed".into());
    }
    let listed = listed(&std::fs::read_to_string(root.join("docs/stability.md"))?)?;
    let mut wrong = Vec::new();
    for library in LIBRARIES {
        let file = target_dir(root)
            .join("doc")
            .join(format!("{}.json", library.replace('-', "_")));
        let shown = foreign_types(&serde_json::from_slice(&std::fs::read(&file)?)?);
        let allowed = listed.get(*library).cloned().unwrap_or_default();
        for (krate, examples) in &shown {
            let names: Vec<&str> = examples.iter().take(2).map(String::as_str).collect();
            println!("{library}: {krate} ({})", names.join("; "));
            if !allowed.contains(krate) {
                wrong.push(format!(
                    "{library} shows {krate}'s types, which docs/stability.md does not list: {}",
                    names.join("; ")
                ));
            }
        }
        for krate in allowed.iter().filter(|k| !shown.contains_key(*k)) {
            wrong.push(format!(
                "docs/stability.md lists {krate} for {library}, whose public API no longer shows it"
            ));
        }
    }
    if wrong.is_empty() {
        println!("public API: every foreign crate shown is listed in docs/stability.md");
        Ok(())
    } else {
        Err(wrong.join("\n").into())
    }
}

/// Set by [`run`] for the rustdoc this binary stands in for (`RUSTDOC`).
const RUSTDOC_WRAPPED: &str = "XTASK_RUSTDOC_WRAPPED";

/// When this binary runs as cargo's `RUSTDOC` (from [`run`]): the real rustdoc's exit status,
/// having run it with this process's arguments and `RUSTC_BOOTSTRAP=1`. `None` otherwise.
pub fn rustdoc_wrapper() -> Option<std::process::ExitCode> {
    let rustdoc = std::env::var_os(RUSTDOC_WRAPPED)?;
    let status = Command::new(rustdoc)
        .args(std::env::args_os().skip(1))
        .env("RUSTC_BOOTSTRAP", "1")
        .env_remove(RUSTDOC_WRAPPED)
        .status();
    Some(match status {
        Ok(status) => std::process::ExitCode::from(status.code().map_or(1, |c| c as u8)),
        Err(e) => {
            eprintln!("error: cannot run rustdoc: {e}");
            std::process::ExitCode::FAILURE
        }
    })
}

/// Where cargo writes: `CARGO_TARGET_DIR` (relative to the workspace) when set, else `target/`.
fn target_dir(root: &Path) -> std::path::PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// The table in `docs/stability.md`: `| `extract-api` | `bytes` 1, `reqwest` 0.13 |` gives
/// extract-api → {bytes, reqwest}.
fn listed(stability: &str) -> Result<BTreeMap<String, BTreeSet<String>>> {
    let start = stability
        .find(BEGIN)
        .ok_or("docs/stability.md has no public-api table")?;
    let end = stability[start..]
        .find(END)
        .ok_or("docs/stability.md's public-api table is not closed")?;
    let mut listed = BTreeMap::new();
    for row in stability[start..start + end].lines() {
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        if cells.len() < 4 || !cells[1].starts_with('`') {
            continue;
        }
        let ours = cells[1].trim_matches('`').to_string();
        let theirs = cells[2]
            .split(',')
            .filter_map(|c| c.split('`').nth(1))
            .map(str::to_string)
            .collect();
        listed.insert(ours, theirs);
    }
    Ok(listed)
}

/// The crates (other than the standard library and this workspace's) whose items the public
/// API reachable from the crate's root names, each with a few of the places that name them.
fn foreign_types(doc: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut walk = Walk {
        index: &doc["index"],
        paths: &doc["paths"],
        crates: &doc["external_crates"],
        seen: HashSet::new(),
        found: BTreeMap::new(),
    };
    walk.item(&doc["root"], "");
    walk.found
        .retain(|krate, _| !STANDARD.contains(&krate.as_str()) && !krate.starts_with("extract_"));
    walk.found
}

struct Walk<'a> {
    index: &'a Value,
    paths: &'a Value,
    crates: &'a Value,
    seen: HashSet<String>,
    found: BTreeMap<String, BTreeSet<String>>,
}

impl Walk<'_> {
    /// An item reachable from the root: modules and re-exports are followed, public fields,
    /// variants, functions, inherent methods and trait implementations are read.
    fn item(&mut self, id: &Value, parent: &str) {
        let key = id.to_string();
        let Some(item) = self.index.get(&key) else {
            return;
        };
        if item["crate_id"] != 0 || !self.seen.insert(key) {
            return;
        }
        let Some((kind, body)) = item["inner"].as_object().and_then(|o| o.iter().next()) else {
            return;
        };
        let here = format!("{parent}::{}", item["name"].as_str().unwrap_or_default());
        let list = |value: &Value| value.as_array().cloned().unwrap_or_default();
        match kind.as_str() {
            "module" => list(&body["items"])
                .iter()
                .for_each(|i| self.item(i, &here)),
            "use" => self.item(&body["id"], parent),
            "struct" | "enum" | "union" | "trait" => {
                for fields in [
                    &body["kind"]["plain"]["fields"],
                    &body["kind"]["tuple"],
                    &body["fields"],
                    &body["variants"],
                    &body["items"],
                ] {
                    list(fields).iter().for_each(|i| self.item(i, &here));
                }
                self.types(&body["generics"], &here);
                self.types(&body["bounds"], &here);
                for implementation in list(&body["impls"]) {
                    self.implementation(&implementation, &here);
                }
            }
            "variant" => {
                list(&body["kind"]["tuple"])
                    .iter()
                    .for_each(|i| self.item(i, &here));
                list(&body["kind"]["struct"]["fields"])
                    .iter()
                    .for_each(|i| self.item(i, &here));
            }
            "struct_field" if item["visibility"] != "crate" => self.types(body, &here),
            "function" | "type_alias" | "constant" | "static" | "assoc_type" | "assoc_const" => {
                self.types(body, &here)
            }
            _ => {}
        }
    }

    /// An `impl` block of a public type: an inherent one's public methods, a trait one's trait
    /// and generics (a `From<reqwest::Error>` shows reqwest as much as a method does).
    fn implementation(&mut self, id: &Value, owner: &str) {
        let Some(body) = self.index.get(id.to_string()).map(|i| &i["inner"]["impl"]) else {
            return;
        };
        if body["is_synthetic"] == true || !body["blanket_impl"].is_null() {
            return;
        }
        if body["trait"].is_null() {
            for method in body["items"].as_array().cloned().unwrap_or_default() {
                let public = self
                    .index
                    .get(method.to_string())
                    .is_some_and(|m| m["visibility"] == "public");
                if public {
                    self.item(&method, owner);
                }
            }
        } else {
            let here = format!("{owner} impl");
            self.types(&body["trait"], &here);
            self.types(&body["generics"], &here);
        }
    }

    /// Every path to another crate's item inside a type, signature or bound.
    fn types(&mut self, value: &Value, place: &str) {
        match value {
            Value::Object(object) => {
                if let (Some(id), Some(Value::String(_))) = (object.get("id"), object.get("path")) {
                    let target = &self.paths[id.to_string()];
                    let krate = &target["crate_id"];
                    if krate.as_u64().is_some_and(|k| k != 0) {
                        let name = self.crates[krate.to_string()]["name"]
                            .as_str()
                            .unwrap_or("?")
                            .to_string();
                        let path: Vec<&str> = target["path"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_str)
                            .collect();
                        self.found
                            .entry(name)
                            .or_default()
                            .insert(format!("{place} → {}", path.join("::")));
                    }
                }
                object.values().for_each(|v| self.types(v, place));
            }
            Value::Array(items) => items.iter().for_each(|v| self.types(v, place)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_gives_each_library_its_crates() {
        let doc = format!(
            "intro\n{BEGIN}\n| ours | theirs |\n|---|---|\n| `extract-api` | `bytes` 1, `reqwest` 0.13 |\n| `extract-fs` | — |\n{END}\n"
        );
        let table = listed(&doc).expect("a table");
        assert_eq!(
            table["extract-api"],
            BTreeSet::from(["bytes".to_string(), "reqwest".to_string()])
        );
        assert!(table["extract-fs"].is_empty());
        assert!(listed("no table").is_err());
    }

    #[test]
    fn a_foreign_path_in_a_public_signature_is_found() {
        let doc = serde_json::json!({
            "root": 0,
            "index": {
                "0": {"crate_id": 0, "name": "ours", "visibility": "public",
                      "inner": {"module": {"items": [1, 2]}}},
                "1": {"crate_id": 0, "name": "send", "visibility": "public",
                      "inner": {"function": {"sig": {"inputs": [["c",
                          {"resolved_path": {"path": "Client", "id": 9, "args": null}}]]}}}},
                "2": {"crate_id": 0, "name": "len", "visibility": "public",
                      "inner": {"function": {"sig": {"output": {"primitive": "usize"}}}}}
            },
            "paths": {"9": {"crate_id": 3, "path": ["reqwest", "Client"], "kind": "struct"}},
            "external_crates": {"3": {"name": "reqwest"}}
        });
        let found = foreign_types(&doc);
        assert_eq!(found.keys().collect::<Vec<_>>(), ["reqwest"]);
        assert!(found["reqwest"].iter().any(|p| p.contains("send")));
    }
}
