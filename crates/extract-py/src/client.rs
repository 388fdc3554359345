//! `Client`, `Job` and `JobStatus`: the service's calls, each blocking (the GIL released while it
//! waits) and as an asyncio awaitable (`a…`), over one `extract_api::Client` with its token
//! cache and rate budget.

use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use extract_api::{ApiError, ExtractionOptions, JobHandle, RetrievalMode};
use extract_auth::Secret;
use extract_poll::{JobState, PollPolicy, Poller};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::document::Document;
use crate::failure::{Failure, Result};
use crate::options::extraction_options;
use crate::runtime::{awaitable, wait};
use crate::settings::{Given, Settings};

/// How long `extract` and `Job.wait` wait by default, in seconds (the CLI's `--timeout`).
const DEFAULT_WAIT: f64 = 1800.0;

/// A client of Kensho Extract: settings from keyword arguments, else `KENSHO_*` variables,
/// else a profile. Safe to share between threads and event loops.
#[pyclass(frozen, module = "kensho_extract")]
#[derive(Debug, Clone)]
pub struct Client {
    pub(crate) api: extract_api::Client,
    api_url: String,
}

/// A document to submit: a file, or bytes in memory.
enum Source {
    File(PathBuf),
    Bytes(Bytes, String),
}

impl Source {
    fn of(source: &Bound<'_, PyAny>, file_name: Option<String>) -> PyResult<Source> {
        if let Ok(bytes) = source.cast::<PyBytes>() {
            let name = file_name.unwrap_or_else(|| "document.pdf".into());
            return Ok(Source::Bytes(
                Bytes::copy_from_slice(bytes.as_bytes()),
                name,
            ));
        }
        match source.extract::<PathBuf>() {
            Ok(path) => Ok(Source::File(path)),
            Err(_) => Err(Failure::input(format!(
                "a document is a path (str or os.PathLike) or bytes, not {}",
                source.get_type().name()?
            ))
            .into()),
        }
    }
}

/// A wait's limit in seconds, checked.
fn wait_limit(seconds: Option<f64>) -> PyResult<Duration> {
    let seconds = seconds.unwrap_or(DEFAULT_WAIT);
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            Failure::input(format!(
                "timeout = {seconds}: must be a positive number of seconds"
            ))
            .into()
        })
}

async fn submit(
    api: &extract_api::Client,
    source: &Source,
    options: &ExtractionOptions,
) -> Result<JobHandle> {
    Ok(match source {
        Source::File(path) => api.submit_file(path, options).await?,
        Source::Bytes(bytes, name) => api.submit_bytes(bytes.clone(), name, options).await?,
    })
}

async fn wait_for(api: &extract_api::Client, job: &JobHandle, limit: Duration) -> Result<Document> {
    let poller = Poller::new(api.clone(), PollPolicy::default().with_deadline(limit));
    Ok(Document::new(poller.wait(job).await?))
}

/// Which endpoint a request id answers on: each mode's status endpoint refuses (400) the
/// other mode's ids.
async fn handle_of(api: &extract_api::Client, id: &str) -> Result<JobHandle> {
    let mode = match api.status(id, None).await {
        Ok(_) => RetrievalMode::Inline,
        Err(e) if e.status() == Some(400) => RetrievalMode::Presigned,
        Err(e) => return Err(Failure::from(e).with_request_id(id)),
    };
    Ok(JobHandle::new(id, mode))
}

async fn state_of(api: &extract_api::Client, id: &str) -> Result<JobState> {
    let job = handle_of(api, id).await?;
    Poller::new(api.clone(), PollPolicy::default())
        .poll_once(&job)
        .await
        .map_err(|e: ApiError| Failure::from(e).with_request_id(id))
}

async fn fetch(api: &extract_api::Client, id: &str) -> Result<Document> {
    match state_of(api, id).await? {
        JobState::Succeeded(document) => Ok(Document::new(*document)),
        JobState::Failed(why) => Err(Failure::new(
            extract_api::ErrorKind::JobFailed,
            format!("request {id} failed on the service side: {why}"),
        )
        .with_request_id(id)),
        other => Err(Failure::new(
            extract_api::ErrorKind::Deadline,
            format!(
                "request {id} is not done ({}); wait for it with Job.wait or Client.extract",
                other.label()
            ),
        )
        .with_request_id(id)),
    }
}

impl Client {
    /// The run `run` and `arun` start, from their arguments.
    #[allow(clippy::too_many_arguments)]
    fn batch(
        &self,
        inputs: &Bound<'_, PyAny>,
        out_dir: &Bound<'_, PyAny>,
        concurrency: usize,
        shard: Option<String>,
        formats: Option<Vec<String>>,
        overwrite: bool,
        wait_lock: bool,
        timeout: Option<f64>,
        on_event: Option<Py<PyAny>>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<crate::batch::Batch> {
        crate::batch::Batch::new(
            self.api.clone(),
            inputs,
            out_dir,
            crate::batch::Settings {
                concurrency,
                shard,
                formats: formats.unwrap_or_default(),
                overwrite,
                wait_lock,
                limit: wait_limit(timeout)?,
                on_event,
                options: extraction_options(options)?,
            },
        )
    }
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (*, api_url=None, token_url=None, client_id=None, private_key=None, access_token=None, refresh_token=None, profile=None, request_timeout=None, max_rps=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        api_url: Option<String>,
        token_url: Option<String>,
        client_id: Option<String>,
        private_key: Option<PathBuf>,
        access_token: Option<String>,
        refresh_token: Option<String>,
        profile: Option<String>,
        request_timeout: Option<f64>,
        max_rps: Option<f64>,
    ) -> PyResult<Client> {
        let settings = Settings::resolve(Given {
            profile,
            api_url,
            token_url,
            client_id,
            private_key,
            access_token: access_token.map(Secret::new),
            refresh_token: refresh_token.map(Secret::new),
            request_timeout,
            max_rps,
        })?;
        let api_url = settings.auth.api_url().to_string();
        // What stops a client being built is its credentials: missing, or a key that cannot be used.
        let api = settings.client().map_err(Failure::auth)?;
        if api.auth_method() == "keypair"
            && let Some(warning) = settings.open_key_warning()
        {
            // A `UserWarning`: Python shows it once per place, and a program can make it an error.
            let message =
                std::ffi::CString::new(warning).map_err(|e| Failure::input(e.to_string()))?;
            PyErr::warn(
                py,
                &py.get_type::<pyo3::exceptions::PyUserWarning>(),
                &message,
                1,
            )?;
        }
        Ok(Client { api, api_url })
    }

    /// A client from the `KENSHO_*` variables and the profile alone.
    #[staticmethod]
    #[pyo3(signature = (*, profile=None))]
    fn from_env(py: Python<'_>, profile: Option<String>) -> PyResult<Client> {
        Client::new(py, None, None, None, None, None, None, profile, None, None)
    }

    /// The API base URL.
    #[getter]
    fn api_url(&self) -> &str {
        &self.api_url
    }

    /// `access_token`, `keypair` or `refresh_token`.
    #[getter]
    fn auth_method(&self) -> &'static str {
        self.api.auth_method()
    }

    /// Submits a document and waits for its output.
    #[pyo3(signature = (source, *, timeout=None, file_name=None, **options))]
    fn extract(
        &self,
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        timeout: Option<f64>,
        file_name: Option<String>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Document> {
        let (source, options, limit) = (
            Source::of(source, file_name)?,
            extraction_options(options)?,
            wait_limit(timeout)?,
        );
        let api = &self.api;
        wait(py, async move {
            let job = submit(api, &source, &options).await?;
            Ok(wait_for(api, &job, limit).await?)
        })
    }

    /// `extract` for asyncio.
    #[pyo3(signature = (source, *, timeout=None, file_name=None, **options))]
    fn aextract<'py>(
        &self,
        py: Python<'py>,
        source: &Bound<'py, PyAny>,
        timeout: Option<f64>,
        file_name: Option<String>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (source, options, limit) = (
            Source::of(source, file_name)?,
            extraction_options(options)?,
            wait_limit(timeout)?,
        );
        let api = self.api.clone();
        awaitable(py, async move {
            let job = submit(&api, &source, &options).await?;
            Ok(wait_for(&api, &job, limit).await?)
        })
    }

    /// Submits a document; the job to wait for (now, or later from its `request_id`).
    #[pyo3(signature = (source, *, file_name=None, **options))]
    fn submit(
        &self,
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        file_name: Option<String>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Job> {
        let (source, options) = (Source::of(source, file_name)?, extraction_options(options)?);
        let api = &self.api;
        let handle = wait(py, async move { Ok(submit(api, &source, &options).await?) })?;
        Ok(Job::new(self.api.clone(), handle))
    }

    /// `submit` for asyncio.
    #[pyo3(signature = (source, *, file_name=None, **options))]
    fn asubmit<'py>(
        &self,
        py: Python<'py>,
        source: &Bound<'py, PyAny>,
        file_name: Option<String>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (source, options) = (Source::of(source, file_name)?, extraction_options(options)?);
        let api = self.api.clone();
        awaitable(py, async move {
            let handle = submit(&api, &source, &options).await?;
            Ok(Job::new(api, handle))
        })
    }

    /// The job a request id names (to wait for one submitted earlier, here or elsewhere).
    fn job(&self, py: Python<'_>, request_id: String) -> PyResult<Job> {
        let api = &self.api;
        let handle = wait(py, async move { Ok(handle_of(api, &request_id).await?) })?;
        Ok(Job::new(self.api.clone(), handle))
    }

    /// Where a request stands, with one call to the service.
    fn status(&self, py: Python<'_>, request_id: String) -> PyResult<JobStatus> {
        let api = &self.api;
        wait(py, async move {
            let state = state_of(api, &request_id).await?;
            Ok(JobStatus::new(request_id, &state))
        })
    }

    /// `status` for asyncio.
    fn astatus<'py>(&self, py: Python<'py>, request_id: String) -> PyResult<Bound<'py, PyAny>> {
        let api = self.api.clone();
        awaitable(py, async move {
            let state = state_of(&api, &request_id).await?;
            Ok(JobStatus::new(request_id, &state))
        })
    }

    /// The output of a finished request (`JobFailedError` if it failed, `ExtractTimeoutError`
    /// if it is not done yet).
    fn fetch(&self, py: Python<'_>, request_id: String) -> PyResult<Document> {
        let api = &self.api;
        wait(py, async move { Ok(fetch(api, &request_id).await?) })
    }

    /// `fetch` for asyncio.
    fn afetch<'py>(&self, py: Python<'py>, request_id: String) -> PyResult<Bound<'py, PyAny>> {
        let api = self.api.clone();
        awaitable(py, async move { Ok(fetch(&api, &request_id).await?) })
    }

    /// Extracts many documents into `out_dir` with the CLI's batch engine: resumable (run it
    /// again after a crash: nothing is submitted twice), sharded, and bounded in concurrency.
    #[pyo3(signature = (inputs, out_dir, *, concurrency=8, shard=None, formats=None, overwrite=false, wait_lock=false, timeout=None, on_event=None, **options))]
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        py: Python<'_>,
        inputs: &Bound<'_, PyAny>,
        out_dir: &Bound<'_, PyAny>,
        concurrency: usize,
        shard: Option<String>,
        formats: Option<Vec<String>>,
        overwrite: bool,
        wait_lock: bool,
        timeout: Option<f64>,
        on_event: Option<Py<PyAny>>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<crate::batch::BatchReport> {
        let batch = self.batch(
            inputs,
            out_dir,
            concurrency,
            shard,
            formats,
            overwrite,
            wait_lock,
            timeout,
            on_event,
            options,
        )?;
        wait(py, async move { batch.run().await })
    }

    /// `run` for asyncio.
    #[pyo3(signature = (inputs, out_dir, *, concurrency=8, shard=None, formats=None, overwrite=false, wait_lock=false, timeout=None, on_event=None, **options))]
    #[allow(clippy::too_many_arguments)]
    fn arun<'py>(
        &self,
        py: Python<'py>,
        inputs: &Bound<'py, PyAny>,
        out_dir: &Bound<'_, PyAny>,
        concurrency: usize,
        shard: Option<String>,
        formats: Option<Vec<String>>,
        overwrite: bool,
        wait_lock: bool,
        timeout: Option<f64>,
        on_event: Option<Py<PyAny>>,
        options: Option<&Bound<'py, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let batch = self.batch(
            inputs,
            out_dir,
            concurrency,
            shard,
            formats,
            overwrite,
            wait_lock,
            timeout,
            on_event,
            options,
        )?;
        awaitable(py, async move { batch.run().await })
    }

    fn __repr__(&self) -> String {
        // Never a token or a key: where, and how it authenticates.
        format!(
            "<kensho_extract.Client {} auth={}>",
            self.api_url,
            self.api.auth_method()
        )
    }
}

/// A submitted extraction.
#[pyclass(frozen, module = "kensho_extract")]
#[derive(Debug, Clone)]
pub struct Job {
    api: extract_api::Client,
    handle: JobHandle,
}

impl Job {
    fn new(api: extract_api::Client, handle: JobHandle) -> Job {
        Job { api, handle }
    }
}

#[pymethods]
impl Job {
    /// The service's id for the request: keep it to wait for the job later.
    #[getter]
    fn request_id(&self) -> &str {
        &self.handle.request_id
    }

    /// `inline` or `presigned`.
    #[getter]
    fn mode(&self) -> &'static str {
        match self.handle.mode {
            RetrievalMode::Presigned => "presigned",
            _ => "inline",
        }
    }

    /// Waits for the output (polls at a pace learnt from the service, within `timeout`).
    #[pyo3(signature = (timeout=None))]
    fn wait(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Document> {
        let limit = wait_limit(timeout)?;
        let (api, job) = (&self.api, &self.handle);
        wait(py, async move { Ok(wait_for(api, job, limit).await?) })
    }

    /// `wait` for asyncio (`await job` does the same with the default timeout).
    #[pyo3(signature = (timeout=None))]
    fn wait_async<'py>(
        &self,
        py: Python<'py>,
        timeout: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let limit = wait_limit(timeout)?;
        let (api, job) = (self.api.clone(), self.handle.clone());
        awaitable(py, async move { Ok(wait_for(&api, &job, limit).await?) })
    }

    fn __await__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        self.wait_async(py, None)?.call_method0("__await__")
    }

    fn __repr__(&self) -> String {
        format!(
            "<kensho_extract.Job {} ({})>",
            self.handle.request_id,
            self.mode()
        )
    }
}

/// Where a request stands.
#[pyclass(frozen, module = "kensho_extract", get_all)]
#[derive(Debug, Clone)]
pub struct JobStatus {
    /// The request id.
    request_id: String,
    /// `pending`, `success`, `failure`, `awaiting upload`…
    state: String,
    /// Whether the job has ended (succeeded or failed).
    done: bool,
    /// Why it failed, when it did.
    error: Option<String>,
}

impl JobStatus {
    fn new(request_id: String, state: &JobState) -> JobStatus {
        JobStatus {
            request_id,
            state: state.label().to_string(),
            done: state.is_terminal(),
            error: match state {
                JobState::Failed(why) => Some(why.clone()),
                _ => None,
            },
        }
    }
}

#[pymethods]
impl JobStatus {
    fn __repr__(&self) -> String {
        format!(
            "<kensho_extract.JobStatus {}: {}>",
            self.request_id, self.state
        )
    }
}
