//! Completion for a command field (the run dialog's): commands run before (by frecency)
//! and templates, fuzzy-matched as the user types, in a list under the field.
//! Arrows move, Enter or Tab accepts, Esc dismisses; the field stays uncontrolled.

use super::search::{search, Highlighted};
use crate::UiContext;
use dioxus::prelude::*;
use std::sync::Arc;
use tokio::sync::broadcast::error::RecvError;
use vmo_engine::commands::{Hit, Item, ItemKind, SearchIndex};

/// Suggestions shown at once.
const LIMIT: usize = 8;
/// History entries indexed (the most frecent).
const HISTORY: usize = 5_000;

/// What the user picked.
#[derive(Debug, Clone, PartialEq)]
pub enum Choice {
    /// A command run before: it goes into the field.
    Command(String),
    /// A template (by name): it opens in the builder, not as raw `{{param}}` text.
    Template(String),
}

/// What a key did to the list.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyOutcome {
    /// Not for the list (e.g. Enter with nothing highlighted): the field handles it.
    Ignored,
    Handled,
    Chosen(Choice),
}

/// The state of one field's completion.
#[derive(Clone, Copy, PartialEq)]
pub struct Completion {
    index: Signal<Option<Arc<SearchIndex>>>,
    query: Signal<String>,
    /// False once dismissed (Esc, or a choice), until the next keystroke.
    open: Signal<bool>,
    selected: Signal<Option<usize>>,
    hits: Signal<Vec<Hit>>,
}

impl Completion {
    /// The field's text changed.
    pub fn typed(mut self, text: String) {
        self.query.set(text);
        self.open.set(true);
        self.selected.set(None);
    }

    /// Hides the list until the next keystroke (the field lost the focus).
    pub fn dismiss(mut self) {
        self.open.set(false);
        self.selected.set(None);
    }

    pub fn visible(&self) -> bool {
        (self.open)() && !self.query.read().trim().is_empty() && !self.hits.read().is_empty()
    }

    fn choice(&self, at: usize) -> Option<Choice> {
        self.hits.peek().get(at).map(|hit| match hit.item.kind {
            ItemKind::Template => Choice::Template(hit.item.key.clone()),
            _ => Choice::Command(hit.item.key.clone()),
        })
    }

    fn choose(mut self, at: usize) -> KeyOutcome {
        match self.choice(at) {
            Some(choice) => {
                self.open.set(false);
                self.selected.set(None);
                KeyOutcome::Chosen(choice)
            }
            None => KeyOutcome::Ignored,
        }
    }

    /// A key pressed in the field.
    pub fn key(mut self, key: &Key) -> KeyOutcome {
        if !self.visible() {
            return KeyOutcome::Ignored;
        }
        let count = self.hits.peek().len();
        let selected = *self.selected.peek();
        match key {
            Key::ArrowDown => {
                self.selected
                    .set(Some(selected.map_or(0, |i| (i + 1) % count)));
                KeyOutcome::Handled
            }
            Key::ArrowUp => {
                self.selected.set(Some(
                    selected.map_or(count - 1, |i| (i + count - 1) % count),
                ));
                KeyOutcome::Handled
            }
            Key::Enter => match selected {
                Some(at) => self.choose(at),
                None => KeyOutcome::Ignored,
            },
            Key::Tab => self.choose(selected.unwrap_or(0)),
            Key::Escape => {
                self.open.set(false);
                KeyOutcome::Handled
            }
            _ => KeyOutcome::Ignored,
        }
    }
}

/// History and templates as completion items.
async fn build_index(ctx: &UiContext) -> Option<SearchIndex> {
    let commands = ctx.engine.commands();
    let (history, templates) = match (commands.frecent(HISTORY).await, commands.list().await) {
        (Ok(h), Ok(t)) => (h, t),
        (Err(err), _) | (_, Err(err)) => {
            tracing::warn!("command completion unavailable: {}", err.message);
            return None;
        }
    };
    let mut items = Vec::with_capacity(history.len() + templates.len());
    for entry in history {
        let label = entry.command.clone();
        let detail = entry
            .template
            .map(|run| run.to_string())
            .unwrap_or_default();
        items.push(
            Item::new(ItemKind::History, entry.command, label)
                .with_detail(detail)
                .with_boost(entry.score),
        );
    }
    for entry in templates {
        let t = entry.template;
        items.push(Item::new(ItemKind::Template, &t.name, &t.name).with_detail(t.description));
    }
    tokio::task::spawn_blocking(move || SearchIndex::new(items))
        .await
        .ok()
}

/// Completion for one field: the index is built when the field appears and again when
/// templates or history change; each keystroke searches off the UI loop.
pub fn use_completion() -> Completion {
    let ctx = use_context::<UiContext>();
    let mut index = use_signal(|| None::<Arc<SearchIndex>>);
    let query = use_signal(String::new);
    let mut hits = use_signal(Vec::<Hit>::new);
    use_future(move || {
        let ctx = ctx.clone();
        async move {
            let mut events = ctx.engine.commands().subscribe();
            loop {
                if let Some(built) = build_index(&ctx).await {
                    index.set(Some(Arc::new(built)));
                }
                match events.recv().await {
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                }
            }
        }
    });
    // Rerun on each keystroke (and a new index); a newer keystroke cancels an older one.
    let _search = use_resource(move || async move {
        let text = query();
        let Some(index) = index() else { return };
        let found = if text.trim().is_empty() {
            Vec::new()
        } else {
            search(index, text, LIMIT).await
        };
        hits.set(found);
    });
    Completion {
        index,
        query,
        open: use_signal(|| true),
        selected: use_signal(|| None),
        hits,
    }
}

/// The suggestion list under the field (nothing when there is nothing to suggest).
#[component]
pub fn CompletionList(completion: Completion, on_choose: EventHandler<Choice>) -> Element {
    if !completion.visible() {
        return rsx! {};
    }
    let selected = (completion.selected)();
    let hits = completion.hits.read().clone();
    rsx! {
        ul { class: "completion", id: "run-suggestions", role: "listbox",
            for (i, hit) in hits.into_iter().enumerate() {
                li {
                    key: "{i}-{hit.item.key}",
                    id: "run-suggestion-{i}",
                    role: "option",
                    class: if selected == Some(i) { "completion-item selected" } else { "completion-item" },
                    // On press, not click: the field's blur (which hides the list) comes
                    // between the two.
                    onmousedown: move |_| {
                        if let KeyOutcome::Chosen(choice) = completion.choose(i) {
                            on_choose.call(choice);
                        }
                    },
                    span { class: "completion-kind",
                        if hit.item.kind == ItemKind::Template { "template" } else { "history" }
                    }
                    span { class: "completion-label mono",
                        Highlighted { text: hit.item.label.clone(), positions: hit.label_positions.clone() }
                    }
                    if !hit.item.detail.is_empty() {
                        span { class: "completion-detail",
                            Highlighted { text: hit.item.detail.clone(), positions: hit.detail_positions.clone() }
                        }
                    }
                }
            }
        }
    }
}
