//! Preflight on real PDFs: pages counted from the file, selections checked, encrypted and
//! damaged files named, nothing sent.

use extract_api::{PageSelection, preflight};
use extract_emulator::{SamplePage, sample_encrypted_pdf, sample_pdf};

fn pages(n: usize) -> Vec<SamplePage> {
    (0..n)
        .map(|i| SamplePage {
            heading: format!("Page {i}"),
            paragraphs: vec!["Text.".into()],
        })
        .collect()
}

#[tokio::test]
async fn counts_pages_and_checks_the_selection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("three.pdf");
    std::fs::write(&path, sample_pdf(&pages(3))).expect("writes");

    let found = preflight(&path, None).await.expect("a good PDF");
    assert_eq!(found.pages, 3);
    assert_eq!(found.selected_pages, 3);
    assert!(!found.presigned);
    assert_eq!(found.bytes, std::fs::metadata(&path).expect("meta").len());

    let two = PageSelection::parse("1,3").expect("parses");
    assert_eq!(
        preflight(&path, Some(&two))
            .await
            .expect("in range")
            .selected_pages,
        2
    );

    let past = PageSelection::parse("2-99").expect("parses");
    let error = preflight(&path, Some(&past))
        .await
        .expect_err("page 99 of 3");
    assert_eq!(error.kind(), extract_api::ErrorKind::PageOutOfRange);
    let error = error.to_string();
    assert!(
        error.contains("pages 2-99 asks for page 99 but the file has 3 pages"),
        "{error}"
    );
}

#[tokio::test]
async fn encrypted_and_damaged_files_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let locked = dir.path().join("locked.pdf");
    std::fs::write(&locked, sample_encrypted_pdf(&pages(2), "secret")).expect("writes");
    let error = preflight(&locked, None)
        .await
        .expect_err("needs a password");
    assert_eq!(error.kind(), extract_api::ErrorKind::Encrypted);
    let error = error.to_string();
    assert!(error.contains("encrypted with a password"), "{error}");

    let mut torn = sample_pdf(&pages(2));
    torn.truncate(torn.len() / 3);
    let damaged = dir.path().join("torn.pdf");
    std::fs::write(&damaged, torn).expect("writes");
    let error = preflight(&damaged, None).await.expect_err("damaged");
    assert_eq!(error.kind(), extract_api::ErrorKind::Damaged);
    let error = error.to_string();
    assert!(error.contains("damaged"), "{error}");
}
