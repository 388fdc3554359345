//! Fault injection: a share of answers that go wrong the way real services do.

use std::str::FromStr;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// Which faults to inject and how often (each a probability from 0 to 1, drawn per request).
///
/// Parsed from a comma-separated list, as the emulator command's faults option takes it:
/// `500=0.1,429=0.05,drop=0.02,slow=0.1,slow-ms=1500,truncate=0.05,expire=0.05,retry-after=2,revoke-after=3,refuse-tokens-after=5,seed=7`.
///
/// ```
/// use extract_emulator::FaultSpec;
/// let spec: FaultSpec = "500=0.1,429=0.05,drop=0.02,seed=7".parse()?;
/// assert_eq!(spec.error_500, 0.1);
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    /// Answer 500 after the request was handled (so a submission may have created a job).
    pub error_500: f64,
    /// Answer 429 with `Retry-After` before handling anything.
    pub throttle_429: f64,
    /// The `Retry-After` seconds sent with a 429.
    pub retry_after_secs: u64,
    /// Close the connection without an answer, after the request was handled.
    pub drop: f64,
    /// Answer after a delay of `slow_delay`.
    pub slow: f64,
    /// The delay of a slow answer.
    pub slow_delay: Duration,
    /// Send only the first half of the answer's body.
    pub truncate: f64,
    /// Refuse a still-valid access token as expired (401), as if it expired early.
    pub expire_token: f64,
    /// Revoke each access token after this many uses: the API answers 401 ("The access
    /// token has expired") to every request that carries it after the N-th, as a service
    /// that limits a token's uses does. Not drawn: every token, deterministically. `None`:
    /// tokens live their lifetime.
    pub revoke_after: Option<u64>,
    /// Refuse every token request after this many tokens were issued (client assertions and
    /// refresh tokens together): a client assertion is answered 401 `invalid_client` ("The
    /// client has been deactivated"), a refresh token 401 `invalid_grant`, as Okta answers
    /// once a client is deactivated or its key or grant revoked. Not drawn. `None`: never.
    pub refuse_tokens_after: Option<u64>,
    /// Seed for the draws, for reproducible runs; random when absent.
    pub seed: Option<u64>,
}

impl Default for FaultSpec {
    fn default() -> Self {
        FaultSpec {
            error_500: 0.0,
            throttle_429: 0.0,
            retry_after_secs: 1,
            drop: 0.0,
            slow: 0.0,
            slow_delay: Duration::from_secs(2),
            truncate: 0.0,
            expire_token: 0.0,
            revoke_after: None,
            refuse_tokens_after: None,
            seed: None,
        }
    }
}

impl FaultSpec {
    /// True when no fault can happen.
    pub fn is_none(&self) -> bool {
        self.revoke_after.is_none() && self.refuse_tokens_after.is_none() && self.shares_are_zero()
    }

    /// True when no fault is drawn (a revocation after N uses is not drawn).
    fn shares_are_zero(&self) -> bool {
        self.error_500
            + self.throttle_429
            + self.drop
            + self.slow
            + self.truncate
            + self.expire_token
            == 0.0
    }
}

impl FromStr for FaultSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let mut spec = FaultSpec::default();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| format!("fault `{item}` needs a value, as in `500=0.1`"))?;
            let share = || -> Result<f64, String> {
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|p| (0.0..=1.0).contains(p))
                    .ok_or_else(|| {
                        format!("fault `{key}` takes a share from 0 to 1, not `{value}`")
                    })
            };
            let whole = || -> Result<u64, String> {
                value
                    .parse::<u64>()
                    .map_err(|_| format!("`{key}` takes a whole number, not `{value}`"))
            };
            match key {
                "500" => spec.error_500 = share()?,
                "429" => spec.throttle_429 = share()?,
                "drop" => spec.drop = share()?,
                "slow" => spec.slow = share()?,
                "truncate" => spec.truncate = share()?,
                "expire" => spec.expire_token = share()?,
                "slow-ms" => spec.slow_delay = Duration::from_millis(whole()?),
                "retry-after" => spec.retry_after_secs = whole()?,
                "revoke-after" => spec.revoke_after = Some(whole()?),
                "refuse-tokens-after" => spec.refuse_tokens_after = Some(whole()?),
                "seed" => spec.seed = Some(whole()?),
                other => {
                    return Err(format!(
                        "unknown fault `{other}`: use 500, 429, drop, slow, truncate, expire, slow-ms, retry-after, revoke-after, refuse-tokens-after, seed"
                    ));
                }
            }
        }
        let total = spec.error_500
            + spec.throttle_429
            + spec.drop
            + spec.slow
            + spec.truncate
            + spec.expire_token;
        if total > 1.0 {
            return Err(format!("the fault shares add up to {total}, more than 1"));
        }
        Ok(spec)
    }
}

/// One request's fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    None,
    Error500,
    Throttle,
    Drop,
    Slow,
    Truncate,
    ExpireToken,
}

impl Fault {
    pub(crate) fn name(self) -> Option<&'static str> {
        match self {
            Fault::None => None,
            Fault::Error500 => Some("500"),
            Fault::Throttle => Some("429"),
            Fault::Drop => Some("drop"),
            Fault::Slow => Some("slow"),
            Fault::Truncate => Some("truncate"),
            Fault::ExpireToken => Some("expire"),
        }
    }
}

/// Draws faults according to a spec.
#[derive(Debug)]
pub(crate) struct Injector {
    spec: FaultSpec,
    rng: StdRng,
}

impl Injector {
    pub(crate) fn new(spec: FaultSpec) -> Self {
        let rng = spec
            .seed
            .map_or_else(StdRng::from_entropy, StdRng::seed_from_u64);
        Injector { spec, rng }
    }

    pub(crate) fn spec(&self) -> &FaultSpec {
        &self.spec
    }

    pub(crate) fn set_spec(&mut self, spec: FaultSpec) {
        *self = Injector::new(spec);
    }

    pub(crate) fn draw(&mut self) -> Fault {
        if self.spec.shares_are_zero() {
            return Fault::None;
        }
        let u: f64 = self.rng.r#gen();
        let s = &self.spec;
        let table = [
            (s.error_500, Fault::Error500),
            (s.throttle_429, Fault::Throttle),
            (s.drop, Fault::Drop),
            (s.slow, Fault::Slow),
            (s.truncate, Fault::Truncate),
            (s.expire_token, Fault::ExpireToken),
        ];
        let mut edge = 0.0;
        for (share, fault) in table {
            edge += share;
            if u < edge {
                return fault;
            }
        }
        Fault::None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        let spec: FaultSpec =
            "500=0.1, 429=0.05,drop=0.02,slow=0.1,slow-ms=1500,retry-after=3,seed=9"
                .parse()
                .expect("valid");
        assert_eq!(spec.throttle_429, 0.05);
        assert_eq!(spec.slow_delay, Duration::from_millis(1500));
        assert_eq!(spec.retry_after_secs, 3);
        assert_eq!(spec.seed, Some(9));
        assert_eq!(spec.revoke_after, None);
        let revoking: FaultSpec = "revoke-after=3".parse().expect("valid");
        assert_eq!(revoking.revoke_after, Some(3));
        assert!(!revoking.is_none());
        let refusing: FaultSpec = "refuse-tokens-after=2".parse().expect("valid");
        assert_eq!(refusing.refuse_tokens_after, Some(2));
        assert!(!refusing.is_none());
        assert!("refuse-tokens-after=x".parse::<FaultSpec>().is_err());
        assert!("revoke-after=-1".parse::<FaultSpec>().is_err());
        assert!("revoke-after=0.5".parse::<FaultSpec>().is_err());
        assert!("500=2".parse::<FaultSpec>().is_err());
        assert!("teapot=0.1".parse::<FaultSpec>().is_err());
        assert!("500".parse::<FaultSpec>().is_err());
        assert!("500=0.6,429=0.6".parse::<FaultSpec>().is_err());
        assert!(
            "".parse::<FaultSpec>()
                .expect("empty is no faults")
                .is_none()
        );
    }

    #[test]
    fn draws_follow_the_shares() {
        let mut injector = Injector::new("500=0.25,429=0.25,seed=1".parse().expect("valid"));
        let draws: Vec<Fault> = (0..4000).map(|_| injector.draw()).collect();
        let count = |f| draws.iter().filter(|&&d| d == f).count();
        for fault in [Fault::Error500, Fault::Throttle] {
            assert!(
                (850..1150).contains(&count(fault)),
                "{fault:?}: {}",
                count(fault)
            );
        }
        assert!((1800..2200).contains(&count(Fault::None)));
        let mut again = Injector::new("500=0.25,429=0.25,seed=1".parse().expect("valid"));
        assert_eq!(
            draws,
            (0..4000).map(|_| again.draw()).collect::<Vec<_>>(),
            "seeded runs repeat"
        );
    }
}
