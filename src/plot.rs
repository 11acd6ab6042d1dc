//! Plots (feature `plot`): the loss history on a log scale, and predicted against actual values,
//! to PNG or SVG (chosen by the file's extension), drawn with plotters.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::data::Dataset;
use crate::device::read_f64;
use crate::loss::Loss;
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

/// Colours of successive series (and targets).
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];

/// The whole decades around `[lo, hi]` (at least two) and the decades to label on them
/// (at most 8 labels: every second or third decade over a wide range).
fn decades(lo: f64, hi: f64) -> (f64, f64, Vec<f64>) {
    let first = lo.log10().floor().max(-307.0) as i32;
    let mut last = hi.log10().ceil().min(308.0) as i32;
    if last <= first {
        last = first + 1;
    }
    let step = ((last - first) as usize).div_ceil(8).max(1);
    let labels = (first..=last)
        .step_by(step)
        .map(|k| 10f64.powi(k))
        .collect();
    (10f64.powi(first), 10f64.powi(last), labels)
}

/// A decade's label: `0.01`, `0.1`, `1`, `10`, `100`, `1000` near 1, `1e-5` or `1e12` beyond.
fn decade_label(v: &f64) -> String {
    let k = v.log10().round() as i32;
    if (-2..=3).contains(&k) {
        crate::text::number(10f64.powi(k), 1)
    } else {
        format!("1e{k}")
    }
}

fn loss_chart<DB: DrawingBackend>(area: DrawingArea<DB, Shift>, plot: &LossPlot<'_>) -> Result<()>
where
    DB::ErrorType: 'static,
{
    area.fill(&WHITE).map_err(plot_err)?;
    let series: Vec<(&str, Vec<(f64, f64)>)> = plot
        .series
        .iter()
        .map(|(name, history)| {
            let points = history
                .iter()
                .filter(|e| e.loss > 0.0 && e.loss.is_finite())
                .map(|e| (e.step as f64, e.loss))
                .collect();
            (name.as_str(), points)
        })
        .collect();
    let (xmax, lmin, lmax) = series
        .iter()
        .flat_map(|(_, p)| p)
        .fold((1.0f64, f64::INFINITY, 0.0f64), |(x, lo, hi), &(s, l)| {
            (x.max(s), lo.min(l), hi.max(l))
        });
    let (lmin, lmax) = if lmin.is_finite() {
        (lmin, lmax)
    } else {
        (1e-3, 1.0)
    };
    // Whole decades, each labelled: a log axis with one tick says nothing.
    let (lo, hi, labels) = decades(lmin, lmax);
    let minor: Vec<f64> = labels
        .iter()
        .flat_map(|d| (2..10).map(move |i| d * f64::from(i)))
        .filter(|v| *v < hi)
        .collect();
    let mut chart = ChartBuilder::on(&area)
        .caption(plot.title_text(), (FONT_NAME, 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(
            0.0..xmax,
            (lo..hi)
                .log_scale()
                .with_key_points(labels)
                .with_light_points(minor),
        )
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc("step")
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_desc(plot.y_desc())
        .y_label_formatter(&decade_label)
        .label_style((FONT_NAME, 14))
        .draw()
        .map_err(plot_err)?;
    for (i, (name, points)) in series.into_iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let drawn = chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))
            .map_err(plot_err)?;
        if plot.series.len() > 1 {
            drawn.label(name).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        }
    }
    if plot.series.len() > 1 {
        chart
            .configure_series_labels()
            .label_font((FONT_NAME, 14))
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.4))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(plot_err)?;
    }
    area.present().map_err(plot_err)
}

/// A loss-history plot: one or more series (training, validation, ...) against the step, on
/// a logarithmic loss axis labelled at every decade, to a `.png` or `.svg` file.
///
/// # Example
/// ```no_run
/// use linfit::plot::LossPlot;
/// use linfit::Loss;
/// # let (train, valid): (Vec<linfit::LogEntry>, Vec<linfit::LogEntry>) = (vec![], vec![]);
/// LossPlot::new()
///     .series("training", &train)
///     .series("validation", &valid)
///     .loss(Loss::MeanSquared)
///     .units("mmol/L")
///     .title("Diabetes progression, 10 features, SGD")
///     .save("target/plots/loss.png")?;
/// # Ok::<(), linfit::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct LossPlot<'a> {
    series: Vec<(String, &'a [LogEntry])>,
    title: Option<String>,
    loss: Option<Loss>,
    units: Option<String>,
}

impl<'a> LossPlot<'a> {
    /// An empty plot.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a series, named in the legend (drawn when there are several).
    pub fn series(mut self, name: impl Into<String>, history: &'a [LogEntry]) -> Self {
        self.series.push((name.into(), history));
        self
    }

    /// The title (default: "Training loss").
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// The loss the values are, named on the axis.
    pub fn loss(mut self, loss: Loss) -> Self {
        self.loss = Some(loss);
        self
    }

    /// The targets' units: the axis shows the loss in their square.
    pub fn units(mut self, units: impl Into<String>) -> Self {
        self.units = Some(units.into());
        self
    }

    fn title_text(&self) -> &str {
        self.title.as_deref().unwrap_or("Training loss")
    }

    fn y_desc(&self) -> String {
        let name = match self.loss {
            Some(Loss::MeanSquared) => "mean squared error",
            Some(Loss::SumSquared) => "sum of squared errors",
            None => "loss",
        };
        match &self.units {
            Some(u) => format!("{name} [({u})²], log scale"),
            None => format!("{name}, log scale"),
        }
    }

    /// Draws the plot to `path` (`.png` or `.svg`).
    ///
    /// # Errors
    /// [`Error::EmptyData`] without a series or with an empty one; [`Error::Io`] when the file
    /// cannot be written or has another extension.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        if self.series.is_empty() || self.series.iter().any(|(_, h)| h.is_empty()) {
            return Err(Error::EmptyData {
                what: "no loss history to plot (set log_every)".into(),
            });
        }
        let size = (800, 500);
        let drawn = if is_svg(path)? {
            loss_chart(SVGBackend::new(path, size).into_drawing_area(), self)
        } else {
            loss_chart(BitMapBackend::new(path, size).into_drawing_area(), self)
        };
        drawn.map_err(|e| relabel(e, path))
    }
}

/// The loss history (`Fitted::history`) against the step, with a logarithmic loss axis, to a
/// `.png` or `.svg` file: [`LossPlot`] with one series.
///
/// # Errors
/// [`Error::Io`] when the file cannot be written or has another extension;
/// [`Error::EmptyData`] for an empty history.
pub fn loss_history(history: &[LogEntry], path: impl AsRef<Path>) -> Result<()> {
    LossPlot::new().series("training", history).save(path)
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
    targets: &[String],
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
    let k = targets.len().max(1);
    let (x_desc, y_desc) = if k == 1 {
        (
            format!("actual {}", targets[0]),
            format!("predicted {}", targets[0]),
        )
    } else {
        ("actual".to_string(), "predicted".to_string())
    };
    let mut chart = ChartBuilder::on(&area)
        .caption(title, (FONT_NAME, 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(range.clone(), range)
        .map_err(plot_err)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|v| crate::text::number(*v, 6))
        .y_label_formatter(&|v| crate::text::number(*v, 6))
        .label_style((FONT_NAME, 14))
        .draw()
        .map_err(plot_err)?;
    chart
        .draw_series(LineSeries::new([(lo, lo), (hi, hi)], BLACK.mix(0.5)))
        .map_err(plot_err)?
        .label("perfect fit")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.mix(0.5)));
    for (t, name) in targets.iter().enumerate() {
        let colour = PALETTE[t % PALETTE.len()];
        let points = actual
            .iter()
            .zip(predicted)
            .skip(t)
            .step_by(k)
            .map(move |(&a, &p)| Circle::new((a, p), 3, colour.mix(0.6).filled()));
        let drawn = chart.draw_series(points).map_err(plot_err)?;
        if k > 1 {
            drawn
                .label(name.as_str())
                .legend(move |(x, y)| Circle::new((x + 10, y), 4, colour.filled()));
        }
    }
    chart
        .configure_series_labels()
        .label_font((FONT_NAME, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(plot_err)?;
    area.present().map_err(plot_err)
}

/// Predicted against actual values of every target of `data` (the diagonal is a perfect fit),
/// to a `.png` or `.svg` file; axes and legend name the targets (the data's column names).
///
/// # Errors
/// [`Error::ShapeMismatch`] / [`Error::DeviceMismatch`] / [`Error::NameMismatch`] when model and
/// data do not fit; [`Error::Io`] when the file cannot be written.
pub fn predicted_vs_actual(
    model: &LinearModel,
    data: &Dataset,
    path: impl AsRef<Path>,
) -> Result<()> {
    let path = path.as_ref();
    model.check_data("predicted_vs_actual", data)?;
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
    let targets = data.target_names();
    let title = format!(
        "Predicted vs actual {}, {} rows",
        if targets.len() == 1 {
            targets[0].clone()
        } else {
            format!("({})", targets.join(", "))
        },
        data.n_samples()
    );
    let size = (600, 600);
    let drawn = if is_svg(path)? {
        scatter_chart(
            SVGBackend::new(path, size).into_drawing_area(),
            &actual,
            &predicted,
            targets,
            &title,
        )
    } else {
        scatter_chart(
            BitMapBackend::new(path, size).into_drawing_area(),
            &actual,
            &predicted,
            targets,
            &title,
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
