//! One tokio runtime for the process, shared by the blocking calls and the asyncio ones
//! (pyo3-async-runtimes owns it), and how a blocking call waits: without the GIL, and
//! interruptible by Ctrl-C.

use std::future::Future;
use std::time::Duration;

use pyo3::prelude::*;

/// How often a blocking call looks for a signal (Ctrl-C) while it waits.
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// Runs `work` to its end on the shared runtime with the GIL released, so other Python threads
/// run meanwhile. A signal handler that raises (Ctrl-C's `KeyboardInterrupt`) ends the wait and
/// drops `work`, which cancels whatever it was doing; the exception is the result.
pub fn wait<T, F>(py: Python<'_>, work: F) -> PyResult<T>
where
    F: Future<Output = PyResult<T>> + Send,
    T: Send,
{
    let runtime = pyo3_async_runtimes::tokio::get_runtime();
    py.detach(|| {
        runtime.block_on(async move {
            tokio::select! {
                result = work => result,
                interrupted = interrupted() => Err(interrupted),
            }
        })
    })
}

/// Resolves when Python's signal handlers raise (only the main thread runs them; elsewhere
/// this never resolves).
async fn interrupted() -> PyErr {
    loop {
        tokio::time::sleep(SIGNAL_CHECK).await;
        if let Err(error) = Python::attach(|py| py.check_signals()) {
            return error;
        }
    }
}

/// An awaitable for asyncio that runs `work` on the shared runtime.
pub fn awaitable<'py, T, F>(py: Python<'py>, work: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    pyo3_async_runtimes::tokio::future_into_py(py, work)
}
