//! The RSA key sizes we make.

use crate::KeyError;

/// An RSA modulus size this crate generates.
///
/// Kensho's Okta accepts RS256 keys of at least 2048 bits; larger keys cost more per signature
/// without a practical gain for a 5-minute client assertion, hence 2048 by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeySize {
    /// 2048 bits, the default and what `openssl genrsa` makes.
    #[default]
    Rsa2048,
    /// 3072 bits.
    Rsa3072,
    /// 4096 bits.
    Rsa4096,
}

impl KeySize {
    /// The modulus size in bits.
    pub fn bits(self) -> usize {
        match self {
            KeySize::Rsa2048 => 2048,
            KeySize::Rsa3072 => 3072,
            KeySize::Rsa4096 => 4096,
        }
    }
}

impl TryFrom<usize> for KeySize {
    type Error = KeyError;

    fn try_from(bits: usize) -> Result<Self, KeyError> {
        match bits {
            2048 => Ok(KeySize::Rsa2048),
            3072 => Ok(KeySize::Rsa3072),
            4096 => Ok(KeySize::Rsa4096),
            bits => Err(KeyError::UnsupportedSize { bits }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_three_sizes_and_refuses_the_rest() {
        for bits in [2048, 3072, 4096] {
            assert_eq!(KeySize::try_from(bits).map(KeySize::bits).ok(), Some(bits));
        }
        assert!(matches!(
            KeySize::try_from(1024),
            Err(KeyError::UnsupportedSize { bits: 1024 })
        ));
        assert!(matches!(
            KeySize::try_from(2049),
            Err(KeyError::UnsupportedSize { bits: 2049 })
        ));
        assert!(matches!(
            KeySize::try_from(8192),
            Err(KeyError::UnsupportedSize { bits: 8192 })
        ));
    }
}
