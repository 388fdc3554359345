//! The naming stage: every input gets its output name before any work, recorded in the
//! manifest, unique across the whole listing.

use std::collections::HashSet;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use extract_api::ExtractApi;

use crate::folder::OutputFolder;
use crate::hex;
use crate::input::InputFile;
use crate::list::Listed;
use crate::names::{is_safe_name, printable, safe_component};
use crate::runner::{BatchRunner, Input};
use crate::{BatchEvent, Manifest, ManifestEntry};

impl<A: ExtractApi + Clone + 'static> BatchRunner<A> {
    /// One named input, with its page count if one is known already.
    fn input(&self, file: InputFile, key: String, name: String, new: bool) -> Input {
        let pages = tokio::sync::OnceCell::new_with(self.known_pages.get(&key).map(|p| Some(*p)));
        Input {
            file,
            key,
            name,
            new,
            pages,
        }
    }

    /// Gives every input its output name: the one the manifest records for it, else its file
    /// stem made safe and unique, skipping names other inputs own and names of files in the
    /// folder that no run wrote (unless overwriting). With `mirror`, a new name is the input's
    /// path under its folder ([`mirror_name`]), the same whichever worker computes it. New
    /// names are recorded before any work.
    pub(crate) fn name_inputs(
        &self,
        listed: Vec<Listed>,
        manifest: &mut Manifest,
        mirror: bool,
        folder: &OutputFolder,
    ) -> Vec<Input> {
        let mut owned: HashSet<String> = manifest
            .documents
            .values()
            .filter_map(|e| e.name.as_deref().map(str::to_lowercase))
            .collect();
        let written: HashSet<PathBuf> = manifest
            .documents
            .values()
            .flat_map(|e| e.outputs.iter().cloned())
            .collect();
        // The names this listing's inputs have, compared as `owned` is: a tampered manifest
        // that gives two inputs one name must not make one output overwrite the other.
        let mut taken: HashSet<String> = HashSet::with_capacity(listed.len());
        let mut inputs = Vec::with_capacity(listed.len());
        for Listed {
            file,
            key,
            relative,
        } in listed
        {
            // A name read back from the manifest is input too: one this runner could not have
            // made (`../../x`, an absolute path) is set aside with a warning, and named anew.
            match manifest.documents.get(&key).and_then(|e| e.name.clone()) {
                Some(name) if is_safe_name(&name) && taken.insert(name.to_lowercase()) => {
                    inputs.push(self.input(file, key, name, false));
                    continue;
                }
                Some(name) if is_safe_name(&name) => tracing::warn!(
                    "{}: the manifest gives its outputs the name {} of another input's; naming them anew",
                    printable(&key),
                    printable(&name)
                ),
                Some(name) => tracing::warn!(
                    "{}: the manifest names its outputs {}, which is not a name this tool makes; naming them anew",
                    printable(&key),
                    printable(&name)
                ),
                None => {}
            }
            let name = if mirror {
                mirror_name(relative.as_deref(), &key)
            } else {
                self.flat_name(&file, &owned, &written, folder)
            };
            owned.insert(name.to_lowercase());
            taken.insert(name.to_lowercase());
            manifest.documents.insert(
                key.clone(),
                ManifestEntry::queued(String::new(), name.clone()),
            );
            inputs.push(self.input(file, key, name, true));
        }
        inputs
    }

    /// A new input's name in a flat folder: its file stem made safe, numbered past the names
    /// `owned` by other inputs and past files in the folder that no run wrote (unless
    /// overwriting), which are reported.
    pub(crate) fn flat_name(
        &self,
        file: &InputFile,
        owned: &HashSet<String>,
        written: &HashSet<PathBuf>,
        folder: &OutputFolder,
    ) -> String {
        let stem = file
            .shown()
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let base = safe_component(&stem, "document");
        let mut kept = None;
        let name = (1..)
            .map(|n| {
                if n == 1 {
                    base.clone()
                } else {
                    format!("{base}-{n}")
                }
            })
            .find(|candidate| {
                if owned.contains(&candidate.to_lowercase()) {
                    return false;
                }
                let foreign = self.extensions().find_map(|extension| {
                    let path = folder.shown(&format!("{candidate}.{extension}"));
                    (path.exists() && !written.contains(&path)).then_some(path)
                });
                match foreign {
                    Some(path) if !self.overwrite => {
                        kept.get_or_insert(path);
                        false
                    }
                    _ => true,
                }
            })
            .unwrap_or(base);
        if let Some(kept) = kept {
            (self.on_event)(BatchEvent::Renamed {
                input: file.shown().to_path_buf(),
                kept,
                name: name.clone(),
            });
        }
        name
    }
}

/// The output name of an input found at `relative` under its folder, made without knowing any
/// other input (so workers on many machines agree without talking): the same path, each part
/// made safe ([`safe_component`]), without its `.pdf`. When making it safe changed anything, or
/// the path is unknown, `-` and 8 hex digits of the key's hash are added. A path kept as it is
/// never ends that way (one that does is given a hash too), so a made name never meets a kept
/// one, whatever the inputs are called; two made names meet only if both the made path and
/// 32 bits of two keys' hashes are equal.
pub(crate) fn mirror_name(relative: Option<&str>, key: &str) -> String {
    // An absolute path given as an input keeps its folders, not its root.
    let raw = relative.unwrap_or("").trim_start_matches('/');
    let stem = raw.strip_suffix(".pdf").unwrap_or(raw);
    let safe: Vec<String> = stem
        .split('/')
        .filter(|p| !p.is_empty())
        .map(|p| safe_component(p, "document"))
        .collect();
    let name = safe.join("/");
    if relative.is_some() && raw.ends_with(".pdf") && name == stem && !looks_made(&name) {
        name
    } else {
        let name = if name.is_empty() {
            "document".into()
        } else {
            name
        };
        format!("{name}-{}", &hex(&Sha256::digest(key.as_bytes()))[..8])
    }
}

/// Whether `name` ends as a made name does (`-` and 8 lowercase hex digits).
fn looks_made(name: &str) -> bool {
    let bytes = name.as_bytes();
    bytes.len() > 9
        && bytes[bytes.len() - 9] == b'-'
        && bytes[bytes.len() - 8..]
            .iter()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
