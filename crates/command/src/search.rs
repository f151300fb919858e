//! The palette's fuzzy search over anything the app can jump to or run: templates,
//! history, VMs, tags, and whatever a front end adds (screens, actions).
//!
//! Matching and scoring are nucleo's (the matcher Helix uses; fzf-like syntax: words
//! are ANDed, `'exact`, `^prefix`, `suffix$`, `!not`; smart case). We only add a bonus for
//! frecency and a stable order between equals. Build a [`SearchIndex`] once (it converts
//! every text to the matcher's form) and query it per keystroke.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32String};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// Added by the UI: "Test all", "New VM", "Run on tag:web"...
    Action,
    /// Added by the UI: a screen to open.
    Screen,
    Template,
    Vm,
    Tag,
    History,
}

/// Something the palette can find. Ties between equal matches go to the kind listed
/// first in [`ItemKind`], then to the item given first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    pub kind: ItemKind,
    /// What the caller acts on: a template name, a command, a VM id, a tag, a route.
    pub key: String,
    /// Shown, and matched first.
    pub label: String,
    /// Shown beside it and matched too (a description, an address), may be empty.
    pub detail: String,
    /// Ranking bonus, ≥ 0: frecency for history, 0 for most others.
    pub boost: f64,
}

impl Item {
    pub fn new(kind: ItemKind, key: impl Into<String>, label: impl Into<String>) -> Self {
        Self {
            kind,
            key: key.into(),
            label: label.into(),
            detail: String::new(),
            boost: 0.0,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = detail.into();
        self
    }

    pub fn with_boost(mut self, boost: f64) -> Self {
        self.boost = boost;
        self
    }
}

/// One result: the item, its rank score, and which characters matched (char indices
/// into `label` and into `detail`, ascending) for highlighting.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub item: Item,
    pub score: u32,
    pub label_positions: Vec<u32>,
    pub detail_positions: Vec<u32>,
}

/// Items prepared for matching. Cheap to query many times; build it again when the
/// items change.
pub struct SearchIndex {
    items: Vec<Item>,
    haystacks: Vec<Utf32String>,
    /// Characters of each label plus the separator: where the detail starts.
    detail_at: Vec<u32>,
}

/// Between label and detail, so a word never runs from one into the other.
const SEPARATOR: &str = "  ";

impl SearchIndex {
    pub fn new(items: Vec<Item>) -> Self {
        let mut haystacks = Vec::with_capacity(items.len());
        let mut detail_at = Vec::with_capacity(items.len());
        for item in &items {
            let label = Utf32String::from(item.label.as_str());
            let start = (label.len() + SEPARATOR.len()) as u32;
            let text = if item.detail.is_empty() {
                label
            } else {
                Utf32String::from(format!("{}{SEPARATOR}{}", item.label, item.detail))
            };
            haystacks.push(text);
            detail_at.push(start);
        }
        Self {
            items,
            haystacks,
            detail_at,
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The best `limit` hits for `query`, best first. An empty query lists the items by
    /// boost (recent history first), then in kind order.
    pub fn search(&self, query: &str, limit: usize) -> Vec<Hit> {
        if limit == 0 {
            return Vec::new();
        }
        let mut matcher = Matcher::new(Config::DEFAULT);
        let pattern = Pattern::parse(query, CaseMatching::Smart, Normalization::Smart);
        let mut scored: Vec<(u32, usize)> = if query.trim().is_empty() {
            (0..self.items.len())
                .map(|i| (bonus(self.items[i].boost), i))
                .collect()
        } else {
            self.haystacks
                .iter()
                .enumerate()
                .filter_map(|(i, haystack)| {
                    let score = pattern.score(haystack.slice(..), &mut matcher)?;
                    Some((score + bonus(self.items[i].boost), i))
                })
                .collect()
        };
        let order = |a: &(u32, usize), b: &(u32, usize)| {
            b.0.cmp(&a.0)
                .then(self.items[a.1].kind.cmp(&self.items[b.1].kind))
                .then(a.1.cmp(&b.1))
        };
        if scored.len() > limit {
            scored.select_nth_unstable_by(limit - 1, order);
            scored.truncate(limit);
        }
        scored.sort_unstable_by(order);
        let mut positions = Vec::new();
        scored
            .into_iter()
            .map(|(score, i)| {
                positions.clear();
                if !query.trim().is_empty() {
                    pattern.indices(self.haystacks[i].slice(..), &mut matcher, &mut positions);
                    positions.sort_unstable();
                    positions.dedup();
                }
                let at = self.detail_at[i];
                Hit {
                    item: self.items[i].clone(),
                    score,
                    label_positions: positions.iter().copied().filter(|&p| p < at).collect(),
                    detail_positions: positions
                        .iter()
                        .filter(|&&p| p >= at)
                        .map(|p| p - at)
                        .collect(),
                }
            })
            .collect()
    }
}

/// Frecency as score points: a match's quality still comes first (a 6-letter match
/// scores well over 100).
fn bonus(boost: f64) -> u32 {
    if boost.is_finite() && boost > 0.0 {
        (boost.ln_1p() * 8.0).min(48.0) as u32
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> SearchIndex {
        SearchIndex::new(vec![
            Item::new(ItemKind::Template, "restart-service", "restart-service")
                .with_detail("Restart a systemd service"),
            Item::new(ItemKind::Vm, "1", "web-1").with_detail("10.0.0.5"),
            Item::new(ItemKind::Vm, "2", "db-1").with_detail("10.0.0.9"),
            Item::new(ItemKind::Tag, "web", "web"),
            Item::new(
                ItemKind::History,
                "systemctl restart nginx",
                "systemctl restart nginx",
            )
            .with_boost(8.0),
            Item::new(ItemKind::Screen, "/jobs", "Jobs"),
        ])
    }

    #[test]
    fn fuzzy_hits_with_positions() {
        let hits = index().search("rstsrv", 10);
        assert_eq!(hits[0].item.key, "restart-service");
        assert_eq!(hits[0].label_positions.len(), 6);
        let hits = index().search("web", 10);
        let kinds: Vec<ItemKind> = hits.iter().map(|h| h.item.kind).collect();
        assert!(kinds.contains(&ItemKind::Vm) && kinds.contains(&ItemKind::Tag));
        assert_eq!(hits[0].label_positions, [0, 1, 2]);
    }

    #[test]
    fn detail_matches_are_placed_in_the_detail() {
        let hits = index().search("10.0.0.9", 10);
        assert_eq!(hits[0].item.label, "db-1");
        assert!(hits[0].label_positions.is_empty());
        assert_eq!(hits[0].detail_positions.len(), 8);
    }

    #[test]
    fn empty_query_lists_by_boost_then_kind() {
        let hits = index().search("", 3);
        assert_eq!(hits[0].item.kind, ItemKind::History);
        assert_eq!(hits[1].item.kind, ItemKind::Screen);
        assert!(index().search("zzzzqqq", 5).is_empty());
    }
}
