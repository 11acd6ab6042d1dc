//! A CSV file fitted without loading it: `LeastSquares::fit_csv` reads it in bounded chunks.
//!
//! ```text
//! cargo run --release --example out_of_core [-- --rows 1000000 --cols 16 --file PATH --keep]
//! ```
//!
//! Writes a seeded file (`--rows` x `--cols` features and one target; `target/ooc.csv` unless
//! `--file`), times a plain read of its bytes (the disk's speed from a warm cache), fits it with
//! `LeastSquares::fit_csv`, trains on it one epoch with `Trainer::fit_csv` and, for comparison,
//! fits it loaded in memory with `Dataset::from_csv` + `fit`; prints the
//! time, rows/s and MB/s, and the peak resident memory of each (Linux: `VmHWM`, reset between the
//! two). The file is removed at the end unless `--keep`.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use linfit::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;

/// Shows linfit's progress records (one per chunk read) on a spinner.
struct Progress(Mutex<Option<ProgressBar>>);

impl log::Log for Progress {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.target().starts_with("linfit")
    }
    fn log(&self, record: &log::Record) {
        if let Some(bar) = self.0.lock().ok().and_then(|b| b.clone())
            && self.enabled(record.metadata())
        {
            bar.set_message(record.args().to_string());
        }
    }
    fn flush(&self) {}
}

static PROGRESS: Progress = Progress(Mutex::new(None));

fn spinner(what: &str) -> ProgressBar {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template(&format!("{{spinner}} {what} {{elapsed}}  {{msg}}"))
            .expect("a valid template"),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(100));
    if let Ok(mut slot) = PROGRESS.0.lock() {
        *slot = Some(bar.clone());
    }
    bar
}

/// Peak resident memory since the last reset, in MiB (Linux; `None` elsewhere).
fn peak_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets the peak to the current resident memory (Linux 4.0+).
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let rows: usize = flag("--rows").map_or(Ok(1_000_000), |v| v.parse())?;
    let cols: usize = flag("--cols").map_or(Ok(16), |v| v.parse())?;
    let path = flag("--file").map_or_else(
        || PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/ooc.csv")),
        PathBuf::from,
    );
    let keep = args.iter().any(|a| a == "--keep");
    log::set_logger(&PROGRESS).map_err(|e| e.to_string())?;
    log::set_max_level(log::LevelFilter::Debug);

    // 1. The file.
    let bar = spinner(&format!("writing {rows} x {cols} to {}", path.display()));
    let mut rng = ChaCha12Rng::seed_from_u64(7);
    let w: Vec<f64> = (0..cols).map(|_| rng.random_range(-2.0..2.0)).collect();
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let header: Vec<String> = (1..=cols).map(|j| format!("x{j}")).collect();
        writeln!(out, "{},y", header.join(","))?;
        let mut line = String::new();
        for _ in 0..rows {
            line.clear();
            let mut y = 1.5 + rng.random_range(-0.1..0.1);
            for wj in &w {
                let x: f64 = rng.random_range(-1.0..1.0);
                y += wj * x;
                line += &format!("{x:.6},");
            }
            line += &format!("{y:.6}\n");
            out.write_all(line.as_bytes())?;
        }
    }
    bar.finish_and_clear();
    let size_mb = std::fs::metadata(&path)?.len() as f64 / 1e6;

    // 2. Reading the bytes alone (cat > /dev/null).
    let start = Instant::now();
    let mut buf = vec![0u8; 1 << 20];
    let mut file = std::fs::File::open(&path)?;
    while file.read(&mut buf)? > 0 {}
    let read_s = start.elapsed().as_secs_f64();
    println!(
        "file: {} ({size_mb:.0} MB, {rows} rows x {cols} features + 1 target)",
        path.display()
    );
    println!(
        "reading its bytes:           {read_s:6.2} s  {:7.0} MB/s",
        size_mb / read_s
    );

    let device = device::cpu(Precision::F64)?;
    let report = |what: &str, secs: f64, peak: Option<f64>| {
        println!(
            "{what:<28} {secs:6.2} s  {:7.0} MB/s  {:9.0} rows/s  peak memory {}",
            size_mb / secs,
            rows as f64 / secs,
            peak.map_or("n/a".into(), |p| format!("{p:.0} MiB"))
        );
    };

    // 3. Without loading it.
    reset_peak();
    let bar = spinner("fit_csv");
    let start = Instant::now();
    let streamed = LeastSquares::new().fit_csv(&path, &["y"], &device)?;
    let streamed_s = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    report("LeastSquares::fit_csv", streamed_s, peak_mib());

    // Training on it without loading it: one epoch of shuffled mini-batches of 1000 rows.
    reset_peak();
    let bar = spinner("Trainer::fit_csv");
    let start = Instant::now();
    let fitted = TrainerConfig::new(SgdConfig::new(0.05).with_momentum(0.9))
        .with_epochs(1)
        .with_batch_size(Some(1000))
        .init()?
        .fit_csv(LinearModelConfig::new(cols).init(&device)?, &path, &["y"])?;
    let train_s = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    report("Trainer::fit_csv, 1 epoch", train_s, peak_mib());
    let sgd_w = fitted.model.weights();

    // The same from linfit's row file (binary: no parsing), converted once.
    let rows_path = path.with_extension("lfrows");
    let start = Instant::now();
    linfit::data::convert_csv(&path, &["y"], &rows_path)?;
    println!(
        "{:<28} {:6.2} s  (CSV -> row file, {:.0} MB)",
        "data::convert_csv",
        start.elapsed().as_secs_f64(),
        std::fs::metadata(&rows_path)?.len() as f64 / 1e6
    );
    let rows_mb = std::fs::metadata(&rows_path)?.len() as f64 / 1e6;
    let start = Instant::now();
    let mut file = std::fs::File::open(&rows_path)?;
    while file.read(&mut buf)? > 0 {}
    let read_rows_s = start.elapsed().as_secs_f64();
    println!(
        "reading the row file's bytes: {read_rows_s:5.2} s  {:7.0} MB/s",
        rows_mb / read_rows_s
    );
    reset_peak();
    let start = Instant::now();
    let from_rows = LeastSquares::new().fit_rows(&rows_path, &device)?;
    let rows_s = start.elapsed().as_secs_f64();
    println!(
        "{:<28} {rows_s:6.2} s  {:7.0} MB/s  {:9.0} rows/s  peak memory {}  ({:.1}x reading it)",
        "LeastSquares::fit_rows",
        rows_mb / rows_s,
        rows as f64 / rows_s,
        peak_mib().map_or("n/a".into(), |p| format!("{p:.0} MiB")),
        rows_s / read_rows_s
    );
    reset_peak();
    let start = Instant::now();
    TrainerConfig::new(SgdConfig::new(0.05).with_momentum(0.9))
        .with_epochs(1)
        .with_batch_size(Some(1000))
        .init()?
        .fit_rows(LinearModelConfig::new(cols).init(&device)?, &rows_path)?;
    report(
        "Trainer::fit_rows, 1 epoch",
        start.elapsed().as_secs_f64(),
        peak_mib(),
    );
    let same = from_rows.model().weights() == streamed.model().weights();
    println!("fit_rows gives fit_csv's weights bit for bit: {same}");

    // 4. Loaded in memory, for comparison.
    reset_peak();
    let bar = spinner("from_csv + fit");
    let start = Instant::now();
    let data = Dataset::from_csv(&path, &["y"], &device)?;
    let in_memory = LeastSquares::new().fit(&data)?;
    let memory_s = start.elapsed().as_secs_f64();
    bar.finish_and_clear();
    report("Dataset::from_csv + fit", memory_s, peak_mib());
    drop(data);

    let (a, b) = (streamed.model().weights(), in_memory.model().weights());
    let diff = a
        .iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs() / y.abs())
        .fold(0.0, f64::max);
    println!("largest relative difference of the weights: {diff:.1e}");
    println!(
        "x1..x3 weights {:?} (true {:?})",
        &a[..3.min(cols)],
        &w[..3.min(cols)]
    );
    println!(
        "after one SGD epoch from the file: {:?}",
        &sgd_w[..3.min(cols)]
    );
    if !keep {
        std::fs::remove_file(&path)?;
        std::fs::remove_file(&rows_path)?;
    }
    Ok(())
}
