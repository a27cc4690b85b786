//! The hybrid scorer ([`score_with`]; [`score`] is the same without replay evidence).
//!
//! Order of evaluation:
//! 1. **Blocking automation tells** (from [`crate::envrules`]) → score 0, decision `block`,
//!    reasons `automation` plus detail codes: the hard tells `webdriver`, `headless-ua`,
//!    `automation-globals`, `automation-stack` (envrules' `HARD` list), or `cdp-console` together
//!    with any tampering or inconsistency.
//! 2. **Behaviour model**: the token's features (`tollgate_model::features`) scored by the
//!    compiled-in model (`tollgate_model::model`, `model/models/behaviour-v3.json`) — the
//!    same code path as `tollgate-intel eval`. A session with no behaviour scores 0.5 with reason
//!    `no-behaviour`; replayed stroke shapes give `replayed-trace`.
//! 3. **Deterministic anomaly tells**: each lowers the model's score by [`TELL_PENALTY`] and adds
//!    reason `behaviour` plus its detail: `pointer-timing` (dispatched moves < 1 ms apart),
//!    `zero-pressure-click`, `instant-click`, `untrusted-events`, `instant-keys`.
//! 4. **Environment rules** ([`crate::envrules::EnvVerdict::apply`]): `tampered`, `inconsistent`
//!    and `cdp-console` alone cap the score at challenge; `environment` hints lower it a little.
//!
//! Campaign penalties (`crate::correlate`) are applied by siteverify afterwards. The score is
//! clamped to 0..=1 (1 = human, reCAPTCHA polarity); the site policy maps it to `allow` /
//! `challenge` / `block`. The decision is advisory: siteverify's `success` only says the token
//! is valid.

use std::collections::BTreeMap;

use tollgate_model::features::{Features, Session};
use tollgate_model::model::{Model, ReplayEvidence};
use tollgate_protocol::telemetry::{key_flags, pointer_flags, pointer_kind, pointer_type};
use tollgate_protocol::token::{DecodedToken, MAC_LEN};

/// Per-site decision thresholds and the decision: the behaviour model's own types
/// ([`tollgate_model::Thresholds`], [`tollgate_model::Decision`]), under the names the verifier
/// uses.
pub use tollgate_model::{Decision, PolicyError, Thresholds as SitePolicy};

/// Scoring result.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// 0..=1, 1 = human.
    pub score: f64,
    pub decision: Decision,
    /// Stable reason codes (see the module docs).
    pub reasons: Vec<&'static str>,
    /// Numeric features (always finite).
    pub features: BTreeMap<&'static str, f64>,
    /// Per-feature logit contributions of the behaviour model (negative = bot-like), so a
    /// verdict can be explained and reproduced from logged features.
    pub contributions: BTreeMap<&'static str, f64>,
}

/// Ticks (0.1 ms) below which an interval counts as "instant".
const INSTANT_TICKS: u64 = 10;

/// Score deducted per deterministic anomaly tell (synthetic event timing, zero-pressure or
/// instant clicks, untrusted events, zero-length key holds) on top of the model's score.
pub const TELL_PENALTY: f64 = 0.3;

/// Pointer/key statistics used for scoring and reported as features.
#[derive(Debug, Default)]
struct Behaviour {
    moves: usize,
    downs: usize,
    untrusted: usize,
    instant_move_gaps: usize,
    move_gaps: usize,
    zero_pressure_clicks: usize,
    instant_clicks: usize,
    released_keys: usize,
    instant_keys: usize,
    mean_key_hold_ms: f64,
    median_move_gap_ms: f64,
}

fn behaviour(token: &DecodedToken) -> Behaviour {
    let t = &token.body.telemetry;
    let mut b = Behaviour::default();
    let mut now: u64 = 0;
    let mut last_move: Option<u64> = None;
    let mut gaps: Vec<u64> = Vec::new();
    let mut pending_down: Option<u64> = None;
    for r in &t.pointer {
        now = now.saturating_add(u64::from(r.dt));
        if r.flags & pointer_flags::TRUSTED == 0 {
            b.untrusted += 1;
        }
        let is_mouse = r.ptype == pointer_type::MOUSE;
        match r.kind {
            pointer_kind::MOVE => {
                b.moves += 1;
                if r.flags & pointer_flags::COALESCED == 0 {
                    if let Some(prev) = last_move {
                        gaps.push(now - prev);
                    }
                    last_move = Some(now);
                }
            }
            pointer_kind::DOWN => {
                b.downs += 1;
                if is_mouse && r.pressure == 0 {
                    b.zero_pressure_clicks += 1;
                }
                pending_down = is_mouse.then_some(now);
            }
            pointer_kind::UP => {
                if let Some(down) = pending_down.take()
                    && now - down <= INSTANT_TICKS
                {
                    b.instant_clicks += 1;
                }
            }
            _ => {}
        }
    }
    b.move_gaps = gaps.len();
    b.instant_move_gaps = gaps.iter().filter(|&&g| g < INSTANT_TICKS).count();
    if !gaps.is_empty() {
        gaps.sort_unstable();
        b.median_move_gap_ms = gaps[gaps.len() / 2] as f64 * tollgate_protocol::telemetry::TICK_MS;
    }
    let mut hold_sum = 0u64;
    for k in &t.keys {
        if k.flags & key_flags::TRUSTED == 0 {
            b.untrusted += 1;
        }
        if k.flags & key_flags::UNRELEASED == 0 {
            b.released_keys += 1;
            hold_sum = hold_sum.saturating_add(u64::from(k.hold));
            if u64::from(k.hold) <= INSTANT_TICKS {
                b.instant_keys += 1;
            }
        }
    }
    if b.released_keys > 0 {
        b.mean_key_hold_ms =
            hold_sum as f64 / b.released_keys as f64 * tollgate_protocol::telemetry::TICK_MS;
    }
    b
}

fn finite(v: f64) -> f64 {
    if v.is_finite() { v } else { 0.0 }
}

/// Score a token that passed every validity check, with no cross-session replay evidence.
pub fn score(token: &DecodedToken, policy: &SitePolicy) -> Verdict {
    let features =
        tollgate_model::features::extract(&Session::from_telemetry(&token.body.telemetry));
    let env = crate::envrules::evaluate(&token.body.telemetry);
    score_with(token, policy, &features, &env, ReplayEvidence::default())
}

/// The hybrid scorer: hard automation rules → trained behaviour model
/// (`tollgate_model::model`, the same code path as `tollgate-intel eval`) → deterministic anomaly
/// tells (each lowers the model's score by [`TELL_PENALTY`]). `features` are the token's
/// behaviour features (extracted once by the caller, who also hashes strokes for correlation);
/// `replay` says how many of its stroke hashes were seen in other sessions. `env` is the
/// environment rules' verdict on the token's telemetry ([`crate::envrules::evaluate`], also
/// evaluated once by the caller).
///
/// Blocking automation tells come from `env` ([`crate::envrules::EnvVerdict::blocking_automation`]: hard
/// automation — `webdriver`, `headless-ua`, `automation-globals`, `automation-stack` — or
/// `cdp-console` with tampering or inconsistency). The other findings are applied after scoring
/// ([`crate::envrules::EnvVerdict::apply`]): `tampered`, `inconsistent` and `cdp-console` alone cap the score at
/// challenge, `environment` hints lower it a little; their reason codes are appended.
pub fn score_with(
    token: &DecodedToken,
    policy: &SitePolicy,
    behaviour_features: &Features,
    env: &crate::envrules::EnvVerdict,
    replay: ReplayEvidence,
) -> Verdict {
    score_with_model(
        token,
        policy,
        Model::default_model(),
        behaviour_features,
        env,
        replay,
    )
}

/// [`score_with`] with a given behaviour model (a site's configured model or its shadow
/// candidate) instead of the compiled-in one.
pub fn score_with_model(
    token: &DecodedToken,
    policy: &SitePolicy,
    model: &Model,
    behaviour_features: &Features,
    env: &crate::envrules::EnvVerdict,
    replay: ReplayEvidence,
) -> Verdict {
    let mut v = score_behaviour(token, policy, model, behaviour_features, env, replay);
    env.apply(&mut v, policy);
    v
}

fn score_behaviour(
    token: &DecodedToken,
    policy: &SitePolicy,
    model: &Model,
    behaviour_features: &Features,
    env: &crate::envrules::EnvVerdict,
    replay: ReplayEvidence,
) -> Verdict {
    let t = &token.body.telemetry;
    let b = behaviour(token);
    let mut features: BTreeMap<&'static str, f64> = BTreeMap::new();
    features.insert("pointer_events", t.pointer.len() as f64);
    features.insert("pointer_moves", b.moves as f64);
    features.insert("pointer_downs", b.downs as f64);
    features.insert("key_events", t.keys.len() as f64);
    features.insert("field_events", t.fields.len() as f64);
    features.insert("probes", t.probes.len() as f64);
    features.insert("untrusted_events", b.untrusted as f64);
    features.insert(
        "dropped_events",
        t.dropped.iter().map(|&d| f64::from(d)).sum(),
    );
    features.insert("median_move_gap_ms", finite(b.median_move_gap_ms));
    features.insert("mean_key_hold_ms", finite(b.mean_key_hold_ms));
    features.insert("solve_ms", f64::from(token.body.solve.duration_ms));
    features.insert("solve_workers", f64::from(token.body.solve.workers));
    features.insert("token_bytes", (token.body_len() + MAC_LEN) as f64);

    let automation = env.blocking_automation();
    features.insert("automation_tells", automation.len() as f64);
    if !automation.is_empty() {
        let mut reasons = vec!["automation"];
        reasons.extend(automation);
        return Verdict {
            score: 0.0,
            decision: Decision::Block,
            reasons,
            features,
            contributions: BTreeMap::new(),
        };
    }

    let mut tells: Vec<&'static str> = Vec::new();
    let pointer_timing = b.move_gaps >= 4 && b.instant_move_gaps * 5 >= b.move_gaps * 4;
    if pointer_timing {
        tells.push("pointer-timing");
    }
    if b.zero_pressure_clicks > 0 {
        tells.push("zero-pressure-click");
    }
    if b.instant_clicks > 0 {
        tells.push("instant-click");
    }
    if b.untrusted > 0 {
        tells.push("untrusted-events");
    }
    let instant_keys = b.released_keys >= 3 && b.instant_keys == b.released_keys;
    if instant_keys {
        tells.push("instant-keys");
    }

    // Trained model over the behaviour features (neutral 0.5 without behavioural evidence).
    let scored = model.score(behaviour_features, replay);
    for (name, value) in behaviour_features.named() {
        features.insert(name, finite(value));
    }
    features.insert("model_p_raw", finite(scored.p_raw));
    features.insert("model_logit", finite(scored.logit));
    let mut contributions: BTreeMap<&'static str, f64> = BTreeMap::new();
    for c in &scored.contributions {
        contributions.insert(
            c.feature.def().name,
            (finite(c.logit) * 1000.0).round() / 1000.0,
        );
    }

    let mut reasons: Vec<&'static str> = Vec::new();
    if !scored.evidence && tells.is_empty() {
        reasons.push("no-behaviour");
    }
    for r in &scored.reasons {
        if !reasons.contains(r) {
            reasons.push(r);
        }
    }
    let s = scored.p_human - TELL_PENALTY * tells.len() as f64;
    let score = (finite(s).clamp(0.0, 1.0) * 1000.0).round() / 1000.0;
    features.insert("behaviour_tells", tells.len() as f64);
    if !tells.is_empty() {
        reasons.push("behaviour");
        for tell in tells {
            if !reasons.contains(&tell) {
                reasons.push(tell);
            }
        }
    }
    Verdict {
        score,
        decision: policy.decide(score),
        reasons,
        features,
        contributions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_protocol::telemetry::{Probe, ProbeValue, Telemetry, TelemetryBuilder, probe};
    use tollgate_protocol::token::SolveStats;
    use tollgate_testkit::{ChallengeSpec, TelemetrySpec, TokenSpec};

    fn token(t: Telemetry) -> DecodedToken {
        let c = ChallengeSpec::new("site").pow(1, 1).expires_at(1).sign();
        let solve = SolveStats {
            duration_ms: 250,
            workers: 2,
            solver: 1,
            hashes: 10,
        };
        let text = TokenSpec::new("", "", "")
            .telemetry(t)
            .solve_stats(solve)
            .seal_solved(c.wire(), vec![0], &[0; 32])
            .unwrap();
        DecodedToken::decode(&text).unwrap()
    }

    fn human() -> TelemetryBuilder {
        TelemetrySpec::human_login().builder()
    }

    fn with_probe(mut t: Telemetry, id: u16, value: ProbeValue) -> Telemetry {
        t.probes.push(Probe { id, value });
        t
    }

    #[test]
    fn human_like_is_allowed_with_features() {
        let v = score(&token(human().finish()), &SitePolicy::default());
        assert_eq!(v.decision, Decision::Allow, "{v:?}");
        assert!(v.score >= 0.6, "{v:?}");
        assert!(!v.reasons.contains(&"behaviour"), "{v:?}");
        assert!(
            !v.contributions.is_empty(),
            "model contributions are reported"
        );
        for f in ["pointer_events", "key_events", "solve_ms", "token_bytes"] {
            assert!(v.features.contains_key(f), "missing feature {f}");
        }
        assert_eq!(v.features["pointer_events"], 62.0);
        assert_eq!(v.features["key_events"], 14.0);
        assert_eq!(v.features["solve_ms"], 250.0);
        assert!(v.features.values().all(|x| x.is_finite()));
    }

    #[test]
    fn automation_probes_block() {
        let base = human().finish();
        let cases = [
            (probe::WEBDRIVER, ProbeValue::Bool(true), "webdriver"),
            (
                probe::USER_AGENT,
                ProbeValue::Str("Mozilla/5.0 HeadlessChrome/156.0".into()),
                "headless-ua",
            ),
            (
                probe::WORKER_USER_AGENT,
                ProbeValue::Str("Mozilla/5.0 Headless".into()),
                "headless-ua",
            ),
            (
                probe::AUTOMATION_GLOBALS,
                ProbeValue::Str("__playwright__binding__".into()),
                "automation-globals",
            ),
        ];
        for (id, value, code) in cases {
            let v = score(
                &token(with_probe(base.clone(), id, value)),
                &SitePolicy::default(),
            );
            assert_eq!(v.decision, Decision::Block);
            assert_eq!(v.score, 0.0);
            assert_eq!(v.reasons[0], "automation");
            assert!(v.reasons.contains(&code), "{v:?}");
        }
        // Benign values of the same probes do not block.
        for (id, value) in [
            (probe::WEBDRIVER, ProbeValue::Bool(false)),
            (
                probe::USER_AGENT,
                ProbeValue::Str("Mozilla/5.0 Chrome/156.0".into()),
            ),
            (probe::AUTOMATION_GLOBALS, ProbeValue::Str(String::new())),
            (probe::WEBDRIVER, ProbeValue::Absent),
        ] {
            let v = score(
                &token(with_probe(base.clone(), id, value)),
                &SitePolicy::default(),
            );
            assert_eq!(v.decision, Decision::Allow, "{v:?}");
        }
    }

    #[test]
    fn no_behaviour_is_neutral() {
        let v = score(
            &token(TelemetryBuilder::new().finish()),
            &SitePolicy::default(),
        );
        assert_eq!(v.score, 0.5);
        assert_eq!(v.decision, Decision::Challenge);
        assert_eq!(v.reasons, vec!["no-behaviour"]);
    }

    #[test]
    fn synthetic_pointer_lowers_the_score() {
        // All moves within the same 0.1 ms tick; click with no pressure and no hold.
        let b = TelemetrySpec::bot_linear(20, 0.0).builder();
        let v = score(&token(b.finish()), &SitePolicy::default());
        assert_eq!(v.decision, Decision::Block, "{v:?}");
        assert!(v.score < 0.2);
        assert!(v.reasons.contains(&"behaviour"), "{v:?}");
        let mut uniq = v.reasons.clone();
        uniq.sort_unstable();
        uniq.dedup();
        assert_eq!(uniq.len(), v.reasons.len(), "no duplicate reasons: {v:?}");
        for code in ["pointer-timing", "zero-pressure-click", "instant-click"] {
            assert!(v.reasons.contains(&code), "{v:?}");
        }
    }

    #[test]
    fn untrusted_and_instant_keys_are_tells() {
        let b = TelemetrySpec::bot_keys(5, 50.0, false).builder();
        let v = score(&token(b.finish()), &SitePolicy::default());
        assert!(
            v.reasons.contains(&"untrusted-events") && v.reasons.contains(&"instant-keys"),
            "{v:?}"
        );
        assert_eq!(v.decision, Decision::Block);
    }
}
