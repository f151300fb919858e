//! Long lists where only the rows in sight are in the page, as the log viewer does: rows
//! have a fixed height, so the rows to draw follow from the scroll position alone; spacers
//! of the missing rows' height keep the scroll bar true. A 10,000-VM list is then a tall
//! box with a few dozen real rows where the user looks.
//!
//! [`ScrollBox`] follows a scroll box through its events (mounted, scroll, resize) and
//! changes only when the drawn window must move by [`STEP`] rows, so scrolling re-renders
//! a list a few times a second, not on every pixel; [`Window`] says which rows to draw
//! and how tall the spacers around them are.

use dioxus::prelude::*;
use std::ops::Range;

/// Rows drawn above and below the visible ones, so fast scrolling shows no gap.
pub const OVERSCAN: usize = 30;
/// The window moves in steps of this many rows (less than the overscan, so the rows in
/// sight are always drawn).
pub const STEP: usize = 10;
/// The height assumed before the box has told its own (a tall window's worth).
const GUESSED_HEIGHT: f64 = 1000.0;

/// The rows to draw out of `total`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Window {
    pub first: usize,
    pub last: usize,
    pub total: usize,
    pub row_px: f64,
}

impl Window {
    /// `top_row`: the first row in sight; `visible`: how many rows the box shows.
    pub fn new(total: usize, top_row: usize, visible: usize, row_px: f64) -> Self {
        let top_row = top_row.min(total.saturating_sub(visible));
        let first = top_row.saturating_sub(OVERSCAN);
        let last = (top_row + visible + OVERSCAN).min(total);
        Self {
            first,
            last,
            total,
            row_px,
        }
    }

    pub fn range(&self) -> Range<usize> {
        self.first..self.last
    }

    /// Height of the rows not drawn above the window.
    pub fn before_px(&self) -> f64 {
        self.first as f64 * self.row_px
    }

    /// Height of the rows not drawn below the window.
    pub fn after_px(&self) -> f64 {
        self.total.saturating_sub(self.last) as f64 * self.row_px
    }
}

/// Where a scroll box of rows `row_px` high is scrolled to, in steps of [`STEP`] rows.
#[derive(Clone, Copy, PartialEq)]
pub struct ScrollBox {
    /// The first row in sight, rounded down to a step.
    top_row: Signal<usize>,
    /// How many rows the box shows.
    visible: Signal<usize>,
    row_px: f64,
}

pub fn use_scroll_box(row_px: f64) -> ScrollBox {
    let top_row = use_signal(|| 0);
    let visible = use_signal(|| rows_in(GUESSED_HEIGHT, row_px) + STEP);
    ScrollBox {
        top_row,
        visible,
        row_px,
    }
}

fn rows_in(height: f64, row_px: f64) -> usize {
    (height / row_px).ceil().max(1.0) as usize + 1
}

impl ScrollBox {
    /// The rows to draw out of `total` (subscribes the caller to the scroll position).
    pub fn window(&self, total: usize) -> Window {
        Window::new(total, (self.top_row)(), (self.visible)(), self.row_px)
    }

    /// For `onscroll`: follows the position, in steps.
    pub fn scrolled(&self, e: &ScrollEvent) {
        self.follow(e.data().scroll_top(), f64::from(e.data().client_height()));
    }

    /// For `onmounted`: the box's height.
    pub async fn mounted(self, e: MountedEvent) {
        if let Ok(rect) = e.data().get_client_rect().await {
            self.set_height(rect.height());
        }
    }

    /// For `onresize`: the box's new height.
    pub fn resized(&self, e: &ResizeEvent) {
        if let Ok(size) = e.data().get_border_box_size() {
            self.set_height(size.height);
        }
    }

    fn follow(&self, scroll_top: f64, height: f64) {
        let row = (scroll_top.max(0.0) / self.row_px) as usize;
        let stepped = row - row % STEP;
        let mut top_row = self.top_row;
        if *top_row.peek() != stepped {
            top_row.set(stepped);
        }
        self.set_height(height);
    }

    fn set_height(&self, height: f64) {
        if height <= 0.0 {
            return;
        }
        // A step more than the box shows: the window moves only every STEP rows.
        let rows = rows_in(height, self.row_px) + STEP;
        let mut visible = self.visible;
        if *visible.peek() != rows {
            visible.set(rows);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_covers_the_rows_in_sight_and_an_overscan() {
        let w = Window::new(10_000, 0, 20, 36.0);
        assert_eq!(w.range(), 0..50);
        assert_eq!(w.before_px(), 0.0);
        assert_eq!(w.after_px(), 9_950.0 * 36.0);
        let w = Window::new(10_000, 5_000, 20, 36.0);
        assert_eq!(w.range(), 4_970..5_050);
        assert_eq!(w.before_px() + w.after_px() + 80.0 * 36.0, 10_000.0 * 36.0);
    }

    #[test]
    fn the_end_is_drawn_however_far_the_box_says_it_is_scrolled() {
        // A stale position past the end (the list just got shorter) still draws its end.
        let w = Window::new(100, 5_000, 20, 36.0);
        assert_eq!(w.range(), 50..100);
        assert_eq!(w.after_px(), 0.0);
        let w = Window::new(5, 0, 20, 36.0);
        assert_eq!(w.range(), 0..5);
        assert_eq!(Window::new(0, 40, 20, 36.0).range(), 0..0);
    }

    #[test]
    fn rows_in_a_box_round_up() {
        assert_eq!(rows_in(360.0, 36.0), 11);
        assert_eq!(rows_in(361.0, 36.0), 12);
        assert_eq!(rows_in(0.0, 36.0), 2);
    }
}
