//! A strict local stand-in for Kensho's Okta and the Kensho Extract v3 API.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use extract_emulator::{Emulator, EmulatorConfig};
//! use extract_keys::{KeySize, PrivateKey};
//!
//! let emulator = Emulator::start(EmulatorConfig::default()).await?;
//! let key = PrivateKey::generate(KeySize::Rsa2048)?;
//! let client_id = emulator.register_client(key.public_key())?;
//! println!("API {} token {} client {client_id}", emulator.base_url(), emulator.token_url());
//! // … point a client at it, then:
//! assert_eq!(emulator.stats().submissions, 0);
//! emulator.shutdown().await;
//! # Ok(())
//! # }
//! ```
//!
//! It serves, on one loopback origin: Okta's token endpoint (strict client-assertion checks, RS256
//! access tokens of its own), the refresh-token endpoint, all five v3 endpoints with the
//! service's validation and statuses, the pre-signed storage side (S3-style POST upload, signed
//! download), and jobs whose output is extracted from the submitted PDF itself. Faults can be
//! injected, and every request is counted and logged for tests. See `docs/emulator.md`.
#![warn(missing_docs)]

mod api;
mod clock;
mod config;
mod faults;
mod form;
mod jwt;
mod okta;
mod output;
mod pdf;
mod reply;
mod server;
mod silent;
mod state;
mod storage;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use extract_keys::PublicKey;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::EmulatorConfig;
pub use faults::FaultSpec;
pub use pdf::{SamplePage, sample_encrypted_pdf, sample_pdf};
pub use silent::SilentServer;
pub use state::{LoggedRequest, Stats};

use state::{State, lock};

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The state directory could not be used.
    #[error("cannot use the state directory {}", path.display())]
    StateDir {
        /// The directory.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// The emulator's own signing key could not be made.
    #[error("cannot make the emulator's signing key: {0}")]
    Key(String),
}

/// Starts emulators.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// Binds, starts serving in the background, and returns a handle.
    pub async fn start(config: EmulatorConfig) -> Result<RunningEmulator, EmulatorError> {
        let addr = config.bind;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| EmulatorError::Bind { addr, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| EmulatorError::Bind { addr, source })?;
        let (documents, temp) = match &config.state_dir {
            Some(dir) => {
                let documents = dir.join("documents");
                std::fs::create_dir_all(&documents).map_err(|source| EmulatorError::StateDir {
                    path: dir.clone(),
                    source,
                })?;
                (documents, None)
            }
            None => {
                let temp = tempfile::tempdir().map_err(|source| EmulatorError::StateDir {
                    path: std::env::temp_dir(),
                    source,
                })?;
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        let signer = jwt::Signer::generate().map_err(EmulatorError::Key)?;
        let storage_key =
            ring::hmac::Key::generate(ring::hmac::HMAC_SHA256, &ring::rand::SystemRandom::new())
                .map_err(|_| EmulatorError::Key("no random source".into()))?;
        let state = Arc::new(State {
            base_url: format!("http://{local}"),
            clock: clock::Clock::new(config.clock_ahead.as_secs()),
            signer,
            storage_key,
            documents,
            clients: Mutex::new(HashMap::new()),
            refresh_tokens: Mutex::new(HashSet::new()),
            seen_jti: Mutex::new(HashMap::new()),
            token_uses: Mutex::new(HashMap::new()),
            jobs: Mutex::new(HashMap::new()),
            stats: Mutex::new(Stats::default()),
            log: Mutex::default(),
            faults: Mutex::new(faults::Injector::new(config.faults.clone())),
            failures_left: std::sync::atomic::AtomicU32::new(config.failing_jobs),
            bucket: Mutex::new((
                config.rate_limit.unwrap_or(0.0).max(1.0),
                std::time::Instant::now(),
            )),
            config,
        });
        if let Some(dir) = &state.config.state_dir {
            state
                .load_state_dir(dir)
                .map_err(|source| EmulatorError::StateDir {
                    path: dir.clone(),
                    source,
                })?;
        }
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(server::serve(
            listener,
            server::router(state.clone()),
            state.config.header_read_timeout,
            stopped,
        ));
        Ok(RunningEmulator {
            state,
            stop,
            task,
            _temp: temp,
        })
    }
}

/// A running emulator. Dropping it stops the server too.
#[derive(Debug)]
pub struct RunningEmulator {
    state: Arc<State>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    _temp: Option<tempfile::TempDir>,
}

impl RunningEmulator {
    /// The API base URL, `http://127.0.0.1:PORT` (what `KENSHO_EXTRACT_API_URL` takes).
    pub fn base_url(&self) -> &str {
        &self.state.base_url
    }

    /// The Okta token endpoint URL (what `KENSHO_TOKEN_URL` takes, and the assertions' `aud`).
    pub fn token_url(&self) -> String {
        self.state.token_url()
    }

    /// Registers a client's public key; returns its client id.
    pub fn register_client(&self, key: PublicKey) -> std::io::Result<String> {
        self.state.register_client(key)
    }

    /// Lets a refresh token be exchanged at `GET /oauth2/refresh`.
    pub fn add_refresh_token(&self, token: &str) -> std::io::Result<()> {
        self.state.add_refresh_token(token)
    }

    /// The ids of the registered clients.
    pub fn client_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = lock(&self.state.clients).keys().cloned().collect();
        ids.sort();
        ids
    }

    /// The page selection of every job created so far (`None`: all pages), sorted: for tests
    /// that check which pages were sent (and billed).
    pub fn job_pages(&self) -> Vec<Option<Vec<u32>>> {
        let mut pages: Vec<Option<Vec<u32>>> = lock(&self.state.jobs)
            .values()
            .map(|job| job.options.pages.clone())
            .collect();
        pages.sort();
        pages
    }

    /// Replaces the fault spec for the requests to come.
    pub fn set_faults(&self, spec: FaultSpec) {
        lock(&self.state.faults).set_spec(spec);
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        lock(&self.state.stats).clone()
    }

    /// The requests so far (the newest 10,000), in arrival order.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        lock(&self.state.log).to_vec()
    }

    /// Stops serving and waits for the accept loop to end.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = (&mut { self }.task).await;
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
