//! The client: every v3 endpoint, auth injection, and retries that never duplicate a job.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use extract_auth::{
    AuthConfig, CachePolicy, CachedTokenSource, ErrorKind, Token, TokenSource, checked_url,
    redacted,
};
use futures_util::future::BoxFuture;
use reqwest::multipart::Form;
use reqwest::{RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use tracing::Instrument;
use url::Url;

use crate::document::{DIRECT_LIMIT, OnceReader, Source};
use crate::error::{describe_body, excerpt};
use crate::retry::{RetryDecision, RetryPolicy, StandardRetry};
use crate::watchdog::Progress;
use crate::{ApiError, ExtractionOptions, RateBudget};
use extract_model::generated::{
    self, DownloadStatus, ExtractionStatus, OutputDocument, OutputFormat, RequestCreated,
    UploadCompleteForm, UploadSpec, UploadUrlCreated,
};

/// How a request's output is retrieved, fixed when it is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RetrievalMode {
    /// Created without `output_format`: poll `GET /v3/extractions/{id}`, output inline.
    Inline,
    /// Created with `output_format`: poll `download-url`, then download the output.
    Presigned,
}

/// A created request, as it can be saved and resumed: its request id and retrieval mode are
/// all it takes. What a submission returns and what the poller waits for (`extract_poll`
/// re-exports it); it was also called `Submission`, which stays as a deprecated alias.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct JobHandle {
    /// The service's id of the request.
    pub request_id: String,
    /// Which endpoint to poll for it.
    pub mode: RetrievalMode,
}

/// The old name of [`JobHandle`], when submitting and polling had one type each.
#[deprecated(note = "the same type is now called JobHandle")]
pub type Submission = JobHandle;

impl JobHandle {
    /// The job of request `request_id`, polled in `mode`: for resuming one, and for mocks
    /// (the client makes them when it submits).
    pub fn new(request_id: impl Into<String>, mode: RetrievalMode) -> Self {
        JobHandle {
            request_id: request_id.into(),
            mode,
        }
    }
}

/// Whether a failed attempt may be repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Safety {
    /// Reading, or an update that is the same when done twice: retried on any transient failure.
    Repeatable,
    /// Creates a job: retried only when the failure proves the service did not take it
    /// (no connection was made, or 429).
    CreatesJob,
}

/// Builds a [`Client`].
#[derive(Clone)]
#[must_use = "a builder does nothing until `build()`"]
pub struct ClientBuilder {
    base_url: String,
    tokens: Option<Arc<dyn TokenSource>>,
    auth: Option<AuthConfig>,
    token_policy: CachePolicy,
    http: Option<reqwest::Client>,
    timeout: Duration,
    upload_timeout: Duration,
    response_timeout: Duration,
    stall_timeout: Duration,
    retry: Arc<dyn RetryPolicy>,
    direct_limit: u64,
    max_answer_bytes: u64,
    budget: Option<Arc<RateBudget>>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            base_url: extract_auth::KENSHO_EXTRACT_API_URL.to_string(),
            tokens: None,
            auth: None,
            token_policy: CachePolicy::default(),
            http: None,
            timeout: Duration::from_secs(60),
            upload_timeout: Duration::from_secs(30 * 60),
            response_timeout: Duration::from_secs(60),
            stall_timeout: Duration::from_secs(60),
            retry: Arc::new(StandardRetry::default()),
            max_answer_bytes: 1 << 30,
            direct_limit: DIRECT_LIMIT,
            budget: None,
        }
    }
}

impl ClientBuilder {
    /// The API base URL (default `https://extract.kensho.com`).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Where access tokens come from. Give a [`CachedTokenSource`] (as
    /// [`ClientBuilder::auth_config`] does): the client asks for a token on every request.
    pub fn token_source(mut self, tokens: Arc<dyn TokenSource>) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// Base URL and a cached token source from an [`AuthConfig`] (flags or `KENSHO_*`
    /// variables). The token source is made when the client is built, with the
    /// [`ClientBuilder::token_policy`], over the client's own HTTP connection pool.
    pub fn auth_config(self, config: &AuthConfig) -> Result<Self, ApiError> {
        // Checks the method now, so a missing credential is reported here.
        config.method()?;
        let mut builder = self.base_url(config.api_url());
        builder.auth = Some(config.clone());
        Ok(builder)
    }

    /// How tokens from [`ClientBuilder::auth_config`] are cached, refreshed and retried.
    pub fn token_policy(mut self, policy: CachePolicy) -> Self {
        self.token_policy = policy;
        self
    }

    /// The time one API request other than an upload may take, answer included (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The time one document upload may take in all (default 30 min).
    pub fn upload_timeout(mut self, timeout: Duration) -> Self {
        self.upload_timeout = timeout;
        self
    }

    /// After a document is sent in full, the time its answer may take (default 60 s); past
    /// it, a submission's outcome is unknown.
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// The largest answer read (default 1 GiB, room for the largest output documents): a
    /// server sending more gets [`ApiError::TooLarge`], not all of the memory.
    pub fn max_answer_bytes(mut self, bytes: u64) -> Self {
        self.max_answer_bytes = bytes;
        self
    }

    /// While a document is being sent, the longest time nothing may move (default 60 s).
    pub fn stall_timeout(mut self, timeout: Duration) -> Self {
        self.stall_timeout = timeout;
        self
    }

    /// How failed calls are retried (default [`StandardRetry`]); [`Client::with_retry_policy`]
    /// overrides it for some calls.
    pub fn retry_policy(mut self, retry: impl RetryPolicy + 'static) -> Self {
        self.retry = Arc::new(retry);
        self
    }

    /// The size above which [`Client::submit_file`] uploads pre-signed (default and maximum:
    /// the service's 100 MB).
    pub fn direct_limit(mut self, bytes: u64) -> Self {
        self.direct_limit = bytes.min(DIRECT_LIMIT);
        self
    }

    /// Every request of this client (and its clones) takes a token from `budget` first, and
    /// tells it of 429s and of good answers: one adaptive rate for the process
    /// ([`RateBudget`]). Share one budget between clients to share the rate. Default: none.
    pub fn rate_budget(mut self, budget: Arc<RateBudget>) -> Self {
        self.budget = Some(budget);
        self
    }

    /// A reqwest client of your own (proxies, certificates…); by default one over rustls on ring
    /// with the `kensho-extract/<version>` user agent.
    pub fn http_client(mut self, http: reqwest::Client) -> Self {
        self.http = Some(http);
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<Client, ApiError> {
        let mut base = checked_url(&self.base_url, "API URL")?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = match self.http {
            Some(http) => http,
            None => extract_auth::http::client_builder().build().map_err(|e| {
                ApiError::build(ErrorKind::Config, "cannot build the HTTP client").with_source(e)
            })?,
        };
        let tokens: Arc<dyn TokenSource> = match (self.tokens, &self.auth) {
            (Some(tokens), _) => tokens,
            (None, Some(config)) => Arc::new(CachedTokenSource::with_policy(
                config.token_source(http.clone())?,
                self.token_policy.clone(),
            )),
            (None, None) => {
                return Err(ApiError::build(
                    ErrorKind::Config,
                    "the client needs a token source (see ClientBuilder::auth_config)",
                ));
            }
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                tokens,
                timeout: self.timeout,
                upload_timeout: self.upload_timeout,
                response_timeout: self.response_timeout,
                stall_timeout: self.stall_timeout,
                direct_limit: self.direct_limit,
                max_answer_bytes: self.max_answer_bytes,
                budget: self.budget,
            }),
            retry: self.retry,
        })
    }
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    tokens: Arc<dyn TokenSource>,
    timeout: Duration,
    upload_timeout: Duration,
    response_timeout: Duration,
    stall_timeout: Duration,
    direct_limit: u64,
    max_answer_bytes: u64,
    budget: Option<Arc<RateBudget>>,
}

/// A Kensho Extract v3 client. Cheap to clone; clones share connections and tokens.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use extract_api::{Client, ExtractionOptions};
/// use extract_auth::AuthConfig;
///
/// let client = Client::builder().auth_config(&AuthConfig::from_env())?.build()?;
/// let submission = client.submit_file("report.pdf".as_ref(), &ExtractionOptions::new()).await?;
/// let status = client.status(&submission.request_id, None).await?;
/// println!("{}", status.status);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    retry: Arc<dyn RetryPolicy>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base.as_str())
            .finish_non_exhaustive()
    }
}

/// Makes one attempt's request, given the bearer token (rebuilt per attempt: a streamed body
/// cannot be sent twice).
type Build<'a> =
    &'a (dyn Fn(Option<String>) -> BoxFuture<'a, Result<Prepared, ApiError>> + Send + Sync + 'a);

/// One attempt's request, and the progress of the document it uploads, if any.
struct Prepared {
    request: RequestBuilder,
    upload: Option<Arc<Progress>>,
}

impl From<RequestBuilder> for Prepared {
    fn from(request: RequestBuilder) -> Self {
        Prepared {
            request,
            upload: None,
        }
    }
}

/// How one call is made: its label for errors and logs, how safe it is to repeat, whether it
/// carries the bearer token, the request id it is about, and the time one attempt may take.
struct CallSpec<'a> {
    label: &'a str,
    safety: Safety,
    bearer: bool,
    request_id: Option<&'a str>,
    timeout: Duration,
}

/// What one attempt gave: an answer, or a failure, and whether the request was surely not taken.
enum Attempt {
    Answer(StatusCode, reqwest::header::HeaderMap, Bytes),
    /// No connection was made: nothing reached the service.
    NotSent(ApiError),
    /// Sent, but no complete answer came back.
    Lost(ApiError, String),
}

impl Client {
    /// Starts a builder.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The same client (sharing its connections and tokens) with another retry policy, for
    /// calls that need one: `client.with_retry_policy(NoRetry).status(id, None)`.
    #[must_use]
    pub fn with_retry_policy(&self, retry: impl RetryPolicy + 'static) -> Client {
        Client {
            inner: self.inner.clone(),
            retry: Arc::new(retry),
        }
    }

    fn url(&self, path: &str) -> Result<Url, ApiError> {
        self.inner
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| {
                ApiError::build(ErrorKind::InvalidInput, format!("bad request path {path}"))
                    .with_source(e)
            })
    }

    fn endpoint_path(
        endpoint: &generated::Endpoint,
        request_id: Option<&str>,
    ) -> Result<String, ApiError> {
        match request_id {
            None => Ok(endpoint.path.to_string()),
            Some(id) => {
                // Ids are UUIDs; anything else must not be able to change the path.
                uuid::Uuid::parse_str(id).map_err(|_| {
                    ApiError::build(
                        ErrorKind::InvalidInput,
                        format!("`{id}` is not a request id (a UUID)"),
                    )
                })?;
                Ok(endpoint.path.replace("{request_id}", id))
            }
        }
    }

    async fn attempt(
        &self,
        prepared: Prepared,
        label: &str,
        request_id: Option<&str>,
        timeout: Duration,
    ) -> Attempt {
        let id = || request_id.map(String::from);
        let sent = prepared.request.timeout(timeout).send();
        let sent = match &prepared.upload {
            // An upload also ends when it stalls, or when its answer does not come.
            Some(progress) => tokio::select! {
                sent = sent => sent,
                why = progress.expired(self.inner.stall_timeout, self.inner.response_timeout) => {
                    return Attempt::Lost(
                        ApiError::Timeout {
                            endpoint: label.into(),
                            request_id: id(),
                            after: self.inner.response_timeout,
                            source: None,
                        },
                        why,
                    );
                }
            },
            None => sent.await,
        };
        let response = match sent {
            Ok(response) => response,
            Err(e) if e.is_connect() => {
                return Attempt::NotSent(ApiError::Connect {
                    endpoint: label.into(),
                    request_id: id(),
                    source: Box::new(e.without_url()),
                });
            }
            Err(e) if e.is_timeout() => {
                return Attempt::Lost(
                    ApiError::Timeout {
                        endpoint: label.into(),
                        request_id: id(),
                        after: timeout,
                        source: Some(Box::new(e.without_url())),
                    },
                    format!("no answer came within {:.1}s", timeout.as_secs_f64()),
                );
            }
            Err(e) => {
                let e = e.without_url();
                let detail = extract_auth::http::describe(&e);
                return Attempt::Lost(
                    ApiError::Connect {
                        endpoint: label.into(),
                        request_id: id(),
                        source: Box::new(e),
                    },
                    format!("the connection broke ({detail})"),
                );
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        let body = match &prepared.upload {
            // An upload's answer is small; it must not trickle for the upload's whole timeout.
            Some(_) => {
                let read = read_capped(response, self.inner.max_answer_bytes);
                match tokio::time::timeout(self.inner.response_timeout, read).await {
                    Ok(body) => body,
                    Err(elapsed) => {
                        let after = self.inner.response_timeout;
                        return Attempt::Lost(
                            ApiError::Timeout {
                                endpoint: label.into(),
                                request_id: id(),
                                after,
                                source: Some(Box::new(elapsed)),
                            },
                            format!(
                                "its answer did not finish within {:.1}s",
                                after.as_secs_f64()
                            ),
                        );
                    }
                }
            }
            None => read_capped(response, self.inner.max_answer_bytes).await,
        };
        match body {
            Ok(body) => Attempt::Answer(status, headers, body),
            Err(Capped::Over(limit)) => Attempt::Lost(
                ApiError::TooLarge {
                    endpoint: label.into(),
                    request_id: id(),
                    limit,
                },
                format!("its answer was over {limit} bytes"),
            ),
            Err(Capped::Broken(e)) => {
                let e = e.without_url();
                let detail = extract_auth::http::describe(&e);
                Attempt::Lost(
                    ApiError::Connect {
                        endpoint: label.into(),
                        request_id: id(),
                        source: Box::new(e),
                    },
                    format!("the answer broke off ({detail})"),
                )
            }
        }
    }

    /// Sends a request built by `build` (called again for every attempt, with the bearer token
    /// when `bearer`), retrying as `safety` allows, and decodes a success with `decode`.
    async fn call<T>(
        &self,
        spec: CallSpec<'_>,
        build: Build<'_>,
        decode: impl Fn(&Bytes) -> Result<T, serde_json::Error> + Send + Sync,
    ) -> Result<T, ApiError> {
        // Labels name endpoints with their query redacted; ids are not secret.
        let span = tracing::info_span!(
            "extract_request",
            endpoint = spec.label,
            request_id = spec.request_id
        );
        self.call_in_span(spec, build, decode)
            .instrument(span)
            .await
    }

    async fn call_in_span<T>(
        &self,
        spec: CallSpec<'_>,
        build: Build<'_>,
        decode: impl Fn(&Bytes) -> Result<T, serde_json::Error> + Send + Sync,
    ) -> Result<T, ApiError> {
        let CallSpec {
            label,
            safety,
            bearer,
            request_id,
            timeout,
        } = spec;
        let start = Instant::now();
        // Attempts that failed for the request's own sake (not a refused token).
        let mut attempt = 0;
        // 401s so far: each is the token's fault, and retried with a new one.
        let mut refusals = 0;
        // The token the API refused last, with its answer: never sent again.
        let mut refused: Option<(Token, ApiError)> = None;
        loop {
            let token = if bearer {
                match self.inner.tokens.token().await {
                    Ok(token) => {
                        if let Some((old, error)) = refused.take()
                            && old.secret() == token.secret()
                        {
                            // The source has no other token to give: sending the same one
                            // again would only be refused again.
                            return Err(error);
                        }
                        Some(token)
                    }
                    Err(error) => {
                        // A refused exchange ends the call with its own error; one that got
                        // no answer, a 429 or a 5xx (after the token source's own retries)
                        // is retried like any transient failure.
                        let failure = ApiError::Auth(error);
                        if !failure.is_transient() {
                            return Err(failure);
                        }
                        attempt += 1;
                        match self.retry.on_error(attempt, start.elapsed(), &failure) {
                            RetryDecision::Retry(wait) => {
                                tracing::info!(
                                    endpoint = label,
                                    attempt,
                                    ?wait,
                                    "no access token, retrying: {failure}"
                                );
                                tokio::time::sleep(wait).await;
                                continue;
                            }
                            RetryDecision::Stop => return Err(failure),
                        }
                    }
                }
            } else {
                None
            };
            let request = build(token.as_ref().map(|t| t.secret().expose().to_string())).await?;
            if let Some(budget) = &self.inner.budget {
                budget.acquire().await;
            }
            let attempted = self.attempt(request, label, request_id, timeout).await;
            if let (Some(budget), Attempt::Answer(status, headers, _)) =
                (&self.inner.budget, &attempted)
            {
                if *status == StatusCode::TOO_MANY_REQUESTS {
                    budget.on_throttled(extract_auth::http::retry_after(headers));
                } else {
                    budget.on_success();
                }
            }
            let failure = match attempted {
                Attempt::Answer(status, headers, body) => {
                    let answer = Answer {
                        status,
                        headers: &headers,
                        body: &body,
                    };
                    match judge(answer, label, request_id, safety, token.is_some(), &decode) {
                        Verdict::Value(value) => return Ok(value),
                        Verdict::Final(error) => return Err(error),
                        Verdict::Failed(error) => error,
                        Verdict::Unauthorized(error) => {
                            let Some(token) = token else {
                                return Err(error);
                            };
                            // Revoked or expired early: never the request's fault. Drop that
                            // token (one exchange however many requests it failed: the cache
                            // is single flight) and send again with a new one, at once the
                            // first time, then backing off for as long as the policy allows.
                            self.inner.tokens.refused(&token);
                            refusals += 1;
                            let decision = if refusals == 1 {
                                RetryDecision::Retry(Duration::ZERO)
                            } else {
                                self.retry
                                    .on_unauthorized(refusals - 1, start.elapsed(), &error)
                            };
                            match decision {
                                RetryDecision::Retry(wait) => {
                                    if !wait.is_zero() {
                                        tracing::info!(
                                            endpoint = label,
                                            refusals,
                                            ?wait,
                                            "the access token was refused, retrying with a new one"
                                        );
                                        tokio::time::sleep(wait).await;
                                    }
                                    refused = Some((token, error));
                                    continue;
                                }
                                RetryDecision::Stop => return Err(error),
                            }
                        }
                    }
                }
                Attempt::NotSent(error) => error,
                Attempt::Lost(error, what) => {
                    if safety == Safety::CreatesJob {
                        return Err(ApiError::OutcomeUnknown {
                            endpoint: label.into(),
                            what,
                            status: None,
                        });
                    }
                    error
                }
            };
            if !failure.is_transient() {
                return Err(failure);
            }
            attempt += 1;
            match self.retry.on_error(attempt, start.elapsed(), &failure) {
                RetryDecision::Retry(wait) => {
                    tracing::info!(endpoint = label, attempt, ?wait, "retrying: {failure}");
                    tokio::time::sleep(wait).await;
                }
                RetryDecision::Stop => return Err(failure),
            }
        }
    }

    /// `POST /v3/extractions`: submits a document directly (at most 100 MB), streamed from disk.
    ///
    /// Retried only when the service surely did not take it (no connection, or 429); after a
    /// 5xx, a broken connection or a timeout the error is [`ApiError::OutcomeUnknown`].
    pub async fn submit(
        &self,
        path: &Path,
        options: &ExtractionOptions,
    ) -> Result<JobHandle, ApiError> {
        self.submit_source(Source::File(path), options).await
    }

    async fn submit_source(
        &self,
        source: Source<'_>,
        options: &ExtractionOptions,
    ) -> Result<JobHandle, ApiError> {
        let size = source.check().await?;
        self.submit_checked(source, size, options).await
    }

    /// A direct submission of a document already checked to be `size` bytes.
    async fn submit_checked(
        &self,
        source: Source<'_>,
        size: u64,
        options: &ExtractionOptions,
    ) -> Result<JobHandle, ApiError> {
        if size > DIRECT_LIMIT {
            return Err(ApiError::build(
                ErrorKind::FileTooLarge,
                format!(
                    "the document is {size} bytes, over the 100 MB limit of direct submission: use submit_file or submit_bytes, which upload it pre-signed"
                ),
            ));
        }
        let endpoint = generated::SUBMIT;
        let url = self.url(endpoint.path)?;
        let label = format!("{} {}", endpoint.method, endpoint.path);
        let fields = options.to_fields();
        let created: RequestCreated = self
            .call(
                CallSpec {
                    label: &label,
                    safety: Safety::CreatesJob,
                    bearer: true,
                    request_id: None,
                    timeout: self.inner.upload_timeout,
                },
                &|token| {
                    Box::pin(async {
                        let (file, progress) = source.part().await?;
                        let form = text_form(&fields).part("file", file);
                        let request = self
                            .inner
                            .http
                            .post(url.clone())
                            .bearer_auth(token.unwrap_or_default())
                            .multipart(form);
                        Ok(Prepared {
                            request,
                            upload: Some(progress),
                        })
                    })
                },
                json,
            )
            .await?;
        let mode = if options.output_format.is_some() {
            RetrievalMode::Presigned
        } else {
            RetrievalMode::Inline
        };
        Ok(JobHandle {
            request_id: created.request_id,
            mode,
        })
    }

    /// `POST /v3/extractions/upload-url`: creates a request awaiting its document, and where to
    /// upload it. Retried like a submission.
    pub async fn create_upload_url(
        &self,
        options: &ExtractionOptions,
    ) -> Result<UploadUrlCreated, ApiError> {
        let endpoint = generated::UPLOAD_URL;
        let url = self.url(endpoint.path)?;
        let label = format!("{} {}", endpoint.method, endpoint.path);
        let fields = options.upload_url_form().to_fields();
        self.call(
            CallSpec {
                label: &label,
                safety: Safety::CreatesJob,
                bearer: true,
                request_id: None,
                timeout: self.inner.timeout,
            },
            &|token| {
                let request = self
                    .inner
                    .http
                    .post(url.clone())
                    .bearer_auth(token.unwrap_or_default());
                Box::pin(async { Ok(request.multipart(text_form(&fields)).into()) })
            },
            json,
        )
        .await
    }

    /// Uploads a document to a pre-signed URL: an S3-style multipart POST with every given field
    /// first, then the file, streamed from disk; no bearer token. Uploading the same key twice
    /// stores the same document, so this is retried on any transient failure. The URL comes
    /// from the service, and obeys the rule of URLs the user gives: `https://`, or plain
    /// `http://` only to this machine.
    pub async fn upload(&self, spec: &UploadSpec, path: &Path) -> Result<(), ApiError> {
        let source = Source::File(path);
        source.check().await?;
        self.upload_source(spec, source).await
    }

    /// Uploads a document already checked.
    async fn upload_source(&self, spec: &UploadSpec, source: Source<'_>) -> Result<(), ApiError> {
        let url = checked_url(&spec.url, "upload URL the service gave")?;
        let label = format!("POST {}", redacted(&url));
        self.call(
            CallSpec {
                label: &label,
                safety: Safety::Repeatable,
                bearer: false,
                request_id: None,
                timeout: self.inner.upload_timeout,
            },
            &|_| {
                Box::pin(async {
                    let mut form = Form::new();
                    for (name, value) in &spec.fields {
                        form = form.text(name.clone(), value.clone());
                    }
                    let (file, progress) = source.part().await?;
                    let form = form.part("file", file);
                    Ok(Prepared {
                        request: self.inner.http.post(url.clone()).multipart(form),
                        upload: Some(progress),
                    })
                })
            },
            |_| Ok(()),
        )
        .await
    }

    /// `PUT /v3/extractions/upload-complete`: the upload is done, processing starts.
    pub async fn complete_upload(&self, request_id: &str) -> Result<(), ApiError> {
        let endpoint = generated::UPLOAD_COMPLETE;
        let url = self.url(endpoint.path)?;
        let label = format!("{} {}", endpoint.method, endpoint.path);
        let form = UploadCompleteForm::default()
            .request_id(request_id)
            .to_fields();
        self.call(
            CallSpec {
                label: &label,
                safety: Safety::Repeatable,
                bearer: true,
                request_id: Some(request_id),
                timeout: self.inner.timeout,
            },
            &|token| {
                let request = self
                    .inner
                    .http
                    .put(url.clone())
                    .bearer_auth(token.unwrap_or_default());
                Box::pin(async { Ok(request.multipart(text_form(&form)).into()) })
            },
            |_| Ok(()),
        )
        .await
    }

    /// `GET /v3/extractions/{request_id}`: status, with the output inline once done (for
    /// requests created without `output_format`). `output_format` defaults to with-locations.
    pub async fn status(
        &self,
        request_id: &str,
        output_format: Option<OutputFormat>,
    ) -> Result<ExtractionStatus, ApiError> {
        let endpoint = generated::STATUS;
        let mut url = self.url(&Self::endpoint_path(&endpoint, Some(request_id))?)?;
        if let Some(format) = output_format {
            url.query_pairs_mut()
                .append_pair("output_format", format.as_str());
        }
        self.get_json(
            &format!("{} {}", endpoint.method, endpoint.path),
            url,
            request_id,
        )
        .await
    }

    /// `GET /v3/extractions/download-url/{request_id}`: status, with a pre-signed output URL
    /// once done (for requests created with `output_format`).
    pub async fn download_url(&self, request_id: &str) -> Result<DownloadStatus, ApiError> {
        let endpoint = generated::DOWNLOAD_URL;
        let url = self.url(&Self::endpoint_path(&endpoint, Some(request_id))?)?;
        self.get_json(
            &format!("{} {}", endpoint.method, endpoint.path),
            url,
            request_id,
        )
        .await
    }

    async fn get_json<T: DeserializeOwned>(
        &self,
        label: &str,
        url: Url,
        request_id: &str,
    ) -> Result<T, ApiError> {
        self.call(
            CallSpec {
                label,
                safety: Safety::Repeatable,
                bearer: true,
                request_id: Some(request_id),
                timeout: self.inner.timeout,
            },
            &|token| {
                let request = self
                    .inner
                    .http
                    .get(url.clone())
                    .bearer_auth(token.unwrap_or_default());
                Box::pin(async { Ok(request.into()) })
            },
            json,
        )
        .await
    }

    /// Downloads the output document from a pre-signed `output_url`, as bytes exactly as sent
    /// (no bearer token: the URL carries its own signature). The URL must be `https://`, or
    /// plain `http://` only to this machine.
    pub async fn download_bytes(&self, output_url: &str) -> Result<Bytes, ApiError> {
        self.download_with(output_url, |body| {
            serde_json::from_slice::<serde::de::IgnoredAny>(body).map(|_| body.clone())
        })
        .await
    }

    /// Downloads and parses the output document from a pre-signed `output_url` (parsed once).
    pub async fn download(&self, output_url: &str) -> Result<OutputDocument, ApiError> {
        self.download_with(output_url, |body| serde_json::from_slice(body))
            .await
    }

    async fn download_with<T>(
        &self,
        output_url: &str,
        decode: impl Fn(&Bytes) -> Result<T, serde_json::Error> + Send + Sync,
    ) -> Result<T, ApiError> {
        let url = checked_url(output_url, "output URL the service gave")?;
        let label = format!("GET {}", redacted(&url));
        self.call(
            CallSpec {
                label: &label,
                safety: Safety::Repeatable,
                bearer: false,
                request_id: None,
                timeout: self.inner.upload_timeout,
            },
            &|_| {
                let request = self.inner.http.get(url.clone());
                Box::pin(async { Ok(request.into()) })
            },
            decode,
        )
        .await
    }

    /// Submits a file by the right path: directly up to 100 MB (or the builder's
    /// `direct_limit`), through a pre-signed upload above
    /// (which always uses the pre-signed retrieval mode).
    pub async fn submit_file(
        &self,
        path: &Path,
        options: &ExtractionOptions,
    ) -> Result<JobHandle, ApiError> {
        self.submit_by_size(Source::File(path), options).await
    }

    /// Submits a document held in memory, by the right path as [`Client::submit_file`] does:
    /// a service that has the bytes needs no temporary file. `file_name` is what the form
    /// calls the document. A retry sends the same buffer again (no copy).
    pub async fn submit_bytes(
        &self,
        bytes: impl Into<Bytes>,
        file_name: &str,
        options: &ExtractionOptions,
    ) -> Result<JobHandle, ApiError> {
        let bytes = bytes.into();
        self.submit_by_size(Source::Bytes(&bytes, file_name), options)
            .await
    }

    /// Submits a document read from a stream of `len` bytes, directly (so at most 100 MB),
    /// without a copy in memory or on disk. A stream can be read only once: the submission is
    /// made once and not retried, and the document is not checked for a PDF header before it
    /// is sent. Prefer [`Client::submit_bytes`] or [`Client::submit_file`] when you can.
    pub async fn submit_reader(
        &self,
        reader: impl tokio::io::AsyncRead + Send + Sync + Unpin + 'static,
        len: u64,
        file_name: &str,
        options: &ExtractionOptions,
    ) -> Result<JobHandle, ApiError> {
        let once: OnceReader = std::sync::Mutex::new(Some(Box::new(reader)));
        self.submit_source(Source::Stream(&once, len, file_name), options)
            .await
    }

    async fn submit_by_size(
        &self,
        source: Source<'_>,
        options: &ExtractionOptions,
    ) -> Result<JobHandle, ApiError> {
        let size = source.check().await?;
        if size <= self.inner.direct_limit {
            return self.submit_checked(source, size, options).await;
        }
        let created = self.create_upload_url(options).await?;
        self.upload_source(&created.upload_spec, source).await?;
        self.complete_upload(&created.request_id).await?;
        Ok(JobHandle {
            request_id: created.request_id,
            mode: RetrievalMode::Presigned,
        })
    }

    /// The token source's method name (`keypair`, …), for people.
    pub fn auth_method(&self) -> &'static str {
        self.inner.tokens.method()
    }
}

/// A multipart form of text fields.
fn text_form(fields: &[(&'static str, String)]) -> Form {
    fields.iter().fold(Form::new(), |form, (name, value)| {
        form.text(*name, value.clone())
    })
}

fn json<T: DeserializeOwned>(body: &Bytes) -> Result<T, serde_json::Error> {
    serde_json::from_slice(body)
}

/// One answer as the service sent it.
struct Answer<'a> {
    status: StatusCode,
    headers: &'a reqwest::header::HeaderMap,
    body: &'a Bytes,
}

/// What one answer means for a call.
enum Verdict<T> {
    /// A success, decoded.
    Value(T),
    /// A 401 to a request that carried a token: the token's fault, not the request's.
    Unauthorized(ApiError),
    /// A failure; the call retries it when it is transient.
    Failed(ApiError),
    /// A failure that ends the call: a submission whose outcome is unknown.
    Final(ApiError),
}

/// Judges an answer: decodes a success with `decode`, or says what failed. Every number and
/// header in it is the server's, so none is trusted (`Retry-After` is read bounded by
/// [`extract_auth::http::retry_after`]; bodies are cut before they go into an error).
fn judge<T>(
    answer: Answer<'_>,
    label: &str,
    request_id: Option<&str>,
    safety: Safety,
    carried_token: bool,
    decode: &(impl Fn(&Bytes) -> Result<T, serde_json::Error> + ?Sized),
) -> Verdict<T> {
    let Answer {
        status,
        headers,
        body,
    } = answer;
    if status.is_success() {
        return match decode(body) {
            Ok(value) => Verdict::Value(value),
            Err(detail) if safety == Safety::CreatesJob => {
                Verdict::Final(ApiError::OutcomeUnknown {
                    endpoint: label.into(),
                    what: format!("its answer was unreadable ({detail})"),
                    status: Some(status.as_u16()),
                })
            }
            Err(source) => Verdict::Failed(ApiError::Decode {
                endpoint: label.into(),
                request_id: request_id.map(String::from),
                status: status.as_u16(),
                excerpt: excerpt(&String::from_utf8_lossy(body), 200),
                source: Box::new(source),
            }),
        };
    }
    if status.is_redirection() {
        let location = headers
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| Url::parse(l).ok())
            .map_or_else(|| "elsewhere".to_string(), |l| redacted(&l));
        return Verdict::Failed(ApiError::Service {
            endpoint: label.into(),
            status: status.as_u16(),
            field: None,
            body: format!(
                "a redirect to another origin ({location}) was not followed: requests go only where they were sent"
            ),
            request_id: request_id.map(String::from),
            retry_after: None,
        });
    }
    if safety == Safety::CreatesJob && status.is_server_error() {
        return Verdict::Final(ApiError::OutcomeUnknown {
            endpoint: label.into(),
            what: format!("the service answered HTTP {status}"),
            status: Some(status.as_u16()),
        });
    }
    let text = String::from_utf8_lossy(body).into_owned();
    let error = ApiError::Service {
        endpoint: label.into(),
        status: status.as_u16(),
        field: describe_body(&text).1,
        body: excerpt(&text, 2000),
        request_id: request_id.map(String::from),
        retry_after: extract_auth::http::retry_after(headers),
    };
    if status == StatusCode::UNAUTHORIZED && carried_token {
        Verdict::Unauthorized(error)
    } else {
        Verdict::Failed(error)
    }
}

/// Why an answer's body was not read whole.
enum Capped {
    /// It was longer than the limit (said, or found while reading).
    Over(u64),
    /// The connection broke.
    Broken(reqwest::Error),
}

/// Reads an answer's body, refusing one over `limit` bytes before reading it (when its length
/// is given) or as soon as it passes the limit.
async fn read_capped(mut response: reqwest::Response, limit: u64) -> Result<Bytes, Capped> {
    if response
        .content_length()
        .is_some_and(|length| length > limit)
    {
        return Err(Capped::Over(limit));
    }
    let mut body = bytes::BytesMut::new();
    while let Some(chunk) = response.chunk().await.map_err(Capped::Broken)? {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(Capped::Over(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use extract_auth::http::MAX_RETRY_AFTER;
    use proptest::prelude::*;
    use reqwest::header::{HeaderMap, HeaderValue, LOCATION, RETRY_AFTER};
    use serde_json::{Value, json};

    use super::*;
    use crate::RetryPolicyExt;

    /// Any JSON value: the numbers servers get wrong (`u64::MAX`, negative, fractions, huge),
    /// strings (some huge), and nested arrays and objects.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            Just(Value::from(u64::MAX)),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_filter_map("JSON has no NaN or infinity", |f| {
                serde_json::Number::from_f64(f).map(Value::Number)
            }),
            prop_oneof![Just(1e308), Just(-1e308), Just(0.5), Just(-0.0), Just(4e19)]
                .prop_map(Value::from),
            ".{0,40}".prop_map(Value::from),
            (1usize..100_000).prop_map(|n| Value::from("x".repeat(n))),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(".{0,8}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// A number as a server might send it for a location or a page.
    fn any_number() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::from(u64::MAX)),
            Just(Value::from(i64::MIN)),
            Just(Value::from(-1)),
            Just(Value::from(1e308)),
            Just(Value::from(0.5)),
            any_json(),
        ]
    }

    /// An output document that is nearly right: its numbers anything.
    fn any_output() -> impl Strategy<Value = Value> {
        (
            prop::collection::vec(
                (any_number(), any_number(), any_number(), any_number(), any_number()),
                0..3,
            ),
            any_number(),
        )
            .prop_map(|(locations, pages)| {
                let locations: Vec<Value> = locations
                    .into_iter()
                    .map(|(x, y, width, height, page_number)| {
                        json!({"x": x, "y": y, "width": width, "height": height, "page_number": page_number})
                    })
                    .collect();
                json!({
                    "content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": [
                        {"uid": "1", "type": "TEXT", "content": "t", "children": [], "locations": locations}
                    ]},
                    "annotations": [],
                    "pdf_pages": [{"page_number": pages.clone(), "width": pages.clone(), "height": pages}],
                })
            })
    }

    /// A status answer's body: an object whose fields are each absent or any value (a real
    /// status, a nearly right output), or text that is not JSON.
    fn any_body() -> impl Strategy<Value = String> {
        let status = prop_oneof![
            prop_oneof![
                Just("success"),
                Just("pending"),
                Just("failed"),
                Just("awaiting_document_upload")
            ]
            .prop_map(Value::from),
            any_json(),
        ];
        let output = prop_oneof![any_output(), any_json()];
        let field = |value: BoxedStrategy<Value>| prop::option::weighted(0.7, value);
        prop_oneof![
            4 => (
                field(status.boxed()),
                field(any_json().boxed()),
                field(output.boxed()),
                field(any_json().boxed()),
                field(prop_oneof![Just(Value::from("https://storage.example/x")), any_json()].boxed()),
                field(any_json().boxed()),
            )
                .prop_map(|(status, error, output, metadata, output_url, detail)| {
                    let mut body = serde_json::Map::new();
                    for (name, value) in [
                        ("status", status),
                        ("error", error),
                        ("output", output),
                        ("metadata", metadata),
                        ("output_url", output_url),
                        ("detail", detail),
                    ] {
                        if let Some(value) = value {
                            body.insert(name.into(), value);
                        }
                    }
                    Value::Object(body).to_string()
                }),
            1 => ".{0,200}",
        ]
    }

    /// A header value: seconds (huge ones too), dates, or garbage.
    fn any_header() -> impl Strategy<Value = Option<String>> {
        prop::option::of(prop_oneof![
            any::<u64>().prop_map(|n| n.to_string()),
            (1usize..400).prop_map(|n| "9".repeat(n)),
            Just("Sun, 06 Nov 1994 08:49:37 GMT".to_string()),
            Just("Fri, 31 Dec 9999 23:59:59 GMT".to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            Just("https://elsewhere.example/?signature=x".to_string()),
            "[ -~]{0,40}",
        ])
    }

    /// What a program does with a failed call's error: show it, ask whether and how long to
    /// wait, under the standard policy and under policies with limits past any clock.
    fn use_error(error: &ApiError) -> Result<(), TestCaseError> {
        let _ = error.to_string();
        let _ = (error.is_transient(), error.status(), error.message());
        if let Some(wait) = error.retry_after() {
            prop_assert!(wait <= MAX_RETRY_AFTER);
        }
        let endless = StandardRetry::default()
            .with_waits(Duration::MAX, Duration::MAX)
            .with_deadline(Duration::MAX);
        for policy in [
            &StandardRetry::default() as &dyn RetryPolicy,
            &endless,
            &endless.clone().with_time_limit(Duration::MAX),
        ] {
            for elapsed in [Duration::ZERO, Duration::from_secs(119), Duration::MAX] {
                if let RetryDecision::Retry(wait) = policy.on_error(3, elapsed, error) {
                    prop_assert!(elapsed.checked_add(wait).is_some());
                }
                let _ = policy.on_unauthorized(u32::MAX, elapsed, error);
            }
        }
        crate::RateBudget::new(f64::INFINITY).on_throttled(error.retry_after());
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Whatever the extraction API answers to a poll (any status code, `Retry-After`,
        /// `Location`, body), judging it never panics, and what a program does next with
        /// the error (retry policies, the rate budget) never overflows.
        #[test]
        fn no_status_answer_panics(
            status in prop_oneof![
                3 => Just(200u16),
                1 => Just(401u16),
                1 => Just(429u16),
                1 => Just(503u16),
                2 => 100u16..=999,
            ],
            retry_after in any_header(),
            location in any_header(),
            body in any_body(),
            creates_job in any::<bool>(),
            carried_token in any::<bool>(),
        ) {
            let status = StatusCode::from_u16(status).expect("three digits");
            let mut headers = HeaderMap::new();
            for (name, value) in [(RETRY_AFTER, retry_after), (LOCATION, location)] {
                if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                    headers.insert(name, value);
                }
            }
            let body = Bytes::from(body);
            let safety = if creates_job { Safety::CreatesJob } else { Safety::Repeatable };
            let id = "7d7c1c64-2a2b-4c4b-9e4e-6c0a3a1a2b3c";
            let answer = || Answer { status, headers: &headers, body: &body };
            let inline = judge(
                answer(), "GET /v3/extractions/{request_id}", Some(id), safety, carried_token,
                &json::<ExtractionStatus>,
            );
            let presigned = judge(
                answer(), "GET /v3/extractions/download-url/{request_id}", Some(id), safety,
                carried_token, &json::<DownloadStatus>,
            );
            for error in [verdict_error(inline), verdict_error(presigned)].into_iter().flatten() {
                use_error(&error)?;
            }
        }
    }

    fn verdict_error<T>(verdict: Verdict<T>) -> Option<ApiError> {
        match verdict {
            Verdict::Value(_) => None,
            Verdict::Unauthorized(error) | Verdict::Failed(error) | Verdict::Final(error) => {
                Some(error)
            }
        }
    }

    #[test]
    fn a_401_is_the_tokens_fault_only_when_a_token_was_sent() {
        let headers = HeaderMap::new();
        let body = Bytes::from_static(br#"{"detail":"Access token has expired"}"#);
        let answer = || Answer {
            status: StatusCode::UNAUTHORIZED,
            headers: &headers,
            body: &body,
        };
        let with = judge(
            answer(),
            "GET",
            None,
            Safety::Repeatable,
            true,
            &json::<Value>,
        );
        assert!(matches!(with, Verdict::Unauthorized(ref e) if e.is_transient()));
        let without = judge(
            answer(),
            "GET",
            None,
            Safety::CreatesJob,
            false,
            &json::<Value>,
        );
        assert!(matches!(without, Verdict::Failed(_)));
    }
}
