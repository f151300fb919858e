//! One settings field: an uncontrolled input (invariant 7) whose change is parsed, put in
//! force through `Engine::apply_settings`, and whose error (the engine's, for its field)
//! shows next to it.

use crate::shared::toast::use_toasts;
use crate::UiContext;
use dioxus::prelude::*;
use vmo_engine::Settings;

/// Parses the raw text into the settings; Err is the message for the field. Equal to any
/// other: a field's setter never changes, so it never needs a re-render.
#[derive(Clone, Copy)]
pub struct Setter(pub fn(&mut Settings, &str) -> Result<(), String>);

impl PartialEq for Setter {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Turns a notification toggle on or off in the settings (equal to any other, as above).
#[derive(Clone, Copy)]
pub struct Toggle(pub fn(&mut Settings, bool));

impl PartialEq for Toggle {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Applies one change on top of the settings in force; the field's message on failure.
fn apply(ctx: &UiContext, field: &str, set: Setter, raw: &str) -> Result<(), String> {
    let mut next = ctx.engine.settings();
    (set.0)(&mut next, raw)?;
    ctx.engine
        .apply_settings(next)
        .map_err(|e| e.field(field).unwrap_or(&e.message).to_owned())
}

#[component]
pub fn SettingField(
    id: &'static str,
    label: &'static str,
    /// The engine's field name (`jobs.global_limit`), to pick its error.
    field: &'static str,
    value: String,
    set: Setter,
    #[props(default)] hint: &'static str,
    #[props(default = "number")] kind: &'static str,
    #[props(default)] placeholder: &'static str,
) -> Element {
    let ctx = use_context::<UiContext>();
    let toasts = use_toasts();
    let mut error = use_signal(|| None::<String>);
    rsx! {
        div { class: "field small setting", id: "{id}-field",
            label { r#for: "{id}", "{label}" }
            input {
                id: "{id}",
                r#type: "{kind}",
                step: "any",
                placeholder: "{placeholder}",
                initial_value: "{value}",
                "aria-invalid": error().is_some(),
                onchange: move |e: FormEvent| match apply(&ctx, field, set, e.value().trim()) {
                    Ok(()) => error.set(None),
                    Err(message) => {
                        toasts.error(format!("{label}: {message}"));
                        error.set(Some(message));
                    }
                },
            }
            if let Some(message) = error() {
                p { class: "field-error", id: "{id}-error", "{message}" }
            }
            if !hint.is_empty() {
                p { class: "hint", "{hint}" }
            }
        }
    }
}

/// A notification toggle.
#[component]
pub fn SettingCheck(id: &'static str, label: &'static str, on: bool, set: Toggle) -> Element {
    let ctx = use_context::<UiContext>();
    let toasts = use_toasts();
    rsx! {
        label { class: "check",
            input {
                r#type: "checkbox",
                id: "{id}",
                initial_checked: on,
                onchange: move |e: FormEvent| {
                    let mut next = ctx.engine.settings();
                    (set.0)(&mut next, e.checked());
                    if let Err(err) = ctx.engine.apply_settings(next) {
                        toasts.error(format!("Cannot save: {err}"));
                    }
                },
            }
            "{label}"
        }
    }
}

/// A whole number, or the message saying what is wanted.
pub fn whole<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, String> {
    raw.parse::<T>()
        .map_err(|_| format!("a whole number of {what}"))
}

pub fn number(raw: &str, what: &str) -> Result<f64, String> {
    raw.parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("a number ({what})"))
}

pub fn tags(raw: &str) -> Vec<String> {
    raw.split(',').map(str::to_string).collect()
}

/// Empty text is "not set".
pub fn optional(raw: &str) -> Option<String> {
    (!raw.is_empty()).then(|| raw.to_owned())
}
