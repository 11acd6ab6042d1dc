use linfit::prelude::*;
fn main() {
    let cpu = device::cpu(Precision::F64).unwrap();
    let x: Vec<Vec<f64>> = (0..3)
        .map(|i| vec![i as f64, (i * i) as f64, 1.0 + i as f64 * 0.5, 7.0])
        .collect();
    let data = Dataset::from_rows(&x, &[1.0, 2.0, 4.0], &cpu).unwrap();
    let sh = ShardedDataset::split(&data, &vec![cpu.clone(); 3]).unwrap();
    let fit = LeastSquares::new().fit_sharded(&sh).unwrap();
    println!(
        "{:?} sv {:?} null {:?}",
        fit.model().weights(),
        fit.singular_values(),
        fit.null_space()
    );
    let whole = LeastSquares::new().fit(&data).unwrap();
    println!(
        "{:?} sv {:?} null {:?}",
        whole.model().weights(),
        whole.singular_values(),
        whole.null_space()
    );
}
