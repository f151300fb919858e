//! Commands: templates with typed parameters, the command history, suggestions from the
//! hosts, and the palette's search. One service, like `Inventory`: validation,
//! persistence and change events in one place.
//!
//! The model (parsing, validation, quoting, files, frecency, fuzzy matching) is the pure
//! crate `vmo-command`, re-exported here as [`model`]; this module stores it, runs suggest
//! commands through the SSH pool, and feeds the palette. A front end typically:
//! - lists templates with [`Commands::list`] (the starter library included, marked),
//!   subscribes to [`CommandEvent`]s and reloads on each;
//! - previews with `model::render` (pure, no await) as the user types, and shows
//!   `Problems` next to each field (`values.<param>`);
//! - fills choices with [`Commands::suggest`] for the first chosen VM;
//! - runs with [`Commands::job_spec`] then `Jobs::submit` (history is recorded there);
//! - opens the palette with [`Commands::palette`] and calls `SearchIndex::search` per
//!   keystroke (sync, well under a frame for 20,000 items).

mod palette;
mod store;
mod suggest;

pub use palette::vm_items;
pub use store::HistoryEntry;
pub use suggest::{Suggestions, SUGGEST_TIMEOUT, SUGGEST_TTL};
pub use vmo_command as model;
pub use vmo_command::search::{Hit, Item, ItemKind, SearchIndex};
pub use vmo_command::{Param, ParamType, Problems, Rendered, Template, TemplateRun, Value, Values};

use crate::error::{EngineError, ErrorCode, FieldError};
use crate::inventory::Inventory;
use crate::jobs::{now_ms, JobOptions, JobSpec, Origin};
use crate::ssh::Ssh;
use crate::vm::VmId;
use serde::Serialize;
use std::path::{Path, PathBuf};
use store::CommandStore;
use suggest::Suggester;
use tokio::sync::broadcast;

/// What changed. Subscribers reload what they show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CommandEvent {
    Created {
        name: String,
    },
    /// `name` is the new name (`old` differs on a rename).
    Updated {
        old: String,
        name: String,
    },
    Deleted {
        name: String,
    },
    Imported {
        added: usize,
        updated: usize,
    },
    /// A command was run (a job was submitted): history changed.
    HistoryChanged,
}

/// A template as lists show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateEntry {
    pub template: Template,
    /// From the starter library: read-only, can be duplicated.
    pub starter: bool,
    /// Unix ms; 0 for starter templates.
    pub created_at: i64,
    pub updated_at: i64,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    pub added: usize,
    pub updated: usize,
}

/// Records every command run, for `Jobs` (which knows nothing else of templates).
#[derive(Clone)]
pub(crate) struct History {
    store: CommandStore,
    events: broadcast::Sender<CommandEvent>,
}

impl History {
    /// Counts `spec`'s command as run now. A failure is logged, never fatal: losing a
    /// history entry must not stop a job.
    pub async fn record(&self, spec: &JobSpec) {
        match self
            .store
            .record_run(&spec.command, spec.template.as_ref(), now_ms())
            .await
        {
            Ok(()) => {
                let _ = self.events.send(CommandEvent::HistoryChanged);
            }
            Err(e) => tracing::warn!("command history not recorded: {e}"),
        }
    }
}

#[derive(Clone)]
pub struct Commands {
    store: CommandStore,
    inventory: Inventory,
    ssh: Ssh,
    events: broadcast::Sender<CommandEvent>,
    suggester: Suggester,
}

impl Commands {
    pub(crate) fn new(pool: sqlx::SqlitePool, inventory: Inventory, ssh: Ssh) -> Self {
        let (events, _) = broadcast::channel(64);
        Self {
            store: CommandStore::new(pool),
            inventory,
            ssh,
            events,
            suggester: Suggester::new(),
        }
    }

    pub(crate) fn history_recorder(&self) -> History {
        History {
            store: self.store.clone(),
            events: self.events.clone(),
        }
    }

    /// Every change from now on. A lagging receiver only misses that it must reload.
    pub fn subscribe(&self) -> broadcast::Receiver<CommandEvent> {
        self.events.subscribe()
    }

    fn emit(&self, event: CommandEvent) {
        let _ = self.events.send(event);
    }

    /// The starter library, then the user's templates by name.
    pub async fn list(&self) -> Result<Vec<TemplateEntry>, EngineError> {
        let mut all: Vec<TemplateEntry> = starter_entries();
        all.extend(self.store.list().await?.into_iter().map(|s| TemplateEntry {
            template: s.template,
            starter: false,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }));
        Ok(all)
    }

    /// A template by name (case-insensitive), starter or not.
    pub async fn get(&self, name: &str) -> Result<TemplateEntry, EngineError> {
        if let Some(starter) = starter_entries()
            .into_iter()
            .find(|e| e.template.name.eq_ignore_ascii_case(name))
        {
            return Ok(starter);
        }
        let stored = self
            .store
            .get(name)
            .await?
            .ok_or_else(|| EngineError::not_found(format!("template {name:?}")))?;
        Ok(TemplateEntry {
            template: stored.template,
            starter: false,
            created_at: stored.created_at,
            updated_at: stored.updated_at,
        })
    }

    pub async fn create(&self, template: Template) -> Result<TemplateEntry, EngineError> {
        check(&template)?;
        self.store.insert(&template, now_ms()).await?;
        tracing::info!(template = %template.name, "template created");
        self.emit(CommandEvent::Created {
            name: template.name.clone(),
        });
        self.get(&template.name).await
    }

    /// Replaces the template `name` (renaming it if `template.name` differs).
    pub async fn update(
        &self,
        name: &str,
        template: Template,
    ) -> Result<TemplateEntry, EngineError> {
        refuse_starter(name)?;
        check(&template)?;
        if !self.store.update(name, &template, now_ms()).await? {
            return Err(EngineError::not_found(format!("template {name:?}")));
        }
        self.emit(CommandEvent::Updated {
            old: name.to_string(),
            name: template.name.clone(),
        });
        self.get(&template.name).await
    }

    pub async fn delete(&self, name: &str) -> Result<(), EngineError> {
        refuse_starter(name)?;
        if !self.store.delete(name).await? {
            return Err(EngineError::not_found(format!("template {name:?}")));
        }
        tracing::info!(template = %name, "template deleted");
        self.emit(CommandEvent::Deleted {
            name: name.to_string(),
        });
        Ok(())
    }

    /// Copies a template (a starter one too) under the first free name `NAME-copy`,
    /// `NAME-copy-2`, ...
    pub async fn duplicate(&self, name: &str) -> Result<TemplateEntry, EngineError> {
        let original = self.get(name).await?.template;
        let taken: Vec<String> = self
            .list()
            .await?
            .into_iter()
            .map(|e| e.template.name.to_lowercase())
            .collect();
        let stem: String = original
            .name
            .chars()
            .take(vmo_command::NAME_MAX - 9)
            .collect();
        let copy = (1..)
            .map(|n| match n {
                1 => format!("{stem}-copy"),
                n => format!("{stem}-copy-{n}"),
            })
            .find(|c| !taken.contains(&c.to_lowercase()))
            .ok_or_else(|| EngineError::new(ErrorCode::Conflict, "no free name for the copy"))?;
        self.create(Template {
            name: copy,
            ..original
        })
        .await
    }

    /// Imports files (our YAML packs, Warp workflows, navi `.cheat` files): all of them
    /// in one transaction, or nothing if one is bad (the error names file, line, field).
    /// A template whose name exists is replaced (re-import updates).
    pub async fn import_files(&self, paths: &[PathBuf]) -> Result<ImportSummary, EngineError> {
        let mut files = Vec::new();
        for path in paths {
            let text = tokio::fs::read(path).await.map_err(|e| {
                EngineError::new(
                    ErrorCode::Io,
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            let text = String::from_utf8(text).map_err(|_| {
                EngineError::new(
                    ErrorCode::Validation,
                    format!("{}: not UTF-8 text", path.display()),
                )
            })?;
            files.push((path.display().to_string(), text));
        }
        self.import_texts(&files).await
    }

    /// [`Commands::import_files`] for texts already read: (file name for errors, text).
    pub async fn import_texts(
        &self,
        files: &[(String, String)],
    ) -> Result<ImportSummary, EngineError> {
        let templates = vmo_command::import::read_all(files).map_err(|e| {
            let mut err = EngineError::new(ErrorCode::Validation, e.to_string());
            err.fields.push(FieldError {
                field: "file".into(),
                message: e.to_string(),
            });
            err
        })?;
        if let Some(t) = templates
            .iter()
            .find(|t| vmo_command::starter::is_starter(&t.name))
        {
            return Err(EngineError::new(
                ErrorCode::Conflict,
                format!(
                    "{:?} is the name of a starter template; rename it in the file",
                    t.name
                ),
            ));
        }
        let (added, updated) = self.store.upsert_all(&templates, now_ms()).await?;
        tracing::info!(added, updated, "templates imported");
        self.emit(CommandEvent::Imported { added, updated });
        Ok(ImportSummary { added, updated })
    }

    /// A YAML pack of the user's templates (`names`: only those; starter ones may be
    /// named too).
    pub async fn export(&self, names: Option<&[String]>) -> Result<String, EngineError> {
        let chosen: Vec<Template> = match names {
            None => self
                .store
                .list()
                .await?
                .into_iter()
                .map(|s| s.template)
                .collect(),
            Some(names) => {
                let mut out = Vec::new();
                for name in names {
                    out.push(self.get(name).await?.template);
                }
                out
            }
        };
        vmo_command::pack::to_yaml(&chosen).map_err(|e| EngineError::new(ErrorCode::Io, e))
    }

    /// Writes [`Commands::export`] to `path`.
    pub async fn export_to(
        &self,
        path: &Path,
        names: Option<&[String]>,
    ) -> Result<(), EngineError> {
        let yaml = self.export(names).await?;
        tokio::fs::write(path, yaml).await.map_err(|e| {
            EngineError::new(
                ErrorCode::Io,
                format!("cannot write {}: {e}", path.display()),
            )
        })
    }

    /// Renders template `name` with `values`: every problem at once as field errors
    /// (`values.<param>`), or the command and its [`TemplateRun`].
    pub async fn render(&self, name: &str, values: &Values) -> Result<Rendered, EngineError> {
        let template = self.get(name).await?.template;
        vmo_command::render(&template, values).map_err(problems_error)
    }

    /// A job running `rendered` on `targets`, recording its template and values.
    pub fn job_spec(
        rendered: Rendered,
        targets: Vec<VmId>,
        target_label: String,
        options: JobOptions,
        origin: Origin,
    ) -> JobSpec {
        JobSpec {
            command: rendered.command,
            targets,
            target_label,
            options,
            origin,
            retry_of: None,
            template: Some(rendered.run),
        }
    }

    /// Choices for `param` of `template` from VM `vm` (the first chosen target): its
    /// suggest command's output lines, cached per (VM, command) for [`SUGGEST_TTL`].
    /// A parameter with static choices answers with those, without a host.
    pub async fn suggest(
        &self,
        template: &str,
        param: &str,
        vm: VmId,
    ) -> Result<Suggestions, EngineError> {
        let template = self.get(template).await?.template;
        let param = template
            .params()
            .into_iter()
            .find(|p| p.name == param)
            .ok_or_else(|| EngineError::not_found(format!("parameter {param:?}")))?;
        let inventory = self.inventory.list().await?;
        let vm_record = inventory
            .iter()
            .find(|v| v.id == vm)
            .ok_or_else(|| EngineError::not_found(format!("VM #{}", vm.0)))?;
        let Some(command) = param.suggest else {
            return Ok(Suggestions {
                choices: param.choices,
                vm: vm_record.name.clone(),
                cached: false,
            });
        };
        let target = crate::resolve_target(vm_record, &inventory)
            .map_err(|e| EngineError::new(ErrorCode::Ssh, e.message))?;
        self.suggester
            .suggest(&self.ssh, vm, target, &command)
            .await
    }

    /// How long suggest commands may run and their answers are reused (tests shorten
    /// them).
    pub fn set_suggest_limits(&self, timeout: std::time::Duration, ttl: std::time::Duration) {
        self.suggester.set_limits(timeout, ttl);
    }

    /// Commands run, most recent first (at most `limit`; 0: all), each with its frecency.
    pub async fn history(&self, limit: u32) -> Result<Vec<HistoryEntry>, EngineError> {
        self.store.history(limit, now_ms()).await
    }

    /// Commands run, best frecency first (recent and frequent), at most `limit`.
    pub async fn frecent(&self, limit: usize) -> Result<Vec<HistoryEntry>, EngineError> {
        let mut all = self.store.history(0, now_ms()).await?;
        all.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(b.last_used_at.cmp(&a.last_used_at))
        });
        all.truncate(limit);
        Ok(all)
    }

    /// A search index over templates, history (boosted by frecency), VMs and tags, plus
    /// the caller's `extra` items (screens, actions). Build it when the palette opens
    /// (and again on change events); query it per keystroke.
    pub async fn palette(&self, extra: Vec<Item>) -> Result<SearchIndex, EngineError> {
        let templates = self.list().await?;
        let history = self.history(0).await?;
        let vms = self.inventory.list().await?;
        let items = palette::items(&templates, &history, &vms, extra);
        // Converting 20,000 texts is CPU work: off the async threads.
        tokio::task::spawn_blocking(move || SearchIndex::new(items))
            .await
            .map_err(|e| EngineError::new(ErrorCode::Io, format!("palette task failed: {e}")))
    }

    /// One query, built and searched in one go (see [`Commands::palette`] to type).
    pub async fn search(
        &self,
        query: &str,
        extra: Vec<Item>,
        limit: usize,
    ) -> Result<Vec<Hit>, EngineError> {
        Ok(self.palette(extra).await?.search(query, limit))
    }
}

fn starter_entries() -> Vec<TemplateEntry> {
    vmo_command::starter::templates()
        .into_iter()
        .map(|template| TemplateEntry {
            template,
            starter: true,
            created_at: 0,
            updated_at: 0,
        })
        .collect()
}

fn refuse_starter(name: &str) -> Result<(), EngineError> {
    if vmo_command::starter::is_starter(name) {
        return Err(EngineError::new(
            ErrorCode::Conflict,
            format!("{name:?} is a starter template: read-only (duplicate it to change it)"),
        ));
    }
    Ok(())
}

/// The definition's problems, and a starter template's name, refused.
fn check(template: &Template) -> Result<(), EngineError> {
    template.validate().map_err(problems_error)?;
    if vmo_command::starter::is_starter(&template.name) {
        let message = format!("{:?} is a starter template's name", template.name);
        return Err(EngineError::validation(vec![FieldError {
            field: "name".into(),
            message,
        }]));
    }
    Ok(())
}

/// Problems as a validation error with one field error each.
pub fn problems_error(problems: Problems) -> EngineError {
    EngineError::validation(
        problems
            .0
            .into_iter()
            .map(|p| FieldError {
                field: p.field.into(),
                message: p.message,
            })
            .collect(),
    )
}
