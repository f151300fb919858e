//! Templates in and out of files, through the native dialogs: import a YAML pack, a Warp
//! workflow or a navi cheat sheet (all or nothing); export the user's templates as a pack.

use crate::shared::toast::Toasts;
use crate::UiContext;
use dioxus::prelude::*;

/// Asks for files and imports them; says what was added and updated, or which file, line
/// and field were refused.
pub fn import_templates(ctx: UiContext, toasts: Toasts) {
    spawn(async move {
        let desktop = ctx.desktop.clone();
        let chosen =
            tokio::task::spawn_blocking(move || desktop.open_files("Import command templates"))
                .await
                .unwrap_or_default();
        if chosen.is_empty() {
            return;
        }
        match ctx.engine.commands().import_files(&chosen).await {
            Ok(summary) => {
                let n = summary.added + summary.updated;
                toasts.show(format!(
                    "Imported {n} template{}: {} new, {} updated",
                    if n == 1 { "" } else { "s" },
                    summary.added,
                    summary.updated
                ))
            }
            Err(e) => toasts.error(format!("Nothing imported: {}", e.message)),
        }
    });
}

/// Asks where to save and writes every template of the user's (not the starter library) as
/// one YAML pack.
pub fn export_templates(ctx: UiContext, toasts: Toasts) {
    spawn(async move {
        let desktop = ctx.desktop.clone();
        let chosen = tokio::task::spawn_blocking(move || {
            desktop.save_file("Export command templates", "templates.yaml")
        })
        .await;
        let Ok(Some(path)) = chosen else { return };
        let commands = ctx.engine.commands();
        let count = match commands.list().await {
            Ok(all) => all.iter().filter(|e| !e.starter).count(),
            Err(e) => return toasts.error(e.message),
        };
        match commands.export_to(&path, None).await {
            Ok(()) => toasts.show(format!(
                "Saved {count} template{} to {}",
                if count == 1 { "" } else { "s" },
                path.display()
            )),
            Err(e) => toasts.error(e.message),
        }
    });
}
