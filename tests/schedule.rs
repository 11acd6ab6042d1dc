//! PyTorch's lr schedulers: the lr sequences PyTorch 2.15 printed
//! (`tests/data/torch_schedulers_reference.json`, from `scripts/torch_schedulers_reference.py`:
//! the lr after construction, then after each of N `scheduler.step()` calls), and a schedule in
//! `Trainer` against the explicit loop stepping the same schedule.

mod common;

use common::floats;
use linfit::prelude::*;
use linfit::schedule::{
    CosineAnnealingLrConfig, ExponentialLrConfig, LinearLrConfig, LrScheduler, MultiStepLrConfig,
    ReduceLrOnPlateau, ReduceLrOnPlateauConfig, Schedule, StepLrConfig,
};
use serde_json::Value;

#[test]
fn lr_sequences_equal_pytorch() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/torch_schedulers_reference.json"
    ))
    .unwrap();
    let reference: Value = serde_json::from_str(&text).unwrap();
    let cases = reference["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 15);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let base = case["base_lr"].as_f64().unwrap();
        let p = &case["params"];
        let f = |key: &str| p[key].as_f64().unwrap();
        let u = |key: &str| p[key].as_u64().unwrap() as usize;
        let want = floats(&case["lrs"]);
        let got: Vec<f64> = match case["kind"].as_str().unwrap() {
            "ReduceLROnPlateau" => {
                let mut s: ReduceLrOnPlateau = ReduceLrOnPlateauConfig::new(base)
                    .with_factor(f("factor"))
                    .with_patience(u("patience"))
                    .with_threshold(f("threshold"))
                    .with_cooldown(u("cooldown"))
                    .with_min_lr(f("min_lr"))
                    .init()
                    .unwrap();
                assert_eq!(p["mode"], "min");
                assert_eq!(p["threshold_mode"], "rel");
                assert_eq!(p["eps"], 1e-8);
                let mut lrs = vec![s.lr()];
                for m in floats(&case["metrics"]) {
                    s.step_with(m);
                    lrs.push(s.lr());
                }
                lrs
            }
            kind => {
                let mut s: Box<dyn LrScheduler> = match kind {
                    "StepLR" => Box::new(
                        StepLrConfig::new(base, u("step_size"))
                            .with_gamma(f("gamma"))
                            .init()
                            .unwrap(),
                    ),
                    "MultiStepLR" => {
                        let milestones = p["milestones"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|m| m.as_u64().unwrap() as usize)
                            .collect();
                        Box::new(
                            MultiStepLrConfig::new(base, milestones)
                                .with_gamma(f("gamma"))
                                .init()
                                .unwrap(),
                        )
                    }
                    "ExponentialLR" => {
                        Box::new(ExponentialLrConfig::new(base, f("gamma")).init().unwrap())
                    }
                    "CosineAnnealingLR" => Box::new(
                        CosineAnnealingLrConfig::new(base, u("t_max"))
                            .with_eta_min(f("eta_min"))
                            .init()
                            .unwrap(),
                    ),
                    "LinearLR" => Box::new(
                        LinearLrConfig::new(base)
                            .with_start_factor(f("start_factor"))
                            .with_end_factor(f("end_factor"))
                            .with_total_iters(u("total_iters"))
                            .init()
                            .unwrap(),
                    ),
                    other => panic!("kind {other}"),
                };
                let mut lrs = vec![s.lr()];
                for _ in 1..want.len() {
                    s.step();
                    lrs.push(s.lr());
                }
                lrs
            }
        };
        assert_eq!(got.len(), want.len(), "{name}");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            // Same operations in the same order: agreement to round-off (1e-12 relative; the
            // cosine's ratio of cosines is where libm and CPython's math may differ by an ulp).
            assert!(
                (g - w).abs() <= 1e-12 * w.abs().max(1e-300),
                "{name}: lr after step {i} = {g:e}, PyTorch {w:e}"
            );
        }
    }
}

#[test]
fn settings_pytorch_refuses_are_errors() {
    let refused = |r: Result<()>, field: &str| match r {
        Err(Error::InvalidHyperparameter { name, .. }) => assert_eq!(name, field),
        other => panic!("{field}: {other:?}"),
    };
    refused(
        LinearLrConfig::new(0.1)
            .with_start_factor(0.0)
            .init()
            .map(drop),
        "start_factor",
    );
    refused(
        LinearLrConfig::new(0.1)
            .with_start_factor(1.5)
            .init()
            .map(drop),
        "start_factor",
    );
    refused(
        LinearLrConfig::new(0.1)
            .with_end_factor(-0.5)
            .init()
            .map(drop),
        "end_factor",
    );
    refused(
        LinearLrConfig::new(0.1)
            .with_total_iters(0)
            .init()
            .map(drop),
        "total_iters",
    );
    refused(
        ReduceLrOnPlateauConfig::new(0.1)
            .with_factor(1.0)
            .init()
            .map(drop),
        "factor",
    );
    refused(
        ReduceLrOnPlateauConfig::new(0.1)
            .with_threshold(-1.0)
            .init()
            .map(drop),
        "threshold",
    );
    refused(
        ReduceLrOnPlateauConfig::new(0.1)
            .with_min_lr(f64::NAN)
            .init()
            .map(drop),
        "min_lr",
    );
    // PyTorch accepts these and fails with ZeroDivisionError at the first step.
    refused(StepLrConfig::new(0.1, 0).init().map(drop), "step_size");
    refused(
        CosineAnnealingLrConfig::new(0.1, 0).init().map(drop),
        "t_max",
    );
    refused(StepLrConfig::new(-0.1, 1).init().map(drop), "base_lr");
    refused(
        ExponentialLrConfig::new(0.1, f64::INFINITY)
            .init()
            .map(drop),
        "gamma",
    );
    let bad_in_trainer = TrainerConfig::new(SgdConfig::new(0.1))
        .with_schedule(Some(Schedule::Step(StepLrConfig::new(0.1, 0))))
        .init();
    refused(bad_in_trainer.map(drop), "step_size");
}

/// The trainer's per-epoch schedule equals the explicit loop that steps the same scheduler
/// after each epoch (the explicit loop itself is PyTorch's, tests/sgd.rs).
#[test]
fn trainer_steps_the_schedule_once_per_epoch() {
    let cpu = common::test_device(Precision::F64);
    let rows: Vec<Vec<f64>> = (0..24)
        .map(|i| vec![(i % 5) as f64 / 5.0, (i % 7) as f64 / 7.0])
        .collect();
    let targets: Vec<f64> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| 1.0 + 2.0 * r[0] - r[1] + 0.01 * (i % 3) as f64)
        .collect();
    let data = Dataset::from_rows(&rows, &targets, &cpu).unwrap();
    let w0 = [0.3, -0.2];
    let b0 = [0.1];
    for schedule in [
        Schedule::Step(StepLrConfig::new(0.2, 3).with_gamma(0.5)),
        Schedule::CosineAnnealing(CosineAnnealingLrConfig::new(0.2, 4)),
        Schedule::ReduceOnPlateau(
            ReduceLrOnPlateauConfig::new(0.2)
                .with_patience(0)
                .with_factor(0.5)
                .with_threshold(0.5),
        ),
    ] {
        let epochs = 10;
        let batch = 8;
        let fitted = TrainerConfig::new(SgdConfig::new(123.0).with_momentum(0.9))
            .with_epochs(epochs)
            .with_batch_size(Some(batch))
            .with_shuffle(false)
            .with_schedule(Some(schedule.clone()))
            .init()
            .unwrap()
            .fit(
                LinearModel::from_values(2, &w0, Some(&b0), &cpu).unwrap(),
                &data,
            )
            .unwrap();

        // The explicit loop, in order, with the schedule stepped per epoch.
        let mut model = LinearModel::from_values(2, &w0, Some(&b0), &cpu).unwrap();
        let mut sgd = SgdConfig::new(0.2).with_momentum(0.9).init().unwrap();
        let mut plateau = match &schedule {
            Schedule::ReduceOnPlateau(c) => Some(c.init().unwrap()),
            _ => None,
        };
        let mut other: Option<Box<dyn LrScheduler>> = match &schedule {
            Schedule::Step(c) => Some(Box::new(c.init().unwrap())),
            Schedule::CosineAnnealing(c) => Some(Box::new(c.init().unwrap())),
            _ => None,
        };
        let mut lrs = vec![];
        for _ in 0..epochs {
            let mut epoch_loss = 0.0;
            for start in (0..24).step_by(batch) {
                let x = data.features().slice(start..start + batch);
                let y = data.targets().slice(start..start + batch);
                sgd.zero_grad();
                let loss = Loss::MeanSquared.forward(model.forward(x), y);
                let value: f64 = loss.clone().into_scalar();
                epoch_loss += value * batch as f64 / 24.0;
                sgd.backward(&loss, &model);
                model = sgd.step(model).unwrap();
            }
            if let Some(p) = plateau.as_mut() {
                p.step_with(epoch_loss);
                sgd.set_lr(p.lr()).unwrap();
            }
            if let Some(s) = other.as_mut() {
                s.step();
                sgd.set_lr(s.lr()).unwrap();
            }
            lrs.push(sgd.lr());
        }
        // The schedule did change the lr.
        assert!(
            lrs.iter().any(|lr| (lr - 0.2).abs() > 1e-3),
            "{schedule:?}: {lrs:?}"
        );
        for (a, b) in fitted.model.weights().iter().zip(model.weights()) {
            assert!((a - b).abs() < 1e-12, "{schedule:?}: {a} vs {b}");
        }
        assert!((fitted.model.bias().unwrap()[0] - model.bias().unwrap()[0]).abs() < 1e-12);
    }
}
