//! `LeastSquares::fit_csv`: a CSV file fitted in bounded chunks equals the same data fitted in
//! memory (`Dataset::from_csv` + `fit`), and a bad or changing file is an error.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};

use common::assert_rel;
use linfit::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;

fn dev() -> Device {
    common::test_device(Precision::F64)
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("linfit-ooc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// `n` rows of `m` features (U(-1, 1), the last one nearly a copy of the first when
/// `collinear`) and two targets, with a header `f1..fm,t1,t2`.
fn write_csv(path: &Path, n: usize, m: usize, collinear: bool, seed: u64) {
    let mut rng = ChaCha12Rng::seed_from_u64(seed);
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let header: Vec<String> = (1..=m)
        .map(|j| format!("f{j}"))
        .chain(["t1".into(), "t2".into()])
        .collect();
    writeln!(out, "{}", header.join(",")).unwrap();
    for _ in 0..n {
        let mut x: Vec<f64> = (0..m).map(|_| rng.random_range(-1.0..1.0)).collect();
        if collinear {
            x[m - 1] = x[0] + 1e-6 * rng.random_range(-1.0..1.0);
        }
        let y1 = 3.0
            + x.iter()
                .enumerate()
                .map(|(j, v)| (j as f64 - 2.0) * v)
                .sum::<f64>()
            + rng.random_range(-0.1..0.1);
        let y2 = -1.0 + 0.5 * x[1] + rng.random_range(-0.1..0.1);
        let cells: Vec<String> = x.iter().chain([&y1, &y2]).map(|v| format!("{v}")).collect();
        writeln!(out, "{}", cells.join(",")).unwrap();
    }
}

fn compare(a: &LeastSquaresFit, b: &LeastSquaresFit, rel: f64) {
    assert_eq!(a.rank(), b.rank());
    assert_eq!(a.n_samples(), b.n_samples());
    // Norm-wise for the coefficients: some are near zero by construction.
    let err = common::rel_norm(&a.model().weights(), &b.model().weights());
    assert!(err <= rel, "weights differ by {err:e}");
    assert_rel(
        "bias",
        &a.model().bias().unwrap(),
        &b.model().bias().unwrap(),
        rel,
    );
    assert_rel(
        "singular values",
        a.singular_values(),
        b.singular_values(),
        rel,
    );
    let (sa, sb) = (a.summary(), b.summary());
    assert_eq!(sa.feature_names, sb.feature_names);
    for (ta, tb) in sa.targets.iter().zip(&sb.targets) {
        assert_eq!(ta.name, tb.name);
        let se = |t: &TargetSummary| -> Vec<f64> {
            t.coefficients
                .iter()
                .map(|c| c.std_error.unwrap())
                .collect()
        };
        assert_rel("std errors", &se(ta), &se(tb), rel);
        assert_rel("R²", &[ta.r_squared], &[tb.r_squared], rel);
        assert_rel("SSE", &[ta.sse], &[tb.sse], rel);
    }
}

#[test]
fn a_large_file_fitted_in_chunks_equals_the_fit_in_memory() {
    let dev = dev();
    // 2^20 values and more: the streamed QR, both ways. Several 8 MiB chunks.
    let path = temp("large.csv");
    write_csv(&path, 140_000, 8, false, 1);
    let data = Dataset::from_csv(&path, &["t1", "t2"], &dev).unwrap();
    for solver in [Solver::Qr, Solver::Svd] {
        let config = LeastSquares::new().with_solver(solver);
        let streamed = config.fit_csv(&path, &["t1", "t2"], &dev).unwrap();
        let in_memory = config.fit(&data).unwrap();
        assert_eq!(streamed.solver(), solver);
        compare(&streamed, &in_memory, 1e-12);
        assert_eq!(
            streamed.model().feature_names().unwrap(),
            ["f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8"]
        );
    }

    // Nearly collinear columns: refined in a second pass over the file, as in memory.
    let path = temp("collinear.csv");
    write_csv(&path, 140_000, 8, true, 2);
    let data = Dataset::from_csv(&path, &["t1", "t2"], &dev).unwrap();
    let streamed = LeastSquares::new()
        .with_solver(Solver::Qr)
        .fit_csv(&path, &["t1", "t2"], &dev)
        .unwrap();
    let in_memory = LeastSquares::new()
        .with_solver(Solver::Qr)
        .fit(&data)
        .unwrap();
    assert!(streamed.condition_number() > 1e5);
    // The two TSQRs fold the rows in different orders (one part here, one per core in memory),
    // so their R differ in the last bits; at cond ~1e6 the refined weights then differ by
    // ~2e-10 (cond * eps), within what the data determine.
    compare(&streamed, &in_memory, 1e-9);
}

#[test]
fn a_small_file_is_fitted_in_memory_exactly() {
    let dev = dev();
    let path = temp("small.csv");
    write_csv(&path, 500, 3, false, 3);
    let streamed = LeastSquares::new()
        .fit_csv(&path, &["t1", "t2"], &dev)
        .unwrap();
    let data = Dataset::from_csv(&path, &["t1", "t2"], &dev).unwrap();
    let in_memory = LeastSquares::new().fit(&data).unwrap();
    assert_eq!(streamed.model().weights(), in_memory.model().weights());
}

#[test]
fn bad_files_are_errors_that_say_where() {
    let dev = dev();
    let path = temp("bad.csv");
    write_csv(&path, 150_000, 8, false, 4);
    // A bad cell far into the file: its line is named, nothing is returned.
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let mut cells: Vec<&str> = lines[120_000].split(',').collect();
    cells[1] = "x7y";
    let broken = cells.join(",");
    lines[120_000] = &broken;
    std::fs::write(&path, lines.join("\n")).unwrap();
    let e = LeastSquares::new()
        .fit_csv(&path, &["t1", "t2"], &dev)
        .unwrap_err();
    match &e {
        Error::Csv { line, .. } => assert_eq!(*line, 120_001, "{e}"),
        other => panic!("expected a CSV error, got {other}"),
    }
    // A missing file, a missing column, an empty file.
    assert!(matches!(
        LeastSquares::new().fit_csv(temp("none.csv"), &["t1"], &dev),
        Err(Error::Io { .. })
    ));
    let e = LeastSquares::new()
        .fit_csv(&path, &["nope"], &dev)
        .unwrap_err();
    assert!(matches!(e, Error::Csv { line: 1, .. }), "{e}");
    let empty = temp("empty.csv");
    std::fs::write(&empty, "a,b\n").unwrap();
    let e = LeastSquares::new()
        .fit_csv(&empty, &["b"], &dev)
        .unwrap_err();
    assert!(matches!(e, Error::EmptyData { .. }), "{e}");
}

fn trainer(batch: Option<usize>, shuffle: bool, seed: u64, epochs: usize) -> Trainer {
    TrainerConfig::new(SgdConfig::new(0.05).with_momentum(0.5))
        .with_epochs(epochs)
        .with_batch_size(batch)
        .with_shuffle(shuffle)
        .with_seed(seed)
        .with_log_every(Some(1))
        .init()
        .unwrap()
}

fn zero_model(dev: &Device, m: usize) -> LinearModel {
    LinearModel::from_values(m, &vec![0.0; 2 * m], Some(&[0.0, 0.0]), dev).unwrap()
}

#[test]
fn training_on_a_file_follows_the_trajectory_in_memory() {
    let dev = dev();
    // 250 000 rows of 9 features and 2 targets: three chunks of the file per pass.
    let path = temp("train.csv");
    write_csv(&path, 250_000, 9, false, 5);
    let data = Dataset::from_csv(&path, &["t1", "t2"], &dev).unwrap();

    // Full batch: each step the exact gradient of the whole file, chunk by chunk.
    let on_file = trainer(None, true, 0, 6)
        .fit_csv(zero_model(&dev, 9), &path, &["t1", "t2"])
        .unwrap();
    let in_memory = trainer(None, true, 0, 6)
        .fit(zero_model(&dev, 9), &data)
        .unwrap();
    let losses = |f: &Fitted| f.history.iter().map(|e| e.loss).collect::<Vec<_>>();
    assert_eq!(on_file.steps, 6);
    assert_rel(
        "full-batch losses",
        &losses(&on_file),
        &losses(&in_memory),
        1e-12,
    );
    assert_rel(
        "full-batch weights",
        &on_file.model.weights(),
        &in_memory.model.weights(),
        1e-12,
    );
    assert_eq!(on_file.model.feature_names(), data.feature_names().into());

    // Mini-batches in file order: the batches fit takes.
    let on_file = trainer(Some(1000), false, 0, 1)
        .fit_csv(zero_model(&dev, 9), &path, &["t1", "t2"])
        .unwrap();
    let in_memory = trainer(Some(1000), false, 0, 1)
        .fit(zero_model(&dev, 9), &data)
        .unwrap();
    assert_eq!(on_file.steps, 250);
    assert_rel(
        "mini-batch losses",
        &losses(&on_file),
        &losses(&in_memory),
        1e-12,
    );
    assert_rel(
        "mini-batch weights",
        &on_file.model.bias().unwrap(),
        &in_memory.model.bias().unwrap(),
        1e-12,
    );

    // Shuffled within each chunk: seeded, and it reaches the least-squares answer.
    let path = temp("shuffled.csv");
    write_csv(&path, 20_000, 9, false, 7);
    let data = Dataset::from_csv(&path, &["t1", "t2"], &dev).unwrap();
    let run = |seed| {
        trainer(Some(100), true, seed, 3)
            .fit_csv(zero_model(&dev, 9), &path, &["t1", "t2"])
            .unwrap()
    };
    let (a, b, c) = (run(3), run(3), run(4));
    assert_eq!(a.history, b.history);
    assert_ne!(a.history, c.history);
    let exact = LeastSquares::new().fit(&data).unwrap();
    let err = common::rel_norm(&a.model.weights(), &exact.model().weights());
    assert!(
        err < 1e-2,
        "shuffled SGD is {err:e} from the least-squares weights"
    );
}

#[test]
fn training_on_a_file_refuses_what_does_not_fit() {
    let dev = dev();
    let path = temp("refuse.csv");
    write_csv(&path, 2_000, 3, false, 6);
    // Another number of features, other names.
    let e = trainer(None, true, 0, 1)
        .fit_csv(zero_model(&dev, 4), &path, &["t1", "t2"])
        .unwrap_err();
    assert!(matches!(e, Error::ShapeMismatch { .. }), "{e}");
    let named = zero_model(&dev, 3)
        .with_names(["a", "b", "c"], ["t1", "t2"])
        .unwrap();
    let e = trainer(None, true, 0, 1)
        .fit_csv(named, &path, &["t1", "t2"])
        .unwrap_err();
    assert!(matches!(e, Error::NameMismatch { .. }), "{e}");
    // Divergence is reported as in memory.
    let e = TrainerConfig::new(SgdConfig::new(10.0))
        .with_epochs(200)
        .init()
        .unwrap()
        .fit_csv(zero_model(&dev, 3), &path, &["t1", "t2"])
        .unwrap_err();
    assert!(matches!(e, Error::Diverged { .. }), "{e}");
}

#[test]
fn row_files_fit_as_their_csv_does() {
    let dev = dev();
    let csv = temp("to-rows.csv");
    write_csv(&csv, 140_000, 8, false, 8);
    let rows = temp("to-rows.lfrows");
    assert_eq!(
        linfit::data::convert_csv(&csv, &["t1", "t2"], &rows).unwrap(),
        140_000
    );
    let data = Dataset::from_csv(&csv, &["t1", "t2"], &dev).unwrap();
    let loaded = Dataset::from_rows_file(&rows, &dev).unwrap();
    assert_eq!(loaded.feature_names(), data.feature_names());
    assert_eq!(loaded.target_names(), data.target_names());
    assert_eq!(
        loaded.features().into_data().convert::<f64>(),
        data.features().into_data().convert::<f64>()
    );

    // The closed form and training from the row file: what the CSV and memory give.
    let from_rows = LeastSquares::new().fit_rows(&rows, &dev).unwrap();
    compare(&from_rows, &LeastSquares::new().fit(&data).unwrap(), 1e-12);
    let trained = |f: &dyn Fn(Trainer) -> Fitted| f(trainer(None, true, 0, 3));
    let a = trained(&|t| t.fit_rows(zero_model(&dev, 8), &rows).unwrap());
    let b = trained(&|t| t.fit(zero_model(&dev, 8), &data).unwrap());
    let err = common::rel_norm(&a.model.weights(), &b.model.weights());
    assert!(err <= 1e-12, "trained weights differ by {err:e}");

    // save_rows writes the same file.
    let saved = temp("saved.lfrows");
    data.save_rows(&saved).unwrap();
    assert_eq!(
        std::fs::read(&saved).unwrap(),
        std::fs::read(&rows).unwrap()
    );

    // Truncated, not a row file, a NaN: errors.
    let bytes = std::fs::read(&rows).unwrap();
    let cut = temp("cut.lfrows");
    std::fs::write(&cut, &bytes[..bytes.len() - 8]).unwrap();
    let e = LeastSquares::new().fit_rows(&cut, &dev).unwrap_err();
    assert!(
        matches!(e, Error::DataFile { .. })
            && e.to_string().contains("truncated")
            && !e.to_string().contains("model"),
        "{e}"
    );
    let e = LeastSquares::new().fit_rows(&csv, &dev).unwrap_err();
    assert!(matches!(e, Error::DataFile { .. }), "{e}");
    let mut nan = bytes.clone();
    let at = nan.len() - 8 * 10 * 3; // a value of the third row from the end
    nan[at..at + 8].copy_from_slice(&f64::NAN.to_le_bytes());
    let bad = temp("nan.lfrows");
    std::fs::write(&bad, &nan).unwrap();
    let e = LeastSquares::new().fit_rows(&bad, &dev).unwrap_err();
    assert!(matches!(e, Error::NonFinite { row: 139_997, .. }), "{e}");
}

#[test]
fn a_file_fits_robust_covariances_and_diagnostics_equal_the_in_memory_ones() {
    // One more pass over the file, in chunks of ~105k rows; the in-memory pass takes chunks of
    // 65536 rows: HAC's lagged products and Durbin-Watson cross both sets of boundaries.
    let dev = dev();
    let path = temp("robust.csv");
    let n = 140_000;
    write_csv(&path, n, 8, false, 11);
    let data = Dataset::from_csv(&path, &["t1", "t2"], &dev).unwrap();
    let groups: Vec<u64> = (0..n as u64).map(|i| (i * 7) % 50).collect();
    for kind in [
        Covariance::Hc0,
        Covariance::Hc1,
        Covariance::Hc2,
        Covariance::Hc3,
        Covariance::Hac { maxlags: 5 },
        Covariance::Cluster { groups },
    ] {
        let config = LeastSquares::new().with_covariance(kind.clone());
        let streamed = config
            .fit_csv(&path, &["t1", "t2"], &dev)
            .unwrap()
            .summary();
        let in_memory = config.fit(&data).unwrap().summary();
        assert_eq!(streamed.covariance, in_memory.covariance);
        for (a, b) in streamed.targets.iter().zip(&in_memory.targets) {
            let se = |t: &TargetSummary| -> Vec<f64> {
                t.coefficients
                    .iter()
                    .map(|c| c.std_error.unwrap())
                    .collect()
            };
            assert_rel(&format!("{kind:?} std errors"), &se(a), &se(b), 1e-10);
            assert_rel(
                &format!("{kind:?} F"),
                &[a.f_statistic.unwrap()],
                &[b.f_statistic.unwrap()],
                1e-9,
            );
            let lower = |t: &TargetSummary| {
                vec![
                    t.omnibus,
                    t.skew,
                    t.kurtosis,
                    t.durbin_watson,
                    t.jarque_bera,
                ]
            };
            assert_rel(&format!("{kind:?} diagnostics"), &lower(a), &lower(b), 1e-9);
        }
    }
    // Without a robust covariance, a file fit makes no more passes: no diagnostics.
    let plain = LeastSquares::new()
        .fit_csv(&path, &["t1", "t2"], &dev)
        .unwrap()
        .summary();
    assert!(plain.targets[0].durbin_watson.is_nan());
}

#[test]
fn a_row_files_influence_is_streamed_and_equals_the_in_memory_one() {
    let dev = dev();
    let csv = temp("influence.csv");
    write_csv(&csv, 140_000, 8, false, 12);
    let rows = temp("influence.lfrows");
    linfit::data::convert_csv(&csv, &["t1", "t2"], &rows).unwrap();
    let data = Dataset::from_csv(&csv, &["t1", "t2"], &dev).unwrap();
    let want = LeastSquares::new()
        .fit(&data)
        .unwrap()
        .influence(&data)
        .unwrap();
    let fit = LeastSquares::new().fit_rows(&rows, &dev).unwrap();
    let out = temp("influence-table.csv");
    assert_eq!(fit.write_influence_rows(&rows, &out).unwrap(), 140_000);
    let mut reader = csv::Reader::from_path(&out).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(header.len(), 16);
    assert_eq!(
        (header[0].as_str(), header[10].as_str()),
        ("t1.fitted", "t2.hat")
    );
    let table: Vec<Vec<f64>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(|v| v.parse().unwrap()).collect())
        .collect();
    for (t, want) in want.iter().enumerate() {
        let columns = [&want.fitted, &want.hat, &want.student_external, &want.cooks];
        for (c, column) in [0, 2, 4, 5].into_iter().zip(columns) {
            let got: Vec<f64> = table.iter().map(|row| row[8 * t + c]).collect();
            let err = common::rel_norm(&got, column);
            assert!(
                err <= 1e-11,
                "target {t} column {}: {err:e}",
                header[8 * t + c]
            );
        }
    }
}
