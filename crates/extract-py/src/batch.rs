//! `Client.run`: the CLI's batch engine over local files and object stores, with its events delivered to a Python
//! callable and its report as a `BatchReport`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use extract_api::ExtractionOptions;
use extract_batch::{
    BatchEvent, BatchOutcome, BatchReport as Report, BatchRunner, Place, ScheduledShard, Shard,
};
use extract_poll::PollPolicy;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::failure::{Failure, Result};

/// The formats `run` writes beside each output document, by name.
const FORMATS: &[&str] = &["markdown", "text", "html"];

/// What `run` was asked for, besides its inputs and folder.
#[derive(Debug)]
pub struct Settings {
    pub concurrency: usize,
    pub shard: Option<String>,
    pub formats: Vec<String>,
    pub overwrite: bool,
    pub wait_lock: bool,
    pub limit: Duration,
    pub on_event: Option<Py<PyAny>>,
    pub options: ExtractionOptions,
}

/// A run ready to start.
#[derive(Debug)]
pub struct Batch {
    runner: BatchRunner<extract_api::Client>,
    inputs: Vec<Place>,
}

impl Batch {
    pub fn new(
        api: extract_api::Client,
        inputs: &Bound<'_, PyAny>,
        out_dir: &Bound<'_, PyAny>,
        settings: Settings,
    ) -> PyResult<Batch> {
        let inputs = inputs_of(inputs)?;
        let out_dir = place_of(out_dir)?;
        if settings.concurrency == 0 {
            return Err(Failure::input("concurrency must be at least 1").into());
        }
        let mut runner = BatchRunner::new(api, out_dir)
            .options(settings.options)
            .policy(PollPolicy::default().with_deadline(settings.limit))
            .concurrency(settings.concurrency)
            .overwrite(settings.overwrite)
            .wait_for_lock(settings.wait_lock);
        if let Some(shard) = settings.shard {
            runner = runner.shard(shard_of(&shard)?);
        }
        for format in &settings.formats {
            let (extension, render) = renderer(format)?;
            runner = runner.render(extension, render);
        }
        if let Some(callback) = settings.on_event {
            // One call at a time: the engine's workers report from several threads, and a
            // callback such as `print` interleaves its output when two calls overlap (each
            // lets the GIL go while it writes).
            let one_at_a_time = std::sync::Mutex::new(());
            runner = runner.on_event(move |event| {
                let _turn = one_at_a_time.lock().unwrap_or_else(|e| e.into_inner());
                deliver(&callback, &event);
            });
        }
        Ok(Batch { runner, inputs })
    }

    pub async fn run(self) -> PyResult<BatchReport> {
        let report = self
            .runner
            .run_from(&self.inputs)
            .await
            .map_err(Failure::from)?;
        Ok(BatchReport::new(report))
    }
}

/// `I/N`, or `auto` for the shard a batch scheduler's variables give (Slurm, Kubernetes, AWS
/// Batch), as the CLI's `--shard`.
fn shard_of(text: &str) -> Result<Shard> {
    if text == "auto" {
        return ScheduledShard::from_env()
            .map(|scheduled| scheduled.shard)
            .map_err(|e| Failure::new(e.kind(), extract_api::Chain(&e).to_string()));
    }
    text.parse::<Shard>()
        .map_err(|e| Failure::input(format!("shard = {text:?}: {e}")))
}

/// One place given from Python: a `str` may be a URL (`s3://…`); anything else is a path.
fn place_of(given: &Bound<'_, PyAny>) -> PyResult<Place> {
    if let Ok(text) = given.extract::<String>() {
        return Ok(crate::store::place(&text)?);
    }
    match given.extract::<PathBuf>() {
        Ok(path) => Ok(Place::Local(path)),
        Err(_) => Err(Failure::input(format!(
            "a place is a path (str or os.PathLike) or a URL (s3://, gs://, az://), not {}",
            given.get_type().name()?
        ))
        .into()),
    }
}

/// The inputs: a place or a list of places; a local folder stands for its PDFs (recursively,
/// in name order), a store prefix for the objects under it.
fn inputs_of(inputs: &Bound<'_, PyAny>) -> PyResult<Vec<Place>> {
    let given: Vec<Bound<'_, PyAny>> = match inputs.extract::<String>() {
        Ok(_) => vec![inputs.clone()],
        Err(_) if inputs.extract::<PathBuf>().is_ok() => vec![inputs.clone()],
        Err(_) => inputs.try_iter()?.collect::<PyResult<_>>()?,
    };
    let mut places = Vec::new();
    for one in &given {
        match place_of(one)? {
            Place::Local(path) if path.is_dir() => {
                let mut files = Vec::new();
                pdfs_under(&path, &mut files).map_err(Failure::from)?;
                places.extend(files.into_iter().map(Place::Local));
            }
            place => places.push(place),
        }
    }
    Ok(places)
}

fn pdfs_under(dir: &Path, files: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            pdfs_under(&path, files)?;
        } else if kind.is_file()
            && path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("pdf"))
        {
            files.push(path);
        }
    }
    Ok(())
}

type Render = extract_batch::Render;

fn renderer(format: &str) -> Result<(&'static str, std::sync::Arc<Render>)> {
    use std::sync::Arc;
    Ok(match format {
        "markdown" => (
            "md",
            Arc::new(|d: &_| Ok(extract_convert::to_markdown(d).into_bytes())),
        ),
        "text" => (
            "txt",
            Arc::new(|d: &_| Ok(extract_convert::to_text(d).into_bytes())),
        ),
        "html" => (
            "html",
            Arc::new(|d: &_| {
                Ok(
                    extract_convert::to_html(d, &extract_convert::HtmlOptions::default())
                        .into_bytes(),
                )
            }),
        ),
        other => {
            return Err(Failure::input(format!(
                "unknown format {other:?}; the formats are {}",
                FORMATS.join(", ")
            )));
        }
    })
}

/// Calls `callback` with the event as a dict. What it raises is reported as unraisable
/// (printed, as Python does for errors in callbacks it cannot return to) and the run goes on.
fn deliver(callback: &Py<PyAny>, event: &BatchEvent) {
    Python::attach(|py| {
        let delivered = event_dict(py, event).and_then(|dict| callback.call1(py, (dict,)));
        if let Err(error) = delivered {
            error.write_unraisable(py, Some(callback.bind(py)));
        }
    });
}

fn event_dict<'py>(py: Python<'py>, event: &BatchEvent) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    let (name, input) = match event {
        BatchEvent::Started {
            input,
            request_id,
            resumed,
        } => {
            dict.set_item("request_id", request_id)?;
            dict.set_item("resumed", resumed)?;
            ("started", input)
        }
        BatchEvent::Progress {
            input,
            state,
            polls,
        } => {
            dict.set_item("state", state)?;
            dict.set_item("polls", polls)?;
            ("progress", input)
        }
        BatchEvent::Resubmitting { input, reason } => {
            dict.set_item("reason", reason)?;
            ("resubmitting", input)
        }
        BatchEvent::Renamed { input, kept, name } => {
            dict.set_item("kept", kept)?;
            dict.set_item("name", name)?;
            ("renamed", input)
        }
        BatchEvent::Finished { input, outcome } => {
            let (label, detail) = outcome_of(outcome);
            dict.set_item("outcome", label)?;
            dict.set_item("detail", detail)?;
            ("finished", input)
        }
        _ => return Ok(dict),
    };
    dict.set_item("event", name)?;
    dict.set_item("input", input)?;
    Ok(dict)
}

/// An outcome's name and what it says.
fn outcome_of(outcome: &BatchOutcome) -> (&'static str, Option<String>) {
    match outcome {
        BatchOutcome::Succeeded(_) => ("succeeded", None),
        BatchOutcome::AlreadyDone => ("already_done", None),
        BatchOutcome::Failed(why) => ("failed", Some(why.clone())),
        BatchOutcome::TimedOut(id) => ("timed_out", Some(id.clone())),
        BatchOutcome::ConversionFailed { error, .. } => ("conversion_failed", Some(error.clone())),
        BatchOutcome::Error(error) => (
            "error",
            Some(extract_api::Chain(error.as_ref()).to_string()),
        ),
        _ => ("other", None),
    }
}

/// What a run did.
#[pyclass(frozen, module = "kensho_extract")]
#[derive(Debug)]
pub struct BatchReport {
    report: Report,
}

impl BatchReport {
    fn new(report: Report) -> BatchReport {
        BatchReport { report }
    }
}

#[pymethods]
impl BatchReport {
    /// Each input's outcome, in the order they finished: dicts with `input`, `outcome`
    /// (`succeeded`, `already_done`, `failed`, `timed_out`, `conversion_failed`, `error`),
    /// `detail` and `written` (the files written).
    #[getter]
    fn documents<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyDict>>> {
        self.report
            .documents
            .iter()
            .map(|(input, outcome)| {
                let dict = PyDict::new(py);
                let (label, detail) = outcome_of(outcome);
                dict.set_item("input", input)?;
                dict.set_item("outcome", label)?;
                dict.set_item("detail", detail)?;
                let written: Vec<PathBuf> = match outcome {
                    BatchOutcome::Succeeded(files) => files.clone(),
                    BatchOutcome::ConversionFailed { written, .. } => written.clone(),
                    _ => Vec::new(),
                };
                dict.set_item("written", written)?;
                Ok(dict)
            })
            .collect()
    }

    /// The counts, as the CLI's `summary` event has them.
    #[getter]
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = &self.report.summary;
        let dict = PyDict::new(py);
        dict.set_item("succeeded", s.succeeded)?;
        dict.set_item("already_done", s.already_done)?;
        dict.set_item("resumed", s.resumed)?;
        dict.set_item("failed", s.failed)?;
        dict.set_item("conversion_failed", s.conversion_failed)?;
        dict.set_item("timed_out", s.timed_out.len())?;
        dict.set_item("errors", s.errors)?;
        dict.set_item(
            "resubmitted_after_unknown_outcome",
            s.resubmitted_after_unknown_outcome,
        )?;
        dict.set_item("submissions", s.submissions)?;
        dict.set_item("from_cache", s.from_cache)?;
        Ok(dict)
    }

    /// True when every input succeeded or was already done.
    #[getter]
    fn ok(&self) -> bool {
        let s = &self.report.summary;
        s.failed == 0 && s.errors == 0 && s.conversion_failed == 0 && s.timed_out.is_empty()
    }

    fn __repr__(&self) -> String {
        let s = &self.report.summary;
        format!(
            "<kensho_extract.BatchReport: {} succeeded, {} already done, {} resumed, {} failed, {} timed out, {} errors>",
            s.succeeded,
            s.already_done,
            s.resumed,
            s.failed,
            s.timed_out.len(),
            s.errors
        )
    }
}
