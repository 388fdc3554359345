//! `kensho-extract report <out>`: one summary of a run that many workers share, from every
//! shard's manifest (and a run's without shards), local or in a store, read without changing
//! anything: counts, and how fast each shard goes and how long it has left. `--watch` refreshes
//! it until every shard is done.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use extract_batch::{EntryState, Manifest};
use serde::Serialize;

use crate::Failure;

/// How far back the pace looks: long enough to smooth out waves of jobs, short enough to
/// follow a change of speed (another worker joining, the service slowing).
const WINDOW_MS: u64 = 10 * 60 * 1000;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The output folder of `run`: a path, or an object-store URL (`s3://bucket/out`).
    out_dir: PathBuf,
    /// Print the report as one JSON object (with --watch: one a line, each refresh).
    #[arg(long)]
    json: bool,
    /// List at most this many failures and unknown outcomes (0: none).
    #[arg(long, value_name = "N", default_value_t = 20)]
    limit: usize,
    /// Refresh the report every SECONDS until every shard is done.
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=3600))]
    watch: Option<u64>,
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
    /// Each shard's documents, how many of them succeeded and its pace (`""`: a run without
    /// shards), to see which worker is behind.
    by_shard: BTreeMap<String, ShardCounts>,
    /// Shards of `shard-I-of-N` that have no manifest yet: not started.
    missing_shards: Vec<String>,
    /// How fast the run goes, over the last minutes.
    pace: Pace,
    /// Every shard started and every document succeeded or failed.
    done: bool,
}

/// One shard's progress.
#[derive(Debug, Default, Serialize, PartialEq)]
struct ShardCounts {
    documents: usize,
    succeeded: usize,
    /// Succeeded or failed: nothing left to do for it.
    finished: usize,
    documents_per_minute: f64,
    pages_per_minute: f64,
    /// At its pace, `null` when it has work left and did none in the window.
    seconds_left: Option<u64>,
    /// Finished in the window, and their pages; the first change seen (ms since the epoch).
    #[serde(skip)]
    recent: (usize, u64, Option<u64>),
}

/// How fast the run goes.
#[derive(Debug, Default, Serialize, PartialEq)]
struct Pace {
    /// The window the rates are measured over.
    window_seconds: u64,
    /// Documents finished a minute, all shards together.
    documents_per_minute: f64,
    /// Pages of those documents a minute.
    pages_per_minute: f64,
    /// Until the last shard is done, at each shard's pace; `null` when a shard has not started
    /// or has work left and did none in the window.
    seconds_left: Option<u64>,
    /// The shard that will finish last.
    slowest_shard: Option<String>,
}

impl Report {
    /// Adds the manifest of the shard `shard`, counting what finished in the window before
    /// `now_ms`. A time from the future (another machine's clock) counts as now.
    pub fn add(&mut self, shard: &str, manifest: &Manifest, now_ms: u64) {
        self.shards += 1;
        let mut counts = ShardCounts {
            documents: manifest.documents.len(),
            ..ShardCounts::default()
        };
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
            let changed = entry.changed_ms.map(|t| t.min(now_ms));
            if let Some(changed) = changed {
                counts.recent.2 = Some(counts.recent.2.map_or(changed, |c| c.min(changed)));
            }
            match entry.state {
                EntryState::Succeeded | EntryState::Failed => {
                    counts.finished += 1;
                    if entry.state == EntryState::Succeeded {
                        counts.succeeded += 1;
                    }
                    if changed.is_some_and(|t| now_ms - t < WINDOW_MS) {
                        counts.recent.0 += 1;
                        counts.recent.1 += u64::from(entry.pages.unwrap_or(0));
                    }
                }
                EntryState::Submitting => self.in_doubt += 1,
                _ => {}
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
        counts.pace(now_ms);
        self.by_shard.insert(shard.to_string(), counts);
    }

    /// Once every shard is added: the shards not started, the pace of all, whether it is done.
    pub fn finish(&mut self) {
        self.failures.sort();
        self.unknown.sort();
        self.missing_shards = missing_shards(self.by_shard.keys());
        let shards = &self.by_shard;
        self.pace = Pace {
            window_seconds: WINDOW_MS / 1000,
            documents_per_minute: shards.values().map(|s| s.documents_per_minute).sum(),
            pages_per_minute: shards.values().map(|s| s.pages_per_minute).sum(),
            seconds_left: if self.missing_shards.is_empty() {
                shards
                    .values()
                    .map(|s| s.seconds_left)
                    .try_fold(0, |most, left| Some(most.max(left?)))
            } else {
                None
            },
            // The one with the most left; one that has stalled is slower than any.
            slowest_shard: shards
                .iter()
                .filter(|(_, s)| s.finished < s.documents)
                .max_by_key(|(_, s)| s.seconds_left.map_or(u64::MAX, |left| left))
                .map(|(name, _)| name.clone()),
        };
        self.done = self.shards > 0
            && self.missing_shards.is_empty()
            && shards.values().all(|s| s.finished == s.documents);
    }

    fn count(&self, state: &str) -> usize {
        self.states.get(state).copied().unwrap_or(0)
    }

    /// The report as a person reads it.
    fn text(&self, limit: usize) -> String {
        let mut out = format!(
            "{} document(s) in {} shard(s): {} succeeded, {} failed, {} in flight, {} queued, {} stopped while submitting\n",
            self.documents,
            self.shards,
            self.count("succeeded"),
            self.count("failed"),
            self.count("submitted"),
            self.count("queued"),
            self.in_doubt,
        );
        out += &format!(
            "{} page(s), {} output file(s); {} submission(s) of unknown outcome\n",
            self.pages, self.outputs, self.unknown_outcomes
        );
        let pace = &self.pace;
        if !self.done {
            out += &format!(
                "pace: {:.1} documents and {:.1} pages a minute over the last {} minutes; {}",
                pace.documents_per_minute,
                pace.pages_per_minute,
                pace.window_seconds / 60,
                left(pace.seconds_left)
            );
            if let Some(slowest) = &pace.slowest_shard {
                out += &format!(" (slowest: {})", shown(slowest));
            }
            out += "\n";
        }
        if !self.missing_shards.is_empty() {
            out += &format!("not started: {}\n", self.missing_shards.join(", "));
        }
        if self.by_shard.len() > 1 {
            for (shard, counts) in &self.by_shard {
                out += &format!(
                    "  {}: {} of {} succeeded",
                    shown(shard),
                    counts.succeeded,
                    counts.documents
                );
                if counts.finished < counts.documents {
                    out += &format!(
                        "; {:.1} a minute, {}",
                        counts.documents_per_minute,
                        left(counts.seconds_left)
                    );
                }
                out += "\n";
            }
        }
        for (key, error) in self.failures.iter().take(limit) {
            out += &format!("failed   {key}: {error}\n");
        }
        for (key, count) in self.unknown.iter().take(limit) {
            out += &format!("unknown  {key}: {count} submission(s) of unknown outcome\n");
        }
        if self.failures.len() > limit || self.unknown.len() > limit {
            out += "(more: --limit N, or --json)\n";
        }
        out
    }
}

impl ShardCounts {
    /// Rates over the window, or over the time since the shard's first change when that is
    /// shorter; the time left at that rate.
    fn pace(&mut self, now_ms: u64) {
        let (done, pages, first) = self.recent;
        let span_ms = first.map_or(WINDOW_MS, |first| (now_ms - first).clamp(1000, WINDOW_MS));
        let minutes = span_ms as f64 / 60_000.0;
        self.documents_per_minute = done as f64 / minutes;
        self.pages_per_minute = pages as f64 / minutes;
        let remaining = self.documents - self.finished;
        self.seconds_left = if remaining == 0 {
            Some(0)
        } else if done == 0 {
            None
        } else {
            // `as` saturates: a rate of almost nothing is a very long time, not an overflow.
            Some((remaining as f64 * 60.0 / self.documents_per_minute).ceil() as u64)
        };
    }
}

/// Shards `shard-I-of-N` that the names found imply but that are not among them.
fn missing_shards<'a>(found: impl Iterator<Item = &'a String>) -> Vec<String> {
    let found: Vec<&String> = found.collect();
    let count = found
        .iter()
        .filter_map(|name| name.rsplit_once("-of-")?.1.parse::<u32>().ok())
        .max()
        .unwrap_or(0);
    // The names come from a store listing: a count read from one is not an allocation size.
    (0..count.min(100_000))
        .map(|i| format!("shard-{i}-of-{count}"))
        .filter(|name| !found.contains(&name))
        .collect()
}

/// A shard's name as shown: a run without shards has none.
fn shown(shard: &str) -> &str {
    if shard.is_empty() {
        "without shards"
    } else {
        shard
    }
}

/// Time left, as a person reads it.
fn left(seconds: Option<u64>) -> String {
    match seconds {
        None => "time left unknown".into(),
        Some(0) => "done".into(),
        Some(s) if s < 60 => format!("about {s}s left"),
        Some(s) if s < 3600 => format!("about {}m{:02}s left", s / 60, s % 60),
        Some(s) => format!("about {}h{:02}m left", s / 3600, (s % 3600) / 60),
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub fn run(args: ReportArgs) -> Result<(), Failure> {
    let location = crate::store::place(&args.out_dir)?;
    crate::block_on(async move {
        loop {
            let manifests = extract_batch::shard_manifests(&location).await?;
            if manifests.is_empty() {
                return Err(format!(
                    "{}: no manifest here; give the --out-dir of a run",
                    extract_batch::redact_url(&args.out_dir.display().to_string())
                )
                .into());
            }
            let mut report = Report::default();
            let now = now_ms();
            for (shard, manifest) in &manifests {
                report.add(shard, manifest, now);
            }
            report.finish();
            let mut out = std::io::stdout().lock();
            match (args.json, args.watch) {
                (true, None) => writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?,
                (true, Some(_)) => writeln!(out, "{}", serde_json::to_string(&report)?)?,
                // On a terminal each refresh replaces the last; elsewhere they follow each other.
                (false, Some(_)) if std::io::stdout().is_terminal() => {
                    write!(out, "\x1b[2J\x1b[H{}", report.text(args.limit))?
                }
                (false, Some(_)) => writeln!(out, "{}", report.text(args.limit))?,
                (false, None) => write!(out, "{}", report.text(args.limit))?,
            }
            out.flush()?;
            drop(out);
            match args.watch {
                Some(seconds) if !report.done => {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(seconds)) => {}
                        _ = tokio::signal::ctrl_c() => return Ok(()),
                    }
                }
                _ => return Ok(()),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use extract_batch::ManifestEntry;

    use super::*;

    const NOW: u64 = 1_900_000_000_000;
    const MINUTE: u64 = 60_000;

    /// A shard's manifest: `finished` documents of one page each, done at the given minutes
    /// before NOW, and `waiting` ones submitted just now.
    fn shard(finished_minutes_ago: &[u64], waiting: usize) -> Manifest {
        let mut manifest = Manifest::default();
        for (i, ago) in finished_minutes_ago.iter().enumerate() {
            let mut entry = ManifestEntry::queued("ab".into(), format!("d{i}"));
            entry.state = EntryState::Succeeded;
            entry.pages = Some(2);
            entry.changed_ms = Some(NOW - ago * MINUTE);
            manifest.documents.insert(format!("d{i}.pdf"), entry);
        }
        for i in 0..waiting {
            let mut entry = ManifestEntry::queued("ab".into(), format!("w{i}"));
            entry.state = EntryState::Submitted;
            entry.changed_ms = Some(NOW);
            manifest.documents.insert(format!("w{i}.pdf"), entry);
        }
        manifest
    }

    fn report(shards: &[(&str, Manifest)]) -> Report {
        let mut report = Report::default();
        for (name, manifest) in shards {
            report.add(name, manifest, NOW);
        }
        report.finish();
        report
    }

    #[test]
    fn the_pace_is_what_finished_in_the_last_ten_minutes() {
        // Shard 0: 10 done in the window (and 5 long before), 20 to go: 1 a minute, 20 min.
        // Shard 1: 20 done in the window (and 5 before), 10 to go: 2 a minute, 5 min.
        let fast = shard(&[[1; 10].as_slice(), &[9; 10], &[11; 5]].concat(), 10);
        let slow = shard(&[[3; 10].as_slice(), &[40; 5]].concat(), 20);
        let r = report(&[("shard-0-of-2", slow), ("shard-1-of-2", fast)]);
        let (s0, s1) = (&r.by_shard["shard-0-of-2"], &r.by_shard["shard-1-of-2"]);
        assert_eq!(
            (s0.documents_per_minute, s0.seconds_left),
            (1.0, Some(1200))
        );
        assert_eq!((s1.documents_per_minute, s1.seconds_left), (2.0, Some(300)));
        assert_eq!(s0.pages_per_minute, 2.0);
        assert_eq!(r.pace.documents_per_minute, 3.0);
        assert_eq!(r.pace.pages_per_minute, 6.0);
        assert_eq!(r.pace.seconds_left, Some(1200));
        assert_eq!(r.pace.slowest_shard.as_deref(), Some("shard-0-of-2"));
        assert!(!r.done);
        let text = r.text(20);
        assert!(
            text.contains("pace: 3.0 documents and 6.0 pages a minute over the last 10 minutes; about 20m00s left (slowest: shard-0-of-2)"),
            "{text}"
        );
        assert!(
            text.contains("  shard-1-of-2: 25 of 35 succeeded; 2.0 a minute, about 5m00s left"),
            "{text}"
        );
    }

    #[test]
    fn a_young_shard_is_measured_over_its_own_time() {
        // Started two minutes ago (its first change), six done since: 3 a minute, not 0.6.
        let young = shard(&[2, 1, 1, 1, 0, 0], 3);
        let r = report(&[("", young)]);
        assert_eq!(r.by_shard[""].documents_per_minute, 3.0);
        assert_eq!(r.pace.seconds_left, Some(60));
    }

    #[test]
    fn stalled_missing_and_done_shards() {
        // Nothing finished in the window: time left unknown, and that shard is the slowest.
        let stalled = shard(&[30, 30], 4);
        let r = report(&[("shard-0-of-3", shard(&[1], 1)), ("shard-2-of-3", stalled)]);
        assert_eq!(r.by_shard["shard-2-of-3"].seconds_left, None);
        assert_eq!(r.pace.slowest_shard.as_deref(), Some("shard-2-of-3"));
        assert_eq!(r.missing_shards, ["shard-1-of-3"]);
        assert_eq!(r.pace.seconds_left, None);
        assert!(r.text(20).contains("not started: shard-1-of-3"));
        assert!(!r.done);
        let r = report(&[
            ("shard-0-of-2", shard(&[1], 0)),
            ("shard-1-of-2", shard(&[50], 0)),
        ]);
        assert!(r.done);
        assert_eq!(
            (r.pace.seconds_left, r.pace.slowest_shard.as_deref()),
            (Some(0), None)
        );
    }

    #[test]
    fn times_from_outside_never_overflow() {
        // A clock far ahead, one at zero, a count of shards past belief in a name.
        let mut odd = shard(&[1], 1);
        for (i, t) in [u64::MAX, 0].into_iter().enumerate() {
            let mut entry = ManifestEntry::queued("ab".into(), format!("o{i}"));
            entry.state = EntryState::Succeeded;
            entry.pages = Some(u32::MAX);
            entry.changed_ms = Some(t);
            odd.documents.insert(format!("o{i}.pdf"), entry);
        }
        let r = report(&[("shard-0-of-4294967295", odd)]);
        assert!(r.pace.documents_per_minute.is_finite());
        assert_eq!(r.missing_shards.len(), 100_000 - 1);
    }
}
