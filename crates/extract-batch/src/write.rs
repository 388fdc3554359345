//! The write stage: the output document and every format asked for, each written whole, on the
//! blocking pool where it costs CPU, so that no document waits on another's rendering.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use extract_api::{ExtractApi, OutputDocument};

use crate::report::pages_of;
use crate::runner::{BatchRunner, Input, Shared};
use crate::{BatchOutcome, DocumentError, EntryState};

/// Turns an output document into the bytes of one extra file (such as its Markdown), or says
/// why it cannot.
pub type Render = dyn Fn(&OutputDocument) -> Result<Vec<u8>, String> + Send + Sync;

/// Like [`Render`], with the input file the document was extracted from (a review page draws
/// the PDF's pages under the boxes).
pub type RenderFrom = dyn Fn(&OutputDocument, &Path) -> Result<Vec<u8>, String> + Send + Sync;

impl<A: ExtractApi + Clone + 'static> BatchRunner<A> {
    /// An input done before whose output document is still there: writes the formats this run
    /// asks for that are missing, from the stored document, without asking the service.
    pub(crate) async fn complete_from_stored(
        &self,
        input: &Input,
        json: &str,
        shared: &Shared,
    ) -> Result<BatchOutcome, DocumentError> {
        let mut missing = false;
        for (extension, _) in &self.renderers {
            missing |= !shared
                .folder
                .exists(&format!("{}.{extension}", input.name))
                .await;
        }
        if !missing {
            return Ok(BatchOutcome::AlreadyDone);
        }
        let path = shared.folder.shown(json);
        let bytes = shared
            .folder
            .read(json)
            .await
            .map_err(|source| DocumentError::File {
                path: path.clone(),
                source,
            })?;
        let document = tokio::task::spawn_blocking(move || {
            OutputDocument::from_json(&bytes)
                .map_err(|source| Box::new(DocumentError::StoredOutput { path, source }))
        })
        .await
        .map_err(|e| DocumentError::Internal(e.to_string()))?
        .map_err(|e| *e)?;
        shared.count(|s| s.completed_without_submission += 1);
        self.write_all(input, &document, &[shared.folder.shown(json)], shared)
            .await
    }

    /// Writes the output document (unless `kept` holds it already) and every format, records
    /// them, and reports a conversion that failed without losing the document. Serialising and
    /// rendering run on the blocking pool: a document that takes seconds of CPU to render
    /// holds up no other document.
    pub(crate) async fn write_all(
        &self,
        input: &Input,
        document: &OutputDocument,
        kept: &[PathBuf],
        shared: &Shared,
    ) -> Result<BatchOutcome, DocumentError> {
        let previous = shared
            .manifest()
            .documents
            .get(&input.key)
            .map(|e| e.outputs.clone())
            .unwrap_or_default();
        let mut wanted = Vec::new();
        for (extension, render) in &self.renderers {
            if !kept.is_empty()
                && shared
                    .folder
                    .exists(&format!("{}.{extension}", input.name))
                    .await
            {
                continue;
            }
            wanted.push((extension.clone(), render.clone()));
        }
        let document = Arc::new(document.clone());
        let pages = pages_of(&document);
        let source = input.file.shown().to_path_buf();
        let json = kept.is_empty();
        let files =
            tokio::task::spawn_blocking(move || render_all(&document, &source, json, wanted))
                .await
                .map_err(|e| DocumentError::Internal(e.to_string()))?
                .map_err(DocumentError::Internal)?;
        let mut written: Vec<PathBuf> = kept.to_vec();
        let mut errors = Vec::new();
        for (extension, bytes) in files {
            let name = format!("{}.{extension}", input.name);
            let path = shared.folder.shown(&name);
            match bytes {
                Ok(bytes) => {
                    shared.fence.check()?;
                    let replace = self.overwrite || previous.contains(&path);
                    shared
                        .folder
                        .write(&name, bytes, replace)
                        .await
                        .map_err(|source| DocumentError::File {
                            path: path.clone(),
                            source,
                        })?;
                    written.push(path);
                }
                Err(error) => errors.push(format!("{extension}: {error}")),
            }
        }
        let outputs = written.clone();
        let error = (!errors.is_empty()).then(|| errors.join("; "));
        let recorded = error.clone();
        self.update(shared, &input.key, |e| {
            e.state = EntryState::Succeeded;
            e.pages = Some(pages);
            for output in outputs {
                if !e.outputs.contains(&output) {
                    e.outputs.push(output);
                }
            }
            e.error = recorded;
        })
        .await?;
        Ok(match error {
            Some(error) => BatchOutcome::ConversionFailed { written, error },
            None => BatchOutcome::Succeeded(written),
        })
    }
}

/// One file to write: its extension, and its bytes or why they could not be made.
type Rendered = (String, Result<Vec<u8>, String>);

/// The bytes of every file to write: the output document (`json`) and each format wanted. A
/// converter that panics on some document loses that format, not the batch.
fn render_all(
    document: &OutputDocument,
    source: &Path,
    json: bool,
    wanted: Vec<(String, Arc<RenderFrom>)>,
) -> Result<Vec<Rendered>, String> {
    let mut files = Vec::with_capacity(wanted.len() + 1);
    if json {
        let bytes = serde_json::to_vec_pretty(document).map_err(|e| e.to_string())?;
        files.push(("json".to_string(), Ok(bytes)));
    }
    for (extension, render) in wanted {
        let rendered =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| render(document, source)))
                .unwrap_or_else(|_| Err("the conversion panicked".into()));
        files.push((extension, rendered));
    }
    Ok(files)
}
