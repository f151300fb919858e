//! Only the rows in sight are rendered: a 1,000,000-line log is a tall empty box with a
//! few dozen real rows where the user looks. Rows have a fixed height, so the rows to draw
//! follow from the scroll position alone. While following, the view sticks to the end;
//! scrolling up pauses that, scrolling back to the end resumes it.

use super::styled::styled;
use dioxus::prelude::*;
use std::rc::Rc;
use vmo_engine::jobs::log::{format_rfc3339_millis, JobLog, Stream};

/// Must match `.log-line` in style.css.
const ROW_PX: f64 = 18.0;
/// Rows drawn above and below the visible ones, so fast scrolling shows no gap.
const OVERSCAN: usize = 30;

/// The matching line indices. Compared by identity: the list is shared, not copied.
#[derive(Clone)]
pub struct Shown(pub Rc<Vec<u32>>);

impl PartialEq for Shown {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0) && self.0.len() == other.0.len()
    }
}

#[component]
pub fn VirtualLines(
    log: Signal<JobLog>,
    indices: Shown,
    show_host: bool,
    timestamps: bool,
    follow: Signal<bool>,
) -> Element {
    let mut scroll_top = use_signal(|| 0.0f64);
    let mut viewport = use_signal(|| 480.0f64);
    // The lowest end the view was moved to (while following) since the last scroll event:
    // the browser reports a scroll at its next frame, so until then `scroll_top` is stale
    // (0 before the first report) and could not tell a scroll up from staying put.
    let mut moved_to = use_signal(|| None::<f64>);
    let total = indices.0.len();
    let visible = (viewport() / ROW_PX).ceil() as usize + 1;
    let first = if follow() {
        total.saturating_sub(visible)
    } else {
        ((scroll_top() / ROW_PX) as usize).min(total)
    }
    .saturating_sub(OVERSCAN);
    let last = (first + visible + 2 * OVERSCAN).min(total);

    // Stick to the end while following, each time lines arrive.
    use_effect(use_reactive!(|(total)| {
        if *follow.peek() && total > 0 {
            to_end(total, viewport, moved_to);
        }
    }));

    let log = log.read();
    let height = total as f64 * ROW_PX;
    let offset = first as f64 * ROW_PX;
    rsx! {
        div {
            class: "log-lines",
            id: "log-lines",
            onmounted: move |e| async move {
                if let Ok(rect) = e.data().get_client_rect().await {
                    viewport.set(rect.height());
                }
            },
            onscroll: move |e| {
                let d = e.data();
                // Up from where the view last was: the last report, or where following
                // moved it since (a report from there may still be on its way).
                let was = moved_to.peek().unwrap_or(*scroll_top.peek());
                let went_up = d.scroll_top() < was - ROW_PX;
                moved_to.set(None);
                scroll_top.set(d.scroll_top());
                viewport.set(f64::from(d.client_height()));
                // Follow stops only when the user scrolls up (content growing under a
                // stale scroll event must not stop it) and resumes at the end.
                let at_end = d.scroll_top() + f64::from(d.client_height())
                    >= f64::from(d.scroll_height()) - 2.0 * ROW_PX;
                if at_end && !*follow.peek() {
                    follow.set(true);
                } else if went_up && !at_end && *follow.peek() {
                    follow.set(false);
                }
            },
            div { class: "log-spacer", style: "height: {height}px; padding-top: {offset}px;",
                for i in first..last {
                    if let Some(line) = indices.0.get(i).and_then(|n| log.line(*n as usize)) {
                        div {
                            key: "{i}",
                            class: match line.stream {
                                Stream::Stdout => "log-line",
                                Stream::Stderr => "log-line stderr",
                                Stream::Marker => "log-line marker",
                            },
                            if timestamps {
                                span { class: "log-time", {time_of_day(line.at_ms)} }
                            }
                            if show_host {
                                span { class: "log-host", "{log.host_name(line.host)}" }
                            }
                            {styled(line.text)}
                        }
                    }
                }
            }
        }
        if !follow() && total > 0 {
            button {
                class: "button small follow-button",
                id: "log-follow",
                onclick: move |_| {
                    follow.set(true);
                    to_end(total, viewport, moved_to);
                },
                "Follow new lines ↓"
            }
        }
    }
}

/// Scrolls the view to its end, remembering the lowest end it was moved to until the
/// browser reports where it is. Counted a viewport short of the end: the viewport's height
/// here may be an estimate, and a report from the end must never read as a scroll up.
fn to_end(total: usize, viewport: Signal<f64>, mut moved_to: Signal<Option<f64>>) {
    let end = (total as f64 * ROW_PX - 2.0 * *viewport.peek()).max(0.0);
    let lowest = moved_to.peek().map_or(end, |was| was.min(end));
    moved_to.set(Some(lowest));
    document::eval(
        "const e = document.getElementById('log-lines'); if (e) e.scrollTop = e.scrollHeight;",
    );
}

/// `10:04:05.123` (UTC) from Unix milliseconds.
fn time_of_day(at_ms: i64) -> String {
    let full = format_rfc3339_millis(at_ms);
    full.get(11..23).unwrap_or(&full).to_string()
}
