//! The document to send: checked before anything is sent, streamed from disk when sent.

use std::path::Path;

use reqwest::multipart::Part;
use tokio::io::AsyncReadExt;
use tokio_util::io::ReaderStream;

use std::sync::Arc;

use crate::ApiError;
use crate::watchdog::Progress;
use extract_auth::ErrorKind;

/// The largest document `POST /v3/extractions` takes; larger ones go through a pre-signed upload.
pub const DIRECT_LIMIT: u64 = 100 * 1000 * 1000;

/// Checks that `path` is a readable, non-empty regular file that starts like a PDF; returns
/// its size.
pub async fn check(path: &Path) -> Result<u64, ApiError> {
    // Before opening: opening a FIFO waits for a writer, forever if none comes.
    match tokio::fs::metadata(path).await {
        Ok(metadata) if metadata.is_dir() => {
            return Err(ApiError::about_file(
                ErrorKind::NotAFile,
                path,
                "not a file (a folder)",
            ));
        }
        Ok(metadata) if !metadata.is_file() => {
            return Err(ApiError::about_file(
                ErrorKind::NotAFile,
                path,
                "not a regular file (a pipe, socket or device); give a PDF file",
            ));
        }
        _ => {}
    }
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                ApiError::about_file(ErrorKind::NotFound, path, "no such file")
            }
            std::io::ErrorKind::PermissionDenied => ApiError::about_file(
                ErrorKind::PermissionDenied,
                path,
                "not readable (permission denied)",
            ),
            kind => ApiError::about_file(kind.into(), path, "cannot open").with_source(e),
        })?;
    let metadata = file
        .metadata()
        .await
        .map_err(|e| ApiError::about_file(e.kind().into(), path, "cannot read").with_source(e))?;
    if !metadata.is_file() {
        return Err(ApiError::about_file(
            ErrorKind::NotAFile,
            path,
            "not a file",
        ));
    }
    if metadata.len() == 0 {
        return Err(ApiError::about_file(
            ErrorKind::Empty,
            path,
            "the file is empty",
        ));
    }
    // The PDF header may follow a little junk; readers look in the first kilobyte.
    let mut head = vec![0; 1024];
    let mut read = 0;
    while read < head.len() {
        let n = file.read(&mut head[read..]).await.map_err(|e| {
            ApiError::about_file(e.kind().into(), path, "cannot read").with_source(e)
        })?;
        if n == 0 {
            break;
        }
        read += n;
    }
    if !head[..read].windows(5).any(|w| w == b"%PDF-") {
        return Err(ApiError::about_file(
            ErrorKind::NotPdf,
            path,
            "not a PDF (no %PDF- header in its first kilobyte)",
        ));
    }
    Ok(metadata.len())
}

/// A document to send: a file, streamed from disk, or bytes a program already holds.
#[derive(Clone, Copy)]
pub(crate) enum Source<'a> {
    /// A file on disk.
    File(&'a Path),
    /// Bytes in memory, with the file name the form gives them.
    Bytes(&'a bytes::Bytes, &'a str),
    /// A stream of a known length, readable once, with its file name.
    Stream(&'a OnceReader, u64, &'a str),
}

impl std::fmt::Debug for Source<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(path) => f.debug_tuple("File").field(path).finish(),
            Source::Bytes(bytes, name) => write!(f, "Bytes({name}, {} bytes)", bytes.len()),
            Source::Stream(_, len, name) => write!(f, "Stream({name}, {len} bytes)"),
        }
    }
}

/// A stream that can be taken once: a second attempt finds it gone and says so.
pub(crate) type OnceReader =
    std::sync::Mutex<Option<Box<dyn tokio::io::AsyncRead + Send + Sync + Unpin>>>;

impl Source<'_> {
    /// Checks the document as [`check`] does; returns its size.
    pub(crate) async fn check(&self) -> Result<u64, ApiError> {
        match self {
            Source::File(path) => check(path).await,
            Source::Bytes(bytes, name) => {
                if bytes.is_empty() {
                    return Err(ApiError::build(
                        ErrorKind::Empty,
                        format!("{name}: the document is empty"),
                    ));
                }
                let head = &bytes[..bytes.len().min(1024)];
                if !head.windows(5).any(|w| w == b"%PDF-") {
                    return Err(ApiError::build(
                        ErrorKind::NotPdf,
                        format!("{name}: not a PDF (no %PDF- header in its first kilobyte)"),
                    ));
                }
                Ok(bytes.len() as u64)
            }
            // A stream is not read before it is sent: its length is all there is to check.
            Source::Stream(_, len, name) if *len == 0 => Err(ApiError::build(
                ErrorKind::Empty,
                format!("{name}: the document is empty"),
            )),
            Source::Stream(_, len, _) => Ok(*len),
        }
    }

    /// The `file` part of a form, and the progress of its sending.
    pub(crate) async fn part(&self) -> Result<(Part, Arc<Progress>), ApiError> {
        match self {
            Source::File(path) => file_part(path).await,
            Source::Bytes(bytes, name) => {
                let progress = Progress::new(bytes.len() as u64);
                // Cloning `Bytes` shares the buffer: a retry sends the same memory again.
                let chunks = futures_util::stream::iter(
                    bytes
                        .chunks(64 * 1024)
                        .map(|c| Ok::<_, std::io::Error>(bytes.slice_ref(c)))
                        .collect::<Vec<_>>(),
                );
                let body = reqwest::Body::wrap_stream(progress.track(chunks));
                let part = Part::stream_with_length(body, bytes.len() as u64)
                    .file_name(form_file_name(name))
                    .mime_str("application/pdf")
                    .map_err(|e| {
                        ApiError::build(ErrorKind::Other, "cannot make the upload form")
                            .with_source(e)
                    })?;
                Ok((part, progress))
            }
            Source::Stream(reader, len, name) => {
                let reader = reader
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take()
                    .ok_or_else(|| {
                        ApiError::build(
                            ErrorKind::InvalidInput,
                            format!(
                                "{name}: a stream can be sent once, and it was; submit bytes or a file to have failures retried"
                            ),
                        )
                    })?;
                let progress = Progress::new(*len);
                let body = reqwest::Body::wrap_stream(
                    progress.track(ReaderStream::with_capacity(reader, 64 * 1024)),
                );
                let part = Part::stream_with_length(body, *len)
                    .file_name(form_file_name(name))
                    .mime_str("application/pdf")
                    .map_err(|e| {
                        ApiError::build(ErrorKind::Other, "cannot make the upload form")
                            .with_source(e)
                    })?;
                Ok((part, progress))
            }
        }
    }
}

/// The `file` part of a form, streamed from disk in 64 KiB chunks (memory use does not grow
/// with the document), and the progress of its sending.
pub(crate) async fn file_part(path: &Path) -> Result<(Part, Arc<Progress>), ApiError> {
    let file = tokio::fs::File::open(path)
        .await
        .map_err(|e| ApiError::about_file(e.kind().into(), path, "cannot open").with_source(e))?;
    let len = file
        .metadata()
        .await
        .map_err(|e| ApiError::about_file(e.kind().into(), path, "cannot read").with_source(e))?
        .len();
    let name = path.file_name().map_or_else(
        || "document.pdf".into(),
        |n| form_file_name(&n.to_string_lossy()),
    );
    let progress = Progress::new(len);
    let body =
        reqwest::Body::wrap_stream(progress.track(ReaderStream::with_capacity(file, 64 * 1024)));
    let part = Part::stream_with_length(body, len)
        .file_name(name)
        .mime_str("application/pdf")
        .map_err(|e| {
            ApiError::build(ErrorKind::Other, "cannot make the upload form").with_source(e)
        })?;
    Ok((part, progress))
}

/// A file name as a multipart header may carry it (RFC 7578 section 4.2, as browsers do):
/// `"`, CR, LF and other control characters percent-encoded, so a name can never end the
/// header or start another.
pub(crate) fn form_file_name(name: &str) -> String {
    let mut encoded = String::with_capacity(name.len());
    for c in name.chars() {
        if c == '"' || c == '%' || c.is_control() {
            let mut buffer = [0; 4];
            for byte in c.encode_utf8(&mut buffer).bytes() {
                encoded.push_str(&format!("%{byte:02X}"));
            }
        } else {
            encoded.push(c);
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    #[test]
    fn file_names_cannot_break_the_multipart_header() {
        assert_eq!(
            super::form_file_name("a\r\nContent-Type: x\"; y.pdf"),
            "a%0D%0AContent-Type: x%22; y.pdf"
        );
        assert_eq!(super::form_file_name("100% ok.pdf"), "100%25 ok.pdf");
        assert_eq!(super::form_file_name("rapport é.pdf"), "rapport é.pdf");
    }

    mod properties {
        use proptest::prelude::*;

        proptest! {
            /// Whatever a file is called, its encoded name cannot end the header, and decoding
            /// it gives the name back.
            #[test]
            fn any_name_is_one_header_value(name in any::<String>()) {
                let encoded = super::super::form_file_name(&name);
                prop_assert!(!encoded.chars().any(|c| c.is_control() || c == '"'));
                let decoded = percent_decode(&encoded);
                prop_assert_eq!(decoded, name);
            }
        }

        fn percent_decode(text: &str) -> String {
            let bytes = text.as_bytes();
            let mut out = Vec::new();
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'%' {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("hex");
                    out.push(u8::from_str_radix(hex, 16).expect("hex"));
                    i += 3;
                } else {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
            String::from_utf8(out).expect("utf8")
        }
    }

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
