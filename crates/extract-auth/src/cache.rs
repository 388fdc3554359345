//! Caching in front of any token source: refresh ahead of expiry, one refresh at a time, retries.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::backoff::ExponentialBackoff;
use crate::{AuthError, MAX_TOKEN_LIFETIME, Token, TokenSource};

/// How [`CachedTokenSource`] refreshes and retries. Start from [`CachePolicy::default`] and
/// set fields; fields may be added in later versions.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CachePolicy {
    /// Refresh this long before expiry at most; for short-lived tokens a fifth of their
    /// lifetime instead, whichever is less. Default 5 minutes.
    pub refresh_window: Duration,
    /// The time one exchange may take. Default 30 s.
    pub exchange_timeout: Duration,
    /// Exchanges tried for one refresh, counting the first. Default 4.
    pub max_attempts: u32,
    /// The waits between attempts: from 250 ms, doubling, at most 10 s, full jitter. The
    /// longest also caps a `Retry-After`.
    pub backoff: ExponentialBackoff,
    /// The longest one refresh may take, all attempts and waits together: no attempt runs
    /// past it. Default 45 s.
    pub deadline: Duration,
}

impl Default for CachePolicy {
    fn default() -> Self {
        CachePolicy {
            refresh_window: Duration::from_secs(5 * 60),
            exchange_timeout: Duration::from_secs(30),
            max_attempts: 4,
            backoff: ExponentialBackoff::new(
                Duration::from_millis(250),
                2.0,
                Duration::from_secs(10),
            ),
            deadline: Duration::from_secs(45),
        }
    }
}

#[derive(Debug, Clone)]
struct Cached {
    token: Token,
    /// Monotonic expiry; `None` when the token's expiry is unknown.
    expires: Option<Instant>,
    refresh_at: Option<Instant>,
}

impl Cached {
    fn is_fresh(&self, now: Instant) -> bool {
        self.refresh_at.is_none_or(|at| now < at)
    }

    fn is_valid(&self, now: Instant) -> bool {
        self.expires.is_none_or(|at| now < at)
    }
}

#[derive(Debug, Default)]
struct CacheState {
    current: Option<Cached>,
    /// Refreshes finished so far, successful or not.
    refreshes: u64,
    /// The error of the last refresh, with its number, if it failed.
    last_failure: Option<(u64, AuthError)>,
}

/// Caches the tokens of a [`TokenSource`].
///
/// - A token is served until it enters its refresh window (5 minutes before expiry, or a fifth
///   of its lifetime when that is less); the first caller then refreshes while the others keep
///   getting the still-valid token.
/// - **Single flight**: however many callers need a token at once, one exchange runs and the
///   others wait for its result, success or failure.
/// - A failed refresh keeps serving a token that has not expired yet.
/// - Each exchange has a timeout; connection errors, timeouts, 429 and 5xx are retried with
///   exponential backoff and full jitter (honouring `Retry-After`); 400 and 401 are not.
/// - [`TokenSource::refused`] drops the token the API refused (a 401), if it is still the
///   current one, so the next call gets a new one; [`TokenSource::invalidate`] drops whatever
///   is current.
/// - Expiries past [`MAX_TOKEN_LIFETIME`] from now count as that far.
///
/// Time comes from tokio's clock, so tests drive it with `tokio::time::pause()`.
///
/// ```
/// # async fn run() -> Result<(), extract_auth::AuthError> {
/// use extract_auth::{CachedTokenSource, GivenToken, Secret, TokenSource};
/// let source = CachedTokenSource::new(GivenToken::new(Secret::new("token")));
/// assert_eq!(source.token().await?.secret().expose(), "token");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct CachedTokenSource<S> {
    inner: S,
    policy: CachePolicy,
    state: Mutex<CacheState>,
    refresh: tokio::sync::Mutex<()>,
}

impl<S: TokenSource> CachedTokenSource<S> {
    /// Caches `inner` with the default policy.
    pub fn new(inner: S) -> Self {
        Self::with_policy(inner, CachePolicy::default())
    }

    /// Caches `inner` with `policy`.
    pub fn with_policy(inner: S, policy: CachePolicy) -> Self {
        CachedTokenSource {
            inner,
            policy,
            state: Mutex::new(CacheState::default()),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, CacheState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs one refresh (with retries) while holding the refresh lock; records its outcome.
    async fn refresh(&self) -> Result<Token, AuthError> {
        let result = self.exchange_with_retries().await;
        let now = Instant::now();
        let mut state = self.state();
        state.refreshes += 1;
        match result {
            Ok(token) => {
                state.current = Some(self.cached(token.clone(), now));
                state.last_failure = None;
                Ok(token)
            }
            Err(error) => {
                state.last_failure = Some((state.refreshes, error.clone()));
                match state.current.as_ref().filter(|c| c.is_valid(now)) {
                    Some(still_valid) => {
                        tracing::warn!(
                            method = self.inner.method(),
                            "token refresh failed, serving the current token until it expires: {error}"
                        );
                        Ok(still_valid.token.clone())
                    }
                    None => Err(error),
                }
            }
        }
    }

    fn cached(&self, token: Token, now: Instant) -> Cached {
        // A source of our own clamps its expiries already; one made elsewhere (`Token::new`
        // takes any time) is clamped here, so the arithmetic on tokio's clock cannot overflow.
        let lifetime = token.remaining().map(|l| l.min(MAX_TOKEN_LIFETIME));
        let expires = lifetime.and_then(|l| now.checked_add(l));
        let refresh_at = lifetime.and_then(|l| {
            // At most a fifth of the lifetime early, so `l - early` cannot go below zero.
            let early = self.policy.refresh_window.min(l / 5);
            now.checked_add(l - early)
        });
        Cached {
            token,
            expires,
            refresh_at,
        }
    }

    async fn exchange_with_retries(&self) -> Result<Token, AuthError> {
        let start = Instant::now();
        let mut attempt = 1;
        loop {
            // No attempt runs past the refresh's deadline.
            let allowed = self
                .policy
                .exchange_timeout
                .min(self.policy.deadline.saturating_sub(start.elapsed()));
            let result = match tokio::time::timeout(allowed, self.inner.token()).await {
                Ok(result) => result,
                Err(_) => Err(AuthError::Timeout {
                    url: format!("the {} exchange", self.inner.method()),
                    after: allowed,
                }),
            };
            let error = match result {
                Ok(token) => return Ok(token),
                Err(error) => error,
            };
            let backoff = &self.policy.backoff;
            let wait = error
                .retry_after()
                .unwrap_or_else(|| backoff.delay(attempt))
                .min(backoff.maximum());
            // Saturating: a policy's longest wait may be `Duration::MAX`.
            let in_time = start.elapsed().saturating_add(wait) < self.policy.deadline;
            if !(error.is_transient() && attempt < self.policy.max_attempts && in_time) {
                // A timeout says the time actually waited, over every attempt.
                return Err(match error {
                    AuthError::Timeout { url, .. } if attempt > 1 => AuthError::Timeout {
                        url: format!("{url} ({attempt} attempts)"),
                        after: start.elapsed(),
                    },
                    other => other,
                });
            }
            tracing::info!(attempt, ?wait, "token exchange failed, retrying: {error}");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
}

#[async_trait]
impl<S: TokenSource> TokenSource for CachedTokenSource<S> {
    async fn token(&self) -> Result<Token, AuthError> {
        let (seen, still_valid) = {
            let state = self.state();
            let now = Instant::now();
            match &state.current {
                Some(c) if c.is_fresh(now) => return Ok(c.token.clone()),
                Some(c) if c.is_valid(now) => (state.refreshes, Some(c.token.clone())),
                _ => (state.refreshes, None),
            }
        };
        // In the refresh window: one caller refreshes, the others keep the valid token.
        if let Some(valid) = still_valid {
            let Ok(_guard) = self.refresh.try_lock() else {
                return Ok(valid);
            };
            // Another caller may have refreshed between our look and the lock: use its token
            // rather than refreshing twice in a row.
            {
                let state = self.state();
                if state.refreshes > seen
                    && let Some(c) = state
                        .current
                        .as_ref()
                        .filter(|c| c.is_valid(Instant::now()))
                {
                    return Ok(c.token.clone());
                }
            }
            return self.refresh().await;
        }
        let _guard = self.refresh.lock().await;
        {
            let state = self.state();
            let now = Instant::now();
            if let Some(c) = state.current.as_ref().filter(|c| c.is_fresh(now)) {
                return Ok(c.token.clone());
            }
            // A refresh that started after we arrived failed: share its error, don't repeat it.
            if let Some((number, error)) = &state.last_failure
                && *number > seen
            {
                return Err(error.clone());
            }
        }
        self.refresh().await
    }

    fn invalidate(&self) {
        self.state().current = None;
        self.inner.invalidate();
    }

    fn refused(&self, token: &Token) {
        {
            let mut state = self.state();
            // Only the token refused: when another caller was refused first, the current
            // token is already a newer one, and dropping it would cost another exchange.
            if state
                .current
                .as_ref()
                .is_some_and(|c| c.token.secret() == token.secret())
            {
                state.current = None;
            }
        }
        self.inner.refused(token);
    }

    fn method(&self) -> &'static str {
        self.inner.method()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::SystemTime;

    use super::*;
    use crate::{MockTokenSource, Secret};

    /// A mock whose `n`-th exchange (from 0) answers `answer(n)`, and its call count.
    fn scripted(
        answer: impl Fn(u32) -> Result<Token, AuthError> + Send + Sync + 'static,
    ) -> (MockTokenSource, Arc<AtomicU32>) {
        let calls = Arc::new(AtomicU32::new(0));
        let counter = calls.clone();
        let mut mock = MockTokenSource::new();
        mock.expect_method().return_const("mock");
        mock.expect_invalidate().return_const(());
        mock.expect_refused().return_const(());
        mock.expect_token()
            .returning(move || answer(counter.fetch_add(1, Ordering::SeqCst)));
        (mock, calls)
    }

    /// A mock whose every exchange returns `token-N` living `lifetime`, counting calls.
    fn counting(lifetime: Duration) -> (MockTokenSource, Arc<AtomicU32>) {
        scripted(move |n| {
            Ok(Token::new(
                Secret::new(format!("token-{}", n + 1)),
                Some(SystemTime::now() + lifetime),
            ))
        })
    }

    async fn secret(source: &impl TokenSource) -> String {
        source
            .token()
            .await
            .expect("token")
            .secret()
            .expose()
            .to_string()
    }

    #[tokio::test(start_paused = true)]
    async fn serves_the_cached_token_then_refreshes_ahead_of_expiry() {
        let (mock, calls) = counting(Duration::from_secs(3600));
        let cache = CachedTokenSource::new(mock);
        assert_eq!(secret(&cache).await, "token-1");
        tokio::time::advance(Duration::from_secs(3600 - 301)).await;
        assert_eq!(
            secret(&cache).await,
            "token-1",
            "outside the 5-minute window"
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(
            secret(&cache).await,
            "token-2",
            "inside the window: refreshed early"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn short_lived_tokens_refresh_at_four_fifths_of_their_life() {
        let (mock, calls) = counting(Duration::from_secs(100));
        let cache = CachedTokenSource::new(mock);
        assert_eq!(secret(&cache).await, "token-1");
        tokio::time::advance(Duration::from_secs(79)).await;
        assert_eq!(secret(&cache).await, "token-1");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(secret(&cache).await, "token-2");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn an_expired_token_is_never_served() {
        let (mock, calls) = counting(Duration::from_secs(60));
        let cache = CachedTokenSource::new(mock);
        assert_eq!(secret(&cache).await, "token-1");
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(secret(&cache).await, "token-2");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_thousand_concurrent_callers_cause_one_exchange() {
        // A slow exchange, so every caller arrives while it runs.
        let (mock, calls) = scripted(move |_| {
            Ok(Token::new(
                Secret::new("shared"),
                Some(SystemTime::now() + Duration::from_secs(3600)),
            ))
        });
        let slow = SlowSource {
            inner: mock,
            delay: Duration::from_secs(2),
        };
        let cache = Arc::new(CachedTokenSource::new(slow));
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { secret(&*cache).await })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.expect("joins"), "shared");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    /// Waits `delay` (on tokio's clock) before each exchange.
    #[derive(Debug)]
    struct SlowSource {
        inner: MockTokenSource,
        delay: Duration,
    }

    #[async_trait]
    impl TokenSource for SlowSource {
        async fn token(&self) -> Result<Token, AuthError> {
            tokio::time::sleep(self.delay).await;
            self.inner.token().await
        }
        fn method(&self) -> &'static str {
            "slow"
        }
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_failure_instead_of_repeating_it() {
        let (mock, calls) = scripted(move |_| {
            Err(AuthError::OAuth {
                status: 401,
                error: "invalid_client".into(),
                description: "no".into(),
                retry_after: None,
            })
        });
        let cache = Arc::new(CachedTokenSource::new(SlowSource {
            inner: mock,
            delay: Duration::from_secs(1),
        }));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.token().await })
            })
            .collect();
        for task in tasks {
            assert!(matches!(
                task.await.expect("joins"),
                Err(AuthError::OAuth { status: 401, .. })
            ));
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "401 is not retried, and not repeated per caller"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_refresh_keeps_serving_the_still_valid_token() {
        let (mock, calls) = scripted(move |n| match n {
            0 => Ok(Token::new(
                Secret::new("old"),
                Some(SystemTime::now() + Duration::from_secs(600)),
            )),
            _ => Err(AuthError::Connect {
                url: "https://okta".into(),
                source: Arc::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
            }),
        });
        let cache = CachedTokenSource::new(mock);
        assert_eq!(secret(&cache).await, "old");
        tokio::time::advance(Duration::from_secs(500)).await; // inside the window (last 120 s)
        assert_eq!(
            secret(&cache).await,
            "old",
            "the refresh failed; the valid token is kept"
        );
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1 + 4,
            "the refresh retried connection errors 3 times"
        );
        tokio::time::advance(Duration::from_secs(200)).await; // now past expiry
        let error = cache.token().await.expect_err("nothing valid left");
        assert!(matches!(error, AuthError::Connect { .. }), "{error}");
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_with_backoff_and_retry_after() {
        let (mock, calls) = scripted(move |n| match n {
            0 => Err(AuthError::Rejected {
                url: "u".into(),
                status: 503,
                body: "busy".into(),
                retry_after: None,
            }),
            1 => Err(AuthError::Rejected {
                url: "u".into(),
                status: 429,
                body: "slow down".into(),
                retry_after: Some(Duration::from_secs(7)),
            }),
            _ => Ok(Token::new(Secret::new("finally"), None)),
        });
        let cache = CachedTokenSource::new(mock);
        let start = Instant::now();
        assert_eq!(secret(&cache).await, "finally");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_secs(7) && waited < Duration::from_secs(8),
            "Retry-After honoured: {waited:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn client_errors_are_not_retried() {
        let (mock, calls) = scripted(move |_| {
            Err(AuthError::OAuth {
                status: 400,
                error: "invalid_scope".into(),
                description: "".into(),
                retry_after: None,
            })
        });
        let cache = CachedTokenSource::new(mock);
        assert!(cache.token().await.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_garbled_success_is_retried_like_a_server_error() {
        let (mock, calls) = scripted(move |n| {
            if n == 0 {
                Err(AuthError::BadResponse {
                    url: "token endpoint".into(),
                    detail: "EOF while parsing a string at line 1 column 20".into(),
                })
            } else {
                Ok(Token::new(Secret::new("good"), None))
            }
        });
        let cache = CachedTokenSource::new(mock);
        assert_eq!(secret(&cache).await, "good");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_exchange_times_out() {
        let mut mock = MockTokenSource::new();
        mock.expect_method().return_const("mock");
        mock.expect_token()
            .returning(|| Ok(Token::new(Secret::new("late"), None)));
        let policy = CachePolicy {
            max_attempts: 1,
            ..CachePolicy::default()
        };
        let cache = CachedTokenSource::with_policy(
            SlowSource {
                inner: mock,
                delay: Duration::from_secs(3600),
            },
            policy,
        );
        let error = cache.token().await.expect_err("times out");
        assert!(
            matches!(error, AuthError::Timeout { after, .. } if after == Duration::from_secs(30)),
            "{error}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_refresh_ends_at_its_deadline_and_says_how_long_it_waited() {
        let mut mock = MockTokenSource::new();
        mock.expect_method().return_const("mock");
        mock.expect_token()
            .returning(|| Ok(Token::new(Secret::new("late"), None)));
        let cache = CachedTokenSource::with_policy(
            SlowSource {
                inner: mock,
                delay: Duration::from_secs(3600),
            },
            CachePolicy {
                exchange_timeout: Duration::from_secs(30),
                deadline: Duration::from_secs(45),
                ..CachePolicy::default()
            },
        );
        let start = Instant::now();
        let error = cache.token().await.expect_err("times out");
        let waited = start.elapsed();
        assert!(waited <= Duration::from_secs(45), "{waited:?}");
        match &error {
            AuthError::Timeout { after, url } => {
                assert_eq!(*after, waited, "the message states the time waited");
                assert!(url.contains("2 attempts"), "{url}");
            }
            other => panic!("{other}"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn invalidate_then_refresh() {
        let (mock, calls) = counting(Duration::from_secs(3600));
        let cache = CachedTokenSource::new(mock);
        assert_eq!(secret(&cache).await, "token-1");
        assert_eq!(secret(&cache).await, "token-1");
        cache.invalidate();
        assert_eq!(secret(&cache).await, "token-2");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn many_refusals_of_one_token_cause_one_exchange() {
        let (mock, calls) = counting(Duration::from_secs(3600));
        let cache = CachedTokenSource::new(mock);
        let first = cache.token().await.expect("token");
        cache.refused(&first);
        assert_eq!(secret(&cache).await, "token-2");
        // Others that sent the first token are refused later: the newer one stays.
        cache.refused(&first);
        cache.refused(&first);
        assert_eq!(secret(&cache).await, "token-2");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_token_said_to_live_for_ever_is_renewed_after_a_day() {
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(i64::MAX as u64 / 2);
        let (mock, calls) = scripted(move |n| {
            Ok(Token::new(
                Secret::new(format!("token-{}", n + 1)),
                Some(far),
            ))
        });
        let cache = CachedTokenSource::new(mock);
        assert_eq!(secret(&cache).await, "token-1");
        tokio::time::advance(MAX_TOKEN_LIFETIME - Duration::from_secs(301)).await;
        assert_eq!(secret(&cache).await, "token-1");
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(secret(&cache).await, "token-2");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
