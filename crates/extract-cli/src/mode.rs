//! Which retrieval mode a request id belongs to: the service answers a request of the other mode
//! with 400 on each mode's endpoint.

use extract_api::{ApiError, Client, RetrievalMode};

use crate::Failure;

/// Whether an error is the service saying the request belongs to the other retrieval mode.
pub fn wrong_mode(error: &ApiError) -> bool {
    error.status() == Some(400)
}

/// Which endpoint a request id answers on: the status endpoint refuses (400) the other mode's ids.
pub async fn mode_of(client: &Client, id: &str) -> Result<RetrievalMode, Failure> {
    match client.status(id, None).await {
        Ok(_) => Ok(RetrievalMode::Inline),
        Err(e) if wrong_mode(&e) => Ok(RetrievalMode::Presigned),
        Err(e) => Err(e.into()),
    }
}
