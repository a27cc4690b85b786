//! What siteverify hands the learning loop once a verdict is applied: drift metrics (per
//! model, reason, decision and browser family; the shadow model's score beside the answering
//! one) and the audit record ([`crate::audit`]).
//!
//! Metrics (all bounded label sets: model ids come from the configuration, reasons and browser
//! families from fixed tables):
//! - `tollgate_model_score{model, role}` histogram (`role` = `answer` | `shadow`),
//! - `tollgate_model_verdicts_total{model, role, decision}`,
//! - `tollgate_verdict_reasons_total{reason}`,
//! - `tollgate_verdicts_by_browser_total{browser, decision}`,
//! - `tollgate_shadow_agreement_total{model, shadow, agree}`.

use std::net::IpAddr;
use std::sync::Arc;

use tollgate_protocol::Telemetry;
use tollgate_protocol::token::DecodedToken;

use crate::audit::{AuditRecord, KeyedHashes, ShadowScore, TraceTelemetry};
use crate::config::SiteModel;
use crate::scoring::Decision;
use crate::siteverify::SiteverifyResponse;
use crate::state::{AppState, Site};

/// Score histogram name (buckets in [`crate::observability`]).
pub const MODEL_SCORE: &str = "tollgate_model_score";

/// What assessment saw besides the verdict.
#[derive(Debug)]
pub struct Seen {
    pub model: Arc<SiteModel>,
    /// Shadow model, its score and decision.
    pub shadow: Option<(Arc<SiteModel>, f64, Decision)>,
    pub browser: &'static str,
    /// Trace-format telemetry (only for `store_telemetry` sites).
    pub telemetry: Option<TraceTelemetry>,
}

impl Seen {
    pub fn new(model: &Arc<SiteModel>, t: &Telemetry) -> Self {
        Self {
            model: model.clone(),
            shadow: None,
            browser: crate::envrules::browser_family(t),
            telemetry: None,
        }
    }
}

/// Record an applied verdict: metrics, and the audit record when a trail is configured.
pub fn applied(
    state: &AppState,
    site: &Site,
    token: &DecodedToken,
    resp: &SiteverifyResponse,
    seen: &Seen,
    ip: Option<IpAddr>,
    account: Option<&str>,
) {
    let t = &resp.tollgate;
    let model = seen.model.id.clone();
    metrics::histogram!(MODEL_SCORE, "model" => model.clone(), "role" => "answer").record(t.score);
    metrics::counter!("tollgate_model_verdicts_total", "model" => model.clone(), "role" => "answer", "decision" => t.decision.as_str())
        .increment(1);
    for r in &t.reasons {
        metrics::counter!("tollgate_verdict_reasons_total", "reason" => *r).increment(1);
    }
    metrics::counter!("tollgate_verdicts_by_browser_total", "browser" => seen.browser, "decision" => t.decision.as_str())
        .increment(1);
    if let Some((m, score, decision)) = &seen.shadow {
        metrics::histogram!(MODEL_SCORE, "model" => m.id.clone(), "role" => "shadow")
            .record(*score);
        metrics::counter!("tollgate_model_verdicts_total", "model" => m.id.clone(), "role" => "shadow", "decision" => decision.as_str())
            .increment(1);
        let agree = if *decision == t.decision {
            "true"
        } else {
            "false"
        };
        metrics::counter!("tollgate_shadow_agreement_total", "model" => model.clone(), "shadow" => m.id.clone(), "agree" => agree)
            .increment(1);
    }
    let Some(audit) = state.audit() else {
        return;
    };
    let now = state.now_ms();
    let sitekey = &site.settings.sitekey;
    let tel = &token.body.telemetry;
    let record = AuditRecord {
        id: t.id.clone().unwrap_or_default(),
        time_ms: now,
        site: sitekey.clone(),
        action: token.body.context.action.clone(),
        decision: t.decision.as_str().into(),
        score: t.score,
        reasons: t.reasons.iter().map(|r| (*r).to_string()).collect(),
        model_id: model,
        shadow: seen.shadow.as_ref().map(|(m, score, d)| ShadowScore {
            model_id: m.id.clone(),
            score: *score,
            decision: d.as_str().into(),
        }),
        allow_threshold: site.settings.policy.allow,
        block_threshold: site.settings.policy.block,
        features: t
            .features
            .iter()
            .map(|(k, v)| ((*k).to_string(), *v))
            .collect(),
        contributions: t
            .contributions
            .iter()
            .map(|(k, v)| ((*k).to_string(), *v))
            .collect(),
        hashes: KeyedHashes {
            ip: ip.map(|ip| audit.hash("ip", sitekey, ip.to_string().as_bytes())),
            account: account.map(|a| audit.hash("account", sitekey, a.as_bytes())),
            fingerprint: audit.hash("fingerprint", sitekey, &tel.fingerprint),
        },
        browser: seen.browser.into(),
        telemetry: seen.telemetry.clone(),
        telemetry_until_ms: seen
            .telemetry
            .as_ref()
            .map(|_| now.saturating_add(site.settings.learning.telemetry_retention_ms)),
    };
    audit.writer.submit(record, now);
}
