//! What `run` and `wait` show on stderr while they work: bars and spinners on a terminal, a line
//! per change elsewhere, nothing with `--quiet` or `--events`. Names and reasons from outside are
//! escaped.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use extract_batch::names::escaped;
use extract_batch::{BatchEvent, BatchOutcome};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// A spinner with the time since it started.
pub fn spinner(message: String) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// What `run` shows while it works.
pub struct Display {
    multi: Option<MultiProgress>,
    overall: Option<ProgressBar>,
    jobs: Mutex<HashMap<PathBuf, ProgressBar>>,
}

impl Display {
    /// A display on stderr: bars on a terminal, lines elsewhere, nothing when `hidden`.
    pub fn new(total: u64, hidden: bool) -> Display {
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

    pub fn event(&self, event: BatchEvent) {
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

    pub fn finish(&self) {
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
