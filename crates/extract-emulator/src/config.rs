//! What an emulator run is told.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::FaultSpec;

/// The emulator's settings. `Default` is what tests want: an ephemeral loopback port, jobs that
/// finish in 2 s, one-hour tokens, 15-minute pre-signed URLs, the service's 100 MB limit.
///
/// Build it from [`EmulatorConfig::default`] with the `with_*` setters; fields may be added.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EmulatorConfig {
    /// Where to listen; loopback and an ephemeral port by default.
    pub bind: SocketAddr,
    /// How long a job stays `pending` once processing starts.
    pub job_duration: Duration,
    /// How long issued access tokens live.
    pub token_lifetime: Duration,
    /// How long pre-signed upload and download URLs stay valid.
    pub presigned_lifetime: Duration,
    /// The largest document `POST /v3/extractions` takes (the service's is 100 MB).
    pub max_document_bytes: u64,
    /// The largest document a pre-signed upload takes.
    pub max_upload_bytes: u64,
    /// Clock skew tolerated on `iat` and `exp` of client assertions.
    pub clock_skew: Duration,
    /// Faults to inject.
    pub faults: FaultSpec,
    /// How far the emulator's clock runs ahead of this machine's: a server whose clock is off,
    /// for testing clock-skew errors over real sockets. Default 0.
    pub clock_ahead: Duration,
    /// How long a connection may take to send a request's headers before it is closed.
    pub header_read_timeout: Duration,
    /// A directory for registered clients (`clients/<client id>.pem`) and refresh tokens
    /// (`refresh-tokens`), kept across runs; documents go there too. Temporary when `None`.
    pub state_dir: Option<PathBuf>,
    /// The first this many jobs fail (status `failed`), whatever their document: a client's
    /// handling of a job the service could not do, on demand.
    pub failing_jobs: u32,
    /// A limit on `/v3/` requests per second, all clients together (a token bucket holding
    /// one second's worth): past it, 429 with `Retry-After: 1`. `None`: no limit.
    pub rate_limit: Option<f64>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            job_duration: Duration::from_secs(2),
            token_lifetime: Duration::from_secs(3600),
            presigned_lifetime: Duration::from_secs(15 * 60),
            max_document_bytes: 100 * 1000 * 1000,
            max_upload_bytes: 1 << 30,
            clock_skew: Duration::from_secs(60),
            faults: FaultSpec::default(),
            clock_ahead: Duration::ZERO,
            header_read_timeout: Duration::from_secs(30),
            state_dir: None,
            failing_jobs: 0,
            rate_limit: None,
        }
    }
}

impl EmulatorConfig {
    /// Sets `bind`.
    #[must_use]
    pub fn with_bind(mut self, value: SocketAddr) -> Self {
        self.bind = value;
        self
    }

    /// Sets `job_duration`.
    #[must_use]
    pub fn with_job_duration(mut self, value: Duration) -> Self {
        self.job_duration = value;
        self
    }

    /// Sets `token_lifetime`.
    #[must_use]
    pub fn with_token_lifetime(mut self, value: Duration) -> Self {
        self.token_lifetime = value;
        self
    }

    /// Sets `presigned_lifetime`.
    #[must_use]
    pub fn with_presigned_lifetime(mut self, value: Duration) -> Self {
        self.presigned_lifetime = value;
        self
    }

    /// Sets `max_document_bytes`.
    #[must_use]
    pub fn with_max_document_bytes(mut self, value: u64) -> Self {
        self.max_document_bytes = value;
        self
    }

    /// Sets `max_upload_bytes`.
    #[must_use]
    pub fn with_max_upload_bytes(mut self, value: u64) -> Self {
        self.max_upload_bytes = value;
        self
    }

    /// Sets `clock_skew`.
    #[must_use]
    pub fn with_clock_skew(mut self, value: Duration) -> Self {
        self.clock_skew = value;
        self
    }

    /// Sets `faults`.
    #[must_use]
    pub fn with_faults(mut self, value: FaultSpec) -> Self {
        self.faults = value;
        self
    }

    /// Sets `failing_jobs`.
    #[must_use]
    pub fn with_failing_jobs(mut self, value: u32) -> Self {
        self.failing_jobs = value;
        self
    }

    /// Sets `rate_limit` (requests per second).
    #[must_use]
    pub fn with_rate_limit(mut self, value: f64) -> Self {
        self.rate_limit = Some(value);
        self
    }

    /// Sets `clock_ahead`.
    #[must_use]
    pub fn with_clock_ahead(mut self, value: Duration) -> Self {
        self.clock_ahead = value;
        self
    }

    /// Sets `header_read_timeout`.
    #[must_use]
    pub fn with_header_read_timeout(mut self, value: Duration) -> Self {
        self.header_read_timeout = value;
        self
    }

    /// Sets `state_dir`.
    #[must_use]
    pub fn with_state_dir(mut self, value: Option<PathBuf>) -> Self {
        self.state_dir = value;
        self
    }
}
