//! `kensho-extract run`: extract files, folders and object-store prefixes into an output folder
//! or prefix, resuming where a previous run stopped; a shard of the batch when told.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use extract_batch::{
    BatchRunner, BatchSummary, CacheScope, OutputCache, Place, ScheduledShard, Shard,
};
use extract_poll::PollPolicy;

use crate::Failure;
use crate::commands::convert::{RunFormat, renderer};
use crate::deadline::within;
use crate::events::{EventFormat, Events, summary_json};
use crate::exit::{DEADLINE, INTERRUPTED, SERVICE_FAILED, coded};
use crate::extraction::ExtractionArgs;
use crate::progress::Display;
use crate::settings::Settings;

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
    /// `auto`: the shard the batch scheduler gave this task (a Slurm array, a Kubernetes
    /// Indexed Job, an AWS Batch array job).
    #[arg(long, value_name = "I/N|auto", value_parser = shard_arg)]
    shard: Option<ShardArg>,
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

/// `--shard`: a shard given, or `auto` for the scheduler's.
#[derive(Debug, Clone, Copy)]
pub enum ShardArg {
    /// `I/N`.
    Given(Shard),
    /// `auto`: read from the scheduler's variables when the command starts.
    Auto,
}

fn shard_arg(text: &str) -> Result<ShardArg, String> {
    if text.trim().eq_ignore_ascii_case("auto") {
        return Ok(ShardArg::Auto);
    }
    text.parse()
        .map(ShardArg::Given)
        .map_err(|e| format!("{e}, or auto"))
}

/// The shard this run is: the one given, or the scheduler's (said on stderr, so a task's log
/// shows which it ran and why).
fn shard_of(arg: Option<ShardArg>) -> Result<Option<Shard>, Failure> {
    match arg {
        None => Ok(None),
        Some(ShardArg::Given(shard)) => Ok(Some(shard)),
        Some(ShardArg::Auto) => {
            let found = ScheduledShard::from_env()
                .map_err(|e| coded(2, format!("--shard auto: {}", extract_api::Chain(&e))))?;
            if !crate::quiet() {
                eprintln!(
                    "shard {} from {} ({})",
                    found.shard,
                    found.scheduler,
                    found.read.join(", ")
                );
            }
            Ok(Some(found.shard))
        }
    }
}

/// Where a run records its jobs, as shown to a person.
fn manifest_shown(out_dir: &std::path::Path, shard: Option<Shard>) -> String {
    match crate::store::place(out_dir) {
        Ok(out) => extract_batch::manifest_shown(&out, shard),
        // The run itself reports a location it cannot use.
        Err(_) => extract_batch::redact_url(&out_dir.display().to_string()),
    }
}

pub fn run(args: RunArgs, settings: &Settings) -> Result<(), Failure> {
    let shard = shard_of(args.shard)?;
    let limit = Duration::from_secs(args.timeout);
    let what = format!(
        "submitted jobs are recorded in {}: run the same command again to resume them",
        manifest_shown(&args.out_dir, shard)
    );
    // Documents reach their own deadline at the command's, and report it; a second of grace
    // lets them, then the whole command stops.
    crate::block_on(within(
        limit + Duration::from_secs(1),
        &what,
        run_batch(args, shard, settings, limit),
    ))
}

async fn run_batch(
    args: RunArgs,
    shard: Option<Shard>,
    settings: &Settings,
    limit: Duration,
) -> Result<(), Failure> {
    let pages = crate::preflight::selection(args.extraction.pages())?;
    let out = crate::store::place(&args.out_dir)?;
    let (local, stores) = inputs_of(&args.paths)?;
    let remote = !stores.is_empty() || matches!(out, Place::Store(_));
    if args.review && !stores.is_empty() {
        return Err(coded(
            2,
            "--review draws the PDF's pages and reads local files; run it on a local copy of the inputs",
        ));
    }
    if args.dry_run && (remote || shard.is_some()) {
        let inputs = all_inputs(&local, &stores);
        return crate::preflight::plan_dry_run(&inputs, &out, shard, args.split_pages, args.json)
            .await;
    }
    // This shard's local files: the ones preflight checks.
    let files: Vec<PathBuf> = extract_batch::expand(&local)?
        .into_iter()
        .filter(|f| shard.is_none_or(|s| s.contains(&extract_batch::input_key(f))))
        .collect();
    let (settings, cache) = cache_for(settings, args.no_cache)?;
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
    let checked = Checked::from(checked);
    checked.report_refused(events.as_deref());
    let display = Arc::new(Display::new(
        (files.len() - checked.refused.len()) as u64,
        events.is_some(),
    ));
    let runner = runner_for(
        &args,
        settings.client()?,
        out,
        shard,
        limit,
        cache,
        &checked,
    )
    .on_event({
        let (display, events) = (display.clone(), events.clone());
        move |event| match &events {
            Some(events) => events.batch(event),
            None => display.event(event),
        }
    });
    // The paths as given (their folders name mirrored outputs), less what preflight refused;
    // the stores' inputs are listed by the runner, streamed.
    let inputs = all_inputs(&local, &stores);
    let result = tokio::select! {
        result = runner.run_from(&inputs) => result,
        _ = tokio::signal::ctrl_c() => {
            display.finish();
            return Err(coded(INTERRUPTED, format!(
                "interrupted; submitted jobs are recorded in {}: run the same command again to resume them",
                manifest_shown(&args.out_dir, shard)
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
    let refused = checked.refused.len();
    if let Some(events) = &events {
        events.summary(&summary, refused);
    } else if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary_json(&summary, refused))?
        );
    } else if !crate::quiet() {
        eprintln!("{}", summary_line(&summary, refused));
    }
    outcome(&summary, refused)
}

/// The paths given, split into local paths and object-store prefixes.
fn inputs_of(paths: &[PathBuf]) -> Result<(Vec<PathBuf>, Vec<Place>), Failure> {
    let mut stores = Vec::new();
    let mut local = Vec::new();
    for path in paths {
        match crate::store::place(path)? {
            Place::Local(path) => local.push(path),
            store => stores.push(store),
        }
    }
    Ok((local, stores))
}

fn all_inputs(local: &[PathBuf], stores: &[Place]) -> Vec<Place> {
    let mut inputs: Vec<Place> = local.iter().cloned().map(Place::Local).collect();
    inputs.extend(stores.iter().cloned());
    inputs
}

/// The output cache for this run, unless `--no-cache`: it answers only runs against the same
/// service, for the same account, so the settings may gain the token that names the account.
fn cache_for(
    settings: &Settings,
    no_cache: bool,
) -> Result<(Settings, Option<(OutputCache, CacheScope)>), Failure> {
    if no_cache {
        return Ok((settings.clone(), None));
    }
    let (settings, scope) = crate::commands::cache::scope(settings)?;
    match scope {
        Ok(scope) => Ok((
            settings,
            Some((OutputCache::new(crate::commands::cache::dir()?), scope)),
        )),
        Err(why) => {
            if !crate::quiet() {
                eprintln!("the output cache is not used: {why} (--no-cache says so quietly)");
            }
            Ok((settings, None))
        }
    }
}

/// What preflight found: page counts to pass on, and files it refused.
struct Checked {
    /// The page counts preflight read: pace learning and page splitting do not read them again.
    pages: Vec<(String, u32)>,
    refused: Vec<(PathBuf, String)>,
}

impl From<Vec<crate::preflight::Checked>> for Checked {
    fn from(checked: Vec<crate::preflight::Checked>) -> Checked {
        let pages = checked
            .iter()
            .filter_map(|c| {
                let pages = c.result.as_ref().ok()?.pages;
                Some((extract_batch::input_key(&c.file), pages))
            })
            .collect();
        let refused = checked
            .into_iter()
            .filter_map(|item| item.result.err().map(|reason| (item.file, reason)))
            .collect();
        Checked { pages, refused }
    }
}

impl Checked {
    /// Each refused file, as an event or a line: it is not sent.
    fn report_refused(&self, events: Option<&Events>) {
        for (file, reason) in &self.refused {
            match events {
                Some(events) => events.emit(
                    "failed",
                    serde_json::json!({ "input": file.display().to_string(), "request_id": null, "kind": "preflight", "reason": reason }),
                ),
                None => eprintln!("{reason} (not sent)"),
            }
        }
    }
}

/// The batch runner as the flags ask for it.
fn runner_for(
    args: &RunArgs,
    client: extract_api::Client,
    out: Place,
    shard: Option<Shard>,
    limit: Duration,
    cache: Option<(OutputCache, CacheScope)>,
    checked: &Checked,
) -> BatchRunner<extract_api::Client> {
    let mut runner = BatchRunner::new(client, out)
        .options(args.extraction.options())
        .policy(PollPolicy::default().with_deadline(limit))
        .concurrency(usize::from(args.concurrency))
        .overwrite(args.overwrite)
        .wait_for_lock(args.wait_lock)
        .lease(Duration::from_secs(args.lease))
        .skip_inputs(
            checked
                .refused
                .iter()
                .map(|(f, _)| extract_batch::input_key(f)),
        )
        .known_pages(checked.pages.clone());
    if let Some((cache, scope)) = cache {
        runner = runner.cache(cache, scope);
    }
    if let Some(shard) = shard {
        runner = runner.shard(shard);
    }
    // Only the test that shows the duplicates fencing prevents turns it off, and only in a
    // debug build: a release binary ignores the variable.
    if cfg!(debug_assertions) && std::env::var_os("KENSHO_EXTRACT_TEST_UNFENCED").is_some() {
        runner = runner.unfenced_for_tests();
    }
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
        runner = runner.render_from("review.html", crate::commands::review::renderer());
    }
    runner
}

/// The run's summary as the one line a person reads.
fn summary_line(summary: &BatchSummary, refused: usize) -> String {
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
    if refused > 0 {
        line.push_str(&format!("; {refused} refused by preflight (not sent)"));
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
    line
}

/// The command's result: errors first (exit 1), then service failures (3), then deadlines (4).
fn outcome(summary: &BatchSummary, refused: usize) -> Result<(), Failure> {
    let errors = summary.errors + summary.conversion_failed + refused;
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
