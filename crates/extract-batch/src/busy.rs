//! Refusals a program (and the CLI) can recognise: the folder or shard is another run's, or a
//! file this crate did not write is in the way. Each travels inside the [`std::io::Error`] the
//! call returns (kind `WouldBlock` and `AlreadyExists`): find it with
//! `error.get_ref().and_then(|e| e.downcast_ref::<InUse>())`.

/// The output folder or a shard is in use by another run or worker.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
#[non_exhaustive]
pub struct InUse {
    /// What is in use, who holds it, and for how long.
    pub message: String,
}

/// A file that no run of this crate wrote is where an output goes; it is left alone unless
/// the runner may overwrite ([`crate::BatchRunner::overwrite`]).
#[derive(Debug, thiserror::Error)]
#[error("a file that no batch run wrote is there")]
#[non_exhaustive]
pub struct ForeignFile;

impl InUse {
    pub(crate) fn error(message: String) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::WouldBlock, InUse { message })
    }
}

impl ForeignFile {
    pub(crate) fn error() -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::AlreadyExists, ForeignFile)
    }
}
