//! Real data in, results out: CSV, split, standardisation, metrics, synthetic data, save/load,
//! JSON, plots.

mod common;

use std::path::PathBuf;

use linfit::prelude::*;

fn dev() -> Device {
    common::test_device(Precision::F64)
}

fn temp(name: &str, contents: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("linfit-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn data_file(name: &str) -> String {
    format!("{}/data/sklearn/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn csv_loads_real_data() {
    let dev = dev();
    let d = Dataset::from_csv(data_file("diabetes.csv"), &["target"], &dev).unwrap();
    assert_eq!((d.n_samples(), d.n_features(), d.n_targets()), (442, 10, 1));
    // First row of the file: 59,2,32.1,101,157,93.2,38,4,4.8598,87,151
    let first: Vec<f64> = d
        .features()
        .slice(0..1)
        .into_data()
        .try_to_vec::<f64>()
        .unwrap();
    assert_eq!(
        first,
        vec![59.0, 2.0, 32.1, 101.0, 157.0, 93.2, 38.0, 4.0, 4.8598, 87.0]
    );
    let some = Dataset::from_csv_columns(
        data_file("linnerud.csv"),
        &["Pulse"],
        Some(&["Jumps", "Chins"]),
        &dev,
    )
    .unwrap();
    assert_eq!((some.n_features(), some.n_targets()), (2, 1));
    // linnerud row 1: Chins 5, Situps 162, Jumps 60, ..., Pulse 50
    assert_eq!(
        some.features()
            .slice(0..1)
            .into_data()
            .try_to_vec::<f64>()
            .unwrap(),
        vec![60.0, 5.0]
    );
}

#[test]
fn csv_errors_name_file_line_and_column() {
    let dev = dev();
    let cases = [
        ("missing.csv", "a,b\n1,2\n", "c", "line 1, column \"c\""),
        ("ragged.csv", "a,b\n1,2\n3\n", "b", "line 3"),
        (
            "text.csv",
            "a,b\n1,2\n3,x\n",
            "b",
            "line 3, column \"b\": \"x\" is not a number",
        ),
        (
            "empty.csv",
            "a,b\n1,\n",
            "b",
            "line 2, column \"b\": empty cell",
        ),
        ("nan.csv", "a,b\nNaN,1\n", "b", "line 2, column \"a\""),
        ("norows.csv", "a,b\n", "b", "no data rows"),
    ];
    for (name, text, target, expected) in cases {
        let path = temp(name, text);
        let e = Dataset::from_csv(&path, &[target], &dev).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains(expected), "{name}: {msg}");
        assert!(
            msg.contains(name) || matches!(e, Error::EmptyData { .. }),
            "{name}: the file is named: {msg}"
        );
    }
    let e = Dataset::from_csv("/nonexistent/linfit.csv", &["y"], &dev).unwrap_err();
    match &e {
        Error::Io { path, source } => {
            assert_eq!(path, "/nonexistent/linfit.csv");
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound, "{e}");
        }
        other => panic!("expected Error::Io, got {other}"),
    }
    // The cause is kept for `?` chains and error reporters.
    assert!(std::error::Error::source(&e).is_some());
}

#[test]
fn split_is_seeded_disjoint_and_complete() {
    let dev = dev();
    let rows: Vec<Vec<f64>> = (0..50).map(|i| vec![i as f64]).collect();
    let data = Dataset::from_rows(&rows, &vec![0.0; 50], &dev).unwrap();
    let (train, test) = data.train_test_split(0.3, 1).unwrap();
    assert_eq!((train.n_samples(), test.n_samples()), (35, 15)); // ceil(0.3 * 50) = 15
    let mut ids: Vec<f64> = [&train, &test]
        .iter()
        .flat_map(|d| d.features().into_data().try_to_vec::<f64>().unwrap())
        .collect();
    ids.sort_by(f64::total_cmp);
    assert_eq!(ids, (0..50).map(f64::from).collect::<Vec<_>>());
    let (train2, _) = data.train_test_split(0.3, 1).unwrap();
    assert_eq!(train.features().into_data(), train2.features().into_data());
    for bad in [0.0, 1.0, -0.5, f64::NAN] {
        assert!(matches!(
            data.train_test_split(bad, 1),
            Err(Error::InvalidHyperparameter { .. })
        ));
    }
}

#[test]
fn metrics_match_hand_computation() {
    let dev = dev();
    // Predictions 2x on x = 1, 2, 3 -> 2, 4, 6; targets 2, 5, 5: errors 0, -1, 1.
    let data =
        Dataset::from_rows(&[vec![1.0], vec![2.0], vec![3.0]], &[2.0, 5.0, 5.0], &dev).unwrap();
    let model = LinearModel::from_values(1, &[2.0], None, &dev).unwrap();
    assert_eq!(metrics::mse(&model, &data).unwrap(), 2.0 / 3.0);
    assert_eq!(metrics::rmse(&model, &data).unwrap(), (2.0f64 / 3.0).sqrt());
    assert_eq!(metrics::mae(&model, &data).unwrap(), 2.0 / 3.0);
    // SST: mean 4, deviations -2, 1, 1 -> 6; R² = 1 - 2/6.
    common::assert_rel(
        "r2",
        &[metrics::r2(&model, &data).unwrap()],
        &[1.0 - 2.0 / 6.0],
        1e-15,
    );
    let other = LinearModel::from_values(2, &[1.0, 1.0], None, &dev).unwrap();
    assert!(matches!(
        metrics::mse(&other, &data),
        Err(Error::ShapeMismatch { .. })
    ));
}

#[test]
fn standardizer_maps_models_back_to_original_units() {
    let dev = dev();
    let data = Dataset::from_csv(data_file("diabetes.csv"), &["target"], &dev).unwrap();
    for scale_targets in [false, true] {
        let scaler = StandardizerConfig::new()
            .with_targets(scale_targets)
            .fit(&data)
            .unwrap();
        let scaled = scaler.transform(&data).unwrap();
        // Any model on the scaled data; its original-units twin predicts the same values.
        let model = LinearModelConfig::new(10).with_seed(3).init(&dev).unwrap();
        let back = scaler.to_original_units(&model).unwrap();
        let mut p_scaled = model
            .predict(scaled.features())
            .unwrap()
            .into_data()
            .try_to_vec::<f64>()
            .unwrap();
        if let Some((mean, std)) = scaler.target_moments() {
            p_scaled.iter_mut().for_each(|p| *p = *p * std[0] + mean[0]);
        }
        let p_back = back
            .predict(data.features())
            .unwrap()
            .into_data()
            .try_to_vec::<f64>()
            .unwrap();
        // Norm-wise: single predictions near zero carry the cancellation of the larger terms.
        let err = common::rel_norm(&p_back, &p_scaled);
        assert!(
            err <= 1e-12,
            "predictions differ by {err:e} (targets scaled: {scale_targets})"
        );
    }
    // A constant column is reported, and centred to zero rather than divided by zero.
    let d = Dataset::from_rows(
        &[vec![1.0, 5.0], vec![2.0, 5.0], vec![4.0, 5.0]],
        &[1.0, 2.0, 3.0],
        &dev,
    )
    .unwrap();
    let scaler = StandardizerConfig::new().fit(&d).unwrap();
    assert_eq!(scaler.constant_columns(), &[1]);
    let t = scaler
        .transform(&d)
        .unwrap()
        .features()
        .into_data()
        .try_to_vec::<f64>()
        .unwrap();
    assert!(t.iter().all(|v| v.is_finite()));
    assert_eq!([t[1], t[3], t[5]], [0.0, 0.0, 0.0]);
}

#[test]
fn sgd_on_standardised_diabetes_reaches_the_closed_form() {
    let dev = dev();
    let data = Dataset::from_csv(data_file("diabetes.csv"), &["target"], &dev).unwrap();
    let exact = LeastSquares::new().fit(&data).unwrap();
    let best = metrics::mse(exact.model(), &data).unwrap();
    let scaler = StandardizerConfig::new()
        .with_targets(true)
        .fit(&data)
        .unwrap();
    let fitted = TrainerConfig::new(SgdConfig::new(0.1).with_momentum(0.9))
        .with_epochs(1000)
        .init()
        .unwrap()
        .fit(
            LinearModelConfig::new(10).init(&dev).unwrap(),
            &scaler.transform(&data).unwrap(),
        )
        .unwrap();
    let sgd = scaler.to_original_units(&fitted.model).unwrap();
    let reached = metrics::mse(&sgd, &data).unwrap();
    let rel = (reached - best) / best;
    assert!(
        (-1e-12..=1e-6).contains(&rel),
        "relative excess training loss {rel:e}"
    );
}

#[test]
fn synthetic_data_is_seeded_and_collinearity_shows_in_the_rank() {
    let dev = dev();
    let a = MakeRegression::new(200, 5)
        .with_noise(0.1)
        .with_seed(9)
        .generate(&dev)
        .unwrap();
    let b = MakeRegression::new(200, 5)
        .with_noise(0.1)
        .with_seed(9)
        .generate(&dev)
        .unwrap();
    assert_eq!(a.1, b.1);
    assert_eq!(a.0.targets().into_data(), b.0.targets().into_data());
    let (collinear, _) = MakeRegression::new(200, 6)
        .with_collinear(Some(2))
        .generate(&dev)
        .unwrap();
    assert_eq!(LeastSquares::new().fit(&collinear).unwrap().rank(), 4);
    assert!(
        MakeRegression::new(10, 2)
            .with_collinear(Some(2))
            .generate(&dev)
            .is_err()
    );
    assert!(MakeRegression::new(0, 2).generate(&dev).is_err());
    // Noise-free data: the closed form recovers the true weights.
    let (clean, w) = MakeRegression::new(50, 3)
        .with_bias(2.0)
        .generate(&dev)
        .unwrap();
    let fit = LeastSquares::new().fit(&clean).unwrap();
    common::assert_rel("true weights", &fit.model().weights(), &w, 1e-10);
}

#[test]
fn save_and_load_round_trip_bit_exact_and_refuse_other_shapes() {
    let dev = dev();
    let model = LinearModelConfig::new(3)
        .with_n_targets(2)
        .with_seed(5)
        .init(&dev)
        .unwrap();
    let path = temp("model.bpk", "");
    model.save(&path).unwrap();
    let loaded = LinearModel::load(&path, 3, 2, true, &dev).unwrap();
    assert_eq!(loaded.weights(), model.weights());
    assert_eq!(loaded.bias(), model.bias());
    assert_eq!(loaded.precision(), Some(Precision::F64));
    for (m, k, bias) in [(4, 2, true), (3, 1, true), (3, 2, false)] {
        let e = LinearModel::load(&path, m, k, bias, &dev).unwrap_err();
        assert!(matches!(e, Error::Load { .. }), "{m} {k} {bias}: {e}");
    }
    let corrupt = temp("corrupt.bpk", &"this is not a burnpack file\n".repeat(20));
    let e = LinearModel::load(&corrupt, 3, 2, true, &dev).unwrap_err();
    assert!(matches!(e, Error::Load { .. }), "{e}");
    assert!(
        std::error::Error::source(&e).is_some(),
        "the storage library's error is kept: {e}"
    );
    assert!(matches!(
        LinearModel::load("/nonexistent.bpk", 3, 2, true, &dev),
        Err(Error::Io { .. })
    ));

    let json = model.to_json().unwrap();
    let back = LinearModel::from_json(&json, &dev).unwrap();
    assert_eq!(back.weights(), model.weights());
    let e = LinearModel::from_json("{}", &dev).unwrap_err();
    assert!(matches!(e, Error::Load { .. }), "{e}");
    let cause = std::error::Error::source(&e).expect("serde_json's error is kept");
    assert!(cause.is::<serde_json::Error>(), "{cause}");
}

#[cfg(feature = "plot")]
#[test]
fn plots_are_real_image_files() {
    let dev = dev();
    let data = Dataset::from_csv(data_file("linnerud.csv"), &["Weight"], &dev).unwrap();
    let fitted = TrainerConfig::new(SgdConfig::new(1e-5))
        .with_epochs(50)
        .with_log_every(Some(1))
        .init()
        .unwrap()
        .fit(LinearModelConfig::new(5).init(&dev).unwrap(), &data)
        .unwrap();
    let dir = temp("x", "").parent().unwrap().to_path_buf();
    for ext in ["png", "svg"] {
        let loss = dir.join(format!("loss.{ext}"));
        let pred = dir.join(format!("pred.{ext}"));
        linfit::plot::loss_history(&fitted.history, &loss).unwrap();
        linfit::plot::predicted_vs_actual(&fitted.model, &data, &pred).unwrap();
        for path in [loss, pred] {
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                bytes.len() > 5_000,
                "{}: {} bytes",
                path.display(),
                bytes.len()
            );
            if ext == "png" {
                assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "{}", path.display());
            } else {
                assert!(
                    String::from_utf8_lossy(&bytes[..200]).contains("<svg"),
                    "{}",
                    path.display()
                );
            }
        }
    }
    assert!(linfit::plot::loss_history(&fitted.history, dir.join("loss.gif")).is_err());
    assert!(linfit::plot::loss_history(&[], dir.join("loss.png")).is_err());

    // What the SVGs say: the title, the axes (the loss's name, the target's name), a label at
    // each decade of the log axis, a legend for several series.
    let half: Vec<LogEntry> = fitted.history.iter().step_by(2).copied().collect();
    let svg = dir.join("loss-two.svg");
    linfit::plot::LossPlot::new()
        .series("training", &fitted.history)
        .series("every other step", &half)
        .loss(Loss::MeanSquared)
        .units("lb")
        .title("Linnerud weight")
        .save(&svg)
        .unwrap();
    let text = std::fs::read_to_string(&svg).unwrap();
    let (lo, hi) = fitted
        .history
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(a, b), e| {
            (a.min(e.loss), b.max(e.loss))
        });
    for needle in [
        "Linnerud weight",
        "mean squared error [(lb)²], log scale",
        "training",
        "every other step",
    ] {
        assert!(text.contains(needle), "{needle} not in the loss plot");
    }
    // Every decade from below the smallest loss to above the largest is labelled.
    let (first, last) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    for k in first..=last {
        let label = if (-2..=3).contains(&k) {
            format!("{}", 10f64.powi(k))
        } else {
            format!("1e{k}")
        };
        assert!(
            text.contains(&format!("\n{label}\n")),
            "decade {label} not labelled"
        );
    }
    let svg = dir.join("pred-named.svg");
    linfit::plot::predicted_vs_actual(&fitted.model, &data, &svg).unwrap();
    let text = std::fs::read_to_string(&svg).unwrap();
    for needle in [
        "actual Weight",
        "predicted Weight",
        "perfect fit",
        "20 rows",
    ] {
        assert!(text.contains(needle), "{needle} not in the scatter plot");
    }
    assert!(
        linfit::plot::LossPlot::new()
            .series("empty", &[])
            .save(dir.join("e.png"))
            .is_err()
    );
}

#[test]
fn a_loaded_model_does_not_need_its_file_and_truncation_is_an_error() {
    let dev = dev();
    let model = LinearModelConfig::new(3).with_seed(2).init(&dev).unwrap();
    let path = temp("lazy.bpk", "");
    model.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let loaded = LinearModel::load(&path, 3, 1, true, &dev).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(loaded.weights(), model.weights());
    // The same file cut short: an error, never a panic.
    let truncated = temp("truncated.bpk", "");
    std::fs::write(&truncated, &bytes[..bytes.len() - 8]).unwrap();
    assert!(matches!(
        LinearModel::load(&truncated, 3, 1, true, &dev),
        Err(Error::Load { .. })
    ));
}

/// A scratch directory of its own for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("linfit-files-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const SMALL_CSV: &str = "a,b,y\n1,2,3.5\n2,1,4.5\n3,5,9.25\n4,4,9.5\n";

/// Converting `x.part` into `x.rows` once deleted its own input (the temporary file was the
/// output's name with the extension `.part`), and any `x.part` beside an output was lost.
#[test]
fn converting_a_file_touches_neither_its_input_nor_its_neighbours() {
    let dir = scratch("convert");
    let input = dir.join("x.part");
    std::fs::write(&input, SMALL_CSV).unwrap();
    let rows = dir.join("x.rows");
    assert_eq!(linfit::data::convert_csv(&input, &["y"], &rows).unwrap(), 4);
    assert_eq!(std::fs::read_to_string(&input).unwrap(), SMALL_CSV);
    let loaded = Dataset::from_rows_file(&rows, &dev()).unwrap();
    assert_eq!(loaded.n_samples(), 4);

    // An unrelated file named like the old temporary file survives a conversion and a save.
    let neighbour = dir.join("y.part");
    std::fs::write(&neighbour, "keep me").unwrap();
    linfit::data::convert_csv(&input, &["y"], dir.join("y.rows")).unwrap();
    loaded.save_rows(dir.join("y.rows")).unwrap();
    assert_eq!(std::fs::read_to_string(&neighbour).unwrap(), "keep me");
    // No temporary file is left behind.
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["x.part", "x.rows", "y.part", "y.rows"]);
}

/// A failed conversion leaves no temporary file and the old output as it was.
#[test]
fn a_failed_conversion_leaves_the_old_output() {
    let dir = scratch("failed-convert");
    let good = dir.join("good.csv");
    std::fs::write(&good, SMALL_CSV).unwrap();
    let rows = dir.join("out.rows");
    linfit::data::convert_csv(&good, &["y"], &rows).unwrap();
    let before = std::fs::read(&rows).unwrap();
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "a,b,y\n1,2,3\n1,x,3\n").unwrap();
    assert!(linfit::data::convert_csv(&bad, &["y"], &rows).is_err());
    assert_eq!(std::fs::read(&rows).unwrap(), before);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 3);
}

/// A read-only file is refused, not replaced (a rename over it would succeed).
#[cfg(unix)]
#[test]
fn read_only_targets_are_refused_not_replaced() {
    use std::os::unix::fs::PermissionsExt;
    let dir = scratch("read-only");
    let dev = dev();
    let model = LinearModel::from_values(2, &[1.5, -2.0], Some(&[0.25]), &dev).unwrap();
    let path = dir.join("model.bpk");
    model.save(&path).unwrap();
    // A new file gets the permissions File::create gives, not a temporary file's 0600.
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_ne!(mode & 0o044, 0, "mode {mode:o}");
    let before = std::fs::read(&path).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
    let other = LinearModel::from_values(2, &[9.0, 9.0], Some(&[9.0]), &dev).unwrap();
    match other.save(&path) {
        Err(Error::Io { source, .. }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied);
            assert!(source.to_string().contains("read-only"), "{source}");
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);

    let csv = dir.join("in.csv");
    std::fs::write(&csv, SMALL_CSV).unwrap();
    let rows = dir.join("locked.rows");
    std::fs::write(&rows, "protected").unwrap();
    std::fs::set_permissions(&rows, std::fs::Permissions::from_mode(0o444)).unwrap();
    assert!(matches!(
        linfit::data::convert_csv(&csv, &["y"], &rows),
        Err(Error::Io { .. })
    ));
    let data = Dataset::from_csv(&csv, &["y"], &dev).unwrap();
    assert!(matches!(data.save_rows(&rows), Err(Error::Io { .. })));
    assert_eq!(std::fs::read_to_string(&rows).unwrap(), "protected");
}

/// Every file reader refuses a FIFO (which would block it forever with no writer) with an
/// error naming the path, at once. Each call runs on its own thread so that a regression
/// fails the test instead of hanging it.
#[cfg(unix)]
#[test]
fn file_readers_refuse_a_pipe_instead_of_blocking() {
    let dir = scratch("fifo");
    let fifo = dir.join("data.csv");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(status.success());
    let dev = dev();
    let trainer = TrainerConfig::new(SgdConfig::new(0.01))
        .with_epochs(1)
        .init()
        .unwrap();
    let model = || LinearModel::from_values(2, &[0.0, 0.0], Some(&[0.0]), &dev).unwrap();
    type Call = Box<dyn FnOnce(PathBuf) -> linfit::Result<()> + Send>;
    let calls: Vec<(&str, Call)> = vec![
        ("Dataset::from_csv", {
            let dev = dev.clone();
            Box::new(move |p| Dataset::from_csv(p, &["y"], &dev).map(drop))
        }),
        ("LeastSquares::fit_csv", {
            let dev = dev.clone();
            Box::new(move |p| LeastSquares::new().fit_csv(p, &["y"], &dev).map(drop))
        }),
        ("Trainer::fit_csv", {
            let (trainer, model) = (trainer.clone(), model());
            Box::new(move |p| trainer.fit_csv(model, p, &["y"]).map(drop))
        }),
        ("data::convert_csv", {
            let out = dir.join("out.rows");
            Box::new(move |p| linfit::data::convert_csv(p, &["y"], out).map(drop))
        }),
        ("Dataset::from_rows_file", {
            let dev = dev.clone();
            Box::new(move |p| Dataset::from_rows_file(p, &dev).map(drop))
        }),
        ("LeastSquares::fit_rows", {
            let dev = dev.clone();
            Box::new(move |p| LeastSquares::new().fit_rows(p, &dev).map(drop))
        }),
        ("Trainer::fit_rows", {
            let (trainer, model) = (trainer.clone(), model());
            Box::new(move |p| trainer.fit_rows(model, p).map(drop))
        }),
        ("ShardedDataset::from_csv", {
            let dev = dev.clone();
            Box::new(move |p| ShardedDataset::from_csv(p, &["y"], &[dev]).map(drop))
        }),
        ("LinearModel::load", {
            let dev = dev.clone();
            Box::new(move |p| LinearModel::load(p, 2, 1, true, &dev).map(drop))
        }),
    ];
    for (name, call) in calls {
        let (sender, receiver) = std::sync::mpsc::channel();
        let path = fifo.clone();
        std::thread::spawn(move || {
            let _ = sender.send(call(path));
        });
        match receiver.recv_timeout(std::time::Duration::from_secs(20)) {
            Ok(Err(Error::Io { path, source })) => {
                assert!(path.ends_with("data.csv"), "{name}: {path}");
                assert_eq!(
                    source.kind(),
                    std::io::ErrorKind::InvalidInput,
                    "{name}: {source}"
                );
            }
            Ok(other) => panic!("{name}: expected an I/O error, got {other:?}"),
            Err(_) => panic!("{name} blocked on a FIFO for 20 s"),
        }
    }
}

/// A row file carries CRC-32s of its header and its data: one flipped bit in a value, in the
/// names or in the shape is refused (naming the damage) by every reader, not fitted. The
/// expected layout is the module's documentation: 40 fixed bytes, the names, 8 bytes a value.
#[test]
fn a_damaged_row_file_is_refused_not_fitted() {
    let dir = scratch("damaged-rows");
    let input = dir.join("small.csv");
    std::fs::write(&input, SMALL_CSV).unwrap();
    let rows = dir.join("small.rows");
    linfit::data::convert_csv(&input, &["y"], &rows).unwrap();
    let bytes = std::fs::read(&rows).unwrap();
    let names_len = u64::from_le_bytes(bytes[32..40].try_into().unwrap()) as usize;
    let data_start = 40 + names_len;
    assert_eq!(
        bytes.len(),
        data_start + 4 * 3 * 8 + 8,
        "4 rows of 3 values, 8 bytes of CRCs"
    );
    // The written checksums are the CRC-32s of the header and of the data (crc32fast, an
    // implementation of the standard CRC-32 that the file format names).
    let crc = |b: &[u8]| crc32fast::hash(b);
    let trailer = &bytes[bytes.len() - 8..];
    assert_eq!(trailer[..4], crc(&bytes[..data_start]).to_le_bytes());
    assert_eq!(
        trailer[4..],
        crc(&bytes[data_start..bytes.len() - 8]).to_le_bytes()
    );

    let readers = |path: &std::path::Path| -> Vec<(&'static str, linfit::Result<()>)> {
        vec![
            (
                "Dataset::from_rows_file",
                Dataset::from_rows_file(path, &dev()).map(drop),
            ),
            (
                "LeastSquares::fit_rows",
                LeastSquares::new().fit_rows(path, &dev()).map(drop),
            ),
            (
                "Trainer::fit_rows",
                TrainerConfig::new(SgdConfig::new(0.01))
                    .with_epochs(2)
                    .init()
                    .unwrap()
                    .fit_rows(
                        LinearModel::from_values(2, &[0.0, 0.0], Some(&[0.0]), &dev()).unwrap(),
                        path,
                    )
                    .map(drop),
            ),
        ]
    };
    for (what, flip) in [
        ("a value", data_start + 8 * 4 + 3), // row 1's first feature, a mantissa bit
        ("a name", 40 + 3),
        ("the row count", 8),
    ] {
        let mut damaged = bytes.clone();
        damaged[flip] ^= 0x10;
        let path = dir.join("damaged.rows");
        std::fs::write(&path, &damaged).unwrap();
        for (reader, result) in readers(&path) {
            match result {
                Err(Error::DataFile { message, .. }) => assert!(
                    message.contains("damaged") || message.contains("truncated"),
                    "{what}, {reader}: {message}"
                ),
                other => panic!("{what}, {reader}: {other:?}"),
            }
        }
    }
    // The undamaged file still reads.
    for (reader, result) in readers(&rows) {
        result.unwrap_or_else(|e| panic!("{reader}: {e}"));
    }
}
