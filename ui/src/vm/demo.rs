//! "Try the demo fleet": starts local OpenSSH servers in the `demo` profile (the engine's
//! `demo` module) and switches to it, so a new user can run a command within a minute.
//! The app stops the fleet when it quits.

use crate::shared::toast::use_toasts;
use crate::shell::profiles::SwitchProfile;
use crate::UiContext;
use dioxus::prelude::*;
use vmo_engine::demo::{self, Owner, DEMO_PROFILE};
use vmo_engine::EngineError;

/// Servers the button starts.
const DEMO_HOSTS: usize = 5;

#[component]
pub fn DemoButton(id: &'static str) -> Element {
    let ctx = use_context::<UiContext>();
    let switch = use_context::<SwitchProfile>();
    let toasts = use_toasts();
    let mut busy = use_signal(|| false);
    rsx! {
        button {
            class: "button",
            id,
            disabled: busy(),
            title: "Start {DEMO_HOSTS} local OpenSSH servers in a profile of their own, to try everything first",
            onclick: move |_| {
                busy.set(true);
                let ctx = ctx.clone();
                spawn(async move {
                    match start(&ctx).await {
                        // The switch re-mounts the screens on the demo profile.
                        Ok(()) => switch.0.call(DEMO_PROFILE.to_owned()),
                        Err(e) => {
                            toasts.error(format!("Demo fleet: {}", e.message));
                            busy.set(false);
                        }
                    }
                });
            },
            if busy() { "Starting the demo fleet…" } else { "Try the demo fleet" }
        }
    }
}

async fn start(ctx: &UiContext) -> Result<(), EngineError> {
    if !ctx.profiles.list().iter().any(|p| p == DEMO_PROFILE) {
        ctx.profiles.create(DEMO_PROFILE)?;
    }
    let engine = ctx.profiles.open(DEMO_PROFILE).await?;
    demo::up(
        &engine,
        DEMO_HOSTS,
        Owner::App {
            pid: std::process::id(),
        },
    )
    .await?;
    Ok(())
}
