use linfit::prelude::*;
fn run(name: &str, x: Vec<Vec<f64>>, y: Vec<f64>, shards: usize) {
    let cpu = device::cpu(Precision::F64).unwrap();
    let data = match Dataset::from_rows(&x, &y, &cpu) {
        Ok(d) => d,
        Err(e) => {
            println!("{name}: data err {e}");
            return;
        }
    };
    let whole = LeastSquares::new().with_solver(Solver::Qr).fit(&data);
    let sh = ShardedDataset::split(&data, &vec![cpu.clone(); shards]).unwrap();
    let fit = LeastSquares::new().fit_sharded(&sh);
    match (&whole, &fit) {
        (Ok(a), Ok(b)) => println!(
            "{name}: rank {} vs {}; w {:?} vs {:?}; b {:?} vs {:?}; sse {:?} vs {:?}",
            a.rank(),
            b.rank(),
            a.model().weights(),
            b.model().weights(),
            a.model().bias(),
            b.model().bias(),
            a.sse(),
            b.sse()
        ),
        _ => println!(
            "{name}: whole {:?}\n   sharded {:?}",
            whole.as_ref().map(|f| f.rank()),
            fit.as_ref().map(|f| f.rank())
        ),
    }
}
fn main() {
    run(
        "n<p",
        (0..3)
            .map(|i| vec![i as f64, (i * i) as f64, 1.0 + i as f64 * 0.5, 7.0])
            .collect(),
        vec![1.0, 2.0, 4.0],
        3,
    );
    run(
        "const col",
        (0..10).map(|i| vec![i as f64, 5.0]).collect(),
        (0..10).map(|i| 2.0 * i as f64).collect(),
        2,
    );
    run(
        "zero col",
        (0..10).map(|i| vec![i as f64, 0.0]).collect(),
        (0..10).map(|i| 2.0 * i as f64 + 1.0).collect(),
        2,
    );
    run(
        "perfect fit",
        (0..10).map(|i| vec![i as f64]).collect(),
        (0..10).map(|i| 2.0 * i as f64 + 1.0).collect(),
        2,
    );
    run(
        "zero y",
        (0..10).map(|i| vec![i as f64]).collect(),
        vec![0.0; 10],
        2,
    );
    run(
        "tiny",
        (0..10).map(|i| vec![i as f64 * 1e-160]).collect(),
        (0..10)
            .map(|i| i as f64 * 1e-160 + 1e-161 * ((i % 3) as f64))
            .collect(),
        2,
    );
    run(
        "small",
        (0..10).map(|i| vec![i as f64 * 1e-140]).collect(),
        (0..10)
            .map(|i| i as f64 * 1e-140 + 1e-141 * ((i % 3) as f64))
            .collect(),
        2,
    );
    run(
        "huge",
        (0..10).map(|i| vec![i as f64 * 1e160]).collect(),
        (0..10)
            .map(|i| i as f64 * 1e160 + 1e159 * ((i % 3) as f64))
            .collect(),
        2,
    );
    run(
        "big",
        (0..10).map(|i| vec![i as f64 * 1e140]).collect(),
        (0..10)
            .map(|i| i as f64 * 1e140 + 1e139 * ((i % 3) as f64))
            .collect(),
        2,
    );
    run(
        "1 row/shard",
        (0..3).map(|i| vec![i as f64]).collect(),
        vec![1.0, 3.0, 2.0],
        3,
    );
    run(
        "mixed scale",
        (0..50)
            .map(|i| vec![i as f64 * 1e-8, 1e8 + i as f64])
            .collect(),
        (0..50)
            .map(|i| 3.0 * i as f64 + ((i * 7) % 5) as f64)
            .collect(),
        2,
    );
    run(
        "subnormal",
        (0..10).map(|i| vec![i as f64 * 1e-310]).collect(),
        (0..10).map(|i| i as f64).collect(),
        2,
    );
}
