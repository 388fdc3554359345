//! RSA keypairs for Kensho Extract's keypair authentication.
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use extract_keys::{KeySize, PrivateKey, write_keypair};
//!
//! let dir = tempfile::tempdir()?;
//! let key = PrivateKey::generate(KeySize::default())?;
//! let paths = write_keypair(dir.path(), &key, false)?;
//! // Send `paths.public` to Kensho for a Client ID; keep `paths.private` here.
//! let kid = key.public_key().thumbprint();
//! assert_eq!(kid.len(), 43);
//! # Ok(())
//! # }
//! ```
//!
//! This is what users otherwise do with `openssl genrsa` and `openssl rsa -pubout`: keys are
//! generated (2048, 3072 or 4096 bits), loaded from every form OpenSSL writes (PKCS#8 and PKCS#1,
//! PEM and DER), written safely (private key mode 0600, atomically, never silently replacing a
//! key), and exported as SPKI PEM or a JWK with its RFC 7638 thumbprint. Nothing here touches the
//! network. Key material is zeroized on drop and never printed.
#![warn(missing_docs)]

mod decode;
mod error;
mod files;
mod generate;
mod jwk;
mod private_key;
mod public_key;
mod size;

pub use error::KeyError;
#[cfg(unix)]
pub use files::open_to_others;
pub use files::{KeyPaths, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE, write_keypair};
pub use jwk::Jwk;
pub use private_key::PrivateKey;
pub use public_key::PublicKey;
pub use size::KeySize;
