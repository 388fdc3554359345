//! `cargo xtask bench …`: process-level benchmarks, each run side by side with its baseline in
//! the same run (interleaved, so machine noise hits both alike), printing medians and the ratio.
//! The figures go to `docs/benchmarks.md`.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Subcommand;

use crate::Result;

#[derive(Debug, Subcommand)]
pub enum Bench {
    /// `kensho-extract keys generate` against `openssl genrsa 2048`, process to process.
    Keygen {
        /// Runs of each command.
        #[arg(long, default_value_t = 41)]
        runs: usize,
    },
    /// `kensho-extract submit` of a large file to the emulator against `curl -F`: time, throughput
    /// and peak memory of each process.
    Upload {
        /// The document size in MB (the service takes at most 100 directly).
        #[arg(long, default_value_t = 90)]
        size_mb: u64,
        /// Runs of each command.
        #[arg(long, default_value_t = 5)]
        runs: usize,
    },
    /// Four `kensho-extract run` workers, 16 documents in flight each, against the emulator's
    /// rate limit: the share of 429s and of the limit used once the budgets have adapted.
    Rate {
        /// The emulator's limit, requests per second.
        #[arg(long, default_value_t = 20.0)]
        limit: f64,
        /// Seconds measured, after the first 10.
        #[arg(long, default_value_t = 30)]
        seconds: u64,
    },
    /// A batch of similar documents polled by the standard policy, then by the one that
    /// learns the batch's pace: polls per job and how late each finish is noticed.
    Polls {
        /// Documents in the batch.
        #[arg(long, default_value_t = 50)]
        documents: usize,
    },
    /// Batches of short jobs growing 4×: CPU, wall time, peak memory and journal bytes of the
    /// `run` process and their ratios (linear is 4), then one large batch for peak memory.
    Scale {
        /// Documents in the small batch (the large one has 4×).
        #[arg(long, default_value_t = 2000)]
        documents: usize,
        /// Documents in the batch measured for peak memory alone (0: skip it).
        #[arg(long, default_value_t = 20000)]
        memory: usize,
    },
    /// Peak memory of `submit` and of `run` on large real PDFs with preflight on: flat in the
    /// file's size.
    Memory {
        /// The PDF `submit` sends, in MB.
        #[arg(long, default_value_t = 90)]
        submit_mb: u64,
        /// Each PDF `run` sends, in MB.
        #[arg(long, default_value_t = 500)]
        run_mb: u64,
        /// PDFs in the run (and documents in flight).
        #[arg(long, default_value_t = 4)]
        files: usize,
    },
    /// 2,000 one-page documents from `s3://` to `s3://` on moto's S3 server, 64 in flight:
    /// documents per second, PUTs per document and journal records per PUT.
    Store {
        /// Documents in the batch.
        #[arg(long, default_value_t = 2000)]
        documents: usize,
    },
    /// `kensho-extract review` of a long output, without and with its PDF: time per page and
    /// peak memory.
    Review {
        /// Pages of the generated PDF and output.
        #[arg(long, default_value_t = 500)]
        pages: usize,
        /// Runs of each command.
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
}

pub fn run(root: &Path, bench: Bench) -> Result {
    match bench {
        Bench::Keygen { runs } => keygen(root, runs),
        Bench::Upload { size_mb, runs } => upload(root, size_mb, runs),
        Bench::Review { pages, runs } => crate::bench_review::review(root, pages, runs),
        Bench::Rate { limit, seconds } => crate::bench_rate::rate(root, limit, seconds),
        Bench::Polls { documents } => crate::bench_polls::polls(root, documents),
        Bench::Scale { documents, memory } => crate::bench_scale::scale(root, documents, memory),
        Bench::Memory {
            submit_mb,
            run_mb,
            files,
        } => crate::bench_memory::memory(root, submit_mb, run_mb, files),
        Bench::Store { documents } => crate::bench_store::store(root, documents),
    }
}

fn keygen(root: &Path, runs: usize) -> Result {
    let binary = release_binary(root)?;
    let dir = tempfile::tempdir()?;
    let out_dir = dir.path().to_str().ok_or("temp dir is not UTF-8")?;
    let openssl_out = dir.path().join("openssl.pem");
    let openssl_out = openssl_out.to_str().ok_or("temp dir is not UTF-8")?;

    let ours = [
        binary.as_str(),
        "keys",
        "generate",
        "--out-dir",
        out_dir,
        "--force",
    ];
    let theirs = ["openssl", "genrsa", "-out", openssl_out, "2048"];
    let (ours, theirs) = interleave(runs, &ours, &theirs)?;
    report(
        "kensho-extract keys generate (RSA-2048)",
        &ours,
        "openssl genrsa 2048",
        &theirs,
    );
    Ok(())
}

/// A `kensho-extract emulator` process with a registered key, and the `KENSHO_*` variables
/// that point the CLI at it. Stopped when dropped.
pub(crate) struct EmulatorProcess {
    child: std::process::Child,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) api: String,
}

impl EmulatorProcess {
    /// Makes a key in `keys`, starts the emulator with `args` and reads its exports.
    pub(crate) fn start(binary: &str, keys: &Path, args: &[&str]) -> Result<EmulatorProcess> {
        let keys = keys.to_str().ok_or("temp dir is not UTF-8")?.to_string();
        let status = Command::new(binary)
            .args(["keys", "generate", "--out-dir", &keys])
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            return Err("keys generate failed".into());
        }
        let mut child = Command::new(binary)
            .arg("emulator")
            .args(args)
            .args(["--register-key", &format!("{keys}/public.pem")])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut env = Vec::new();
        let mut lines = BufReader::new(child.stdout.take().ok_or("no emulator stdout")?).lines();
        for _ in 0..3 {
            let line = lines.next().ok_or("the emulator stopped")??;
            let (name, value) = line
                .trim_start_matches("export ")
                .split_once('=')
                .ok_or("unexpected emulator output")?;
            env.push((name.to_string(), value.to_string()));
        }
        env.push(("KENSHO_PRIVATE_KEY".into(), format!("{keys}/private.pem")));
        let api = env
            .iter()
            .find(|(n, _)| n == "KENSHO_EXTRACT_API_URL")
            .map(|(_, v)| v.clone())
            .ok_or("no API URL")?;
        Ok(EmulatorProcess { child, env, api })
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn upload(root: &Path, size_mb: u64, runs: usize) -> Result {
    let binary = release_binary(root)?;
    let dir = tempfile::tempdir()?;
    let emulator = EmulatorProcess::start(&binary, dir.path(), &["--job-seconds", "0"])?;
    let (env, api) = (&emulator.env, &emulator.api);
    {
        let document = dir.path().join("large.pdf");
        let mut file = std::io::BufWriter::new(std::fs::File::create(&document)?);
        file.write_all(b"%PDF-1.4\n%")?;
        let chunk = vec![b'x'; 1_000_000];
        for _ in 0..size_mb {
            file.write_all(&chunk)?;
        }
        file.flush()?;
        drop(file);
        let bytes = std::fs::metadata(&document)?.len();
        let document = document
            .to_str()
            .ok_or("temp dir is not UTF-8")?
            .to_string();

        let token = Command::new(&binary)
            .args(["auth", "token"])
            .envs(env.iter().cloned())
            .output()?;
        let token = String::from_utf8(token.stdout)?.trim().to_string();
        let ours = || {
            let mut command = Command::new(&binary);
            command
                // The document is padding behind a PDF header: preflight would rightly refuse it.
                .args(["submit", "--no-preflight", &document])
                .envs(env.iter().cloned());
            command
        };
        let curl = || {
            let mut command = Command::new("curl");
            command.args([
                "-sS",
                "--fail",
                "-o",
                "/dev/null",
                "-H",
                &format!("Authorization: Bearer {token}"),
                "-F",
                "document_type=hierarchical_v2",
                "-F",
                "ocr=false",
                "-F",
                "enhanced_table_extraction=false",
                "-F",
                &format!("file=@{document};type=application/pdf"),
                &format!("{api}/v3/extractions"),
            ]);
            command
        };
        let (mut ours_runs, mut curl_runs) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            ours_runs.push(measured(&mut ours())?);
            curl_runs.push(measured(&mut curl())?);
        }
        let summary = |name: &str, runs: &mut Vec<(Duration, u64)>| {
            runs.sort();
            let (time, _) = runs[runs.len() / 2];
            let peak = runs.iter().map(|(_, kib)| *kib).max().unwrap_or(0);
            println!(
                "{name:<40} median {:>7.0} ms  {:>7.1} MB/s  peak RSS {:>6.1} MB",
                time.as_secs_f64() * 1e3,
                bytes as f64 / 1e6 / time.as_secs_f64(),
                peak as f64 / 1024.0
            );
            time
        };
        println!(
            "uploading {:.1} MB to the emulator, {runs} runs each, interleaved",
            bytes as f64 / 1e6
        );
        let a = summary("kensho-extract submit (token + upload)", &mut ours_runs);
        let b = summary("curl -F (token given)", &mut curl_runs);
        println!(
            "ratio of median times (ours / curl): {:.2}",
            a.as_secs_f64() / b.as_secs_f64()
        );
    }
    Ok(())
}

/// Runs a command to its end; returns its wall time and peak resident memory in KiB.
pub(crate) fn measured(command: &mut Command) -> Result<(Duration, u64)> {
    let start = Instant::now();
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let watched = watch(&mut child, start, &format!("{command:?}"))?;
    Ok((watched.wall, watched.peak_kib))
}

/// What a process that succeeded cost.
pub(crate) struct Watched {
    /// From `start` to its exit.
    pub(crate) wall: Duration,
    /// Peak resident memory, KiB.
    pub(crate) peak_kib: u64,
    /// User and system time, seconds.
    pub(crate) cpu: f64,
}

/// Clock ticks a second in `/proc/PID/stat` (USER_HZ: 100 on every Linux architecture).
const TICKS_PER_SECOND: f64 = 100.0;

/// Waits for `child`, sampling its `VmHWM` (`/proc/PID/status`) and CPU ticks
/// (`/proc/PID/stat`) every 5 ms; the last samples before it exits are kept (Linux). A child
/// that fails is an error quoting its stderr (if piped), naming it `what`.
pub(crate) fn watch(
    child: &mut std::process::Child,
    start: Instant,
    what: &str,
) -> Result<Watched> {
    let (stat, status_file) = (
        format!("/proc/{}/stat", child.id()),
        format!("/proc/{}/status", child.id()),
    );
    let (mut ticks, mut peak_kib) = (0u64, 0u64);
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&stat) {
            // Fields after the command name (which may hold spaces): utime is the 14th field.
            let fields: Vec<&str> = text
                .rsplit_once(')')
                .map(|(_, rest)| rest.split_whitespace().collect())
                .unwrap_or_default();
            let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<u64>().ok());
            if let (Some(user), Some(system)) = (field(14), field(15)) {
                ticks = ticks.max(user + system);
            }
        }
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait()? {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if !status.success() {
        let mut err = String::new();
        if let Some(mut stderr) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut stderr, &mut err);
        }
        return Err(format!("{what} failed: {err}").into());
    }
    Ok(Watched {
        wall: start.elapsed(),
        peak_kib,
        cpu: ticks as f64 / TICKS_PER_SECOND,
    })
}

/// Builds `kensho-extract` in release mode and returns its path.
pub(crate) fn release_binary(root: &Path) -> Result<String> {
    let status = crate::cargo()
        .args(["build", "--release", "--quiet", "-p", "extract-cli"])
        .current_dir(root)
        .status()?;
    if !status.success() {
        return Err("building kensho-extract failed".into());
    }
    let target = std::env::var("CARGO_TARGET_DIR").map_or_else(|_| root.join("target"), Into::into);
    Ok(target
        .join("release/kensho-extract")
        .to_string_lossy()
        .into_owned())
}

/// Runs the two commands alternately, `runs` times each, after one warm-up of each.
fn interleave(runs: usize, a: &[&str], b: &[&str]) -> Result<(Vec<Duration>, Vec<Duration>)> {
    let time = |argv: &[&str]| -> Result<Duration> {
        let start = Instant::now();
        let output = Command::new(argv[0]).args(&argv[1..]).output()?;
        let elapsed = start.elapsed();
        if !output.status.success() {
            return Err(format!(
                "{argv:?} failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
        Ok(elapsed)
    };
    time(a)?;
    time(b)?;
    let (mut ta, mut tb) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for _ in 0..runs {
        ta.push(time(a)?);
        tb.push(time(b)?);
    }
    Ok((ta, tb))
}

fn report(name_a: &str, a: &[Duration], name_b: &str, b: &[Duration]) {
    let stats = |d: &[Duration]| {
        let mut ms: Vec<f64> = d.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        ms.sort_by(f64::total_cmp);
        let pick = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
        (pick(0.5), pick(0.1), pick(0.9))
    };
    let (ma, a10, a90) = stats(a);
    let (mb, b10, b90) = stats(b);
    println!(
        "{:<44} {:>10} {:>10} {:>10}",
        "command", "median ms", "p10 ms", "p90 ms"
    );
    println!("{name_a:<44} {ma:>10.1} {a10:>10.1} {a90:>10.1}");
    println!("{name_b:<44} {mb:>10.1} {b10:>10.1} {b90:>10.1}");
    println!(
        "ratio of medians (ours / baseline): {:.2} over {} runs each",
        ma / mb,
        a.len()
    );
}
