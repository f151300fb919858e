//! Live VM status without an agent: a probe round runs one command per VM over the SSH
//! pool's connection (`vmo_status::probe::COMMAND`, nothing written on the host), judges
//! the answer against the thresholds in the settings, records it (bounded history in
//! SQLite), and announces the fleet's status and every change.
//!
//! The desktop app runs the monitor ([`Status::start_monitor`]): every VM on its own
//! jittered schedule, offline ones backing off. `vmo status` runs single rounds
//! ([`Status::probe_round`]). Probes never take a job's turn on a VM nor one of the global
//! slots: they are a few milliseconds on a channel of their own, beside any running job.

mod judge;
pub mod model;
mod probe;
mod simulate;
pub mod store;

pub use model::{
    Counts, FleetStatus, Health, History, Metric, Point, ProbeError, Reading, Span, StatusChange,
    VmStatus,
};
pub use probe::PROBE_TIMEOUT;
pub use simulate::SIMULATE_ENV;
/// The one shell command a probe runs (nothing else ever runs or is written on a VM).
pub use vmo_status::probe::COMMAND as PROBE_COMMAND;
pub use vmo_status::{NoticeLimiter, Thresholds, Verdict};

use crate::error::EngineError;
use crate::inventory::Inventory;
use crate::jobs::now_ms;
use crate::settings::Settings;
use crate::ssh::Ssh;
use crate::vm::{Vm, VmId};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use store::StatusStore;
use tokio::sync::{broadcast, mpsc, watch, Notify, Semaphore};
use vmo_status::Schedule;

/// Probes in flight at once (each is a few milliseconds over an open connection; a
/// first connection costs a handshake).
pub const PROBE_CONCURRENCY: usize = 32;
/// How often the monitor looks for due VMs and publishes what came back.
const TICK: Duration = Duration::from_secs(1);
/// Samples kept in memory while the database refuses them (then the oldest go).
const MAX_UNRECORDED: usize = 20_000;
/// How often history is rolled up and trimmed.
const COMPACT_EVERY_MS: i64 = 5 * 60_000;

struct ProbeResult {
    vm: VmId,
    name: String,
    at_ms: i64,
    outcome: Result<probe::Answer, ProbeError>,
}

struct Inner {
    store: StatusStore,
    inventory: Inventory,
    ssh: Ssh,
    settings: watch::Receiver<Settings>,
    fleet: watch::Sender<Arc<FleetStatus>>,
    changes: broadcast::Sender<StatusChange>,
    /// Serialises judging and recording (the monitor and a manual round may overlap), and
    /// holds samples a busy database refused, to record with the next round.
    apply_lock: tokio::sync::Mutex<Vec<(VmStatus, store::Sample)>>,
    monitoring: AtomicBool,
    wake: Notify,
    asked: Mutex<Vec<VmId>>,
}

/// The status service. Cheap to clone.
#[derive(Clone)]
pub struct Status {
    inner: Arc<Inner>,
}

impl Status {
    pub(crate) async fn open(
        pool: sqlx::SqlitePool,
        inventory: Inventory,
        ssh: Ssh,
        settings: watch::Receiver<Settings>,
    ) -> Result<Self, EngineError> {
        let store = StatusStore::new(pool);
        let fleet = FleetStatus {
            vms: store.latest().await?,
            ..FleetStatus::default()
        };
        Ok(Self {
            inner: Arc::new(Inner {
                store,
                inventory,
                ssh,
                settings,
                fleet: watch::Sender::new(Arc::new(fleet)),
                changes: broadcast::channel(1024).0,
                apply_lock: tokio::sync::Mutex::new(Vec::new()),
                monitoring: AtomicBool::new(false),
                wake: Notify::new(),
                asked: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The fleet's status now (the last recorded one before the first probe).
    pub fn fleet(&self) -> Arc<FleetStatus> {
        self.inner.fleet.borrow().clone()
    }

    /// Hears every new fleet status (at most about once a second while probes come back).
    pub fn watch(&self) -> watch::Receiver<Arc<FleetStatus>> {
        self.inner.fleet.subscribe()
    }

    /// Hears every status change, after it is recorded.
    pub fn subscribe(&self) -> broadcast::Receiver<StatusChange> {
        self.inner.changes.subscribe()
    }

    /// The history store (charts, tests, benchmarks).
    pub fn store(&self) -> &StatusStore {
        &self.inner.store
    }

    pub async fn history(&self, vm: VmId, span: Span) -> Result<History, EngineError> {
        self.inner.store.history(vm, span, now_ms()).await
    }

    /// Stops or resumes probing; the statuses shown stay as they were.
    pub fn set_paused(&self, paused: bool) {
        self.inner.fleet.send_if_modified(|fleet| {
            if fleet.paused == paused {
                return false;
            }
            Arc::make_mut(fleet).paused = paused;
            true
        });
        self.inner.wake.notify_one();
    }

    pub fn paused(&self) -> bool {
        self.inner.fleet.borrow().paused
    }

    /// Asks the monitor to probe these VMs at once (the user pressed "probe now").
    pub fn probe_soon(&self, vms: &[VmId]) {
        lock(&self.inner.asked).extend_from_slice(vms);
        self.inner.wake.notify_one();
    }

    /// Probes `vms` once, now, records and announces the results, and returns their
    /// statuses in the order given. What `vmo status` runs; probing-off tags do not
    /// apply to VMs asked for by name.
    pub async fn probe_round(&self, vms: &[Vm]) -> Result<Vec<VmStatus>, EngineError> {
        // Another process (the app) may have probed since this one started.
        let latest = self.inner.store.latest().await?;
        self.inner.fleet.send_modify(|fleet| {
            Arc::make_mut(fleet).vms.extend(latest);
        });
        let all = self.inner.inventory.list().await?;
        let (tx, mut rx) = mpsc::channel(vms.len().max(1));
        let limit = Arc::new(Semaphore::new(PROBE_CONCURRENCY));
        for vm in vms {
            spawn_probe(&self.inner.ssh, vm, &all, limit.clone(), tx.clone());
        }
        drop(tx);
        let mut results = Vec::with_capacity(vms.len());
        while let Some(result) = rx.recv().await {
            results.push(result);
        }
        self.apply(results).await;
        let fleet = self.fleet();
        Ok(vms
            .iter()
            .map(|vm| {
                fleet
                    .get(vm.id)
                    .cloned()
                    .unwrap_or_else(|| VmStatus::unknown(vm.id))
            })
            .collect())
    }

    /// Starts probing every VM in the background, for as long as the process lives
    /// (idempotent). The desktop app calls it; `vmo` does not.
    pub fn start_monitor(&self) {
        if self.inner.monitoring.swap(true, Ordering::SeqCst) {
            return;
        }
        let status = self.clone();
        tokio::spawn(async move { status.monitor().await });
    }

    /// Judges, records and announces probe results.
    async fn apply(&self, results: Vec<ProbeResult>) {
        if results.is_empty() {
            return;
        }
        let mut unrecorded = self.inner.apply_lock.lock().await;
        let thresholds = self.inner.settings.borrow().status.thresholds;
        let fleet = self.fleet();
        let mut batch = std::mem::take(&mut *unrecorded);
        batch.reserve(results.len());
        let mut changes = Vec::new();
        for r in results {
            let judged = judge::judge(
                fleet.get(r.vm),
                r.vm,
                &r.name,
                r.outcome,
                r.at_ms,
                &thresholds,
            );
            batch.push((judged.status, judged.sample));
            changes.extend(judged.change);
        }
        let recorded = self.inner.store.record(&batch).await;
        self.inner.fleet.send_modify(|fleet| {
            let fleet = Arc::make_mut(fleet);
            for (status, _) in &batch {
                fleet.vms.insert(status.vm, status.clone());
            }
        });
        if let Err(e) = recorded {
            // Status stays live; the history waits for the next round (a job writing
            // heavily can hold the database past the busy timeout), within a bound.
            tracing::warn!("cannot record a status round yet: {e}");
            let keep = batch.len().min(MAX_UNRECORDED);
            batch.drain(..batch.len() - keep);
            *unrecorded = batch;
        }
        for change in changes {
            let _ = self.inner.changes.send(change);
        }
    }

    async fn monitor(self) {
        let mut settings = self.inner.settings.clone();
        let mut schedule = Schedule::new(interval_of(&settings.borrow()));
        let mut inventory_events = self.inner.inventory.subscribe();
        let (tx, mut rx) = mpsc::channel::<ProbeResult>(4096);
        let limit = Arc::new(Semaphore::new(PROBE_CONCURRENCY));
        let mut vms = self.inner.inventory.list().await.unwrap_or_default();
        let mut arrived = Vec::new();
        let mut last_compact = 0;
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = self.inner.wake.notified() => {}
                Some(result) = rx.recv() => {
                    arrived.push(result);
                    continue;
                }
            }
            let now = now_ms();
            for r in &arrived {
                schedule.probed(&r.vm, r.outcome.is_ok(), now as u64, jitter(r.vm, now));
            }
            self.apply(std::mem::take(&mut arrived)).await;

            let mut reload = false;
            while let Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) =
                inventory_events.try_recv()
            {
                reload = true;
            }
            if reload {
                match self.inner.inventory.list().await {
                    Ok(list) => vms = list,
                    Err(e) => tracing::warn!("status monitor cannot read the inventory: {e}"),
                }
            }
            let current = settings.borrow_and_update().clone();
            let interval = interval_of(&current);
            if interval != schedule.interval() {
                schedule.set_interval(interval, now as u64);
            }
            let off: HashSet<VmId> = vms
                .iter()
                .filter(|vm| vm.tags.iter().any(|t| current.status.off_tags.contains(t)))
                .map(|vm| vm.id)
                .collect();
            self.publish_membership(&vms, &off);
            for vm in lock(&self.inner.asked).drain(..) {
                schedule.probe_soon(&vm, now as u64);
            }
            let eligible = vms
                .iter()
                .filter(|vm| !off.contains(&vm.id))
                .map(|vm| vm.id);
            let paused = self.paused();
            // While paused nothing new starts (the schedule still forgets removed VMs).
            let due = if paused {
                schedule.due(0, eligible);
                Vec::new()
            } else {
                schedule.due(now as u64, eligible)
            };
            if !due.is_empty() {
                let by_id: HashMap<VmId, &Vm> = vms.iter().map(|vm| (vm.id, vm)).collect();
                for id in due {
                    if let Some(vm) = by_id.get(&id) {
                        spawn_probe(&self.inner.ssh, vm, &vms, limit.clone(), tx.clone());
                    }
                }
            }
            if now - last_compact >= COMPACT_EVERY_MS {
                last_compact = now;
                if let Err(e) = self.inner.store.compact(now).await {
                    tracing::warn!("cannot trim the status history: {e}");
                }
            }
        }
    }

    /// Drops deleted VMs from the fleet status and marks those with probing off.
    fn publish_membership(&self, vms: &[Vm], off: &HashSet<VmId>) {
        self.inner.fleet.send_if_modified(|fleet| {
            let ids: HashSet<VmId> = vms.iter().map(|vm| vm.id).collect();
            let mut off_list: Vec<VmId> = off.iter().copied().collect();
            off_list.sort();
            let stale = fleet
                .vms
                .keys()
                .any(|id| !ids.contains(id) || off.contains(id));
            if !stale && fleet.off == off_list {
                return false;
            }
            let fleet = Arc::make_mut(fleet);
            fleet
                .vms
                .retain(|id, _| ids.contains(id) && !off.contains(id));
            fleet.off = off_list;
            true
        });
    }
}

fn interval_of(settings: &Settings) -> Duration {
    Duration::from_secs(settings.status.interval_secs.max(1))
}

/// A fraction in [0, 1) that differs per VM and per moment, so hosts drift apart.
fn jitter(vm: VmId, now: i64) -> f64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(vm.0);
    h.write_i64(now);
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

fn spawn_probe(
    ssh: &Ssh,
    vm: &Vm,
    all: &[Vm],
    limit: Arc<Semaphore>,
    results: mpsc::Sender<ProbeResult>,
) {
    let target = crate::targets::resolve_target(vm, all);
    let (id, name, pool) = (vm.id, vm.name.clone(), ssh.pool().clone());
    tokio::spawn(async move {
        let outcome = match target {
            Ok(target) => {
                let Ok(_permit) = limit.acquire_owned().await else {
                    return;
                };
                probe::probe(&pool, &target).await
            }
            Err(e) => Err(ProbeError {
                code: e.kind.as_str().into(),
                message: e.message,
            }),
        };
        let _ = results
            .send(ProbeResult {
                vm: id,
                name,
                at_ms: now_ms(),
                outcome,
            })
            .await;
    });
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
