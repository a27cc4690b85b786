//! Environment rules: the collector's raw probe results (`protocol::telemetry::probe`, interpreted
//! by `probe_schema`) → reason classes and detail codes. Rules live here, on the server, so they
//! change without shipping new wasm (see `shared/notes/signals.md` for the tiers).
//!
//! | class | meaning | effect ([`EnvVerdict::apply`]) |
//! |---|---|---|
//! | `automation` | tier A: a driver is attached (`webdriver`, `headless-ua`, `automation-globals`, `automation-stack`; `cdp-console`) | block; `cdp-console` alone (DevTools open) only caps at challenge |
//! | `tampered` | tier B: native functions/properties that lie (`lie-probes`, `own-property`, `identity`, `webdriver-deleted`, `probe-errors`) | cap at challenge: never block on tampering alone (privacy tools) |
//! | `inconsistent` | tier C: contexts or layers disagree (`worker-*`, `ua-ch-*`, `platform-os`, `engine-*`, `geometry-*`, `gpu-os`) | cap at challenge |
//! | `environment` | tier D: weak hints (`software-gl`, `no-webgl`, `no-media-devices`, …) | −0.03 each, at most −0.12 |
//!
//! `cdp-console` together with any `tampered`/`inconsistent` finding blocks (stealth and
//! fingerprint-injector sessions). False-positive guards from the notes: a worker that could not
//! run (CSP, extension) is *unavailable*, not a lie; languages are never compared; worker WebGL
//! may be absent; UA-CH rules only where UA-CH exists (Chromium); engine-version and geometry
//! rules skip SpiderMonkey (Firefox resistFingerprinting/Tor) and mobile; iPadOS desktop mode
//! (Mac UA + `MacIntel` + touch points) is a Mac; noise in canvas/audio is never a lie (the
//! collector skips randomised sources; a lie is a non-native *shape*).

use std::collections::BTreeMap;

use tollgate_protocol::telemetry::{LIE_TARGETS, ProbeValue, Telemetry, probe};

use crate::scoring::{SitePolicy, Verdict};

/// Chrome major that shipped each feature of the collector's C3 list (`featureBits()` in
/// `js/tollgate.js`, same order); 0 = not used by the rules yet. Values are lower bounds (a
/// too-high value could flag real browsers; the rules allow ±2 majors anyway).
pub const FEATURE_MAJORS: &[u32] = &[
    92, 97, 110, 117, 119, 122, 128, 129, 135, 136, 134, 0, 144, 0,
];
/// Features trusted for the "claimed newer than the engine" direction (absent although old).
const FEATURES_SURE: usize = 11;

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

fn str_of(t: &Telemetry, id: u16) -> Option<&str> {
    match t.probe(id) {
        Some(ProbeValue::Str(s)) => Some(s),
        _ => None,
    }
}

fn int_of(t: &Telemetry, id: u16) -> Option<i64> {
    match t.probe(id) {
        Some(ProbeValue::Int(i)) => Some(*i),
        Some(ProbeValue::Num(n)) if n.is_finite() => Some(*n as i64),
        _ => None,
    }
}

fn num_of(t: &Telemetry, id: u16) -> Option<f64> {
    match t.probe(id) {
        Some(ProbeValue::Int(i)) => Some(*i as f64),
        Some(ProbeValue::Num(n)) if n.is_finite() => Some(*n),
        _ => None,
    }
}

fn bool_of(t: &Telemetry, id: u16) -> Option<bool> {
    match t.probe(id) {
        Some(ProbeValue::Bool(b)) => Some(*b),
        _ => None,
    }
}

/// Operating system a user agent string claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Windows,
    Mac,
    Ios,
    Android,
    ChromeOs,
    Linux,
    Unknown,
}

pub fn ua_os(ua: &str) -> Os {
    if ua.contains("Windows NT") || ua.contains("Windows Phone") {
        Os::Windows
    } else if ua.contains("iPhone") || ua.contains("iPad") || ua.contains("iPod") {
        Os::Ios
    } else if ua.contains("Android") {
        Os::Android
    } else if ua.contains("Macintosh") || ua.contains("Mac OS X") {
        Os::Mac
    } else if ua.contains("CrOS") {
        Os::ChromeOs
    } else if ua.contains("Linux") || ua.contains("X11") {
        Os::Linux
    } else {
        Os::Unknown
    }
}

/// The JS engine a user agent string claims: `v8`, `sm`, `jsc` or `None`.
pub fn ua_engine(ua: &str) -> Option<&'static str> {
    if ua_os(ua) == Os::Ios {
        Some("jsc") // every iOS browser is WebKit
    } else if ua.contains("Firefox/") {
        Some("sm")
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") {
        Some("v8")
    } else if ua.contains("Safari/") && ua.contains("Version/") {
        Some("jsc")
    } else {
        None
    }
}

/// Chrome major version in a UA (`Chrome/N` or `HeadlessChrome/N`).
pub fn chrome_major(ua: &str) -> Option<u32> {
    let i = ua.find("Chrome/")? + "Chrome/".len();
    let digits: String = ua[i..].chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// `brand/version,…` → pairs.
fn brand_list(s: &str) -> Vec<(&str, &str)> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| p.rsplit_once('/').unwrap_or((p, "")))
        .collect()
}

fn major(v: &str) -> Option<u32> {
    v.split('.').next()?.parse().ok()
}

/// `A×B` → (A, B).
fn pair(s: &str) -> Option<(f64, f64)> {
    let (a, b) = s.split_once('×')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// SCREEN: `W×H avail W×H depth` → (w, h, aw, ah).
fn screen(s: &str) -> Option<(f64, f64, f64, f64)> {
    let mut it = s.split(' ');
    let (w, h) = pair(it.next()?)?;
    if it.next()? != "avail" {
        return None;
    }
    let (aw, ah) = pair(it.next()?)?;
    Some((w, h, aw, ah))
}

/// WINDOW_GEOMETRY: `inner W×H outer W×H dpr D at X,Y` → (iw, ih, ow, oh, dpr).
fn geometry(s: &str) -> Option<(f64, f64, f64, f64, f64)> {
    let parts: Vec<&str> = s.split(' ').collect();
    if parts.len() < 6 || parts[0] != "inner" || parts[2] != "outer" || parts[4] != "dpr" {
        return None;
    }
    let (iw, ih) = pair(parts[1])?;
    let (ow, oh) = pair(parts[3])?;
    Some((iw, ih, ow, oh, parts[5].parse().ok()?))
}

fn software_gl(r: &str) -> bool {
    let r = r.to_ascii_lowercase();
    [
        "swiftshader",
        "llvmpipe",
        "softpipe",
        "mesa offscreen",
        "basic render",
    ]
    .iter()
    .any(|s| r.contains(s))
}

/// Evaluate every rule on a token's telemetry.
pub fn evaluate(t: &Telemetry) -> EnvVerdict {
    let mut v = EnvVerdict::default();
    let ua = str_of(t, probe::USER_AGENT).unwrap_or("");
    let os = ua_os(ua);
    let engine_str = str_of(t, probe::ENGINE).unwrap_or("");
    let engine_parts: Vec<&str> = engine_str.split(',').collect();
    let engine = engine_parts.get(2).copied().filter(|e| *e != "?");
    let v8 = engine == Some("v8");
    let firefox_like = engine == Some("sm");
    let touch = int_of(t, probe::MAX_TOUCH_POINTS).unwrap_or(0);
    let mobile = bool_of(t, probe::UACH_MOBILE) == Some(true)
        || matches!(os, Os::Android | Os::Ios)
        || ua.contains("Mobile");
    // iPadOS "desktop mode": a Mac UA with touch points is an iPad.
    let ipad_desktop = os == Os::Mac && touch > 1;

    // ---- A: automation ----
    if t.probe(probe::WEBDRIVER) == Some(&ProbeValue::Bool(true)) {
        v.automation.push("webdriver");
    }
    if [
        probe::USER_AGENT,
        probe::WORKER_USER_AGENT,
        probe::APP_VERSION,
    ]
    .iter()
    .filter_map(|&id| str_of(t, id))
    .any(|s| s.contains("Headless"))
    {
        v.automation.push("headless-ua");
    }
    if str_of(t, probe::AUTOMATION_GLOBALS).is_some_and(|s| !s.trim().is_empty()) {
        v.automation.push("automation-globals");
    }
    // A5: Puppeteer/Playwright evaluate frames under the widget API or a submit/click handler.
    // Only driver-injected code has these frames (DevTools console calls do not), so it is hard.
    if int_of(t, probe::AUTOMATION_STACK).is_some_and(|m| m != 0) {
        v.automation.push("automation-stack");
    }
    if let Some(c) = str_of(t, probe::CDP_CONSOLE) {
        let mut it = c.split(',').map(|x| x.parse::<f64>().unwrap_or(0.0));
        let (calls, names) = (it.next().unwrap_or(0.0), it.next().unwrap_or(0.0));
        v.features.insert("cdp_prepare_calls", calls);
        if calls >= 1.0 || names >= 2.0 {
            v.automation.push("cdp-console");
        }
    }

    // ---- B: tampering ----
    if let Some(lies) = str_of(t, probe::LIES) {
        for item in lies.split(',').filter(|s| !s.is_empty()) {
            let (i, m) = item.split_once('.').unwrap_or((item, "0"));
            let (Ok(i), Ok(m)) = (i.parse::<usize>(), m.parse::<u32>()) else {
                continue;
            };
            if m == 0 {
                continue;
            }
            let name = LIE_TARGETS.get(i).copied().unwrap_or("unknown-target");
            v.lies.push((name, m));
        }
        v.features.insert("lie_targets", v.lies.len() as f64);
        if !v.lies.is_empty() {
            v.tampered.push("lie-probes");
        }
    }
    if int_of(t, probe::OWN_PROPERTY_ANOMALIES).is_some_and(|m| m != 0) {
        v.tampered.push("own-property");
    }
    if int_of(t, probe::IDENTITY_ANOMALIES).is_some_and(|m| m != 0) {
        v.tampered.push("identity");
    }
    if (v8 || firefox_like) && bool_of(t, probe::WEBDRIVER_IN_NAVIGATOR) == Some(false) {
        v.tampered.push("webdriver-deleted");
    }
    let native_getters = [
        probe::WEBDRIVER,
        probe::USER_AGENT,
        probe::PLATFORM,
        probe::LANGUAGES,
        probe::HARDWARE_CONCURRENCY,
        probe::DEVICE_MEMORY,
        probe::APP_VERSION,
        probe::VENDOR,
    ];
    if native_getters
        .iter()
        .any(|&id| matches!(t.probe(id), Some(ProbeValue::Error(_))))
    {
        v.tampered.push("probe-errors");
    }

    // ---- C1: worker re-read (only when the worker answered) ----
    let worker_ok = str_of(t, probe::WORKER_STATUS) == Some("ok");
    v.features
        .insert("worker_available", if worker_ok { 1.0 } else { 0.0 });
    if worker_ok {
        let differs = |a: u16, b: u16| match (t.probe(a), t.probe(b)) {
            (Some(x), Some(y)) => {
                !matches!(x, ProbeValue::Absent | ProbeValue::Error(_))
                    && !matches!(y, ProbeValue::Error(_))
                    && x != y
            }
            _ => false,
        };
        for (a, b, code) in [
            (probe::USER_AGENT, probe::WORKER_USER_AGENT, "worker-ua"),
            (probe::PLATFORM, probe::WORKER_PLATFORM, "worker-platform"),
            (
                probe::HARDWARE_CONCURRENCY,
                probe::WORKER_HARDWARE_CONCURRENCY,
                "worker-cores",
            ),
            (
                probe::DEVICE_MEMORY,
                probe::WORKER_DEVICE_MEMORY,
                "worker-memory",
            ),
            (probe::TIMEZONE, probe::WORKER_TIMEZONE, "worker-timezone"),
            (probe::UACH_BRANDS, probe::WORKER_UACH_BRANDS, "worker-uach"),
            (
                probe::UACH_PLATFORM,
                probe::WORKER_UACH_PLATFORM,
                "worker-uach",
            ),
        ] {
            if differs(a, b) && !v.inconsistent.contains(&code) {
                v.inconsistent.push(code);
            }
        }
        // Worker WebGL may be absent (Safari ≤ 16): compare only two real answers.
        if let (Some(m), Some(w)) = (
            str_of(t, probe::WEBGL_RENDERER),
            str_of(t, probe::WORKER_WEBGL_RENDERER),
        ) && !m.is_empty()
            && !w.is_empty()
            && m != w
        {
            v.inconsistent.push("worker-webgl");
        }
    }

    // ---- C2: UA ↔ UA-CH (Chromium only: UA-CH present) ----
    if let Some(brands) = str_of(t, probe::UACH_BRANDS).filter(|b| !b.is_empty()) {
        let list = brand_list(brands);
        let ua_major = chrome_major(ua);
        let chromium = list
            .iter()
            .find(|(b, _)| *b == "Chromium" || *b == "Google Chrome")
            .and_then(|(_, ver)| major(ver));
        if let (Some(u), Some(c)) = (ua_major, chromium)
            && u != c
        {
            v.inconsistent.push("ua-ch-version");
        }
        let legacy_grease = list
            .iter()
            .any(|(b, ver)| *b == " Not A;Brand" && *ver == "99");
        if legacy_grease && chromium.is_some_and(|c| c >= 110) {
            v.inconsistent.push("ua-ch-grease");
        }
        if let Some(full) = str_of(t, probe::UACH_FULL_VERSION_LIST).filter(|f| !f.is_empty()) {
            let names: Vec<&str> = brand_list(full).into_iter().map(|(b, _)| b).collect();
            if list.iter().any(|(b, _)| !names.contains(b)) {
                v.inconsistent.push("ua-ch-brands");
            }
        }
        if let Some(fv) = str_of(t, probe::UACH_UA_FULL_VERSION)
            && fv.ends_with(".0.0.0")
        {
            v.inconsistent.push("ua-ch-full-version");
        }
        if let Some(p) = str_of(t, probe::UACH_PLATFORM) {
            let want = match p {
                "Windows" => Some(Os::Windows),
                "macOS" => Some(Os::Mac),
                "Linux" => Some(Os::Linux),
                "Android" => Some(Os::Android),
                "Chrome OS" | "ChromeOS" => Some(Os::ChromeOs),
                _ => None,
            };
            if let Some(w) = want
                && os != Os::Unknown
                && w != os
            {
                v.inconsistent.push("ua-ch-platform");
            }
        }
        if !list.iter().any(|(b, _)| *b == "Google Chrome")
            && !list.iter().any(|(b, _)| {
                [
                    "Microsoft Edge",
                    "Opera",
                    "Brave",
                    "Vivaldi",
                    "Yandex",
                    "Samsung Internet",
                ]
                .contains(b)
            })
        {
            v.environment.push("non-google-brands");
        }
    }
    // navigator.platform vs the UA's OS.
    if let Some(p) = str_of(t, probe::PLATFORM)
        && !p.is_empty()
    {
        let ok = match os {
            Os::Windows => p.starts_with("Win"),
            Os::Mac => p.starts_with("Mac"),
            Os::Ios => p.starts_with("iP") || (p == "MacIntel" && touch > 1),
            Os::Android => p.starts_with("Linux") || p.starts_with("Android") || p.is_empty(),
            Os::Linux | Os::ChromeOs => p.starts_with("Linux") || p.contains("CrOS"),
            Os::Unknown => true,
        };
        if !ok {
            v.inconsistent.push("platform-os");
        }
    }

    // ---- C3: UA ↔ engine ----
    if let (Some(claimed), Some(measured)) = (ua_engine(ua), engine)
        && claimed != measured
    {
        v.inconsistent.push("engine-mismatch");
    }
    if v8
        && ua_engine(ua) == Some("v8")
        && !mobile
        && let (Some(m), Some(bits)) = (
            chrome_major(ua),
            engine_parts.get(3).and_then(|b| b.parse::<u64>().ok()),
        )
    {
        let present = |i: usize| bits & (1 << i) != 0;
        let newer = FEATURE_MAJORS
            .iter()
            .enumerate()
            .any(|(i, &f)| f > 0 && present(i) && f > m + 2);
        let older = FEATURE_MAJORS
            .iter()
            .enumerate()
            .take(FEATURES_SURE)
            .filter(|&(i, &f)| f > 0 && !present(i) && f + 2 < m)
            .count()
            >= 2;
        if newer || older {
            v.inconsistent.push("engine-version");
        }
    }

    // ---- C4: geometry (desktop, not Firefox RFP) ----
    let geo = str_of(t, probe::WINDOW_GEOMETRY).and_then(geometry);
    let scr = str_of(t, probe::SCREEN).and_then(screen);
    let fullscreen = int_of(t, probe::DISPLAY_MODE).is_some_and(|m| m & 1 != 0);
    if !mobile && !firefox_like && !ipad_desktop {
        if let Some((iw, ih, ow, oh, dpr)) = geo {
            // Integral dpr: zoom is 100 %, so CSS px inner sizes cannot exceed the outer ones.
            if ow > 0.0 && oh > 0.0 && dpr >= 1.0 && dpr.fract() == 0.0 && (iw > ow || ih > oh) {
                v.inconsistent.push("geometry-inner-outer");
            }
            if ow == iw && oh - ih == 85.0 {
                v.environment.push("geometry-85");
            }
            if let Some((sw, sh, _, _)) = scr
                && ow == iw
                && oh == ih
                && ow == sw
                && oh == sh
                && !fullscreen
            {
                v.environment.push("window-is-screen");
            }
        }
        if let Some((sw, sh, aw, ah)) = scr {
            if sw == 800.0 && sh == 600.0 && aw == sw && ah == sh {
                v.inconsistent.push("geometry-default-screen");
            } else if aw == sw && ah == sh && !fullscreen {
                v.environment.push("no-taskbar");
            }
        }
    }

    // ---- C5: GPU ↔ OS; D: software GL ----
    match str_of(t, probe::WEBGL_RENDERER) {
        Some(r) => {
            let bad = (r.contains("Direct3D") && os != Os::Windows && os != Os::Unknown)
                || ((r.contains("Metal") || r.contains("Apple M") || r.contains("Apple GPU"))
                    && !matches!(os, Os::Mac | Os::Ios | Os::Unknown))
                || (r.contains("Intel Iris OpenGL Engine") && os == Os::Windows);
            if bad {
                v.inconsistent.push("gpu-os");
            }
            if software_gl(r) {
                v.environment.push("software-gl");
            }
        }
        None if t.probe_schema >= 2 && t.probe(probe::WEBGL_RENDERER).is_some() => {
            v.environment.push("no-webgl");
        }
        None => {}
    }

    // ---- D: weak environment hints ----
    let desktop_chromium = v8 && !mobile;
    if int_of(t, probe::MEDIA_DEVICES) == Some(0) {
        v.environment.push("no-media-devices");
    }
    if desktop_chromium && int_of(t, probe::SPEECH_VOICES) == Some(0) {
        v.environment.push("no-voices");
    }
    if str_of(t, probe::ACTIVE_TEXT) == Some("rgb(255, 0, 0)") {
        v.environment.push("active-text-red");
    }
    if desktop_chromium && int_of(t, probe::PLUGINS) == Some(0) {
        v.environment.push("no-plugins");
    }
    if let Some(n) = str_of(t, probe::NOTIFICATION_PERMISSION)
        && n == "denied/prompt"
    {
        v.environment.push("notification-mismatch");
    }
    if num_of(t, probe::CONNECTION_RTT) == Some(0.0) && os != Os::Android {
        v.environment.push("rtt-zero");
    }
    if str_of(t, probe::LANGUAGES) == Some("") {
        v.environment.push("no-languages");
    }
    if desktop_chromium && bool_of(t, probe::PDF_VIEWER) == Some(false) {
        v.environment.push("no-pdf-viewer");
    }
    if let Some(b) = bool_of(t, probe::PREFERS_DARK) {
        v.features.insert("prefers_dark", f64::from(u8::from(b)));
    }
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
mod tests {
    use super::*;
    use crate::scoring::Decision;
    use tollgate_protocol::telemetry::{Probe, TelemetryBuilder};

    const CHROME_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
    const WIN_UA: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36";
    const ALL_FEATURES: &str = "33,44,v8,16383,v8";

    fn s(v: &str) -> ProbeValue {
        ProbeValue::Str(v.into())
    }

    fn tel(probes: &[(u16, ProbeValue)]) -> Telemetry {
        let mut t = TelemetryBuilder::new().finish();
        t.probes = probes
            .iter()
            .map(|(id, value)| Probe {
                id: *id,
                value: value.clone(),
            })
            .collect();
        t
    }

    /// A clean headful Chrome on Linux, as the collector reports it.
    fn clean() -> Vec<(u16, ProbeValue)> {
        vec![
            (probe::WEBDRIVER, ProbeValue::Bool(false)),
            (probe::WEBDRIVER_IN_NAVIGATOR, ProbeValue::Bool(true)),
            (probe::USER_AGENT, s(CHROME_UA)),
            (probe::PLATFORM, s("Linux x86_64")),
            (probe::LANGUAGES, s("en-US,en")),
            (probe::HARDWARE_CONCURRENCY, ProbeValue::Int(8)),
            (probe::DEVICE_MEMORY, ProbeValue::Int(8)),
            (probe::SCREEN, s("1920×1080 avail 1920×1053 24")),
            (
                probe::WINDOW_GEOMETRY,
                s("inner 1280×689 outer 1280×800 dpr 1 at 10,20"),
            ),
            (probe::TIMEZONE, s("Europe/Berlin")),
            (probe::AUTOMATION_GLOBALS, s("")),
            (
                probe::UACH_BRANDS,
                s("Chromium/156,Google Chrome/156,Not.A/Brand/99"),
            ),
            (probe::UACH_MOBILE, ProbeValue::Bool(false)),
            (probe::UACH_PLATFORM, s("Linux")),
            (
                probe::UACH_FULL_VERSION_LIST,
                s("Chromium/156.0.7600.1,Google Chrome/156.0.7600.1,Not.A/Brand/99.0.0.0"),
            ),
            (probe::UACH_UA_FULL_VERSION, s("156.0.7600.1")),
            (probe::CDP_CONSOLE, s("0,1,0.2")),
            (probe::LIES, s("")),
            (probe::LIE_TARGETS_PROBED, ProbeValue::Int(27)),
            (probe::OWN_PROPERTY_ANOMALIES, ProbeValue::Int(0)),
            (probe::IDENTITY_ANOMALIES, ProbeValue::Int(0)),
            (probe::ENGINE, s(ALL_FEATURES)),
            (probe::WORKER_STATUS, s("ok")),
            (probe::WORKER_USER_AGENT, s(CHROME_UA)),
            (probe::WORKER_PLATFORM, s("Linux x86_64")),
            (probe::WORKER_HARDWARE_CONCURRENCY, ProbeValue::Int(8)),
            (probe::WORKER_DEVICE_MEMORY, ProbeValue::Int(8)),
            (probe::WORKER_TIMEZONE, s("Europe/Berlin")),
            (
                probe::WORKER_UACH_BRANDS,
                s("Chromium/156,Google Chrome/156,Not.A/Brand/99"),
            ),
            (probe::WORKER_UACH_PLATFORM, s("Linux")),
            (probe::WEBGL_RENDERER, s("ANGLE (Intel, Mesa Intel(R) UHD)")),
            (
                probe::WORKER_WEBGL_RENDERER,
                s("ANGLE (Intel, Mesa Intel(R) UHD)"),
            ),
            (probe::MEDIA_DEVICES, ProbeValue::Int(3)),
            (probe::SPEECH_VOICES, ProbeValue::Int(12)),
            (probe::PLUGINS, ProbeValue::Int(5)),
            (probe::PDF_VIEWER, ProbeValue::Bool(true)),
            (probe::CONNECTION_RTT, ProbeValue::Int(50)),
            (probe::NOTIFICATION_PERMISSION, s("default/prompt")),
            (probe::ACTIVE_TEXT, s("rgb(0, 102, 204)")),
            (probe::AUTOMATION_STACK, ProbeValue::Int(0)),
        ]
    }

    fn with(mut base: Vec<(u16, ProbeValue)>, changes: &[(u16, ProbeValue)]) -> Telemetry {
        for (id, v) in changes {
            base.retain(|(i, _)| i != id);
            base.push((*id, v.clone()));
        }
        tel(&base)
    }

    #[test]
    fn clean_browser_has_no_findings() {
        let v = evaluate(&tel(&clean()));
        assert!(v.reasons().is_empty(), "{v:?}");
        assert!(v.blocking_automation().is_empty());
        // An old collector (schema 1, few probes) and an empty telemetry: nothing either.
        assert!(
            evaluate(&TelemetryBuilder::new().finish())
                .reasons()
                .is_empty()
        );
    }

    #[test]
    fn automation_classes() {
        let v = evaluate(&with(
            clean(),
            &[
                (probe::WEBDRIVER, ProbeValue::Bool(true)),
                (
                    probe::WORKER_USER_AGENT,
                    s("Mozilla/5.0 HeadlessChrome/156.0.0.0"),
                ),
            ],
        ));
        assert_eq!(v.automation, vec!["webdriver", "headless-ua"]);
        assert!(v.inconsistent.contains(&"worker-ua"));
        assert!(!v.blocking_automation().is_empty());
        // CDP console alone (DevTools open): automation, but not blocking.
        let v = evaluate(&with(clean(), &[(probe::CDP_CONSOLE, s("1,1,0.9"))]));
        assert_eq!(v.automation, vec!["cdp-console"]);
        assert!(v.blocking_automation().is_empty());
        // ... with any tampering it blocks.
        let v = evaluate(&with(
            clean(),
            &[(probe::CDP_CONSOLE, s("1,1,0.9")), (probe::LIES, s("1.17"))],
        ));
        assert_eq!(v.blocking_automation(), vec!["cdp-console"]);
        assert_eq!(v.lies, vec![("Navigator.userAgent", 17)]);
        let v = evaluate(&with(
            clean(),
            &[(
                probe::AUTOMATION_GLOBALS,
                s("cdc_adoQpoasnfa76pfcZLmcfl_Array"),
            )],
        ));
        assert_eq!(v.automation, vec!["automation-globals"]);
        // A5: evaluate frames in the widget API's stack block on their own; 0 is clean.
        let v = evaluate(&with(
            clean(),
            &[(probe::AUTOMATION_STACK, ProbeValue::Int(2))],
        ));
        assert_eq!(v.automation, vec!["automation-stack"]);
        assert_eq!(v.blocking_automation(), vec!["automation-stack"]);
        let v = evaluate(&with(
            clean(),
            &[(probe::AUTOMATION_STACK, ProbeValue::Int(0))],
        ));
        assert!(v.reasons().is_empty(), "{v:?}");
    }

    #[test]
    fn stealth_like_profile() {
        // Windows UA over a Linux worker, legacy GREASE, Proxy lies, own data dimensions.
        let v = evaluate(&with(
            clean(),
            &[
                (probe::USER_AGENT, s(WIN_UA)),
                (probe::PLATFORM, s("Win32")),
                (
                    probe::UACH_BRANDS,
                    s(" Not A;Brand/99,Chromium/156,Google Chrome/156"),
                ),
                (probe::UACH_PLATFORM, s("Windows")),
                (
                    probe::UACH_FULL_VERSION_LIST,
                    s(" Not A;Brand/99.0.0.0,Chromium/156.0.7600.1"),
                ),
                (probe::LIES, s("3.17,9.17,15.17,22.49")),
                (probe::OWN_PROPERTY_ANOMALIES, ProbeValue::Int(3)),
                (probe::WEBGL_RENDERER, s("Intel Iris OpenGL Engine")),
                (probe::CDP_CONSOLE, s("1,1,0.4")),
            ],
        ));
        for code in [
            "worker-ua",
            "worker-platform",
            "worker-uach",
            "worker-webgl",
            "ua-ch-grease",
            "ua-ch-brands",
            "gpu-os",
        ] {
            assert!(v.inconsistent.contains(&code), "{code}: {v:?}");
        }
        assert!(v.tampered.contains(&"lie-probes") && v.tampered.contains(&"own-property"));
        assert_eq!(v.lies.len(), 4);
        assert_eq!(v.blocking_automation(), vec!["cdp-console"]);
    }

    #[test]
    fn injector_like_profile() {
        let v = evaluate(&with(
            clean(),
            &[
                (
                    probe::USER_AGENT,
                    s(
                        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36",
                    ),
                ),
                (probe::PLATFORM, s("Win32")),
                (
                    probe::UACH_BRANDS,
                    s("Chromium/141,Google Chrome/141,Not?A_Brand/24"),
                ),
                (probe::UACH_PLATFORM, s("Windows")),
                (
                    probe::UACH_FULL_VERSION_LIST,
                    s("Chromium/141.0.7390.1,Google Chrome/141.0.7390.1,Not?A_Brand/24.0.0.0"),
                ),
                (probe::WORKER_UACH_BRANDS, s("")),
                (probe::WORKER_UACH_PLATFORM, s("")),
                (
                    probe::WINDOW_GEOMETRY,
                    s("inner 1280×720 outer 1280×680 dpr 1 at 0,0"),
                ),
                (probe::IDENTITY_ANOMALIES, ProbeValue::Int(4)),
            ],
        ));
        for code in [
            "worker-ua",
            "worker-uach",
            "engine-version",
            "geometry-inner-outer",
        ] {
            assert!(v.inconsistent.contains(&code), "{code}: {v:?}");
        }
        assert!(v.tampered.contains(&"identity"));
    }

    #[test]
    fn false_positive_guards() {
        // Worker blocked by CSP: unavailable, not a lie.
        let v = evaluate(&with(
            clean(),
            &[
                (
                    probe::WORKER_STATUS,
                    ProbeValue::Error("SecurityError: blocked".into()),
                ),
                (probe::WORKER_USER_AGENT, ProbeValue::Absent),
                (probe::WORKER_PLATFORM, ProbeValue::Absent),
            ],
        ));
        assert!(v.reasons().is_empty(), "{v:?}");
        // Worker without WebGL (Safari ≤ 16), languages differing (Chrome switching bug).
        let v = evaluate(&with(
            clean(),
            &[
                (probe::WORKER_WEBGL_RENDERER, ProbeValue::Absent),
                (probe::WORKER_LANGUAGES, s("de")),
            ],
        ));
        assert!(v.reasons().is_empty(), "{v:?}");
        // Brave: no Google brand but Brave's own; farbling is not reported by the collector.
        let v = evaluate(&with(
            clean(),
            &[
                (
                    probe::UACH_BRANDS,
                    s("Brave/156,Chromium/156,Not.A/Brand/99"),
                ),
                (
                    probe::WORKER_UACH_BRANDS,
                    s("Brave/156,Chromium/156,Not.A/Brand/99"),
                ),
                (
                    probe::UACH_FULL_VERSION_LIST,
                    s("Brave/156.1.2.3,Chromium/156.0.7600.1,Not.A/Brand/99.0.0.0"),
                ),
                (probe::BRAVE, ProbeValue::Bool(true)),
            ],
        ));
        assert!(v.reasons().is_empty(), "{v:?}");
        // Firefox with resistFingerprinting: no UA-CH, spoofed geometry, SpiderMonkey engine.
        let ff = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0";
        let v = evaluate(&tel(&[
            (probe::USER_AGENT, s(ff)),
            (probe::WORKER_USER_AGENT, s(ff)),
            (probe::WORKER_STATUS, s("ok")),
            (probe::PLATFORM, s("Linux x86_64")),
            (probe::ENGINE, s("37,22,sm,255,other")),
            (probe::SCREEN, s("1400×900 avail 1400×900 24")),
            (
                probe::WINDOW_GEOMETRY,
                s("inner 1400×900 outer 1400×900 dpr 1 at 0,0"),
            ),
            (probe::HARDWARE_CONCURRENCY, ProbeValue::Int(4)),
            (probe::WORKER_HARDWARE_CONCURRENCY, ProbeValue::Int(4)),
            (probe::WEBDRIVER, ProbeValue::Bool(false)),
            (probe::WEBDRIVER_IN_NAVIGATOR, ProbeValue::Bool(true)),
            (probe::LIES, s("")),
        ]));
        assert!(v.reasons().is_empty(), "{v:?}");
        // iPad in desktop mode: Mac UA, MacIntel, touch points; Safari: no UA-CH.
        let ipad = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15";
        let v = evaluate(&tel(&[
            (probe::USER_AGENT, s(ipad)),
            (probe::PLATFORM, s("MacIntel")),
            (probe::MAX_TOUCH_POINTS, ProbeValue::Int(5)),
            (probe::ENGINE, s("37,40,jsc,0,other")),
            (probe::WEBGL_RENDERER, s("Apple GPU")),
            (
                probe::WINDOW_GEOMETRY,
                s("inner 1180×820 outer 1180×820 dpr 2 at 0,0"),
            ),
            (probe::SCREEN, s("1180×820 avail 1180×820 24")),
        ]));
        assert!(v.reasons().is_empty(), "{v:?}");
        // Zoomed out (dpr 0.9): inner > outer is normal.
        let v = evaluate(&with(
            clean(),
            &[(
                probe::WINDOW_GEOMETRY,
                s("inner 1422×766 outer 1280×800 dpr 0.9 at 0,0"),
            )],
        ));
        assert!(v.reasons().is_empty(), "{v:?}");
    }

    #[test]
    fn environment_hints_are_weak() {
        let t = with(
            clean(),
            &[
                (
                    probe::WEBGL_RENDERER,
                    s(
                        "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)",
                    ),
                ),
                (
                    probe::WORKER_WEBGL_RENDERER,
                    s(
                        "ANGLE (Google, Vulkan 1.3.0 (SwiftShader Device (Subzero)), SwiftShader driver)",
                    ),
                ),
                (probe::MEDIA_DEVICES, ProbeValue::Int(0)),
                (probe::SPEECH_VOICES, ProbeValue::Int(0)),
                (probe::UACH_BRANDS, s("Chromium/156,Not.A/Brand/99")),
                (probe::WORKER_UACH_BRANDS, s("Chromium/156,Not.A/Brand/99")),
                (
                    probe::UACH_FULL_VERSION_LIST,
                    s("Chromium/156.0.7600.1,Not.A/Brand/99.0.0.0"),
                ),
            ],
        );
        let v = evaluate(&t);
        assert_eq!(
            v.environment,
            vec![
                "non-google-brands",
                "software-gl",
                "no-media-devices",
                "no-voices"
            ]
        );
        assert!(v.automation.is_empty() && v.tampered.is_empty() && v.inconsistent.is_empty());
        let policy = SitePolicy::default();
        assert!((v.adjust_score(0.95, &policy) - 0.83).abs() < 1e-9);
        assert_eq!(
            policy.decide(v.adjust_score(0.95, &policy)),
            Decision::Allow
        );
        assert_eq!(v.reasons()[0], "environment");
    }

    #[test]
    fn tampering_and_inconsistency_cap_at_challenge() {
        let policy = SitePolicy::default();
        for t in [
            with(clean(), &[(probe::LIES, s("22.1"))]),
            with(
                clean(),
                &[(probe::WORKER_HARDWARE_CONCURRENCY, ProbeValue::Int(2))],
            ),
            with(clean(), &[(probe::CDP_CONSOLE, s("1,1,3.5"))]),
        ] {
            let v = evaluate(&t);
            assert_eq!(
                policy.decide(v.adjust_score(0.95, &policy)),
                Decision::Challenge,
                "{v:?}"
            );
            // A low behaviour score stays where it was (block comes from behaviour, not from B/C).
            assert_eq!(v.adjust_score(0.1, &policy), 0.1);
        }
    }

    #[test]
    fn parsers() {
        assert_eq!(chrome_major(CHROME_UA), Some(156));
        assert_eq!(chrome_major("HeadlessChrome/141.0.1"), Some(141));
        assert_eq!(ua_os(WIN_UA), Os::Windows);
        assert_eq!(
            ua_engine("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) CriOS/120"),
            Some("jsc")
        );
        assert_eq!(
            screen("800×600 avail 800×600 24"),
            Some((800.0, 600.0, 800.0, 600.0))
        );
        assert_eq!(
            geometry("inner 780×580 outer 800×600 dpr 1 at 0,0"),
            Some((780.0, 580.0, 800.0, 600.0, 1.0))
        );
        assert_eq!(geometry("garbage"), None);
        // Garbage probe values never panic.
        let junk = tel(&[
            (probe::LIES, s("x.y,1,.,99999.1")),
            (probe::CDP_CONSOLE, s(",,")),
            (probe::ENGINE, s(",,v8,zz")),
            (probe::UACH_BRANDS, s("/,,/")),
            (probe::WINDOW_GEOMETRY, s("inner ×")),
        ]);
        let v = evaluate(&junk);
        assert_eq!(v.lies, vec![("unknown-target", 1)]);
    }
}
