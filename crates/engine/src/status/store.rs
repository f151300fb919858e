//! Status in SQLite: each VM's last status (`status_latest`), every probe for 24 hours
//! (`status_samples`), then min/avg/max per 5 minutes for 7 days (`status_rollups`).

use super::model::{Health, History, Point, ProbeError, Span, VmStatus};
use crate::error::EngineError;
use crate::vm::VmId;
use sqlx::{Row, SqlitePool};
use std::collections::HashMap;

/// Probes are kept one by one this long …
pub const FULL_RESOLUTION_MS: i64 = 24 * 3_600_000;
/// … then rolled up into buckets of this length …
pub const BUCKET_MS: i64 = 5 * 60_000;
/// … which are kept this long.
pub const ROLLUP_KEPT_MS: i64 = 7 * 24 * 3_600_000;

/// One probe's figures, as history keeps them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub at_ms: i64,
    pub reached: bool,
    pub latency_ms: Option<f64>,
    pub load: Option<f64>,
    pub cpu_pct: Option<f64>,
    pub mem_pct: Option<f64>,
    pub disk_pct: Option<f64>,
}

#[derive(Clone)]
pub struct StatusStore {
    pool: SqlitePool,
}

impl StatusStore {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// A write transaction that holds the write lock from its start. A deferred one that
    /// reads first cannot be upgraded while another connection writes: SQLite refuses at
    /// once, without waiting out the busy timeout.
    async fn write(
        &self,
    ) -> Result<
        (
            Option<crate::write_turn::WriteTurn>,
            sqlx::Transaction<'static, sqlx::Sqlite>,
        ),
        EngineError,
    > {
        let turn = crate::write_turn::take(&self.pool).await;
        Ok((turn, self.pool.begin_with("BEGIN IMMEDIATE").await?))
    }

    /// Every VM's last recorded status.
    pub async fn latest(&self) -> Result<HashMap<VmId, VmStatus>, EngineError> {
        let rows = sqlx::query(
            "SELECT vm_id, health, since_ms, checked_ms, last_ok_ms, latency_ms, failures, \
             reading, cpu_pct, breaches, error_code, error_message FROM status_latest",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut all = HashMap::with_capacity(rows.len());
        for row in rows {
            let vm = VmId(row.try_get("vm_id")?);
            let health: String = row.try_get("health")?;
            let reading: Option<String> = row.try_get("reading")?;
            let breaches: String = row.try_get("breaches")?;
            let code: Option<String> = row.try_get("error_code")?;
            let message: Option<String> = row.try_get("error_message")?;
            let latency: Option<i64> = row.try_get("latency_ms")?;
            let failures: i64 = row.try_get("failures")?;
            all.insert(
                vm,
                VmStatus {
                    vm,
                    health: Health::parse(&health).unwrap_or(Health::Unknown),
                    since_ms: row.try_get("since_ms")?,
                    checked_ms: Some(row.try_get("checked_ms")?),
                    last_ok_ms: row.try_get("last_ok_ms")?,
                    latency_ms: latency.and_then(|l| u32::try_from(l).ok()),
                    // A reading written by another version that no longer parses is
                    // only a missing detail, not a reason to fail.
                    reading: reading.and_then(|r| serde_json::from_str(&r).ok()),
                    cpu_pct: row.try_get("cpu_pct")?,
                    breaches: serde_json::from_str(&breaches).unwrap_or_default(),
                    error: code.map(|code| ProbeError {
                        code,
                        message: message.unwrap_or_default(),
                    }),
                    failures: u32::try_from(failures).unwrap_or(u32::MAX),
                },
            );
        }
        Ok(all)
    }

    /// Records a round's statuses and samples in one transaction. VMs deleted meanwhile
    /// are skipped (their rows would break the foreign key).
    pub async fn record(&self, batch: &[(VmStatus, Sample)]) -> Result<(), EngineError> {
        let (_turn, mut tx) = self.write().await?;
        for (status, sample) in batch {
            let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM vms WHERE id = ?")
                .bind(status.vm.0)
                .fetch_optional(&mut *tx)
                .await?;
            if exists.is_none() {
                continue;
            }
            sqlx::query(
                "INSERT INTO status_samples \
                 (vm_id, at_ms, reached, latency_ms, load, cpu_pct, mem_pct, disk_pct) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            )
            .bind(status.vm.0)
            .bind(sample.at_ms)
            .bind(sample.reached)
            .bind(sample.latency_ms)
            .bind(sample.load)
            .bind(sample.cpu_pct)
            .bind(sample.mem_pct)
            .bind(sample.disk_pct)
            .execute(&mut *tx)
            .await?;
            let reading = status
                .reading
                .as_ref()
                .and_then(|r| serde_json::to_string(r).ok());
            let breaches = serde_json::to_string(&status.breaches).unwrap_or_else(|_| "[]".into());
            sqlx::query(
                "INSERT OR REPLACE INTO status_latest (vm_id, health, since_ms, checked_ms, \
                 last_ok_ms, latency_ms, failures, reading, cpu_pct, breaches, error_code, \
                 error_message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(status.vm.0)
            .bind(status.health.as_str())
            .bind(status.since_ms)
            .bind(status.checked_ms.unwrap_or(sample.at_ms))
            .bind(status.last_ok_ms)
            .bind(status.latency_ms.map(i64::from))
            .bind(i64::from(status.failures))
            .bind(reading)
            .bind(status.cpu_pct)
            .bind(breaches)
            .bind(status.error.as_ref().map(|e| e.code.clone()))
            .bind(status.error.as_ref().map(|e| e.message.clone()))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Rolls probes older than 24 h into 5-minute buckets and drops buckets older than
    /// 7 days. The cut is a bucket boundary, so a bucket is always rolled up whole.
    pub async fn compact(&self, now_ms: i64) -> Result<(), EngineError> {
        let cut = (now_ms - FULL_RESOLUTION_MS).div_euclid(BUCKET_MS) * BUCKET_MS;
        let (_turn, mut tx) = self.write().await?;
        sqlx::query(
            "INSERT INTO status_rollups (vm_id, bucket_ms, samples, reached, \
             latency_min, latency_avg, latency_max, load_min, load_avg, load_max, \
             cpu_min, cpu_avg, cpu_max, mem_min, mem_avg, mem_max, disk_min, disk_avg, disk_max) \
             SELECT vm_id, (at_ms / ?1) * ?1 AS bucket, count(*), sum(reached), \
             min(latency_ms), avg(latency_ms), max(latency_ms), min(load), avg(load), max(load), \
             min(cpu_pct), avg(cpu_pct), max(cpu_pct), min(mem_pct), avg(mem_pct), max(mem_pct), \
             min(disk_pct), avg(disk_pct), max(disk_pct) \
             FROM status_samples WHERE at_ms < ?2 GROUP BY vm_id, bucket \
             ON CONFLICT DO NOTHING",
        )
        .bind(BUCKET_MS)
        .bind(cut)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM status_samples WHERE at_ms < ?")
            .bind(cut)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM status_rollups WHERE bucket_ms < ?")
            .bind(now_ms - ROLLUP_KEPT_MS)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A VM's figures over `span` up to `now_ms`: every probe for the last hour, 5-minute
    /// buckets for longer spans (rolled up ones, and recent probes bucketed the same way).
    pub async fn history(&self, vm: VmId, span: Span, now_ms: i64) -> Result<History, EngineError> {
        let from = now_ms - span.millis();
        let rows = if span == Span::Hour {
            sqlx::query(
                "SELECT at_ms AS at, reached * 1.0 AS reached, \
                 latency_ms AS latency_min, latency_ms AS latency_avg, latency_ms AS latency_max, \
                 load AS load_min, load AS load_avg, load AS load_max, \
                 cpu_pct AS cpu_min, cpu_pct AS cpu_avg, cpu_pct AS cpu_max, \
                 mem_pct AS mem_min, mem_pct AS mem_avg, mem_pct AS mem_max, \
                 disk_pct AS disk_min, disk_pct AS disk_avg, disk_pct AS disk_max \
                 FROM status_samples WHERE vm_id = ? AND at_ms >= ? ORDER BY at_ms",
            )
            .bind(vm.0)
            .bind(from)
            .fetch_all(&self.pool)
            .await?
        } else {
            sqlx::query(
                "SELECT bucket_ms AS at, reached * 1.0 / samples AS reached, \
                 latency_min, latency_avg, latency_max, load_min, load_avg, load_max, \
                 cpu_min, cpu_avg, cpu_max, mem_min, mem_avg, mem_max, \
                 disk_min, disk_avg, disk_max \
                 FROM status_rollups WHERE vm_id = ?1 AND bucket_ms >= ?2 \
                 UNION ALL \
                 SELECT (at_ms / ?3) * ?3 AS at, avg(reached) AS reached, \
                 min(latency_ms), avg(latency_ms), max(latency_ms), \
                 min(load), avg(load), max(load), min(cpu_pct), avg(cpu_pct), max(cpu_pct), \
                 min(mem_pct), avg(mem_pct), max(mem_pct), min(disk_pct), avg(disk_pct), max(disk_pct) \
                 FROM status_samples WHERE vm_id = ?1 AND at_ms >= ?2 GROUP BY at \
                 ORDER BY at",
            )
            .bind(vm.0)
            .bind(from)
            .bind(BUCKET_MS)
            .fetch_all(&self.pool)
            .await?
        };
        let mut history = History::default();
        for row in rows {
            let at: i64 = row.try_get("at")?;
            let point = |name: &str| -> Result<Option<Point>, sqlx::Error> {
                let min: Option<f64> = row.try_get(format!("{name}_min").as_str())?;
                let avg: Option<f64> = row.try_get(format!("{name}_avg").as_str())?;
                let max: Option<f64> = row.try_get(format!("{name}_max").as_str())?;
                Ok(match (min, avg, max) {
                    (Some(min), Some(avg), Some(max)) => Some(Point {
                        at_ms: at,
                        min,
                        avg,
                        max,
                    }),
                    _ => None,
                })
            };
            for (name, series) in [
                ("latency", &mut history.latency),
                ("load", &mut history.load),
                ("cpu", &mut history.cpu),
                ("mem", &mut history.memory),
                ("disk", &mut history.disk),
            ] {
                series.extend(point(name)?);
            }
            let reached: Option<f64> = row.try_get("reached")?;
            history.reached.push((at, reached.unwrap_or(0.0)));
        }
        Ok(history)
    }

    /// Rows kept (samples, rollups): what the bounds test and the notes measure.
    pub async fn sizes(&self) -> Result<(i64, i64), EngineError> {
        let samples = sqlx::query_scalar("SELECT count(*) FROM status_samples")
            .fetch_one(&self.pool)
            .await?;
        let rollups = sqlx::query_scalar("SELECT count(*) FROM status_rollups")
            .fetch_one(&self.pool)
            .await?;
        Ok((samples, rollups))
    }
}
