//! Charts as inline SVG made in Rust: a pure function turns points into path data (an
//! average line and a min–max band, broken where the VM did not answer), and a small
//! component lays it out with its y-axis labels.

use dioxus::prelude::*;
use vmo_engine::status::Point;

/// Where a chart draws: its plot area in SVG units and the ranges it maps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    pub width: f64,
    pub height: f64,
    pub from_ms: i64,
    pub to_ms: i64,
    /// The value at the top edge (the bottom is 0).
    pub y_max: f64,
    /// Points further apart than this are not joined: the VM was unreachable between.
    pub gap_ms: i64,
}

/// SVG path data for one series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Paths {
    /// The average (or each sample) as a line; one `M` per unbroken run.
    pub line: String,
    /// The min–max band as closed shapes; empty when every point has min = max.
    pub band: String,
}

impl Frame {
    fn x(&self, at_ms: i64) -> f64 {
        let span = (self.to_ms - self.from_ms).max(1) as f64;
        ((at_ms - self.from_ms) as f64 / span * self.width).clamp(0.0, self.width)
    }

    fn y(&self, value: f64) -> f64 {
        let max = if self.y_max > 0.0 { self.y_max } else { 1.0 };
        (self.height - value / max * self.height).clamp(0.0, self.height)
    }
}

/// Path data for `points` (oldest first) in `frame`.
pub fn paths(points: &[Point], frame: &Frame) -> Paths {
    let mut out = Paths::default();
    let mut runs: Vec<&[Point]> = Vec::new();
    let mut start = 0;
    for i in 1..=points.len() {
        if i == points.len() || points[i].at_ms - points[i - 1].at_ms > frame.gap_ms {
            runs.push(&points[start..i]);
            start = i;
        }
    }
    let banded = points.iter().any(|p| p.max > p.min);
    for run in runs.into_iter().filter(|r| !r.is_empty()) {
        for (i, p) in run.iter().enumerate() {
            let cmd = if i == 0 { 'M' } else { 'L' };
            push(&mut out.line, cmd, frame.x(p.at_ms), frame.y(p.avg));
        }
        if run.len() == 1 {
            // A lone answer between gaps: a dot (round caps make it visible).
            out.line.push_str("h0.1");
        }
        if banded {
            for (i, p) in run.iter().enumerate() {
                let cmd = if i == 0 { 'M' } else { 'L' };
                push(&mut out.band, cmd, frame.x(p.at_ms), frame.y(p.max));
            }
            for p in run.iter().rev() {
                push(&mut out.band, 'L', frame.x(p.at_ms), frame.y(p.min));
            }
            out.band.push('Z');
        }
    }
    out
}

fn push(path: &mut String, cmd: char, x: f64, y: f64) {
    use std::fmt::Write;
    let _ = write!(path, "{cmd}{x:.1} {y:.1}");
}

/// A round top for the y-axis: 1, 2 or 5 times a power of ten, at least `value`.
pub fn nice_max(value: f64) -> f64 {
    if !value.is_finite() || value <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|top| *top >= value * (1.0 - 1e-9))
        .unwrap_or(10.0 * magnitude)
}

fn label(value: f64, unit: &str) -> String {
    if value >= 10.0 || value == 0.0 {
        format!("{value:.0}{unit}")
    } else {
        format!("{value:.1}{unit}")
    }
}

const W: f64 = 400.0;
const H: f64 = 100.0;
/// Room for the y-axis labels on the left.
const LEFT: f64 = 44.0;

/// One metric over a span. `fixed_max`: the top for percentages; otherwise rounded up
/// from the data.
#[component]
pub fn Chart(
    id: String,
    title: String,
    unit: String,
    points: Vec<Point>,
    from_ms: i64,
    to_ms: i64,
    gap_ms: i64,
    fixed_max: Option<f64>,
) -> Element {
    let top =
        fixed_max.unwrap_or_else(|| nice_max(points.iter().map(|p| p.max).fold(0.0, f64::max)));
    let frame = Frame {
        width: W,
        height: H,
        from_ms,
        to_ms,
        y_max: top,
        gap_ms,
    };
    let drawn = paths(&points, &frame);
    let latest = points.last().map(|p| label(p.avg, &unit));
    rsx! {
        figure { class: "chart", id: "{id}",
            figcaption {
                span { "{title}" }
                if let Some(latest) = latest {
                    span { class: "chart-latest", "{latest}" }
                }
            }
            svg {
                view_box: "0 0 {W + LEFT} {H + 8.0}",
                role: "img",
                "aria-label": "{title}",
                g { class: "chart-axis",
                    for (i, v, baseline) in [(0, top, 8.0), (1, top / 2.0, 4.0), (2, 0.0, 4.0)] {
                        g { key: "{i}",
                            text {
                                x: "{LEFT - 6.0}",
                                y: "{frame.y(v) + baseline}",
                                text_anchor: "end",
                                "{label(v, &unit)}"
                            }
                            line {
                                class: "chart-grid",
                                x1: "{LEFT}",
                                x2: "{LEFT + W}",
                                y1: "{frame.y(v)}",
                                y2: "{frame.y(v)}",
                            }
                        }
                    }
                }
                g { transform: "translate({LEFT} 0)",
                    if !drawn.band.is_empty() {
                        path { class: "chart-band", d: "{drawn.band}" }
                    }
                    if !drawn.line.is_empty() {
                        path { class: "chart-line", d: "{drawn.line}" }
                    }
                }
            }
            if points.is_empty() {
                p { class: "chart-empty muted", "No answers in this span yet." }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(at_ms: i64, min: f64, avg: f64, max: f64) -> Point {
        Point {
            at_ms,
            min,
            avg,
            max,
        }
    }

    fn frame() -> Frame {
        Frame {
            width: 100.0,
            height: 50.0,
            from_ms: 0,
            to_ms: 1000,
            y_max: 10.0,
            gap_ms: 300,
        }
    }

    #[test]
    fn samples_make_one_line_scaled_into_the_frame() {
        let points = [
            pt(0, 0.0, 0.0, 0.0),
            pt(250, 5.0, 5.0, 5.0),
            pt(500, 10.0, 10.0, 10.0),
        ];
        let p = paths(&points, &frame());
        assert_eq!(p.line, "M0.0 50.0L25.0 25.0L50.0 0.0");
        assert_eq!(p.band, "", "samples have no spread");
    }

    #[test]
    fn a_gap_breaks_the_line_and_a_lone_point_is_a_dot() {
        let points = [
            pt(0, 1.0, 1.0, 1.0),
            pt(200, 1.0, 1.0, 1.0),
            pt(900, 2.0, 2.0, 2.0),
        ];
        let p = paths(&points, &frame());
        assert_eq!(p.line, "M0.0 45.0L20.0 45.0M90.0 40.0h0.1");
    }

    #[test]
    fn buckets_get_a_band_from_max_forward_and_min_back() {
        let points = [pt(0, 1.0, 2.0, 4.0), pt(100, 2.0, 3.0, 20.0)];
        let p = paths(&points, &frame());
        assert_eq!(p.line, "M0.0 40.0L10.0 35.0");
        // Values over the top are clamped to the frame.
        assert_eq!(p.band, "M0.0 30.0L10.0 0.0L10.0 40.0L0.0 45.0Z");
    }

    #[test]
    fn nothing_to_draw_is_empty_paths() {
        assert_eq!(paths(&[], &frame()), Paths::default());
    }

    #[test]
    fn y_axis_tops_are_round() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(0.37), 0.5);
        assert_eq!(nice_max(1.0), 1.0);
        assert_eq!(nice_max(13.0), 20.0);
        assert_eq!(nice_max(420.0), 500.0);
        assert_eq!(nice_max(501.0), 1000.0);
        assert_eq!(label(0.5, "ms"), "0.5ms");
    }
}
