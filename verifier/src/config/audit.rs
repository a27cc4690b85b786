//! `[audit]` (the audit trail: backend, retention, queue) and the per-site learning-loop
//! settings of `[[sites]]` (`store_telemetry`, `telemetry_retention_days`, `model`,
//! `shadow_model`, `feedback_per_minute`, `feedback_sources`).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use tollgate_model::Model;
use tollgate_model::meta::ModelMeta;

use super::{ConfigError, SecretString, pick, secret_digest};
use crate::secret::Secret;

/// `[audit]`.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// `off` (default), `sqlite` or `postgres`.
    pub backend: String,
    /// SQLite: the database file (relative to the config file's directory).
    pub path: Option<PathBuf>,
    /// PostgreSQL: connection string (or `url_env`: the variable holding it).
    pub url: Option<SecretString>,
    pub url_env: Option<String>,
    /// Records older than this are deleted.
    pub retention_days: u64,
    /// Records waiting for the writer at most (then dropped and counted).
    pub queue: usize,
    /// How often the retention sweep runs.
    pub sweep_interval_secs: u64,
    /// Token of the analyst console (`/admin/`; off without one), or the variable holding it.
    pub admin_token: Option<SecretString>,
    pub admin_token_env: Option<String>,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self {
            backend: "off".into(),
            path: None,
            url: None,
            url_env: None,
            retention_days: 90,
            queue: 10_000,
            sweep_interval_secs: 600,
            admin_token: None,
            admin_token_env: None,
        }
    }
}

/// Where the trail lives.
#[derive(Debug, Clone, PartialEq)]
pub enum AuditBackend {
    Sqlite(PathBuf),
    Postgres(Secret),
}

/// The resolved `[audit]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditSettings {
    pub backend: AuditBackend,
    pub retention_ms: u64,
    pub queue: usize,
    pub sweep_every: Duration,
    /// [`secret_digest`]`(b"admin", token)` of the console token (`None`: console off).
    pub admin_digest: Option<[u8; 32]>,
}

/// Shortest accepted console token.
pub const MIN_ADMIN_TOKEN: usize = 24;

pub const DAY_MS: u64 = 86_400_000;

pub(super) fn resolve_audit(
    a: &AuditConfig,
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<AuditSettings>, ConfigError> {
    let backend = match a.backend.as_str() {
        "off" => return Ok(None),
        "sqlite" => {
            let p = a.path.as_ref().ok_or_else(|| {
                ConfigError::Invalid("[audit] backend = \"sqlite\" needs path".into())
            })?;
            AuditBackend::Sqlite(base_dir.join(p))
        }
        "postgres" => {
            let url =
                pick("[audit] url", a.url.as_ref(), a.url_env.as_ref(), env)?.ok_or_else(|| {
                    ConfigError::Invalid(
                        "[audit] backend = \"postgres\" needs url or url_env".into(),
                    )
                })?;
            AuditBackend::Postgres(Secret::new(url.into_bytes()))
        }
        other => {
            return Err(ConfigError::Invalid(format!(
                "[audit] backend must be off, sqlite or postgres (got {other:?})"
            )));
        }
    };
    if a.retention_days == 0 || a.retention_days > 3650 {
        return Err(ConfigError::Invalid(
            "[audit] retention_days must be 1..=3650".into(),
        ));
    }
    if a.queue == 0 || a.queue > 10_000_000 {
        return Err(ConfigError::Invalid(
            "[audit] queue must be 1..=10000000".into(),
        ));
    }
    if a.sweep_interval_secs == 0 {
        return Err(ConfigError::Invalid(
            "[audit] sweep_interval_secs must be positive".into(),
        ));
    }
    let admin_digest = match pick(
        "[audit] admin_token",
        a.admin_token.as_ref(),
        a.admin_token_env.as_ref(),
        env,
    )? {
        None => None,
        Some(t) if t.len() >= MIN_ADMIN_TOKEN => Some(secret_digest(b"admin", t.as_bytes())),
        Some(_) => {
            return Err(ConfigError::Invalid(format!(
                "[audit] admin_token must be at least {MIN_ADMIN_TOKEN} bytes"
            )));
        }
    };
    Ok(Some(AuditSettings {
        admin_digest,
        backend,
        retention_ms: a.retention_days * DAY_MS,
        queue: a.queue,
        sweep_every: Duration::from_secs(a.sweep_interval_secs),
    }))
}

/// A model file loaded for a site: validated model plus its id.
#[derive(Debug)]
pub struct SiteModel {
    pub id: String,
    pub path: PathBuf,
    pub model: Model,
    pub meta: ModelMeta,
}

impl SiteModel {
    /// Read and validate a model file (`tollgate_model`'s checks, then its provenance fields).
    pub fn load(path: &Path) -> Result<SiteModel, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.into(),
            source,
        })?;
        Self::from_text(path, &text)
    }

    pub fn from_text(path: &Path, text: &str) -> Result<SiteModel, ConfigError> {
        let bad = |e: tollgate_model::ModelError| {
            ConfigError::Invalid(format!("model file {}: {e}", path.display()))
        };
        let model = Model::from_json(text).map_err(bad)?;
        let meta = ModelMeta::from_json(text).map_err(bad)?;
        Ok(SiteModel {
            id: meta.id_or_content(text),
            path: path.into(),
            model,
            meta,
        })
    }

    /// The compiled-in model.
    pub fn builtin() -> Arc<SiteModel> {
        static M: std::sync::OnceLock<Arc<SiteModel>> = std::sync::OnceLock::new();
        M.get_or_init(|| {
            let text = tollgate_model::model::DEFAULT_MODEL_JSON;
            Arc::new(SiteModel {
                id: ModelMeta::from_json(text)
                    .unwrap_or_default()
                    .id_or_content(text),
                path: PathBuf::from("(compiled in)"),
                model: Model::default_model().clone(),
                meta: ModelMeta::default(),
            })
        })
        .clone()
    }
}

/// `feedback_sources = [{ name, key | key_env, per_minute }]` of a site.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackSourceConfig {
    pub name: String,
    pub key: Option<SecretString>,
    pub key_env: Option<String>,
    pub per_minute: Option<u32>,
}

/// A feedback source of a site (`backend` is built in: the site secret alone authenticates it).
#[derive(Debug, Clone)]
pub struct FeedbackSource {
    pub name: String,
    /// [`secret_digest`]`(b"feedback", key)`; `None` for `backend`.
    pub digest: Option<[u8; 32]>,
    pub per_minute: u32,
}

/// The per-site learning-loop settings.
#[derive(Debug, Clone)]
pub struct SiteLearning {
    /// Keep the decoded telemetry in the audit trail (opt-in).
    pub store_telemetry: bool,
    pub telemetry_retention_ms: u64,
    /// The model that answers (`None`: the compiled-in one).
    pub model: Option<Arc<SiteModel>>,
    /// A candidate scored in parallel, never applied.
    pub shadow_model: Option<Arc<SiteModel>>,
    pub feedback_sources: Vec<FeedbackSource>,
}

impl Default for SiteLearning {
    fn default() -> Self {
        Self {
            store_telemetry: false,
            telemetry_retention_ms: 30 * DAY_MS,
            model: None,
            shadow_model: None,
            feedback_sources: vec![FeedbackSource {
                name: "backend".into(),
                digest: None,
                per_minute: DEFAULT_FEEDBACK_PER_MINUTE,
            }],
        }
    }
}

pub const DEFAULT_FEEDBACK_PER_MINUTE: u32 = 600;

/// Longest feedback source name.
pub const MAX_SOURCE_NAME: usize = 32;

#[allow(clippy::too_many_arguments)]
pub(super) fn resolve_learning(
    label: &str,
    store_telemetry: bool,
    telemetry_retention_days: Option<u64>,
    model: Option<&PathBuf>,
    shadow_model: Option<&PathBuf>,
    feedback_per_minute: Option<u32>,
    sources: &[FeedbackSourceConfig],
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<SiteLearning, ConfigError> {
    let days = telemetry_retention_days.unwrap_or(30);
    if days == 0 || days > 3650 {
        return Err(ConfigError::Invalid(format!(
            "{label}: telemetry_retention_days must be 1..=3650"
        )));
    }
    let load = |p: Option<&PathBuf>| -> Result<Option<Arc<SiteModel>>, ConfigError> {
        p.map(|p| SiteModel::load(&base_dir.join(p)).map(Arc::new))
            .transpose()
    };
    let backend_rate = feedback_per_minute.unwrap_or(DEFAULT_FEEDBACK_PER_MINUTE);
    if backend_rate == 0 {
        return Err(ConfigError::Invalid(format!(
            "{label}: feedback_per_minute must be positive"
        )));
    }
    let mut feedback_sources = vec![FeedbackSource {
        name: "backend".into(),
        digest: None,
        per_minute: backend_rate,
    }];
    for s in sources {
        let ok_name = !s.name.is_empty()
            && s.name.len() <= MAX_SOURCE_NAME
            && s.name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok_name || feedback_sources.iter().any(|f| f.name == s.name) {
            return Err(ConfigError::Invalid(format!(
                "{label}: feedback source names must be unique, 1-{MAX_SOURCE_NAME} of a-z 0-9 - (and not \"backend\")"
            )));
        }
        let key = pick(
            &format!("{label} feedback source {:?}", s.name),
            s.key.as_ref(),
            s.key_env.as_ref(),
            env,
        )?
        .ok_or_else(|| {
            ConfigError::Invalid(format!(
                "{label}: feedback source {:?} needs key or key_env",
                s.name
            ))
        })?;
        if key.len() < super::MIN_SITE_SECRET {
            return Err(ConfigError::Invalid(format!(
                "{label}: feedback source keys need >= {} bytes",
                super::MIN_SITE_SECRET
            )));
        }
        let per_minute = s.per_minute.unwrap_or(DEFAULT_FEEDBACK_PER_MINUTE);
        if per_minute == 0 {
            return Err(ConfigError::Invalid(format!(
                "{label}: feedback source per_minute must be positive"
            )));
        }
        feedback_sources.push(FeedbackSource {
            name: s.name.clone(),
            digest: Some(secret_digest(b"feedback", key.as_bytes())),
            per_minute,
        });
    }
    Ok(SiteLearning {
        store_telemetry,
        telemetry_retention_ms: days * DAY_MS,
        model: load(model)?,
        shadow_model: load(shadow_model)?,
        feedback_sources,
    })
}
