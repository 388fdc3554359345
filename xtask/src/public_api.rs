//! The public-API check of `cargo xtask lint`: which other crates' types each library's public
//! API shows.
//!
//! A type of another crate in one of our signatures makes that crate's breaking release a
//! breaking release of ours. `docs/stability.md` lists, per library, the crates whose types it
//! shows on purpose (and which of their versions it uses); this reads each library's public API
//! from rustdoc's JSON output and fails when it shows a crate the list does not name, or the
//! list names one it no longer shows. rustdoc's JSON is unstable, so it is asked for with
//! `RUSTC_BOOTSTRAP=1` on the one toolchain CI uses, and read as untyped JSON.
//!
//! rustdoc documents each library with the arguments the lint build compiled it with
//! (`scripts/clippy-rustc` keeps them), so it reads the metadata of the dependencies that build
//! made. `cargo doc` would check every dependency once more, in check mode, for nothing.
//! `RUSTC_BOOTSTRAP=1` reaches rustdoc alone: in cargo's environment it would also reach
//! proc-macro2's, anyhow's and thiserror's build scripts, which watch it, and every crate after
//! them would be compiled again.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::ffi::OsString;
use std::path::Path;

use serde_json::Value;

use crate::Result;

/// The libraries whose public API is checked.
pub const LIBRARIES: &[&str] = &[
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

/// Documents each library as the lint build compiled it (`libraries`: each package's record in
/// `records`) into `out`, then compares the foreign crates each one's API shows with
/// `docs/stability.md`.
pub fn run(
    root: &Path,
    records: &Path,
    libraries: &BTreeMap<String, String>,
    out: &Path,
) -> Result {
    let documented = crate::lint::in_parallel(LIBRARIES, |library| {
        let record = libraries
            .get(*library)
            .ok_or_else(|| "the lint build did not build it".to_string())?;
        document(root, records, record, out).map_err(|e| e.to_string())
    });
    for (library, result) in LIBRARIES.iter().zip(documented) {
        result.map_err(|e| format!("{library}: {e}"))?;
    }
    let listed = listed(&std::fs::read_to_string(root.join("docs/stability.md"))?)?;
    let mut wrong = Vec::new();
    for library in LIBRARIES {
        let file = out.join(format!("{}.json", library.replace('-', "_")));
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

/// rustdoc's JSON for one library in `out`, from the arguments and cargo variables
/// `scripts/clippy-rustc` recorded (the record `stem` in `records`) when the lint build compiled
/// it.
fn document(root: &Path, records: &Path, stem: &str, out: &Path) -> Result {
    let record = crate::record::Record::read(records, stem)?;
    let arguments = rustdoc_arguments(&record.arguments)?;
    let mut command =
        record.command(std::env::var_os("RUSTDOC").unwrap_or_else(|| "rustdoc".into()));
    let status = command
        .current_dir(root)
        .args(arguments)
        .args([
            "-Z",
            "unstable-options",
            "--output-format",
            "json",
            "-A",
            "warnings",
        ])
        .arg("-o")
        .arg(out)
        .env("RUSTC_BOOTSTRAP", "1")
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("rustdoc failed ({status})").into())
    }
}

/// rustc's arguments for a library (as cargo gave them, after the rustc path) turned into
/// rustdoc's: the crate, its source, edition, cfgs and dependencies. Code generation, output,
/// diagnostics and lint settings are the compiler's business and are left out. An argument it
/// cannot place (a second source file: the value of a flag it does not know) is an error, not
/// a guess.
fn rustdoc_arguments(rustc: &[OsString]) -> Result<Vec<OsString>> {
    /// Flags whose value is the next argument, and which rustdoc is given too.
    const KEPT: &[&str] = &[
        "--crate-name",
        "--crate-type",
        "--cfg",
        "--check-cfg",
        "-L",
        "--extern",
        "--target",
        "--edition",
        "--sysroot",
    ];
    /// Flags whose value is the next argument, and which are the compiler's business alone.
    const LEFT_OUT: &[&str] = &[
        "-C",
        "--codegen",
        "-l",
        "--out-dir",
        "-o",
        "--emit",
        "--print",
        "--error-format",
        "--json",
        "--color",
        "--cap-lints",
        "-W",
        "-A",
        "-D",
        "-F",
        "--warn",
        "--allow",
        "--deny",
        "--forbid",
        "--force-warn",
        "-Z",
        "--diagnostic-width",
        "--remap-path-prefix",
        "--remap-path-scope",
        "--crate-attr",
        "--env-set",
        "--explain",
    ];
    /// Short flags that may carry their value joined (`-Ldependency=…`, `-Cdebuginfo=0`).
    const SHORT: &[&str] = &["-L", "-l", "-C", "-W", "-A", "-D", "-F", "-Z", "-o"];
    let mut kept = Vec::new();
    let mut source = None;
    // The first argument is the rustc cargo found; the wrapper passes it on.
    let mut arguments = rustc.iter().skip(1);
    while let Some(argument) = arguments.next() {
        let text = argument.to_string_lossy();
        if KEPT.contains(&text.as_ref()) || LEFT_OUT.contains(&text.as_ref()) {
            let value = arguments.next();
            if KEPT.contains(&text.as_ref()) {
                kept.push(argument.clone());
                kept.extend(value.cloned());
            }
        } else if text.starts_with("--") {
            // `--flag=value`, or a flag without a value (`--test`).
            let flag = text.split_once('=').map_or(text.as_ref(), |(flag, _)| flag);
            if KEPT.contains(&flag) {
                kept.push(argument.clone());
            }
        } else if let Some(short) = SHORT.iter().find(|s| text.starts_with(**s)) {
            if *short == "-L" {
                kept.push(OsString::from("-L"));
                kept.push(OsString::from(&text[2..]));
            }
        } else if text.starts_with('-') {
            // A flag without a value (`-g`, `-O`).
        } else if let Some(first) = source.replace(argument.clone()) {
            return Err(format!(
                "two source files in rustc's arguments ({} and {}): one is a flag's value this \
                 check does not know",
                first.to_string_lossy(),
                text
            )
            .into());
        }
    }
    kept.extend(source);
    Ok(kept)
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
    fn rustdoc_gets_the_crate_its_cfgs_and_dependencies_not_codegen_or_lints() {
        let rustc: Vec<OsString> = [
            "/toolchain/bin/rustc",
            "--crate-name",
            "extract_api",
            "--edition=2024",
            "crates/extract-api/src/lib.rs",
            "--error-format=json",
            "--json=diagnostic-rendered-ansi,artifacts,future-incompat",
            "--crate-type",
            "lib",
            "--emit=dep-info,metadata,link",
            "-C",
            "embed-bitcode=no",
            "--cfg",
            "feature=\"default\"",
            "--check-cfg",
            "cfg(feature, values(\"default\", \"mock\"))",
            "--out-dir",
            "/t/debug/deps",
            "-L",
            "dependency=/t/debug/deps",
            "--extern",
            "bytes=/t/debug/deps/libbytes-1.rmeta",
            "-W",
            "clippy::unwrap_used",
            "--cap-lints",
            "warn",
            "-D",
            "warnings",
            "-Cdebuginfo=0",
            "-Lnative=/t/build/out",
            "-g",
        ]
        .map(OsString::from)
        .to_vec();
        let kept: Vec<String> = rustdoc_arguments(&rustc)
            .expect("placed")
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            kept,
            [
                "--crate-name",
                "extract_api",
                "--edition=2024",
                "--crate-type",
                "lib",
                "--cfg",
                "feature=\"default\"",
                "--check-cfg",
                "cfg(feature, values(\"default\", \"mock\"))",
                "-L",
                "dependency=/t/debug/deps",
                "--extern",
                "bytes=/t/debug/deps/libbytes-1.rmeta",
                "-L",
                "native=/t/build/out",
                "crates/extract-api/src/lib.rs",
            ]
        );
        // A flag this check does not know, with its value apart: refused, not guessed.
        let mut unknown = rustc.clone();
        unknown.extend(["--new-flag", "value"].map(OsString::from));
        assert!(rustdoc_arguments(&unknown).is_err());
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
