//! Everything the emulator remembers: clients, tokens, jobs, statistics.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use extract_keys::PublicKey;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use uuid::Uuid;

use crate::EmulatorConfig;
use crate::clock::Clock;
use crate::faults::Injector;
use crate::jwt::Signer;
use crate::pdf::Page;

/// How a job's output is retrieved, fixed when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Created without `output_format`: poll `GET /v3/extractions/{id}`.
    Inline,
    /// Created with `output_format`: poll `download-url`, then fetch the file.
    Presigned,
}

/// The options a job was created with.
#[derive(Debug, Clone)]
pub(crate) struct JobOptions {
    pub document_type: String,
    pub output_format: Option<String>,
    /// 1-based page selection, in the order given; all pages when `None`.
    pub pages: Option<Vec<u32>>,
    pub absolute_page_numbers: bool,
    pub document_id: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) enum Phase {
    AwaitingUpload,
    AwaitingUploadComplete,
    Processing { ready_at: Instant },
}

/// One extraction request.
#[derive(Debug)]
pub(crate) struct Job {
    pub mode: Mode,
    pub options: JobOptions,
    pub phase: Phase,
    /// The document's pages, or why it failed; set when processing has run.
    pub outcome: Option<Result<Vec<Page>, String>>,
    pub document: PathBuf,
}

impl Job {
    /// The status string the service would report now.
    pub(crate) fn status(&self) -> &'static str {
        match &self.phase {
            Phase::AwaitingUpload => "awaiting_document_upload",
            Phase::AwaitingUploadComplete => "awaiting_document_upload_complete_notification",
            Phase::Processing { ready_at } if Instant::now() < *ready_at => "pending",
            Phase::Processing { .. } => match &self.outcome {
                Some(Ok(_)) => "success",
                Some(Err(_)) => "failed",
                None => "pending",
            },
        }
    }

    /// The output document for the selected pages, in `format`, once the job succeeded.
    pub(crate) fn output(&self, format: &str) -> Option<serde_json::Value> {
        if self.status() != "success" {
            return None;
        }
        let Some(Ok(pages)) = &self.outcome else {
            return None;
        };
        let selected: Vec<(u32, &Page)> = match &self.options.pages {
            None => pages
                .iter()
                .enumerate()
                .map(|(i, p)| (i as u32, p))
                .collect(),
            Some(numbers) => numbers
                .iter()
                .enumerate()
                .filter_map(|(i, n)| {
                    let page = pages.get(*n as usize - 1)?;
                    let shown = if self.options.absolute_page_numbers {
                        n - 1
                    } else {
                        i as u32
                    };
                    Some((shown, page))
                })
                .collect(),
        };
        Some(crate::output::render(
            &selected,
            &self.options.document_type,
            format,
        ))
    }

    /// The `error` text of a failed job.
    pub(crate) fn error(&self) -> Option<&str> {
        match (&self.outcome, self.status()) {
            (Some(Err(e)), "failed") => Some(e),
            _ => None,
        }
    }

    pub(crate) fn metadata(&self) -> serde_json::Value {
        let pages = match &self.outcome {
            Some(Ok(pages)) => self.options.pages.as_ref().map_or(pages.len(), Vec::len),
            _ => 0,
        };
        serde_json::json!({
            "document_id": self.options.document_id,
            "document_type": self.options.document_type,
            "num_pages": pages,
        })
    }
}

/// Counters that tests and the demo read, at `GET /_emulator/stats` or [`crate::RunningEmulator::stats`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Stats {
    /// Access tokens issued for client assertions.
    pub token_exchanges: u64,
    /// Token requests refused (any reason).
    pub token_rejections: u64,
    /// Access tokens issued for refresh tokens.
    pub refresh_exchanges: u64,
    /// Jobs created by `POST /v3/extractions`.
    pub submissions: u64,
    /// Jobs created by `POST /v3/extractions/upload-url`.
    pub upload_urls: u64,
    /// Documents received by pre-signed upload.
    pub uploads: u64,
    /// `PUT /v3/extractions/upload-complete` calls accepted.
    pub upload_completions: u64,
    /// Output documents served from pre-signed download URLs.
    pub downloads: u64,
    /// Status polls (either endpoint) per request id.
    pub polls: BTreeMap<String, u64>,
    /// `/v3/` requests answered 429 by the rate limit (`EmulatorConfig::rate_limit`).
    pub rate_limited: u64,
    /// `/v3/` requests let through the rate limit.
    pub api_requests: u64,
    /// Faults injected, by kind.
    pub faults: BTreeMap<String, u64>,
    /// API requests refused with 401.
    pub unauthorized: u64,
}

/// One request as the emulator saw it: for tests that check what crossed the wire.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LoggedRequest {
    /// The HTTP method.
    pub method: String,
    /// The path and query exactly as sent.
    pub uri: String,
    /// The answer's status; `None` when the connection was dropped on purpose.
    pub status: Option<u16>,
    /// The fault injected into this request, if any.
    pub fault: Option<String>,
}

/// The emulator's shared state.
#[derive(Debug)]
pub(crate) struct State {
    pub config: EmulatorConfig,
    pub base_url: String,
    pub clock: Clock,
    pub signer: Signer,
    pub storage_key: ring::hmac::Key,
    pub documents: PathBuf,
    pub clients: Mutex<HashMap<String, PublicKey>>,
    pub refresh_tokens: Mutex<HashSet<String>>,
    /// `jti` values already used, with the `exp` after which they may be forgotten.
    pub seen_jti: Mutex<HashMap<String, i64>>,
    /// Uses of each access token (by its `jti`), with its `exp`: for `revoke-after`.
    pub token_uses: Mutex<HashMap<String, (u64, i64)>>,
    pub jobs: Mutex<HashMap<Uuid, Job>>,
    pub stats: Mutex<Stats>,
    pub log: Mutex<RequestLog>,
    pub faults: Mutex<Injector>,
    /// Jobs still to fail on purpose (`EmulatorConfig::failing_jobs`).
    pub failures_left: std::sync::atomic::AtomicU32,
    /// The `/v3/` rate limit's bucket: tokens, and when it was last filled.
    pub bucket: Mutex<(f64, std::time::Instant)>,
}

impl State {
    /// Whether a `/v3/` request may be answered now under `EmulatorConfig::rate_limit`.
    pub(crate) fn within_rate(&self) -> bool {
        let Some(rate) = self.config.rate_limit.filter(|r| *r > 0.0) else {
            return true;
        };
        let mut bucket = self
            .bucket
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = std::time::Instant::now();
        let elapsed = now.duration_since(bucket.1).as_secs_f64();
        bucket.0 = (bucket.0 + elapsed * rate).min(rate.max(1.0));
        bucket.1 = now;
        if bucket.0 >= 1.0 {
            bucket.0 -= 1.0;
            true
        } else {
            false
        }
    }

    /// Counts one use of the access token `jti` (expiring at `exp`); its uses so far,
    /// this one included.
    pub(crate) fn use_token(&self, jti: &str, exp: i64) -> u64 {
        let mut uses = lock(&self.token_uses);
        if uses.len() >= 4096 && !uses.contains_key(jti) {
            // Forget expired tokens, so a long run's memory stays flat.
            let now = self.clock.now_unix() as i64;
            uses.retain(|_, (_, expires)| *expires > now);
        }
        let entry = uses.entry(jti.to_string()).or_insert((0, exp));
        entry.0 = entry.0.saturating_add(1);
        entry.0
    }

    /// Whether the job being created is one of those told to fail.
    pub(crate) fn take_failure(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.failures_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// Locks a mutex, carrying on if a panicking thread poisoned it (the data is plain state).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl State {
    pub(crate) fn token_url(&self) -> String {
        format!("{}/oauth2/default/v1/token", self.base_url)
    }

    /// Registers a client's public key and returns its client id: `0oa` and the start of the
    /// key's thumbprint, so the same key gets the same id in every run.
    pub(crate) fn register_client(&self, key: PublicKey) -> std::io::Result<String> {
        let client_id = format!("0oa{}", &key.thumbprint()[..17]);
        if let Some(dir) = &self.config.state_dir {
            let clients = dir.join("clients");
            std::fs::create_dir_all(&clients)?;
            std::fs::write(clients.join(format!("{client_id}.pem")), key.to_spki_pem())?;
        }
        lock(&self.clients).insert(client_id.clone(), key);
        Ok(client_id)
    }

    pub(crate) fn add_refresh_token(&self, token: &str) -> std::io::Result<()> {
        if lock(&self.refresh_tokens).insert(token.to_string())
            && let Some(dir) = &self.config.state_dir
        {
            std::fs::create_dir_all(dir)?;
            let all: Vec<String> = lock(&self.refresh_tokens).iter().cloned().collect();
            std::fs::write(dir.join("refresh-tokens"), all.join("\n") + "\n")?;
        }
        Ok(())
    }

    /// Loads the clients and refresh tokens a state directory holds.
    pub(crate) fn load_state_dir(&self, dir: &Path) -> std::io::Result<()> {
        if let Ok(entries) = std::fs::read_dir(dir.join("clients")) {
            for entry in entries {
                let path = entry?.path();
                let Some(id) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
                    continue;
                };
                match PublicKey::load(&path) {
                    Ok(key) => {
                        lock(&self.clients).insert(id, key);
                    }
                    Err(e) => tracing::warn!("skipping client key: {e}"),
                }
            }
        }
        if let Ok(text) = std::fs::read_to_string(dir.join("refresh-tokens")) {
            lock(&self.refresh_tokens).extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from),
            );
        }
        Ok(())
    }

    pub(crate) fn count(&self, update: impl FnOnce(&mut Stats)) {
        update(&mut lock(&self.stats));
    }
}

/// The newest [`RequestLog::CAPACITY`] requests: a long run (a benchmark of 20,000 documents)
/// keeps the emulator's memory flat. Entries are numbered from the first request ever, so a
/// request's number stays valid while it is being answered.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    entries: std::collections::VecDeque<LoggedRequest>,
    dropped: usize,
}

impl RequestLog {
    /// How many requests are kept.
    pub(crate) const CAPACITY: usize = 10_000;

    /// Adds a request; its number.
    pub(crate) fn push(&mut self, entry: LoggedRequest) -> usize {
        if self.entries.len() == Self::CAPACITY {
            self.entries.pop_front();
            self.dropped += 1;
        }
        self.entries.push_back(entry);
        self.dropped + self.entries.len() - 1
    }

    /// The request numbered `index`, if still kept.
    pub(crate) fn get_mut(&mut self, index: usize) -> Option<&mut LoggedRequest> {
        let position = index.checked_sub(self.dropped)?;
        self.entries.get_mut(position)
    }

    /// The kept requests, oldest first.
    pub(crate) fn to_vec(&self) -> Vec<LoggedRequest> {
        self.entries.iter().cloned().collect()
    }
}

#[cfg(test)]
mod log_tests {
    use super::*;

    fn request(n: usize) -> LoggedRequest {
        LoggedRequest {
            method: "GET".into(),
            uri: format!("/{n}"),
            status: None,
            fault: None,
        }
    }

    #[test]
    fn the_log_keeps_the_newest_requests_and_their_numbers() {
        let mut log = RequestLog::default();
        let total = RequestLog::CAPACITY + 5;
        for n in 0..total {
            assert_eq!(log.push(request(n)), n);
        }
        let kept = log.to_vec();
        assert_eq!(kept.len(), RequestLog::CAPACITY);
        assert_eq!(kept[0].uri, "/5");
        assert!(log.get_mut(4).is_none(), "dropped");
        let last = log.get_mut(total - 1).expect("kept");
        assert_eq!(last.uri, format!("/{}", total - 1));
    }
}
