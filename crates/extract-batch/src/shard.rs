//! Shards: disjoint slices of one batch, one a worker, for any batch scheduler (Kubernetes
//! Indexed Jobs, AWS Batch and Slurm array jobs, a CI matrix). An input belongs to the shard its
//! key hashes to, so the N shards cover every input exactly once whatever order a listing
//! returns, and no worker needs to know what the others see.

use sha2::{Digest, Sha256};

/// Shard `index` of `count` (`2/8`: the third of eight).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

impl Shard {
    /// Shard `index` (from 0) of `count`; an error when `index` is not below `count`.
    pub fn new(index: u32, count: u32) -> Result<Shard, ShardError> {
        if count == 0 {
            return Err(ShardError::NoShards);
        }
        if index >= count {
            return Err(ShardError::OutOfRange { index, count });
        }
        Ok(Shard { index, count })
    }

    /// The whole batch as one shard (`0/1`).
    pub fn whole() -> Shard {
        Shard { index: 0, count: 1 }
    }

    /// Which shard this is, from 0.
    pub fn index(&self) -> u32 {
        self.index
    }

    /// How many shards there are.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Whether the input with manifest key `key` is this shard's.
    pub fn contains(&self, key: &str) -> bool {
        Self::of(key, self.count) == self.index
    }

    /// The shard of `count` that `key` belongs to: SHA-256, so the same on every machine,
    /// every version and every platform, and spread evenly.
    pub fn of(key: &str, count: u32) -> u32 {
        let digest = Sha256::digest(key.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        (u64::from_be_bytes(first) % u64::from(count.max(1))) as u32
    }

    /// The folder (under `.kensho-extract/`) that holds this shard's manifest and journal.
    pub fn dir_name(&self) -> String {
        format!("shard-{}-of-{}", self.index, self.count)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = ShardError;

    fn from_str(text: &str) -> Result<Shard, ShardError> {
        let malformed = || ShardError::Malformed {
            text: text.to_string(),
        };
        let (index, count) = text.split_once('/').ok_or_else(malformed)?;
        let number = |part: &str| part.trim().parse::<u32>().map_err(|_| malformed());
        Shard::new(number(index)?, number(count)?)
    }
}

/// Why a shard is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShardError {
    /// `N` is 0.
    #[error("a batch has at least one shard (N in I/N is 1 or more)")]
    NoShards,
    /// `I` is not below `N`.
    #[error(
        "shard {index} of {count} does not exist: I counts from 0 to {} (a Kubernetes Indexed Job's JOB_COMPLETION_INDEX does)",
        .count.saturating_sub(1)
    )]
    #[non_exhaustive]
    OutOfRange {
        /// The index given.
        index: u32,
        /// The count given.
        count: u32,
    },
    /// Not of the form `I/N`.
    #[error("`{text}` is not a shard: write I/N, such as 0/4")]
    #[non_exhaustive]
    Malformed {
        /// The text given.
        text: String,
    },
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!("2/8".parse::<Shard>(), Shard::new(2, 8));
        assert_eq!("2/8".parse::<Shard>().expect("shard").to_string(), "2/8");
        let refused = "8/8".parse::<Shard>().expect_err("refused");
        assert!(matches!(
            refused,
            ShardError::OutOfRange { index: 8, count: 8 }
        ));
        assert!(refused.to_string().contains("0 to 7"), "{refused}");
        assert!("0/0".parse::<Shard>().is_err());
        assert!(
            "x".parse::<Shard>()
                .expect_err("refused")
                .to_string()
                .contains("I/N")
        );
        assert!("-1/4".parse::<Shard>().is_err());
    }

    #[test]
    fn the_hash_is_fixed_across_versions() {
        // Changing the hash would move inputs between shards mid-run: pinned here.
        assert_eq!(
            Shard::of("s3://corpus/in/a.pdf", 1000),
            Shard::of("s3://corpus/in/a.pdf", 1000)
        );
        let spread: Vec<u32> = (0..6)
            .map(|i| Shard::of(&format!("doc-{i}.pdf"), 3))
            .collect();
        assert_eq!(spread, PINNED);
    }

    const PINNED: [u32; 6] = [0, 0, 2, 2, 2, 1];

    proptest! {
        /// Every key is in exactly one shard, for any N.
        #[test]
        fn shards_cover_every_key_once(keys in prop::collection::vec(".{0,40}", 1..50), count in 1u32..20) {
            for key in &keys {
                let owners = (0..count)
                    .filter(|&i| Shard::new(i, count).expect("shard").contains(key))
                    .count();
                prop_assert_eq!(owners, 1);
            }
        }
    }

    #[test]
    fn shards_are_about_even() {
        let mut sizes = [0usize; 3];
        for i in 0..600 {
            sizes[Shard::of(&format!("s3://corpus/in/{i:04}.pdf"), 3) as usize] += 1;
        }
        assert!(sizes.iter().all(|&n| (150..=250).contains(&n)), "{sizes:?}");
    }
}
