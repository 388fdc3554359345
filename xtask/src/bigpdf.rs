//! Large, real PDFs for the memory benchmarks, streamed to disk in bounded memory: the bulk in
//! image streams, the cross-reference table at the end, as a scanned document is.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// Width of each page's image in pixels, one byte each (8-bit gray): a row is 1 KiB.
const IMAGE_WIDTH: u64 = 1024;
/// Bytes a page costs besides its image data (page, content stream, image dictionary, its
/// `/Kids` entry and xref lines), a little over: the file comes out just under `bytes`.
const PAGE_OVERHEAD: u64 = 600;

/// Writes to `path` a PDF of `pages` pages and about `bytes` bytes (at least one 1 KiB image row
/// a page). Each page shows one 8-bit gray image of pseudo-random, uncompressible bytes, so the
/// bulk of the file is in streams (as in a scanned document), then a classic xref table and
/// trailer. Memory: a 1 MiB write buffer, a 64 KiB chunk of noise and the xref offsets (8 bytes
/// an object, three objects a page): flat in `bytes`.
pub fn write_large_pdf(path: &Path, pages: u32, bytes: u64) -> io::Result<()> {
    let invalid = |why| io::Error::new(io::ErrorKind::InvalidInput, why);
    if pages == 0 {
        return Err(invalid("a PDF needs at least one page"));
    }
    // Objects: 0 (free), 1 catalog, 2 page tree root, then a page, its content and its image.
    let size = pages
        .checked_mul(3)
        .and_then(|n| n.checked_add(3))
        .ok_or_else(|| invalid("too many pages"))?;
    let per_page = bytes.saturating_sub(1024 + u64::from(pages) * PAGE_OVERHEAD) / u64::from(pages);
    let height = (per_page / IMAGE_WIDTH).max(1);
    let image_len = IMAGE_WIDTH * height;

    let mut out = Counting {
        inner: BufWriter::with_capacity(1 << 20, File::create(path)?),
        written: 0,
    };
    let mut offsets = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    out.write_all(b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n")?;
    offsets.push(out.written);
    out.write_all(b"1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n")?;
    offsets.push(out.written);
    write!(out, "2 0 obj\n<< /Type /Pages /Count {pages} /Kids [")?;
    for i in 0..pages {
        write!(out, " {} 0 R", 3 + 3 * i)?;
    }
    out.write_all(b" ] >>\nendobj\n")?;

    let mut noise = Noise(0x9E37_79B9_7F4A_7C15);
    let content = b"q 612 0 0 792 0 0 cm /Im0 Do Q\n";
    for i in 0..pages {
        let page = 3 + 3 * i;
        offsets.push(out.written);
        write!(
            out,
            "{page} 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] \
             /Resources << /XObject << /Im0 {} 0 R >> >> /Contents {} 0 R >>\nendobj\n",
            page + 2,
            page + 1
        )?;
        offsets.push(out.written);
        write!(
            out,
            "{} 0 obj\n<< /Length {} >>\nstream\n",
            page + 1,
            content.len()
        )?;
        out.write_all(content)?;
        out.write_all(b"\nendstream\nendobj\n")?;
        offsets.push(out.written);
        write!(
            out,
            "{} 0 obj\n<< /Type /XObject /Subtype /Image /Width {IMAGE_WIDTH} /Height {height} \
             /ColorSpace /DeviceGray /BitsPerComponent 8 /Length {image_len} >>\nstream\n",
            page + 2
        )?;
        noise.write(&mut out, image_len)?;
        out.write_all(b"\nendstream\nendobj\n")?;
    }

    let xref = out.written;
    write!(out, "xref\n0 {size}\n0000000000 65535 f \n")?;
    for offset in &offsets {
        writeln!(out, "{offset:010} 00000 n ")?;
    }
    write!(
        out,
        "trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    )?;
    out.inner.flush()
}

/// A writer that counts what went through it: the offsets of the xref table.
struct Counting<W> {
    inner: W,
    written: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// xorshift64*: fast, deterministic, and as uncompressible as real noise for deflate.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Writes `len` bytes of noise, 64 KiB at a time.
    fn write(&mut self, out: &mut impl Write, mut len: u64) -> io::Result<()> {
        let mut chunk = vec![0u8; 64 * 1024];
        while len > 0 {
            for word in chunk.chunks_exact_mut(8) {
                word.copy_from_slice(&self.next().to_le_bytes());
            }
            let n = usize::try_from(len).map_or(chunk.len(), |l| l.min(chunk.len()));
            out.write_all(&chunk[..n])?;
            len -= n as u64;
        }
        Ok(())
    }
}
