//! The closed form: the seed notebook's rank-deficient design, and properties on random designs.

mod common;

use linfit::prelude::*;
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha12Rng;

fn dev() -> Device {
    common::test_device(Precision::F64)
}

#[test]
fn seed_design_is_rank_deficient_and_explained() {
    let s = common::seed();
    let dev = dev();
    let data = Dataset::from_rows(&s.x, &s.y, &dev).unwrap();
    for solver in [
        Solver::Auto,
        Solver::Qr,
        Solver::Svd,
        Solver::NormalEquations,
    ] {
        let fit = LeastSquares::new().with_solver(solver).fit(&data).unwrap();
        // Columns x, x+1, x+2: once centred they are one column, so rank 1 of 3 weights, and
        // with the intercept 2 of 4 parameters (derivation: X = [x, x+1, x+2] = x 1^T + [0 1 2]).
        assert_eq!(fit.rank(), 1, "{solver:?}");
        assert_eq!(fit.n_parameters(), 4);
        assert_eq!(fit.null_space().len(), 2, "{solver:?}");
        assert!(fit.condition_number().is_infinite());
        // Every minimiser has the notebook's final loss (PyTorch's printout, data/seed).
        let sse = fit.sse()[0];
        let gd_loss = s.trajectory.last().unwrap().1;
        common::assert_rel(&format!("{solver:?} loss"), &[sse], &[gd_loss], 1e-12);
        // Minimum norm: the weights are equal (by symmetry of the centred columns) and the
        // intercept is identified neither.
        let w = fit.model().weights();
        common::assert_rel("equal weights", &w[1..], &[w[0], w[0]], 1e-10);
        let summary = fit.summary();
        let t = &summary.targets[0];
        assert!(t.coefficients.iter().all(|c| c.std_error.is_none()));
        assert!(t.intercept.unwrap().std_error.is_none());
        assert!(!summary.warnings.is_empty());
        assert_eq!(t.df_residual, 10 - 2);

        // Gradient descent's answer differs only in the null space.
        let gd = LinearModel::from_values(3, &s.final_w, Some(&[s.final_b]), &dev).unwrap();
        let e = fit.explain(&gd).unwrap();
        assert_eq!(e.rank, 2);
        common::assert_rel("losses", &[e.loss_other], &[e.loss_fit], 1e-12);
        assert!(
            e.difference_norm() > 1.0,
            "the notebook's answer is far from the minimum-norm one"
        );
        assert!(
            e.visible_norm() <= 1e-6 * e.difference_norm(),
            "visible part {:e}",
            e.visible_norm()
        );
        assert!(e.invisible_share() > 1.0 - 1e-12);
        assert!(e.to_string().contains("directions the data cannot see"));
    }
}

#[test]
fn explain_rejects_another_shape() {
    let dev = dev();
    let data =
        Dataset::from_rows(&[vec![1.0], vec![2.0], vec![3.0]], &[1.0, 2.0, 4.0], &dev).unwrap();
    let fit = LeastSquares::new().fit(&data).unwrap();
    let other = LinearModel::from_values(2, &[1.0, 2.0], Some(&[0.0]), &dev).unwrap();
    assert!(matches!(
        fit.explain(&other),
        Err(Error::ShapeMismatch { .. })
    ));
    let no_bias = LinearModel::from_values(1, &[1.0], None, &dev).unwrap();
    assert!(matches!(
        fit.explain(&no_bias),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(matches!(
        LeastSquares::new().with_rcond(Some(-1.0)).fit(&data),
        Err(Error::InvalidHyperparameter { name: "rcond", .. })
    ));
}

#[test]
fn underdetermined_and_constant_columns_are_solved_with_minimum_norm() {
    // 2 rows, 3 features (one constant): the minimum-norm interpolant. Derivation: centred,
    // the design is [[-0.5, -1, 0], [0.5, 1, 0]] and y_c = [-1, 1]; the minimum-norm w with
    // -0.5 w1 - w2 = -1 is w = (0.4, 0.8, 0) (w parallel to (0.5, 1)), b = mean(y) - mean(x) w.
    let dev = dev();
    let data = Dataset::from_rows(
        &[vec![1.0, 2.0, 7.0], vec![2.0, 4.0, 7.0]],
        &[3.0, 5.0],
        &dev,
    )
    .unwrap();
    for solver in [Solver::Qr, Solver::Svd, Solver::NormalEquations] {
        let fit = LeastSquares::new().with_solver(solver).fit(&data).unwrap();
        assert_eq!(fit.rank(), 1, "{solver:?}");
        common::assert_rel(
            &format!("{solver:?} w"),
            &fit.model().weights()[..2],
            &[0.4, 0.8],
            1e-12,
        );
        assert!(fit.model().weights()[2].abs() < 1e-12);
        let b = 4.0 - (1.5 * 0.4 + 3.0 * 0.8);
        common::assert_rel("b", &fit.model().bias().unwrap(), &[b], 1e-12);
        assert!(fit.sse()[0] < 1e-20);
    }
}

/// A seeded random design: n x m, U(-1, 1) plus `offset`, targets linear plus noise, k targets.
fn design(n: usize, m: usize, k: usize, seed: u64, offset: f64) -> (Vec<Vec<f64>>, Vec<Vec<f64>>) {
    let mut rng = ChaCha12Rng::seed_from_u64(seed);
    let x: Vec<Vec<f64>> = (0..n)
        .map(|_| {
            (0..m)
                .map(|_| offset + rng.random_range(-1.0..1.0))
                .collect()
        })
        .collect();
    let y = x
        .iter()
        .map(|r| {
            (0..k)
                .map(|t| t as f64 + r.iter().sum::<f64>() + rng.random_range(-1.0..1.0))
                .collect()
        })
        .collect();
    (x, y)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn residuals_satisfy_the_normal_equations_and_row_order_does_not_matter(
        n in 8usize..60, m in 1usize..6, k in 1usize..3, seed in any::<u64>(), offset in -100.0..100.0f64,
        intercept in any::<bool>(),
    ) {
        prop_assume!(n > m + 1);
        let dev = dev();
        let (x, y) = design(n, m, k, seed, offset);
        let data = Dataset::from_rows_multi(&x, &y, &dev).unwrap();
        let fit = LeastSquares::new().with_intercept(intercept).with_solver(Solver::Qr).fit(&data).unwrap();
        let w = fit.model().weights();
        let b = fit.model().bias();
        // D^T r = 0, with D = [1 X]: each |sum_i d_ij r_i| tiny next to ||d_j|| ||y||.
        let scale: f64 = x.iter().flatten().map(|v| v * v).sum::<f64>().sqrt().max(n as f64)
            * y.iter().flatten().map(|v| v * v).sum::<f64>().sqrt();
        for t in 0..k {
            let r: Vec<f64> = (0..n).map(|i| {
                y[i][t] - b.as_ref().map_or(0.0, |b| b[t]) - (0..m).map(|j| x[i][j] * w[j * k + t]).sum::<f64>()
            }).collect();
            let xtr: Vec<f64> = (0..m).map(|j| x.iter().zip(&r).map(|(row, ri)| row[j] * ri).sum()).collect();
            for g in xtr {
                prop_assert!(g.abs() <= 1e-12 * scale, "X^T r = {g:e}");
            }
            if intercept {
                prop_assert!(r.iter().sum::<f64>().abs() <= 1e-12 * scale);
            }
        }
        // Reversed rows, same solution.
        let xr: Vec<Vec<f64>> = x.iter().rev().cloned().collect();
        let yr: Vec<Vec<f64>> = y.iter().rev().cloned().collect();
        let fit_r = LeastSquares::new().with_intercept(intercept).with_solver(Solver::Qr)
            .fit(&Dataset::from_rows_multi(&xr, &yr, &dev).unwrap()).unwrap();
        let cond = fit.condition_number();
        let tol = 1e-13 * cond.max(1.0);
        prop_assert!(common::rel_norm(&fit_r.model().weights(), &w) <= tol);
    }

    #[test]
    fn qr_svd_and_normal_equations_agree_on_full_rank_designs(
        n in 10usize..80, m in 1usize..6, seed in any::<u64>(), offset in -5.0..5.0f64,
    ) {
        prop_assume!(n > 2 * m);
        let dev = dev();
        let (x, y) = design(n, m, 1, seed, offset);
        let data = Dataset::from_rows_multi(&x, &y, &dev).unwrap();
        let qr = LeastSquares::new().with_solver(Solver::Qr).fit(&data).unwrap();
        let reference = qr.model().weights();
        let cond = qr.condition_number();
        // The normal equations lose cond^2, and centring the raw sums cancels (1 + offset^2).
        let ne_tol = 1e-13 * cond * cond * (1.0 + offset * offset);
        for (solver, tol) in [(Solver::Svd, 1e-13 * cond), (Solver::NormalEquations, ne_tol)] {
            let other = LeastSquares::new().with_solver(solver).fit(&data).unwrap();
            prop_assert_eq!(other.rank(), m);
            let err = common::rel_norm(&other.model().weights(), &reference);
            prop_assert!(err <= tol.max(1e-13), "{:?}: {:e} (cond {:e})", solver, err, cond);
        }
    }

    #[test]
    fn any_finite_design_is_solved_without_panic(
        (n, m, x, y) in (1usize..8, 1usize..6).prop_flat_map(|(n, m)| (
            Just(n), Just(m),
            prop::collection::vec(prop_oneof![Just(0.0), Just(1.0), -1e6..1e6f64], n * m),
            prop::collection::vec(-1e6..1e6f64, n),
        )),
        intercept in any::<bool>(),
        solver in prop_oneof![Just(Solver::Auto), Just(Solver::Qr), Just(Solver::Svd), Just(Solver::NormalEquations)],
        rcond in prop::option::of(0.0..1.0f64),
    ) {
        let dev = dev();
        let data = Dataset::from_flat(x, y, [n, m], 1, &dev).unwrap();
        if let Ok(fit) = LeastSquares::new().with_intercept(intercept).with_solver(solver).with_rcond(rcond).fit(&data) {
            prop_assert!(fit.rank() <= m.min(n));
            prop_assert!(fit.model().weights().iter().all(|w| w.is_finite()));
            let _ = fit.summary().to_string();
            let _ = fit.explain(fit.model()).map(|e| e.to_string());
        }
    }
}

/// The flat host copy of a dataset: `(x [n][m], y [n][k])` row-major.
fn host(data: &Dataset) -> (Vec<f64>, Vec<f64>) {
    (
        data.features().try_into_vec_as::<f64>().unwrap(),
        data.targets().try_into_vec_as::<f64>().unwrap(),
    )
}

/// Checks a fit of tall data (streamed: `Qr` and `Svd` alike) against the test's own SVD
/// reference: rank, weights, intercepts, SSE (linfit takes it from R), R^2, residual SD.
fn check_against_reference(data: &Dataset, fit: &LeastSquaresFit, intercept: bool, tol: f64) {
    let (x, y) = host(data);
    let (n, m, k) = (data.n_samples(), data.n_features(), data.n_targets());
    let reference = common::reference_lstsq(&x, &y, m, k, intercept);
    assert_eq!(fit.rank(), reference.rank);
    let err = common::rel_norm(&fit.model().weights(), &reference.weights);
    assert!(err < tol, "weights: {err:e}");
    if intercept {
        let b = fit.model().bias().unwrap();
        assert!(common::rel_norm(&b, &reference.intercepts) < tol);
    }
    common::assert_rel("sse", &fit.sse(), &reference.sse, 1e-10);
    let summary = fit.summary();
    let df = (n - reference.rank - usize::from(intercept)) as f64;
    for t in 0..k {
        let column: Vec<f64> = (0..n).map(|i| y[i * k + t]).collect();
        let centre = if intercept {
            column.iter().sum::<f64>() / n as f64
        } else {
            0.0
        };
        let sst: f64 = column.iter().map(|v| (v - centre) * (v - centre)).sum();
        let r2 = 1.0 - reference.sse[t] / sst;
        assert!(
            (summary.targets[t].r_squared - r2).abs() < 1e-12,
            "R^2, target {t}"
        );
        let sd = (reference.sse[t] / df).sqrt();
        let got = summary.targets[t].residual_std_dev;
        assert!((got / sd - 1.0).abs() < 1e-10, "residual SD, target {t}");
    }
}

#[test]
fn tall_data_streams_and_agrees_with_a_reference() {
    // 40 000 x 30 = 1.2e6 design entries: above the in-memory limit (2^20), so Solver::Qr and
    // Solver::Svd stream.
    let dev = dev();
    let (data, _) = MakeRegression::new(40_000, 30)
        .with_noise(1.0)
        .with_bias(5.0)
        .with_seed(4)
        .generate(&dev)
        .unwrap();
    for solver in [Solver::Qr, Solver::Svd] {
        let fit = LeastSquares::new().with_solver(solver).fit(&data).unwrap();
        assert_eq!(fit.rank(), 30);
        check_against_reference(&data, &fit, true, 1e-12);
    }
    // Collinear columns: the rank drops, and the minimum-norm answers agree.
    let (collinear, _) = MakeRegression::new(40_000, 30)
        .with_collinear(Some(3))
        .with_noise(1.0)
        .generate(&dev)
        .unwrap();
    for solver in [Solver::Qr, Solver::Svd] {
        let fit = LeastSquares::new()
            .with_solver(solver)
            .fit(&collinear)
            .unwrap();
        assert_eq!(fit.rank(), 27);
        assert_eq!(fit.null_space().len(), 3);
        check_against_reference(&collinear, &fit, true, 1e-9);
    }
}

#[test]
fn streaming_handles_several_targets_and_no_intercept() {
    // 30 000 x 40, three targets, with and without intercept.
    let dev = dev();
    let (data, _) = MakeRegression::new(30_000, 40)
        .with_n_targets(3)
        .with_noise(2.0)
        .with_bias(-7.0)
        .with_seed(11)
        .generate(&dev)
        .unwrap();
    for intercept in [true, false] {
        for solver in [Solver::Qr, Solver::Svd] {
            let fit = LeastSquares::new()
                .with_solver(solver)
                .with_intercept(intercept)
                .fit(&data)
                .unwrap();
            check_against_reference(&data, &fit, intercept, 1e-12);
        }
    }
}

#[test]
fn tall_ill_conditioned_data_is_refined() {
    // Columns t^1..t^6 of t in [1, 2]: scaled condition number ~1e6 > 1e4, so the streaming path
    // refines with the semi-normal equations. The targets are an exact polynomial, so the true
    // coefficients (1, 2, ..., 6; intercept 0.5) are the answer, to ~cond * eps.
    let dev = dev();
    let n = 200_000;
    let x: Vec<Vec<f64>> = (0..n)
        .map(|i| {
            let t = 1.0 + i as f64 / n as f64;
            (1..=6).map(|k| t.powi(k)).collect()
        })
        .collect();
    let y: Vec<f64> = x
        .iter()
        .map(|r| {
            0.5 + r
                .iter()
                .enumerate()
                .map(|(j, v)| (j + 1) as f64 * v)
                .sum::<f64>()
        })
        .collect();
    let data = Dataset::from_rows(&x, &y, &dev).unwrap();
    let fit = LeastSquares::new()
        .with_solver(Solver::Qr)
        .fit(&data)
        .unwrap();
    assert!(fit.condition_number() > 1e4);
    common::assert_rel(
        "weights",
        &fit.model().weights(),
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        1e-6,
    );
}

#[test]
fn streaming_qr_is_accurate_for_large_offsets_and_sorted_rows() {
    // 50 000 x 24 (streams): columns of spread ~1 around offsets up to 1e8, the first column
    // sorted, so the shift the streaming QR takes from the first rows is far from the mean of
    // the sorted column. Against the SVD solver, which centres with double-double means.
    let dev = dev();
    let (n, m) = (50_000, 24);
    let mut rng = ChaCha12Rng::seed_from_u64(21);
    let w: Vec<f64> = (0..m).map(|_| rng.random_range(-2.0..2.0)).collect();
    let mut x = Vec::with_capacity(n * m);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let row: Vec<f64> = (0..m)
            .map(|j| {
                let offset = 10f64.powi(j as i32 % 9);
                if j == 0 {
                    offset + i as f64 / n as f64
                } else {
                    offset + rng.random_range(0.0..1.0)
                }
            })
            .collect();
        let noise: f64 = rng.random_range(-0.01..0.01);
        y.push(3.0 + row.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>() + noise);
        x.extend(row);
    }
    let reference = common::reference_lstsq(&x, &y, m, 1, true);
    let data = Dataset::from_flat(x, y, [n, m], 1, &dev).unwrap();
    let qr = LeastSquares::new()
        .with_solver(Solver::Qr)
        .fit(&data)
        .unwrap();
    assert!(common::rel_norm(&qr.model().weights(), &reference.weights) < 1e-9);
    assert!(common::rel_norm(&qr.model().weights(), &w) < 1e-2);
    let b = qr.model().bias().unwrap()[0];
    let b_ref = reference.intercepts[0];
    assert!((b - b_ref).abs() < 1e-9 * 1e8, "{b} vs {b_ref}");
    common::assert_rel("sse", &qr.sse(), &reference.sse, 1e-10);
}
