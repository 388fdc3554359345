//! Preflight: what can be known about a document before anything is sent, so a request that
//! is bound to fail costs nothing. The page count comes from the PDF itself (its page tree,
//! read with hayro-syntax, pure Rust); a `pages` selection is checked against it (the service
//! answers 400 to a page past the end, after the upload); an encrypted or damaged file is named.

use std::fmt;
use std::path::Path;

use extract_auth::ErrorKind;

use crate::ApiError;
use crate::document::{DIRECT_LIMIT, check};

/// The largest document a pre-signed upload takes: an S3 POST policy's single-object limit.
pub const PRESIGNED_LIMIT: u64 = 5 * 1000 * 1000 * 1000;

/// What preflight learnt about a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Preflight {
    /// Its size in bytes.
    pub bytes: u64,
    /// Pages in the file.
    pub pages: u32,
    /// Pages the request asks for: the selection's, else all.
    pub selected_pages: u32,
    /// Whether it goes through a pre-signed upload (over [`DIRECT_LIMIT`]).
    pub presigned: bool,
}

/// A 1-based page selection such as `1-5,7,11,14-16`, as ranges (never expanded: a hostile
/// `1-4000000000` costs nothing). The emulator parses selections with its own code on purpose:
/// a stand-in that shared the client's parser would share its bugs, and hide them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSelection {
    ranges: Vec<(u32, u32)>,
}

impl PageSelection {
    /// Parses a selection; the error ([`ErrorKind::InvalidInput`]) says which part is wrong.
    pub fn parse(spec: &str) -> Result<PageSelection, ApiError> {
        let mut ranges = Vec::new();
        for part in spec.split(',').map(str::trim) {
            let bad = || {
                ApiError::build(
                    ErrorKind::InvalidInput,
                    format!("pages `{part}` is not a page or a range like 3-5"),
                )
            };
            let (first, last) = match part.split_once('-') {
                Some((a, b)) => (
                    a.trim().parse::<u32>().map_err(|_| bad())?,
                    b.trim().parse::<u32>().map_err(|_| bad())?,
                ),
                None => {
                    let n = part.parse::<u32>().map_err(|_| bad())?;
                    (n, n)
                }
            };
            if first == 0 || last < first {
                return Err(ApiError::build(
                    ErrorKind::InvalidInput,
                    format!("pages `{part}`: pages count from 1 and ranges go upwards"),
                ));
            }
            ranges.push((first, last));
        }
        Ok(PageSelection { ranges })
    }

    /// The highest page asked for.
    pub fn last(&self) -> u32 {
        self.ranges.iter().map(|r| r.1).max().unwrap_or(0)
    }

    /// The pages asked for that a document of `pages` pages has, as ranges in page order,
    /// none overlapping or touching (`6,2-3,3-4` → `2-4,6`); never expanded.
    pub fn within(&self, pages: u32) -> Vec<(u32, u32)> {
        let mut ranges: Vec<(u32, u32)> = self
            .ranges
            .iter()
            .filter(|r| r.0 <= pages)
            .map(|&(first, last)| (first, last.min(pages)))
            .collect();
        ranges.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(ranges.len());
        for (first, last) in ranges {
            match merged.last_mut() {
                Some(open) if first <= open.1.saturating_add(1) => open.1 = open.1.max(last),
                _ => merged.push((first, last)),
            }
        }
        merged
    }

    /// How many distinct pages the selection asks for.
    pub fn count(&self) -> u32 {
        let mut ranges = self.ranges.clone();
        ranges.sort_unstable();
        let mut count = 0u64;
        let mut covered_to = 0u32;
        for (first, last) in ranges {
            let first = first.max(covered_to.saturating_add(1));
            if last >= first {
                count += u64::from(last - first) + 1;
                covered_to = last;
            }
        }
        u32::try_from(count).unwrap_or(u32::MAX)
    }
}

impl fmt::Display for PageSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (first, last)) in self.ranges.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if first == last {
                write!(f, "{first}")?;
            } else {
                write!(f, "{first}-{last}")?;
            }
        }
        Ok(())
    }
}

/// Counts the pages of a PDF held in memory; the error says what is wrong with the file
/// ([`ErrorKind::Encrypted`], [`ErrorKind::Damaged`]).
pub fn count_pages(data: Vec<u8>) -> Result<u32, ApiError> {
    use hayro_syntax::{LoadPdfError, Pdf};
    // A parser is fed hostile bytes here: a panic in it is one bad document, not a crash.
    let parsed = std::panic::catch_unwind(move || {
        Pdf::new(data).map(|pdf| u32::try_from(pdf.pages().len()).unwrap_or(u32::MAX))
    });
    match parsed {
        Ok(Ok(0)) => Err(no_pages()),
        Ok(Ok(pages)) => Ok(pages),
        Ok(Err(LoadPdfError::Decryption(_))) => Err(ApiError::build(
            ErrorKind::Encrypted,
            "the PDF is encrypted with a password: decrypt it first",
        )),
        Ok(Err(_)) | Err(_) => Err(damaged()),
    }
}

fn no_pages() -> ApiError {
    ApiError::build(ErrorKind::Damaged, "the PDF has no pages")
}

fn damaged() -> ApiError {
    ApiError::build(
        ErrorKind::Damaged,
        "the PDF is damaged (its structure cannot be read); repair or re-save it",
    )
}

fn unreadable(e: std::io::Error) -> ApiError {
    ApiError::build(e.kind().into(), "cannot read").with_source(e)
}

/// The largest file whose whole bytes a page count may read, when its structure cannot be read
/// from its cross-reference data alone (a damaged table that the full parser repairs by
/// scanning, a file encrypted in a way only decryption can tell): larger files are answered
/// from their structure or not at all, so a count never costs memory in proportion to a big
/// file.
const WHOLE_FILE_FALLBACK: u64 = 16 * 1024 * 1024;

/// Counts the pages of the PDF `reader` holds (`len` bytes) from its trailer, cross-reference
/// data and page tree ([`crate::read_facts`]), never reading it whole; a file that cannot be
/// read that way and is at most 16 MiB is read whole and parsed ([`count_pages`]), which
/// repairs damaged tables and tells an empty password from a real one.
pub fn count_pages_in<R: std::io::Read + std::io::Seek>(
    reader: &mut R,
    len: u64,
) -> Result<u32, ApiError> {
    use std::io::Read as _;

    use crate::StructureError;
    let whole = |reader: &mut R| -> Result<u32, ApiError> {
        let mut data =
            Vec::with_capacity(usize::try_from(len.min(WHOLE_FILE_FALLBACK)).unwrap_or(0));
        reader
            .seek(std::io::SeekFrom::Start(0))
            .and_then(|_| reader.take(WHOLE_FILE_FALLBACK).read_to_end(&mut data))
            .map_err(unreadable)?;
        count_pages(data)
    };
    match crate::read_facts(reader) {
        Ok(facts) if !facts.encrypted && facts.pages > 0 => Ok(facts.pages),
        Ok(facts) if !facts.encrypted => Err(no_pages()),
        // Encrypted: only the full parser can tell an empty password (readable) from a real one.
        Ok(_) | Err(_) if len <= WHOLE_FILE_FALLBACK => whole(reader),
        Ok(facts) => Ok(facts.pages),
        Err(StructureError::Encrypted) => Err(ApiError::build(
            ErrorKind::Encrypted,
            "the PDF is encrypted, and its page count cannot be read without decrypting it: decrypt it first",
        )),
        Err(StructureError::Io(e)) => Err(unreadable(e)),
        Err(_) => Err(damaged()),
    }
}

/// [`count_pages_in`] of the file at `path`.
/// The error is about the file: [`ApiError::path`] names it, and its message starts with it.
pub fn count_pages_of_file(path: &Path) -> Result<u32, ApiError> {
    let count = || {
        let mut file = std::fs::File::open(path).map_err(unreadable)?;
        let len = file.metadata().map_err(unreadable)?.len();
        count_pages_in(&mut file, len)
    };
    count().map_err(|e| e.in_file(path))
}

/// Checks `path` as [`check`] does, then reads its page count and checks `pages` against it.
/// Reads the file's structure, not the whole file (off the async threads): memory stays flat
/// in the file's size.
pub async fn preflight(path: &Path, pages: Option<&PageSelection>) -> Result<Preflight, ApiError> {
    let bytes = check(path).await?;
    if bytes > PRESIGNED_LIMIT {
        return Err(ApiError::about_file(
            ErrorKind::FileTooLarge,
            path,
            format!(
                "{bytes} bytes is over the {PRESIGNED_LIMIT}-byte limit of an upload; split the PDF"
            ),
        ));
    }
    let file = path.to_path_buf();
    let count = tokio::task::spawn_blocking(move || count_pages_of_file(&file))
        .await
        .map_err(|e| {
            ApiError::about_file(ErrorKind::Other, path, "preflight stopped").with_source(e)
        })??;
    let selected_pages = match pages {
        Some(selection) if selection.last() > count => {
            return Err(ApiError::about_file(
                ErrorKind::PageOutOfRange,
                path,
                format!(
                    "pages {selection} asks for page {} but the file has {count} page{}",
                    selection.last(),
                    if count == 1 { "" } else { "s" }
                ),
            ));
        }
        Some(selection) => selection.count(),
        None => count,
    };
    Ok(Preflight {
        bytes,
        pages: count,
        selected_pages,
        presigned: bytes > DIRECT_LIMIT,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn selections_parse_count_and_print() {
        let selection = PageSelection::parse("1-5, 7,4-6,11").expect("parses");
        assert_eq!(selection.last(), 11);
        assert_eq!(selection.count(), 8, "1-7 and 11");
        assert_eq!(selection.to_string(), "1-5,7,4-6,11");
        assert_eq!(selection.within(20), [(1, 7), (11, 11)]);
        assert_eq!(selection.within(5), [(1, 5)]);
        assert_eq!(
            PageSelection::parse("6,2-3,3-4").expect("parses").within(7),
            [(2, 4), (6, 6)]
        );
        let huge = PageSelection::parse("1-4000000000").expect("parses");
        assert_eq!(huge.within(u32::MAX), [(1, 4_000_000_000)]);
        assert_eq!(huge.count(), 4_000_000_000, "counted, not expanded");
        for bad in ["", "0", "3-1", "a", "1-", "-2", "1,,2"] {
            assert!(PageSelection::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn broken_pdfs_are_named() {
        let error = count_pages(b"%PDF-1.7\nthis is not a PDF".to_vec()).expect_err("damaged");
        assert_eq!(error.kind(), ErrorKind::Damaged, "{error}");
        assert!(error.to_string().contains("damaged"), "{error}");
    }

    proptest! {
        /// Whatever bytes come in, counting pages answers: no panic, no hang.
        #[test]
        fn any_bytes_get_an_answer(mut bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            bytes.splice(0..0, b"%PDF-1.4\n".iter().copied());
            let _ = count_pages(bytes);
        }

        #[test]
        fn any_text_parses_or_is_refused(spec in ".{0,40}") {
            if let Ok(selection) = PageSelection::parse(&spec) {
                prop_assert!(selection.count() >= 1);
                prop_assert!(selection.last() >= 1);
                prop_assert_eq!(PageSelection::parse(&selection.to_string()).ok(), Some(selection));
            }
        }
    }
}
