//! The dashboard's arrangement: which widgets show, in which order. Stored through
//! `Preferences::dashboard_layout` as every widget's id in order, hidden ones as
//! `id:hidden`; an empty list is the default.

/// Every widget, in the default order.
pub const WIDGETS: [&str; 5] = ["summary", "map", "attention", "running", "failures"];

const HIDDEN: &str = ":hidden";

pub fn title(id: &str) -> &'static str {
    match id {
        "summary" => "Fleet",
        "map" => "Fleet map",
        "attention" => "Hosts needing attention",
        "running" => "Running jobs",
        "failures" => "Recent failures (24 h)",
        _ => "Widget",
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    pub id: &'static str,
    pub shown: bool,
}

/// Reads a stored layout: unknown and repeated ids are dropped, and widgets it does not
/// name (new ones) are added, shown, at the end.
pub fn parse(stored: &[String]) -> Vec<Slot> {
    let mut slots: Vec<Slot> = Vec::new();
    for entry in stored {
        let (name, shown) = match entry.strip_suffix(HIDDEN) {
            Some(name) => (name, false),
            None => (entry.as_str(), true),
        };
        if let Some(id) = WIDGETS.iter().find(|w| **w == name) {
            if !slots.iter().any(|s| s.id == *id) {
                slots.push(Slot { id, shown });
            }
        }
    }
    for id in WIDGETS {
        if !slots.iter().any(|s| s.id == id) {
            slots.push(Slot { id, shown: true });
        }
    }
    slots
}

/// The form [`parse`] reads back.
pub fn store(slots: &[Slot]) -> Vec<String> {
    slots
        .iter()
        .map(|s| {
            if s.shown {
                s.id.to_string()
            } else {
                format!("{}{HIDDEN}", s.id)
            }
        })
        .collect()
}

/// Moves widget `id` one place up (`up`) or down; at an end nothing moves.
pub fn moved(slots: &[Slot], id: &str, up: bool) -> Vec<Slot> {
    let mut slots = slots.to_vec();
    if let Some(i) = slots.iter().position(|s| s.id == id) {
        let j = if up { i.checked_sub(1) } else { Some(i + 1) };
        if let Some(j) = j.filter(|j| *j < slots.len()) {
            slots.swap(i, j);
        }
    }
    slots
}

pub fn toggled(slots: &[Slot], id: &str) -> Vec<Slot> {
    let mut slots = slots.to_vec();
    for s in slots.iter_mut().filter(|s| s.id == id) {
        s.shown = !s.shown;
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(slots: &[Slot]) -> Vec<String> {
        store(slots)
    }

    #[test]
    fn empty_is_the_default_layout() {
        assert_eq!(ids(&parse(&[])), WIDGETS.map(String::from).to_vec());
    }

    #[test]
    fn a_stored_layout_round_trips_and_gains_new_widgets() {
        let stored: Vec<String> = ["map", "summary:hidden", "bogus", "map", "running"]
            .map(String::from)
            .to_vec();
        let slots = parse(&stored);
        assert_eq!(
            ids(&slots),
            ["map", "summary:hidden", "running", "attention", "failures"]
        );
        assert_eq!(parse(&store(&slots)), slots);
    }

    #[test]
    fn moves_and_toggles() {
        let slots = parse(&[]);
        assert_eq!(ids(&moved(&slots, "summary", true)), ids(&slots));
        let down = moved(&slots, "summary", false);
        assert_eq!(down[0].id, "map");
        assert_eq!(down[1].id, "summary");
        assert_eq!(ids(&moved(&slots, "failures", false)), ids(&slots));
        assert!(!toggled(&slots, "map")[1].shown);
    }
}
