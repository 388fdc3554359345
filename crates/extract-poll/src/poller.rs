//! Polling one job: once, until done, or as a stream of events.

use std::sync::Arc;
use std::time::Duration;

use extract_api::{ExtractApi, OutputDocument, RetrievalMode, Status};
use futures_util::Stream;
use tokio::time::Instant;
use tracing::Instrument;

use crate::{JobHandle, JobState, PollError, PollingPolicy};

/// What happens while a job is waited for, for progress displays.
#[derive(Debug)]
#[non_exhaustive]
pub enum JobEvent {
    /// A poll answered.
    Polled {
        /// The request id.
        request_id: String,
        /// The state it reported (`pending`, …).
        state: &'static str,
        /// Polls so far.
        polls: u32,
        /// Time since the wait began.
        elapsed: Duration,
    },
    /// A poll failed in a way worth retrying (5xx, 429, no connection, a garbled body).
    Retrying {
        /// The request id.
        request_id: String,
        /// What went wrong.
        error: String,
        /// How long until the next try.
        wait: Duration,
    },
    /// The wait ended: the output, or why not.
    Done(Result<Box<OutputDocument>, PollError>),
}

/// Polls jobs through an [`ExtractApi`] under a [`PollPolicy`]. Time comes from tokio's clock.
///
/// ```no_run
/// # async fn run(client: extract_api::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use extract_poll::{JobHandle, PollPolicy, Poller};
/// let poller = Poller::new(client.clone(), PollPolicy::default());
/// let job: JobHandle = client.submit_file("report.pdf".as_ref(), &Default::default()).await?.into();
/// let document = poller.wait(&job).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Poller<A> {
    api: A,
    policy: Arc<dyn PollingPolicy>,
}

impl<A: ExtractApi> Poller<A> {
    /// A poller for `api`.
    pub fn new(api: A, policy: impl PollingPolicy + 'static) -> Self {
        Poller {
            api,
            policy: Arc::new(policy),
        }
    }

    /// A poller sharing a policy with others.
    pub fn with_shared_policy(api: A, policy: Arc<dyn PollingPolicy>) -> Self {
        Poller { api, policy }
    }

    /// The policy in use.
    pub fn policy(&self) -> &dyn PollingPolicy {
        &*self.policy
    }

    /// Asks once where the job is; downloads the output if it is done (pre-signed mode).
    pub async fn poll_once(&self, job: &JobHandle) -> Result<JobState, extract_api::ApiError> {
        match job.mode {
            RetrievalMode::Inline => {
                let status = self.api.status(&job.request_id, None).await?;
                Ok(match (status.status, status.output) {
                    (Status::Success, Some(output)) => JobState::Succeeded(Box::new(output)),
                    (Status::Success, None) => {
                        JobState::Failed("the service reported success but sent no output".into())
                    }
                    (other, _) => JobState::from_status(&other, status.error),
                })
            }
            RetrievalMode::Presigned => {
                let status = self.api.download_url(&job.request_id).await?;
                match (status.status, status.output_url) {
                    (Status::Success, Some(url)) => Ok(JobState::Succeeded(Box::new(
                        self.api.download(&url).await?,
                    ))),
                    (Status::Success, None) => Ok(JobState::Failed(
                        "the service reported success but sent no output URL".into(),
                    )),
                    (other, _) => Ok(JobState::from_status(&other, status.error)),
                }
            }
            other => Err(extract_api::ApiError::build(
                extract_api::ErrorKind::InvalidInput,
                format!("this version cannot poll requests of retrieval mode {other:?}"),
            )),
        }
    }

    /// Waits until the job is done; its output, or why not.
    pub async fn wait(&self, job: &JobHandle) -> Result<OutputDocument, PollError> {
        self.wait_with(job, |_| {}).await
    }

    /// Waits until the job is done, telling `on_event` about every poll and retry.
    pub async fn wait_with(
        &self,
        job: &JobHandle,
        mut on_event: impl FnMut(JobEvent) + Send,
    ) -> Result<OutputDocument, PollError> {
        let span =
            tracing::info_span!("extract_job", request_id = %job.request_id, mode = ?job.mode);
        async {
            let mut wait = Wait::new(&*self.policy);
            loop {
                match self.step(job, &mut wait).await {
                    JobEvent::Done(result) => return result.map(|output| *output),
                    event => on_event(event),
                }
            }
        }
        .instrument(span)
        .await
    }

    /// One step of a wait: sleeps until the next poll, polls, and says what happened. Every
    /// await is here, so a caller that stops asking (drops the future or stream) stops polling.
    async fn step(&self, job: &JobHandle, wait: &mut Wait) -> JobEvent {
        let past_deadline = |wait: &Wait| {
            JobEvent::Done(Err(PollError::Deadline {
                request_id: job.request_id.clone(),
                elapsed: wait.start.elapsed(),
                polls: wait.polls,
                last_status: wait.last.to_string(),
            }))
        };
        tokio::time::sleep_until(later(Instant::now(), wait.next).min(wait.deadline)).await;
        if Instant::now() >= wait.deadline {
            return past_deadline(wait);
        }
        wait.polls += 1;
        // The deadline is hard: a poll in flight (with its own retries) gets the time left.
        let Ok(polled) = tokio::time::timeout_at(wait.deadline, self.poll_once(job)).await else {
            return past_deadline(wait);
        };
        let polls = wait.polls;
        match polled {
            Ok(JobState::Succeeded(output)) => JobEvent::Done(Ok(output)),
            Ok(JobState::Failed(error)) => JobEvent::Done(Err(PollError::Failed {
                request_id: job.request_id.clone(),
                error,
            })),
            Ok(state) => {
                wait.last = state.label();
                // Each wait is drawn once, so the wait reported is the wait slept.
                wait.next = self.policy.delay(polls + 1, None);
                JobEvent::Polled {
                    request_id: job.request_id.clone(),
                    state: wait.last,
                    polls,
                    elapsed: wait.start.elapsed(),
                }
            }
            Err(error) if error.is_transient() => {
                wait.next = self.policy.delay(polls + 1, error.retry_after());
                JobEvent::Retrying {
                    request_id: job.request_id.clone(),
                    error: extract_api::Chain(&error).to_string(),
                    wait: wait.next,
                }
            }
            Err(source) => JobEvent::Done(Err(PollError::Api {
                request_id: job.request_id.clone(),
                source,
            })),
        }
    }
}

/// Where a wait is: when it began, its deadline, polls so far, the last state, the next wait.
#[derive(Debug)]
struct Wait {
    start: Instant,
    deadline: Instant,
    polls: u32,
    last: &'static str,
    next: Duration,
}

/// The longest a wait or a delay is taken to be: a policy may say `Duration::MAX` ("no
/// deadline"), which no clock can add. About thirty years, as tokio's own "far future".
const FOREVER: Duration = Duration::from_secs(30 * 365 * 86_400);

/// `at + after`, with `after` at most [`FOREVER`], so the sum never overflows.
fn later(at: Instant, after: Duration) -> Instant {
    let after = after.min(FOREVER);
    at.checked_add(after).unwrap_or(at)
}

impl Wait {
    fn new(policy: &dyn PollingPolicy) -> Wait {
        let start = Instant::now();
        Wait {
            start,
            deadline: later(start, policy.deadline()),
            polls: 0,
            last: "submitted",
            next: policy.delay(1, None),
        }
    }
}

impl<A: ExtractApi + Clone + 'static> Poller<A> {
    /// The wait as a stream of events, ending with [`JobEvent::Done`]. The consumer drives
    /// it: nothing is polled while the stream is not read, and dropping it stops all requests
    /// (the request in flight is cancelled with it).
    #[must_use = "a stream does nothing unless polled"]
    pub fn events(&self, job: JobHandle) -> impl Stream<Item = JobEvent> + Send + 'static {
        struct Running<A> {
            poller: Poller<A>,
            job: JobHandle,
            wait: Wait,
            done: bool,
        }
        let running = Running {
            poller: self.clone(),
            wait: Wait::new(&*self.policy),
            job,
            done: false,
        };
        futures_util::stream::unfold(running, |mut running| async move {
            if running.done {
                return None;
            }
            let event = running.poller.step(&running.job, &mut running.wait).await;
            running.done = matches!(event, JobEvent::Done(_));
            Some((event, running))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::PollPolicy;
    use std::sync::atomic::{AtomicU32, Ordering};

    use extract_api::{ApiError, ExtractionStatus, MockExtractApi};
    use futures_util::StreamExt;

    use super::*;

    fn status(status: Status) -> ExtractionStatus {
        serde_json::from_value(serde_json::json!({"status": status.as_str(), "error": if status == Status::Failed { Some("bad scan") } else { None }, "output": if status == Status::Success { Some(serde_json::json!({"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": []}, "annotations": []})) } else { None }})).expect("status")
    }

    /// A mock answering `pending` until `done_after` has passed on tokio's clock, then `last`.
    fn timed(done_after: Duration, last: Status, polls: Arc<AtomicU32>) -> Arc<MockExtractApi> {
        let start = Instant::now();
        let mut api = MockExtractApi::new();
        api.expect_status().returning(move |_, _| {
            polls.fetch_add(1, Ordering::SeqCst);
            Ok(status(if start.elapsed() >= done_after {
                last.clone()
            } else {
                Status::Pending
            }))
        });
        Arc::new(api)
    }

    fn inline() -> JobHandle {
        JobHandle::new(
            "7d7c1c64-2a2b-4c4b-9e4e-6c0a3a1a2b3c",
            RetrievalMode::Inline,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn a_ten_second_job_is_noticed_within_1_5_s_in_at_most_10_polls() {
        let polls = Arc::new(AtomicU32::new(0));
        let poller = Poller::new(
            timed(Duration::from_secs(10), Status::Success, polls.clone()),
            PollPolicy::default(),
        );
        let start = Instant::now();
        poller.wait(&inline()).await.expect("succeeds");
        let late = start.elapsed() - Duration::from_secs(10);
        assert!(late <= Duration::from_millis(1500), "noticed {late:?} late");
        assert!(
            polls.load(Ordering::SeqCst) <= 10,
            "{} polls",
            polls.load(Ordering::SeqCst)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn limits_past_any_clock_mean_no_limit() {
        let policy = PollPolicy::default()
            .with_deadline(Duration::MAX)
            .with_delays(Duration::from_secs(1), 1e300, Duration::MAX)
            .with_max_retry_after(Duration::MAX);
        let poller = Poller::new(
            timed(Duration::from_secs(10), Status::Success, Arc::default()),
            policy,
        );
        // Delays that grow to Duration::MAX are what was asked for: the wait neither
        // panics nor ends within the hour.
        let waited = tokio::time::timeout(Duration::from_secs(3600), poller.wait(&inline())).await;
        assert!(waited.is_err());
        let poller = Poller::new(
            timed(Duration::from_secs(10), Status::Success, Arc::default()),
            PollPolicy::default().with_deadline(Duration::MAX),
        );
        poller.wait(&inline()).await.expect("no deadline: done");
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_job_ends_with_the_services_reason() {
        let poller = Poller::new(
            timed(Duration::from_secs(3), Status::Failed, Arc::default()),
            PollPolicy::default(),
        );
        match poller.wait(&inline()).await {
            Err(PollError::Failed { error, .. }) => assert_eq!(error, "bad scan"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_is_a_distinct_error_with_the_facts() {
        let policy = PollPolicy::default().with_deadline(Duration::from_secs(20));
        let poller = Poller::new(
            timed(Duration::from_secs(3600), Status::Success, Arc::default()),
            policy,
        );
        let start = Instant::now();
        match poller.wait(&inline()).await {
            Err(PollError::Deadline {
                elapsed,
                polls,
                last_status,
                request_id,
            }) => {
                assert_eq!(elapsed, Duration::from_secs(20));
                assert_eq!(
                    start.elapsed(),
                    Duration::from_secs(20),
                    "no wait past the deadline"
                );
                assert!(polls >= 13, "{polls}");
                assert_eq!(last_status, "pending");
                assert_eq!(request_id, inline().request_id);
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_honouring_retry_after_and_permanent_ones_end_the_wait()
    {
        let calls = Arc::new(AtomicU32::new(0));
        let counter = calls.clone();
        let mut api = MockExtractApi::new();
        api.expect_status()
            .returning(move |_, _| match counter.fetch_add(1, Ordering::SeqCst) {
                0 => Err(ApiError::connect(
                    "GET",
                    std::io::Error::from(std::io::ErrorKind::ConnectionRefused),
                )),
                1 => {
                    Err(ApiError::service("GET", 429, "").with_retry_after(Duration::from_secs(9)))
                }
                2 => Err(ApiError::decode("GET", 200, "{\"sta", "EOF while parsing")),
                _ => Ok(status(Status::Success)),
            });
        let poller = Poller::new(Arc::new(api), PollPolicy::default());
        let start = Instant::now();
        let mut retries = Vec::new();
        poller
            .wait_with(&inline(), |e| {
                if let JobEvent::Retrying { wait, .. } = e {
                    retries.push(wait)
                }
            })
            .await
            .expect("succeeds");
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        assert_eq!(retries[1], Duration::from_secs(9), "Retry-After honoured");
        assert!(start.elapsed() >= Duration::from_secs(9));

        let mut gone = MockExtractApi::new();
        gone.expect_status()
            .returning(|_, _| Err(ApiError::service("GET", 404, "")));
        let poller = Poller::new(Arc::new(gone), PollPolicy::default());
        assert!(matches!(
            poller.wait(&inline()).await,
            Err(PollError::Api { .. })
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn unknown_statuses_count_as_running() {
        let calls = Arc::new(AtomicU32::new(0));
        let counter = calls.clone();
        let mut api = MockExtractApi::new();
        api.expect_status().returning(move |_, _| {
            if counter.fetch_add(1, Ordering::SeqCst) < 2 {
                Ok(
                    serde_json::from_value(serde_json::json!({"status": "queued_for_gpu"}))
                        .expect("status"),
                )
            } else {
                Ok(status(Status::Success))
            }
        });
        let poller = Poller::new(Arc::new(api), PollPolicy::default());
        poller.wait(&inline()).await.expect("succeeds");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn events_stream_ends_with_done() {
        let poller = Poller::new(
            timed(Duration::from_secs(4), Status::Success, Arc::default()),
            PollPolicy::default(),
        );
        let events: Vec<JobEvent> = poller.events(inline()).collect().await;
        assert!(matches!(
            events.first(),
            Some(JobEvent::Polled {
                state: "pending",
                polls: 1,
                ..
            })
        ));
        assert!(matches!(events.last(), Some(JobEvent::Done(Ok(_)))));
    }

    #[tokio::test(start_paused = true)]
    async fn presigned_jobs_are_downloaded_when_done() {
        let mut api = MockExtractApi::new();
        api.expect_download_url().returning(|_| {
            Ok(serde_json::from_value(
                serde_json::json!({"status": "success", "output_url": "https://storage/x"}),
            )
            .expect("status"))
        });
        api.expect_download().withf(|url| url == "https://storage/x").returning(|_| {
            Ok(serde_json::from_value(serde_json::json!({"content_tree": {"uid": "0", "type": "DOCUMENT", "content": null, "children": []}, "annotations": []})).expect("doc"))
        });
        let poller = Poller::new(Arc::new(api), PollPolicy::default());
        let job = JobHandle::new(inline().request_id, RetrievalMode::Presigned);
        assert!(poller.wait(&job).await.is_ok());
    }

    /// A duration as a setting or a server might give it: zero, tiny, ordinary, huge, or
    /// `Duration::MAX`.
    fn any_duration() -> impl proptest::strategy::Strategy<Value = Duration> {
        use proptest::prelude::*;
        prop_oneof![
            Just(Duration::ZERO),
            Just(Duration::MAX),
            Just(Duration::from_secs(u64::MAX)),
            (0u64..5_000).prop_map(Duration::from_millis),
            any::<u64>().prop_map(Duration::from_secs),
            any::<u64>().prop_map(Duration::from_nanos),
        ]
    }

    fn any_f64() -> impl proptest::strategy::Strategy<Value = f64> {
        use proptest::prelude::*;
        prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(f64::MAX),
            Just(-1.0),
            Just(1e300),
            0.0..3.0,
        ]
    }

    /// An answer to a poll: a status decoded from any JSON (through the same deserializer
    /// the client uses), or a failure with any `Retry-After`.
    fn any_answer()
    -> impl proptest::strategy::Strategy<Value = Result<serde_json::Value, Option<Duration>>> {
        use proptest::prelude::*;
        let status = prop_oneof![
            Just(serde_json::json!("pending")),
            Just(serde_json::json!("success")),
            Just(serde_json::json!("failed")),
            ".{0,12}".prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            Just(serde_json::json!(u64::MAX)),
            Just(serde_json::json!(-1.5)),
        ];
        let text = prop_oneof![
            Just(serde_json::Value::Null),
            ".{0,40}".prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            (1usize..50_000).prop_map(|n| serde_json::Value::from("x".repeat(n))),
        ];
        prop_oneof![
            3 => (status, text.clone(), text).prop_map(|(status, error, output)| {
                Ok(serde_json::json!({"status": status, "error": error, "output": output, "metadata": {"num_pages": u64::MAX}}))
            }),
            1 => prop::option::of(any_duration()).prop_map(Err),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Whatever the policy's numbers (deadlines and delays up to `Duration::MAX`, factors
        /// and jitter of any float) and whatever the service answers, a wait never panics or
        /// overflows: it ends with an output, the job's failure, an error or its deadline.
        #[test]
        fn no_policy_or_answer_panics(
            first in any_duration(),
            factor in any_f64(),
            max_delay in any_duration(),
            jitter in any_f64(),
            floor in any_duration(),
            max_retry_after in any_duration(),
            deadline in any_duration(),
            answers in proptest::collection::vec(any_answer(), 1..6),
            predicted in proptest::option::of(any_duration()),
        ) {
            let policy = PollPolicy::default()
                .with_delays(first, factor, max_delay)
                .with_jitter(jitter)
                .with_floor(floor)
                .with_max_retry_after(max_retry_after)
                .with_deadline(deadline);
            for poll in [0, 1, 2, 64, u32::MAX] {
                for asked in [None, Some(Duration::ZERO), Some(Duration::MAX)] {
                    let _ = crate::PollingPolicy::delay(&policy, poll, asked);
                }
            }
            let calls = Arc::new(AtomicU32::new(0));
            let counter = calls.clone();
            let mut api = MockExtractApi::new();
            api.expect_status().returning(move |_, _| {
                let n = counter.fetch_add(1, Ordering::SeqCst) as usize;
                // Ends after a few rounds: a policy of zero delays would otherwise poll for
                // ever without the paused clock moving.
                if n >= 3 * answers.len() {
                    return Ok(status(Status::Success));
                }
                match &answers[n % answers.len()] {
                    Ok(json) => serde_json::from_value::<ExtractionStatus>(json.clone())
                        .map_err(|e| ApiError::decode("GET", 200, "", e)),
                    Err(retry_after) => {
                        let error = ApiError::service("GET", 503, "");
                        Err(match retry_after {
                            Some(wait) => error.with_retry_after(*wait),
                            None => error,
                        })
                    }
                }
            });
            let base: Arc<dyn PollingPolicy> = Arc::new(policy);
            let policy = match predicted {
                Some(expected) => crate::Pace::policy(expected, base),
                None => base,
            };
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .start_paused(true)
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let poller = Poller::with_shared_policy(Arc::new(api), policy);
                let waited = tokio::time::timeout(
                    Duration::from_secs(7 * 86_400),
                    poller.wait(&inline()),
                )
                .await;
                if let Ok(Err(error)) = waited {
                    let _ = (error.to_string(), error.is_transient(), error.retry_after());
                }
            });
            let pace = crate::Pace::default();
            for (pending, done) in [(Some(Duration::MAX), Duration::MAX), (None, Duration::MAX), (Some(first), deadline)] {
                pace.record(u32::MAX, pending, done);
                pace.record(1, pending, done);
            }
            let _ = (pace.predict(u32::MAX), pace.predict(1));
        }
    }
}
