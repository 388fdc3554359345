//! A program's own implementation of a trait, written before a method was added to it, still
//! compiles: added methods have default bodies (`docs/stability.md`).

use std::path::Path;

use async_trait::async_trait;
use extract_api::{
    ApiError, DownloadStatus, ErrorKind, ExtractApi, ExtractionOptions, ExtractionStatus,
    JobHandle, OutputDocument, OutputFormat,
};

/// An implementation as a program wrote it before `submit_bytes` existed.
#[derive(Debug)]
struct WrittenBefore;

fn not_here() -> ApiError {
    ApiError::build(ErrorKind::Other, "not in this test")
}

#[async_trait]
impl ExtractApi for WrittenBefore {
    async fn submit_file(
        &self,
        _path: &Path,
        _options: &ExtractionOptions,
    ) -> Result<JobHandle, ApiError> {
        Err(not_here())
    }
    async fn status(
        &self,
        _request_id: &str,
        _output_format: Option<OutputFormat>,
    ) -> Result<ExtractionStatus, ApiError> {
        Err(not_here())
    }
    async fn download_url(&self, _request_id: &str) -> Result<DownloadStatus, ApiError> {
        Err(not_here())
    }
    async fn download(&self, _output_url: &str) -> Result<OutputDocument, ApiError> {
        Err(not_here())
    }
}

#[tokio::test]
async fn an_implementation_written_before_submit_bytes_still_compiles_and_says_it_cannot() {
    let error = WrittenBefore
        .submit_bytes(
            b"%PDF-1.7".to_vec().into(),
            "a.pdf",
            &ExtractionOptions::new(),
        )
        .await
        .expect_err("not from memory");
    assert_eq!(error.kind(), ErrorKind::Other);
    assert!(error.to_string().contains("a.pdf"), "{error}");
}
