//! A shard's claim on an object-store output folder. A store has no locks, and a worker that
//! dies cannot release one, so the claim is a lease: an object (`<state>/lease.json`) created
//! only if absent, renewed by its holder every third of its term with a compare-and-swap on its
//! ETag, and taken over by another worker only once it has expired. Two workers started on one
//! shard by mistake then never run it at once (and never submit its documents twice); a worker
//! killed is replaced after at most one term.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

use crate::source::store_error;

/// The lease object's name in a shard's state folder.
const LEASE_OBJECT: &str = "lease.json";

/// What the lease object says.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    /// Who holds it: host and process.
    holder: String,
    /// When it ends unless renewed, in seconds since the Unix epoch.
    expires: u64,
}

/// A held lease, renewed until released or dropped.
#[derive(Debug)]
pub(crate) struct Lease {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    renewal: tokio::task::JoinHandle<()>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
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

fn body(holder: &str, term: Duration) -> PutPayload {
    let record = Record {
        holder: holder.to_string(),
        expires: now() + term.as_secs().max(1),
    };
    PutPayload::from(serde_json::to_vec(&record).unwrap_or_default())
}

fn mode(mode: PutMode) -> PutOptions {
    PutOptions {
        mode,
        ..PutOptions::default()
    }
}

impl Lease {
    /// Takes the lease of the shard whose state folder is `state` (`shown` names it in
    /// messages) for `term`. Held by another: with `wait`, waits for it to end; without, fails
    /// at once with [`std::io::ErrorKind::WouldBlock`]. A store without conditional writes
    /// gets no lease (`None`), with a warning.
    pub(crate) async fn acquire(
        store: Arc<dyn ObjectStore>,
        state: &ObjectPath,
        shown: &str,
        term: Duration,
        wait: bool,
    ) -> std::io::Result<Option<Lease>> {
        let path = state.clone().join(LEASE_OBJECT);
        let me = holder();
        let e_tag = loop {
            let created = store
                .put_opts(&path, body(&me, term), mode(PutMode::Create))
                .await;
            match created {
                Ok(result) => break result.e_tag,
                Err(object_store::Error::NotImplemented { .. }) => {
                    tracing::warn!(
                        "{shown}: this store cannot write conditionally, so the shard is not leased; run one worker per shard"
                    );
                    return Ok(None);
                }
                // Someone holds it, or held it: read whose it is and until when.
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
            let bytes = current.bytes().await.map_err(store_error)?;
            // An unreadable lease is treated as expired: nothing could renew it.
            let record: Record = serde_json::from_slice(&bytes).unwrap_or(Record {
                holder: "an unreadable lease".into(),
                expires: 0,
            });
            let left = record.expires.saturating_sub(now());
            if left == 0 {
                match store
                    .put_opts(&path, body(&me, term), mode(PutMode::Update(version)))
                    .await
                {
                    Ok(result) => {
                        tracing::info!(
                            "{shown}: took over the lease of {}, expired",
                            record.holder
                        );
                        break result.e_tag;
                    }
                    // Another worker took it first, or it was renewed: look again.
                    Err(
                        object_store::Error::Precondition { .. }
                        | object_store::Error::AlreadyExists { .. },
                    ) => continue,
                    Err(e) => return Err(store_error(e)),
                }
            }
            if !wait {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::WouldBlock,
                    format!(
                        "{shown} is claimed by another worker ({}) for {left} s more: one runs this shard, or one stopped less than a lease ago; wait for it (--wait-lock)",
                        record.holder
                    ),
                ));
            }
            tracing::info!(
                "{shown}: waiting {left} s for the lease of {}",
                record.holder
            );
            tokio::time::sleep(Duration::from_secs(
                left.min(term.as_secs().max(3) / 3).max(1),
            ))
            .await;
        };
        let renewal = tokio::spawn(renew(
            store.clone(),
            path.clone(),
            me,
            term,
            e_tag,
            shown.to_string(),
        ));
        Ok(Some(Lease {
            store,
            path,
            renewal,
        }))
    }

    /// Ends the lease: another worker may take the shard at once.
    pub(crate) async fn release(self) {
        self.renewal.abort();
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

/// Renews the lease every third of its term while the run lasts; a lost lease (renewals that
/// failed for a whole term, then another worker took it) is reported.
async fn renew(
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    me: String,
    term: Duration,
    mut e_tag: Option<String>,
    shown: String,
) {
    let every = term / 3;
    loop {
        tokio::time::sleep(every).await;
        let version = UpdateVersion {
            e_tag: e_tag.clone(),
            version: None,
        };
        match store
            .put_opts(&path, body(&me, term), mode(PutMode::Update(version)))
            .await
        {
            Ok(result) => e_tag = result.e_tag,
            Err(object_store::Error::Precondition { .. }) => {
                tracing::error!(
                    "{shown}: another worker took this shard's lease; stop this worker, or both run its documents"
                );
                return;
            }
            // A store that failed once may answer the next time, within the term.
            Err(e) => tracing::warn!("{shown}: could not renew the lease: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use object_store::memory::InMemory;

    use super::*;

    #[tokio::test]
    async fn one_holder_until_release_or_expiry() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let state = ObjectPath::from("out/.kensho-extract/shard-0-of-2");
        let term = Duration::from_secs(60);
        let first = Lease::acquire(store.clone(), &state, "shard 0/2", term, false)
            .await
            .expect("acquires")
            .expect("leased");
        let refused = Lease::acquire(store.clone(), &state, "shard 0/2", term, false)
            .await
            .expect_err("held");
        assert_eq!(refused.kind(), std::io::ErrorKind::WouldBlock);
        let message = refused.to_string();
        assert!(
            message.contains(&format!("process {}", std::process::id()))
                && message.contains("--wait-lock"),
            "{message}"
        );
        first.release().await;
        let second = Lease::acquire(store.clone(), &state, "shard 0/2", term, false)
            .await
            .expect("free once released")
            .expect("leased");
        // A holder that died: its lease is taken over once expired, not before.
        drop(second);
        let expired = serde_json::to_vec(&Record {
            holder: "gone".into(),
            expires: now() - 1,
        })
        .expect("json");
        store
            .put(&state.clone().join(LEASE_OBJECT), expired.into())
            .await
            .expect("puts");
        let third = Lease::acquire(store.clone(), &state, "shard 0/2", term, false)
            .await
            .expect("takes over")
            .expect("leased");
        third.release().await;
    }

    #[tokio::test]
    async fn a_waiting_worker_gets_the_lease_when_the_holder_releases_it() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let state = ObjectPath::from("s");
        let term = Duration::from_secs(3);
        let first = Lease::acquire(store.clone(), &state, "s", term, false)
            .await
            .expect("acquires")
            .expect("leased");
        let waiter = tokio::spawn({
            let store = store.clone();
            let state = state.clone();
            async move { Lease::acquire(store, &state, "s", term, true).await }
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
