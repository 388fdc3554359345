//! The hard deadline every waiting command keeps (`--timeout`).

use std::time::Duration;

use crate::Failure;
use crate::exit::{DEADLINE, coded};

/// Runs `work` under a hard deadline: past `limit`, whatever it is waiting for, it stops and
/// the command exits 4 saying how long it waited and `what` to do.
pub async fn within<T>(
    limit: Duration,
    what: &str,
    work: impl std::future::Future<Output = Result<T, Failure>>,
) -> Result<T, Failure> {
    let started = tokio::time::Instant::now();
    match tokio::time::timeout(limit, work).await {
        Ok(result) => result,
        Err(_) => Err(coded(
            DEADLINE,
            format!(
                "stopped at the --timeout deadline after {:.1}s: {what}",
                started.elapsed().as_secs_f64()
            ),
        )),
    }
}
