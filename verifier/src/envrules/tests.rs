//! Tests of the environment rules.

use super::parse::{geometry, screen};
use super::*;
use crate::scoring::Decision;
use tollgate_protocol::telemetry::{Probe, ProbeValue, TelemetryBuilder};

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

/// C6: touch pointer events where the browser reports no touch points are CDP touch injection
/// (Puppeteer's `page.touchscreen` in a desktop Chromium); a touch screen, a mouse, a pen, a
/// missing probe, Firefox and Safari are not.
#[test]
fn touch_input_without_touch_points() {
    use tollgate_protocol::telemetry::{pointer_flags, pointer_kind, pointer_type};
    // A tap and a short drag of `ptype`, with the clean browser's probes plus `changes`.
    let input = |ptype: u8, changes: &[(u16, ProbeValue)]| {
        let mut b = TelemetryBuilder::new();
        for (i, kind) in [pointer_kind::DOWN, pointer_kind::MOVE, pointer_kind::UP]
            .into_iter()
            .enumerate()
        {
            let buttons = u8::from(kind != pointer_kind::UP);
            let (t, x) = (100.0 + 16.0 * i as f64, 40.0 + 9.0 * i as f64);
            b.pointer(
                t,
                kind,
                x,
                80.0,
                buttons,
                ptype,
                0.5,
                pointer_flags::TRUSTED,
            );
        }
        let mut t = b.finish();
        t.probes = with(clean(), changes).probes;
        evaluate(&t)
    };
    let code = "touch-no-touch-points";
    let points = |n: i64| (probe::MAX_TOUCH_POINTS, ProbeValue::Int(n));
    let v = input(pointer_type::TOUCH, &[points(0)]);
    assert_eq!(v.inconsistent, vec![code], "{v:?}");
    // One touch point: CDP touch emulation's default (DevTools, Puppeteer, Playwright).
    let v1 = input(pointer_type::TOUCH, &[points(1)]);
    assert_eq!(v1.inconsistent, vec!["touch-one-point"], "{v1:?}");
    assert!(
        input(pointer_type::MOUSE, &[points(1)])
            .inconsistent
            .is_empty()
    );
    let policy = SitePolicy::default();
    assert_eq!(
        policy.decide(v.adjust_score(0.95, &policy)),
        Decision::Challenge
    );
    for (ptype, changes) in [
        // A touch screen.
        (pointer_type::TOUCH, vec![points(10)]),
        // A mouse, and a pen on a drawing tablet, on a machine with no touch screen.
        (pointer_type::MOUSE, vec![points(0)]),
        (pointer_type::PEN, vec![points(0)]),
        // No answer (an old collector; the clean profile has none).
        (pointer_type::TOUCH, vec![]),
        // Firefox (resistFingerprinting reports 0 touch points on any device) and WebKit (a
        // site-specific quirk reports 0 on an iPhone): only V8 is judged.
        (
            pointer_type::TOUCH,
            vec![points(0), (probe::ENGINE, s("37,22,sm,255,other"))],
        ),
        (
            pointer_type::TOUCH,
            vec![points(0), (probe::ENGINE, s("37,40,jsc,0,other"))],
        ),
    ] {
        let v = input(ptype, &changes);
        assert!(
            !v.inconsistent.contains(&code) && !v.inconsistent.contains(&"touch-one-point"),
            "{ptype} {v:?}"
        );
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

thread_local! {
    /// [`evaluate`] calls on this thread (tests only).
    pub(super) static EVALUATIONS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Scoring evaluates the rules once per token: [`crate::scoring::score`] evaluates them and
/// hands the verdict to `score_with`, which (like siteverify's caller) evaluates nothing itself.
#[test]
fn scoring_evaluates_the_rules_once_per_token() {
    let vectors: serde_json::Value =
        serde_json::from_str(include_str!("../../../protocol/testdata/vectors.json")).unwrap();
    let token =
        tollgate_protocol::token::DecodedToken::decode(vectors["token_text"].as_str().unwrap())
            .unwrap();
    let count = || EVALUATIONS.with(std::cell::Cell::get);
    let before = count();
    let v = crate::scoring::score(&token, &crate::scoring::SitePolicy::default());
    assert_eq!(count() - before, 1);
    assert!(v.features.contains_key("env_automation"), "{v:?}");
}
