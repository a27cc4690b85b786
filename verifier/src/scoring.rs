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
//!    `zero-pressure-click`, `instant-click`, `untrusted-events`, `instant-keys` (not when most
//!    pointer input is touch or pen: an on-screen keyboard has no press duration, and the model
//!    leaves its key timing out too; note [`NOTE_SOFT_KEYBOARD`]).
//! 4. **Timer-regular pointer timing** ([`move_timing`]): mouse move samples whose intervals are
//!    as constant as a timer's (at least [`TIMER_MIN_INTERVALS`] intervals, median ≥
//!    [`TIMER_MIN_MEDIAN_MS`], 10th–90th percentile spread ≤ [`TIMER_MAX_SPREAD_MS`]) in a token
//!    carrying coalesced device samples lower the score by [`TIMER_PENALTY`] (reasons `behaviour`,
//!    `timer-regular`). A steady ≥ 10 ms clock with sub-millisecond jitter is what OS-level
//!    injection from a timer produces (60–100 Hz), but also what some people's devices produce
//!    (touchpads and Bluetooth mice reporting at 60–90 Hz, remote desktops at 15.6 ms) and what a
//!    person's recording replayed at its recording rate looks like: measured on the OS-level rig,
//!    4 of 10 recorded SapiMouse people replayed through XTEST matched the rule, and a cap below
//!    `allow` challenged every one of them, while the behaviour model alone already blocked or
//!    challenged 19 of 20 OS-level ghost-cursor and WindMouse bots. So the rule penalises and
//!    explains but does not decide: a timer-regular session that still ends in `allow` carries
//!    [`NOTE_TIMER_ALLOWED`] in `notes`.
//!    **Documented exception:** when the token has no coalesced samples (a browser without
//!    `getCoalescedEvents`), dispatched events are frame-locked, and a high-rate mouse then
//!    looks like the display's clock: nothing is raised, and the answer's `notes` say so
//!    (`timer-regular-frame-locked`).
//!
//! Every behaviour reason listed gets an entry in [`Verdict::details`] saying what it
//! contributed: the model group's logit and the feature values behind it, a tell's score
//! penalty and the counts behind it, or the cap a rule applied.
//! 5. **Environment rules** ([`crate::envrules::EnvVerdict::apply`]): `tampered`, `inconsistent`
//!    and `cdp-console` alone cap the score at challenge; `environment` hints lower it a little.
//!
//! Campaign penalties (`crate::correlate`) are applied by siteverify afterwards. The score is
//! clamped to 0..=1 (1 = human, reCAPTCHA polarity); the site policy maps it to `allow` /
//! `challenge` / `block`. The decision is advisory: siteverify's `success` only says the token
//! is valid.

use std::collections::BTreeMap;

use serde::Serialize;
use tollgate_model::features::{Features, Session};
use tollgate_model::model::{Model, ReplayEvidence};
use tollgate_protocol::telemetry::{key_flags, pointer_flags, pointer_kind, pointer_type};
use tollgate_protocol::token::{DecodedToken, MAC_LEN};

/// Per-site decision thresholds and the decision: the behaviour model's own types
/// ([`tollgate_model::Thresholds`], [`tollgate_model::Decision`]), under the names the verifier
/// uses.
pub use tollgate_model::{Decision, PolicyError, Thresholds as SitePolicy};

/// The device class a token's telemetry shows, and the one whose calibration knots judged it
/// (siteverify `tollgate.device`; `tollgate_model::features::device`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DeviceInfo {
    /// Inferred from the telemetry: `mouse`, `mouse-thin` (fewer than two long strokes),
    /// `mouse-drag` (every move with a button held), `touchpad` (small or fractional pixel wheel
    /// deltas), `touch`, `pen`, `keyboard` (keys, no pointer moves) or `none`.
    #[schema(value_type = String, example = "mouse")]
    pub class: &'static str,
    /// The class whose knots judged it: `class`, except that a `touchpad` or `mouse-drag` claim
    /// is judged as a hovering mouse (`mouse` or `mouse-thin`), since a client claims either for
    /// free. Watch the mix per site: a login page where `touch` or `touchpad` suddenly dominates.
    #[schema(value_type = String, example = "mouse")]
    pub judged_as: &'static str,
}

impl DeviceInfo {
    pub fn of(f: &Features) -> DeviceInfo {
        DeviceInfo {
            class: f.device.name(),
            judged_as: f.knots_class.name(),
        }
    }
}

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
    /// What each listed behaviour reason contributed (see [`ReasonDetail`]).
    pub details: BTreeMap<&'static str, ReasonDetail>,
    /// Explanations of rules that matched but were not applied (a documented exception).
    pub notes: Vec<&'static str>,
    /// The device class the behaviour features show (`None` where no behaviour was read: a
    /// no-collector token, an allowlisted automation).
    pub device: Option<DeviceInfo>,
}

/// What one behaviour reason contributed to the verdict (siteverify `tollgate.reason_details`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReasonDetail {
    /// Logit the behaviour model's feature group added (negative = bot-like); model reasons.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_logit: Option<f64>,
    /// Change of the 0..1 score applied by this reason directly (each tell: −[`TELL_PENALTY`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score_delta: Option<f64>,
    /// Highest score this reason allows (rules that cap the score).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score_cap: Option<f64>,
    /// The values behind it: the group's most bot-like features (name → value), or the counts
    /// a rule looked at.
    pub features: BTreeMap<&'static str, f64>,
    /// Why a matched rule was applied this way (a documented exception).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
}

/// Mouse move intervals considered by the timer-regularity rule.
pub const TIMER_MIN_INTERVALS: usize = 20;
/// Median interval at or above which a constant stream cannot be a USB mouse's report rate.
pub const TIMER_MIN_MEDIAN_MS: f64 = 10.0;
/// Largest 10th–90th percentile spread of the intervals that counts as a timer (a 1 ms clock
/// alternating 16/17 ms spreads exactly 1 ms).
pub const TIMER_MAX_SPREAD_MS: f64 = 1.05;
/// Intervals above this are pauses, not sampling.
const TIMER_MAX_GAP_MS: f64 = 100.0;

/// Mouse move timing of a token (every move sample, coalesced or dispatched).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MoveTiming {
    /// Intervals in (0, 100] ms between consecutive mouse move samples.
    pub intervals: usize,
    pub median_ms: f64,
    /// 90th minus 10th percentile of the intervals.
    pub spread_ms: f64,
    /// Any move sample came from `getCoalescedEvents()`.
    pub coalesced: bool,
}

impl MoveTiming {
    /// As constant as a timer (see the module docs), whatever the browser.
    pub fn timer_like(&self) -> bool {
        self.intervals >= TIMER_MIN_INTERVALS
            && self.median_ms >= TIMER_MIN_MEDIAN_MS
            && self.spread_ms <= TIMER_MAX_SPREAD_MS
    }
}

/// The mouse move timing of a token's telemetry.
pub fn move_timing(t: &tollgate_protocol::Telemetry) -> MoveTiming {
    let tick = tollgate_protocol::telemetry::TICK_MS;
    let mut now: u64 = 0;
    let mut last: Option<u64> = None;
    let mut gaps: Vec<u64> = Vec::new();
    let mut coalesced = false;
    for r in &t.pointer {
        now = now.saturating_add(u64::from(r.dt));
        if r.kind != pointer_kind::MOVE || r.ptype != pointer_type::MOUSE {
            continue;
        }
        coalesced |= r.flags & pointer_flags::COALESCED != 0;
        if let Some(prev) = last {
            let g = now - prev;
            if g > 0 && g as f64 * tick <= TIMER_MAX_GAP_MS {
                gaps.push(g);
            }
        }
        last = Some(now);
    }
    let mut m = MoveTiming {
        intervals: gaps.len(),
        coalesced,
        ..Default::default()
    };
    if !gaps.is_empty() {
        gaps.sort_unstable();
        let q = |p: f64| gaps[((gaps.len() - 1) as f64 * p).round() as usize] as f64 * tick;
        m.median_ms = q(0.5);
        m.spread_ms = q(0.9) - q(0.1);
    }
    m
}

/// Score penalty of timer-regular pointer timing (see the module docs).
pub const TIMER_PENALTY: f64 = 0.2;

/// Note on a timer-regular session that still ends in `allow`.
pub const NOTE_TIMER_ALLOWED: &str = "timer-regular-allowed: move intervals are on a constant >= 10 ms clock (as OS-level injection from a timer, but also some touchpads, Bluetooth mice, remote desktops and replayed recordings produce), penalised (reason_details.timer-regular.score_delta); the behaviour model still judged the movement human, so the decision stays allow";

/// Note of the documented exception to the timer-regularity rule.
pub const NOTE_FRAME_LOCKED: &str = "timer-regular-frame-locked: move intervals are as constant as a timer's, but the browser sent no coalesced device samples, so dispatched events are frame-locked and the regularity may be the display's; not raised";

/// Note on keys typed on a touch or pen device.
pub const NOTE_SOFT_KEYBOARD: &str = "soft-keyboard: most pointer input is touch or pen, so the keys come from an on-screen keyboard (no press duration, thumbs on glass); key timing is not scored and instant key holds are not a tell; the pointer decides";

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

/// Score a token that passed every validity check, with no cross-session replay evidence. The
/// field-event rules are judged as for a site with the default `field_event_rules = true`;
/// siteverify applies each site's switch (`Features::forget_field_events`) before
/// [`score_with`], which is what a caller with such a site must do too.
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
    // Read on both paths below: hard automation returns unscored but its class is still known.
    let device = Some(DeviceInfo::of(behaviour_features));
    let mut features: BTreeMap<&'static str, f64> = BTreeMap::new();
    features.insert("pointer_events", t.pointer.len() as f64);
    features.insert("pointer_moves", b.moves as f64);
    features.insert("pointer_downs", b.downs as f64);
    features.insert("key_events", t.keys.len() as f64);
    features.insert("field_events", t.fields.len() as f64);
    // What the field-event rules judged (0 when a site turned them off).
    features.insert("focuses_judged", behaviour_features.n_judged_focuses as f64);
    features.insert("submits_judged", behaviour_features.n_judged_submits as f64);
    features.insert(
        "fields_inserted",
        behaviour_features.n_inserted_fields as f64,
    );
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
            details: BTreeMap::new(),
            notes: Vec::new(),
            device,
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
    // Keys from an on-screen keyboard have no press duration; the model leaves their timing out
    // too (`Features::soft_keyboard`, decided once at extraction).
    let soft_keyboard = behaviour_features.soft_keyboard;
    let instant_keys = b.released_keys >= 3 && b.instant_keys == b.released_keys;
    if instant_keys && !soft_keyboard {
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
    let mut details: BTreeMap<&'static str, ReasonDetail> = BTreeMap::new();
    let mut notes: Vec<&'static str> = Vec::new();
    if soft_keyboard {
        notes.push(NOTE_SOFT_KEYBOARD);
    }
    if !scored.evidence && tells.is_empty() {
        reasons.push("no-behaviour");
    }
    for r in &scored.reasons {
        if !reasons.contains(r) {
            reasons.push(r);
        }
        details.insert(
            r,
            model_reason_detail(r, &scored, replay, model, behaviour_features),
        );
    }
    let s = scored.p_human - TELL_PENALTY * tells.len() as f64;
    let mut score = (finite(s).clamp(0.0, 1.0) * 1000.0).round() / 1000.0;
    features.insert("behaviour_tells", tells.len() as f64);
    if !tells.is_empty() {
        reasons.push("behaviour");
        details.insert(
            "behaviour",
            ReasonDetail {
                score_delta: Some(-TELL_PENALTY * tells.len() as f64),
                features: BTreeMap::from([("behaviour_tells", tells.len() as f64)]),
                ..Default::default()
            },
        );
        for tell in tells {
            if !reasons.contains(&tell) {
                reasons.push(tell);
            }
            let d = details.entry(tell).or_default();
            d.score_delta = Some(-TELL_PENALTY);
            d.features.extend(tell_counts(tell, &b));
        }
    }
    // Timer-regular move timing: never `allow` (module docs, 3b).
    let mt = move_timing(t);
    features.insert("move_intervals", mt.intervals as f64);
    features.insert("move_interval_median_ms", finite(mt.median_ms));
    features.insert("move_interval_spread_ms", finite(mt.spread_ms));
    let timer = mt.timer_like();
    features.insert("timer_regular", f64::from(u8::from(timer)));
    if timer {
        let timing = BTreeMap::from([
            ("move_intervals", mt.intervals as f64),
            ("move_interval_median_ms", finite(mt.median_ms)),
            ("move_interval_spread_ms", finite(mt.spread_ms)),
        ]);
        if mt.coalesced {
            if !reasons.contains(&"behaviour") {
                reasons.push("behaviour");
            }
            reasons.push("timer-regular");
            let penalised = ((score - TIMER_PENALTY).max(0.0) * 1000.0).round() / 1000.0;
            details.insert(
                "timer-regular",
                ReasonDetail {
                    score_delta: Some(((penalised - score) * 1000.0).round() / 1000.0),
                    features: timing,
                    note: Some(
                        "mouse move samples on a constant clock of >= 10 ms with sub-millisecond jitter: a software timer (OS-level input injection) or a fixed-rate device; penalised, not capped",
                    ),
                    ..Default::default()
                },
            );
            score = penalised;
            if policy.decide(score) == Decision::Allow {
                notes.push(NOTE_TIMER_ALLOWED);
            }
        } else {
            notes.push(NOTE_FRAME_LOCKED);
        }
    }
    // What behaviour alone decided (model, plausibility rules, tells, timer rule), before the
    // environment findings and campaign penalties adjust it: the figure to read when a soft
    // automation tell (`cdp-console`) or an environment hint also lowered the score.
    features.insert("behaviour_score", score);
    Verdict {
        score,
        decision: policy.decide(score),
        reasons,
        features,
        contributions,
        details,
        notes,
        device,
    }
}

/// The counts behind a deterministic tell.
fn tell_counts(tell: &str, b: &Behaviour) -> Vec<(&'static str, f64)> {
    match tell {
        "pointer-timing" => vec![
            ("instant_move_gaps", b.instant_move_gaps as f64),
            ("move_gaps", b.move_gaps as f64),
        ],
        "zero-pressure-click" => vec![("zero_pressure_clicks", b.zero_pressure_clicks as f64)],
        "instant-click" => vec![("instant_clicks", b.instant_clicks as f64)],
        "untrusted-events" => vec![("untrusted_events", b.untrusted as f64)],
        "instant-keys" => vec![
            ("instant_keys", b.instant_keys as f64),
            ("released_keys", b.released_keys as f64),
        ],
        _ => Vec::new(),
    }
}

/// Most bot-like features listed per model reason.
const DETAIL_FEATURES: usize = 5;

/// The move clock of a session without mouse moves, for reason details (not reached: both clock
/// rules need a clock).
const NO_CLOCK: tollgate_model::features::MoveClock = tollgate_model::features::MoveClock {
    intervals: 0,
    median_ms: f64::NAN,
    p10_ms: f64::NAN,
    mode_ms: f64::NAN,
    mode_share: f64::NAN,
    grid: None,
    device_clock: false,
    long_steps: 0,
    gapped_steps: 0,
};

/// What a model reason contributed: a feature group's logit and its most bot-like features'
/// values, or the replay evidence.
fn model_reason_detail(
    reason: &str,
    scored: &tollgate_model::model::Scored,
    replay: ReplayEvidence,
    model: &Model,
    f: &Features,
) -> ReasonDetail {
    // A plausibility rule of the model's (`Model::score`): the values it looked at, the cap.
    use tollgate_model::features::{self as tf, pointer as tp};
    let count = |n: usize| n as f64;
    let rule: Option<(Vec<(&'static str, f64)>, &'static str)> = match reason {
        tf::REASON_SHORT_HOLDS => Some((
            vec![
                (
                    "median_key_hold_ms",
                    finite(f.median_key_hold_ms.unwrap_or(f64::NAN)),
                ),
                ("floor_ms", tf::KEY_HOLD_FLOOR_MS),
            ],
            "keys were released faster than a finger releases a key (a script pressing and releasing in one go); the holds are left out of the model and cap the score at mid-challenge, they do not block on their own (on-screen keyboards and dictation software type this way too)",
        )),
        tf::REASON_INSTANT_SHIFT => Some((
            vec![
                ("shifts_judged", count(f.n_judged_shifts)),
                ("shifts_instant", count(f.n_instant_shifts)),
                ("max_lead_ms", tf::INSTANT_SHIFT_MS),
            ],
            "two or more shifted characters, and at least half of those judged, went down within 10 ms of their Shift: software typing a capital presses both at once (Selenium send_keys, xdotool type, pyautogui, pynput), a hand presses Shift first and its character tens of milliseconds later; capped at mid-challenge",
        )),
        tf::REASON_SHIFT_MISMATCH => Some((
            vec![("keys_contradicting_shift", count(f.n_shift_mismatches))],
            "a capital letter was typed with no Shift key (none held, pressed or released in the 2 s before) and CapsLock off, as DevTools' key events (Puppeteer's and Playwright's keyboard.type) and ChromeDriver's key actions type and a keyboard cannot; capped at mid-challenge",
        )),
        tf::REASON_RULER => Some((
            vec![
                ("strokes_judged", count(f.n_chord_strokes)),
                ("strokes_ruler_straight", count(f.n_ruler_strokes)),
                ("strokes_ruler_straight_strong", count(f.n_ruler_strong)),
                ("max_deviation_px", tp::RULER_MAX_DEV_PX),
            ],
            "the pointer moved along ruler-straight lines (every sample within a pixel of the chord over 100 px or more) on at least half of the strokes judged, twice or once over 120 px in 8 samples or more, as interpolated automation does and a hand does not; capped at mid-challenge",
        )),
        tf::REASON_CENTRE => Some((
            vec![
                ("clicks_on_targets", count(f.n_box_clicks)),
                ("clicks_dead_centre", count(f.n_centre_clicks)),
                ("max_offset_px", tp::CENTRE_MAX_PX),
            ],
            "two or more clicks, and at least half of those on captured targets, landed within 1.5 px of the target's exact centre, where automation computes its click and a hand rarely lands; capped at mid-challenge (voice-control and switch-access tools click centres too)",
        )),
        tf::REASON_JUMP_START => Some((
            vec![
                ("strokes_judged", count(f.n_rest_strokes)),
                ("strokes_jump_started", count(f.n_jump_starts)),
                ("min_first_step_share", tp::JUMP_RATIO),
            ],
            "after clicks the pointer set off at near-peak speed (its first sample already a whole step of the stroke's fastest pace) on two or more strokes and at least half of those judged; a hand at rest needs tens of milliseconds to build up speed, a point-per-tick injector does not; capped at mid-challenge",
        )),
        tf::REASON_FULL_SPEED_ARRIVAL => Some((
            vec![
                ("strokes_judged", count(f.n_arrival_strokes)),
                (
                    "strokes_arriving_at_full_speed",
                    count(f.n_full_speed_arrivals),
                ),
                ("min_last_step_share", tp::ARRIVAL_RATIO),
            ],
            "the pointer reached its clicks at near-peak speed (its last sample before the press still a whole step of the stroke's fastest pace) on two or more strokes and at least half of those judged; a hand slows down and homes in before it presses, a path sampled at an even pace does not; capped at mid-challenge",
        )),
        tf::REASON_TELEPORT => Some((
            vec![
                ("clicks_judged", count(f.n_reached_clicks)),
                ("clicks_reached_in_a_jump", count(f.n_teleport_clicks)),
                ("min_jump_px", tp::TELEPORT_MIN_PX),
            ],
            "two or more clicks, and at least half of those judged, were reached by a jump: the pointer appeared at the press point from 30 px or more away with no sample in between, or appeared 30 px or more from where it had rested and then moved slower onto the target; automation warps the pointer onto or near its target (xdotool, pyautogui.click, page.click, element.click), a mouse reports its way across the page; capped at mid-challenge (voice-control and switch-access tools click this way too)",
        )),
        tf::REASON_SPARSE_MOVES => {
            let c = f.move_clock.unwrap_or(NO_CLOCK);
            Some((
                vec![
                    ("move_intervals", count(c.intervals)),
                    ("move_interval_median_ms", finite(c.median_ms)),
                    ("move_interval_p10_ms", finite(c.p10_ms)),
                    ("min_median_ms", tp::SPARSE_MIN_MEDIAN_MS),
                    ("min_p10_ms", tp::SPARSE_MIN_P10_MS),
                ],
                "the mouse moved in samples 80 ms or more apart (median), never in a run of device-rate samples: one sample per step of a script's sleep loop or of Selenium's 250 ms pointer actions, where a mouse, touchpad or pen reports every 8 ms or less, and a browser dispatches a move per frame, while a hand moves it; capped at mid-challenge (a remote desktop throttled below 12.5 Hz looks the same)",
            ))
        }
        tf::REASON_SPARSE_STEPS => {
            let c = f.move_clock.unwrap_or(NO_CLOCK);
            Some((
                vec![
                    ("long_steps", count(c.long_steps)),
                    ("long_steps_after_a_gap", count(c.gapped_steps)),
                    ("move_interval_p10_ms", finite(c.p10_ms)),
                    ("min_step_px", tp::SPARSE_STEP_PX),
                    ("min_gap_ms", tp::SPARSE_STEP_GAP_MS),
                    ("min_steps_after_a_gap", tp::SPARSE_STEP_MIN as f64),
                    ("min_share_after_a_gap", tp::SPARSE_STEP_MIN_SHARE),
                    ("min_p10_ms", tp::SPARSE_STEP_MIN_P10_MS),
                ],
                "the mouse covered long steps (10 px or more) with no sample in between: three or more of them, and at least 30 % of all such steps, came 45 ms or more after the previous sample, and no run of device-rate samples; a browser reports a moving pointer every frame and the collector every device report, an injector's sleep loop (pyautogui.moveTo with a duration, pynput or xdotool loops) moves it in jumps; capped at mid-challenge (a virtual machine or remote desktop that forwards input sparsely and without batches looks the same)",
            ))
        }
        tf::REASON_OFF_FRAME_CLOCK => {
            let c = f.move_clock.unwrap_or(NO_CLOCK);
            Some((
                vec![
                    ("move_intervals", count(c.intervals)),
                    ("move_interval_mode_ms", finite(c.mode_ms)),
                    ("move_interval_mode_share", finite(c.mode_share)),
                    (
                        "mode_ms_from_nearest_display_cadence",
                        finite(tp::cadence_misfit(c.mode_ms, c.device_clock)),
                    ),
                    // 1 when the samples are the device's own (a collector capture of coalesced
                    // moves), so a throttled log's 50 / 66.7 ms frames did not count as cadences.
                    ("device_clock", f64::from(u8::from(c.device_clock))),
                    ("min_mode_share", tp::CLOCK_MIN_SHARE),
                    ("min_ms_from_cadence", tp::CLOCK_MIN_MISFIT_MS),
                ],
                "the mouse moved on a timer's clock: most move intervals within a 2 ms window around one period that is no display's refresh period (a browser dispatches a hand's moves once per frame), as a script pacing its moves with a sleep or Selenium's pointer-action duration does; capped at mid-challenge (a timer-driven pointer of a person's, such as head tracking, looks the same)",
            ))
        }
        tf::REASON_OFF_GRID_CLOCK => {
            let c = f.move_clock.unwrap_or(NO_CLOCK);
            Some((
                vec![
                    ("move_intervals", count(c.intervals)),
                    ("move_interval_median_ms", finite(c.median_ms)),
                    (
                        "move_intervals_on_best_grid_share",
                        finite(c.grid.map_or(f64::NAN, |g| g.0)),
                    ),
                    ("best_grid_ms", finite(c.grid.map_or(f64::NAN, |g| g.1))),
                    ("min_grid_share", tp::GRID_MIN_SHARE),
                    ("grid_tolerance_ms", tp::GRID_TOL_MS),
                ],
                "the mouse moved on a script's soft clock: fewer than 40 % of the move intervals lie within 1 ms of a whole number of frames of any display (or of a mouse's 8 ms reports), where a browser dispatches a hand's moves once per frame; a free-running jittered loop between scripted moves (random sleeps per step, an OS-level injector on a busy machine) looks like this; capped at mid-challenge (a remote session forwarding input irregularly looks the same)",
            ))
        }
        tf::REASON_UNPROMPTED_FOCUS => Some((
            vec![
                ("focuses_judged", count(f.n_judged_focuses)),
                ("focuses_unprompted", count(f.n_unprompted_focuses)),
            ],
            "a username or password field gained the focus while the last press the page saw was a character, not a click on it, Tab or Enter: a script typing into a field it names (element.send_keys, page.type(selector)) focuses it from JavaScript; capped at mid-challenge (screen readers in browse mode and keyboard-navigation extensions move the focus this way too)",
        )),
        tf::REASON_UNPROMPTED_SUBMIT => Some((
            vec![
                ("submits_judged", count(f.n_judged_submits)),
                ("submits_unprompted", count(f.n_unprompted_submits)),
            ],
            "the form was submitted, or a button activated with no pointer behind it, while the last press the page saw was neither a click, Enter nor Space: a script calling button.click(), form.requestSubmit() or Selenium's element.submit() after typing; capped at mid-challenge (screen readers and keyboard-navigation extensions activate buttons this way too)",
        )),
        tf::REASON_INSERTED_TEXT => Some((
            vec![("fields_inserted", count(f.n_inserted_fields))],
            "a username or password field gained its text with no keystroke, by a trusted insertText: DevTools' Input.insertText does this (Playwright's fill() and every Playwright-based stack, Puppeteer's sendCharacter); a person's typing comes with key presses, and a paste, a drop or the browser's autofill arrive otherwise; capped at mid-challenge (desktop dictation, an emoji picker or an extension that fills with execCommand('insertText') may look the same)",
        )),
        _ => None,
    };
    if let Some((features, note)) = rule {
        return ReasonDetail {
            score_cap: Some(model.mid_challenge()),
            features: features.into_iter().collect(),
            note: Some(note),
            ..Default::default()
        };
    }
    if reason == tollgate_model::features::REASON_REPLAY {
        return ReasonDetail {
            features: BTreeMap::from([
                ("strokes_counted", replay.hashed as f64),
                ("strokes_seen_elsewhere", replay.seen_elsewhere as f64),
            ]),
            note: Some(if replay.is_multi_stroke_replay() {
                "two or more counted strokes were seen in other sessions: score capped below block"
            } else {
                "the one counted stroke was seen in another session: score capped at mid-challenge"
            }),
            ..Default::default()
        };
    }
    let Some((group, logit)) = scored.groups.iter().find(|(g, _)| g.code() == reason) else {
        return ReasonDetail::default();
    };
    let mut feats: Vec<(&'static str, f64, f64)> = scored
        .contributions
        .iter()
        .filter(|c| c.feature.def().group == *group && c.logit < 0.0)
        .filter_map(|c| c.value.map(|v| (c.feature.def().name, finite(v), c.logit)))
        .collect();
    feats.sort_by(|a, b| a.2.total_cmp(&b.2));
    ReasonDetail {
        model_logit: Some((finite(*logit) * 1000.0).round() / 1000.0),
        features: feats
            .into_iter()
            .take(DETAIL_FEATURES)
            .map(|(n, v, _)| (n, v))
            .collect(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_protocol::telemetry::{Probe, ProbeValue, Telemetry, TelemetryBuilder, probe};
    use tollgate_protocol::token::SolveStats;
    use tollgate_testkit::{ChallengeSpec, TelemetrySpec, TokenSpec};

    /// The behaviour features the scorer computes from telemetry.
    fn features_of(t: &Telemetry) -> Features {
        tollgate_model::features::extract(&Session::from_telemetry(t))
    }

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

    /// The verdict names the device class the telemetry shows and the one that judged it; a
    /// touchpad claim (small pixel wheel deltas) is judged as the mouse it moves like.
    #[test]
    fn verdicts_name_the_device_class_and_the_class_that_judged_it() {
        let policy = SitePolicy::default();
        let v = score(&token(human().finish()), &policy);
        let mouse = DeviceInfo {
            class: "mouse",
            judged_as: "mouse",
        };
        assert_eq!(v.device, Some(mouse), "{v:?}");
        let mut b = human();
        for i in 0..4 {
            // `deltaMode` 0: pixels.
            b.wheel(50.0 + 16.0 * f64::from(i), 0, 0.0, 3.5);
        }
        let claimed = score(&token(b.finish()), &policy);
        assert_eq!(
            claimed.device,
            Some(DeviceInfo {
                class: "touchpad",
                judged_as: "mouse"
            })
        );
        assert_eq!(
            claimed.score, v.score,
            "the claim buys nothing: {claimed:?}"
        );
        // Hard automation blocks unscored, but the class is still read.
        let hard = with_probe(human().finish(), probe::WEBDRIVER, ProbeValue::Bool(true));
        assert_eq!(score(&token(hard), &policy).device, Some(mouse));
        assert_eq!(crate::nocollector::verdict(0).device, None);
    }

    #[test]
    fn behaviour_score_is_reported_before_the_environment_caps_it() {
        // A human login on a page a CDP client is attached to (`cdp-console` alone: soft).
        let t = with_probe(
            human().finish(),
            probe::CDP_CONSOLE,
            ProbeValue::Str("1,0".into()),
        );
        let policy = SitePolicy::default();
        let v = score(&token(t), &policy);
        assert!(v.reasons.contains(&"cdp-console"), "{v:?}");
        assert_eq!(v.decision, Decision::Challenge, "{v:?}");
        let behaviour = v.features["behaviour_score"];
        assert!(behaviour >= policy.allow, "{v:?}");
        assert!(v.score < behaviour, "{v:?}");
        // Hard automation skips behaviour: nothing to report.
        let hard = with_probe(human().finish(), probe::WEBDRIVER, ProbeValue::Bool(true));
        let v = score(&token(hard), &policy);
        assert!(!v.features.contains_key("behaviour_score"), "{v:?}");
        // Without environment findings it is the score.
        let v = score(&token(human().finish()), &policy);
        assert_eq!(v.features["behaviour_score"], v.score);
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
    fn keys_on_a_touch_device_are_a_soft_keyboard_not_a_tell() {
        use tollgate_protocol::telemetry::key_class;
        // Two taps on the fields, then twelve keys without press duration (as iOS sends them).
        let build = |ptype: u8| {
            let mut b = TelemetryBuilder::new();
            for (t, y) in [(100.0, 300.0), (4000.0, 360.0)] {
                b.pointer(
                    t,
                    pointer_kind::DOWN,
                    40.0,
                    y,
                    1,
                    ptype,
                    0.5,
                    pointer_flags::TRUSTED,
                );
                b.pointer(
                    t + 80.0,
                    pointer_kind::UP,
                    40.0,
                    y,
                    0,
                    ptype,
                    0.0,
                    pointer_flags::TRUSTED,
                );
            }
            for i in 0..12 {
                let t = 400.0 + 230.0 * f64::from(i) + if i % 3 == 0 { 60.0 } else { 0.0 };
                b.key(t, t, key_class::CHAR, 1, key_flags::TRUSTED);
            }
            b.finish()
        };
        let touch = score(&token(build(pointer_type::TOUCH)), &SitePolicy::default());
        assert!(!touch.reasons.contains(&"instant-keys"), "{touch:?}");
        assert!(touch.notes.contains(&NOTE_SOFT_KEYBOARD), "{touch:?}");
        assert!(
            !touch.features.contains_key("key_hold_log"),
            "key timing not scored: {touch:?}"
        );
        assert_ne!(touch.decision, Decision::Block, "{touch:?}");
        // The same session with a mouse: instant holds are scripted typing.
        let mouse = score(&token(build(pointer_type::MOUSE)), &SitePolicy::default());
        assert!(mouse.reasons.contains(&"instant-keys"), "{mouse:?}");
        assert!(!mouse.notes.contains(&NOTE_SOFT_KEYBOARD));
        // Its key timing is read (the holds, a script's, are left out: `short-key-holds`).
        assert!(mouse.features.contains_key("key_p2p_log"), "{mouse:?}");
        assert!(!mouse.features.contains_key("key_hold_log"), "{mouse:?}");
        assert!(mouse.reasons.contains(&"short-key-holds"), "{mouse:?}");
        assert_eq!(mouse.decision, Decision::Block, "{mouse:?}");
    }

    #[test]
    fn keys_released_faster_than_a_finger_cap_at_challenge() {
        // The allowed human login, its keys released 1.5-3.5 ms after the press (a script's
        // key down + key up, with human-like delays between keys): not instant (> 1 ms), so
        // only the hold floor catches it.
        let mut t = human().finish();
        for (i, k) in t.keys.iter_mut().enumerate() {
            k.hold = 15 + (i as u32 % 5) * 5;
        }
        let v = score(&token(t), &SitePolicy::default());
        assert!(!v.reasons.contains(&"instant-keys"), "{v:?}");
        assert!(v.reasons.contains(&"short-key-holds"), "{v:?}");
        assert_eq!(v.decision, Decision::Challenge, "{v:?}");
        let d = &v.details["short-key-holds"];
        assert_eq!(d.score_cap, Some(0.4));
        assert!(
            (d.features["median_key_hold_ms"] - 2.5).abs() < 1e-9,
            "{d:?}"
        );
        assert_eq!(d.features["floor_ms"], 20.0);
        // Holds of 25 ms and more are a (fast) person's: no such reason.
        let mut t = human().finish();
        for k in &mut t.keys {
            k.hold = 250;
        }
        let v = score(&token(t), &SitePolicy::default());
        assert!(!v.reasons.contains(&"short-key-holds"), "{v:?}");
    }

    /// The allowed human login with a Shift pressed `lead` ticks (0.1 ms) before each of its
    /// first `n` characters after the second key, held until 2 ms after the character's release.
    fn with_shifts(n: usize, lead: u32) -> Telemetry {
        use tollgate_protocol::telemetry::{KeyRec, key_class};
        let mut t = human().finish();
        let mut keys = Vec::new();
        let mut shifted = 0;
        for (i, k) in t.keys.iter().enumerate() {
            if shifted < n && i >= 2 && k.class == key_class::CHAR && k.dt > lead {
                keys.push(KeyRec {
                    dt: k.dt - lead,
                    hold: lead + k.hold + 20,
                    class: key_class::SHIFT,
                    ..*k
                });
                keys.push(KeyRec { dt: lead, ..*k });
                shifted += 1;
            } else {
                keys.push(*k);
            }
        }
        assert_eq!(shifted, n, "the human login types enough characters");
        t.keys = keys;
        t
    }

    #[test]
    fn shifted_characters_pressed_with_their_shift_cap_at_challenge() {
        // Selenium's send_keys: Shift and its character 0.1 ms apart.
        let v = score(&token(with_shifts(3, 1)), &SitePolicy::default());
        assert!(v.reasons.contains(&"instant-shift"), "{v:?}");
        assert_eq!(v.decision, Decision::Challenge, "{v:?}");
        let d = &v.details["instant-shift"];
        assert_eq!(d.score_cap, Some(0.4));
        assert_eq!(d.features["shifts_judged"], 3.0);
        assert_eq!(d.features["shifts_instant"], 3.0);
        assert_eq!(d.features["max_lead_ms"], 10.0);
        // One capital is not enough evidence; a person's 60 ms lead is none.
        for (n, lead) in [(1, 1), (3, 600)] {
            let v = score(&token(with_shifts(n, lead)), &SitePolicy::default());
            assert!(!v.reasons.contains(&"instant-shift"), "{n} {lead}: {v:?}");
            assert_eq!(v.decision, Decision::Allow, "{n} {lead}: {v:?}");
        }
    }

    #[test]
    fn a_capital_without_shift_caps_at_challenge() {
        // One key of the allowed human login flagged by the collector: a capital typed with no
        // Shift key (Puppeteer's keyboard.type, ChromeDriver's key actions).
        let mut t = human().finish();
        let i = t.keys.len() / 2;
        t.keys[i].flags |= key_flags::SHIFT_MISMATCH;
        let v = score(&token(t), &SitePolicy::default());
        assert!(v.reasons.contains(&"shift-mismatch"), "{v:?}");
        assert_eq!(v.decision, Decision::Challenge, "{v:?}");
        let d = &v.details["shift-mismatch"];
        assert_eq!(d.score_cap, Some(0.4));
        assert_eq!(d.features["keys_contradicting_shift"], 1.0);
        let v = score(&token(human().finish()), &SitePolicy::default());
        assert!(!v.reasons.contains(&"shift-mismatch"), "{v:?}");
        assert_eq!(v.decision, Decision::Allow, "{v:?}");
    }

    /// A login by a point-per-tick script: from (900, 620) to each click along `path(from, to,
    /// u)` in `steps` ticks of `tick_ms`, whole pixels, then a humanised click (`hesitate_ms`
    /// after the last move, 85 ms dwell) and `rest_ms` before the next move.
    fn scripted_login(
        clicks: &[(f64, f64)],
        (steps, tick_ms, hesitate_ms, rest_ms): (u32, &dyn Fn(u32) -> f64, f64, f64),
        coalesced: bool,
        path: impl Fn((f64, f64), (f64, f64), f64) -> (f64, f64),
    ) -> TelemetryBuilder {
        let mut b = TelemetryBuilder::new();
        let ev = |b: &mut TelemetryBuilder, t: f64, kind: u8, (x, y): (f64, f64), buttons: u8| {
            b.pointer(
                t,
                kind,
                x,
                y,
                buttons,
                pointer_type::MOUSE,
                if buttons == 0 { 0.0 } else { 0.5 },
                if coalesced && kind == pointer_kind::MOVE {
                    pointer_flags::TRUSTED | pointer_flags::COALESCED
                } else {
                    pointer_flags::TRUSTED
                },
            );
        };
        let mut t = 300.0;
        let mut at = (900.0f64, 620.0f64);
        let mut k = 0;
        for &to in clicks {
            for i in 1..=steps {
                t += tick_ms(k);
                k += 1;
                let (x, y) = path(at, to, f64::from(i) / f64::from(steps));
                ev(&mut b, t, pointer_kind::MOVE, (x.round(), y.round()), 0);
            }
            t += hesitate_ms;
            ev(&mut b, t, pointer_kind::DOWN, to, 1);
            t += 85.0;
            ev(&mut b, t, pointer_kind::UP, to, 0);
            t += rest_ms;
            at = to;
        }
        b
    }

    /// Two eased straight moves to the fields on a 20 Hz loop, whole pixels, a humanised click
    /// at each of `clicks` (pyautogui `moveTo` with a tween): two strong ruler-straight strokes.
    fn eased_line_login(clicks: [(f64, f64); 2]) -> TelemetryBuilder {
        scripted_login(
            &clicks,
            (16, &|_| 50.2, 240.0, 700.0),
            false,
            |at, to, u| {
                let e = if u < 0.5 {
                    2.0 * u * u
                } else {
                    1.0 - (2.0 - 2.0 * u).powi(2) / 2.0
                };
                (at.0 + (to.0 - at.0) * e, at.1 + (to.1 - at.1) * e)
            },
        )
    }

    #[test]
    fn ruler_straight_moves_are_explained() {
        let b = eased_line_login([(430.0, 210.0), (610.0, 330.0)]);
        let v = score(&token(b.finish()), &SitePolicy::default());
        assert!(v.reasons.contains(&"ruler-straight"), "{v:?}");
        assert_ne!(v.decision, Decision::Allow, "{v:?}");
        let d = &v.details["ruler-straight"];
        assert_eq!(d.score_cap, Some(0.4));
        assert_eq!(d.features["strokes_judged"], 2.0, "{d:?}");
        assert_eq!(d.features["strokes_ruler_straight"], 2.0);
        assert_eq!(d.features["strokes_ruler_straight_strong"], 2.0);
        assert_eq!(v.features["kin_ruler_share"], 1.0);
        // The human login's reaches are not ruler-straight.
        let h = score(&token(human().finish()), &SitePolicy::default());
        assert!(!h.reasons.contains(&"ruler-straight"), "{h:?}");
    }

    #[test]
    fn dead_centre_clicks_are_explained() {
        use tollgate_protocol::telemetry::{TargetBox, px_to_units};
        // The same login with the two fields' boxes captured: centred on the clicks, or not.
        let with_boxes = |dx: f64| {
            let mut b = eased_line_login([(430.0, 210.0), (610.0, 330.0)]);
            for (role, (cx, cy, w, h)) in [
                (430.0 + dx, 210.0, 360.0, 40.0),
                (610.0 + dx, 330.0, 360.0, 40.0),
            ]
            .into_iter()
            .enumerate()
            {
                b.telemetry.targets.push(TargetBox {
                    role: role as u8,
                    x: px_to_units(cx - w / 2.0),
                    y: px_to_units(cy - h / 2.0),
                    w: px_to_units(w),
                    h: px_to_units(h),
                });
            }
            score(&token(b.finish()), &SitePolicy::default())
        };
        let v = with_boxes(0.0);
        assert!(v.reasons.contains(&"dead-centre-clicks"), "{v:?}");
        let d = &v.details["dead-centre-clicks"];
        assert_eq!(d.score_cap, Some(0.4));
        assert_eq!(d.features["clicks_on_targets"], 2.0, "{d:?}");
        assert_eq!(d.features["clicks_dead_centre"], 2.0);
        let v = with_boxes(-40.0);
        assert!(!v.reasons.contains(&"dead-centre-clicks"), "{v:?}");
        assert!(v.reasons.contains(&"ruler-straight"), "{v:?}");
    }

    /// Curved moves at an even pace in the curve's parameter on a 16.7 ms loop (ghost-cursor's
    /// `path()` points played by a sleep loop), whole pixels, a humanised click at each target.
    fn even_pace_login(clicks: [(f64, f64); 3]) -> TelemetryBuilder {
        scripted_login(&clicks, (20, &|_| 16.7, 120.0, 900.0), false, bowed(|u| u))
    }

    /// A path bowed to one side of the chord by 15 % of its length, `ease` mapping time to the
    /// share of the way.
    fn bowed(ease: impl Fn(f64) -> f64) -> impl Fn((f64, f64), (f64, f64), f64) -> (f64, f64) {
        move |at, to, u| {
            let u = ease(u);
            let (dx, dy) = (to.0 - at.0, to.1 - at.1);
            let len = dx.hypot(dy);
            let bow = 0.15 * len * (std::f64::consts::PI * u).sin();
            (
                at.0 + dx * u - dy / len * bow,
                at.1 + dy * u + dx / len * bow,
            )
        }
    }

    #[test]
    fn teleport_clicks_are_explained() {
        // The pointer warped onto each target (one move there), a humanised click after a pause:
        // `xdotool mousemove X Y click 1`, `pyautogui.click(x, y)`, `page.click`.
        let clicks = [(430.0, 210.0), (610.0, 330.0), (500.0, 420.0)];
        let warp = |_at: (f64, f64), to: (f64, f64), _u: f64| to;
        let b = scripted_login(&clicks, (1, &|_| 600.0, 150.0, 800.0), true, warp);
        let v = score(&token(b.finish()), &SitePolicy::default());
        assert!(v.reasons.contains(&"teleport-clicks"), "{v:?}");
        assert_ne!(v.decision, Decision::Allow, "{v:?}");
        let d = &v.details["teleport-clicks"];
        assert_eq!(d.score_cap, Some(0.4), "{d:?}");
        // The first click has no earlier sample to come from: two judged, two jumps.
        assert_eq!(d.features["clicks_judged"], 2.0, "{d:?}");
        assert_eq!(d.features["clicks_reached_in_a_jump"], 2.0, "{d:?}");
        // Warped 20 px off each target, then a short glide onto it at 60 Hz: jumps out of rest.
        let near = |_at: (f64, f64), to: (f64, f64), u: f64| {
            let v = ((u - 1.0 / 6.0) * 1.2).max(0.0);
            (to.0 + 18.0 * (1.0 - v), to.1 - 9.0 * (1.0 - v))
        };
        let b = scripted_login(&clicks, (6, &|_| 16.7, 150.0, 800.0), true, near);
        let v = score(&token(b.finish()), &SitePolicy::default());
        assert!(v.reasons.contains(&"teleport-clicks"), "{v:?}");
        assert_eq!(
            v.details["teleport-clicks"].features["clicks_reached_in_a_jump"],
            2.0
        );
        // Reaching the same targets over samples (a 60 Hz eased path) is not a jump.
        let ease = |u: f64| u * u * (3.0 - 2.0 * u);
        let b = scripted_login(&clicks, (30, &|_| 16.7, 150.0, 800.0), true, bowed(ease));
        let f = features_of(&b.finish());
        assert_eq!((f.n_reached_clicks, f.n_teleport_clicks), (3, 0), "{f:?}");
        // People: the long human-like login's clicks are judged and none is a jump.
        let t = TelemetrySpec::long_login(1).build();
        let f = features_of(&t);
        assert!(f.n_reached_clicks >= 2, "{f:?}");
        assert_eq!(f.n_teleport_clicks, 0);
        let h = score(&token(t), &SitePolicy::default());
        assert!(!h.reasons.contains(&"teleport-clicks"), "{h:?}");
    }

    /// Eased, bowed reaches to three targets, 12 moves each `tick_ms` apart, a humanised click at
    /// each (the clock rules' scripted login), scored with the default policy.
    fn paced_login(tick_ms: f64, coalesced: bool) -> Verdict {
        paced_login_by(&|_| tick_ms, coalesced)
    }

    /// [`paced_login`] with step `k`'s interval `tick(k)`.
    fn paced_login_by(tick: &dyn Fn(u32) -> f64, coalesced: bool) -> Verdict {
        let clicks = [(430.0, 210.0), (610.0, 330.0), (500.0, 420.0)];
        let ease = |u: f64| u * u * (3.0 - 2.0 * u);
        let b = scripted_login(&clicks, (12, tick, 150.0, 800.0), coalesced, bowed(ease));
        score(&token(b.finish()), &SitePolicy::default())
    }

    #[test]
    fn sparse_moves_are_explained() {
        // Eased, bowed moves to three targets from a 10 Hz sleep loop (`pyautogui.moveTo` per
        // point with its default 0.1 s pause), a humanised click at each: no stroke survives the
        // 100 ms stroke gap, so only the sparse-moves rule looks at the movement.
        let v = paced_login(101.3, true);
        assert!(v.reasons.contains(&"sparse-moves"), "{v:?}");
        assert_ne!(v.decision, Decision::Allow, "{v:?}");
        let d = &v.details["sparse-moves"];
        assert_eq!(d.score_cap, Some(0.4), "{d:?}");
        assert_eq!(d.features["move_intervals"], 33.0, "{d:?}");
        assert!(
            (d.features["move_interval_median_ms"] - 101.3).abs() < 0.2,
            "{d:?}"
        );
        // A browser without coalesced events dispatches what it gets: judged the same.
        let v = paced_login(101.3, false);
        assert!(v.reasons.contains(&"sparse-moves"), "{v:?}");
        // A 20 Hz loop forms strokes, which the other rules and the model judge.
        let v = paced_login(50.0, true);
        assert!(!v.reasons.contains(&"sparse-moves"), "{v:?}");
        // People: the long human-like login is captured with coalesced samples and not hit.
        let t = TelemetrySpec::long_login(1).build();
        let f = features_of(&t);
        let c = f.move_clock.expect("a session with moves has a clock");
        assert!(c.intervals >= 12 && c.median_ms < 20.0, "{c:?}");
        assert!(!f.sparse_moves());
    }

    #[test]
    fn sparse_steps_are_explained() {
        // Eased, bowed moves to three targets from a 20 Hz loop (`pyautogui.moveTo(x, y,
        // duration)`: its steps are at least 50 ms apart), a humanised click at each.
        for coalesced in [true, false] {
            let v = paced_login(50.4, coalesced);
            assert!(v.reasons.contains(&"sparse-steps"), "{v:?}");
            assert_ne!(v.decision, Decision::Allow, "{v:?}");
            let d = &v.details["sparse-steps"];
            assert_eq!(d.score_cap, Some(0.4), "{d:?}");
            assert!(
                d.features["long_steps_after_a_gap"] >= 3.0
                    && d.features["long_steps_after_a_gap"] >= 0.3 * d.features["long_steps"],
                "{d:?}"
            );
            assert!(d.features["move_interval_p10_ms"] >= 40.0, "{d:?}");
        }
        // The same reaches at a 60 Hz frame's pace: reported on their way.
        let v = paced_login(16.7, true);
        assert!(!v.reasons.contains(&"sparse-steps"), "{v:?}");
        // People: the long human-like login's moves are device samples.
        let f = features_of(&TelemetrySpec::long_login(1).build());
        let c = f.move_clock.expect("a session with moves has a clock");
        assert!(c.p10_ms < 40.0, "{c:?}");
        assert!(!f.sparse_steps());
    }

    #[test]
    fn off_frame_clocks_are_explained() {
        // Three eased, bowed reaches paced by Selenium's pointer actions with a 50 ms duration
        // (ChromeDriver dispatches one move every 51.6-52.2 ms, measured), humanised clicks.
        for coalesced in [true, false] {
            let v = paced_login(51.9, coalesced);
            assert!(v.reasons.contains(&"off-frame-clock"), "{v:?}");
            assert_ne!(v.decision, Decision::Allow, "{v:?}");
            let d = &v.details["off-frame-clock"];
            assert_eq!(d.score_cap, Some(0.4), "{d:?}");
            assert!(
                (d.features["move_interval_mode_ms"] - 51.9).abs() < 0.1,
                "{d:?}"
            );
            assert_eq!(d.features["move_interval_mode_share"], 1.0, "{d:?}");
            assert!(
                d.features["mode_ms_from_nearest_display_cadence"] > 1.5,
                "{d:?}"
            );
            let device = if coalesced { 1.0 } else { 0.0 };
            assert_eq!(d.features["device_clock"], device, "{d:?}");
        }
        // The same reaches one per 60 Hz frame or every other frame: display cadences.
        for tick in [16.67, 33.33] {
            for coalesced in [true, false] {
                let v = paced_login(tick, coalesced);
                assert!(!v.reasons.contains(&"off-frame-clock"), "{tick}: {v:?}");
            }
        }
        // Every third 60 Hz frame (50 ms): what a browser drawing every third frame dispatches,
        // so not judged without coalesced samples; with them the clock is the device's, and no
        // device reports every 50 ms (pyautogui's tween steps, ChromeDriver's 33-40 ms actions).
        let v = paced_login(50.0, false);
        assert!(!v.reasons.contains(&"off-frame-clock"), "{v:?}");
        let v = paced_login(50.0, true);
        assert!(v.reasons.contains(&"off-frame-clock"), "{v:?}");
        let d = &v.details["off-frame-clock"];
        assert!(
            d.features["mode_ms_from_nearest_display_cadence"] > 16.0,
            "{d:?}"
        );
        assert_eq!(d.features["device_clock"], 1.0, "{d:?}");
        // People: the long human-like login has no off-frame clock.
        let t = TelemetrySpec::long_login(1).build();
        assert!(!features_of(&t).off_frame_clock());
    }

    #[test]
    fn unprompted_focus_is_explained() {
        // The long human-like login presses on each field before it gains the focus.
        let human = TelemetrySpec::long_login(1).with_field_boxes().build();
        let f = features_of(&human);
        assert_eq!((f.n_judged_focuses, f.n_unprompted_focuses), (2, 0));
        let v = score(&token(human), &SitePolicy::default());
        assert!(!v.reasons.contains(&"unprompted-focus"), "{v:?}");
        // The same login without the press on the password field: the last press before its
        // focus is the username's last key, as when a script focuses it to type.
        let t = TelemetrySpec::long_login(1)
            .password_focused_by_script()
            .build();
        let v = score(&token(t), &SitePolicy::default());
        assert!(v.reasons.contains(&"unprompted-focus"), "{v:?}");
        assert_ne!(v.decision, Decision::Allow, "{v:?}");
        let d = &v.details["unprompted-focus"];
        assert_eq!(d.score_cap, Some(0.4), "{d:?}");
        assert_eq!(d.features["focuses_judged"], 2.0, "{d:?}");
        assert_eq!(d.features["focuses_unprompted"], 1.0, "{d:?}");
        assert!(!v.reasons.contains(&"unprompted-submit"), "{v:?}");
    }

    #[test]
    fn inserted_text_is_explained() {
        // The long human-like login, each field filled by one keyless insertion after its
        // click (Playwright's `fill()`): its focuses are explained, its text is not.
        let t = TelemetrySpec::long_login(1).filled_without_keys().build();
        let f = features_of(&t);
        assert_eq!(f.n_inserted_fields, 2);
        assert_eq!((f.n_judged_focuses, f.n_unprompted_focuses), (2, 0));
        let v = score(&token(t), &SitePolicy::default());
        assert!(v.reasons.contains(&"inserted-text"), "{v:?}");
        assert_ne!(v.decision, Decision::Allow, "{v:?}");
        let d = &v.details["inserted-text"];
        assert_eq!(d.score_cap, Some(0.4), "{d:?}");
        assert_eq!(d.features["fields_inserted"], 2.0, "{d:?}");
        assert_eq!(v.features["fields_inserted"], 2.0, "{v:?}");
        assert!(!v.reasons.contains(&"unprompted-focus"), "{v:?}");
        // The typed login has none.
        let human = TelemetrySpec::long_login(1).with_field_boxes().build();
        let v = score(&token(human), &SitePolicy::default());
        assert!(!v.reasons.contains(&"inserted-text"), "{v:?}");
        assert_eq!(v.features["fields_inserted"], 0.0, "{v:?}");
    }

    #[test]
    fn unprompted_submit_is_explained() {
        use tollgate_protocol::telemetry::key_class;
        // The long human-like login ends with a click and then its form's submit.
        let human = TelemetrySpec::long_login(1).build();
        let f = features_of(&human);
        assert_eq!((f.n_judged_submits, f.n_unprompted_submits), (1, 0));
        // The same with the presses after the typing gone and the keys characters: the form is
        // submitted straight after the last key, as `form.requestSubmit()` from a script does.
        let mut t = human;
        let last_key = t.key_samples().last().expect("keys").t_down_ms;
        let late: Vec<usize> = t
            .pointer_samples()
            .iter()
            .enumerate()
            .filter(|(_, p)| p.kind == pointer_kind::DOWN && p.t_ms > last_key)
            .map(|(i, _)| i)
            .collect();
        assert!(!late.is_empty());
        for i in late {
            t.pointer[i].kind = pointer_kind::MOVE;
        }
        for k in &mut t.keys {
            k.class = key_class::CHAR;
        }
        let v = score(&token(t), &SitePolicy::default());
        assert!(v.reasons.contains(&"unprompted-submit"), "{v:?}");
        assert_ne!(v.decision, Decision::Allow, "{v:?}");
        let d = &v.details["unprompted-submit"];
        assert_eq!(d.score_cap, Some(0.4), "{d:?}");
        assert_eq!(d.features["submits_judged"], 1.0, "{d:?}");
        assert_eq!(d.features["submits_unprompted"], 1.0, "{d:?}");
    }

    #[test]
    fn off_grid_clocks_are_explained() {
        // The same reaches from a free-running loop: a 20 ms sleep plus 3-17 ms of per-step
        // overhead (an OS-level injector on a busy machine; its events reach the page as sent).
        let trip = |k: u32| f64::from((k * 7919) % 29) / 2.0;
        let v = paced_login_by(&|k| 23.0 + trip(k), true);
        assert!(v.reasons.contains(&"off-grid-clock"), "{v:?}");
        assert!(!v.reasons.contains(&"off-frame-clock"), "{v:?}");
        assert_ne!(v.decision, Decision::Allow, "{v:?}");
        let d = &v.details["off-grid-clock"];
        assert_eq!(d.score_cap, Some(0.4), "{d:?}");
        assert!(
            d.features["move_intervals_on_best_grid_share"] < 0.4,
            "{d:?}"
        );
        assert!(d.features["move_interval_median_ms"] < 45.0, "{d:?}");
        // The same reaches on 60 Hz frames with skipped ones and report jitter: a display's grid.
        let v = paced_login_by(
            &|k| f64::from(1 + k % 3 / 2) * 16.67 + trip(k) / 14.0 - 0.5,
            true,
        );
        assert!(!v.reasons.contains(&"off-grid-clock"), "{v:?}");
        // People: the long human-like login is not hit.
        let t = TelemetrySpec::long_login(1).build();
        assert!(!features_of(&t).off_grid_clock());
    }

    #[test]
    fn full_speed_starts_and_arrivals_are_explained() {
        let b = even_pace_login([(430.0, 210.0), (610.0, 330.0), (500.0, 420.0)]);
        let v = score(&token(b.finish()), &SitePolicy::default());
        assert_ne!(v.decision, Decision::Allow, "{v:?}");
        for (reason, hits) in [
            ("jump-start", "strokes_jump_started"),
            ("full-speed-arrival", "strokes_arriving_at_full_speed"),
        ] {
            assert!(v.reasons.contains(&reason), "{v:?}");
            let d = &v.details[reason];
            assert_eq!(d.score_cap, Some(0.4), "{d:?}");
            assert!(d.features["strokes_judged"] >= 2.0, "{d:?}");
            assert_eq!(d.features[hits], d.features["strokes_judged"], "{d:?}");
        }
        assert!(!v.reasons.contains(&"ruler-straight"), "{v:?}");
        // The long human-like login's reaches start from rest and home in: judged, not hit.
        let t = TelemetrySpec::long_login(1).build();
        let f = features_of(&t);
        assert!(f.n_rest_strokes >= 2 && f.n_arrival_strokes >= 2, "{f:?}");
        assert_eq!((f.n_jump_starts, f.n_full_speed_arrivals), (0, 0));
        let h = score(&token(t), &SitePolicy::default());
        for reason in ["jump-start", "full-speed-arrival"] {
            assert!(!h.reasons.contains(&reason), "{h:?}");
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
