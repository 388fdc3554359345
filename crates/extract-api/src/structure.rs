//! A bounded reader of a PDF's structure: its page count and whether it is encrypted, read from
//! the file's tail, its cross-reference data and the few objects on the path trailer → `/Root`
//! catalog → `/Pages` → `/Count`. Never the whole file.
//!
//! Preflight runs on files of any size (up to 5 GB), written by anyone, before an upload: the
//! memory it uses must not grow with the file, and hostile bytes must give an error, never a
//! panic, a huge allocation or a hang. So every read is a seek and a bounded window, every
//! stream is decoded as a stream (never into a buffer sized by what the file claims), every
//! number the file states is checked before use, and the bounds below cap the rest.
//!
//! Left out on purpose: repairing a damaged file by scanning it for objects (that reads the
//! whole file: a damaged file is reported as such), decryption (see
//! [`StructureError::Encrypted`]), and walking the page tree (the root's `/Count` states the
//! count; it is what viewers number pages by).

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom};

use miniz_oxide::inflate::stream::{InflateState, inflate};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

// ------------------------------------------------------------------------------------------------
// The answer
// ------------------------------------------------------------------------------------------------

/// What preflight needs to know of a PDF, read from its tail, xref and page tree only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdfFacts {
    /// The page tree root's `/Count`.
    pub pages: u32,
    /// Whether the trailer has an `/Encrypt` dictionary (with or without a user password: a file
    /// only restricted by an owner password is encrypted too).
    pub encrypted: bool,
}

/// Why the facts could not be read.
#[derive(Debug)]
pub enum StructureError {
    /// No `%PDF-` header in the first 1024 bytes.
    NotPdf,
    /// The structure is broken; says what was found wrong.
    Damaged(&'static str),
    /// The file hits one of this reader's bounds, or uses something it does not read (a filter
    /// other than Flate or ASCIIHex on cross-reference data, say); says which.
    TooComplex(&'static str),
    /// The file is encrypted and its page tree lies in an object stream, whose data is encrypted:
    /// counting needs decryption. (A page tree in plain objects is read: only strings and streams
    /// are encrypted, so such a file gives `Ok` with `encrypted: true`.)
    Encrypted,
    /// Reading the file failed.
    Io(io::Error),
}

impl fmt::Display for StructureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StructureError::NotPdf => f.write_str("not a PDF: no %PDF- header at its start"),
            StructureError::Damaged(what) => write!(f, "damaged PDF: {what}"),
            StructureError::TooComplex(what) => {
                write!(f, "PDF beyond this reader's bounds: {what}")
            }
            StructureError::Encrypted => {
                f.write_str("encrypted PDF: its page tree is in encrypted object streams")
            }
            StructureError::Io(error) => write!(f, "cannot read the PDF: {error}"),
        }
    }
}

impl std::error::Error for StructureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StructureError::Io(error) => Some(error),
            _ => None,
        }
    }
}

impl From<io::Error> for StructureError {
    fn from(error: io::Error) -> Self {
        StructureError::Io(error)
    }
}

type Result<T, E = StructureError> = std::result::Result<T, E>;

use StructureError::{Damaged, TooComplex};

/// Reads a PDF's page count and whether it is encrypted, from its tail, its cross-reference data
/// and the catalog and page tree root only. Memory stays flat in the file's size; see the bounds
/// (`MAX_*`) in this module for what a single call may cost at most.
pub fn read_facts<R: Read + Seek>(reader: &mut R) -> Result<PdfFacts> {
    let len = reader.seek(SeekFrom::End(0))?;
    let mut doc = Doc {
        file: reader,
        len,
        base: 0,
        budget: Budget::new(),
        sections: Vec::new(),
        subsections: 0,
        cache: HashMap::new(),
        root: None,
        encrypted: false,
    };
    doc.base = doc.find_header()?;
    let startxref = doc.find_startxref()?;
    doc.load_xref_chain(startxref)?;
    doc.facts()
}

// ------------------------------------------------------------------------------------------------
// Bounds
// ------------------------------------------------------------------------------------------------

/// Where the `%PDF-` header may start: Acrobat accepts junk before it within the first 1024 bytes.
const HEADER_WINDOW: u64 = 1024;
/// The tail read first to find `startxref`: it sits in the last few dozen bytes of a sound file.
const TAIL_WINDOW: u64 = 2 * 1024;
/// The tail searched when the short one has no `startxref` (junk appended after `%%EOF`, such as
/// padding or a mail footer).
const TAIL_WINDOW_WIDE: u64 = 64 * 1024;
/// Bytes read from the file per call, over all reads (seeking past data is free). A sound file
/// needs its tail, its xref streams (a few MiB at most, read again per lookup) and a few objects;
/// the bound caps the time a hostile file can cost, not the memory (reads are streamed).
const MAX_READ_BYTES: u64 = 64 * 1024 * 1024;
/// Bytes inflated per call, over all streams: a deflate bomb costs time, never memory (output is
/// streamed), so this caps time: a few xref or object stream passes of a large sound file.
const MAX_INFLATED_BYTES: u64 = 128 * 1024 * 1024;
/// How far into one decoded stream a lookup may go: an xref stream row or an object in an object
/// stream past this is refused rather than decoded (a 16 MiB xref stream lists 2 million objects).
const MAX_STREAM_DECODED: u64 = 16 * 1024 * 1024;
/// Raw bytes one indirect object may span. The root `/Pages` of a flat tree lists every page in
/// `/Kids` (about 8 bytes each) before `/Count` may come: 8 MiB is a million pages.
const MAX_OBJECT_BYTES: u64 = 8 * 1024 * 1024;
/// Memory one parsed object may hold (nodes and names). Large arrays are not kept (see
/// [`MAX_ARRAY_ITEMS`]), so a real catalog or page tree root stays far below this.
const MAX_KEPT_BYTES: usize = 1024 * 1024;
/// Elements an array is kept with; a longer one (the `/Kids` of a flat page tree) is parsed and
/// dropped. 8192 leaves room for an xref stream's `/Index` of 4096 subsections.
const MAX_ARRAY_ITEMS: usize = 8192;
/// Nesting of arrays and dictionaries: the parser recurses once per level.
const MAX_DEPTH: usize = 32;
/// Cross-reference sections (the newest, its `/Prev` chain and `/XRefStm` streams): a file saved
/// incrementally 64 times is rare; a hostile chain is cut here.
const MAX_SECTIONS: usize = 64;
/// Subsections over all sections; each costs a few bytes of memory.
const MAX_SUBSECTIONS: usize = 16 * 1024;
/// Hops from a reference to an object that is again a reference (`1 0 obj 2 0 R endobj`), which
/// also ends a reference loop.
const MAX_REF_CHAIN: usize = 8;
/// A PNG predictor row: an xref stream row is a few bytes; wider rows are not cross-reference data.
const MAX_ROW_BYTES: usize = 64 * 1024;
/// Bytes kept of a name or keyword: longer ones are read through but match nothing we look for.
const MAX_NAME_KEPT: usize = 128;
/// Read-ahead of the tokenizer and the inflater: small, since one lookup reads a few bytes.
const CHUNK: usize = 8 * 1024;

/// What one call may still spend, shared by every stream it opens.
#[derive(Debug)]
struct Budget {
    read: Cell<u64>,
    inflated: Cell<u64>,
}

impl Budget {
    fn new() -> Budget {
        Budget {
            read: Cell::new(MAX_READ_BYTES),
            inflated: Cell::new(MAX_INFLATED_BYTES),
        }
    }

    fn spend(left: &Cell<u64>, n: u64, what: &'static str) -> Result<()> {
        let rest = left.get().checked_sub(n).ok_or(TooComplex(what))?;
        left.set(rest);
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------------
// Sources: bounded byte streams (a file window, its filters)
// ------------------------------------------------------------------------------------------------

/// A forward-only byte stream whose errors are already ours: the file window and the filters
/// stacked on it all end cleanly (0 bytes) or with a [`StructureError`].
trait Source {
    /// Reads up to `out.len()` bytes; 0 is the end.
    fn read(&mut self, out: &mut [u8]) -> Result<usize>;

    /// Skips `n` bytes, returning how many were there. Decoded streams decode and drop them.
    fn skip(&mut self, n: u64) -> Result<u64> {
        let mut scratch = [0u8; 4096];
        let mut done = 0u64;
        while done < n {
            let want = usize::try_from(n - done).map_or(scratch.len(), |w| w.min(scratch.len()));
            let got = self.read(&mut scratch[..want])?;
            if got == 0 {
                break;
            }
            done += got as u64;
        }
        Ok(done)
    }
}

impl<S: Source + ?Sized> Source for Box<S> {
    fn read(&mut self, out: &mut [u8]) -> Result<usize> {
        (**self).read(out)
    }

    fn skip(&mut self, n: u64) -> Result<u64> {
        (**self).skip(n)
    }
}

impl Source for &[u8] {
    fn read(&mut self, out: &mut [u8]) -> Result<usize> {
        let n = out.len().min(self.len());
        out[..n].copy_from_slice(&self[..n]);
        *self = &self[n..];
        Ok(n)
    }
}

/// Reads until `out` is full or the source ends; returns how much was read.
fn read_full(src: &mut impl Source, out: &mut [u8]) -> Result<usize> {
    let mut filled = 0;
    while filled < out.len() {
        let got = src.read(&mut out[filled..])?;
        if got == 0 {
            break;
        }
        filled += got;
    }
    Ok(filled)
}

/// A window of the file: at most `left` bytes from where it was opened, every byte read counted
/// against the call's budget. Skipping seeks, so it costs no reading.
struct FileWindow<'a, R> {
    file: &'a mut R,
    left: u64,
    budget: &'a Budget,
}

/// Opens a window of at most `len` bytes at `offset` of a file `file_len` long.
fn open_window<'a, R: Seek>(
    file: &'a mut R,
    file_len: u64,
    budget: &'a Budget,
    offset: u64,
    len: u64,
) -> Result<FileWindow<'a, R>> {
    let room = file_len
        .checked_sub(offset)
        .ok_or(Damaged("an offset points past the end of the file"))?;
    file.seek(SeekFrom::Start(offset))?;
    Ok(FileWindow {
        file,
        left: len.min(room),
        budget,
    })
}

impl<R: Read + Seek> Source for FileWindow<'_, R> {
    fn read(&mut self, out: &mut [u8]) -> Result<usize> {
        let want = (out.len() as u64).min(self.left);
        if want == 0 {
            return Ok(0);
        }
        let allowed = want.min(self.budget.read.get());
        if allowed == 0 {
            return Err(TooComplex(
                "reading it takes more than the bytes allowed per file",
            ));
        }
        let n = usize::try_from(allowed).map_or(out.len(), |a| a.min(out.len()));
        let got = loop {
            match self.file.read(&mut out[..n]) {
                Ok(got) => break got,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error.into()),
            }
        };
        self.left = self.left.saturating_sub(got as u64);
        Budget::spend(
            &self.budget.read,
            got as u64,
            "reading it takes too many bytes",
        )?;
        Ok(got)
    }

    fn skip(&mut self, n: u64) -> Result<u64> {
        let n = n.min(self.left);
        let step = i64::try_from(n).map_err(|_| Damaged("a skip is out of range"))?;
        self.file.seek(SeekFrom::Current(step))?;
        self.left -= n;
        Ok(n)
    }
}

/// Never lets a decoded stream go past [`MAX_STREAM_DECODED`]: past it is an error, not an end,
/// so that a capped stream is not mistaken for a short one.
struct Capped<S> {
    src: S,
    left: u64,
}

impl<S: Source> Source for Capped<S> {
    fn read(&mut self, out: &mut [u8]) -> Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            return Err(TooComplex(
                "a stream decodes to more than the bytes allowed",
            ));
        }
        let n = usize::try_from(self.left).map_or(out.len(), |l| l.min(out.len()));
        let got = self.src.read(&mut out[..n])?;
        self.left -= got as u64;
        Ok(got)
    }
}

/// `/FlateDecode`, streamed: a 32 KiB window and a chunk of input, whatever the stream's size.
/// Data that stops being valid deflate ends the stream (what was decoded before is kept), so a
/// bad checksum or trailing junk costs nothing.
struct Inflate<'b, S> {
    src: S,
    state: Option<Box<InflateState>>,
    input: Vec<u8>,
    at: usize,
    end: usize,
    /// The inflater made no progress on the input held: it needs more first.
    starved: bool,
    src_done: bool,
    done: bool,
    budget: &'b Budget,
}

impl<'b, S: Source> Inflate<'b, S> {
    fn new(src: S, budget: &'b Budget) -> Self {
        Inflate {
            src,
            state: None,
            input: vec![0; CHUNK],
            at: 0,
            end: 0,
            starved: false,
            src_done: false,
            done: false,
            budget,
        }
    }

    /// Moves the unconsumed input to the front and reads more after it; false if the buffer is
    /// full of input the inflater cannot use (it is not deflate).
    fn refill(&mut self) -> Result<bool> {
        self.input.copy_within(self.at..self.end, 0);
        self.end -= self.at;
        self.at = 0;
        if self.end == self.input.len() {
            return Ok(false);
        }
        let got = self.src.read(&mut self.input[self.end..])?;
        self.end += got;
        self.src_done = got == 0;
        self.starved = false;
        Ok(true)
    }
}

/// Whether data starts with a zlib header (else it is taken as raw deflate, which some writers
/// produce).
fn zlib_header(data: &[u8]) -> bool {
    match data {
        [cmf, flg, ..] => {
            cmf & 0x0f == 8 && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0 && flg & 0x20 == 0
        }
        _ => false,
    }
}

impl<S: Source> Source for Inflate<'_, S> {
    fn read(&mut self, out: &mut [u8]) -> Result<usize> {
        if self.done || out.is_empty() {
            return Ok(0);
        }
        // Each turn consumes input, writes output, reads more of the (finite) source, or ends.
        loop {
            if (self.at == self.end || self.starved) && !self.src_done && !self.refill()? {
                self.done = true;
                return Ok(0);
            }
            let pending = &self.input[self.at..self.end];
            let state = self.state.get_or_insert_with(|| {
                let format = if zlib_header(pending) {
                    DataFormat::ZLibIgnoreChecksum
                } else {
                    DataFormat::Raw
                };
                InflateState::new_boxed(format)
            });
            let result = inflate(state, pending, out, MZFlush::None);
            self.at += result.bytes_consumed;
            let written = result.bytes_written;
            Budget::spend(
                &self.budget.inflated,
                written as u64,
                "its streams inflate to more than the bytes allowed",
            )?;
            let ended = !matches!(result.status, Ok(MZStatus::Ok) | Err(MZError::Buf));
            if written > 0 {
                self.done = ended;
                return Ok(written);
            }
            if ended || (result.bytes_consumed == 0 && self.src_done) {
                self.done = true;
                return Ok(0);
            }
            self.starved = result.bytes_consumed == 0;
        }
    }
}

/// `/ASCIIHexDecode` (lopdf writes it in front of Flate when saving as ASCII): two hex digits a
/// byte, whitespace ignored, `>` or anything else ends it, a lone last digit is padded with 0.
struct AsciiHex<S> {
    src: S,
    input: Vec<u8>,
    at: usize,
    end: usize,
    done: bool,
}

impl<S: Source> AsciiHex<S> {
    fn new(src: S) -> Self {
        AsciiHex {
            src,
            input: vec![0; CHUNK],
            at: 0,
            end: 0,
            done: false,
        }
    }

    /// The next hex digit's value, or `None` at the end of the data.
    fn digit(&mut self) -> Result<Option<u8>> {
        while !self.done {
            if self.at == self.end {
                self.at = 0;
                self.end = self.src.read(&mut self.input)?;
                if self.end == 0 {
                    self.done = true;
                    break;
                }
            }
            let c = self.input[self.at];
            self.at += 1;
            match c {
                b'0'..=b'9' => return Ok(Some(c - b'0')),
                b'a'..=b'f' => return Ok(Some(c - b'a' + 10)),
                b'A'..=b'F' => return Ok(Some(c - b'A' + 10)),
                c if is_whitespace(c) => {}
                _ => self.done = true,
            }
        }
        Ok(None)
    }
}

impl<S: Source> Source for AsciiHex<S> {
    fn read(&mut self, out: &mut [u8]) -> Result<usize> {
        let mut n = 0;
        while n < out.len() {
            let Some(high) = self.digit()? else { break };
            let low = self.digit()?.unwrap_or(0);
            out[n] = high << 4 | low;
            n += 1;
        }
        Ok(n)
    }
}

/// A PNG predictor (`/Predictor` 10 to 15): each row starts with its filter type and is undone
/// against the row before, so only two rows are ever held.
#[derive(Debug, Clone, Copy)]
struct Predictor {
    /// Bytes per row, without the filter type byte.
    row: usize,
    /// Bytes per pixel (at least 1): how far back "left" is.
    bpp: usize,
}

struct Png<S> {
    src: S,
    bpp: usize,
    prev: Vec<u8>,
    row: Vec<u8>,
    at: usize,
}

impl<S: Source> Png<S> {
    fn new(src: S, predictor: Predictor) -> Self {
        Png {
            src,
            bpp: predictor.bpp,
            prev: vec![0; predictor.row],
            row: vec![0; predictor.row],
            at: predictor.row,
        }
    }

    /// Decodes the next row into `self.row`; false at the end (a partial last row is dropped).
    fn next_row(&mut self) -> Result<bool> {
        let mut filter = [0u8];
        if read_full(&mut self.src, &mut filter)? == 0 {
            return Ok(false);
        }
        std::mem::swap(&mut self.prev, &mut self.row);
        if read_full(&mut self.src, &mut self.row)? < self.row.len() {
            return Ok(false);
        }
        let (row, prev, bpp) = (&mut self.row, &self.prev, self.bpp);
        match filter[0] {
            0 => {}
            1 => {
                for i in bpp..row.len() {
                    row[i] = row[i].wrapping_add(row[i - bpp]);
                }
            }
            2 => {
                for (byte, up) in row.iter_mut().zip(prev) {
                    *byte = byte.wrapping_add(*up);
                }
            }
            3 => {
                for i in 0..row.len() {
                    let left = if i >= bpp { u16::from(row[i - bpp]) } else { 0 };
                    let average = (left + u16::from(prev[i])) / 2;
                    row[i] = row[i].wrapping_add(u8::try_from(average).unwrap_or(0));
                }
            }
            4 => {
                for i in 0..row.len() {
                    let (left, up_left) = if i >= bpp {
                        (row[i - bpp], prev[i - bpp])
                    } else {
                        (0, 0)
                    };
                    row[i] = row[i].wrapping_add(paeth(left, prev[i], up_left));
                }
            }
            _ => return Err(Damaged("a PNG predictor row has an unknown filter type")),
        }
        self.at = 0;
        Ok(true)
    }
}

fn paeth(left: u8, up: u8, up_left: u8) -> u8 {
    let p = i16::from(left) + i16::from(up) - i16::from(up_left);
    let (pa, pb, pc) = (
        (p - i16::from(left)).abs(),
        (p - i16::from(up)).abs(),
        (p - i16::from(up_left)).abs(),
    );
    if pa <= pb && pa <= pc {
        left
    } else if pb <= pc {
        up
    } else {
        up_left
    }
}

impl<S: Source> Source for Png<S> {
    fn read(&mut self, out: &mut [u8]) -> Result<usize> {
        if self.at == self.row.len() && !self.next_row()? {
            return Ok(0);
        }
        let n = out.len().min(self.row.len() - self.at);
        out[..n].copy_from_slice(&self.row[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

// ------------------------------------------------------------------------------------------------
// Tokens
// ------------------------------------------------------------------------------------------------

fn is_whitespace(c: u8) -> bool {
    matches!(c, 0 | b'\t' | b'\n' | 0x0c | b'\r' | b' ')
}

fn is_delimiter(c: u8) -> bool {
    matches!(
        c,
        b'(' | b')' | b'<' | b'>' | b'[' | b']' | b'{' | b'}' | b'/' | b'%'
    )
}

fn is_regular(c: u8) -> bool {
    !is_whitespace(c) && !is_delimiter(c)
}

/// A PDF token. Strings are skipped, not kept: nothing we read is a string.
#[derive(Debug, PartialEq)]
enum Token {
    Int(i64),
    /// A real, or an integer out of `i64`: never a count or an offset.
    Real,
    Name(Vec<u8>),
    Str,
    ArrayOpen,
    ArrayClose,
    DictOpen,
    DictClose,
    Keyword(Vec<u8>),
    Eof,
}

/// Splits a source into tokens, holding one chunk of it.
struct Lexer<S> {
    src: S,
    buf: Vec<u8>,
    at: usize,
    end: usize,
    /// Bytes of the source before `buf[0]`.
    before: u64,
}

impl<S: Source> Lexer<S> {
    fn new(src: S) -> Self {
        Lexer {
            src,
            buf: vec![0; CHUNK],
            at: 0,
            end: 0,
            before: 0,
        }
    }

    /// Where the next byte is, from the start of the source.
    fn pos(&self) -> u64 {
        self.before + self.at as u64
    }

    fn peek(&mut self) -> Result<Option<u8>> {
        if self.at == self.end {
            self.before += self.end as u64;
            self.at = 0;
            self.end = self.src.read(&mut self.buf)?;
        }
        Ok(self.buf[self.at..self.end].first().copied())
    }

    /// Moves past the byte [`Lexer::peek`] returned.
    fn bump(&mut self) {
        self.at = (self.at + 1).min(self.end);
    }

    /// Moves to `target` (from the start of the source): back or forth within the chunk held,
    /// else forward by skipping. False if the source ends first or `target` is behind the chunk.
    fn set_pos(&mut self, target: u64) -> Result<bool> {
        if let Some(in_chunk) = target.checked_sub(self.before)
            && in_chunk <= self.end as u64
        {
            self.at = usize::try_from(in_chunk).unwrap_or(self.end);
            return Ok(true);
        }
        // Past the chunk: the source stands at its end, so skip from there.
        let source_at = self.before + self.end as u64;
        let Some(ahead) = target.checked_sub(source_at) else {
            return Ok(false);
        };
        self.before = source_at;
        self.at = 0;
        self.end = 0;
        let skipped = self.src.skip(ahead)?;
        self.before += skipped;
        Ok(skipped == ahead)
    }

    /// Copies the next bytes into `out` as they are; returns how many there were.
    fn raw(&mut self, out: &mut [u8]) -> Result<usize> {
        for (n, slot) in out.iter_mut().enumerate() {
            let Some(c) = self.peek()? else { return Ok(n) };
            *slot = c;
            self.bump();
        }
        Ok(out.len())
    }

    /// Skips whitespace and comments.
    fn skip_trivia(&mut self) -> Result<()> {
        while let Some(c) = self.peek()? {
            if is_whitespace(c) {
                self.bump();
            } else if c == b'%' {
                while let Some(c) = self.peek()? {
                    if c == b'\r' || c == b'\n' {
                        break;
                    }
                    self.bump();
                }
            } else {
                break;
            }
        }
        Ok(())
    }

    /// Reads a run of regular characters, keeping the first [`MAX_NAME_KEPT`] bytes.
    fn regular_run(&mut self, decode_hash: bool) -> Result<Vec<u8>> {
        let mut kept = Vec::new();
        while let Some(c) = self.peek()? {
            if !is_regular(c) {
                break;
            }
            self.bump();
            let mut byte = c;
            if decode_hash && c == b'#' {
                // `#xx` in a name is a byte in hex; a malformed one is kept as it is.
                if let Some(high) = self.peek()?.and_then(hex_value) {
                    self.bump();
                    if let Some(low) = self.peek()?.and_then(hex_value) {
                        self.bump();
                        byte = high << 4 | low;
                    }
                }
            }
            if kept.len() < MAX_NAME_KEPT {
                kept.push(byte);
            }
        }
        Ok(kept)
    }

    fn token(&mut self) -> Result<Token> {
        self.skip_trivia()?;
        let Some(c) = self.peek()? else {
            return Ok(Token::Eof);
        };
        match c {
            b'[' => {
                self.bump();
                Ok(Token::ArrayOpen)
            }
            b']' => {
                self.bump();
                Ok(Token::ArrayClose)
            }
            b'<' => {
                self.bump();
                if self.peek()? == Some(b'<') {
                    self.bump();
                    return Ok(Token::DictOpen);
                }
                loop {
                    match self.peek()? {
                        None => return Err(Damaged("a hex string is not closed")),
                        Some(b'>') => break,
                        Some(_) => self.bump(),
                    }
                }
                self.bump();
                Ok(Token::Str)
            }
            b'>' => {
                self.bump();
                if self.peek()? == Some(b'>') {
                    self.bump();
                    return Ok(Token::DictClose);
                }
                Err(Damaged("a stray '>'"))
            }
            b'(' => {
                self.bump();
                self.skip_literal_string()?;
                Ok(Token::Str)
            }
            b'/' => {
                self.bump();
                Ok(Token::Name(self.regular_run(true)?))
            }
            b')' | b'{' | b'}' => Err(Damaged("an unexpected delimiter")),
            b'+' | b'-' | b'.' | b'0'..=b'9' => Ok(number(&self.regular_run(false)?)),
            _ => Ok(Token::Keyword(self.regular_run(false)?)),
        }
    }

    /// Skips a literal string's content after its `(`: balanced parentheses nest, a backslash
    /// escapes the byte after it.
    fn skip_literal_string(&mut self) -> Result<()> {
        let mut depth = 1u64;
        loop {
            let Some(c) = self.peek()? else {
                return Err(Damaged("a string is not closed"));
            };
            self.bump();
            match c {
                b'\\' if self.peek()?.is_some() => self.bump(),
                b'(' => depth += 1,
                b')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                _ => {}
            }
        }
    }
}

fn hex_value(c: u8) -> Option<u8> {
    char::from(c)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// An integer (`[+-]digits`, checked) or, for anything else number-like, a real.
fn number(text: &[u8]) -> Token {
    let (negative, digits) = match text {
        [b'-', rest @ ..] => (true, rest),
        [b'+', rest @ ..] => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Token::Real;
    }
    let mut value = 0i64;
    for d in digits {
        let digit = i64::from(d - b'0');
        let next = value.checked_mul(10).and_then(|v| {
            if negative {
                v.checked_sub(digit)
            } else {
                v.checked_add(digit)
            }
        });
        match next {
            Some(next) => value = next,
            None => return Token::Real,
        }
    }
    Token::Int(value)
}

/// Parses ASCII digits as a `u64`, checked.
fn digits(text: &[u8]) -> Option<u64> {
    if text.is_empty() {
        return None;
    }
    text.iter().try_fold(0u64, |value, &d| {
        if d.is_ascii_digit() {
            value.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        } else {
            None
        }
    })
}

// ------------------------------------------------------------------------------------------------
// Objects
// ------------------------------------------------------------------------------------------------

/// A PDF object, keeping only what this reader uses.
#[derive(Debug)]
enum Object {
    Null,
    Bool,
    Int(i64),
    Real,
    Str,
    Name(Vec<u8>),
    Array(Vec<Object>),
    /// An array longer than [`MAX_ARRAY_ITEMS`], parsed and dropped.
    TooLong,
    Dict(Dict),
    /// An indirect reference `n g R`: its object number (generations are not checked).
    Ref(u32),
}

/// A dictionary as its entries in file order; the first of duplicate keys wins.
#[derive(Debug, Default)]
struct Dict(Vec<(Vec<u8>, Object)>);

impl Dict {
    fn get(&self, key: &[u8]) -> Option<&Object> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn take(&mut self, key: &[u8]) -> Object {
        match self.0.iter().position(|(k, _)| k == key) {
            Some(i) => self.0.swap_remove(i).1,
            None => Object::Null,
        }
    }

    fn int(&self, key: &[u8]) -> Option<i64> {
        match self.get(key) {
            Some(Object::Int(n)) => Some(*n),
            _ => None,
        }
    }

    /// A non-negative integer entry as a `u64`.
    fn offset(&self, key: &[u8]) -> Option<u64> {
        self.int(key).and_then(|n| u64::try_from(n).ok())
    }

    fn name_is(&self, key: &[u8], name: &[u8]) -> bool {
        matches!(self.get(key), Some(Object::Name(n)) if n == name)
    }

    fn reference(&self, key: &[u8]) -> Option<u32> {
        match self.get(key) {
            Some(Object::Ref(num)) => Some(*num),
            _ => None,
        }
    }
}

/// Builds objects from tokens, with two tokens of look-ahead for `n g R`.
struct Parser<S> {
    lex: Lexer<S>,
    ahead: VecDeque<Token>,
    /// Memory the object being parsed holds, against [`MAX_KEPT_BYTES`].
    kept: usize,
}

impl<S: Source> Parser<S> {
    fn new(lex: Lexer<S>) -> Self {
        Parser {
            lex,
            ahead: VecDeque::new(),
            kept: 0,
        }
    }

    fn next(&mut self) -> Result<Token> {
        match self.ahead.pop_front() {
            Some(token) => Ok(token),
            None => self.lex.token(),
        }
    }

    fn peek(&mut self, i: usize) -> Result<&Token> {
        while self.ahead.len() <= i {
            let token = self.lex.token()?;
            self.ahead.push_back(token);
        }
        Ok(&self.ahead[i])
    }

    fn charge(&mut self, bytes: usize) -> Result<()> {
        self.kept = self.kept.saturating_add(bytes);
        if self.kept > MAX_KEPT_BYTES {
            return Err(TooComplex("an object is larger than allowed"));
        }
        Ok(())
    }

    /// The next complete object; `depth` is its nesting.
    fn object(&mut self, depth: usize) -> Result<Object> {
        if depth > MAX_DEPTH {
            return Err(TooComplex("objects nest deeper than allowed"));
        }
        self.charge(size_of::<Object>())?;
        match self.next()? {
            Token::Int(n) => self.int_or_ref(n),
            Token::Real => Ok(Object::Real),
            Token::Str => Ok(Object::Str),
            Token::Name(name) => {
                self.charge(name.len())?;
                Ok(Object::Name(name))
            }
            Token::ArrayOpen => self.array(depth),
            Token::DictOpen => self.dict(depth).map(Object::Dict),
            Token::Keyword(word) => match word.as_slice() {
                b"true" | b"false" => Ok(Object::Bool),
                b"null" => Ok(Object::Null),
                _ => Err(Damaged("an unexpected keyword inside an object")),
            },
            Token::ArrayClose | Token::DictClose => Err(Damaged("unbalanced brackets")),
            Token::Eof => Err(Damaged("an object is cut short")),
        }
    }

    fn int_or_ref(&mut self, n: i64) -> Result<Object> {
        let Ok(num) = u32::try_from(n) else {
            return Ok(Object::Int(n));
        };
        let generation_fits = matches!(self.peek(0)?, Token::Int(g) if u16::try_from(*g).is_ok());
        if generation_fits && matches!(self.peek(1)?, Token::Keyword(k) if k == b"R") {
            self.ahead.pop_front();
            self.ahead.pop_front();
            return Ok(Object::Ref(num));
        }
        Ok(Object::Int(n))
    }

    fn array(&mut self, depth: usize) -> Result<Object> {
        let start = self.kept;
        let mut items = Vec::new();
        let mut too_long = false;
        loop {
            match self.peek(0)? {
                Token::ArrayClose => {
                    self.ahead.pop_front();
                    break;
                }
                Token::Eof => return Err(Damaged("an array is not closed")),
                _ => {}
            }
            let before = self.kept;
            let item = self.object(depth + 1)?;
            if too_long {
                self.kept = before;
            } else if items.len() == MAX_ARRAY_ITEMS {
                too_long = true;
                items = Vec::new();
                self.kept = start;
            } else {
                items.push(item);
            }
        }
        Ok(if too_long {
            Object::TooLong
        } else {
            Object::Array(items)
        })
    }

    fn dict(&mut self, depth: usize) -> Result<Dict> {
        let mut entries = Vec::new();
        loop {
            match self.next()? {
                Token::DictClose => return Ok(Dict(entries)),
                Token::Name(key) => {
                    self.charge(key.len() + size_of::<(Vec<u8>, Object)>())?;
                    let value = self.object(depth + 1)?;
                    entries.push((key, value));
                }
                Token::Eof => return Err(Damaged("a dictionary is not closed")),
                _ => return Err(Damaged("a dictionary key is not a name")),
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Streams: what a stream dictionary says about decoding its data
// ------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Filter {
    Flate,
    AsciiHex,
}

/// Where a stream's data starts and how to decode it. Its `/Length` is not used: Flate data ends
/// itself, and unfiltered xref and object stream data is read by position, so a wrong, huge or
/// indirect `/Length` changes nothing (and needs no lookup). The data is bounded by the file.
#[derive(Debug, Clone)]
struct StreamInfo {
    data: u64,
    filters: Vec<Filter>,
    predictor: Option<Predictor>,
}

impl StreamInfo {
    fn new(dict: &Dict, data: u64) -> Result<StreamInfo> {
        let unsupported =
            || TooComplex("a cross-reference or object stream has a filter other than Flate");
        let (names, params): (Vec<&Object>, Vec<Option<&Object>>) = match dict.get(b"Filter") {
            None | Some(Object::Null) => (Vec::new(), Vec::new()),
            Some(Object::Array(names)) => {
                let params = match dict.get(b"DecodeParms") {
                    Some(Object::Array(params)) => params.iter().map(Some).collect(),
                    _ => Vec::new(),
                };
                (names.iter().collect(), params)
            }
            Some(name) => (vec![name], vec![dict.get(b"DecodeParms")]),
        };
        if names.len() > 2 {
            return Err(unsupported());
        }
        let mut filters = Vec::new();
        let mut predictor = None;
        for (i, name) in names.iter().enumerate() {
            match name {
                Object::Name(n) if n == b"FlateDecode" => {
                    filters.push(Filter::Flate);
                    if let Some(Some(Object::Dict(p))) = params.get(i) {
                        predictor = Predictor::from_params(p)?;
                    }
                }
                Object::Name(n) if n == b"ASCIIHexDecode" => filters.push(Filter::AsciiHex),
                _ => return Err(unsupported()),
            }
        }
        Ok(StreamInfo {
            data,
            filters,
            predictor,
        })
    }
}

impl Predictor {
    /// The predictor a Flate `/DecodeParms` asks for, checked; `None` for none (1).
    fn from_params(params: &Dict) -> Result<Option<Predictor>> {
        let bad = || Damaged("a stream's /DecodeParms are out of range");
        match params.int(b"Predictor").unwrap_or(1) {
            1 => Ok(None),
            10..=15 => {
                let colors = params.int(b"Colors").unwrap_or(1);
                let bits = params.int(b"BitsPerComponent").unwrap_or(8);
                let columns = params.int(b"Columns").unwrap_or(1);
                if !(1..=32).contains(&colors) || ![1, 2, 4, 8, 16].contains(&bits) {
                    return Err(bad());
                }
                let pixel_bits = colors * bits;
                let row_bits = columns
                    .checked_mul(pixel_bits)
                    .filter(|&b| b > 0)
                    .ok_or_else(bad)?;
                let row = usize::try_from(row_bits / 8 + i64::from(row_bits % 8 != 0))
                    .ok()
                    .filter(|&r| r <= MAX_ROW_BYTES)
                    .ok_or(TooComplex("a predictor row is wider than allowed"))?;
                let bpp = usize::try_from((pixel_bits + 7) / 8).unwrap_or(1).max(1);
                Ok(Some(Predictor { row, bpp }))
            }
            2 => Err(TooComplex("a TIFF predictor on cross-reference data")),
            _ => Err(bad()),
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Cross-reference data
// ------------------------------------------------------------------------------------------------

/// Where an object is, per the cross-reference data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    InFile { offset: u64 },
    InStream { stream: u32, index: u32 },
}

/// A run of consecutive object numbers in a section, found by arithmetic: a table entry is at
/// `start + i * stride` in the file, an xref stream row is row `start + i`.
#[derive(Debug, Clone, Copy)]
struct Subsection {
    first: u32,
    count: u32,
    start: u64,
    stride: u64,
}

#[derive(Debug)]
enum SectionKind {
    Table,
    Stream {
        info: StreamInfo,
        widths: [usize; 3],
    },
}

/// One cross-reference section: a classic table or an xref stream. Entries are read when looked
/// up, never loaded, so a section costs its subsection list whatever its `/Size`.
#[derive(Debug)]
struct Section {
    kind: SectionKind,
    subsections: Vec<Subsection>,
}

impl Section {
    /// Where `num`'s entry is, if this section lists it.
    fn locate(&self, num: u32) -> Option<u64> {
        self.subsections.iter().find_map(|s| {
            let i = num.checked_sub(s.first).filter(|&i| i < s.count)?;
            u64::from(i).checked_mul(s.stride)?.checked_add(s.start)
        })
    }
}

/// What a trailer (or an xref stream's dictionary) says about the document.
#[derive(Debug, Default)]
struct Trailer {
    root: Option<u32>,
    encrypted: bool,
    prev: Option<u64>,
    xref_stm: Option<u64>,
}

impl Trailer {
    fn new(dict: &Dict) -> Trailer {
        Trailer {
            root: dict.reference(b"Root"),
            encrypted: dict
                .get(b"Encrypt")
                .is_some_and(|e| !matches!(e, Object::Null)),
            prev: dict.offset(b"Prev"),
            xref_stm: dict.offset(b"XRefStm"),
        }
    }
}

/// A classic table entry: `oooooooooo ggggg n` (offset, generation, in use or free).
fn parse_table_entry(entry: &[u8]) -> Option<(u64, u64, bool)> {
    let entry = entry.get(..18)?;
    if entry[10] != b' ' || entry[16] != b' ' {
        return None;
    }
    let offset = digits(&entry[..10])?;
    let generation = digits(&entry[11..16])?;
    match entry[17] {
        b'n' => Some((offset, generation, true)),
        b'f' => Some((offset, generation, false)),
        _ => None,
    }
}

// ------------------------------------------------------------------------------------------------
// The document: cross-reference chain, objects by number, facts
// ------------------------------------------------------------------------------------------------

struct Doc<'f, R> {
    file: &'f mut R,
    len: u64,
    /// Where `%PDF-` starts: offsets that miss are tried again shifted by it, as junk before the
    /// header shifts them all.
    base: u64,
    budget: Budget,
    /// Newest first: a table, then its `/XRefStm` stream, then its `/Prev`, and so on.
    sections: Vec<Section>,
    subsections: usize,
    cache: HashMap<u32, Option<Entry>>,
    root: Option<u32>,
    encrypted: bool,
}

impl<R: Read + Seek> Doc<'_, R> {
    fn window(&mut self, offset: u64, len: u64) -> Result<FileWindow<'_, R>> {
        open_window(self.file, self.len, &self.budget, offset, len)
    }

    fn read_bytes(&mut self, offset: u64, len: u64) -> Result<Vec<u8>> {
        let mut window = self.window(offset, len)?;
        let mut bytes = vec![0; usize::try_from(window.left).unwrap_or(0)];
        let got = read_full(&mut window, &mut bytes)?;
        bytes.truncate(got);
        Ok(bytes)
    }

    /// A stream's data, decoded as a stream and capped at [`MAX_STREAM_DECODED`].
    fn decoded(&mut self, info: &StreamInfo) -> Result<Box<dyn Source + '_>> {
        let budget = &self.budget;
        let mut src: Box<dyn Source + '_> = Box::new(open_window(
            self.file,
            self.len,
            budget,
            info.data,
            u64::MAX,
        )?);
        for filter in &info.filters {
            src = match filter {
                Filter::Flate => Box::new(Inflate::new(src, budget)),
                Filter::AsciiHex => Box::new(AsciiHex::new(src)),
            };
        }
        if let Some(predictor) = info.predictor {
            src = Box::new(Png::new(src, predictor));
        }
        Ok(Box::new(Capped {
            src,
            left: MAX_STREAM_DECODED,
        }))
    }

    fn find_header(&mut self) -> Result<u64> {
        let head = self.read_bytes(0, HEADER_WINDOW)?;
        let at = head.windows(5).position(|w| w == b"%PDF-");
        at.map(|i| i as u64).ok_or(StructureError::NotPdf)
    }

    /// The offset after the last `startxref`, from the tail (the short one, then the wide one).
    fn find_startxref(&mut self) -> Result<u64> {
        for tail in [TAIL_WINDOW, TAIL_WINDOW_WIDE] {
            let start = self.len.saturating_sub(tail);
            let bytes = self.read_bytes(start, tail)?;
            if let Some(at) = bytes.windows(9).rposition(|w| w == b"startxref") {
                let after = &bytes[at + 9..];
                let mut lex = Lexer::new(after);
                return match lex.token()? {
                    Token::Int(offset) => {
                        u64::try_from(offset).map_err(|_| Damaged("startxref is negative"))
                    }
                    _ => Err(Damaged("startxref is not followed by an offset")),
                };
            }
            if start == 0 {
                break;
            }
        }
        Err(Damaged("no startxref at the end of the file"))
    }

    /// Reads the newest section and everything its `/Prev` and `/XRefStm` name, newest first. A
    /// loop ends the chain (every section in it is read); an unreadable older section ends it
    /// too, as the newer ones may list all that is needed.
    fn load_xref_chain(&mut self, startxref: u64) -> Result<()> {
        let mut visited = Vec::new();
        let mut next = Some(startxref);
        while let Some(offset) = next.take() {
            if visited.contains(&offset) {
                break;
            }
            if visited.len() >= MAX_SECTIONS {
                return Err(TooComplex(
                    "more cross-reference sections (/Prev) than allowed",
                ));
            }
            visited.push(offset);
            let trailer = match self.read_section(offset) {
                Ok(trailer) => trailer,
                Err(Damaged(_)) if !self.sections.is_empty() => break,
                Err(error) => return Err(error),
            };
            if let Some(stream) = trailer.xref_stm
                && !visited.contains(&stream)
                && visited.len() < MAX_SECTIONS
            {
                // A hybrid file: the stream lists the objects in object streams that the table,
                // written for older readers, leaves out. It is searched after the table.
                visited.push(stream);
                match self.read_section(stream) {
                    Ok(_) | Err(Damaged(_)) => {}
                    Err(error) => return Err(error),
                }
            }
            next = trailer.prev;
        }
        Ok(())
    }

    /// Reads the section at `offset` (or shifted by the header's offset) into `self.sections`.
    fn read_section(&mut self, offset: u64) -> Result<Trailer> {
        let result = self.read_section_at(offset);
        let trailer = match result {
            Err(Damaged(_)) if self.base > 0 => match offset.checked_add(self.base) {
                Some(shifted) => self.read_section_at(shifted).or(result)?,
                None => result?,
            },
            _ => result?,
        };
        self.root = self.root.or(trailer.root);
        self.encrypted |= trailer.encrypted;
        Ok(trailer)
    }

    fn read_section_at(&mut self, offset: u64) -> Result<Trailer> {
        let first = Lexer::new(self.window(offset, 1024)?).token()?;
        let (section, trailer) = match first {
            Token::Keyword(word) if word == b"xref" => self.read_table(offset)?,
            Token::Int(_) => self.read_xref_stream(offset)?,
            _ => {
                return Err(Damaged(
                    "no cross-reference data where startxref or /Prev points",
                ));
            }
        };
        self.subsections = self.subsections.saturating_add(section.subsections.len());
        if self.subsections > MAX_SUBSECTIONS {
            return Err(TooComplex("more cross-reference subsections than allowed"));
        }
        self.sections.push(section);
        Ok(trailer)
    }

    /// A classic `xref` table and its trailer. Entries are not read, only their subsections'
    /// places found: each entry has the same length, so a subsection is skipped by seeking.
    fn read_table(&mut self, offset: u64) -> Result<(Section, Trailer)> {
        let room = MAX_SUBSECTIONS.saturating_sub(self.subsections);
        let mut lex = Lexer::new(self.window(offset, u64::MAX)?);
        let malformed = || Damaged("a cross-reference table is malformed");
        if !matches!(lex.token()?, Token::Keyword(word) if word == b"xref") {
            return Err(malformed());
        }
        let mut subsections = Vec::new();
        loop {
            match lex.token()? {
                Token::Int(first) => {
                    let Token::Int(count) = lex.token()? else {
                        return Err(malformed());
                    };
                    let (Ok(mut first), Ok(count)) = (u32::try_from(first), u32::try_from(count))
                    else {
                        return Err(malformed());
                    };
                    lex.skip_trivia()?;
                    let start = lex.pos();
                    if count == 0 {
                        continue;
                    }
                    // Entries are 20 bytes, but some writers end them with one byte, not two.
                    let mut entry = [0u8; 20];
                    lex.raw(&mut entry)?;
                    let (entry_offset, generation, in_use) =
                        parse_table_entry(&entry).ok_or_else(malformed)?;
                    let stride = if is_whitespace(entry[19]) { 20 } else { 19 };
                    if !is_whitespace(entry[18]) {
                        return Err(malformed());
                    }
                    // A known writer bug: the table of objects 0.. headed `1 n`.
                    if first == 1 && entry_offset == 0 && generation == 65535 && !in_use {
                        first = 0;
                    }
                    let end = u64::from(count)
                        .checked_mul(stride)
                        .and_then(|len| len.checked_add(start))
                        .ok_or_else(malformed)?;
                    if !lex.set_pos(end)? {
                        return Err(Damaged("a cross-reference table is cut short"));
                    }
                    if subsections.len() >= room {
                        return Err(TooComplex("more cross-reference subsections than allowed"));
                    }
                    subsections.push(Subsection {
                        first,
                        count,
                        start: offset.saturating_add(start),
                        stride,
                    });
                }
                Token::Keyword(word) if word == b"trailer" => {
                    let Object::Dict(dict) = Parser::new(lex).object(0)? else {
                        return Err(Damaged("a trailer is not a dictionary"));
                    };
                    let section = Section {
                        kind: SectionKind::Table,
                        subsections,
                    };
                    return Ok((section, Trailer::new(&dict)));
                }
                _ => return Err(malformed()),
            }
        }
    }

    /// An xref stream: its dictionary is also the trailer. Rows are decoded when looked up.
    fn read_xref_stream(&mut self, offset: u64) -> Result<(Section, Trailer)> {
        let (object, data) = self.indirect_at(None, offset)?;
        let (Object::Dict(dict), Some(data)) = (object, data) else {
            return Err(Damaged(
                "no cross-reference stream where startxref or /Prev points",
            ));
        };
        if !dict.name_is(b"Type", b"XRef") {
            return Err(Damaged("a cross-reference stream is not /Type /XRef"));
        }
        let bad_widths = || Damaged("a cross-reference stream's /W is malformed");
        let widths = match dict.get(b"W") {
            Some(Object::Array(w)) if w.len() == 3 => {
                let mut widths = [0usize; 3];
                for (slot, width) in widths.iter_mut().zip(w) {
                    *slot = match width {
                        Object::Int(n @ 0..=8) => usize::try_from(*n).map_err(|_| bad_widths())?,
                        _ => return Err(bad_widths()),
                    };
                }
                widths
            }
            _ => return Err(bad_widths()),
        };
        if widths[1] == 0 {
            return Err(Damaged("a cross-reference stream's /W has no offset field"));
        }
        let bad_index = || Damaged("a cross-reference stream's /Index is malformed");
        let ranges: Vec<(i64, i64)> = match dict.get(b"Index") {
            Some(Object::Array(index)) if index.len() % 2 == 0 => index
                .chunks_exact(2)
                .map(|pair| match pair {
                    [Object::Int(first), Object::Int(count)] => Ok((*first, *count)),
                    _ => Err(bad_index()),
                })
                .collect::<Result<_>>()?,
            Some(Object::TooLong) => {
                return Err(TooComplex("a cross-reference stream's /Index is too long"));
            }
            Some(_) => return Err(bad_index()),
            None => vec![(
                0,
                dict.int(b"Size")
                    .ok_or(Damaged("an xref stream has no /Size"))?,
            )],
        };
        let room = MAX_SUBSECTIONS.saturating_sub(self.subsections);
        if ranges.len() > room {
            return Err(TooComplex("more cross-reference subsections than allowed"));
        }
        let mut subsections = Vec::with_capacity(ranges.len());
        let mut row = 0u64;
        for (first, count) in ranges {
            let (Ok(first), Ok(count)) = (u32::try_from(first), u32::try_from(count)) else {
                return Err(bad_index());
            };
            subsections.push(Subsection {
                first,
                count,
                start: row,
                stride: 1,
            });
            row = row.saturating_add(u64::from(count));
        }
        let info = StreamInfo::new(&dict, data)?;
        let section = Section {
            kind: SectionKind::Stream { info, widths },
            subsections,
        };
        Ok((section, Trailer::new(&dict)))
    }

    /// Where object `num` is: the newest section listing it as in use. A free entry does not
    /// hide older ones (a hybrid file's table marks objects in object streams free).
    fn entry(&mut self, num: u32) -> Result<Option<Entry>> {
        if let Some(entry) = self.cache.get(&num) {
            return Ok(*entry);
        }
        let mut found = None;
        for i in 0..self.sections.len() {
            let Some(at) = self.sections[i].locate(num) else {
                continue;
            };
            let entry = match &self.sections[i].kind {
                SectionKind::Table => self.table_entry(at)?,
                SectionKind::Stream { info, widths } => {
                    let (info, widths) = (info.clone(), *widths);
                    self.stream_entry(&info, widths, at)?
                }
            };
            if entry.is_some() {
                found = entry;
                break;
            }
        }
        self.cache.insert(num, found);
        Ok(found)
    }

    fn table_entry(&mut self, at: u64) -> Result<Option<Entry>> {
        let mut bytes = [0u8; 20];
        let got = read_full(&mut self.window(at, 20)?, &mut bytes)?;
        Ok(match parse_table_entry(&bytes[..got]) {
            Some((offset, _, true)) => Some(Entry::InFile { offset }),
            _ => None,
        })
    }

    /// Row `row` of an xref stream, decoding (and dropping) the rows before it.
    fn stream_entry(
        &mut self,
        info: &StreamInfo,
        widths: [usize; 3],
        row: u64,
    ) -> Result<Option<Entry>> {
        let row_len: usize = widths.iter().sum();
        let before = row
            .checked_mul(row_len as u64)
            .filter(|&b| b < MAX_STREAM_DECODED)
            .ok_or(TooComplex("an xref stream row lies past the bytes allowed"))?;
        let mut src = self.decoded(info)?;
        if src.skip(before)? < before {
            return Ok(None);
        }
        let mut bytes = [0u8; 24];
        let bytes = &mut bytes[..row_len];
        if read_full(&mut src, bytes)? < row_len {
            return Ok(None);
        }
        let mut fields = [0u64; 3];
        let mut rest: &[u8] = bytes;
        for (field, &width) in fields.iter_mut().zip(&widths) {
            let (value, tail) = rest.split_at(width);
            *field = value.iter().fold(0, |v, &b| v << 8 | u64::from(b));
            rest = tail;
        }
        let kind = if widths[0] == 0 { 1 } else { fields[0] };
        Ok(match kind {
            1 => Some(Entry::InFile { offset: fields[1] }),
            2 => match (u32::try_from(fields[1]), u32::try_from(fields[2])) {
                (Ok(stream), Ok(index)) => Some(Entry::InStream { stream, index }),
                _ => None,
            },
            _ => None,
        })
    }

    /// The indirect object at `offset` (`num gen obj …`), checking its number if one is
    /// expected, and where its stream data starts if it is a stream.
    fn indirect_at(&mut self, expected: Option<u32>, offset: u64) -> Result<(Object, Option<u64>)> {
        let mut parser = Parser::new(Lexer::new(self.window(offset, MAX_OBJECT_BYTES)?));
        let header = (parser.next()?, parser.next()?, parser.next()?);
        let (Token::Int(num), Token::Int(_), Token::Keyword(obj)) = header else {
            return Err(Damaged("no object where the cross-reference data points"));
        };
        if obj != b"obj" || expected.is_some_and(|e| i64::from(e) != num) {
            return Err(Damaged(
                "no such object where the cross-reference data points",
            ));
        }
        let object = match parser.object(0) {
            Err(Damaged(_)) if parser.lex.pos() >= MAX_OBJECT_BYTES => {
                return Err(TooComplex("an object spans more bytes than allowed"));
            }
            result => result?,
        };
        let mut data = None;
        if matches!(object, Object::Dict(_)) && parser.ahead.is_empty() {
            let lex = &mut parser.lex;
            if matches!(lex.token()?, Token::Keyword(word) if word == b"stream") {
                // The data starts after the end of line: CR LF or LF (a lone CR is tolerated).
                if lex.peek()? == Some(b'\r') {
                    lex.bump();
                }
                if lex.peek()? == Some(b'\n') {
                    lex.bump();
                }
                data = Some(offset.saturating_add(lex.pos()));
            }
        }
        Ok((object, data))
    }

    /// [`Doc::indirect_at`] for object `num`, trying the offset shifted by the header's too.
    fn indirect(&mut self, num: u32, offset: u64) -> Result<(Object, Option<u64>)> {
        let result = self.indirect_at(Some(num), offset);
        match (result, offset.checked_add(self.base)) {
            (Err(Damaged(why)), Some(shifted)) if self.base > 0 => self
                .indirect_at(Some(num), shifted)
                .map_err(|_| Damaged(why)),
            (result, _) => result,
        }
    }

    /// Object `num` (null if no section lists it, as the PDF specification says).
    fn load(&mut self, num: u32) -> Result<Object> {
        match self.entry(num)? {
            None => Ok(Object::Null),
            Some(Entry::InFile { offset }) => Ok(self.indirect(num, offset)?.0),
            Some(Entry::InStream { stream, index }) => self.in_object_stream(num, stream, index),
        }
    }

    /// Object `num`, the `index`th in object stream `stream`: its header of `num offset` pairs is
    /// read up to the pair wanted, then the data skipped to `/First` + offset.
    fn in_object_stream(&mut self, num: u32, stream: u32, index: u32) -> Result<Object> {
        if self.encrypted {
            return Err(StructureError::Encrypted);
        }
        let Some(Entry::InFile { offset }) = self.entry(stream)? else {
            return Err(Damaged("an object stream is missing"));
        };
        let (Object::Dict(dict), Some(data)) = self.indirect(stream, offset)? else {
            return Err(Damaged("an object stream is not a stream"));
        };
        let (Some(n), Some(first)) = (dict.offset(b"N"), dict.offset(b"First")) else {
            return Err(Damaged("an object stream has no /N or /First"));
        };
        if u64::from(index) >= n {
            return Err(Damaged("an object stream holds fewer objects than listed"));
        }
        let info = StreamInfo::new(&dict, data)?;
        drop(dict);
        let mut parser = Parser::new(Lexer::new(self.decoded(&info)?));
        // Each pair read consumes bytes of the (capped) stream, so a huge index ends quickly.
        let (mut found, mut relative) = (0, 0);
        for _ in 0..=index {
            let (Token::Int(n), Token::Int(at)) = (parser.next()?, parser.next()?) else {
                return Err(Damaged("an object stream's header is malformed"));
            };
            (found, relative) = (n, at);
        }
        if found != i64::from(num) {
            return Err(Damaged("an object stream does not hold the object listed"));
        }
        let at = u64::try_from(relative)
            .ok()
            .and_then(|r| r.checked_add(first))
            .ok_or(Damaged("an object stream's offset is out of range"))?;
        if !parser.lex.set_pos(at)? {
            return Err(Damaged("an object stream is cut short"));
        }
        parser.object(0)
    }

    /// Follows references until an object that is not one.
    fn resolve(&mut self, mut object: Object) -> Result<Object> {
        for _ in 0..MAX_REF_CHAIN {
            match object {
                Object::Ref(num) => object = self.load(num)?,
                other => return Ok(other),
            }
        }
        Err(TooComplex("a chain of references is longer than allowed"))
    }

    fn facts(&mut self) -> Result<PdfFacts> {
        let root = self
            .root
            .ok_or(Damaged("the trailer names no /Root catalog"))?;
        let Object::Dict(mut catalog) = self.resolve(Object::Ref(root))? else {
            return Err(Damaged("the /Root catalog is missing or not a dictionary"));
        };
        let Object::Dict(mut pages) = self.resolve(catalog.take(b"Pages"))? else {
            return Err(Damaged("the catalog has no /Pages dictionary"));
        };
        drop(catalog);
        let pages = match self.resolve(pages.take(b"Count"))? {
            Object::Int(count) => u32::try_from(count)
                .map_err(|_| Damaged("the page tree's /Count is out of range"))?,
            _ => return Err(Damaged("the page tree has no /Count")),
        };
        Ok(PdfFacts {
            pages,
            encrypted: self.encrypted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;
    use std::io::Cursor;
    use std::sync::OnceLock;

    fn facts(bytes: &[u8]) -> Result<PdfFacts> {
        read_facts(&mut Cursor::new(bytes))
    }

    fn pages(bytes: &[u8]) -> u32 {
        let facts = facts(bytes).expect("reads the facts");
        assert!(!facts.encrypted);
        facts.pages
    }

    fn hayro_pages(bytes: &[u8]) -> usize {
        let pdf = hayro_syntax::Pdf::new(bytes.to_vec()).expect("hayro opens it");
        pdf.pages().len()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        miniz_oxide::deflate::compress_to_vec_zlib(data, 6)
    }

    // --- Files written by lopdf, checked against hayro-syntax ----------------------------------

    /// A lopdf document of `count` pages, and the object numbers of its page tree root and pages.
    fn lopdf_doc(count: u32) -> (lopdf::Document, u32, Vec<u32>) {
        use lopdf::{Document, Object as O, Stream, dictionary};
        let mut doc = Document::with_version("1.5");
        let root_pages = doc.new_object_id();
        let mut kids = Vec::new();
        for i in 0..count {
            let text = format!("BT /F1 12 Tf 72 720 Td (page {i}) Tj ET");
            let content = doc.add_object(Stream::new(dictionary! {}, text.into_bytes()));
            let page = doc.add_object(dictionary! {
                "Type" => "Page",
                "Parent" => root_pages,
                "Contents" => content,
                "MediaBox" => vec![0.into(), 0.into(), 612.into(), 792.into()],
            });
            kids.push(page);
        }
        let tree = dictionary! {
            "Type" => "Pages",
            "Kids" => kids.iter().map(|&id| O::Reference(id)).collect::<Vec<_>>(),
            "Count" => i64::from(count),
        };
        doc.objects.insert(root_pages, O::Dictionary(tree));
        let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => root_pages });
        doc.trailer.set("Root", catalog);
        let id = O::String(
            b"0123456789abcdef".to_vec(),
            lopdf::StringFormat::Hexadecimal,
        );
        doc.trailer.set("ID", vec![id.clone(), id]);
        (doc, root_pages.0, kids.iter().map(|id| id.0).collect())
    }

    #[derive(Debug, Clone, Copy)]
    enum Style {
        Classic,
        Modern,
        XrefStreamOnly,
        ObjectStreamsOnly,
        Ascii,
    }

    const STYLES: [Style; 5] = [
        Style::Classic,
        Style::Modern,
        Style::XrefStreamOnly,
        Style::ObjectStreamsOnly,
        Style::Ascii,
    ];

    fn save(doc: &mut lopdf::Document, style: Style) -> Vec<u8> {
        let mut out = Vec::new();
        let options = |objects, xref, ascii| lopdf::SaveOptions {
            use_object_streams: objects,
            use_xref_streams: xref,
            ascii,
            ..Default::default()
        };
        if matches!(style, Style::Classic) {
            doc.reference_table.cross_reference_type = lopdf::xref::XrefType::CrossReferenceTable;
        }
        match style {
            Style::Classic => doc.save_to(&mut out),
            Style::Modern => doc.save_modern(&mut out),
            Style::XrefStreamOnly => doc.save_with_options(&mut out, options(false, true, false)),
            Style::ObjectStreamsOnly => {
                doc.save_with_options(&mut out, options(true, false, false))
            }
            Style::Ascii => doc.save_with_options(&mut out, options(true, true, true)),
        }
        .expect("lopdf saves");
        out
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    /// `bytes` with the first `limit` occurrences of `from` replaced by `to`.
    fn replace(bytes: &[u8], from: &str, to: &str, limit: usize) -> Vec<u8> {
        let (from, to) = (from.as_bytes(), to.as_bytes());
        let (mut out, mut at, mut done) = (Vec::new(), 0, 0);
        while at < bytes.len() {
            if done < limit && bytes[at..].starts_with(from) {
                out.extend_from_slice(to);
                at += from.len();
                done += 1;
            } else {
                out.push(bytes[at]);
                at += 1;
            }
        }
        out
    }

    #[test]
    fn lopdf_files_agree_with_hayro() {
        // 1500 pages: a table, object streams and xref streams longer than a read chunk.
        for count in [1, 2, 7, 120, 1500] {
            for style in STYLES {
                let (mut doc, _, _) = lopdf_doc(count);
                let bytes = save(&mut doc, style);
                assert_eq!(hayro_pages(&bytes), count as usize, "{style:?}");
                assert_eq!(pages(&bytes), count, "{style:?} with {count} pages");
            }
        }
    }

    #[test]
    fn lopdf_styles_are_what_they_claim() {
        let (mut doc, _, _) = lopdf_doc(3);
        let modern = save(&mut doc, Style::Modern);
        assert!(contains(&modern, b"/ObjStm") && contains(&modern, b"/XRef"));
        let (mut doc, _, _) = lopdf_doc(3);
        let ascii = save(&mut doc, Style::Ascii);
        assert!(contains(&ascii, b"/ASCIIHexDecode"));
        let (mut doc, _, _) = lopdf_doc(3);
        let classic = save(&mut doc, Style::Classic);
        assert!(contains(&classic, b"\nxref") && !contains(&classic, b"/ObjStm"));
    }

    #[test]
    fn encrypted_lopdf_files_are_counted_and_flagged() {
        for style in [Style::Classic, Style::Modern] {
            let (mut doc, _, _) = lopdf_doc(5);
            let version = lopdf::EncryptionVersion::V2 {
                document: &doc,
                owner_password: "owner",
                user_password: "",
                key_length: 128,
                permissions: lopdf::Permissions::all(),
            };
            let state = lopdf::EncryptionState::try_from(version).expect("an encryption state");
            doc.encrypt(&state).expect("lopdf encrypts");
            let bytes = save(&mut doc, style);
            assert_eq!(
                hayro_pages(&bytes),
                5,
                "hayro decrypts with the empty password"
            );
            let facts = facts(&bytes).expect("reads the facts");
            assert_eq!(
                facts,
                PdfFacts {
                    pages: 5,
                    encrypted: true
                },
                "{style:?}"
            );
        }
    }

    /// The offset after the last `startxref`.
    fn startxref(bytes: &[u8]) -> u64 {
        let at = bytes
            .windows(9)
            .rposition(|w| w == b"startxref")
            .expect("has startxref");
        let text = String::from_utf8_lossy(&bytes[at + 9..]);
        text.split_whitespace()
            .next()
            .and_then(|n| n.parse().ok())
            .expect("an offset")
    }

    /// Appends an incremental update holding `objects` (number, body), with a classic table.
    fn append_update(bytes: &mut Vec<u8>, objects: &[(u32, String)], root: u32, size: u32) {
        let prev = startxref(bytes);
        bytes.extend_from_slice(b"\n");
        let mut table = String::new();
        for (num, body) in objects {
            table.push_str(&format!("{num} 1\n{:010} 00000 n \n", bytes.len()));
            bytes.extend_from_slice(format!("{num} 0 obj\n{body}\nendobj\n").as_bytes());
        }
        let xref = bytes.len();
        let trailer = format!("<< /Size {size} /Root {root} 0 R /Prev {prev} >>");
        let tail = format!("xref\n{table}trailer\n{trailer}\nstartxref\n{xref}\n%%EOF\n");
        bytes.extend_from_slice(tail.as_bytes());
    }

    #[test]
    fn incremental_updates_newest_entry_wins() {
        for style in STYLES {
            let (mut doc, tree, kids) = lopdf_doc(3);
            let root = doc
                .trailer
                .get(b"Root")
                .and_then(|r| r.as_reference())
                .expect("root")
                .0;
            let mut bytes = save(&mut doc, style);
            // Revision 2: a fourth page, and the tree root rewritten to list it. (lopdf numbers
            // its object and xref streams past `max_id`.)
            let new_page = doc.max_id + 100;
            let page = format!("<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 612 792] >>");
            let refs: String = kids
                .iter()
                .chain([&new_page])
                .map(|k| format!("{k} 0 R "))
                .collect();
            let tree_body = format!("<< /Type /Pages /Kids [{refs}] /Count 4 >>");
            append_update(
                &mut bytes,
                &[(new_page, page), (tree, tree_body)],
                root,
                new_page + 1,
            );
            assert_eq!(hayro_pages(&bytes), 4, "{style:?}");
            assert_eq!(pages(&bytes), 4, "{style:?}");
            // Revision 3: /Count indirect, in a new object.
            let count = new_page + 1;
            let tree_body = format!("<< /Type /Pages /Kids [{refs}] /Count {count} 0 R >>");
            let objects = [(count, "4".to_string()), (tree, tree_body)];
            append_update(&mut bytes, &objects, root, count + 1);
            assert_eq!(hayro_pages(&bytes), 4, "{style:?}");
            assert_eq!(pages(&bytes), 4, "{style:?}");
        }
    }

    // --- Hand-written files ---------------------------------------------------------------------

    /// Writes a PDF object by object, keeping their offsets.
    struct Builder {
        out: Vec<u8>,
        offsets: BTreeMap<u32, u64>,
    }

    impl Builder {
        fn new() -> Builder {
            Builder {
                out: b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec(),
                offsets: BTreeMap::new(),
            }
        }

        fn object(&mut self, num: u32, body: &[u8]) -> &mut Builder {
            self.offsets.insert(num, self.out.len() as u64);
            self.out
                .extend_from_slice(format!("{num} 0 obj\n").as_bytes());
            self.out.extend_from_slice(body);
            self.out.extend_from_slice(b"\nendobj\n");
            self
        }

        fn text(&mut self, num: u32, body: &str) -> &mut Builder {
            self.object(num, body.as_bytes())
        }

        /// A stream object: `dict` is the inside of its dictionary, `/Length` is added.
        fn stream(&mut self, num: u32, dict: &str, data: &[u8]) -> &mut Builder {
            let mut body = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
            body.extend_from_slice(data);
            body.extend_from_slice(b"\nendstream");
            self.object(num, &body)
        }

        /// A classic table of every object written, one subsection from 0, and its trailer.
        fn table(&mut self, trailer: &str) -> u64 {
            let xref = self.out.len() as u64;
            let size = self.offsets.keys().max().map_or(1, |max| max + 1);
            let mut table = format!("xref\n0 {size}\n");
            for num in 0..size {
                match self.offsets.get(&num) {
                    Some(offset) => table.push_str(&format!("{offset:010} 00000 n \n")),
                    None => table.push_str("0000000000 65535 f \n"),
                }
            }
            table.push_str(&format!("trailer\n<< /Size {size} {trailer} >>\n"));
            self.out.extend_from_slice(table.as_bytes());
            xref
        }

        /// An xref stream (object `num`, `/W [1 4 2]`) listing `rows` (number, type, two
        /// fields) and itself, Flate-compressed, with a PNG Up predictor if asked.
        fn xref_stream(
            &mut self,
            num: u32,
            rows: &[(u32, u64, u64, u64)],
            extra: &str,
            png: bool,
        ) -> u64 {
            let xref = self.out.len() as u64;
            let mut rows = rows.to_vec();
            rows.push((num, 1, xref, 0));
            rows.sort_unstable();
            let size = rows.iter().map(|r| r.0).max().map_or(1, |max| max + 1);
            let index: String = rows.iter().map(|r| format!("{} 1 ", r.0)).collect();
            let mut data = Vec::new();
            let mut previous = [0u8; 7];
            for &(_, kind, a, b) in &rows {
                let mut row = [0u8; 7];
                row[0] = u8::try_from(kind).expect("a type");
                row[1..5].copy_from_slice(&u32::try_from(a).expect("fits").to_be_bytes());
                row[5..7].copy_from_slice(&u16::try_from(b).expect("fits").to_be_bytes());
                if png {
                    data.push(2);
                    data.extend(row.iter().zip(previous).map(|(r, p)| r.wrapping_sub(p)));
                    previous = row;
                } else {
                    data.extend_from_slice(&row);
                }
            }
            let parms = if png {
                "/DecodeParms << /Predictor 12 /Columns 7 >>"
            } else {
                ""
            };
            let dict = format!(
                "/Type /XRef /Size {size} /W [1 4 2] /Index [{index}] /Filter /FlateDecode {parms} {extra}"
            );
            self.stream(num, &dict, &zlib(&data));
            xref
        }

        /// Rows for [`Builder::xref_stream`] of every object written directly.
        fn in_file_rows(&self) -> Vec<(u32, u64, u64, u64)> {
            self.offsets
                .iter()
                .map(|(&num, &offset)| (num, 1, offset, 0))
                .collect()
        }

        fn finish(&mut self, startxref: u64) -> Vec<u8> {
            self.out
                .extend_from_slice(format!("startxref\n{startxref}\n%%EOF\n").as_bytes());
            std::mem::take(&mut self.out)
        }
    }

    /// An object stream's decoded data and `/First` for `objects` (number, text).
    fn object_stream(objects: &[(u32, &str)]) -> (Vec<u8>, usize) {
        let (mut header, mut body) = (String::new(), String::new());
        for (num, text) in objects {
            header.push_str(&format!("{num} {} ", body.len()));
            body.push_str(text);
            body.push('\n');
        }
        let first = header.len();
        ((header + &body).into_bytes(), first)
    }

    const CATALOG: &str = "<< /Type /Catalog /Pages 2 0 R >>";

    fn tree(count: &str) -> String {
        format!("<< /Type /Pages /Kids [3 0 R] /Count {count} >>")
    }

    const PAGE: &str = "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>";

    #[test]
    fn classic_table_with_indirect_count() {
        let mut pdf = Builder::new();
        pdf.text(1, CATALOG)
            .text(2, &tree("4 0 R"))
            .text(3, PAGE)
            .text(4, "1");
        let xref = pdf.table("/Root 1 0 R");
        let bytes = pdf.finish(xref);
        assert_eq!(hayro_pages(&bytes), 1);
        assert_eq!(pages(&bytes), 1);
    }

    #[test]
    fn table_entries_ending_in_one_byte_and_off_by_one_heading() {
        let mut pdf = Builder::new();
        pdf.text(1, CATALOG).text(2, &tree("1")).text(3, PAGE);
        let xref = pdf.table("/Root 1 0 R");
        let bytes = pdf.finish(xref);
        let short = replace(&replace(&bytes, " n \n", " n\n", 9), " f \n", " f\n", 9);
        let short = fix_startxref(short);
        assert_eq!(pages(&short), 1, "19-byte entries");
        let shifted = fix_startxref(replace(&bytes, "xref\n0 4\n", "xref\n1 4\n", 1));
        assert_eq!(pages(&shifted), 1, "a table of 0.. headed 1");
    }

    /// Points `startxref` at the last `xref` keyword again (after an edit moved it).
    fn fix_startxref(mut bytes: Vec<u8>) -> Vec<u8> {
        let xref = bytes
            .windows(5)
            .rposition(|w| w == b"\nxref")
            .expect("a table")
            + 1;
        let at = bytes
            .windows(9)
            .rposition(|w| w == b"startxref")
            .expect("startxref");
        bytes.truncate(at);
        bytes.extend_from_slice(format!("startxref\n{xref}\n%%EOF\n").as_bytes());
        bytes
    }

    #[test]
    fn xref_stream_with_png_predictor() {
        for png in [false, true] {
            let mut pdf = Builder::new();
            pdf.text(1, CATALOG).text(2, &tree("1")).text(3, PAGE);
            let rows = pdf.in_file_rows();
            let xref = pdf.xref_stream(4, &rows, "/Root 1 0 R", png);
            let bytes = pdf.finish(xref);
            assert_eq!(hayro_pages(&bytes), 1);
            assert_eq!(pages(&bytes), 1, "predictor {png}");
        }
    }

    /// Catalog, tree root and `/Count` in a Flate object stream whose `/Length` is indirect;
    /// then the xref stream or a hybrid table with `/XRefStm`.
    fn object_stream_pdf(trailer_extra: &str, hybrid: bool) -> Vec<u8> {
        let tree = tree("6 0 R");
        let (data, first) = object_stream(&[(1, CATALOG), (2, &tree), (6, "1")]);
        let packed = zlib(&data);
        let mut pdf = Builder::new();
        pdf.text(3, PAGE);
        let dict = format!("/Type /ObjStm /N 3 /First {first} /Filter /FlateDecode /Length 5 0 R");
        let mut body = format!("<< {dict} >>\nstream\n").into_bytes();
        body.extend_from_slice(&packed);
        body.extend_from_slice(b"\nendstream");
        pdf.object(4, &body).text(5, &packed.len().to_string());
        let mut rows = pdf.in_file_rows();
        rows.extend([(1, 2, 4, 0), (2, 2, 4, 1), (6, 2, 4, 2)]);
        if hybrid {
            // The table lists the plain objects; the stream the ones in the object stream.
            let stream = pdf.xref_stream(7, &rows, "", true);
            let xref = pdf.table(&format!("/Root 1 0 R /XRefStm {stream} {trailer_extra}"));
            return pdf.finish(xref);
        }
        let xref = pdf.xref_stream(7, &rows, &format!("/Root 1 0 R {trailer_extra}"), true);
        pdf.finish(xref)
    }

    #[test]
    fn object_streams_with_indirect_length_and_count() {
        let bytes = object_stream_pdf("", false);
        assert_eq!(hayro_pages(&bytes), 1);
        assert_eq!(pages(&bytes), 1);
    }

    #[test]
    fn hybrid_file_reads_its_hidden_stream() {
        let bytes = object_stream_pdf("", true);
        assert!(contains(&bytes, b"/XRefStm"));
        assert_eq!(hayro_pages(&bytes), 1);
        assert_eq!(pages(&bytes), 1);
    }

    #[test]
    fn encrypted_files() {
        let mut pdf = Builder::new();
        pdf.text(1, CATALOG).text(2, &tree("1")).text(3, PAGE);
        pdf.text(
            4,
            "<< /Filter /Standard /V 2 /R 3 /Length 128 /O <00> /U <00> /P -4 >>",
        );
        let xref = pdf.table("/Root 1 0 R /Encrypt 4 0 R");
        let bytes = pdf.finish(xref);
        let facts = facts(&bytes).expect("reads the facts");
        assert_eq!(
            facts,
            PdfFacts {
                pages: 1,
                encrypted: true
            },
            "page tree in plain objects"
        );
        let stored = object_stream_pdf("/Encrypt << /Filter /Standard /V 4 >>", false);
        assert!(matches!(
            super::tests::facts(&stored),
            Err(StructureError::Encrypted)
        ));
        let hybrid = object_stream_pdf("/Encrypt << /Filter /Standard /V 4 >>", true);
        assert!(matches!(
            super::tests::facts(&hybrid),
            Err(StructureError::Encrypted)
        ));
    }

    #[test]
    fn junk_before_the_header_shifts_offsets() {
        let mut pdf = Builder::new();
        pdf.text(1, CATALOG).text(2, &tree("1")).text(3, PAGE);
        let xref = pdf.table("/Root 1 0 R");
        let mut bytes = vec![b'#'; 300];
        bytes.extend(pdf.finish(xref));
        assert_eq!(pages(&bytes), 1);
    }

    fn simple_pdf() -> Vec<u8> {
        let mut pdf = Builder::new();
        pdf.text(1, CATALOG).text(2, &tree("1")).text(3, PAGE);
        let xref = pdf.table("/Root 1 0 R");
        pdf.finish(xref)
    }

    #[test]
    fn truncated_files_are_damaged() {
        let (mut doc, _, _) = lopdf_doc(3);
        let bases = [
            simple_pdf(),
            object_stream_pdf("", false),
            save(&mut doc, Style::Modern),
        ];
        for base in &bases {
            for len in 0..base.len() {
                // Any prefix: an answer, no panic; losing the tail loses startxref.
                let result = facts(&base[..len]);
                if len + 10 < base.len() {
                    assert!(result.is_err(), "a prefix of {len} bytes");
                }
            }
        }
    }

    #[test]
    fn garbage_is_not_a_pdf() {
        for bytes in [&b""[..], b"hello", b"%PD", &[0xFF; 5000]] {
            assert!(
                matches!(facts(bytes), Err(StructureError::NotPdf)),
                "{bytes:?}"
            );
        }
        let result = facts(b"%PDF-1.7\nthis is not a PDF");
        assert!(
            matches!(result, Err(StructureError::Damaged(_))),
            "{result:?}"
        );
        let error = facts(b"%PDF-1.7\nstartxref\n9\n%%EOF").expect_err("points at nothing");
        assert!(error.to_string().contains("damaged"), "{error}");
    }

    #[test]
    fn missing_startxref_is_damaged() {
        let bytes = simple_pdf();
        let at = bytes
            .windows(9)
            .rposition(|w| w == b"startxref")
            .expect("startxref");
        let result = facts(&bytes[..at]);
        assert!(matches!(result, Err(StructureError::Damaged(why)) if why.contains("startxref")));
        // Past 2 KiB of junk after %%EOF it is still found (the wide tail), not past 64 KiB.
        let mut padded = bytes.clone();
        padded.extend(vec![b'\0'; 10_000]);
        assert_eq!(pages(&padded), 1);
        padded.extend(vec![b'\0'; 100_000]);
        assert!(matches!(facts(&padded), Err(StructureError::Damaged(_))));
    }

    #[test]
    fn prev_loops_end() {
        // A table whose /Prev is itself, and two that name each other.
        let mut pdf = Builder::new();
        pdf.text(1, CATALOG).text(2, &tree("1")).text(3, PAGE);
        let xref = pdf.out.len();
        pdf.table(&format!("/Root 1 0 R /Prev {xref}"));
        let bytes = pdf.finish(xref as u64);
        assert_eq!(pages(&bytes), 1);

        let mut pdf = Builder::new();
        pdf.text(1, CATALOG).text(2, &tree("1")).text(3, PAGE);
        let first = pdf.out.len();
        let guess = first + 200; // where the second table starts (checked below)
        pdf.table(&format!("/Root 1 0 R /Prev {guess}"));
        pdf.out.resize(guess, b'\n');
        let second = pdf.table(&format!("/Root 1 0 R /Prev {first}"));
        assert_eq!(second as usize, guess);
        let bytes = pdf.finish(second);
        assert_eq!(pages(&bytes), 1);
    }

    #[test]
    fn a_long_prev_chain_is_cut() {
        let mut pdf = Builder::new();
        pdf.text(1, CATALOG).text(2, &tree("1")).text(3, PAGE);
        let mut prev = pdf.table("/Root 1 0 R");
        for _ in 0..100 {
            pdf.out.extend_from_slice(b"\n");
            let xref = pdf.out.len() as u64;
            let section = format!(
                "xref\n0 1\n0000000000 65535 f \ntrailer\n<< /Size 4 /Root 1 0 R /Prev {prev} >>\n"
            );
            pdf.out.extend_from_slice(section.as_bytes());
            prev = xref;
        }
        let bytes = pdf.finish(prev);
        assert!(matches!(facts(&bytes), Err(StructureError::TooComplex(_))));
    }

    #[test]
    fn huge_size_index_and_length_cost_nothing() {
        // /Size claims 4 billion objects: nothing is allocated by it.
        let mut pdf = Builder::new();
        pdf.text(1, CATALOG).text(2, &tree("1")).text(3, PAGE);
        let rows = pdf.in_file_rows();
        let xref = pdf.xref_stream(4, &rows, "/Root 1 0 R /Size 4294967295", false);
        let bytes = pdf.finish(xref);
        assert_eq!(pages(&bytes), 1);

        // /Index [1 4294967295]: the catalog at a row far past the data is not decoded to.
        let far = replace(
            &bytes,
            "/Index [1 1 2 1 3 1 4 1 ]",
            "/Index [1 4294967295]",
            1,
        );
        assert_eq!(pages(&fix_xref_stream_offset(far.clone(), 4)), 1);
        let far = replace(&far, "/Root 1 0 R", "/Root 4000000000 0 R", 1);
        let far = fix_xref_stream_offset(far, 4);
        assert!(matches!(facts(&far), Err(StructureError::TooComplex(_))));

        // A table subsection of 4 billion entries runs past the end of the file.
        let mut pdf = Builder::new();
        pdf.text(1, CATALOG).text(2, &tree("1")).text(3, PAGE);
        let xref = pdf.table("/Root 1 0 R");
        let huge = replace(&pdf.finish(xref), "xref\n0 4\n", "xref\n0 4294967295\n", 1);
        let huge = fix_startxref(huge);
        assert!(matches!(facts(&huge), Err(StructureError::Damaged(_))));

        // A /Length of a terabyte, on an object stream and on the xref stream: not used.
        let bytes = object_stream_pdf("", false);
        let huge = replace(&bytes, "/Length 5 0 R", "/Length 999999999999999", 1);
        assert_eq!(huge.len(), bytes.len() + 10);
        assert!(facts(&huge).is_err(), "the xref stream moved");
        let huge = fix_xref_stream_offset(huge, 7);
        assert_eq!(pages(&huge), 1);
    }

    /// Re-points `startxref` at the xref stream's object after an edit moved it.
    fn fix_xref_stream_offset(mut bytes: Vec<u8>, num: u32) -> Vec<u8> {
        let at = bytes
            .windows(9)
            .rposition(|w| w == b"startxref")
            .expect("startxref");
        let header = format!("\n{num} 0 obj\n<");
        let stream = bytes
            .windows(header.len())
            .rposition(|w| w == header.as_bytes())
            .expect("xref stream");
        bytes.truncate(at);
        bytes.extend_from_slice(format!("startxref\n{}\n%%EOF\n", stream + 1).as_bytes());
        bytes
    }

    #[test]
    fn nesting_and_long_arrays_are_bounded() {
        for depth in [40, 100_000] {
            let nested = format!(
                "<< /Type /Catalog /X {} /Pages 2 0 R >>",
                "[".repeat(depth) + &"]".repeat(depth)
            );
            let mut pdf = Builder::new();
            pdf.text(1, &nested).text(2, &tree("1")).text(3, PAGE);
            let xref = pdf.table("/Root 1 0 R");
            let result = facts(&pdf.finish(xref));
            assert!(
                matches!(result, Err(StructureError::TooComplex(_))),
                "{depth}: {result:?}"
            );
        }
        // 20 000 /Kids before /Count: parsed and dropped, the count still read.
        let kids: String = (0..20_000).map(|_| "3 0 R ").collect();
        let mut pdf = Builder::new();
        let root = format!("<< /Type /Pages /Kids [{kids}] /Count 20000 >>");
        pdf.text(1, CATALOG).text(2, &root).text(3, PAGE);
        let xref = pdf.table("/Root 1 0 R");
        assert_eq!(pages(&pdf.finish(xref)), 20_000);
    }

    #[test]
    fn an_object_past_its_byte_bound_is_too_complex() {
        // 1.5 million /Kids (9 MB) before /Count.
        let kids = "3 0 R ".repeat(1_500_000);
        let mut pdf = Builder::new();
        let root = format!("<< /Type /Pages /Kids [{kids}] /Count 1500000 >>");
        pdf.text(1, CATALOG).text(2, &root).text(3, PAGE);
        let xref = pdf.table("/Root 1 0 R");
        let result = facts(&pdf.finish(xref));
        assert!(
            matches!(result, Err(StructureError::TooComplex(_))),
            "{result:?}"
        );
    }

    /// lopdf writes object streams with a classic table by marking their objects free: only a
    /// reader that rebuilds the cross-reference data by scanning the file (hayro does) can read
    /// it. This one does not scan, so the file is damaged to it.
    #[test]
    fn a_file_needing_repair_is_damaged() {
        let (mut doc, _, _) = lopdf_doc(2);
        doc.reference_table.cross_reference_type = lopdf::xref::XrefType::CrossReferenceTable;
        let mut bytes = Vec::new();
        let options = lopdf::SaveOptions {
            use_object_streams: true,
            ..Default::default()
        };
        doc.save_with_options(&mut bytes, options)
            .expect("lopdf saves");
        assert_eq!(hayro_pages(&bytes), 2, "hayro repairs it");
        assert!(matches!(facts(&bytes), Err(StructureError::Damaged(_))));
    }

    #[test]
    fn strings_comments_and_odd_syntax_are_skipped() {
        let catalog = "<< /Type /Catalog % a comment >> [ (\n /Title (a (nested) \\) string with >> and \\\\) \
                       /Id <0a1B> /Lang (\\(unbalanced escaped) /N#61me 1.5 /Neg -3 /Pages 2 0 R >>";
        let mut pdf = Builder::new();
        pdf.text(1, catalog).text(2, &tree("1")).text(3, PAGE);
        let xref = pdf.table("/Root 1 0 R");
        let bytes = pdf.finish(xref);
        assert_eq!(hayro_pages(&bytes), 1);
        assert_eq!(pages(&bytes), 1);
    }

    #[test]
    fn bad_counts_and_reference_loops_are_refused() {
        for (count, extra) in [
            ("-1", ""),
            ("4294967296", ""),
            ("1.0", ""),
            ("4 0 R", "4 0 R"),
            ("(1)", ""),
        ] {
            let mut pdf = Builder::new();
            pdf.text(1, CATALOG).text(2, &tree(count)).text(3, PAGE);
            if !extra.is_empty() {
                pdf.text(4, extra);
            }
            let xref = pdf.table("/Root 1 0 R");
            assert!(facts(&pdf.finish(xref)).is_err(), "/Count {count}");
        }
        let mut pdf = Builder::new();
        pdf.text(1, "1 0 R");
        let xref = pdf.table("/Root 1 0 R");
        assert!(matches!(
            facts(&pdf.finish(xref)),
            Err(StructureError::TooComplex(_))
        ));
    }

    #[test]
    fn an_inflate_bomb_is_capped() {
        // An object stream whose header sits after 17 MiB of spaces.
        let mut data = vec![b' '; 17 << 20];
        data.extend_from_slice(
            format!("1 0 2 {} {CATALOG}\n{}", CATALOG.len() + 1, tree("1")).as_bytes(),
        );
        let mut pdf = Builder::new();
        pdf.text(3, PAGE);
        pdf.stream(
            4,
            "/Type /ObjStm /N 2 /First 0 /Filter /FlateDecode",
            &zlib(&data),
        );
        let mut rows = pdf.in_file_rows();
        rows.extend([(1, 2, 4, 0), (2, 2, 4, 1)]);
        let xref = pdf.xref_stream(5, &rows, "/Root 1 0 R", false);
        let result = facts(&pdf.finish(xref));
        assert!(
            matches!(result, Err(StructureError::TooComplex(_))),
            "{result:?}"
        );
    }

    #[test]
    fn a_huge_object_stream_index_ends_quickly() {
        let (data, first) = object_stream(&[(1, CATALOG), (2, &tree("1"))]);
        let mut pdf = Builder::new();
        pdf.text(3, PAGE);
        let dict = format!("/Type /ObjStm /N 4294967295 /First {first} /Filter /FlateDecode");
        pdf.stream(4, &dict, &zlib(&data));
        let mut rows = pdf.in_file_rows();
        rows.extend([(1, 2, 4, 4_000_000_000), (2, 2, 4, 1)]);
        // The builder's /W [1 4 2] cannot hold the index: write the row by hand.
        let xref = pdf.out.len() as u64;
        let mut table = Vec::new();
        rows.push((5, 1, xref, 0));
        rows.sort_unstable();
        for &(_, kind, a, b) in &rows {
            table.push(u8::try_from(kind).expect("a type"));
            table.extend_from_slice(&u32::try_from(a).expect("fits").to_be_bytes());
            table.extend_from_slice(&u32::try_from(b).expect("fits").to_be_bytes());
        }
        let index: String = rows.iter().map(|r| format!("{} 1 ", r.0)).collect();
        let dict = format!("/Type /XRef /Size 6 /W [1 4 4] /Index [{index}] /Root 1 0 R");
        pdf.stream(5, &dict, &table);
        let started = std::time::Instant::now();
        let result = facts(&pdf.finish(xref));
        assert!(
            matches!(result, Err(StructureError::Damaged(_))),
            "{result:?}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn an_object_stream_inside_one_is_refused() {
        let (data, first) = object_stream(&[(1, CATALOG), (2, &tree("1"))]);
        let mut pdf = Builder::new();
        pdf.text(3, PAGE);
        pdf.stream(4, &format!("/Type /ObjStm /N 2 /First {first}"), &data);
        let mut rows = pdf.in_file_rows();
        rows.extend([(1, 2, 4, 0), (2, 2, 4, 1)]);
        // Object 4 listed as inside object stream 4.
        rows.retain(|r| r.0 != 4);
        rows.push((4, 2, 4, 0));
        let xref = pdf.xref_stream(5, &rows, "/Root 1 0 R", false);
        assert!(facts(&pdf.finish(xref)).is_err());
    }

    // --- Hostile bytes --------------------------------------------------------------------------

    /// Sound files of each kind to mutate.
    fn bases() -> &'static [Vec<u8>] {
        static BASES: OnceLock<Vec<Vec<u8>>> = OnceLock::new();
        BASES.get_or_init(|| {
            let mut bases = vec![
                simple_pdf(),
                object_stream_pdf("", false),
                object_stream_pdf("", true),
            ];
            for style in STYLES {
                let (mut doc, _, _) = lopdf_doc(4);
                bases.push(save(&mut doc, style));
            }
            bases
        })
    }

    /// Fragments of PDF syntax that upset parsers.
    const FRAGMENTS: &[&str] = &[
        "<<",
        ">>",
        "[",
        "]",
        "(",
        ")",
        "\\",
        "<",
        "%",
        " 0 R ",
        "99999999999999999999",
        "-1",
        "/Count",
        "/Prev 0",
        "/Index [0 4294967295]",
        "/W [8 8 8]",
        "/Predictor 15",
        "stream\n",
        "endobj",
        "xref\n0 1\n",
        "trailer",
        "/Type /ObjStm",
        "/N 4294967295",
        "/First -1",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

        /// Whatever bytes come in, reading answers: no panic, no hang.
        #[test]
        fn any_bytes_get_an_answer(bytes in proptest::collection::vec(any::<u8>(), 0..4096), header in any::<bool>()) {
            let mut input = if header { b"%PDF-1.7\n".to_vec() } else { Vec::new() };
            input.extend(bytes);
            let _ = facts(&input);
        }

        /// Sound files with bytes changed, fragments spliced in and tails cut: an answer.
        #[test]
        fn mutated_files_get_an_answer(
            base in 0..7usize,
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..12),
            splices in proptest::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>()), 0..4),
            cut in proptest::option::of(any::<prop::sample::Index>()),
        ) {
            let mut bytes = bases()[base % bases().len()].clone();
            for (at, byte) in edits {
                let at = at.index(bytes.len());
                bytes[at] = byte;
            }
            for (at, fragment) in splices {
                let at = at.index(bytes.len());
                let fragment = FRAGMENTS[fragment.index(FRAGMENTS.len())];
                bytes.splice(at..at, fragment.bytes());
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len()) + 1);
            }
            let _ = facts(&bytes);
        }
    }
}
