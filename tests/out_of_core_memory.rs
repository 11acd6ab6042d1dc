//! `LeastSquares::fit_csv` and `Trainer::fit_csv` in bounded memory: the peak resident memory
//! while they fit a file is far below the file's size (its own test binary, so that no other
//! test shares the process).
#![cfg(target_os = "linux")]

mod common;

use std::io::Write;

use linfit::prelude::*;

/// Peak resident memory since the last reset, in bytes.
fn peak() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<usize>()
        .unwrap()
        * 1024
}

fn resident() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<usize>()
        .unwrap()
        * 1024
}

#[test]
fn peak_memory_does_not_grow_with_the_file() {
    let dev = common::test_device(Precision::F64);
    let path = std::env::temp_dir().join(format!("linfit-ooc-mem-{}.csv", std::process::id()));
    {
        // 400 000 rows of 16 features and a target: ~70 MB of text, 54 MB as f64.
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        let header: Vec<String> = (1..=16).map(|j| format!("x{j}")).collect();
        writeln!(out, "{},y", header.join(",")).unwrap();
        let mut state = 1u64;
        for _ in 0..400_000 {
            let mut y = 0.5;
            for j in 0..16 {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let x = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                y += (j as f64 - 8.0) * x;
                write!(out, "{x:.9},").unwrap();
            }
            writeln!(out, "{y:.9}").unwrap();
        }
    }
    let size = std::fs::metadata(&path).unwrap().len() as usize;
    // Reset the peak to what is resident now (Linux 4.0+).
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = resident();
    let fit = LeastSquares::new().fit_csv(&path, &["y"], &dev).unwrap();
    let grown = peak().saturating_sub(before);
    // Training on it, full batch (each step one pass) and shuffled mini-batches.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before_training = resident();
    for batch in [None, Some(1000)] {
        let fitted = TrainerConfig::new(SgdConfig::new(0.01))
            .with_epochs(2)
            .with_batch_size(batch)
            .init()
            .unwrap()
            .fit_csv(
                LinearModelConfig::new(16).init(&dev).unwrap(),
                &path,
                &["y"],
            )
            .unwrap();
        assert!(fitted.steps >= 2);
    }
    let grown_training = peak().saturating_sub(before_training);
    std::fs::remove_file(&path).ok();
    assert!(
        grown_training < 64 << 20,
        "the peak grew by {} MiB training on a {} MB file",
        grown_training >> 20,
        size / 1_000_000
    );
    assert_eq!(fit.n_samples(), 400_000);
    // Chunks of 8 MiB of values, a few in flight: ~40 MiB at most, whatever the file's size.
    assert!(
        grown < 48 << 20,
        "the peak grew by {} MiB fitting a {} MB file",
        grown >> 20,
        size / 1_000_000
    );
    assert!(size > 60_000_000, "the file is {size} bytes");
}
