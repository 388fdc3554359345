//! A shard's claim on an object-store output folder. A store has no locks, and a worker that
//! dies cannot release one, so the claim is a lease: an object (`<state>/lease.json`) created
//! only if absent, renewed by its holder every quarter of its term with a compare-and-swap on
//! its ETag, and taken over by another worker only once it has expired.
//!
//! Expiry is judged on the store's clock alone: a lease is expired when the store says it was
//! last written more than its term plus a margin ago (the store's time now is read from a probe
//! object it timestamps). No machine's wall clock enters, so a worker whose clock is off by any
//! amount changes nothing. A takeover writes the next generation; the holder it replaced
//! notices through its fence ([`crate::fence`]), which closes by its own monotonic clock before
//! the takeover can happen, and stops.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::{Deserialize, Serialize};

use crate::fence::{Fence, margin};
use crate::input::store_error;
use crate::names::printable;

/// The lease object's name in a shard's state folder.
const LEASE_OBJECT: &str = "lease.json";

/// The longest term a lease object may state: one claiming more is damaged, and is judged by
/// this bound instead (a lease can never lock its shard for longer than this after its holder
/// stopped renewing).
const MAX_TERM: Duration = Duration::from_secs(3600);

/// The resolution of a store's timestamps (S3's `Last-Modified` is in whole seconds), added to
/// every expiry so that rounding never shortens a lease.
const CLOCK_RESOLUTION: Duration = Duration::from_secs(1);

/// What the lease object says.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    /// Who holds it: host and process.
    holder: String,
    /// The generation: 1 for the first holder, one more at each takeover.
    #[serde(default)]
    generation: u64,
    /// Its term in milliseconds: how long after its last write it lasts.
    #[serde(default)]
    term_ms: u64,
    /// When it ends unless renewed, in seconds since the Unix epoch, by the holder's clock: for
    /// people reading the object, never for deciding.
    #[serde(default)]
    expires: u64,
}

/// A held lease, renewed until released or dropped.
#[derive(Debug)]
pub(crate) struct Lease {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    fence: Fence,
    renewal: tokio::task::JoinHandle<()>,
}

fn holder() -> String {
    let host = std::fs::read_to_string("/etc/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "a host".into());
    format!("{host}, process {}", std::process::id())
}

fn body(holder: &str, generation: u64, term: Duration) -> PutPayload {
    let expires = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .saturating_add(term.as_secs());
    let record = Record {
        holder: holder.to_string(),
        generation,
        term_ms: u64::try_from(term.as_millis()).unwrap_or(u64::MAX),
        expires,
    };
    PutPayload::from(serde_json::to_vec(&record).unwrap_or_default())
}

fn mode(mode: PutMode) -> PutOptions {
    PutOptions {
        mode,
        ..PutOptions::default()
    }
}

/// How long after its last write a lease that states `term_ms` lasts, as a taker judges it:
/// its term (bounded by [`MAX_TERM`]; a damaged one counts as `ours`), the margin, and the
/// store clock's resolution.
pub(crate) fn expiry_after_write(term_ms: Option<u64>, ours: Duration) -> Duration {
    let term = term_ms
        .filter(|ms| *ms > 0)
        .map_or(ours, Duration::from_millis)
        .min(MAX_TERM);
    term + margin(term) + CLOCK_RESOLUTION
}

/// The store's time now: the metadata of a probe object it has just timestamped (written, read
/// back and deleted).
async fn store_now(
    store: &dyn ObjectStore,
    state: &ObjectPath,
) -> std::io::Result<object_store::ObjectMeta> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let probe = state
        .clone()
        .join(format!("clock-{}-{nanos}", std::process::id()).as_str());
    store
        .put(&probe, PutPayload::from_static(b""))
        .await
        .map_err(store_error)?;
    let meta = store.head(&probe).await.map_err(store_error);
    if let Err(e) = store.delete(&probe).await {
        tracing::debug!("could not delete the clock probe {probe}: {e}");
    }
    meta
}

/// How long before `now` the object of `written` was last written, on the store's clock (zero
/// if after).
fn age(now: &object_store::ObjectMeta, written: &object_store::ObjectMeta) -> Duration {
    now.last_modified
        .signed_duration_since(written.last_modified)
        .to_std()
        .unwrap_or(Duration::ZERO)
}

impl Lease {
    /// Takes the lease of the shard whose state folder is `state` (`shown` names it in
    /// messages) for `term`. Held by another: with `wait`, waits for it to end; without, fails
    /// at once with [`std::io::ErrorKind::WouldBlock`]. A store without conditional writes
    /// gets no lease (`None`), with a warning. `enforced` is off only in the test that shows
    /// what fencing prevents.
    pub(crate) async fn acquire(
        store: Arc<dyn ObjectStore>,
        state: &ObjectPath,
        shown: &str,
        term: Duration,
        wait: bool,
        enforced: bool,
    ) -> std::io::Result<Option<Lease>> {
        let path = state.clone().join(LEASE_OBJECT);
        let me = holder();
        let (generation, e_tag, sent) = loop {
            let sent = Instant::now();
            let created = store
                .put_opts(&path, body(&me, 1, term), mode(PutMode::Create))
                .await;
            match created {
                Ok(result) => break (1, result.e_tag, sent),
                Err(object_store::Error::NotImplemented { .. }) => {
                    tracing::warn!(
                        "{shown}: this store cannot write conditionally, so the shard is not leased; run one worker per shard"
                    );
                    return Ok(None);
                }
                // Someone holds it, or held it: read whose it is and when it was last written.
                Err(
                    object_store::Error::AlreadyExists { .. }
                    | object_store::Error::Precondition { .. },
                ) => {}
                Err(e) => return Err(store_error(e)),
            }
            let current = match store.get(&path).await {
                Ok(current) => current,
                // Released meanwhile: try again.
                Err(object_store::Error::NotFound { .. }) => continue,
                Err(e) => return Err(store_error(e)),
            };
            let version = UpdateVersion {
                e_tag: current.meta.e_tag.clone(),
                version: current.meta.version.clone(),
            };
            let written = current.meta.clone();
            let bytes = current.bytes().await.map_err(store_error)?;
            // An unreadable lease lasts our own term from its last write: nothing renews it.
            let record: Option<Record> = serde_json::from_slice(&bytes).ok();
            let (held_by, previous, stated) = match &record {
                Some(r) => (printable(&r.holder), r.generation, Some(r.term_ms)),
                None => ("an unreadable lease".to_string(), 0, None),
            };
            let lasts = expiry_after_write(stated, term);
            let age = age(&store_now(store.as_ref(), state).await?, &written);
            if age >= lasts {
                let next = previous.saturating_add(1);
                let sent = Instant::now();
                match store
                    .put_opts(&path, body(&me, next, term), mode(PutMode::Update(version)))
                    .await
                {
                    Ok(result) => {
                        tracing::info!("{shown}: took over the lease of {held_by}, expired");
                        break (next, result.e_tag, sent);
                    }
                    // Another worker took it first, or it was renewed: look again.
                    Err(
                        object_store::Error::Precondition { .. }
                        | object_store::Error::AlreadyExists { .. }
                        | object_store::Error::NotFound { .. },
                    ) => continue,
                    Err(e) => return Err(store_error(e)),
                }
            }
            let left = lasts - age;
            if !wait {
                return Err(crate::InUse::error(format!(
                    "{shown} is claimed by another worker ({held_by}) for {} s more: one runs this shard, or one stopped less than a lease ago; wait for it",
                    left.as_secs().max(1)
                )));
            }
            tracing::info!(
                "{shown}: waiting {} s for the lease of {held_by}",
                left.as_secs().max(1)
            );
            tokio::time::sleep(left.min(term / 3).max(Duration::from_millis(200))).await;
        };
        let fence = Fence::leased(
            shown,
            generation,
            sent + term.saturating_sub(margin(term)),
            enforced,
        );
        let renewal = tokio::spawn(renew(
            store.clone(),
            path.clone(),
            (me, generation, term),
            e_tag,
            fence.clone(),
        ));
        Ok(Some(Lease {
            store,
            path,
            fence,
            renewal,
        }))
    }

    /// The fence every action under this lease asks first.
    pub(crate) fn fence(&self) -> &Fence {
        &self.fence
    }

    /// Ends the lease: another worker may take the shard at once. A lease that lapsed is not
    /// this worker's to delete any more: it is left to its new holder.
    pub(crate) async fn release(self) {
        self.renewal.abort();
        if self.fence.check().is_err() {
            return;
        }
        if let Err(e) = self.store.delete(&self.path).await {
            tracing::debug!("could not delete the lease {}: {e}", self.path);
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // Dropped without `release` (an interrupted run): renewals stop and the lease ends at
        // its term.
        self.renewal.abort();
    }
}

/// Renews the lease every quarter of its term while the run lasts. Each renewal that succeeds
/// extends the fence from the moment it was sent; one refused (the lease was taken) closes it;
/// one that fails otherwise is tried again, and the fence closes by itself if none succeeds in
/// time. Once the fence is closed, nothing more is written.
async fn renew(
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    (me, generation, term): (String, u64, Duration),
    mut e_tag: Option<String>,
    fence: Fence,
) {
    let every = term / 4;
    loop {
        tokio::time::sleep(every).await;
        if fence.check().is_err() {
            return;
        }
        let version = UpdateVersion {
            e_tag: e_tag.clone(),
            version: None,
        };
        let sent = Instant::now();
        match store
            .put_opts(
                &path,
                body(&me, generation, term),
                mode(PutMode::Update(version)),
            )
            .await
        {
            Ok(result) => {
                e_tag = result.e_tag;
                fence.renewed(sent, term);
            }
            Err(
                object_store::Error::Precondition { .. } | object_store::Error::NotFound { .. },
            ) => {
                fence.lose("was taken over by another worker");
                if fence.enforced() {
                    return;
                }
            }
            // A store that failed once may answer the next time, within the term.
            Err(e) => tracing::warn!("could not renew the lease {path}: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use object_store::memory::InMemory;

    use super::*;

    fn lease_object(state: &ObjectPath, term_ms: u64, expires: u64) -> (ObjectPath, PutPayload) {
        let record = serde_json::to_vec(&Record {
            holder: "gone\u{1b}]0;title\u{7}".into(),
            generation: 4,
            term_ms,
            expires,
        })
        .expect("json");
        (state.clone().join(LEASE_OBJECT), record.into())
    }

    #[tokio::test]
    async fn one_holder_until_release_or_expiry() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let state = ObjectPath::from("out/.kensho-extract/shard-0-of-2");
        let term = Duration::from_secs(60);
        let first = Lease::acquire(store.clone(), &state, "shard 0/2", term, false, true)
            .await
            .expect("acquires")
            .expect("leased");
        assert_eq!(first.fence().generation(), 1);
        let refused = Lease::acquire(store.clone(), &state, "shard 0/2", term, false, true)
            .await
            .expect_err("held");
        assert_eq!(refused.kind(), std::io::ErrorKind::WouldBlock);
        let message = refused.to_string();
        assert!(
            message.contains(&format!("process {}", std::process::id()))
                && refused
                    .get_ref()
                    .is_some_and(|e| e.downcast_ref::<crate::InUse>().is_some()),
            "{message}"
        );
        first.release().await;
        let second = Lease::acquire(store.clone(), &state, "shard 0/2", term, false, true)
            .await
            .expect("free once released")
            .expect("leased");
        second.release().await;
        // No clock probe is left behind.
        let left: Vec<_> = futures_util::TryStreamExt::try_collect::<Vec<_>>(store.list(None))
            .await
            .expect("lists");
        assert!(left.is_empty(), "{left:?}");
    }

    /// A holder that died: its lease is taken over once the store's clock says its stated term
    /// (plus the margin) has passed since its last write, whatever expiry it claims, and the
    /// taker's generation is the next one.
    #[tokio::test]
    async fn expiry_is_judged_on_the_stores_clock_and_a_claimed_far_future_is_ignored() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let state = ObjectPath::from("s");
        let term = Duration::from_secs(60);
        let (path, record) = lease_object(&state, 100, u64::MAX);
        store.put(&path, record).await.expect("puts");
        let refused = Lease::acquire(store.clone(), &state, "s", term, false, true)
            .await
            .expect_err("not yet expired");
        let message = refused.to_string();
        assert!(message.contains("for 1 s more"), "{message}");
        // The holder's name is printed with its control characters escaped.
        assert!(
            !message.contains('\u{1b}') && message.contains("\\u{1b}"),
            "{message}"
        );
        let started = Instant::now();
        let taken = Lease::acquire(store.clone(), &state, "s", term, true, true)
            .await
            .expect("takes over")
            .expect("leased");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(taken.fence().generation(), 5);
        taken.release().await;
    }

    #[tokio::test]
    async fn a_lease_stating_an_endless_term_holds_at_most_the_bound() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let state = ObjectPath::from("s");
        let (path, record) = lease_object(&state, u64::MAX, u64::MAX);
        store.put(&path, record).await.expect("puts");
        let refused = Lease::acquire(
            store.clone(),
            &state,
            "s",
            Duration::from_secs(60),
            false,
            true,
        )
        .await
        .expect_err("held");
        let seconds: u64 = refused
            .to_string()
            .split(" for ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .expect("seconds");
        let bound = expiry_after_write(Some(u64::MAX), Duration::from_secs(60)).as_secs();
        assert!(
            seconds <= bound && bound <= 3600 + 900 + 1,
            "{seconds} of {bound}"
        );
    }

    #[tokio::test]
    async fn a_renewal_refused_closes_the_fence_and_a_lapsed_lease_is_not_deleted() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let state = ObjectPath::from("s");
        let term = Duration::from_secs(3);
        let held = Lease::acquire(store.clone(), &state, "s", term, false, true)
            .await
            .expect("acquires")
            .expect("leased");
        // Another worker overwrites the lease (as a takeover does).
        let (path, record) = lease_object(&state, 3000, 0);
        store.put(&path, record).await.expect("puts");
        let lost = tokio::time::timeout(Duration::from_secs(5), held.fence().lapsed())
            .await
            .expect("the next renewal notices");
        assert!(lost.why.contains("taken over"), "{lost}");
        held.release().await;
        assert!(
            store.head(&path).await.is_ok(),
            "the new holder's lease stays"
        );
    }

    #[tokio::test]
    async fn a_waiting_worker_gets_the_lease_when_the_holder_releases_it() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let state = ObjectPath::from("s");
        let term = Duration::from_secs(3);
        let first = Lease::acquire(store.clone(), &state, "s", term, false, true)
            .await
            .expect("acquires")
            .expect("leased");
        let waiter = tokio::spawn({
            let store = store.clone();
            let state = state.clone();
            async move { Lease::acquire(store, &state, "s", term, true, true).await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiter.is_finished(), "waits while held");
        first.release().await;
        let second = tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .expect("gets it within a term")
            .expect("joins")
            .expect("acquires");
        assert!(second.is_some());
    }
}
