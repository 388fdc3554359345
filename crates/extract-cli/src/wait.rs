//! `kensho-extract wait` and `kensho-extract run`: waiting for one job, or running a folder.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use extract_api::{Client, RetrievalMode};
use extract_batch::names::escaped;
use extract_batch::{BatchEvent, BatchOutcome, BatchRunner, Location, Shard};
use extract_poll::{JobEvent, JobHandle, PollPolicy, Poller};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::Failure;
use crate::convert::{RunFormat, renderer};
use crate::events::{EventFormat, Events, summary_json};
use crate::exit::{DEADLINE, INTERRUPTED, SERVICE_FAILED, coded};
use crate::jobs::ExtractionArgs;
use crate::settings::Settings;

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The request id `submit` printed.
    id: String,
    /// Give up after this many seconds (exit code 4; the job may still finish).
    #[arg(long, value_name = "SECONDS", default_value_t = 1800, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Write the output document here (atomically) instead of to stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Report progress as events on stdout (`jsonl`: docs/pipeline.md); needs `-o FILE`.
    #[arg(long, value_enum, value_name = "FORMAT")]
    events: Option<EventFormat>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// PDF files, and directories searched for `*.pdf`; or object-store prefixes
    /// (`s3://bucket/in`, `gs://…`, `az://…`), listed for `*.pdf`.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Where `<name>.json` (and `.md` or `.txt`) go, a folder or an object-store prefix; also
    /// holds the manifest that lets a re-run resume.
    #[arg(long, value_name = "DIR|URL")]
    out_dir: PathBuf,
    /// Run only shard I of N (from 0): the inputs whose name hashes to it. N workers, one a
    /// shard, run the batch once between them, each with its own manifest (docs/scale.md).
    #[arg(long, value_name = "I/N", value_parser = clap::value_parser!(Shard))]
    shard: Option<Shard>,
    /// How long a shard's claim on an object-store --out-dir lasts without renewal: another
    /// worker on the same shard is refused (or waits, --wait-lock) meanwhile, and one that
    /// replaces a killed worker waits at most this long.
    #[arg(long, value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(3..=3600))]
    lease: u64,
    /// What to write beside each output document.
    #[arg(long, value_enum, default_value = "json")]
    format: RunFormat,
    /// Documents in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    concurrency: u16,
    /// Give up waiting for a document after this many seconds (exit code 4; re-run to resume).
    #[arg(long, value_name = "SECONDS", default_value_t = 1800, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Replace files in the output folder that kensho-extract did not write (by default an
    /// input whose name is taken by such a file gets another name).
    #[arg(long)]
    overwrite: bool,
    /// If another run is using the output folder (or this shard of it), wait for it instead of
    /// stopping.
    #[arg(long)]
    wait_lock: bool,
    /// Also write `<name>.review.html`: every box drawn over the PDF's pages.
    #[arg(long)]
    review: bool,
    /// Report progress as events on stdout (`jsonl`: one JSON object a line, docs/pipeline.md).
    #[arg(long, value_enum, value_name = "FORMAT", conflicts_with = "json")]
    events: Option<EventFormat>,
    /// Print the summary as one JSON object on stdout (with --dry-run: the plan).
    #[arg(long)]
    json: bool,
    /// Check every input and print what would be sent (documents, pages, bytes, requests);
    /// send nothing.
    #[arg(long)]
    dry_run: bool,
    /// Send without checking files locally first (page count, --pages, encryption).
    #[arg(long)]
    no_preflight: bool,
    /// Neither read nor fill the output cache (`kensho-extract cache path`).
    #[arg(long)]
    no_cache: bool,
    /// Send a document that selects more than N pages (all, or those of --pages) as parallel
    /// jobs of at most N of those pages, and merge their outputs into one document with the
    /// file's page numbers (a failed part is sent again alone).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    split_pages: Option<u32>,
    /// Poll every job by the standard policy, without learning the batch's pace (for
    /// benchmarks).
    #[arg(long, hide = true)]
    fixed_polls: bool,
    #[command(flatten)]
    extraction: ExtractionArgs,
}

fn spinner(message: String) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Which endpoint a request id answers on: the status endpoint refuses (400) the other mode's ids.
pub async fn mode_of(client: &Client, id: &str) -> Result<RetrievalMode, Failure> {
    match client.status(id, None).await {
        Ok(_) => Ok(RetrievalMode::Inline),
        Err(e) if e.status() == Some(400) => Ok(RetrievalMode::Presigned),
        Err(e) => Err(e.into()),
    }
}

/// Waits for `job`, showing progress on stderr (a spinner on a terminal, a line per state change
/// otherwise); the output document.
pub async fn wait_for(
    client: &Client,
    job: &JobHandle,
    policy: PollPolicy,
    events: Option<&Events>,
) -> Result<extract_api::OutputDocument, Failure> {
    let poller = Poller::new(client.clone(), policy);
    // Events replace the progress lines; --quiet drops them.
    let silent = events.is_some() || crate::quiet();
    let terminal = std::io::stderr().is_terminal() && !silent;
    let bar = terminal.then(|| spinner(format!("request {}: submitted", job.request_id)));
    let mut last = String::new();
    let result = poller
        .wait_with(job, |event| {
            if let Some(events) = events {
                events.job(&event);
            }
            if silent {
                return;
            }
            let line = match event {
                JobEvent::Polled { state, polls, .. } => {
                    format!("request {}: {state} (poll {polls})", job.request_id)
                }
                JobEvent::Retrying { error, .. } => {
                    format!("request {}: retrying after: {error}", job.request_id)
                }
                _ => return,
            };
            match &bar {
                Some(bar) => bar.set_message(line),
                // Without a terminal, a line per change of state, not per poll.
                None => {
                    let state = line
                        .split(": ")
                        .nth(1)
                        .unwrap_or_default()
                        .split(" (poll")
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    if state != last {
                        eprintln!("{line}");
                        last = state;
                    }
                }
            }
        })
        .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(result?)
}

/// The `kind` of a `failed` event for a failure of `wait`.
fn failure_kind(error: &Failure) -> &'static str {
    match crate::exit::code_of(error) {
        SERVICE_FAILED => "service",
        DEADLINE => "deadline",
        _ => "error",
    }
}

pub fn wait(args: WaitArgs, settings: &Settings) -> Result<(), Failure> {
    if args.events.is_some()
        && args
            .output
            .as_deref()
            .is_none_or(|p| p == std::path::Path::new("-"))
    {
        return Err(crate::exit::coded(
            2,
            "--events writes events on stdout: give -o FILE for the output document",
        ));
    }
    let limit = Duration::from_secs(args.timeout);
    let id = args.id.clone();
    let events = args.events.map(|_| Events::default());
    let sink = events.as_ref();
    let result = crate::block_on(within(
        limit,
        &format!(
            "request {id} was not done; it may still finish: resume with `kensho-extract wait {id}`"
        ),
        async move {
            let started = tokio::time::Instant::now();
            let client = settings.client()?;
            let mode = mode_of(&client, &args.id).await?;
            let job = JobHandle::new(args.id.clone(), mode);
            // The polls get what is left of the command's deadline.
            let policy =
                PollPolicy::default().with_deadline(limit.saturating_sub(started.elapsed()));
            let document = wait_for(&client, &job, policy, sink).await?;
            crate::output::write(
                args.output.as_deref(),
                &serde_json::to_vec_pretty(&document)?,
            )?;
            if let (Some(events), Some(path)) = (sink, &args.output) {
                events.emit(
                    "written",
                    serde_json::json!({ "request_id": args.id, "path": path.display().to_string() }),
                );
                events.emit(
                    "succeeded",
                    serde_json::json!({ "request_id": args.id, "already_done": false }),
                );
            }
            Ok(())
        },
    ));
    // Whatever ended the wait (the service, the deadline, the network), the stream says so.
    if let (Err(error), Some(events)) = (&result, &events) {
        events.emit(
            "failed",
            serde_json::json!({ "request_id": id, "kind": failure_kind(error), "reason": crate::exit::describe(&**error) }),
        );
    }
    result
}

/// Runs `work` under a hard deadline: past `limit`, whatever it is waiting for, it stops and
/// the command exits 4 saying how long it waited and `what` to do.
pub async fn within<T>(
    limit: Duration,
    what: &str,
    work: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    let started = tokio::time::Instant::now();
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => Err(coded(
            DEADLINE,
            format!(
                "stopped at the --timeout deadline after {:.1}s: {what}",
                started.elapsed().as_secs_f64()
            ),
        )),
    }
}

/// What `run` shows while it works.
struct Display {
    multi: Option<MultiProgress>,
    overall: Option<ProgressBar>,
    jobs: Mutex<HashMap<PathBuf, ProgressBar>>,
}

impl Display {
    /// A display on stderr: bars on a terminal, lines elsewhere, nothing when `hidden`.
    fn new(total: u64, hidden: bool) -> Display {
        if hidden || !std::io::stderr().is_terminal() || crate::quiet() {
            return Display {
                multi: None,
                overall: None,
                jobs: Mutex::default(),
            };
        }
        let multi = MultiProgress::new();
        let overall = multi.add(ProgressBar::new(total));
        overall.set_style(
            ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} documents {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        Display {
            multi: Some(multi),
            overall: Some(overall),
            jobs: Mutex::default(),
        }
    }

    fn name(path: &std::path::Path) -> String {
        escaped(&path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ))
    }

    fn event(&self, event: BatchEvent) {
        // --quiet: only what went wrong, and renamed outputs.
        let progress = matches!(
            event,
            BatchEvent::Started { .. }
                | BatchEvent::Progress { .. }
                | BatchEvent::Resubmitting { .. }
                | BatchEvent::Finished {
                    outcome: BatchOutcome::Succeeded(_) | BatchOutcome::AlreadyDone,
                    ..
                }
        );
        if progress && crate::quiet() {
            return;
        }
        let mut jobs = self
            .jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match (&self.multi, event) {
            (
                Some(multi),
                BatchEvent::Started {
                    input,
                    request_id,
                    resumed,
                },
            ) => {
                let verb = if resumed { "resumed" } else { "submitted" };
                let bar = multi.add(spinner(format!(
                    "{}: {verb} ({request_id})",
                    Self::name(&input)
                )));
                jobs.insert(input, bar);
            }
            (
                Some(_),
                BatchEvent::Progress {
                    input,
                    state,
                    polls,
                },
            ) => {
                if let Some(bar) = jobs.get(&input) {
                    bar.set_message(format!("{}: {state} (poll {polls})", Self::name(&input)));
                }
            }
            (Some(multi), BatchEvent::Resubmitting { input, reason }) => {
                let _ = multi.println(escaped(&format!(
                    "{}: resubmitting: {reason}",
                    Self::name(&input)
                )));
            }
            (Some(multi), event @ BatchEvent::Renamed { .. }) => {
                let _ = multi.println(renamed_line(&event));
            }
            (None, event @ BatchEvent::Renamed { .. }) => eprintln!("{}", renamed_line(&event)),
            (Some(multi), BatchEvent::Finished { input, outcome }) => {
                if let Some(bar) = jobs.remove(&input) {
                    bar.finish_and_clear();
                    multi.remove(&bar);
                }
                if let Some(overall) = &self.overall {
                    overall.inc(1);
                }
                let _ = multi.println(outcome_line(&input, &outcome));
            }
            (
                None,
                BatchEvent::Started {
                    input,
                    request_id,
                    resumed,
                },
            ) => {
                eprintln!(
                    "{}: {} ({request_id})",
                    escaped(&input.display().to_string()),
                    if resumed { "resumed" } else { "submitted" }
                );
            }
            (None, BatchEvent::Resubmitting { input, reason }) => eprintln!(
                "{}",
                escaped(&format!("{}: resubmitting: {reason}", input.display()))
            ),
            (None, BatchEvent::Finished { input, outcome }) => {
                eprintln!("{}", outcome_line(&input, &outcome))
            }
            _ => {}
        }
    }

    fn finish(&self) {
        if let Some(overall) = &self.overall {
            overall.finish_and_clear();
        }
    }
}

/// A renamed output, as a line a person reads: names from outside escaped.
fn renamed_line(event: &BatchEvent) -> String {
    escaped(&match event {
        BatchEvent::Renamed { input, kept, name } => format!(
            "{}: {} was not written by kensho-extract and is left alone; writing {name}.* instead (--overwrite replaces it)",
            input.display(),
            kept.display()
        ),
        _ => String::new(),
    })
}

/// A document's outcome, as a line a person reads: names and reasons from outside escaped.
fn outcome_line(input: &std::path::Path, outcome: &BatchOutcome) -> String {
    escaped(&match outcome {
        BatchOutcome::Succeeded(files) => format!(
            "{}: done → {}",
            input.display(),
            files
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        BatchOutcome::AlreadyDone => format!("{}: already done", input.display()),
        BatchOutcome::Failed(error) => {
            format!("{}: failed on the service side: {error}", input.display())
        }
        BatchOutcome::TimedOut(id) => format!(
            "{}: not done in time; resume with `kensho-extract wait {id}` or run again",
            input.display()
        ),
        BatchOutcome::ConversionFailed { written, error } => format!(
            "{}: output written ({}), but its conversion failed: {error}",
            input.display(),
            written
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        BatchOutcome::Error(error) => format!(
            "{}: error: {}",
            input.display(),
            crate::exit::describe(&**error)
        ),
        _ => format!("{}: {outcome:?}", input.display()),
    })
}

/// Where a run records its jobs, as shown to a person.
fn manifest_shown(args: &RunArgs) -> String {
    match crate::store::location(&args.out_dir) {
        Ok(out) => extract_batch::manifest_shown(&out, args.shard),
        // The run itself reports a location it cannot use.
        Err(_) => extract_batch::redact_url(&args.out_dir.display().to_string()),
    }
}

pub fn run(args: RunArgs, settings: &Settings) -> Result<(), Failure> {
    let limit = Duration::from_secs(args.timeout);
    let what = format!(
        "submitted jobs are recorded in {}: run the same command again to resume them",
        manifest_shown(&args)
    );
    // Documents reach their own deadline at the command's, and report it; a second of grace
    // lets them, then the whole command stops.
    crate::block_on(within(
        limit + Duration::from_secs(1),
        &what,
        run_batch(args, settings, limit),
    ))
}

async fn run_batch(args: RunArgs, settings: &Settings, limit: Duration) -> Result<(), Failure> {
    let pages = crate::preflight::selection(args.extraction.pages())?;
    let out = crate::store::location(&args.out_dir)?;
    let mut stores = Vec::new();
    let mut local = Vec::new();
    for path in &args.paths {
        match crate::store::location(path)? {
            Location::Local(path) => local.push(path),
            store => stores.push(store),
        }
    }
    let remote = !stores.is_empty() || matches!(out, Location::Store(_));
    if args.review && !stores.is_empty() {
        return Err(coded(
            2,
            "--review draws the PDF's pages and reads local files; run it on a local copy of the inputs",
        ));
    }
    if args.dry_run && (remote || args.shard.is_some()) {
        let mut inputs: Vec<Location> = local.iter().cloned().map(Location::Local).collect();
        inputs.extend(stores.iter().cloned());
        return crate::preflight::plan_dry_run(
            &inputs,
            &out,
            args.shard,
            args.split_pages,
            args.json,
        )
        .await;
    }
    // This shard's local files: the ones preflight checks.
    let files: Vec<PathBuf> = extract_batch::expand(&local)?
        .into_iter()
        .filter(|f| {
            args.shard
                .is_none_or(|s| s.contains(&extract_batch::input_key(f)))
        })
        .collect();
    // The cache answers only runs against the same service, for the same account.
    let (settings, cache) = if args.no_cache {
        (settings.clone(), None)
    } else {
        let (settings, scope) = crate::cache::scope(settings)?;
        match scope {
            Ok(scope) => (
                settings,
                Some((extract_batch::OutputCache::new(crate::cache::dir()?), scope)),
            ),
            Err(why) => {
                if !crate::quiet() {
                    eprintln!("the output cache is not used: {why} (--no-cache says so quietly)");
                }
                (settings, None)
            }
        }
    };
    let concurrency = usize::from(args.concurrency);
    // Every input is checked before anything is sent: a doomed one costs nothing.
    let checked = if args.no_preflight {
        Vec::new()
    } else {
        crate::preflight::check_all(files.clone(), pages.as_ref(), concurrency).await
    };
    if args.dry_run {
        return crate::preflight::dry_run(
            &checked,
            &args.out_dir,
            cache.as_ref().map(|(cache, scope)| (cache, scope)),
            &args.extraction.options(),
            args.split_pages,
            args.json,
        )
        .await;
    }
    let events = args.events.map(|_| Arc::new(Events::default()));
    // The page counts preflight read: pace learning and page splitting do not read them again.
    let known_pages: Vec<(String, u32)> = checked
        .iter()
        .filter_map(|c| {
            let pages = c.result.as_ref().ok()?.pages;
            Some((extract_batch::input_key(&c.file), pages))
        })
        .collect();
    let refused: Vec<(PathBuf, String)> = checked
        .into_iter()
        .filter_map(|item| item.result.err().map(|reason| (item.file, reason)))
        .collect();
    for (file, reason) in &refused {
        match &events {
            Some(events) => events.emit(
                "failed",
                serde_json::json!({ "input": file.display().to_string(), "request_id": null, "kind": "preflight", "reason": reason }),
            ),
            None => eprintln!("{reason} (not sent)"),
        }
    }
    let client = settings.client()?;
    let total = (files.len() - refused.len()) as u64;
    let display = Arc::new(Display::new(total, events.is_some()));
    let sink = display.clone();
    let event_sink = events.clone();
    let mut runner = BatchRunner::new(client, out)
        .options(args.extraction.options())
        .policy(PollPolicy::default().with_deadline(limit))
        .concurrency(concurrency)
        .overwrite(args.overwrite)
        .wait_for_lock(args.wait_lock)
        .on_event(move |event| match &event_sink {
            Some(events) => events.batch(event),
            None => sink.event(event),
        });
    if let Some((cache, scope)) = cache {
        runner = runner.cache(cache, scope);
    }
    if let Some(shard) = args.shard {
        runner = runner.shard(shard);
    }
    runner = runner.lease(Duration::from_secs(args.lease));
    // Only the test that shows the duplicates fencing prevents turns it off, and only in a
    // debug build: a release binary ignores the variable.
    if cfg!(debug_assertions) && std::env::var_os("KENSHO_EXTRACT_TEST_UNFENCED").is_some() {
        runner = runner.unfenced_for_tests();
    }
    runner = runner.skip_inputs(refused.iter().map(|(f, _)| extract_batch::input_key(f)));
    // The page counts preflight read: pace learning and page splitting do not read them again.
    runner = runner.known_pages(known_pages);
    if let Some(pages) = args.split_pages {
        runner = runner.split_pages(pages);
    }
    if args.fixed_polls {
        runner = runner.learn_pace(false);
    }
    if let Some((extension, render)) = renderer(args.format) {
        runner = runner.render(extension, render);
    }
    if args.review {
        runner = runner.render_from("review.html", crate::review::renderer());
    }
    // The paths as given (their folders name mirrored outputs), less what preflight refused;
    // the stores' inputs are listed by the runner, streamed.
    let mut inputs: Vec<Location> = local.into_iter().map(Location::Local).collect();
    inputs.extend(stores);
    let result = tokio::select! {
        result = runner.run_from(&inputs) => result,
        _ = tokio::signal::ctrl_c() => {
            display.finish();
            return Err(coded(INTERRUPTED, format!(
                "interrupted; submitted jobs are recorded in {}: run the same command again to resume them",
                manifest_shown(&args)
            )));
        }
    };
    display.finish();
    let summary = match result {
        Ok(report) => report.summary,
        // Its own exit code: the shard is another worker's now; or the credentials were
        // refused, and the run stopped sending.
        Err(e)
            if e.get_ref().is_some_and(|e| {
                e.is::<extract_batch::LeaseLost>() || e.is::<extract_batch::CredentialsRefused>()
            }) =>
        {
            return Err(Box::new(e));
        }
        // As text: an I/O error of the run is not stdout closed (see `exit::is_closed_pipe`).
        Err(e) => return Err(crate::exit::describe(&e).into()),
    };
    if let Some(events) = &events {
        events.summary(&summary, refused.len());
    } else if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary_json(&summary, refused.len()))?
        );
    }
    let mut line = format!(
        "{} succeeded, {} already done, {} resumed, {} failed, {} timed out, {} errors",
        summary.succeeded,
        summary.already_done,
        summary.resumed,
        summary.failed,
        summary.timed_out.len(),
        summary.errors
    );
    if summary.conversion_failed > 0 {
        line.push_str(&format!(
            ", {} conversion(s) failed (their JSON is written)",
            summary.conversion_failed
        ));
    }
    if summary.from_cache > 0 {
        line.push_str(&format!(
            "; {} from the output cache without a request",
            summary.from_cache
        ));
    }
    if !refused.is_empty() {
        line.push_str(&format!(
            "; {} refused by preflight (not sent)",
            refused.len()
        ));
    }
    if summary.completed_without_submission > 0 {
        line.push_str(&format!(
            "; {} completed from stored outputs without a new submission",
            summary.completed_without_submission
        ));
    }
    if summary.resubmitted_after_unknown_outcome > 0 {
        line.push_str(&format!(
                "; {} submission(s) had an unknown outcome and were sent again (see the manifest: the service may hold extra jobs for them)",
                summary.resubmitted_after_unknown_outcome
            ));
    }
    if events.is_none() && !args.json && !crate::quiet() {
        eprintln!("{line}");
    }
    let errors = summary.errors + summary.conversion_failed + refused.len();
    if errors > 0 {
        return Err(format!("{errors} document(s) met an error (listed above)").into());
    }
    if summary.failed > 0 {
        return Err(coded(
            SERVICE_FAILED,
            format!("{} document(s) failed on the service side", summary.failed),
        ));
    }
    if !summary.timed_out.is_empty() {
        return Err(coded(
            DEADLINE,
            format!(
                "{} document(s) not done in time; resume with `kensho-extract wait ID` for: {}",
                summary.timed_out.len(),
                summary.timed_out.join(" ")
            ),
        ));
    }
    Ok(())
}
