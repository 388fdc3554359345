//! What a page will cost to render, found before the rasteriser allocates: every stream the
//! page reaches decoded with an output limit, its path operators counted, then a drawing pass
//! into a device that only counts. Each step stops (by an unwind that [`crate::raster`]
//! catches) as soon as the page's memory estimate passes the budget or its time runs out.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hayro::hayro_interpret::{
    BlendMode, CacheKey, ClipPath, Context, Device, DrawMode, DrawProps, Image, ImageDrawProps,
    InterpreterCache, InterpreterSettings, Paint, SoftMask, font::GlyphRun, interpret_page,
    pattern::Pattern,
};
use hayro::hayro_syntax::Filter;
use hayro::hayro_syntax::content::UntypedIter;
use hayro::hayro_syntax::object::{Dict, MaybeRef, Object, ObjectIdentifier, Stream};
use hayro::hayro_syntax::page::Page;
use hayro::hayro_syntax::xref::XRef;
use hayro::kurbo::{Affine, BezPath, Rect, Shape};

/// Bytes per pixel of the page while it is drawn and encoded: the pixmap, its unpremultiplied
/// copy for the PNG encoder, the encoder's output and the rasteriser's tiles.
pub(crate) const BYTES_PER_PIXEL: u64 = 12;
/// Bytes per path segment: the path itself and the rasteriser's strips for it.
const BYTES_PER_SEGMENT: u64 = 64;
/// Bytes per path operator in a content stream, before drawing (the path being built).
const BYTES_PER_PATH_OP: u64 = 64;
/// Bytes per glyph drawn (outline and placement).
const BYTES_PER_GLYPH: u64 = 64;
/// Bytes per 256 × 4 tile a drawing covers (the rasteriser's command for that tile).
const BYTES_PER_TILE: u64 = 32;
/// Objects of a page's resources looked into, at most.
const MAX_OBJECTS: usize = 50_000;
/// Pixels of one image's side, at most (the rasteriser's own limit).
const MAX_IMAGE_SIDE: u64 = 1 << 16;

/// Why a page was stopped before or while it was rendered.
#[derive(Debug)]
pub(crate) enum Stop {
    /// Its time ran out.
    Time(Duration),
    /// It needs about this many bytes; the budget is the second.
    Memory(u64, u64),
    /// A content stream decodes to more than this many bytes.
    Content(u64),
    /// It cannot be measured, for this reason.
    Unmeasurable(&'static str),
}

impl Stop {
    pub(crate) fn note(&self) -> String {
        match self {
            Stop::Time(limit) => format!(
                "not rendered: it took longer than the {} limit per page",
                seconds(*limit)
            ),
            Stop::Memory(need, budget) => format!(
                "not rendered: it needs more than {} MB, and the memory budget is {} MB",
                need / 1_000_000,
                budget / 1_000_000
            ),
            Stop::Content(limit) => format!(
                "not rendered: a content stream of the page decodes to more than {} MB (an eighth of the memory budget)",
                limit / 1_000_000
            ),
            Stop::Unmeasurable(why) => format!("not rendered: {why}"),
        }
    }
}

fn seconds(d: Duration) -> String {
    if d.as_secs_f64() >= 1.0 {
        format!("{:.0} s", d.as_secs_f64())
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}

/// Stops the page: unwinds to the `catch_unwind` around it, without the panic hook.
pub(crate) fn stop(why: Stop) -> ! {
    std::panic::resume_unwind(Box::new(why))
}

/// A page's deadline, shared with the PDF's bytes so that every object the rasteriser reads
/// checks it ([`Watched`]).
#[derive(Debug)]
pub(crate) struct Deadline {
    base: Instant,
    /// Nanoseconds after `base`; `u64::MAX`: none.
    at: AtomicU64,
    limit: AtomicU64,
}

impl Deadline {
    pub(crate) fn new() -> Self {
        Deadline {
            base: Instant::now(),
            at: AtomicU64::new(u64::MAX),
            limit: AtomicU64::new(0),
        }
    }
    /// From now, `left` more of `limit`.
    pub(crate) fn arm(&self, left: Duration, limit: Duration) {
        let at = self.base.elapsed().saturating_add(left);
        let at = u64::try_from(at.as_nanos()).unwrap_or(u64::MAX - 1);
        self.limit.store(
            u64::try_from(limit.as_nanos()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        self.at.store(at, Ordering::Relaxed);
    }
    pub(crate) fn disarm(&self) {
        self.at.store(u64::MAX, Ordering::Relaxed);
    }
    pub(crate) fn passed(&self) -> bool {
        let at = self.at.load(Ordering::Relaxed);
        at != u64::MAX && u64::try_from(self.base.elapsed().as_nanos()).unwrap_or(u64::MAX) > at
    }
    /// Unwinds if the time is up.
    pub(crate) fn check(&self) {
        if self.passed() {
            self.disarm();
            stop(Stop::Time(Duration::from_nanos(
                self.limit.load(Ordering::Relaxed),
            )));
        }
    }
}

/// The PDF's bytes, as hayro reads them: each read of an object checks the page's deadline.
#[derive(Debug)]
pub(crate) struct Watched {
    pub(crate) bytes: std::sync::Arc<Vec<u8>>,
    pub(crate) deadline: std::sync::Arc<Deadline>,
}

impl AsRef<[u8]> for Watched {
    fn as_ref(&self) -> &[u8] {
        self.deadline.check();
        &self.bytes
    }
}

/// What a page's streams cost, decoded.
#[derive(Debug, Default)]
pub(crate) struct Streams {
    /// Bytes of every stream the page reaches, decoded (content, fonts, profiles, images).
    pub(crate) decoded: u64,
    /// Path operators in its content streams.
    pub(crate) path_ops: u64,
    /// The biggest image, as decoded pixels and their RGBA copy.
    pub(crate) largest_image: u64,
}

/// Measures every stream `page` reaches (its contents, its resources, its annotations'
/// appearances), each decoded with an output limit so that the sum cannot pass `budget`
/// bytes beyond `base`. Stops the page when it would.
pub(crate) fn streams(page: &Page<'_>, base: u64, budget: u64, deadline: &Deadline) -> Streams {
    let mut walk = Walk {
        xref: page.xref(),
        seen: HashSet::new(),
        objects: 0,
        found: Streams::default(),
        base,
        budget,
        deadline,
    };
    let raw = page.raw();
    walk.entry(raw.get_raw::<Object<'_>>(b"Contents"), Kind::Content);
    // Inherited resources are what the interpreter uses; the page's own are among them.
    let resources = page.resources();
    for dict in [
        &resources.ext_g_states,
        &resources.fonts,
        &resources.color_spaces,
        &resources.properties,
        &resources.x_objects,
        &resources.patterns,
        &resources.shadings,
    ] {
        walk.dict(dict, Kind::Data);
    }
    if let Some(annots) = raw.get::<hayro::hayro_syntax::object::Array<'_>>(b"Annots") {
        for annot in annots.iter::<Dict<'_>>() {
            walk.entry(annot.get_raw::<Object<'_>>(b"AP"), Kind::Content);
        }
    }
    walk.found
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// Content streams: decoded and their operators counted.
    Content,
    /// Anything else: decoded only to learn its size.
    Data,
}

struct Walk<'a, 'd> {
    xref: &'a XRef,
    seen: HashSet<ObjectIdentifier>,
    objects: usize,
    found: Streams,
    base: u64,
    budget: u64,
    deadline: &'d Deadline,
}

/// Keys that lead away from the page's own drawing (to other pages, the document's
/// structure, actions).
const AWAY: [&[u8]; 12] = [
    b"Parent", b"P", b"Dest", b"A", b"AA", b"PA", b"Next", b"Prev", b"First", b"Last", b"Popup",
    b"IRT",
];

impl<'a> Walk<'a, '_> {
    fn need(&self) -> u64 {
        self.base
            .saturating_add(self.found.decoded)
            .saturating_add(self.found.path_ops.saturating_mul(BYTES_PER_PATH_OP))
            .saturating_add(self.found.largest_image)
    }

    fn over(&self) -> bool {
        self.need() > self.budget
    }

    fn entry(&mut self, value: Option<MaybeRef<Object<'a>>>, kind: Kind) {
        let Some(value) = value else { return };
        let object = match value {
            MaybeRef::NotRef(object) => object,
            MaybeRef::Ref(r) => {
                let id = ObjectIdentifier::from(r);
                if !self.seen.insert(id) {
                    return;
                }
                self.objects += 1;
                if self.objects > MAX_OBJECTS {
                    stop(Stop::Unmeasurable("its resources hold too many objects"));
                }
                self.deadline.check();
                // The same XRef the page was read from.
                match self.xref.get::<Object<'a>>(id) {
                    Some(object) => object,
                    None => return,
                }
            }
        };
        self.object(object, kind);
    }

    fn object(&mut self, object: Object<'a>, kind: Kind) {
        match object {
            Object::Dict(dict) => self.dict(&dict, kind),
            Object::Array(array) => {
                for item in array.raw_iter() {
                    self.entry(Some(item), kind);
                }
            }
            Object::Stream(stream) => self.stream(&stream, kind),
            _ => {}
        }
    }

    fn dict(&mut self, dict: &Dict<'a>, kind: Kind) {
        for (key, value) in dict.entries() {
            let key: &[u8] = key.as_ref();
            if AWAY.contains(&key) {
                continue;
            }
            let kind = match key {
                b"CharProcs" | b"Contents" | b"AP" | b"N" | b"R" | b"D" => Kind::Content,
                _ => kind,
            };
            self.entry(Some(value), kind);
        }
    }

    fn stream(&mut self, stream: &Stream<'a>, kind: Kind) {
        let dict = stream.dict();
        let subtype = dict.get::<hayro::hayro_syntax::object::Name<'_>>(b"Subtype");
        let subtype: Option<&[u8]> = subtype.as_deref();
        let kind =
            if subtype == Some(b"Form".as_slice()) || dict.get::<u8>(b"PatternType") == Some(1) {
                Kind::Content
            } else if subtype == Some(b"Image".as_slice()) {
                self.image(dict);
                Kind::Data
            } else {
                kind
            };
        let room = self.budget.saturating_sub(self.need());
        let room = if kind == Kind::Content {
            room.min(self.budget / 8)
        } else {
            room
        };
        match decode(stream, room, kind == Kind::Content, self.deadline) {
            Decoded::Bytes(size, data) => {
                self.found.decoded = self.found.decoded.saturating_add(size);
                if let Some(data) = data {
                    self.found.path_ops = self.found.path_ops.saturating_add(path_ops(&data));
                }
            }
            Decoded::Image => {}
            Decoded::TooBig if kind == Kind::Content && room == self.budget / 8 => {
                stop(Stop::Content(room))
            }
            Decoded::TooBig => stop(Stop::Memory(
                self.need().saturating_add(room).saturating_add(1),
                self.budget,
            )),
            Decoded::Unreadable => {}
        }
        if self.over() {
            stop(Stop::Memory(self.need(), self.budget));
        }
        // Its own resources, masks, fonts' programs.
        self.dict(dict, kind);
    }

    fn image(&mut self, dict: &Dict<'_>) {
        let side = |key: &[u8], short: &[u8]| {
            u64::from(
                dict.get::<u32>(key)
                    .or_else(|| dict.get::<u32>(short))
                    .unwrap_or(0),
            )
        };
        let (w, h) = (side(b"Width", b"W"), side(b"Height", b"H"));
        if w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE {
            stop(Stop::Unmeasurable("it has an image too large to draw"));
        }
        // The decoded samples are counted with the stream; here its RGBA copy and a resampled one.
        let rgba = w.saturating_mul(h).saturating_mul(8);
        self.found.largest_image = self.found.largest_image.max(rgba);
        if self.over() {
            stop(Stop::Memory(self.need(), self.budget));
        }
    }
}

/// Path construction operators in a content stream.
fn path_ops(data: &[u8]) -> u64 {
    let mut ops = UntypedIter::new(data);
    let mut count = 0u64;
    while let Some(op) = ops.next() {
        let op: &[u8] = op.operator;
        if matches!(op, b"m" | b"l" | b"c" | b"v" | b"y" | b"h") {
            count += 1;
        } else if op == b"re" {
            count += 5;
        }
    }
    count
}

enum Decoded {
    /// Its decoded size, and the bytes if asked for.
    Bytes(u64, Option<Vec<u8>>),
    /// An image codec decodes it: its size is the image's.
    Image,
    /// It decodes to more than the room left.
    TooBig,
    /// A filter we do not know, or broken data: hayro will fail on it too.
    Unreadable,
}

/// Decodes `stream` keeping at most `room` bytes (and never more than `room` in memory).
fn decode(stream: &Stream<'_>, room: u64, keep: bool, deadline: &Deadline) -> Decoded {
    let filters = stream.filters();
    let raw = stream.raw_data();
    let room = usize::try_from(room).unwrap_or(usize::MAX);
    let mut data: std::borrow::Cow<'_, [u8]> = raw;
    let count = filters.len();
    for (i, filter) in filters.iter().enumerate() {
        deadline.check();
        let last = i + 1 == count;
        // The last filter's output is only counted unless the caller wants it.
        let sink = if last && !keep {
            Sink::Count(0)
        } else {
            Sink::Keep(Vec::new())
        };
        let out = match filter {
            Filter::Crypt if i == 0 => continue,
            Filter::FlateDecode => inflate(&data, room, sink),
            Filter::LzwDecode => lzw(&data, room, sink, early_change(stream, i)),
            Filter::RunLengthDecode => run_length(&data, room, sink),
            Filter::AsciiHexDecode => ascii_hex(&data, room, sink),
            Filter::Ascii85Decode => ascii_85(&data, room, sink),
            Filter::DctDecode
            | Filter::JpxDecode
            | Filter::Jbig2Decode
            | Filter::CcittFaxDecode => {
                return Decoded::Image;
            }
            _ => return Decoded::Unreadable,
        };
        match out {
            Some(Sink::Count(n)) => return Decoded::Bytes(n as u64, None),
            Some(Sink::Keep(v)) => data = std::borrow::Cow::Owned(v),
            None => return Decoded::TooBig,
        }
    }
    if data.len() > room {
        return Decoded::TooBig;
    }
    let size = data.len() as u64;
    Decoded::Bytes(size, keep.then(|| data.into_owned()))
}

fn early_change(stream: &Stream<'_>, index: usize) -> bool {
    let dict = stream.dict();
    let params = dict
        .get::<Dict<'_>>(b"DecodeParms")
        .or_else(|| dict.get::<Dict<'_>>(b"DP"))
        .or_else(|| {
            dict.get::<hayro::hayro_syntax::object::Array<'_>>(b"DecodeParms")
                .and_then(|a| a.iter::<Object<'_>>().nth(index))
                .and_then(Object::into_dict)
        });
    params
        .and_then(|p| p.get::<i32>(b"EarlyChange"))
        .is_none_or(|e| e != 0)
}

/// Where decoded bytes go: counted, or kept.
enum Sink {
    Count(usize),
    Keep(Vec<u8>),
}

impl Sink {
    fn len(&self) -> usize {
        match self {
            Sink::Count(n) => *n,
            Sink::Keep(v) => v.len(),
        }
    }
    /// Adds `bytes`; `false` past `room`.
    fn put(&mut self, bytes: &[u8], room: usize) -> bool {
        if self.len().saturating_add(bytes.len()) > room {
            return false;
        }
        match self {
            Sink::Count(n) => *n += bytes.len(),
            Sink::Keep(v) => v.extend_from_slice(bytes),
        }
        true
    }
}

/// Inflates zlib or raw deflate data (as hayro does, header or not) into `sink`, at most `room`
/// bytes; `None` beyond. Broken data ends the output where it breaks, as hayro's decoder does.
fn inflate(data: &[u8], room: usize, mut sink: Sink) -> Option<Sink> {
    use miniz_oxide::inflate::TINFLStatus;
    use miniz_oxide::inflate::core::{DecompressorOxide, decompress, inflate_flags};
    let zlib = data.len() >= 2
        && data[0] & 0x0f == 8
        && (u16::from(data[0]) << 8 | u16::from(data[1])) % 31 == 0;
    let mut flags =
        inflate_flags::TINFL_FLAG_HAS_MORE_INPUT | inflate_flags::TINFL_FLAG_IGNORE_ADLER32;
    if zlib {
        flags |= inflate_flags::TINFL_FLAG_PARSE_ZLIB_HEADER;
    }
    let mut state = Box::new(DecompressorOxide::new());
    let mut window = vec![0u8; 1 << 15];
    let (mut input, mut at) = (data, 0usize);
    loop {
        let (status, read, wrote) = decompress(&mut state, input, &mut window, at, flags);
        input = &input[read..];
        if !sink.put(&window[at..at + wrote], room) {
            return None;
        }
        at = (at + wrote) & (window.len() - 1);
        match status {
            TINFLStatus::HasMoreOutput => {}
            TINFLStatus::NeedsMoreInput if !input.is_empty() => {}
            _ => return Some(sink),
        }
        if read == 0 && wrote == 0 && status != TINFLStatus::HasMoreOutput {
            return Some(sink);
        }
    }
}

fn lzw(data: &[u8], room: usize, mut sink: Sink, early: bool) -> Option<Sink> {
    let mut table: Vec<(u16, u8)> = Vec::with_capacity(4096); // (prefix, byte) for codes ≥ 258
    let mut scratch = Vec::with_capacity(4096);
    let (mut bits, mut acc, mut width) = (0u32, 0u32, 9u32);
    let mut previous: Option<u16> = None;
    let expand = |code: u16, table: &[(u16, u8)], out: &mut Vec<u8>| -> Option<u8> {
        out.clear();
        let mut c = code;
        loop {
            if c < 256 {
                out.push(c as u8);
                break;
            }
            let (prefix, byte) = *table.get(usize::from(c - 258))?;
            out.push(byte);
            c = prefix;
        }
        out.reverse();
        out.first().copied()
    };
    for &byte in data {
        acc = (acc << 8) | u32::from(byte);
        bits += 8;
        while bits >= width {
            let code = ((acc >> (bits - width)) & ((1 << width) - 1)) as u16;
            bits -= width;
            match code {
                256 => {
                    table.clear();
                    width = 9;
                    previous = None;
                    continue;
                }
                257 => return Some(sink),
                _ => {}
            }
            let next = 258 + table.len() as u16;
            let first = if usize::from(code) < 256 + 2 + table.len() && code != 256 && code != 257 {
                expand(code, &table, &mut scratch)?
            } else if code == next {
                let p = previous?;
                let f = expand(p, &table, &mut scratch)?;
                scratch.push(f);
                f
            } else {
                return Some(sink);
            };
            if let Some(p) = previous
                && table.len() < 4096 - 258
            {
                table.push((p, first));
            }
            if !sink.put(&scratch, room) {
                return None;
            }
            previous = Some(code);
            let size = 258 + table.len() as u32 + u32::from(early);
            width = if size >= 2048 {
                12
            } else if size >= 1024 {
                11
            } else if size >= 512 {
                10
            } else {
                9
            };
        }
    }
    Some(sink)
}

fn run_length(data: &[u8], room: usize, mut sink: Sink) -> Option<Sink> {
    let mut i = 0;
    while let Some(&length) = data.get(i) {
        i += 1;
        match length {
            128 => break,
            0..=127 => {
                let end = (i + usize::from(length) + 1).min(data.len());
                if !sink.put(&data[i..end], room) {
                    return None;
                }
                i = end;
            }
            _ => {
                let Some(&b) = data.get(i) else { break };
                i += 1;
                if !sink.put(&[b].repeat(257 - usize::from(length)), room) {
                    return None;
                }
            }
        }
    }
    Some(sink)
}

fn ascii_hex(data: &[u8], room: usize, mut sink: Sink) -> Option<Sink> {
    let mut half: Option<u8> = None;
    for &c in data {
        let v = match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            b'>' => break,
            _ => continue,
        };
        match half.take() {
            Some(h) => {
                if !sink.put(&[h << 4 | v], room) {
                    return None;
                }
            }
            None => half = Some(v),
        }
    }
    if let Some(h) = half
        && !sink.put(&[h << 4], room)
    {
        return None;
    }
    Some(sink)
}

fn ascii_85(data: &[u8], room: usize, mut sink: Sink) -> Option<Sink> {
    let mut group = [0u8; 5];
    let mut n = 0;
    for &c in data {
        match c {
            b'~' => break,
            b'z' if n == 0 && !sink.put(&[0; 4], room) => return None,
            b'z' if n == 0 => {}
            b'!'..=b'u' => {
                group[n] = c - b'!';
                n += 1;
                if n == 5 {
                    let v = group
                        .iter()
                        .fold(0u64, |a, &d| a * 85 + u64::from(d))
                        .min(u64::from(u32::MAX)) as u32;
                    if !sink.put(&v.to_be_bytes(), room) {
                        return None;
                    }
                    n = 0;
                }
            }
            _ => {}
        }
    }
    if n > 1 {
        for d in group.iter_mut().skip(n) {
            *d = 84;
        }
        let v = group
            .iter()
            .fold(0u64, |a, &d| a * 85 + u64::from(d))
            .min(u64::from(u32::MAX)) as u32;
        if !sink.put(&v.to_be_bytes()[..n - 1], room) {
            return None;
        }
    }
    Some(sink)
}

/// The drawing pass that only counts: every drawing operation checks the deadline and adds its
/// cost to the page's estimate, stopping the page once past the budget.
pub(crate) struct Probe<'d> {
    pub(crate) need: u64,
    pub(crate) budget: u64,
    pixels: u64,
    target: Rect,
    masks: HashSet<u128>,
    deadline: &'d Deadline,
}

impl std::fmt::Debug for Probe<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Probe").field("need", &self.need).finish()
    }
}

impl<'d> Probe<'d> {
    fn add(&mut self, bytes: u64) {
        self.need = self.need.saturating_add(bytes);
        if self.need > self.budget {
            stop(Stop::Memory(self.need, self.budget));
        }
        self.deadline.check();
    }

    fn tiles(&self, bbox: Rect) -> u64 {
        let r = bbox.intersect(self.target);
        if !(r.width() > 0.0 && r.height() > 0.0) {
            return 0;
        }
        ((r.width() / 256.0).ceil() * (r.height() / 4.0).ceil()) as u64
    }

    fn path(&mut self, path: &BezPath, transform: Affine, paint: Option<&Paint<'_>>) {
        let segments = path.elements().len() as u64;
        let tiles = self.tiles(transform.transform_rect_bbox(path.bounding_box()));
        let mut bytes = segments
            .saturating_mul(BYTES_PER_SEGMENT)
            .saturating_add(tiles.saturating_mul(BYTES_PER_TILE));
        if let Some(Paint::Pattern(pattern)) = paint
            && let Pattern::Tiling(t) = pattern.as_ref()
        {
            // The pattern's cell is drawn into its own pixmap, its side at most u16::MAX.
            let side = |step: f32, advance: f64| {
                (f64::from(step.abs()) * advance)
                    .round()
                    .clamp(1.0, 65_535.0) as u64
            };
            let m = t.matrix.as_coeffs();
            let (ax, ay) = (m[0].hypot(m[1]), m[2].hypot(m[3]));
            let cell = side(t.x_step, ax).saturating_mul(side(t.y_step, ay));
            bytes = bytes.saturating_add(cell.min(self.pixels.saturating_mul(4)).saturating_mul(8));
        }
        self.add(bytes);
    }

    fn mask(&mut self, mask: Option<&SoftMask<'_>>) {
        if let Some(mask) = mask
            && self.masks.insert(mask.cache_key())
        {
            // A pixmap of the page's size and its mask, kept for the page.
            self.add(self.pixels.saturating_mul(5));
        }
    }
}

/// Runs the drawing pass over `page` into a [`Probe`]; returns the page's estimate.
pub(crate) fn probe(
    page: &Page<'_>,
    transform: Affine,
    size: (u16, u16),
    need: u64,
    budget: u64,
    deadline: &Deadline,
) -> u64 {
    let target = Rect::new(0.0, 0.0, f64::from(size.0), f64::from(size.1));
    let cache = InterpreterCache::new();
    let mut context = Context::new(
        transform,
        target,
        &cache,
        page.xref(),
        InterpreterSettings::default(),
    );
    let mut probe = Probe {
        need,
        budget,
        pixels: u64::from(size.0) * u64::from(size.1),
        target,
        masks: HashSet::new(),
        deadline,
    };
    interpret_page(page, &mut context, &mut probe);
    probe.need
}

impl<'a> Device<'a> for Probe<'_> {
    fn draw_path(&mut self, path: &BezPath, props: DrawProps<'a>, _: &DrawMode) {
        self.mask(props.soft_mask.as_ref());
        self.path(path, props.transform, Some(&props.paint));
    }
    fn push_clip_path(&mut self, clip_path: &ClipPath) {
        self.path(&clip_path.path, Affine::IDENTITY, None);
    }
    fn push_transparency_group(&mut self, _: f32, mask: Option<SoftMask<'a>>, _: BlendMode) {
        self.mask(mask.as_ref());
        self.add(0);
    }
    fn draw_glyph_run(&mut self, run: &GlyphRun<'_, 'a>, props: DrawProps<'a>, _: &DrawMode) {
        self.mask(props.soft_mask.as_ref());
        self.add((run.glyphs().len() as u64).saturating_mul(BYTES_PER_GLYPH));
    }
    fn draw_image(&mut self, image: Image<'a, '_>, props: ImageDrawProps<'a>) {
        self.mask(props.soft_mask.as_ref());
        let (w, h) = (u64::from(image.width()), u64::from(image.height()));
        if w > MAX_IMAGE_SIDE || h > MAX_IMAGE_SIDE {
            stop(Stop::Unmeasurable("it has an image too large to draw"));
        }
        // Its tiles; the decoded image itself was counted with the page's streams.
        let unit = Rect::new(0.0, 0.0, 1.0, 1.0);
        let tiles = self.tiles(props.transform.transform_rect_bbox(unit));
        self.add(tiles.saturating_mul(BYTES_PER_TILE));
    }
    fn pop_clip(&mut self) {
        self.add(0);
    }
    fn pop_transparency_group(&mut self) {
        self.add(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(sink: Option<Sink>) -> Option<Vec<u8>> {
        match sink? {
            Sink::Keep(v) => Some(v),
            Sink::Count(_) => None,
        }
    }

    #[test]
    fn bounded_decoders_decode_and_stop_at_their_room() {
        // The LZW example of the PDF specification (7.4.4.2).
        let lzw_data = [0x80, 0x0B, 0x60, 0x50, 0x22, 0x0C, 0x0C, 0x85, 0x01];
        assert_eq!(
            kept(lzw(&lzw_data, 100, Sink::Keep(Vec::new()), true)).expect("fits"),
            b"-----A---B"
        );
        assert!(lzw(&lzw_data, 9, Sink::Keep(Vec::new()), true).is_none());
        let zeros = vec![0u8; 100_000];
        let deflated = miniz_oxide::deflate::compress_to_vec_zlib(&zeros, 6);
        assert_eq!(
            kept(inflate(&deflated, 100_000, Sink::Keep(Vec::new()))).expect("fits"),
            zeros
        );
        assert!(inflate(&deflated, 99_999, Sink::Count(0)).is_none());
        let raw = miniz_oxide::deflate::compress_to_vec(b"raw deflate", 6);
        assert_eq!(
            kept(inflate(&raw, 100, Sink::Keep(Vec::new()))).expect("fits"),
            b"raw deflate"
        );
        assert_eq!(
            kept(run_length(
                &[2, b'a', b'b', b'c', 254, b'x', 128],
                10,
                Sink::Keep(Vec::new())
            )),
            Some(b"abcxxx".to_vec())
        );
        assert!(run_length(&[129, b'x'], 127, Sink::Count(0)).is_none());
        assert_eq!(
            kept(ascii_hex(b"48 65 6c6C 6>", 10, Sink::Keep(Vec::new()))),
            Some(b"Hell`".to_vec())
        );
        assert_eq!(
            kept(ascii_85(b"87cURD]i,\"Ebo80~>", 20, Sink::Keep(Vec::new()))),
            Some(b"Hello World!".to_vec())
        );
        assert_eq!(
            kept(ascii_85(b"zz~>", 8, Sink::Keep(Vec::new()))),
            Some(vec![0; 8])
        );
        assert!(ascii_85(b"zzz~>", 8, Sink::Count(0)).is_none());
    }
}
