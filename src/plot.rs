//! Plots (feature `plot`): the loss history on a log scale, and predicted against actual values,
//! to PNG or SVG (chosen by the file's extension), drawn with plotters.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::data::Dataset;
use crate::device::read_f64;
use crate::model::LinearModel;
use crate::trainer::LogEntry;
use crate::{Error, Result};

static FONT: Once = Once::new();
const FONT_NAME: &str = "sans-serif";

fn register_font() {
    FONT.call_once(|| {
        // DejaVu Sans, embedded (see assets/README.md): PNG text needs a font, and none is
        // assumed on the user's machine.
        let _ = plotters::style::register_font(
            FONT_NAME,
            FontStyle::Normal,
            include_bytes!("../assets/DejaVuSans.ttf"),
        );
    });
}

/// The path a chart's errors carry until [`relabel`] names the file.
const PLOT: &str = "<plot>";

/// Which backend the file extension names.
fn is_svg(path: &Path) -> Result<bool> {
    register_font();
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("svg") => Ok(true),
        Some("png") => Ok(false),
        _ => Err(Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the plot file must end in .png or .svg",
            ),
        )),
    }
}

fn plot_err(e: impl Into<crate::error::BoxError>) -> Error {
    Error::io(Path::new(PLOT), e)
}

fn loss_chart<DB: DrawingBackend>(
    area: DrawingArea<DB, Shift>,
    history: &[LogEntry],
    title: &str,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE).map_err(plot_err)?;
    let points: Vec<(f64, f64)> = history
        .iter()
        .filter(|e| e.loss > 0.0 && e.loss.is_finite())
        .map(|e| (e.step as f64, e.loss))
        .collect();
    let (xmax, lmin, lmax) = points
        .iter()
        .fold((1.0f64, f64::INFINITY, 0.0f64), |(x, lo, hi), &(s, l)| {
            (x.max(s), lo.min(l), hi.max(l))
        });
    // Padded, and kept inside f64's range: plotters loops forever on an infinite axis.
    let (lmin, lmax) = if lmin.is_finite() {
        (lmin * 0.8, (lmax * 1.25).min(f64::MAX))
    } else {
        (1e-3, 1.0)
    };
    let mut chart = ChartBuilder::on(&area)
        .caption(title, (FONT_NAME, 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..xmax, (lmin..lmax).log_scale())
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("step")
        .y_desc("loss (log scale)")
        .label_style((FONT_NAME, 14))
        .draw()
        .map_err(plot_err)?;
    chart
        .draw_series(LineSeries::new(points, BLUE.stroke_width(2)))
        .map_err(plot_err)?;
    area.present().map_err(plot_err)
}

/// The loss history (`Fitted::history`) against the step, with a logarithmic loss axis, to a
/// `.png` or `.svg` file.
///
/// # Errors
/// [`Error::Io`] when the file cannot be written or has another extension;
/// [`Error::EmptyData`] for an empty history.
pub fn loss_history(history: &[LogEntry], path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    if history.is_empty() {
        return Err(Error::EmptyData {
            what: "no loss history to plot (set log_every)".into(),
        });
    }
    let size = (800, 500);
    let drawn = if is_svg(path)? {
        loss_chart(
            SVGBackend::new(path, size).into_drawing_area(),
            history,
            "Training loss",
        )
    } else {
        loss_chart(
            BitMapBackend::new(path, size).into_drawing_area(),
            history,
            "Training loss",
        )
    };
    drawn.map_err(|e| relabel(e, path))
}

/// Plotters loops forever on an axis whose range is infinite: refuse non-finite predictions and
/// values whose span, padded by 10% on each side as the chart draws it, overflows f64 (from
/// -0.85e308 to 0.85e308, say).
fn check_drawable(actual: &[f64], predicted: &[f64], width: usize) -> Result<()> {
    if let Some(i) = predicted.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what: "predictions",
            row: i / width.max(1),
            column: i % width.max(1),
            value: predicted[i],
        });
    }
    let (lo, hi) = actual
        .iter()
        .chain(predicted)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    // The chart pads the span by 10% on each side: that width must be finite too.
    if !((hi / 2.0 - lo / 2.0) * 2.4).is_finite() {
        return Err(Error::OutOfRange {
            what: "the values to plot".into(),
            value: format!("from {lo:e} to {hi:e}"),
            rule: "their span overflows f64, so no axis can show them".into(),
        });
    }
    Ok(())
}

fn scatter_chart<DB: DrawingBackend>(
    area: DrawingArea<DB, Shift>,
    actual: &[f64],
    predicted: &[f64],
    title: &str,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE).map_err(plot_err)?;
    let (lo, hi) = actual
        .iter()
        .chain(predicted)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    // At least a relative 1e-9 of the values, so that equal large values still get a width.
    let pad = ((hi / 2.0 - lo / 2.0) * 0.1)
        .max(1e-9 * hi.abs().max(lo.abs()))
        .max(1e-12);
    let range = (lo - pad).max(-f64::MAX)..(hi + pad).min(f64::MAX);
    let mut chart = ChartBuilder::on(&area)
        .caption(title, (FONT_NAME, 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(range.clone(), range)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("actual")
        .y_desc("predicted")
        .label_style((FONT_NAME, 14))
        .draw()
        .map_err(plot_err)?;
    chart
        .draw_series(LineSeries::new([(lo, lo), (hi, hi)], BLACK.mix(0.5)))
        .map_err(plot_err)?;
    chart
        .draw_series(
            actual
                .iter()
                .zip(predicted)
                .map(|(&a, &p)| Circle::new((a, p), 3, BLUE.mix(0.6).filled())),
        )
        .map_err(plot_err)?;
    area.present().map_err(plot_err)
}

/// Predicted against actual values of every target of `data` (the diagonal is a perfect fit),
/// to a `.png` or `.svg` file.
///
/// # Errors
/// [`Error::ShapeMismatch`] / [`Error::DeviceMismatch`] when model and data do not fit;
/// [`Error::Io`] when the file cannot be written.
pub fn predicted_vs_actual(
    model: &LinearModel,
    data: &Dataset,
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    let predicted = read_f64(model.predict(data.features())?)?;
    let actual = read_f64(data.targets())?;
    if predicted.len() != actual.len() {
        return Err(Error::shape_mismatch(
            "model targets vs data targets",
            actual.len(),
            predicted.len(),
        ));
    }
    check_drawable(&actual, &predicted, data.n_targets())?;
    let (size, title) = ((600, 600), "Predicted vs actual");
    let drawn = if is_svg(path)? {
        scatter_chart(
            SVGBackend::new(path, size).into_drawing_area(),
            &actual,
            &predicted,
            title,
        )
    } else {
        scatter_chart(
            BitMapBackend::new(path, size).into_drawing_area(),
            &actual,
            &predicted,
            title,
        )
    };
    drawn.map_err(|e| relabel(e, path))
}

fn relabel(e: Error, path: &Path) -> Error {
    match e {
        Error::Io { path: p, source } if p == PLOT => Error::io(path, source),
        other => other,
    }
}
