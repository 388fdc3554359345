//! The seam the poller consumes, so it can be tested with a mock instead of sockets.

use std::path::Path;

use async_trait::async_trait;

use crate::{ApiError, Client, ExtractionOptions, JobHandle};
use extract_model::generated::{DownloadStatus, ExtractionStatus, OutputDocument, OutputFormat};

/// The calls a job runner needs. [`Client`] implements it; with the `mock` feature,
/// `MockExtractApi` (mockall) does too.
///
/// Methods added after the first release have default bodies, so a program's own
/// implementation keeps compiling (`docs/stability.md`).
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait ExtractApi: Send + Sync {
    /// Submits a file by the right path (see [`Client::submit_file`]).
    async fn submit_file(
        &self,
        path: &Path,
        options: &ExtractionOptions,
    ) -> Result<JobHandle, ApiError>;
    /// Submits a document held in memory by the right path (see [`Client::submit_bytes`]).
    /// Added after the first release: by default it says the implementation cannot, so one
    /// written before it still compiles.
    async fn submit_bytes(
        &self,
        bytes: bytes::Bytes,
        file_name: &str,
        options: &ExtractionOptions,
    ) -> Result<JobHandle, ApiError> {
        let _ = (bytes, options);
        Err(ApiError::build(
            crate::ErrorKind::Other,
            format!(
                "{file_name}: this ExtractApi implementation does not submit documents from memory"
            ),
        ))
    }
    /// Status of an inline-mode request (see [`Client::status`]).
    async fn status(
        &self,
        request_id: &str,
        output_format: Option<OutputFormat>,
    ) -> Result<ExtractionStatus, ApiError>;
    /// Status of a pre-signed-mode request (see [`Client::download_url`]).
    async fn download_url(&self, request_id: &str) -> Result<DownloadStatus, ApiError>;
    /// The output behind a pre-signed URL (see [`Client::download`]).
    async fn download(&self, output_url: &str) -> Result<OutputDocument, ApiError>;
}

#[async_trait]
impl ExtractApi for Client {
    async fn submit_file(
        &self,
        path: &Path,
        options: &ExtractionOptions,
    ) -> Result<JobHandle, ApiError> {
        Client::submit_file(self, path, options).await
    }
    async fn submit_bytes(
        &self,
        bytes: bytes::Bytes,
        file_name: &str,
        options: &ExtractionOptions,
    ) -> Result<JobHandle, ApiError> {
        Client::submit_bytes(self, bytes, file_name, options).await
    }
    async fn status(
        &self,
        request_id: &str,
        output_format: Option<OutputFormat>,
    ) -> Result<ExtractionStatus, ApiError> {
        Client::status(self, request_id, output_format).await
    }
    async fn download_url(&self, request_id: &str) -> Result<DownloadStatus, ApiError> {
        Client::download_url(self, request_id).await
    }
    async fn download(&self, output_url: &str) -> Result<OutputDocument, ApiError> {
        Client::download(self, output_url).await
    }
}

/// Shared APIs (`Arc<Client>`, `Arc<dyn ExtractApi>`, a shared mock) are APIs too.
#[async_trait]
impl<T: ExtractApi + ?Sized> ExtractApi for std::sync::Arc<T> {
    async fn submit_file(
        &self,
        path: &Path,
        options: &ExtractionOptions,
    ) -> Result<JobHandle, ApiError> {
        (**self).submit_file(path, options).await
    }
    async fn submit_bytes(
        &self,
        bytes: bytes::Bytes,
        file_name: &str,
        options: &ExtractionOptions,
    ) -> Result<JobHandle, ApiError> {
        (**self).submit_bytes(bytes, file_name, options).await
    }
    async fn status(
        &self,
        request_id: &str,
        output_format: Option<OutputFormat>,
    ) -> Result<ExtractionStatus, ApiError> {
        (**self).status(request_id, output_format).await
    }
    async fn download_url(&self, request_id: &str) -> Result<DownloadStatus, ApiError> {
        (**self).download_url(request_id).await
    }
    async fn download(&self, output_url: &str) -> Result<OutputDocument, ApiError> {
        (**self).download(output_url).await
    }
}
