//! Charts as inline SVG, written by hand: line charts over K with interval whiskers,
//! grouped bars, a bar per model, and a loss curve. Every chart is an
//! `<svg class="chart" role="img" aria-label="…">` with a `<title>`, axes with ticks and
//! labels, and a legend; all text is escaped.

use std::fmt::Write;

/// Twenty colours, so that a run of many models never shows two in one colour: the eight
/// of Okabe–Ito first (colour-blind safe, and most reports have fewer models), then twelve
/// of Tableau 20, each chosen to be as far as possible (CIELAB) from those before it.
/// Beyond twenty models the colours repeat with dashed lines.
pub(crate) const PALETTE: [&str; 20] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442",
    "#7F7F7F", "#DBDB8D", "#2CA02C", "#FF9896", "#9467BD", "#D62728", "#FFBB78", "#8C564B",
    "#C5B0D5", "#9EDAE5", "#98DF8A", "#C49C94",
];

pub(crate) fn colour(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

fn dash(i: usize) -> &'static str {
    match (i / PALETTE.len()) % 3 {
        0 => "",
        1 => " stroke-dasharray=\"6 3\"",
        _ => " stroke-dasharray=\"2 3\"",
    }
}

/// Escapes text for HTML/SVG content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters, with an ellipsis when cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Approximate width of `s` in 12 px sans-serif.
fn text_width(s: &str) -> f64 {
    s.chars().count() as f64 * 6.6
}

/// Width of a character of a 10 px value label: a little over a digit's (about 5.6 px in
/// common sans-serif fonts), so that neighbouring labels keep a gap.
const VALUE_CHAR: f64 = 6.0;
/// A 10 px line's height: what an upright label takes across its bar.
const VALUE_LINE: f64 = 11.0;

/// A bar's value label above its top `y`, centred on `x`, in `room` px of width: level
/// when it fits; turned upright when the room holds a line and the plot has height for
/// it above the bar; else none, and the bar's `<title>` and the report's tables hold the
/// value. Labels wider than their bar run into their neighbours' (`0.000.000.00`).
fn value_label(out: &mut String, frame: &Frame, (x, y): (f64, f64), room: f64, text: &str) {
    let length = text.chars().count() as f64 * VALUE_CHAR;
    if length <= room {
        let _ = write!(
            out,
            "<text class=\"value\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            c(x),
            c(y - 3.0),
            esc(text)
        );
    } else if VALUE_LINE <= room && y - frame.y0() >= length + 3.0 {
        // The baseline a little right of the centre: the digits stand left of it.
        let (bx, by) = (c(x + 3.5), c(y - 3.0));
        let _ = write!(
            out,
            "<text class=\"value\" x=\"{bx}\" y=\"{by}\" transform=\"rotate(-90 {bx} {by})\">{}</text>",
            esc(text)
        );
    }
}

/// Ticks covering `[lo, hi]` at a step of 1, 2, 2.5 or 5 × 10ⁿ (about `target` ticks),
/// and the decimals their labels need.
pub(crate) fn nice_ticks(lo: f64, hi: f64, target: usize) -> (Vec<f64>, usize) {
    let (mut lo, mut hi) = if lo.is_finite() && hi.is_finite() {
        (lo.min(hi), lo.max(hi))
    } else {
        (0.0, 1.0)
    };
    if hi - lo < 1e-12 {
        let pad = if hi.abs() > 1e-12 {
            hi.abs() * 0.1
        } else {
            1.0
        };
        hi += pad;
        if lo != 0.0 {
            lo -= pad;
        }
    }
    let raw = (hi - lo) / target.max(1) as f64;
    let base = 10f64.powf(raw.log10().floor());
    let step = base
        * match raw / base {
            f if f <= 1.0 => 1.0,
            f if f <= 2.0 => 2.0,
            f if f <= 2.5 => 2.5,
            f if f <= 5.0 => 5.0,
            _ => 10.0,
        };
    // The epsilons keep a bound that is a multiple of the step (such as 0) as it is.
    let start = (lo / step + 1e-9).floor() * step;
    let end = (hi / step - 1e-9).ceil() * step;
    let count = ((end - start) / step).round().max(1.0) as usize;
    let ticks = (0..=count).map(|i| start + i as f64 * step).collect();
    let mut decimals = 0;
    while decimals < 8 {
        let scaled = step * 10f64.powi(decimals as i32);
        if (scaled - scaled.round()).abs() < 1e-6 {
            break;
        }
        decimals += 1;
    }
    (ticks, decimals)
}

fn c(x: f64) -> String {
    format!("{x:.1}")
}

/// Plot area inside the SVG.
struct Frame {
    width: f64,
    height: f64,
    left: f64,
    right: f64,
    top: f64,
    bottom: f64,
}

impl Frame {
    fn x0(&self) -> f64 {
        self.left
    }
    fn x1(&self) -> f64 {
        self.width - self.right
    }
    fn y0(&self) -> f64 {
        self.top
    }
    fn y1(&self) -> f64 {
        self.height - self.bottom
    }
    fn plot_width(&self) -> f64 {
        self.x1() - self.x0()
    }
    /// Maps `v` in `[lo, hi]` to a y coordinate (hi at the top).
    fn y(&self, v: f64, lo: f64, hi: f64) -> f64 {
        let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.0 };
        self.y1() - t.clamp(0.0, 1.0) * (self.y1() - self.y0())
    }
}

const WIDTH: f64 = 520.0;
const HEIGHT: f64 = 380.0;

/// Legend entries placed in rows under the title; returns the rows' height.
fn legend_layout(entries: &[(&str, usize)], width: f64) -> Vec<Vec<(f64, String, usize)>> {
    let mut rows: Vec<Vec<(f64, String, usize)>> = vec![Vec::new()];
    let mut x = 0.0;
    for &(name, colour_index) in entries {
        let label = clip(name, 28);
        let w = 20.0 + text_width(&label) + 16.0;
        if x > 0.0 && x + w > width {
            rows.push(Vec::new());
            x = 0.0;
        }
        if let Some(row) = rows.last_mut() {
            row.push((x, label, colour_index));
        }
        x += w;
    }
    rows
}

/// Opens the SVG, writes the title and the legend, and returns the frame below them.
fn open(
    out: &mut String,
    title: &str,
    aria: &str,
    legend: &[(&str, usize)],
    (left, bottom): (f64, f64),
) -> Frame {
    let rows = if legend.is_empty() {
        Vec::new()
    } else {
        legend_layout(legend, WIDTH - left - 20.0)
    };
    let legend_height = 18.0 * rows.len() as f64;
    let frame = Frame {
        width: WIDTH,
        height: HEIGHT + legend_height,
        left,
        right: 20.0,
        top: 44.0 + legend_height,
        bottom,
    };
    let _ = write!(
        out,
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\">",
        esc(aria),
        frame.width,
        frame.height,
        frame.width,
        frame.height
    );
    let _ = write!(out, "<title>{}</title>", esc(aria));
    let _ = write!(
        out,
        "<text class=\"chart-title\" x=\"{}\" y=\"20\">{}</text>",
        c(left),
        esc(title)
    );
    for (r, row) in rows.iter().enumerate() {
        let y = 36.0 + 18.0 * r as f64;
        for (x, label, colour_index) in row {
            let x = left + x;
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"14\" height=\"10\" fill=\"{}\"></rect><text x=\"{}\" y=\"{}\">{}</text>",
                c(x),
                c(y - 9.0),
                colour(*colour_index),
                c(x + 20.0),
                c(y),
                esc(label)
            );
        }
    }
    frame
}

/// Horizontal grid lines, tick labels and the y-axis title.
fn y_axis(out: &mut String, frame: &Frame, ticks: &[f64], decimals: usize, label: &str) {
    let (lo, hi) = (ticks[0], ticks[ticks.len() - 1]);
    for &t in ticks {
        let y = frame.y(t, lo, hi);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"></line><text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{:.*}</text>",
            c(frame.x0()),
            c(y),
            c(frame.x1()),
            c(y),
            c(frame.x0() - 6.0),
            c(y + 4.0),
            decimals,
            t
        );
    }
    let mid = (frame.y0() + frame.y1()) / 2.0;
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"></line><text class=\"axis-title\" transform=\"rotate(-90 14 {m})\" x=\"14\" y=\"{m}\" text-anchor=\"middle\">{}</text>",
        c(frame.y0()),
        c(frame.y1()),
        esc(label),
        x = c(frame.x0()),
        m = c(mid),
    );
}

/// The x axis line and its title.
fn x_axis(out: &mut String, frame: &Frame, label: &str) {
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\"></line><text class=\"axis-title\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
        c(frame.x0()),
        c(frame.x1()),
        c((frame.x0() + frame.x1()) / 2.0),
        c(frame.height - 10.0),
        esc(label),
        y = c(frame.y1()),
    );
}

/// A tick label under the x axis at `x` (one or two lines).
fn x_label(out: &mut String, frame: &Frame, x: f64, line1: &str, line2: Option<&str>) {
    let _ = write!(
        out,
        "<line class=\"axis\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"></line><text class=\"tick\" x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
        c(frame.y1()),
        c(frame.y1() + 5.0),
        c(frame.y1() + 18.0),
        esc(line1),
        x = c(x),
    );
    if let Some(line2) = line2 {
        let _ = write!(
            out,
            "<text class=\"tick sub\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            c(x),
            c(frame.y1() + 32.0),
            esc(line2)
        );
    }
}

/// One point of a curve over K: the mean and its interval.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CurvePoint {
    pub mean: f64,
    pub ci: Option<(f64, f64)>,
}

/// One model's curve: a point per K (`None` where it has no value).
#[derive(Debug)]
pub(crate) struct Curve<'a> {
    pub name: &'a str,
    pub colour: usize,
    pub points: Vec<Option<CurvePoint>>,
}

/// Lines over K (evenly spaced), one per model, with interval whiskers.
pub(crate) fn k_curves(
    title: &str,
    metric: &str,
    ks: &[usize],
    curves: &[Curve],
    confidence: &str,
) -> String {
    let names: Vec<&str> = curves.iter().map(|c| c.name).collect();
    let aria = format!(
        "Line chart of {metric}@K at K = {} for {}; whiskers are {confidence} bootstrap intervals",
        ks.iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        names.join(", ")
    );
    let legend: Vec<(&str, usize)> = curves.iter().map(|c| (c.name, c.colour)).collect();
    let mut out = String::new();
    let frame = open(&mut out, title, &aria, &legend, (64.0, 52.0));
    let top = curves
        .iter()
        .flat_map(|c| c.points.iter().flatten())
        .map(|p| p.ci.map_or(p.mean, |(_, hi)| hi.max(p.mean)))
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let (ticks, decimals) = nice_ticks(0.0, if top > 0.0 { top } else { 1.0 }, 5);
    let (lo, hi) = (ticks[0], ticks[ticks.len() - 1]);
    y_axis(&mut out, &frame, &ticks, decimals, &format!("{metric}@K"));
    x_axis(&mut out, &frame, "K (list cut-off)");
    let band = frame.plot_width() / ks.len().max(1) as f64;
    let x_of = |i: usize| frame.x0() + (i as f64 + 0.5) * band;
    for (i, k) in ks.iter().enumerate() {
        x_label(&mut out, &frame, x_of(i), &k.to_string(), None);
    }
    let n = curves.len() as f64;
    let spread = (band / (n + 2.0)).min(6.0);
    for (ci, curve) in curves.iter().enumerate() {
        let col = colour(curve.colour);
        let dx = (ci as f64 - (n - 1.0) / 2.0) * spread;
        // Lines, broken where a value is missing.
        let mut segment: Vec<String> = Vec::new();
        let flush = |segment: &mut Vec<String>, out: &mut String| {
            if segment.len() > 1 {
                let _ = write!(
                    out,
                    "<polyline fill=\"none\" stroke=\"{col}\" stroke-width=\"2\"{} points=\"{}\"></polyline>",
                    dash(curve.colour),
                    segment.join(" ")
                );
            }
            segment.clear();
        };
        for (i, p) in curve.points.iter().enumerate() {
            match p {
                Some(p) if p.mean.is_finite() => segment.push(format!(
                    "{},{}",
                    c(x_of(i) + dx),
                    c(frame.y(p.mean, lo, hi))
                )),
                _ => flush(&mut segment, &mut out),
            }
        }
        flush(&mut segment, &mut out);
        for (i, p) in curve.points.iter().enumerate() {
            let Some(p) = p.filter(|p| p.mean.is_finite()) else {
                continue;
            };
            let x = x_of(i) + dx;
            if let Some((l, h)) = p.ci {
                let (yl, yh) = (frame.y(l, lo, hi), frame.y(h, lo, hi));
                let _ = write!(
                    out,
                    "<line stroke=\"{col}\" stroke-width=\"1.5\" x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\"></line><line stroke=\"{col}\" stroke-width=\"1.5\" x1=\"{}\" y1=\"{yl}\" x2=\"{}\" y2=\"{yl}\"></line><line stroke=\"{col}\" stroke-width=\"1.5\" x1=\"{}\" y1=\"{yh}\" x2=\"{}\" y2=\"{yh}\"></line>",
                    c(yl),
                    c(yh),
                    c(x - 3.0),
                    c(x + 3.0),
                    c(x - 3.0),
                    c(x + 3.0),
                    x = c(x),
                    yl = c(yl),
                    yh = c(yh),
                );
            }
            let tip = match p.ci {
                Some((l, h)) => format!(
                    "{} — {metric}@{}: {:.4} ({confidence} CI {:.4}–{:.4})",
                    curve.name, ks[i], p.mean, l, h
                ),
                None => format!("{} — {metric}@{}: {:.4}", curve.name, ks[i], p.mean),
            };
            let _ = write!(
                out,
                "<circle cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{col}\"><title>{}</title></circle>",
                c(x),
                c(frame.y(p.mean, lo, hi)),
                esc(&tip)
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// One model's bars in a grouped bar chart (a value per group).
#[derive(Debug)]
pub(crate) struct BarSeries<'a> {
    pub name: &'a str,
    pub colour: usize,
    pub values: Vec<Option<f64>>,
}

/// Grouped bars: a group per category (with an optional second label line), a bar per
/// model inside each group.
pub(crate) fn grouped_bars(
    title: &str,
    y_label: &str,
    groups: &[(String, Option<String>)],
    series: &[BarSeries],
    aria: &str,
) -> String {
    let legend: Vec<(&str, usize)> = series.iter().map(|s| (s.name, s.colour)).collect();
    let mut out = String::new();
    let frame = open(&mut out, title, aria, &legend, (64.0, 66.0));
    let top = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let band = frame.plot_width() / groups.len().max(1) as f64;
    let bar = band * 0.8 / series.len().max(1) as f64;
    let (mut ticks, mut decimals) = nice_ticks(0.0, if top > 0.0 { top } else { 1.0 }, 5);
    // Upright value labels stand above their bars: the scale leaves room for them over
    // the tallest bar, which would otherwise lose its label.
    let label = format!("{top:.*}", decimals + 1).chars().count() as f64 * VALUE_CHAR;
    if top > 0.0 && label > bar && VALUE_LINE <= bar {
        let share = ((label + 3.0) / (frame.y1() - frame.y0())).min(0.5);
        (ticks, decimals) = nice_ticks(0.0, top / (1.0 - share), 5);
    }
    let (lo, hi) = (ticks[0], ticks[ticks.len() - 1]);
    y_axis(&mut out, &frame, &ticks, decimals, y_label);
    x_axis(&mut out, &frame, "");
    for (g, (line1, line2)) in groups.iter().enumerate() {
        let gx = frame.x0() + g as f64 * band;
        x_label(&mut out, &frame, gx + band / 2.0, line1, line2.as_deref());
        for (si, s) in series.iter().enumerate() {
            let Some(v) = s.values.get(g).copied().flatten().filter(|v| v.is_finite()) else {
                continue;
            };
            let x = gx + band * 0.1 + si as f64 * bar;
            let y = frame.y(v, lo, hi);
            let _ = write!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}</title></rect>",
                c(x),
                c(y),
                c((bar - 1.0).max(1.0)),
                c((frame.y1() - y).max(0.0)),
                colour(s.colour),
                esc(&format!("{} — {line1}: {v:.4}", s.name))
            );
            value_label(
                &mut out,
                &frame,
                (x + bar / 2.0, y),
                bar,
                &format!("{v:.*}", decimals + 1),
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// One model's popularity bar.
#[derive(Debug)]
pub(crate) struct PopularityBar<'a> {
    pub name: &'a str,
    pub colour: usize,
    pub percentile: Option<f64>,
    pub coverage: f64,
}

/// A bar per model: mean popularity percentile (0–100) of the recommended items, with the
/// coverage figure under the model's name.
pub(crate) fn popularity_bars(title: &str, k: usize, bars: &[PopularityBar]) -> String {
    let aria = format!(
        "Bar chart of the mean train-popularity percentile of the top-{k} recommended items per model ({}), with catalogue coverage",
        bars.iter().map(|b| b.name).collect::<Vec<_>>().join(", ")
    );
    let legend: Vec<(&str, usize)> = bars.iter().map(|b| (b.name, b.colour)).collect();
    let mut out = String::new();
    let frame = open(&mut out, title, &aria, &legend, (64.0, 66.0));
    let ticks: Vec<f64> = (0..=5).map(|i| f64::from(i) * 20.0).collect();
    y_axis(&mut out, &frame, &ticks, 0, "popularity percentile");
    x_axis(&mut out, &frame, "");
    let band = frame.plot_width() / bars.len().max(1) as f64;
    let width = (band * 0.6).min(90.0);
    for (i, b) in bars.iter().enumerate() {
        let mid = frame.x0() + (i as f64 + 0.5) * band;
        let cover = format!("coverage {:.1}%", 100.0 * b.coverage);
        // Under narrow bars the coverage line keeps only its number (the caption says
        // what it is), or goes (the bar's tooltip has it): never into its neighbours.
        let short = format!("{:.1}%", 100.0 * b.coverage);
        let under = [cover.as_str(), short.as_str()]
            .into_iter()
            .find(|t| text_width(t) <= band);
        x_label(
            &mut out,
            &frame,
            mid,
            &clip(b.name, (band / 7.0) as usize),
            under,
        );
        let Some(p) = b.percentile.filter(|p| p.is_finite()) else {
            continue;
        };
        let y = frame.y(p, 0.0, 100.0);
        let _ = write!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}</title></rect>",
            c(mid - width / 2.0),
            c(y),
            c(width),
            c((frame.y1() - y).max(0.0)),
            colour(b.colour),
            esc(&format!(
                "{}: popularity percentile {p:.1}, {cover}",
                b.name
            )),
        );
        value_label(&mut out, &frame, (mid, y), band, &format!("{p:.1}"));
    }
    out.push_str("</svg>");
    out
}

/// Training loss per iteration of one model.
pub(crate) fn loss_chart(name: &str, colour_index: usize, values: &[f64]) -> String {
    let aria = format!(
        "Line chart of the training loss of {name} over {} iterations",
        values.len()
    );
    let mut out = String::new();
    let frame = open(
        &mut out,
        &format!("Training loss — {}", clip(name, 60)),
        &aria,
        &[(name, colour_index)],
        (78.0, 52.0),
    );
    let finite = values.iter().copied().filter(|v| v.is_finite());
    let lo = finite.clone().fold(f64::INFINITY, f64::min);
    let hi = finite.fold(f64::NEG_INFINITY, f64::max);
    let (ticks, decimals) = nice_ticks(lo, hi, 5);
    let decimals = if ticks.iter().any(|t| t.abs() >= 1e5) {
        0
    } else {
        decimals
    };
    let (ylo, yhi) = (ticks[0], ticks[ticks.len() - 1]);
    y_axis(&mut out, &frame, &ticks, decimals, "loss");
    x_axis(&mut out, &frame, "iteration");
    let n = values.len().max(1);
    let (xticks, _) = nice_ticks(1.0, n as f64, 6);
    let xticks: Vec<f64> = xticks
        .into_iter()
        .filter(|t| *t >= 1.0 && *t <= n as f64 && t.fract() == 0.0)
        .collect();
    let x_of = |i: f64| {
        if n == 1 {
            (frame.x0() + frame.x1()) / 2.0
        } else {
            frame.x0() + (i - 1.0) / (n as f64 - 1.0) * frame.plot_width()
        }
    };
    for t in &xticks {
        x_label(&mut out, &frame, x_of(*t), &format!("{t:.0}"), None);
    }
    let col = colour(colour_index);
    let points: Vec<(f64, f64)> = values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, &v)| (x_of(i as f64 + 1.0), frame.y(v, ylo, yhi)))
        .collect();
    if points.len() > 1 {
        let _ = write!(
            out,
            "<polyline fill=\"none\" stroke=\"{col}\" stroke-width=\"2\" points=\"{}\"></polyline>",
            points
                .iter()
                .map(|(x, y)| format!("{},{}", c(*x), c(*y)))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    if values.len() <= 60 {
        for (i, &v) in values.iter().enumerate() {
            if v.is_finite() {
                let _ = write!(
                    out,
                    "<circle cx=\"{}\" cy=\"{}\" r=\"3\" fill=\"{col}\"><title>{}</title></circle>",
                    c(x_of(i as f64 + 1.0)),
                    c(frame.y(v, ylo, yhi)),
                    esc(&format!("{name}, iteration {}: {v:.6}", i + 1))
                );
            }
        }
    }
    out.push_str("</svg>");
    out
}

/// One trial in a scatter chart: x, y, and whether it is the chosen one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ScatterPoint {
    pub x: f64,
    pub y: f64,
    pub chosen: bool,
}

/// Points of `y` over `x` (a log x axis when the values span more than a factor 20 and
/// are all positive, as drawn log-uniformly); the chosen point is ringed.
pub(crate) fn scatter(
    title: &str,
    (x_name, y_name): (&str, &str),
    colour_index: usize,
    points: &[ScatterPoint],
) -> String {
    let aria = format!(
        "Scatter chart of {y_name} against {x_name}, {} points",
        points.len()
    );
    let mut out = String::new();
    let frame = open(&mut out, title, &aria, &[], (78.0, 52.0));
    let finite: Vec<ScatterPoint> = points
        .iter()
        .copied()
        .filter(|p| p.x.is_finite() && p.y.is_finite())
        .collect();
    let fold = |f: fn(&ScatterPoint) -> f64| {
        finite
            .iter()
            .map(f)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            })
    };
    let (xlo, xhi) = fold(|p| p.x);
    let (ylo, yhi) = fold(|p| p.y);
    let log_x = xlo > 0.0 && xhi / xlo > 20.0;
    let tx = |x: f64| if log_x { x.log10() } else { x };
    let (yticks, decimals) = nice_ticks(ylo, yhi, 5);
    let (ya, yb) = (yticks[0], yticks[yticks.len() - 1]);
    y_axis(&mut out, &frame, &yticks, decimals, y_name);
    x_axis(
        &mut out,
        &frame,
        &if log_x {
            format!("{x_name} (log scale)")
        } else {
            x_name.to_owned()
        },
    );
    let (xticks, xdecimals) = nice_ticks(tx(xlo), tx(xhi), 5);
    let (xa, xb) = (xticks[0], xticks[xticks.len() - 1]);
    // Position of a value on the (possibly log) axis scale.
    let x_at = |scaled: f64| {
        let t = if xb > xa {
            (scaled - xa) / (xb - xa)
        } else {
            0.5
        };
        frame.x0() + t.clamp(0.0, 1.0) * frame.plot_width()
    };
    let x_of = |x: f64| x_at(tx(x));
    for &t in &xticks {
        let label = if log_x {
            format!("{}", 10f64.powf(t))
        } else {
            format!("{t:.xdecimals$}")
        };
        x_label(&mut out, &frame, x_at(t), &label, None);
    }
    let col = colour(colour_index);
    for p in &finite {
        let (x, y) = (x_of(p.x), frame.y(p.y, ya, yb));
        let ring = if p.chosen {
            " stroke=\"#000\" stroke-width=\"2\"".to_owned()
        } else {
            String::new()
        };
        let _ = write!(
            out,
            "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{col}\" fill-opacity=\"0.75\"{ring}><title>{}</title></circle>",
            c(x),
            c(y),
            if p.chosen { 5 } else { 3 },
            esc(&format!(
                "{x_name} {}: {y_name} {:.4}{}",
                p.x,
                p.y,
                if p.chosen { " (chosen)" } else { "" }
            ))
        );
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_cover_the_range_from_zero() {
        let (t, d) = nice_ticks(0.0, 0.76, 5);
        assert_eq!(t.first().copied(), Some(0.0));
        assert!(*t.last().unwrap_or(&0.0) >= 0.76 && t.len() <= 7, "{t:?}");
        assert_eq!(d, 1);
        let (t, _) = nice_ticks(3.87, 9.5, 5);
        assert!(
            t[0] <= 3.87 && t[0] > 1.0 && *t.last().unwrap_or(&0.0) >= 9.5,
            "{t:?}"
        );
        let (t, _) = nice_ticks(0.0, 0.0, 5);
        assert_eq!((t[0], *t.last().unwrap_or(&0.0)), (0.0, 1.0));
        assert_eq!(
            esc("<a href='x'>&\""),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;"
        );
    }
}
