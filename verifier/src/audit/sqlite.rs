//! Embedded SQLite audit trail (one file, WAL journal; `rusqlite` with SQLite compiled in).
//! Calls run on Tokio's blocking pool, one connection behind a mutex (one writer at a time is
//! what SQLite allows anyway).

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};

use super::{
    AuditError, AuditRecord, AuditSink, LabelRecord, Query, Swept, decode, encode, i64_of,
};
use crate::store::BoxFuture;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS verdicts (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    decision TEXT NOT NULL,
    model_id TEXT NOT NULL,
    body TEXT NOT NULL,
    telemetry TEXT,
    telemetry_until INTEGER
);
CREATE INDEX IF NOT EXISTS verdicts_time ON verdicts (time_ms);
CREATE INDEX IF NOT EXISTS verdicts_site_time ON verdicts (site, time_ms);
CREATE INDEX IF NOT EXISTS verdicts_telemetry_until ON verdicts (telemetry_until)
    WHERE telemetry_until IS NOT NULL;
CREATE TABLE IF NOT EXISTS labels (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL,
    site TEXT NOT NULL,
    time_ms INTEGER NOT NULL,
    feedback TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS labels_id ON labels (id);
";

fn db(e: rusqlite::Error) -> AuditError {
    AuditError::Db(e.to_string())
}

/// The SQLite backend.
#[derive(Debug, Clone)]
pub struct SqliteSink {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteSink {
    /// Open (creating if needed) the database file.
    pub fn open(path: &Path) -> Result<Self, AuditError> {
        let conn = Connection::open(path).map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    fn blocking<'a, T: Send + 'static>(
        &'a self,
        f: impl FnOnce(&mut Connection) -> Result<T, AuditError> + Send + 'static,
    ) -> BoxFuture<'a, Result<T, AuditError>> {
        let conn = self.conn.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let mut c = conn.lock().unwrap_or_else(|e| e.into_inner());
                f(&mut c)
            })
            .await
            .map_err(|e| AuditError::Unavailable(e.to_string()))?
        })
    }
}

fn label_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<(String, String, i64, String, String)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

pub(super) fn make_label(
    (id, site, time_ms, feedback, source): (String, String, i64, String, String),
) -> Result<LabelRecord, AuditError> {
    Ok(LabelRecord {
        id,
        site,
        time_ms: u64::try_from(time_ms).unwrap_or(0),
        feedback: super::Feedback::parse(&feedback)
            .ok_or_else(|| AuditError::Corrupt(format!("feedback {feedback:?}")))?,
        source,
    })
}

impl AuditSink for SqliteSink {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn write_batch<'a>(
        &'a self,
        records: &'a [AuditRecord],
    ) -> BoxFuture<'a, Result<(), AuditError>> {
        let rows: Result<Vec<_>, AuditError> = records
            .iter()
            .map(|r| {
                let (body, tel) = encode(r)?;
                Ok((
                    r.id.clone(),
                    r.site.clone(),
                    i64_of(r.time_ms),
                    r.decision.clone(),
                    r.model_id.clone(),
                    body,
                    tel,
                    r.telemetry_until_ms.map(i64_of),
                ))
            })
            .collect();
        self.blocking(move |c| {
            let rows = rows?;
            let tx = c.transaction().map_err(db)?;
            {
                let mut st = tx
                    .prepare_cached(
                        "INSERT OR IGNORE INTO verdicts (id, site, time_ms, decision, model_id, body, telemetry, telemetry_until) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    )
                    .map_err(db)?;
                for r in &rows {
                    st.execute(params![r.0, r.1, r.2, r.3, r.4, r.5, r.6, r.7])
                        .map_err(db)?;
                }
            }
            tx.commit().map_err(db)
        })
    }

    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<AuditRecord>, AuditError>> {
        let id = id.to_string();
        self.blocking(move |c| {
            let row: Option<(String, Option<String>)> = c
                .query_row(
                    "SELECT body, telemetry FROM verdicts WHERE id = ?1",
                    params![id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(db)?;
            row.map(|(b, t)| decode(&b, t.as_deref())).transpose()
        })
    }

    fn range<'a>(&'a self, q: &'a Query) -> BoxFuture<'a, Result<Vec<AuditRecord>, AuditError>> {
        let q = q.clone();
        self.blocking(move |c| {
            let limit = if q.limit == 0 { -1 } else { i64_of(q.limit as u64) };
            let sql = if q.newest_first {
                "SELECT body, telemetry FROM verdicts WHERE time_ms >= ?1 AND time_ms < ?2 AND (?3 IS NULL OR site = ?3) ORDER BY time_ms DESC, id DESC LIMIT ?4"
            } else {
                "SELECT body, telemetry FROM verdicts WHERE time_ms >= ?1 AND time_ms < ?2 AND (?3 IS NULL OR site = ?3) ORDER BY time_ms, id LIMIT ?4"
            };
            let mut st = c.prepare_cached(sql).map_err(db)?;
            let rows = st
                .query_map(
                    params![i64_of(q.from_ms), i64_of(q.to_ms), q.site, limit],
                    |r| Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?)),
                )
                .map_err(db)?;
            let mut out = Vec::new();
            for row in rows {
                let (b, t) = row.map_err(db)?;
                out.push(decode(&b, t.as_deref())?);
            }
            Ok(out)
        })
    }

    fn add_label<'a>(&'a self, l: &'a LabelRecord) -> BoxFuture<'a, Result<(), AuditError>> {
        let l = l.clone();
        self.blocking(move |c| {
            c.execute(
                "INSERT INTO labels (id, site, time_ms, feedback, source) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![l.id, l.site, i64_of(l.time_ms), l.feedback.as_str(), l.source],
            )
            .map_err(db)?;
            Ok(())
        })
    }

    fn labels_for<'a>(
        &'a self,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<LabelRecord>, AuditError>> {
        let ids = ids.to_vec();
        self.blocking(move |c| {
            let mut st = c
                .prepare_cached(
                    "SELECT id, site, time_ms, feedback, source FROM labels WHERE id = ?1 ORDER BY seq",
                )
                .map_err(db)?;
            let mut out = Vec::new();
            for id in &ids {
                let rows = st.query_map(params![id], label_of).map_err(db)?;
                for r in rows {
                    out.push(make_label(r.map_err(db)?)?);
                }
            }
            Ok(out)
        })
    }

    fn sweep(
        &self,
        records_before_ms: u64,
        now_ms: u64,
    ) -> BoxFuture<'_, Result<Swept, AuditError>> {
        self.blocking(move |c| {
            let tx = c.transaction().map_err(db)?;
            let labels = tx
                .execute(
                    "DELETE FROM labels WHERE id IN (SELECT id FROM verdicts WHERE time_ms < ?1)",
                    params![i64_of(records_before_ms)],
                )
                .map_err(db)?;
            let records = tx
                .execute(
                    "DELETE FROM verdicts WHERE time_ms < ?1",
                    params![i64_of(records_before_ms)],
                )
                .map_err(db)?;
            let telemetry = tx
                .execute(
                    "UPDATE verdicts SET telemetry = NULL, telemetry_until = NULL WHERE telemetry_until IS NOT NULL AND telemetry_until <= ?1",
                    params![i64_of(now_ms)],
                )
                .map_err(db)?;
            tx.commit().map_err(db)?;
            Ok(Swept {
                records: records as u64,
                labels: labels as u64,
                telemetry: telemetry as u64,
            })
        })
    }
}
