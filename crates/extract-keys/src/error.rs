//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong with keys, each variant saying what to do next.
///
/// Its `Display` is this level's message; the cause, when there is one, is `source()` (a file's
/// name, then what is wrong with it).
///
/// No variant ever carries key material: a message can be logged or shown safely.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// A key size this crate does not make or accept.
    #[error(
        "unsupported RSA key size {bits} bits: use 2048, 3072 or 4096 (Kensho requires at least 2048)"
    )]
    #[non_exhaustive]
    UnsupportedSize {
        /// The size that was asked for or found.
        bits: usize,
    },
    /// The key is smaller than 2048 bits, which Kensho's auth refuses.
    #[error("the RSA key has only {bits} bits; Kensho needs at least 2048")]
    #[non_exhaustive]
    TooSmall {
        /// The size of the key that was given.
        bits: usize,
    },
    /// The key is protected by a passphrase.
    #[error(
        "the private key is encrypted with a passphrase; decrypt it first with `openssl pkey -in KEY -out decrypted.pem` and keep that file private"
    )]
    Encrypted,
    /// A public key (or certificate) was given where a private key is needed.
    #[error(
        "this is a {what}, not a private key: give the private key (usually private.pem) instead"
    )]
    #[non_exhaustive]
    NotPrivate {
        /// What was found instead, such as "public key".
        what: &'static str,
    },
    /// A private key of another algorithm, such as EC or Ed25519.
    #[error("this is an {algorithm} key, but Kensho uses RSA keys")]
    #[non_exhaustive]
    NotRsa {
        /// The algorithm found, such as "EC".
        algorithm: String,
    },
    /// The input is not a key in any format this crate reads.
    #[error(
        "not a valid RSA key ({detail}): expected PEM (PKCS#8 `BEGIN PRIVATE KEY` or PKCS#1 `BEGIN RSA PRIVATE KEY`) or DER"
    )]
    #[non_exhaustive]
    Malformed {
        /// What the parser said, free of key material.
        detail: String,
    },
    /// The input is empty.
    #[error("the key is empty")]
    Empty,
    /// Making a key failed (the operating system's random source, in practice).
    #[error("could not generate an RSA key: {detail}")]
    #[non_exhaustive]
    Generation {
        /// What failed.
        detail: String,
    },
    /// A key file is already there and overwriting was not asked for.
    #[error("{} already exists", path.display())]
    #[non_exhaustive]
    Exists {
        /// The file that would have been replaced.
        path: PathBuf,
    },
    /// A file could not be read or written.
    #[error("{}", path.display())]
    #[non_exhaustive]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// A problem with the contents of a named file.
    #[error("{}", path.display())]
    #[non_exhaustive]
    InFile {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong with its contents.
        #[source]
        source: Box<KeyError>,
    },
}

impl KeyError {
    pub(crate) fn malformed(detail: impl ToString) -> Self {
        KeyError::Malformed {
            detail: detail.to_string(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        KeyError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn in_file(self, path: impl Into<PathBuf>) -> Self {
        KeyError::InFile {
            path: path.into(),
            source: Box::new(self),
        }
    }
}
