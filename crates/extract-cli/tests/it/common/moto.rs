//! A real S3 API on loopback: moto's server (PyPI `moto[server]`, which `.ci/run` installs),
//! started on a free port for one test and stopped when dropped.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use object_store::{ObjectStore, ObjectStoreExt};

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    /// Starts moto's server, or returns `None` when moto is not installed and this is not CI
    /// (which must run every test: there it panics).
    pub async fn start() -> Option<Moto> {
        let installed = Command::new("python3")
            .args(["-c", "import moto.server"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            assert!(
                std::env::var_os("CI").is_none(),
                "moto is not installed: python3 -m pip install 'moto[server]'"
            );
            eprintln!("skipped: moto is not installed (python3 -m pip install 'moto[server]')");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starts moto");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        // Python takes a few seconds to import moto on a cold machine.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if reqwest().get(&moto.endpoint).send().await.is_ok() {
                return Some(moto);
            }
            assert!(Instant::now() < deadline, "moto did not start in 60 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The variables the CLI reads to reach this S3 (and no other).
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }

    pub async fn create_bucket(&self, bucket: &str) {
        let status = reqwest()
            .put(format!("{}/{bucket}", self.endpoint))
            .send()
            .await
            .expect("creates the bucket")
            .status();
        assert!(status.is_success(), "{status}");
    }

    /// A new bucket `bucket` holding `count` one-page PDFs, `{prefix}filing-00.pdf` onwards,
    /// each headed "Filing N": the corpus the batch tests shard.
    pub async fn bucket_of_filings(&self, bucket: &str, prefix: &str, count: usize) {
        self.create_bucket(bucket).await;
        for i in 0..count {
            let pdf = extract_emulator::sample_pdf(&[extract_emulator::SamplePage {
                heading: format!("Filing {i}"),
                paragraphs: vec![format!("Paragraph of filing {i}.")],
            }]);
            self.put(bucket, &format!("{prefix}filing-{i:02}.pdf"), pdf)
                .await;
        }
    }

    /// The bucket, as the CLI reaches it.
    pub fn store(&self, bucket: &str) -> object_store::aws::AmazonS3 {
        let _ = rustls::crypto::ring::default_provider().install_default();
        object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region("us-east-1")
            .with_access_key_id("testing")
            .with_secret_access_key("testing")
            .build()
            .expect("an S3 client")
    }

    pub async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) {
        self.store(bucket)
            .put(&key.into(), body.into())
            .await
            .expect("puts");
    }

    /// Writes an object under exactly `key`, as S3 takes any key, even one `object_store`
    /// refuses to name (`in//x.pdf`, `in/../x.pdf`, a tab): every byte but `/` is
    /// percent-encoded, so neither the URL parser nor moto normalises it.
    pub async fn put_raw(&self, bucket: &str, key: &str, body: Vec<u8>) {
        let encoded: String = key
            .bytes()
            .map(|b| match b {
                b'/' => "/".to_string(),
                b if b.is_ascii_alphanumeric() => (b as char).to_string(),
                b => format!("%{b:02X}"),
            })
            .collect();
        let status = reqwest()
            .put(format!("{}/{bucket}/{encoded}", self.endpoint))
            .body(body)
            .send()
            .await
            .expect("puts")
            .status();
        assert!(status.is_success(), "{key}: {status}");
    }

    /// Whether an object is under exactly `key` (a HEAD, the key as it is, not re-encoded).
    pub async fn exists(&self, bucket: &str, key: &str) -> bool {
        let path = object_store::path::Path::parse(key).expect("a valid key");
        self.store(bucket).head(&path).await.is_ok()
    }

    pub async fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let got = self.store(bucket).get(&key.into()).await.ok()?;
        Some(got.bytes().await.expect("body").to_vec())
    }

    /// Every object under `prefix` with its ETag, sorted: equal listings mean nothing was
    /// written or deleted in between.
    pub async fn objects(&self, bucket: &str, prefix: &str) -> Vec<(String, Option<String>)> {
        let store = self.store(bucket);
        let mut objects: Vec<(String, Option<String>)> = store
            .list(Some(&prefix.into()))
            .map_ok(|meta| (meta.location.to_string(), meta.e_tag))
            .try_collect()
            .await
            .expect("lists");
        objects.sort();
        objects
    }

    /// Every key under `prefix`, sorted.
    pub async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let store = self.store(bucket);
        let mut keys: Vec<String> = store
            .list(Some(&prefix.into()))
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await
            .expect("lists");
        keys.sort();
        keys
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn reqwest() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}
