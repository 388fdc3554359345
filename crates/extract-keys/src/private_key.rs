//! The private half: generate, load, encode.

use std::fmt;
use std::path::Path;

use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use zeroize::Zeroizing;

use crate::{KeyError, KeySize, PublicKey, decode, generate};

/// An RSA private key of at least 2048 bits.
///
/// The key material is zeroized when the value is dropped (the inner `rsa` key implements
/// `ZeroizeOnDrop`), and neither `Debug` nor any error ever shows it: `Debug` prints the size
/// and the public thumbprint only.
///
/// ```
/// # fn main() -> Result<(), extract_keys::KeyError> {
/// use extract_keys::{KeySize, PrivateKey};
///
/// let key = PrivateKey::generate(KeySize::Rsa2048)?;
/// let pem = key.to_pkcs8_pem();
/// let again = PrivateKey::from_pem_or_der(pem.as_bytes())?;
/// assert_eq!(key.public_key(), again.public_key());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct PrivateKey {
    inner: RsaPrivateKey,
}

impl PrivateKey {
    /// Generates a new key with public exponent 65537.
    pub fn generate(size: KeySize) -> Result<Self, KeyError> {
        generate::generate(size).map(|inner| PrivateKey { inner })
    }

    /// Reads a key from PEM (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`) or DER bytes.
    ///
    /// Encrypted keys, public keys, certificates, EC and other non-RSA keys, and keys under
    /// 2048 bits are refused with an error that says what to do instead.
    pub fn from_pem_or_der(input: &[u8]) -> Result<Self, KeyError> {
        let inner = decode::private_key(input)?;
        let bits = inner.n().bits();
        if bits < 2048 {
            return Err(KeyError::TooSmall { bits });
        }
        Ok(PrivateKey { inner })
    }

    /// Reads a key file, as [`PrivateKey::from_pem_or_der`] does; errors name the file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let path = path.as_ref();
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| KeyError::io(path, e))?);
        Self::from_pem_or_der(&bytes).map_err(|e| e.in_file(path))
    }

    /// The key as PKCS#8 PEM (`BEGIN PRIVATE KEY`), what OpenSSL 3 writes.
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        match self.inner.to_pkcs8_pem(LineEnding::LF) {
            Ok(pem) => pem,
            // Encoding an in-memory, validated key cannot fail: it is only DER and base64.
            Err(e) => unreachable!("encoding a valid RSA key as PKCS#8: {e}"),
        }
    }

    /// The key as PKCS#8 DER, the form ring's `RsaKeyPair::from_pkcs8` takes for signing.
    pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        match self.inner.to_pkcs8_der() {
            Ok(doc) => Zeroizing::new(doc.as_bytes().to_vec()),
            Err(e) => unreachable!("encoding a valid RSA key as PKCS#8: {e}"),
        }
    }

    /// The key as PKCS#1 `RSAPrivateKey` DER, what `jsonwebtoken::EncodingKey::from_rsa_der` takes.
    pub fn to_pkcs1_der(&self) -> Zeroizing<Vec<u8>> {
        match self.inner.to_pkcs1_der() {
            Ok(doc) => Zeroizing::new(doc.as_bytes().to_vec()),
            Err(e) => unreachable!("encoding a valid RSA key as PKCS#1: {e}"),
        }
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_rsa(self.inner.to_public_key())
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.inner.n().bits()
    }
}

/// The inner `rsa` key wipes its numbers on drop; this marks that for callers who require it.
impl zeroize::ZeroizeOnDrop for PrivateKey {}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("bits", &self.bits())
            .field("thumbprint", &self.public_key().thumbprint())
            .finish_non_exhaustive()
    }
}
