//! `kensho-extract report <out>`: one summary of a run that many workers share, from every
//! shard's manifest (and a run's without shards), local or in a store, read without changing
//! anything.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use extract_batch::{EntryState, Manifest};
use serde::Serialize;

use crate::Failure;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The output folder of `run`: a path, or an object-store URL (`s3://bucket/out`).
    out_dir: PathBuf,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
    /// List at most this many failures and unknown outcomes (0: none).
    #[arg(long, value_name = "N", default_value_t = 20)]
    limit: usize,
}

/// The merged counts of every shard.
#[derive(Debug, Default, Serialize, PartialEq)]
pub struct Report {
    /// Shards found (a run without shards counts as one).
    shards: usize,
    /// Inputs recorded.
    documents: usize,
    /// By state: queued, submitting, submitted, succeeded, failed.
    states: BTreeMap<String, usize>,
    /// Submissions whose outcome was unknown (the service may hold a job for each).
    unknown_outcomes: usize,
    /// Inputs stopped while submitting: a re-run sends them again.
    in_doubt: usize,
    /// Output files written.
    outputs: usize,
    /// Pages with content in the documents written.
    pages: u64,
    /// Failed inputs: key and the service's error.
    failures: Vec<(String, String)>,
    /// Inputs with unknown outcomes: key and how many.
    unknown: Vec<(String, usize)>,
    /// Each shard's documents and how many of them succeeded (`""`: a run without shards), to
    /// see which worker is behind.
    by_shard: BTreeMap<String, ShardCounts>,
}

/// One shard's progress.
#[derive(Debug, Default, Serialize, PartialEq)]
struct ShardCounts {
    documents: usize,
    succeeded: usize,
}

impl Report {
    /// Adds the manifest of the shard `shard`.
    pub fn add(&mut self, shard: &str, manifest: &Manifest) {
        self.shards += 1;
        let counts = ShardCounts {
            documents: manifest.documents.len(),
            succeeded: manifest
                .documents
                .values()
                .filter(|e| e.state == EntryState::Succeeded)
                .count(),
        };
        self.by_shard.insert(shard.to_string(), counts);
        for (key, entry) in &manifest.documents {
            self.documents += 1;
            let state = serde_json::to_value(entry.state)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_else(|| format!("{:?}", entry.state));
            *self.states.entry(state).or_default() += 1;
            self.outputs += entry.outputs.len();
            self.pages += u64::from(entry.pages.unwrap_or(0));
            self.unknown_outcomes += entry.unknown_outcomes.len();
            if entry.state == EntryState::Submitting {
                self.in_doubt += 1;
            }
            if entry.state == EntryState::Failed {
                self.failures
                    .push((key.clone(), entry.error.clone().unwrap_or_default()));
            }
            if !entry.unknown_outcomes.is_empty() {
                self.unknown
                    .push((key.clone(), entry.unknown_outcomes.len()));
            }
        }
    }

    fn count(&self, state: &str) -> usize {
        self.states.get(state).copied().unwrap_or(0)
    }
}

pub fn run(args: ReportArgs) -> Result<(), Failure> {
    let location = crate::store::location(&args.out_dir)?;
    let manifests =
        crate::block_on(async move { Ok(extract_batch::shard_manifests(&location).await?) })?;
    if manifests.is_empty() {
        return Err(format!(
            "{}: no manifest here; give the --out-dir of a run",
            extract_batch::redact_url(&args.out_dir.display().to_string())
        )
        .into());
    }
    let mut report = Report::default();
    for (shard, manifest) in &manifests {
        report.add(shard, manifest);
    }
    report.failures.sort();
    report.unknown.sort();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    println!(
        "{} document(s) in {} shard(s): {} succeeded, {} failed, {} in flight, {} queued, {} stopped while submitting",
        report.documents,
        report.shards,
        report.count("succeeded"),
        report.count("failed"),
        report.count("submitted"),
        report.count("queued"),
        report.in_doubt,
    );
    println!(
        "{} page(s), {} output file(s); {} submission(s) of unknown outcome",
        report.pages, report.outputs, report.unknown_outcomes
    );
    if report.by_shard.len() > 1 {
        for (shard, counts) in &report.by_shard {
            let shard = if shard.is_empty() {
                "without shards"
            } else {
                shard
            };
            println!(
                "  {shard}: {} of {} succeeded",
                counts.succeeded, counts.documents
            );
        }
    }
    for (key, error) in report.failures.iter().take(args.limit) {
        println!("failed   {key}: {error}");
    }
    for (key, count) in report.unknown.iter().take(args.limit) {
        println!("unknown  {key}: {count} submission(s) of unknown outcome");
    }
    if report.failures.len() > args.limit || report.unknown.len() > args.limit {
        println!("(more: --limit N, or --json)");
    }
    Ok(())
}
