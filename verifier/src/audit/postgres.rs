//! PostgreSQL audit trail, shared by several verifier instances (`tokio-postgres`, no TLS: run
//! it on a private network or a local socket). Connects lazily and reconnects after a failure;
//! the schema is created on first connection.

use tokio::sync::Mutex;
use tokio_postgres::{Client, NoTls};

use super::{
    AuditError, AuditRecord, AuditSink, LabelRecord, Query, Swept, decode, encode, i64_of,
};
use crate::store::BoxFuture;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tollgate_verdicts (
    id TEXT PRIMARY KEY,
    site TEXT NOT NULL,
    time_ms BIGINT NOT NULL,
    decision TEXT NOT NULL,
    model_id TEXT NOT NULL,
    body TEXT NOT NULL,
    telemetry TEXT,
    telemetry_until BIGINT
);
CREATE INDEX IF NOT EXISTS tollgate_verdicts_time ON tollgate_verdicts (time_ms);
CREATE INDEX IF NOT EXISTS tollgate_verdicts_site_time ON tollgate_verdicts (site, time_ms);
CREATE TABLE IF NOT EXISTS tollgate_labels (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL,
    site TEXT NOT NULL,
    time_ms BIGINT NOT NULL,
    feedback TEXT NOT NULL,
    source TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tollgate_labels_id ON tollgate_labels (id);
";

fn db(e: tokio_postgres::Error) -> AuditError {
    AuditError::Db(e.to_string())
}

/// The PostgreSQL backend (`url`: a libpq-style connection string or `postgres://` URL).
pub struct PostgresSink {
    url: String,
    client: Mutex<Option<Client>>,
}

impl std::fmt::Debug for PostgresSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password.
        f.debug_struct("PostgresSink").finish_non_exhaustive()
    }
}

impl PostgresSink {
    pub fn new(url: String) -> Self {
        Self {
            url,
            client: Mutex::new(None),
        }
    }

    /// A connected client (connecting, and creating the schema, when needed).
    async fn client(&self) -> Result<tokio::sync::MutexGuard<'_, Option<Client>>, AuditError> {
        let mut g = self.client.lock().await;
        if g.as_ref().is_none_or(Client::is_closed) {
            let (client, conn) = tokio_postgres::connect(&self.url, NoTls)
                .await
                .map_err(|e| AuditError::Unavailable(e.to_string()))?;
            tokio::spawn(async move {
                if let Err(e) = conn.await {
                    tracing::warn!(error = %e, "audit postgres connection closed");
                }
            });
            client.batch_execute(SCHEMA).await.map_err(db)?;
            *g = Some(client);
        }
        Ok(g)
    }
}

macro_rules! with_client {
    ($self:ident, $c:ident, $body:expr) => {{
        let mut guard = $self.client().await?;
        let Some($c) = guard.as_mut() else {
            return Err(AuditError::Unavailable("not connected".into()));
        };
        $body
    }};
}

fn row_record(r: &tokio_postgres::Row) -> Result<AuditRecord, AuditError> {
    let body: String = r.try_get(0).map_err(db)?;
    let tel: Option<String> = r.try_get(1).map_err(db)?;
    decode(&body, tel.as_deref())
}

impl AuditSink for PostgresSink {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn write_batch<'a>(
        &'a self,
        records: &'a [AuditRecord],
    ) -> BoxFuture<'a, Result<(), AuditError>> {
        Box::pin(async move {
            with_client!(self, c, {
                let tx = c.transaction().await.map_err(db)?;
                let st = tx
                    .prepare(
                        "INSERT INTO tollgate_verdicts (id, site, time_ms, decision, model_id, body, telemetry, telemetry_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
                    )
                    .await
                    .map_err(db)?;
                for r in records {
                    let (body, tel) = encode(r)?;
                    tx.execute(
                        &st,
                        &[
                            &r.id,
                            &r.site,
                            &i64_of(r.time_ms),
                            &r.decision,
                            &r.model_id,
                            &body,
                            &tel,
                            &r.telemetry_until_ms.map(i64_of),
                        ],
                    )
                    .await
                    .map_err(db)?;
                }
                tx.commit().await.map_err(db)
            })
        })
    }

    fn get<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<AuditRecord>, AuditError>> {
        Box::pin(async move {
            with_client!(self, c, {
                let row = c
                    .query_opt(
                        "SELECT body, telemetry FROM tollgate_verdicts WHERE id = $1",
                        &[&id],
                    )
                    .await
                    .map_err(db)?;
                row.as_ref().map(row_record).transpose()
            })
        })
    }

    fn range<'a>(&'a self, q: &'a Query) -> BoxFuture<'a, Result<Vec<AuditRecord>, AuditError>> {
        Box::pin(async move {
            with_client!(self, c, {
                let limit: Option<i64> = (q.limit > 0).then(|| i64_of(q.limit as u64));
                let sql = if q.newest_first {
                    "SELECT body, telemetry FROM tollgate_verdicts WHERE time_ms >= $1 AND time_ms < $2 AND ($3::TEXT IS NULL OR site = $3) ORDER BY time_ms DESC, id DESC LIMIT $4"
                } else {
                    "SELECT body, telemetry FROM tollgate_verdicts WHERE time_ms >= $1 AND time_ms < $2 AND ($3::TEXT IS NULL OR site = $3) ORDER BY time_ms, id LIMIT $4"
                };
                let rows = c
                    .query(
                        sql,
                        &[&i64_of(q.from_ms), &i64_of(q.to_ms), &q.site, &limit],
                    )
                    .await
                    .map_err(db)?;
                rows.iter().map(row_record).collect()
            })
        })
    }

    fn add_label<'a>(&'a self, l: &'a LabelRecord) -> BoxFuture<'a, Result<(), AuditError>> {
        Box::pin(async move {
            with_client!(self, c, {
                c.execute(
                    "INSERT INTO tollgate_labels (id, site, time_ms, feedback, source) VALUES ($1, $2, $3, $4, $5)",
                    &[&l.id, &l.site, &i64_of(l.time_ms), &l.feedback.as_str(), &l.source],
                )
                .await
                .map_err(db)?;
                Ok(())
            })
        })
    }

    fn labels_for<'a>(
        &'a self,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<LabelRecord>, AuditError>> {
        Box::pin(async move {
            with_client!(self, c, {
                let rows = c
                    .query(
                        "SELECT id, site, time_ms, feedback, source FROM tollgate_labels WHERE id = ANY($1) ORDER BY seq",
                        &[&ids],
                    )
                    .await
                    .map_err(db)?;
                rows.iter()
                    .map(|r| {
                        super::sqlite::make_label((
                            r.try_get(0).map_err(db)?,
                            r.try_get(1).map_err(db)?,
                            r.try_get(2).map_err(db)?,
                            r.try_get(3).map_err(db)?,
                            r.try_get(4).map_err(db)?,
                        ))
                    })
                    .collect()
            })
        })
    }

    fn sweep(
        &self,
        records_before_ms: u64,
        now_ms: u64,
    ) -> BoxFuture<'_, Result<Swept, AuditError>> {
        Box::pin(async move {
            with_client!(self, c, {
                let tx = c.transaction().await.map_err(db)?;
                let before = i64_of(records_before_ms);
                let labels = tx
                    .execute(
                        "DELETE FROM tollgate_labels WHERE id IN (SELECT id FROM tollgate_verdicts WHERE time_ms < $1)",
                        &[&before],
                    )
                    .await
                    .map_err(db)?;
                let records = tx
                    .execute(
                        "DELETE FROM tollgate_verdicts WHERE time_ms < $1",
                        &[&before],
                    )
                    .await
                    .map_err(db)?;
                let telemetry = tx
                    .execute(
                        "UPDATE tollgate_verdicts SET telemetry = NULL, telemetry_until = NULL WHERE telemetry_until IS NOT NULL AND telemetry_until <= $1",
                        &[&i64_of(now_ms)],
                    )
                    .await
                    .map_err(db)?;
                tx.commit().await.map_err(db)?;
                Ok(Swept {
                    records,
                    labels,
                    telemetry,
                })
            })
        })
    }
}
