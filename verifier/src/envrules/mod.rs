//! Environment rules: the collector's raw probe results (`protocol::telemetry::probe`, interpreted
//! by `probe_schema`) → reason classes and detail codes. Rules live here, on the server, so they
//! change without shipping new wasm (see `shared/notes/signals.md` for the tiers).
//!
//! | class | meaning | effect ([`EnvVerdict::apply`]) |
//! |---|---|---|
//! | `automation` | tier A: a driver is attached (`webdriver`, `headless-ua`, `automation-globals`, `automation-stack`; `cdp-console`) | block; `cdp-console` alone (DevTools open) only caps at challenge |
//! | `tampered` | tier B: native functions/properties that lie (`lie-probes`, `own-property`, `identity`, `webdriver-deleted`, `probe-errors`) | cap at challenge: never block on tampering alone (privacy tools) |
//! | `inconsistent` | tier C: contexts or layers disagree (`worker-*`, `ua-ch-*`, `platform-os`, `engine-*`, `geometry-*`, `gpu-os`, `touch-*`) | cap at challenge |
//! | `environment` | tier D: weak hints (`software-gl`, `no-webgl`, `no-media-devices`, …) | −0.03 each, at most −0.12 |
//!
//! `cdp-console` together with any `tampered`/`inconsistent` finding blocks (stealth and
//! fingerprint-injector sessions). False-positive guards from the notes: a worker that could not
//! run (CSP, extension) is *unavailable*, not a lie; languages are never compared; worker WebGL
//! may be absent; UA-CH rules only where UA-CH exists (Chromium); engine-version and geometry
//! rules skip SpiderMonkey (Firefox resistFingerprinting/Tor) and mobile; iPadOS desktop mode
//! (Mac UA + `MacIntel` + touch points) is a Mac; noise in canvas/audio is never a lie (the
//! collector skips randomised sources; a lie is a non-native *shape*).
//!
//! One submodule per tier (`automation`, `tampering`, `consistency`, `environment`),
//! evaluated in that order by [`evaluate`]; `parse` reads probe values and strings.

use std::collections::BTreeMap;

use tollgate_protocol::telemetry::{Telemetry, probe};

use crate::scoring::{SitePolicy, Verdict};

mod automation;
mod consistency;
mod environment;
mod parse;
mod tampering;

pub use parse::{Os, chrome_major, ua_engine, ua_os};
use parse::{bool_of, int_of, str_of};

/// Result of the environment rules.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EnvVerdict {
    pub automation: Vec<&'static str>,
    pub tampered: Vec<&'static str>,
    pub inconsistent: Vec<&'static str>,
    pub environment: Vec<&'static str>,
    /// B1 targets that lied (names from `LIE_TARGETS`) with their check masks.
    pub lies: Vec<(&'static str, u32)>,
    pub features: BTreeMap<&'static str, f64>,
}

/// Hard automation tells (block on their own).
const HARD: &[&str] = &[
    "webdriver",
    "headless-ua",
    "automation-globals",
    "automation-stack",
];

impl EnvVerdict {
    /// Tells that block on their own: hard automation, or `cdp-console` with any tampering or
    /// inconsistency.
    pub fn blocking_automation(&self) -> Vec<&'static str> {
        let hard = self.automation.iter().any(|a| HARD.contains(a));
        let cdp_plus = self.automation.contains(&"cdp-console")
            && !(self.tampered.is_empty() && self.inconsistent.is_empty());
        if hard || cdp_plus {
            self.automation.clone()
        } else {
            Vec::new()
        }
    }

    /// Class and detail reason codes, in a stable order.
    pub fn reasons(&self) -> Vec<&'static str> {
        let mut r = Vec::new();
        for (class, details) in [
            ("automation", &self.automation),
            ("tampered", &self.tampered),
            ("inconsistent", &self.inconsistent),
            ("environment", &self.environment),
        ] {
            if !details.is_empty() {
                r.push(class);
                r.extend(details.iter().copied());
            }
        }
        r
    }

    /// The score after the findings: soft automation (`cdp-console` alone), tampering and
    /// inconsistency cap it at the middle of the policy's challenge band (never block on their
    /// own); environment hints lower it a little.
    pub fn adjust_score(&self, score: f64, policy: &SitePolicy) -> f64 {
        let mut s = score;
        if !(self.automation.is_empty() && self.tampered.is_empty() && self.inconsistent.is_empty())
        {
            s = s.min((policy.allow + policy.block) / 2.0);
        }
        s -= (0.03 * self.environment.len() as f64).min(0.12);
        (s.clamp(0.0, 1.0) * 1000.0).round() / 1000.0
    }

    /// Apply to a verdict: adjusted score and decision (never raised), reason codes appended,
    /// features added.
    pub fn apply(&self, v: &mut Verdict, policy: &SitePolicy) {
        for (k, x) in &self.features {
            v.features.insert(k, *x);
        }
        let reasons = self.reasons();
        if reasons.is_empty() {
            return;
        }
        let s = self.adjust_score(v.score, policy);
        if s < v.score {
            v.score = s;
            v.decision = policy.decide(s);
        }
        for r in reasons {
            if !v.reasons.contains(&r) {
                v.reasons.push(r);
            }
        }
    }
}

/// What every tier reads from the telemetry (computed once per evaluation).
#[derive(Debug, Clone, Copy)]
struct Context<'a> {
    t: &'a Telemetry,
    ua: &'a str,
    os: Os,
    /// The measured JS engine (`ENGINE` probe, third field): `v8`, `sm`, `jsc`.
    engine: Option<&'a str>,
    /// The Chromium feature bits (`ENGINE` probe, fourth field).
    engine_bits: Option<&'a str>,
    v8: bool,
    firefox_like: bool,
    touch: i64,
    mobile: bool,
    /// iPadOS "desktop mode": a Mac UA with touch points is an iPad.
    ipad_desktop: bool,
}

impl<'a> Context<'a> {
    fn new(t: &'a Telemetry) -> Self {
        let ua = str_of(t, probe::USER_AGENT).unwrap_or("");
        let os = ua_os(ua);
        let engine_str = str_of(t, probe::ENGINE).unwrap_or("");
        let engine_parts: Vec<&str> = engine_str.split(',').collect();
        let engine = engine_parts.get(2).copied().filter(|e| *e != "?");
        let touch = int_of(t, probe::MAX_TOUCH_POINTS).unwrap_or(0);
        Self {
            t,
            ua,
            os,
            engine,
            engine_bits: engine_parts.get(3).copied(),
            v8: engine == Some("v8"),
            firefox_like: engine == Some("sm"),
            touch,
            mobile: bool_of(t, probe::UACH_MOBILE) == Some(true)
                || matches!(os, Os::Android | Os::Ios)
                || ua.contains("Mobile"),
            ipad_desktop: os == Os::Mac && touch > 1,
        }
    }
}

/// Browser family for drift metrics and the audit trail, from the measured engine (`ENGINE`
/// probe; the user agent when it is missing): `chromium`, `firefox`, `safari` or `other`, with
/// `-mobile` on phones and tablets. A bounded set, so it can be a metric label.
pub fn browser_family(t: &Telemetry) -> &'static str {
    let c = Context::new(t);
    let engine = c.engine.or_else(|| parse::ua_engine(c.ua));
    match (engine, c.mobile || c.ipad_desktop) {
        (Some("v8"), false) => "chromium",
        (Some("v8"), true) => "chromium-mobile",
        (Some("sm"), false) => "firefox",
        (Some("sm"), true) => "firefox-mobile",
        (Some("jsc"), false) => "safari",
        (Some("jsc"), true) => "safari-mobile",
        _ => "other",
    }
}

/// Evaluate every rule on a token's telemetry: tier A, B, C, D in that order (each class's
/// findings keep that order).
pub fn evaluate(t: &Telemetry) -> EnvVerdict {
    #[cfg(test)]
    tests::EVALUATIONS.with(|n| n.set(n.get() + 1));
    let c = Context::new(t);
    let mut v = EnvVerdict::default();
    automation::rules(&c, &mut v);
    tampering::rules(&c, &mut v);
    consistency::rules(&c, &mut v);
    environment::rules(&c, &mut v);
    v.features
        .insert("env_automation", v.automation.len() as f64);
    v.features.insert("env_tampered", v.tampered.len() as f64);
    v.features
        .insert("env_inconsistent", v.inconsistent.len() as f64);
    v.features
        .insert("env_environment", v.environment.len() as f64);
    v
}

#[cfg(test)]
mod tests;
