//! What the palette and the run dialog's completion share: searching an index off the UI
//! loop, and a text with its matched characters marked.

use dioxus::prelude::*;
use std::sync::Arc;
use vmo_engine::commands::{Hit, SearchIndex};

/// The best `limit` hits for `query`, computed on a blocking thread: however large the
/// index, the UI's event loop only waits for the answer (invariant 13).
pub async fn search(index: Arc<SearchIndex>, query: String, limit: usize) -> Vec<Hit> {
    match tokio::task::spawn_blocking(move || index.search(&query, limit)).await {
        Ok(hits) => hits,
        Err(err) => {
            tracing::warn!("palette search failed: {err}");
            Vec::new()
        }
    }
}

/// `text` split into runs, each marked matched or not (`positions`: char indices, sorted).
pub fn runs(text: &str, positions: &[u32]) -> Vec<(String, bool)> {
    let mut runs: Vec<(String, bool)> = Vec::new();
    let mut next = positions.iter().copied().peekable();
    for (i, c) in text.chars().enumerate() {
        let matched = next.peek() == Some(&(i as u32));
        if matched {
            next.next();
        }
        match runs.last_mut() {
            Some((run, m)) if *m == matched => run.push(c),
            _ => runs.push((c.to_string(), matched)),
        }
    }
    runs
}

/// A text with its matched characters in `<mark>`.
#[component]
pub fn Highlighted(text: String, positions: Vec<u32>) -> Element {
    rsx! {
        for (i, (run, matched)) in runs(&text, &positions).into_iter().enumerate() {
            if matched {
                mark { key: "{i}", "{run}" }
            } else {
                span { key: "{i}", "{run}" }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_mark_matched_characters() {
        assert_eq!(
            runs("host1", &[0, 2, 3, 4]),
            [
                ("h".to_string(), true),
                ("o".to_string(), false),
                ("st1".to_string(), true)
            ]
        );
        assert_eq!(
            runs("é-x", &[2]),
            [("é-".into(), false), ("x".into(), true)]
        );
        assert!(runs("", &[]).is_empty());
    }
}
