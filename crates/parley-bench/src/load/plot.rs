//! Line charts as SVG, for docs/benchmarks/: latency percentiles against
//! load, memory against connections. Written by hand — a few hundred bytes
//! of markup per series — so the figures need no plotting stack.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context;

/// One chart: named series of (x, y) points on shared axes.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    pub title: String,
    /// A second line under the title: the command, the machine, the date.
    pub subtitle: String,
    pub x_label: String,
    pub y_label: String,
    /// A logarithmic x axis (rates spanning decades).
    pub log_x: bool,
    /// A logarithmic y axis (latencies span from a millisecond to seconds).
    pub log_y: bool,
    pub series: Vec<Series>,
}

#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 460.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 62.0;
const BOTTOM: f64 = 56.0;
const COLOURS: [&str; 6] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"];

impl Chart {
    /// Writes the chart to `path`, creating its directory.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::write(path, self.svg()).with_context(|| format!("writing {}", path.display()))
    }

    pub fn svg(&self) -> String {
        let points =
            || self.series.iter().flat_map(|s| s.points.iter().copied()).filter(|(x, y)| self.plottable(*x, *y));
        let (x_min, x_max) = bounds(points().map(|(x, _)| x));
        let (y_min, y_max) = bounds(points().map(|(_, y)| y));
        let x_axis = if self.log_x { Axis::log(x_min, x_max) } else { Axis::linear(0.0_f64.min(x_min), x_max) };
        let y_axis = if self.log_y { Axis::log(y_min, y_max) } else { Axis::linear(0.0_f64.min(y_min), y_max) };
        let (plot_w, plot_h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
        let sx = |x: f64| LEFT + x_axis.fraction(x) * plot_w;
        let sy = |y: f64| TOP + (1.0 - y_axis.fraction(y)) * plot_h;

        let mut svg = String::new();
        let _ = writeln!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(svg, r#"<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>"#);
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
            WIDTH / 2.0,
            escape(&self.title)
        );
        let _ = writeln!(
            svg,
            r##"<text x="{}" y="40" text-anchor="middle" fill="#555">{}</text>"##,
            WIDTH / 2.0,
            escape(&self.subtitle)
        );
        for tick in &x_axis.ticks {
            let x = sx(*tick);
            let _ = writeln!(
                svg,
                r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#e4e4e4"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                TOP + plot_h,
                TOP + plot_h + 16.0,
                label(*tick)
            );
        }
        for tick in &y_axis.ticks {
            let y = sy(*tick);
            let _ = writeln!(
                svg,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e4e4e4"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                LEFT + plot_w,
                LEFT - 6.0,
                y + 4.0,
                label(*tick)
            );
        }
        let _ = writeln!(
            svg,
            r#"<rect x="{LEFT}" y="{TOP}" width="{plot_w:.1}" height="{plot_h:.1}" fill="none" stroke="black"/>"#
        );
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            LEFT + plot_w / 2.0,
            HEIGHT - 14.0,
            escape(&self.x_label)
        );
        let _ = writeln!(
            svg,
            r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
            TOP + plot_h / 2.0,
            escape(&self.y_label)
        );
        for (i, series) in self.series.iter().enumerate() {
            let colour = COLOURS[i % COLOURS.len()];
            let mut line = String::new();
            for (x, y) in series.points.iter().filter(|(x, y)| self.plottable(*x, *y)) {
                let _ = write!(line, "{:.1},{:.1} ", sx(*x), sy(*y));
                let _ = writeln!(svg, r#"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{colour}"/>"#, sx(*x), sy(*y));
            }
            let _ = writeln!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
                line.trim_end()
            );
            let y = TOP + 16.0 + 16.0 * i as f64;
            let _ = writeln!(
                svg,
                r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{colour}" stroke-width="2"/><text x="{:.1}" y="{:.1}">{}</text>"#,
                LEFT + 12.0,
                y - 4.0,
                LEFT + 32.0,
                y - 4.0,
                LEFT + 38.0,
                y,
                escape(&series.name)
            );
        }
        svg.push_str("</svg>\n");
        svg
    }

    /// A point the axes can show: finite, and positive on a log axis.
    fn plottable(&self, x: f64, y: f64) -> bool {
        x.is_finite() && y.is_finite() && (!self.log_x || x > 0.0) && (!self.log_y || y > 0.0)
    }
}

/// The smallest and largest of `values`; (0, 1) when there are none.
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values
        .fold(None, |b: Option<(f64, f64)>, v| Some(b.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v)))))
        .unwrap_or((0.0, 1.0))
}

/// An axis's range and where its labelled ticks fall.
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    ticks: Vec<f64>,
}

impl Axis {
    /// From `lo` to a round number at or above `hi`, with 4–10 round ticks.
    fn linear(lo: f64, hi: f64) -> Axis {
        let hi = if hi > lo { hi } else { lo + 1.0 };
        let step = nice_step((hi - lo) / 6.0);
        let (lo, hi) = ((lo / step).floor() * step, (hi / step).ceil() * step);
        let ticks = (0..).map(|i| lo + step * f64::from(i)).take_while(|t| *t <= hi + step * 1e-9).collect();
        Axis { lo, hi, log: false, ticks }
    }

    /// Whole decades around `lo..hi`, ticked at 1, 2 and 5 of each; one
    /// decade, 1 to 10, when there is nothing positive to show.
    fn log(lo: f64, hi: f64) -> Axis {
        let (lo, hi) = if lo.is_finite() && lo > 0.0 && hi >= lo { (lo, hi) } else { (1.0, 10.0) };
        let (lo, hi) = (10f64.powf(lo.log10().floor()), 10f64.powf(hi.log10().ceil().max(lo.log10().floor() + 1.0)));
        let decades = (hi / lo).log10().round() as i32;
        let ticks = (0..decades)
            .flat_map(|d| [1.0, 2.0, 5.0].map(|m| m * lo * 10f64.powi(d)))
            .chain(std::iter::once(hi))
            .collect();
        Axis { lo, hi, log: true, ticks }
    }

    /// Where `v` falls, 0 at `lo` and 1 at `hi`.
    fn fraction(&self, v: f64) -> f64 {
        if self.log {
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }
}

/// 1, 2 or 5 × a power of ten, the first at or above `raw`.
fn nice_step(raw: f64) -> f64 {
    let magnitude = 10f64.powf(raw.max(f64::MIN_POSITIVE).log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude)
}

/// A tick's label: `20k`, `1.5`, `0.2`.
fn label(v: f64) -> String {
    if v.abs() >= 1000.0 && (v / 1000.0).fract() == 0.0 {
        format!("{}k", v / 1000.0)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        let text = format!("{v:.6}");
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(log_y: bool) -> Chart {
        Chart {
            log_x: log_y,
            title: "send→deliver <p99> & more".into(),
            subtitle: "2 cores".into(),
            x_label: "stored msg/s".into(),
            y_label: "ms".into(),
            log_y,
            series: vec![
                Series { name: "p50".into(), points: vec![(1000.0, 1.7), (5000.0, 2.5), (20000.0, 40.0)] },
                Series { name: "p99".into(), points: vec![(1000.0, 6.8), (5000.0, 12.0), (20000.0, 0.0)] },
            ],
        }
    }

    #[test]
    fn every_series_is_a_line_with_its_points_and_a_legend() {
        let svg = chart(false).svg();
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 6);
        assert!(svg.contains(">p50</text>") && svg.contains(">p99</text>"));
        assert!(svg.contains("send→deliver &lt;p99&gt; &amp; more"), "text is escaped");
    }

    #[test]
    fn a_log_axis_leaves_out_what_it_cannot_show() {
        let svg = chart(true).svg();
        assert_eq!(svg.matches("<circle").count(), 5, "the zero latency has no place on a log axis");
        assert!(!svg.contains("NaN") && !svg.contains("inf"));
    }

    #[test]
    fn points_land_inside_the_plot_area() {
        let svg = chart(true).svg();
        for circle in svg.lines().filter(|l| l.starts_with("<circle")) {
            let attr = |name: &str| -> f64 {
                let rest = circle.split(&format!(r#"{name}=""#)).nth(1).unwrap();
                rest.split('"').next().unwrap().parse().unwrap()
            };
            let (x, y) = (attr("cx"), attr("cy"));
            assert!((LEFT..=WIDTH - RIGHT).contains(&x), "{circle}");
            assert!((TOP..=HEIGHT - BOTTOM).contains(&y), "{circle}");
        }
    }

    #[test]
    fn axes_take_round_ticks() {
        let axis = Axis::linear(0.0, 29_197.0);
        assert_eq!(axis.ticks.first(), Some(&0.0));
        assert!(axis.hi >= 29_197.0 && axis.ticks.len() >= 4 && axis.ticks.len() <= 10, "{:?}", axis.ticks);
        assert_eq!(nice_step(3.2), 5.0);
        assert_eq!(nice_step(0.013), 0.02);
        let log = Axis::log(1.68, 476.0);
        assert_eq!((log.lo, log.hi), (1.0, 1000.0));
        assert_eq!(label(20_000.0), "20k");
        assert_eq!(label(0.2), "0.2");
        assert_eq!(label(5.0), "5");
    }

    #[test]
    fn an_empty_chart_is_still_a_picture() {
        let svg = Chart::default().svg();
        assert!(svg.contains("<rect") && !svg.contains("NaN"));
        let nothing_positive = Chart {
            log_x: true,
            log_y: true,
            series: vec![Series { name: "p99".into(), points: vec![(0.0, 0.0), (100.0, 0.0)] }],
            ..Chart::default()
        };
        let svg = nothing_positive.svg();
        assert!(svg.contains("<rect") && !svg.contains("NaN") && !svg.contains("inf"));
    }
}
