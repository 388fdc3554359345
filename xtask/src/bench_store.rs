//! `cargo xtask bench store`: a batch from `s3://` to `s3://` on moto's S3 server (loopback),
//! 64 documents in flight: documents per second, PUTs per document (counted in moto's own
//! request log, so nothing is missed), and journal records per segment PUT, the measure of how
//! well concurrent documents' records group.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Result;
use crate::bench::{EmulatorProcess, release_binary, watch};

/// moto's server on a free loopback port, its request log in a file; stopped when dropped.
struct Moto {
    child: Child,
    endpoint: String,
}

impl Moto {
    fn start(log: &Path) -> Result<Moto> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
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
            .stderr(std::fs::File::create(log)?)
            .spawn()
            .map_err(|e| format!("moto's server (python3 -m pip install 'moto[server]'): {e}"))?;
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err("moto did not start in 60 s".into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(moto)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Requests in moto's log (werkzeug's access lines) of `method` whose path contains `part`.
fn requests(log: &Path, method: &str, part: &str) -> Result<usize> {
    let text = std::fs::read_to_string(log)?;
    Ok(text
        .lines()
        .filter(|l| l.contains(&format!("\"{method} ")) && l.contains(part))
        .count())
}

pub fn store(root: &Path, documents: usize) -> Result {
    let binary = release_binary(root)?;
    let dir = tempfile::tempdir()?;
    let emulator = EmulatorProcess::start(&binary, dir.path(), &["--job-seconds", "0"])?;
    let log = dir.path().join("moto.log");
    let moto = Moto::start(&log)?;
    // The inputs, put with boto3 (moto's own dependency): one small PDF under many keys.
    let pdf = dir.path().join("one.pdf");
    std::fs::write(&pdf, crate::bench_review::pdf(1))?;
    let mut python = Command::new("python3")
        .arg("-")
        .stdin(Stdio::piped())
        .spawn()?;
    python.stdin.take().ok_or("no stdin")?.write_all(
        format!(
            "import boto3\n\
                 s3 = boto3.client('s3', endpoint_url='{}', region_name='us-east-1', \
                 aws_access_key_id='testing', aws_secret_access_key='testing')\n\
                 s3.create_bucket(Bucket='bench')\n\
                 body = open('{}', 'rb').read()\n\
                 for i in range({documents}):\n    \
                 s3.put_object(Bucket='bench', Key='in/doc-%06d.pdf' % i, Body=body)\n",
            moto.endpoint,
            pdf.display()
        )
        .as_bytes(),
    )?;
    if !python.wait()?.success() {
        return Err("putting the inputs with boto3 failed".into());
    }
    let puts_before = requests(&log, "PUT", "/bench/")?;
    let mut env = emulator.env.clone();
    env.extend(
        [
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ALLOW_HTTP", "true"),
        ]
        .map(|(n, v)| (n.to_string(), v.to_string())),
    );
    env.push(("AWS_ENDPOINT_URL".into(), moto.endpoint.clone()));
    let summary = tempfile::NamedTempFile::new()?;
    let start = Instant::now();
    let mut child = Command::new(&binary)
        .args([
            "run",
            "s3://bench/in",
            "--out-dir",
            "s3://bench/out",
            "--concurrency",
            "64",
            "--no-cache",
            "--json",
            "-q",
        ])
        .envs(env)
        .stdout(summary.reopen()?)
        .stderr(Stdio::piped())
        .spawn()?;
    let watched = watch(&mut child, start, "run")?;
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(summary.path())?)?;
    let succeeded = summary["succeeded"].as_u64().unwrap_or(0);
    if succeeded != documents as u64 {
        return Err(format!("{succeeded} of {documents} succeeded").into());
    }
    let puts = requests(&log, "PUT", "/bench/")? - puts_before;
    let segment_puts = requests(&log, "PUT", "/journal/")?;
    let records = summary["journal_records"].as_u64().unwrap_or(0);
    let commits = summary["journal_commits"].as_u64().unwrap_or(0);
    let n = documents as f64;
    println!(
        "{documents} one-page documents, s3:// to s3:// on moto, 64 in flight, 0 s jobs: {:.1} s wall, {:.1} s CPU, peak RSS {:.1} MB",
        watched.wall.as_secs_f64(),
        watched.cpu,
        watched.peak_kib as f64 / 1024.0
    );
    println!(
        "{:.1} documents/s; {puts} PUTs ({:.2} a document: outputs, journal segments, snapshots, lease); {segment_puts} segment PUTs in moto's log, {commits} by the run's count",
        n / watched.wall.as_secs_f64(),
        puts as f64 / n
    );
    println!(
        "journal: {records} records in {commits} segment PUTs: {:.1} records per PUT (target: at least 8)",
        records as f64 / commits.max(1) as f64
    );
    Ok(())
}
