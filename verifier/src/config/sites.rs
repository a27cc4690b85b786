//! `[[sites]]`: site key and secret, allowed origins, proof of work, policy, token lifetime,
//! store capacity and automation keys.

use serde::Deserialize;
use tollgate_protocol::PowParams;

use super::{
    ConfigError, DEFAULT_POW, DEFAULT_STORE_CAPACITY, DEFAULT_TOKEN_LIFETIME_SECS, DEV_ORIGINS,
    DEV_SECRET, DEV_SITE_KEY, MAX_TOKEN_LIFETIME_SECS, MIN_AUTOMATION_KEY, MIN_SITE_SECRET,
    SecretString, TEST_KEY_PREFIX, pick,
};
use crate::origin::OriginPattern;
use crate::scoring::{Decision, SitePolicy};
use crate::secret::Secret;

/// `automation_keys = [{ name, key | key_env }]` of a site.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutomationKeyConfig {
    pub name: String,
    pub key: Option<SecretString>,
    pub key_env: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowConfig {
    pub k: u16,
    pub bits: u8,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    pub allow: f64,
    pub block: f64,
}

impl Default for PolicyConfig {
    fn default() -> Self {
        let p = SitePolicy::default();
        Self {
            allow: p.allow,
            block: p.block,
        }
    }
}

/// `success_when` of a site: which `tollgate.decision` still answers `success: true`.
///
/// The default, [`SuccessWhen::Allow`], makes `success` safe for stock Turnstile and reCAPTCHA
/// backend code that reads nothing else; `valid` is the older meaning ("the token is valid",
/// the decision only in `tollgate.decision`) for backends that apply the decision themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuccessWhen {
    /// Every valid token: the decision is left to the backend (`tollgate.decision`).
    Valid,
    /// Only an `allow` decision.
    #[default]
    Allow,
    /// `allow` or `challenge` (the backend steps up on `challenge` itself).
    AllowOrChallenge,
}

/// Error code when a valid token's decision is `challenge` but the site's policy needs `allow`.
pub const DECISION_CHALLENGE_CODE: &str = "tollgate-decision-challenge";
/// Error code when a valid token's decision is `block` and the policy needs better.
pub const DECISION_BLOCK_CODE: &str = "tollgate-decision-block";

impl SuccessWhen {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Allow => "allow",
            Self::AllowOrChallenge => "allow-or-challenge",
        }
    }

    /// The error code when `decision` is below this policy (then `success` is false), else
    /// `None`.
    pub fn refusal(self, decision: Decision) -> Option<&'static str> {
        match (self, decision) {
            (Self::Valid, _)
            | (_, Decision::Allow)
            | (Self::AllowOrChallenge, Decision::Challenge) => None,
            (Self::Allow, Decision::Challenge) => Some(DECISION_CHALLENGE_CODE),
            (_, Decision::Block) => Some(DECISION_BLOCK_CODE),
        }
    }
}

/// `[[sites]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    pub sitekey: String,
    pub secret: Option<SecretString>,
    pub secret_env: Option<String>,
    /// Secret rotation: the previous secret, still accepted (siteverify, outcome) until it is
    /// removed from the config. Deploy the new `secret` with the old one here, move the
    /// backends to the new one, watch `tollgate_site_secret_previous_used_total` fall to zero,
    /// then remove this line.
    pub previous_secret: Option<SecretString>,
    pub previous_secret_env: Option<String>,
    pub allowed_origins: Vec<String>,
    pub pow: Option<PowConfig>,
    pub policy: Option<PolicyConfig>,
    pub token_lifetime_secs: Option<u64>,
    pub store_capacity: Option<usize>,
    /// Which decision answers `success: true` (default `allow`).
    #[serde(default)]
    pub success_when: SuccessWhen,
    /// Known-good automation (monitoring, CI): a `/v1/challenge` request carrying one of these
    /// keys in the `Tollgate-Automation-Key` header skips behaviour scoring (token still checked).
    #[serde(default)]
    pub automation_keys: Vec<AutomationKeyConfig>,
    /// Learning loop (`config/audit.rs`): keep decoded telemetry in the audit trail (opt-in).
    #[serde(default)]
    pub store_telemetry: bool,
    pub telemetry_retention_days: Option<u64>,
    /// Model file that answers for this site (default: the compiled-in model).
    pub model: Option<std::path::PathBuf>,
    /// Candidate model scored in parallel and recorded, never applied.
    pub shadow_model: Option<std::path::PathBuf>,
    /// Rate of `/v1/feedback` from the built-in `backend` source (per minute).
    pub feedback_per_minute: Option<u32>,
    /// Judge what caused field focus and form submission (`unprompted-focus`,
    /// `unprompted-submit`; default on). Off for a site whose own page script moves the focus
    /// or submits on `keyup`, which those rules would take for a script.
    #[serde(default = "enabled")]
    pub field_event_rules: bool,
    #[serde(default)]
    pub feedback_sources: Vec<super::audit::FeedbackSourceConfig>,
}

fn enabled() -> bool {
    true
}

/// A known-good automation key of a site (only its hash is kept).
#[derive(Debug, Clone)]
pub struct AutomationKey {
    pub name: String,
    /// [`secret_digest`] of the key.
    pub digest: [u8; 32],
}

/// Digest under which secrets are compared: comparing fixed-size digests in constant time hides
/// the secret's length as well as its content.
pub fn secret_digest(kind: &[u8], secret: &[u8]) -> [u8; 32] {
    tollgate_protocol::sha256_parts(b"tollgate/secret-digest/v1", &[kind, secret])
}

/// A site ready to use.
#[derive(Debug, Clone)]
pub struct SiteSettings {
    pub sitekey: String,
    pub secret: Secret,
    /// [`secret_digest`]`(b"site", secret)`.
    pub secret_digest: [u8; 32],
    /// [`secret_digest`]`(b"site", previous_secret)` during a secret rotation.
    pub previous_secret_digest: Option<[u8; 32]>,
    pub automation_keys: Vec<AutomationKey>,
    pub allowed_origins: Vec<OriginPattern>,
    pub pow: PowParams,
    pub policy: SitePolicy,
    pub token_lifetime_ms: u64,
    pub store_capacity: usize,
    pub success_when: SuccessWhen,
    /// Audit trail, models and feedback sources of the site.
    pub learning: super::audit::SiteLearning,
    /// [`SiteConfig::field_event_rules`].
    pub field_event_rules: bool,
}

impl SiteSettings {
    /// The development site with default policy and difficulty.
    pub fn dev() -> Self {
        Self {
            sitekey: DEV_SITE_KEY.into(),
            secret: Secret::new(DEV_SECRET.as_bytes().to_vec()),
            secret_digest: secret_digest(b"site", DEV_SECRET.as_bytes()),
            previous_secret_digest: None,
            automation_keys: Vec::new(),
            allowed_origins: DEV_ORIGINS
                .iter()
                .filter_map(|o| OriginPattern::parse(o).ok())
                .collect(),
            pow: DEFAULT_POW,
            policy: SitePolicy::default(),
            token_lifetime_ms: DEFAULT_TOKEN_LIFETIME_SECS * 1000,
            store_capacity: DEFAULT_STORE_CAPACITY,
            // The demo backend applies `tollgate.decision` itself (step-up on `challenge`).
            success_when: SuccessWhen::Valid,
            learning: super::audit::SiteLearning::default(),
            field_event_rules: true,
        }
    }
}

pub(super) fn resolve_site(
    s: SiteConfig,
    base_dir: &std::path::Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<SiteSettings, ConfigError> {
    let label = format!("site {:?}", s.sitekey);
    if s.sitekey.is_empty()
        || s.sitekey.len() > 128
        || !s.sitekey.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(ConfigError::Invalid(format!(
            "{label}: sitekey must be 1-128 printable ASCII characters"
        )));
    }
    if s.sitekey.starts_with(TEST_KEY_PREFIX) {
        return Err(ConfigError::Invalid(format!(
            "{label}: the {TEST_KEY_PREFIX} prefix is reserved for the test keys"
        )));
    }
    let secret = pick(
        &format!("{label} secret"),
        s.secret.as_ref(),
        s.secret_env.as_ref(),
        env,
    )?
    .ok_or_else(|| ConfigError::Invalid(format!("{label}: secret or secret_env is required")))?;
    if secret.len() < MIN_SITE_SECRET {
        return Err(ConfigError::Invalid(format!(
            "{label}: secret must be at least {MIN_SITE_SECRET} bytes"
        )));
    }
    let previous = pick(
        &format!("{label} previous_secret"),
        s.previous_secret.as_ref(),
        s.previous_secret_env.as_ref(),
        env,
    )?;
    if let Some(p) = &previous {
        if p.len() < MIN_SITE_SECRET {
            return Err(ConfigError::Invalid(format!(
                "{label}: previous_secret must be at least {MIN_SITE_SECRET} bytes"
            )));
        }
        if tollgate_protocol::ct_eq(p.as_bytes(), secret.as_bytes()) {
            return Err(ConfigError::Invalid(format!(
                "{label}: previous_secret equals secret"
            )));
        }
        if super::testkeys::is_test_secret(p.as_bytes()) {
            return Err(ConfigError::Invalid(format!(
                "{label}: previous_secret is a public test secret"
            )));
        }
    }
    if s.allowed_origins.is_empty() {
        return Err(ConfigError::Invalid(format!(
            "{label}: allowed_origins is empty"
        )));
    }
    let allowed_origins = s
        .allowed_origins
        .iter()
        .map(|o| OriginPattern::parse(o).map_err(|e| ConfigError::Invalid(format!("{label}: {e}"))))
        .collect::<Result<Vec<_>, _>>()?;
    let pow = s
        .pow
        .map(|p| PowParams {
            k: p.k,
            bits: p.bits,
        })
        .unwrap_or(DEFAULT_POW);
    let pow = pow
        .validate()
        .map_err(|e| ConfigError::Invalid(format!("{label}: {e}")))?;
    let policy = s
        .policy
        .map(|p| SitePolicy {
            allow: p.allow,
            block: p.block,
        })
        .unwrap_or_default();
    policy
        .validate()
        .map_err(|e| ConfigError::Invalid(format!("{label}: {e}")))?;
    let lifetime = s.token_lifetime_secs.unwrap_or(DEFAULT_TOKEN_LIFETIME_SECS);
    if lifetime == 0 || lifetime > MAX_TOKEN_LIFETIME_SECS {
        return Err(ConfigError::Invalid(format!(
            "{label}: token_lifetime_secs must be 1..={MAX_TOKEN_LIFETIME_SECS}"
        )));
    }
    let store_capacity = s.store_capacity.unwrap_or(DEFAULT_STORE_CAPACITY);
    if store_capacity == 0 {
        return Err(ConfigError::Invalid(format!(
            "{label}: store_capacity must be positive"
        )));
    }
    let mut automation_keys: Vec<AutomationKey> = Vec::new();
    for a in &s.automation_keys {
        let key = pick(
            &format!("{label} automation key {:?}", a.name),
            a.key.as_ref(),
            a.key_env.as_ref(),
            env,
        )?
        .ok_or_else(|| {
            ConfigError::Invalid(format!(
                "{label}: automation key {:?} needs key or key_env",
                a.name
            ))
        })?;
        if key.len() < MIN_AUTOMATION_KEY || a.name.is_empty() || a.name.len() > 64 {
            return Err(ConfigError::Invalid(format!(
                "{label}: automation keys need a name (1-64 chars) and >= {MIN_AUTOMATION_KEY} bytes"
            )));
        }
        let digest = secret_digest(b"automation", key.as_bytes());
        if automation_keys.iter().any(|k| k.digest == digest) {
            return Err(ConfigError::Invalid(format!(
                "{label}: duplicate automation key"
            )));
        }
        automation_keys.push(AutomationKey {
            name: a.name.clone(),
            digest,
        });
    }
    let learning = super::audit::resolve_learning(
        &label,
        s.store_telemetry,
        s.telemetry_retention_days,
        s.model.as_ref(),
        s.shadow_model.as_ref(),
        s.feedback_per_minute,
        &s.feedback_sources,
        base_dir,
        env,
    )?;
    Ok(SiteSettings {
        sitekey: s.sitekey,
        secret_digest: secret_digest(b"site", secret.as_bytes()),
        previous_secret_digest: previous.map(|p| secret_digest(b"site", p.as_bytes())),
        automation_keys,
        secret: Secret::new(secret.into_bytes()),
        allowed_origins,
        pow,
        policy,
        token_lifetime_ms: lifetime * 1000,
        store_capacity,
        success_when: s.success_when,
        learning,
        field_event_rules: s.field_event_rules,
    })
}
