//! Live status against real OpenSSH servers on 127.0.0.1 and a real SQLite file.

mod common;

use common::{draft, fleet_setup, TestEnv};
use std::time::Duration;
use tokio::sync::broadcast;
use vmo_engine::jobs::{JobOptions, JobSpec, JobState, Origin};
use vmo_engine::status::store::{Sample, BUCKET_MS, FULL_RESOLUTION_MS, ROLLUP_KEPT_MS};
use vmo_engine::status::{Health, Metric, Span, StatusChange, VmStatus};
use vmo_engine::{Engine, VmId};
use vmo_testkit::Fleet;

/// Every host of a test fleet is this machine, whose load and latency follow whatever
/// else runs: thresholds no busy test machine crosses, unless a test sets its own.
fn relax_thresholds(engine: &Engine) {
    let mut settings = engine.settings();
    settings.status.thresholds = vmo_engine::settings::Thresholds {
        load_per_cpu: 1000.0,
        memory_pct: 100.0,
        disk_pct: 100.0,
        latency_ms: 600_000,
    };
    engine.apply_settings(settings).unwrap();
}

async fn vms(engine: &Engine, ids: &[VmId]) -> Vec<vmo_engine::Vm> {
    let all = engine.inventory().list().await.unwrap();
    ids.iter()
        .map(|id| all.iter().find(|vm| vm.id == *id).unwrap().clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_reads_the_real_fleet_over_the_pooled_connection() {
    let fleet = Fleet::start(3);
    let s = fleet_setup(&fleet).await;
    relax_thresholds(&s.engine);
    let chosen = vms(&s.engine, &s.vms).await;
    let first = s.engine.status().probe_round(&chosen).await.unwrap();
    for (i, status) in first.iter().enumerate() {
        assert_eq!(status.health, Health::Online, "host{i}: {status:?}");
        let r = status.reading.as_ref().unwrap();
        assert!(r.kernel.as_deref().unwrap().starts_with("Linux "), "{r:?}");
        assert!(r.os.is_some() && r.os_id.is_some(), "{r:?}");
        assert!(r.load.is_some() && r.cpu_count.unwrap() >= 1, "{r:?}");
        assert!(r.memory.unwrap().total > r.memory.unwrap().used, "{r:?}");
        assert!(
            r.disk.unwrap().total > 0 && r.uptime_secs.unwrap() > 0,
            "{r:?}"
        );
        assert!(status.latency_ms.is_some() && status.cpu_pct.is_none());
        assert_eq!(fleet.accepted_logins(i), 1);
    }
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let again = s.engine.status().probe_round(&chosen).await.unwrap();
        assert!(again.iter().all(|st| st.health == Health::Online));
        // CPU busy from the /proc/stat delta between rounds.
        assert!(again
            .iter()
            .all(|st| st.cpu_pct.is_some_and(|c| (0.0..=100.0).contains(&c))));
    }
    // Server side: still one login per host after four rounds.
    for i in 0..3 {
        assert_eq!(fleet.accepted_logins(i), 1, "host{i} saw a new login");
    }
    assert_eq!(s.engine.ssh().pool().connections_opened(), 3);
    let (samples, _) = s.engine.status().store().sizes().await.unwrap();
    assert_eq!(samples, 12);
    // Recorded: a fresh engine on the same data directory starts from these statuses.
    let reopened = common::open_engine(s.dir.path()).await;
    assert_eq!(reopened.status().fleet().health(s.vms[0]), Health::Online);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thresholds_from_the_settings_degrade_with_the_reason() {
    let fleet = Fleet::start(1);
    let s = fleet_setup(&fleet).await;
    relax_thresholds(&s.engine);
    let mut settings = s.engine.settings();
    settings.status.thresholds.disk_pct = 1.0;
    s.engine.apply_settings(settings).unwrap();
    let status = s
        .engine
        .status()
        .probe_round(&vms(&s.engine, &s.vms).await)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(status.health, Health::Degraded);
    assert_eq!(status.breaches.len(), 1);
    assert_eq!(status.breaches[0].metric, Metric::Disk);
    assert!(status.reason().unwrap().starts_with("disk "), "{status:?}");
}

async fn next_change(changes: &mut broadcast::Receiver<StatusChange>, vm: VmId) -> StatusChange {
    tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match changes.recv().await {
                Ok(c) if c.vm == vm => return c,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("changes ended: {e}"),
            }
        }
    })
    .await
    .expect("a status change within 30 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitor_sees_a_host_go_down_come_back_and_change_its_key() {
    let fleet = Fleet::start(2);
    let s = fleet_setup(&fleet).await;
    relax_thresholds(&s.engine);
    let status = s.engine.status();
    let mut changes = status.subscribe();
    let mut settings = s.engine.settings();
    settings.status.interval_secs = 3600;
    s.engine.apply_settings(settings).unwrap();
    status.start_monitor();
    // The first round starts at once (its changes come in any order).
    let mut first = Vec::new();
    while first.len() < s.vms.len() {
        let c = tokio::time::timeout(Duration::from_secs(30), changes.recv())
            .await
            .expect("first round within 30 s")
            .unwrap();
        assert_eq!((c.from, c.to), (Health::Unknown, Health::Online));
        first.push(c.vm);
    }
    first.sort();
    assert_eq!(first, s.vms);
    fleet.stop_host(1);
    status.probe_soon(&[s.vms[1]]);
    let down = next_change(&mut changes, s.vms[1]).await;
    assert_eq!(down.to, Health::Offline);
    let fleet_now = status.fleet();
    let offline = fleet_now.get(s.vms[1]).unwrap();
    assert_eq!(
        offline.error.as_ref().unwrap().code,
        "refused",
        "{offline:?}"
    );
    assert!(down.reason.unwrap().contains("refused"));
    assert_eq!(fleet_now.health(s.vms[0]), Health::Online);
    assert_eq!(
        fleet_now.counts(s.vms.clone()).summary(),
        "1 online · 1 offline"
    );

    fleet.restart_host(1, false);
    status.probe_soon(&[s.vms[1]]);
    let back = next_change(&mut changes, s.vms[1]).await;
    assert_eq!((back.from, back.to), (Health::Offline, Health::Online));

    // A changed host key is refused by probes as everywhere else.
    fleet.restart_host(1, true);
    status.probe_soon(&[s.vms[1]]);
    let changed = next_change(&mut changes, s.vms[1]).await;
    assert_eq!(changed.to, Health::Offline);
    let error = status.fleet().get(s.vms[1]).unwrap().error.clone().unwrap();
    assert_eq!(error.code, "host_key_changed", "{error:?}");

    // Probing off by tag: the VM leaves the fleet status (unknown), listed as off.
    let vm0 = s.engine.inventory().get(s.vms[0]).await.unwrap();
    let mut d = draft(&vm0.name, &vm0.host);
    d.port = vm0.port;
    d.user = vm0.user.clone();
    d.auth = vm0.auth;
    d.key_file = vm0.key_file.clone();
    d.tags = vec!["no-probe".into()];
    s.engine.inventory().update(vm0.id, d).await.unwrap();
    let mut watch = status.watch();
    tokio::time::timeout(
        Duration::from_secs(10),
        watch.wait_for(|f| f.off == [s.vms[0]]),
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(status.fleet().health(s.vms[0]), Health::Unknown);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_never_wait_for_a_running_job() {
    let fleet = Fleet::start(1);
    let s = fleet_setup(&fleet).await;
    relax_thresholds(&s.engine);
    let mut events = s.engine.jobs().subscribe();
    let job = s
        .engine
        .jobs()
        .submit(JobSpec {
            command: "sleep 3".into(),
            targets: s.vms.clone(),
            target_label: "host0".into(),
            options: JobOptions::default(),
            origin: Origin::App,
            retry_of: None,
            template: None,
        })
        .await
        .unwrap()
        .id;
    // Wait until the job holds the VM's turn.
    loop {
        let detail = s.engine.jobs().detail(job).await.unwrap();
        if detail.job.state == JobState::Running {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = std::time::Instant::now();
    let status = s
        .engine
        .status()
        .probe_round(&vms(&s.engine, &s.vms).await)
        .await
        .unwrap();
    assert_eq!(status[0].health, Health::Online);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the probe waited for the job: {:?}",
        started.elapsed()
    );
    let detail = s.engine.jobs().detail(job).await.unwrap();
    assert_eq!(detail.job.state, JobState::Running, "probed during the job");
    drop(events.try_recv());
}

fn sample(at_ms: i64, latency: f64) -> Sample {
    Sample {
        at_ms,
        reached: latency > 0.0,
        latency_ms: (latency > 0.0).then_some(latency),
        load: Some(latency / 100.0),
        cpu_pct: Some(10.0),
        mem_pct: Some(50.0),
        disk_pct: Some(70.0),
    }
}

#[tokio::test]
async fn history_is_bounded_and_rolled_up_into_five_minute_buckets() {
    let env = TestEnv::new().await;
    let vm = env
        .engine
        .inventory()
        .create(draft("web", "10.0.0.1"))
        .await
        .unwrap();
    let store = env.engine.status().store();
    // Nine days of one probe a minute; every 5th probe failed.
    let now: i64 = 1_800_000_000_000 / BUCKET_MS * BUCKET_MS;
    let start = now - 9 * 86_400_000;
    let mut t = start;
    let mut batch = Vec::new();
    let mut n = 0;
    while t <= now {
        let latency = if n % 5 == 4 {
            0.0
        } else {
            10.0 + (n % 5) as f64
        };
        batch.push((VmStatus::unknown(vm.id), sample(t, latency)));
        if batch.len() == 2000 {
            store.record(&batch).await.unwrap();
            batch.clear();
        }
        t += 60_000;
        n += 1;
    }
    store.record(&batch).await.unwrap();
    store.compact(now).await.unwrap();
    let (samples, rollups) = store.sizes().await.unwrap();
    // 24 h of minutes (and the one at `now`), 6 days of 5-minute buckets.
    assert_eq!(samples, FULL_RESOLUTION_MS / 60_000 + 1);
    assert_eq!(rollups, (ROLLUP_KEPT_MS - FULL_RESOLUTION_MS) / BUCKET_MS);
    // Compacting again changes nothing.
    store.compact(now).await.unwrap();
    assert_eq!(store.sizes().await.unwrap(), (samples, rollups));

    let week = store.history(vm.id, Span::Week, now).await.unwrap();
    // Each bucket: five probes, latencies 10..13 and one failure.
    let p = week.latency[0];
    assert_eq!((p.min, p.max, p.avg), (10.0, 13.0, 11.5));
    assert_eq!(week.reached[0].1, 0.8);
    // Seven days of buckets, and the one `now` starts.
    assert_eq!(week.latency.len(), 7 * 288 + 1);
    assert!(week.latency.windows(2).all(|w| w[0].at_ms < w[1].at_ms));
    assert_eq!(week.disk[0].avg, 70.0);
    let hour = store.history(vm.id, Span::Hour, now).await.unwrap();
    assert_eq!(hour.reached.len(), 61);
    assert_eq!(hour.latency.len(), 49, "failed probes have no latency");
    let day = store.history(vm.id, Span::Day, now).await.unwrap();
    assert_eq!(day.reached.len(), 289);

    // A week later, nothing from before is left.
    store
        .compact(now + ROLLUP_KEPT_MS + FULL_RESOLUTION_MS)
        .await
        .unwrap();
    assert_eq!(store.sizes().await.unwrap(), (0, 0));
    // Deleting the VM deletes its history.
    store
        .record(&[(VmStatus::unknown(vm.id), sample(now, 5.0))])
        .await
        .unwrap();
    env.engine.inventory().delete(&[vm.id]).await.unwrap();
    assert_eq!(store.sizes().await.unwrap(), (0, 0));
}

/// A round the database refuses (another program holds it past the busy timeout) stays
/// live on screen, and its history is recorded with the next round: nothing is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_round_refused_by_a_held_database_is_recorded_with_the_next() {
    let fleet = Fleet::start(2);
    let s = fleet_setup(&fleet).await;
    relax_thresholds(&s.engine);
    let chosen = vms(&s.engine, &s.vms).await;
    let mut other = common::connect_raw(&s.engine).await;
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut other)
        .await
        .unwrap();
    let held = s.engine.status().probe_round(&chosen).await.unwrap();
    assert!(held.iter().all(|st| st.health == Health::Online));
    assert_eq!(s.engine.status().fleet().health(s.vms[1]), Health::Online);
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    assert_eq!(s.engine.status().store().sizes().await.unwrap().0, 0);
    s.engine.status().probe_round(&chosen).await.unwrap();
    assert_eq!(
        s.engine.status().store().sizes().await.unwrap().0,
        4,
        "both rounds recorded"
    );
}
