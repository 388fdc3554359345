//! `kensho-extract wait ID`: wait for a submitted request and write its output; also how any
//! command waits for one job with progress on stderr.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use extract_api::Client;
use extract_poll::{JobEvent, JobHandle, PollPolicy, Poller};

use crate::Failure;
use crate::deadline::within;
use crate::events::{EventFormat, Events};
use crate::exit::{DEADLINE, SERVICE_FAILED};
use crate::mode::mode_of;
use crate::progress::spinner;
use crate::settings::Settings;

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The request id `submit` printed.
    id: String,
    /// Give up after this many seconds (exit code 4; the job may still finish).
    #[arg(long, value_name = "SECONDS", default_value_t = 1800, value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,
    /// Write the output document here (atomically) instead of to stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Report progress as events on stdout (`jsonl`: docs/pipeline.md); needs `-o FILE`.
    #[arg(long, value_enum, value_name = "FORMAT")]
    events: Option<EventFormat>,
}

/// Waits for `job`, showing progress on stderr (a spinner on a terminal, a line per state change
/// otherwise); the output document.
pub async fn wait_for(
    client: &Client,
    job: &JobHandle,
    policy: PollPolicy,
    events: Option<&Events>,
) -> Result<extract_api::OutputDocument, Failure> {
    let poller = Poller::new(client.clone(), policy);
    // Events replace the progress lines; --quiet drops them.
    let silent = events.is_some() || crate::quiet();
    let terminal = std::io::stderr().is_terminal() && !silent;
    let bar = terminal.then(|| spinner(format!("request {}: submitted", job.request_id)));
    let mut last = String::new();
    let result = poller
        .wait_with(job, |event| {
            if let Some(events) = events {
                events.job(&event);
            }
            if silent {
                return;
            }
            let line = match event {
                JobEvent::Polled { state, polls, .. } => {
                    format!("request {}: {state} (poll {polls})", job.request_id)
                }
                JobEvent::Retrying { error, .. } => {
                    format!("request {}: retrying after: {error}", job.request_id)
                }
                _ => return,
            };
            match &bar {
                Some(bar) => bar.set_message(line),
                // Without a terminal, a line per change of state, not per poll.
                None => {
                    let state = line
                        .split(": ")
                        .nth(1)
                        .unwrap_or_default()
                        .split(" (poll")
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    if state != last {
                        eprintln!("{line}");
                        last = state;
                    }
                }
            }
        })
        .await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(result?)
}

/// The `kind` of a `failed` event for a failure of `wait`.
fn failure_kind(error: &Failure) -> &'static str {
    match crate::exit::code_of(error) {
        SERVICE_FAILED => "service",
        DEADLINE => "deadline",
        _ => "error",
    }
}

pub fn run(args: WaitArgs, settings: &Settings) -> Result<(), Failure> {
    if args.events.is_some()
        && args
            .output
            .as_deref()
            .is_none_or(|p| p == std::path::Path::new("-"))
    {
        return Err(crate::exit::coded(
            2,
            "--events writes events on stdout: give -o FILE for the output document",
        ));
    }
    let limit = Duration::from_secs(args.timeout);
    let id = args.id.clone();
    let events = args.events.map(|_| Events::default());
    let sink = events.as_ref();
    let result = crate::block_on(within(
        limit,
        &format!(
            "request {id} was not done; it may still finish: resume with `kensho-extract wait {id}`"
        ),
        async move {
            let started = tokio::time::Instant::now();
            let client = settings.client()?;
            let mode = mode_of(&client, &args.id).await?;
            let job = JobHandle::new(args.id.clone(), mode);
            // The polls get what is left of the command's deadline.
            let policy =
                PollPolicy::default().with_deadline(limit.saturating_sub(started.elapsed()));
            let document = wait_for(&client, &job, policy, sink).await?;
            crate::output::write(
                args.output.as_deref(),
                &serde_json::to_vec_pretty(&document)?,
            )?;
            if let (Some(events), Some(path)) = (sink, &args.output) {
                events.emit(
                    "written",
                    serde_json::json!({ "request_id": args.id, "path": path.display().to_string() }),
                );
                events.emit(
                    "succeeded",
                    serde_json::json!({ "request_id": args.id, "already_done": false }),
                );
            }
            Ok(())
        },
    ));
    // Whatever ended the wait (the service, the deadline, the network), the stream says so.
    if let (Err(error), Some(events)) = (&result, &events) {
        events.emit(
            "failed",
            serde_json::json!({ "request_id": id, "kind": failure_kind(error), "reason": crate::exit::describe(&**error) }),
        );
    }
    result
}
