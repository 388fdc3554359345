//! The document to send: checked before anything is sent, streamed from disk when sent.

use std::path::Path;

use reqwest::multipart::Part;
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;

use crate::ApiError;

/// The largest document `POST /v3/extractions` takes; larger ones go through a pre-signed upload.
pub const DIRECT_LIMIT: u64 = 100 * 1000 * 1000;

/// Checks that `path` is a readable, non-empty file that starts like a PDF; returns its size.
pub async fn check(path: &Path) -> Result<u64, ApiError> {
    let shown = path.display();
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ApiError::Build(format!("{shown}: no such file")),
            std::io::ErrorKind::PermissionDenied => {
                ApiError::Build(format!("{shown}: not readable (permission denied)"))
            }
            _ => ApiError::Build(format!("{shown}: cannot open: {e}")),
        })?;
    let metadata = file
        .metadata()
        .await
        .map_err(|e| ApiError::Build(format!("{shown}: {e}")))?;
    if !metadata.is_file() {
        return Err(ApiError::Build(format!("{shown}: not a file")));
    }
    if metadata.len() == 0 {
        return Err(ApiError::Build(format!("{shown}: the file is empty")));
    }
    // The PDF header may follow a little junk; readers look in the first kilobyte.
    let mut head = vec![0; 1024];
    let mut read = 0;
    while read < head.len() {
        let n = file
            .read(&mut head[read..])
            .await
            .map_err(|e| ApiError::Build(format!("{shown}: cannot read: {e}")))?;
        if n == 0 {
            break;
        }
        read += n;
    }
    if !head[..read].windows(5).any(|w| w == b"%PDF-") {
        return Err(ApiError::Build(format!(
            "{shown}: not a PDF (no %PDF- header in its first kilobyte)"
        )));
    }
    Ok(metadata.len())
}

/// The `file` part of a form, streamed from disk in 64 KiB chunks: memory use does not grow
/// with the document.
pub(crate) async fn file_part(path: &Path) -> Result<Part, ApiError> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| ApiError::Build(format!("{}: cannot open: {e}", path.display())))?;
    let len = file
        .metadata()
        .await
        .map_err(|e| ApiError::Build(format!("{}: {e}", path.display())))?
        .len();
    let name = path.file_name().map_or_else(
        || "document.pdf".into(),
        |n| n.to_string_lossy().into_owned(),
    );
    let body = reqwest::Body::wrap_stream(ReaderStream::with_capacity(file, 64 * 1024));
    Part::stream_with_length(body, len)
        .file_name(name)
        .mime_str("application/pdf")
        .map_err(|e| ApiError::Build(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_missing_empty_and_non_pdf_files_before_sending() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("missing.pdf");
        assert!(
            check(&missing)
                .await
                .expect_err("missing")
                .to_string()
                .contains("no such file")
        );
        let empty = dir.path().join("empty.pdf");
        std::fs::write(&empty, b"").expect("writes");
        assert!(
            check(&empty)
                .await
                .expect_err("empty")
                .to_string()
                .contains("empty")
        );
        let text = dir.path().join("notes.pdf");
        std::fs::write(&text, b"hello").expect("writes");
        assert!(
            check(&text)
                .await
                .expect_err("not a PDF")
                .to_string()
                .contains("not a PDF")
        );
        let pdf = dir.path().join("ok.pdf");
        std::fs::write(&pdf, b"\n%PDF-1.7 ...").expect("writes");
        assert_eq!(check(&pdf).await.expect("a PDF"), 13);
        assert!(check(dir.path()).await.is_err(), "a directory");
    }
}
