//! Preflight for `run` and `submit`, and `run --dry-run`: what would be sent, checked locally
//! before any request (pages counted from the file, `--pages` against them, size, encryption).

use std::io::Write;
use std::path::{Path, PathBuf};

use extract_api::{ExtractionOptions, PageSelection, Preflight};
use extract_batch::{CacheScope, EntryState, Manifest, OutputCache, Place, Shard, input_key};
use futures_util::StreamExt;

use crate::Failure;

/// One input and what preflight found: its facts, or why it would fail.
#[derive(Debug)]
pub struct Checked {
    pub file: PathBuf,
    pub result: Result<Preflight, String>,
}

/// The `--pages` selection, parsed (a bad one is a usage error, before anything else).
pub fn selection(pages: Option<&str>) -> Result<Option<PageSelection>, Failure> {
    pages
        .map(PageSelection::parse)
        .transpose()
        .map_err(|e| crate::exit::coded(2, format!("--{e}")))
}

/// Checks every file, `concurrency` at a time, in the order given.
pub async fn check_all(
    files: Vec<PathBuf>,
    pages: Option<&PageSelection>,
    concurrency: usize,
) -> Vec<Checked> {
    futures_util::stream::iter(files)
        .map(|file| async move {
            let result = extract_api::preflight(&file, pages)
                .await
                .map_err(|e| crate::exit::describe(&e));
            Checked { file, result }
        })
        .buffered(concurrency.max(1))
        .collect()
        .await
}

/// What a run would do with one input that passed preflight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    /// Extracted into this folder before, with the same content.
    Done,
    /// In the output cache: written without a request.
    Cached,
    /// Sent.
    Send,
}

/// The jobs a document of `pages` pages is sent as: its page-split parts, or one.
fn jobs(pages: u32, options: &ExtractionOptions, split_pages: Option<u32>) -> usize {
    split_pages
        .and_then(|size| extract_batch::split::split_jobs(pages, options.pages.as_deref(), size))
        .map_or(1, |parts| parts.len())
}

/// Prints what `run` would do (as text, or JSON with `json`), sending nothing: each document's
/// jobs counted as the run would send them (`--split-pages` from the page count preflight
/// read).
pub async fn dry_run(
    checked: &[Checked],
    out_dir: &Path,
    cache: Option<(&OutputCache, &CacheScope)>,
    options: &ExtractionOptions,
    split_pages: Option<u32>,
    json: bool,
) -> Result<(), Failure> {
    let manifest = Manifest::load(out_dir)?;
    let mut rows = Vec::new();
    for item in checked {
        let plan = match &item.result {
            Ok(preflight) => {
                let sha = extract_batch::hash_file(item.file.clone()).await?;
                let done = manifest
                    .documents
                    .get(&input_key(&item.file))
                    .is_some_and(|e| {
                        e.sha256 == sha
                            && e.state == EntryState::Succeeded
                            && e.outputs.iter().all(|o| o.is_file())
                    });
                let cached = cache.is_some_and(|(cache, scope)| {
                    let key = match split_pages {
                        Some(size) if jobs(preflight.pages, options, split_pages) > 1 => {
                            OutputCache::split_key(scope, &sha, options, size)
                        }
                        _ => OutputCache::key(scope, &sha, options),
                    };
                    cache.get(scope, &key).is_some()
                });
                Some(if done {
                    Plan::Done
                } else if cached {
                    Plan::Cached
                } else {
                    Plan::Send
                })
            }
            Err(_) => None,
        };
        rows.push((item, plan));
    }
    let sent: Vec<&Preflight> = rows
        .iter()
        .filter(|(_, plan)| *plan == Some(Plan::Send))
        .filter_map(|(item, _)| item.result.as_ref().ok())
        .collect();
    let pages: u64 = sent.iter().map(|p| u64::from(p.selected_pages)).sum();
    let bytes: u64 = sent.iter().map(|p| p.bytes).sum();
    let jobs_of = |p: &Preflight| jobs(p.pages, options, split_pages);
    let job_count: usize = sent.iter().map(|p| jobs_of(p)).sum();
    // A job, direct: the submission and at least one poll. Pre-signed: create, upload,
    // complete, a poll, the download.
    let requests: usize = sent
        .iter()
        .map(|p| jobs_of(p) * if p.presigned { 5 } else { 2 })
        .sum();
    let count = |wanted: Plan| rows.iter().filter(|(_, p)| *p == Some(wanted)).count();
    let refused = rows.iter().filter(|(_, p)| p.is_none()).count();
    let mut out = std::io::stdout().lock();
    if json {
        let documents: Vec<_> = rows
            .iter()
            .map(|(item, plan)| match (&item.result, plan) {
                (Ok(p), Some(plan)) => serde_json::json!({
                    "input": item.file.display().to_string(),
                    "plan": match plan { Plan::Done => "already_done", Plan::Cached => "from_cache", Plan::Send => "send" },
                    "pages": p.pages,
                    "selected_pages": p.selected_pages,
                    "bytes": p.bytes,
                    "upload": if p.presigned { "presigned" } else { "direct" },
                    "jobs": jobs_of(p),
                }),
                (result, _) => serde_json::json!({
                    "input": item.file.display().to_string(),
                    "plan": "refused",
                    "reason": result.as_ref().err(),
                }),
            })
            .collect();
        let document = serde_json::json!({
            "documents": documents,
            "send": sent.len(),
            "jobs": job_count,
            "pages": pages,
            "bytes": bytes,
            "requests_at_least": requests,
            "already_done": count(Plan::Done),
            "from_cache": count(Plan::Cached),
            "refused": refused,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&document)?)?;
        return Ok(());
    }
    for (item, plan) in &rows {
        let shown = item.file.display();
        match (&item.result, plan) {
            (Ok(p), Some(plan)) => writeln!(
                out,
                "{}  {shown}: {} of {} page(s), {} bytes, {} upload{}",
                match plan {
                    Plan::Done => "done  ",
                    Plan::Cached => "cached",
                    Plan::Send => "send  ",
                },
                p.selected_pages,
                p.pages,
                p.bytes,
                if p.presigned { "pre-signed" } else { "direct" },
                match jobs_of(p) {
                    1 => String::new(),
                    n => format!(", {n} split jobs"),
                }
            )?,
            (result, _) => writeln!(
                out,
                "refuse  {}",
                result.as_ref().err().map_or("", |r| r.as_str())
            )?,
        }
    }
    writeln!(
        out,
        "would send {} document(s){}: {pages} page(s), {bytes} bytes, at least {requests} request(s); {} already done in {}, {} from the cache, {refused} refused",
        sent.len(),
        if job_count == sent.len() {
            String::new()
        } else {
            format!(" as {job_count} job(s)")
        },
        count(Plan::Done),
        out_dir.display(),
        count(Plan::Cached),
    )?;
    Ok(())
}

/// `run --dry-run` over object stores or in a shard: this shard's inputs, their bytes and which
/// an earlier run finished, from the listing and the manifest alone. Pages are not counted
/// (that would read every object); nothing is sent, written or locked.
pub async fn plan_dry_run(
    inputs: &[Place],
    out: &Place,
    shard: Option<Shard>,
    split_pages: Option<u32>,
    json: bool,
) -> Result<(), Failure> {
    let planned = extract_batch::plan(inputs, out, shard).await?;
    let presigned = |bytes: u64| bytes > extract_api::DIRECT_LIMIT;
    let send: Vec<_> = planned.iter().filter(|p| !p.done).collect();
    let bytes: u64 = send.iter().map(|p| p.bytes).sum();
    let large = send.iter().filter(|p| presigned(p.bytes)).count();
    // As for local files: direct, the submission and a poll; pre-signed, five requests.
    let requests = (send.len() - large) * 2 + large * 5;
    let done = planned.len() - send.len();
    let upload = |bytes: u64| {
        if presigned(bytes) {
            "presigned"
        } else {
            "direct"
        }
    };
    let mut out_stream = std::io::stdout().lock();
    if json {
        let documents: Vec<_> = planned
            .iter()
            .map(|p| {
                serde_json::json!({
                    "input": p.input,
                    "plan": if p.done { "already_done" } else { "send" },
                    "bytes": p.bytes,
                    "upload": upload(p.bytes),
                })
            })
            .collect();
        let document = serde_json::json!({
            "documents": documents,
            "shard": shard.map(|s| s.to_string()),
            "send": send.len(),
            // Split jobs depend on page counts, which are not read here.
            "jobs": if split_pages.is_some() { serde_json::Value::Null } else { send.len().into() },
            "pages": null,
            "bytes": bytes,
            "requests_at_least": requests,
            "already_done": done,
            "from_cache": 0,
            "refused": 0,
        });
        writeln!(out_stream, "{}", serde_json::to_string_pretty(&document)?)?;
        return Ok(());
    }
    for p in &planned {
        if p.done {
            writeln!(out_stream, "done    {}", p.input)?;
        } else {
            writeln!(
                out_stream,
                "send    {}: {} bytes, {} upload",
                p.input,
                p.bytes,
                if presigned(p.bytes) {
                    "pre-signed"
                } else {
                    "direct"
                }
            )?;
        }
    }
    writeln!(
        out_stream,
        "would send {} document(s): {bytes} bytes, at least {requests} request(s); {done} already done in {}{}; pages are counted by the service{}",
        send.len(),
        out.display(),
        shard.map(|s| format!(" (shard {s})")).unwrap_or_default(),
        if split_pages.is_some() {
            ", so --split-pages jobs are not counted (each part is a job)"
        } else {
            ""
        },
    )?;
    Ok(())
}
