//! Tier C: consistency — contexts or layers that disagree: worker re-read (C1), UA ↔ UA-CH and
//! `navigator.platform` (C2), UA ↔ engine (C3), window geometry (C4), GPU ↔ OS (C5), touch
//! input ↔ touch points (C6). Caps at challenge. C2 and C4 also give tier D hints
//! (`non-google-brands`, `geometry-85`, `window-is-screen`, `no-taskbar`), pushed here so the
//! environment list keeps its order.

use tollgate_protocol::telemetry::{
    ENGINE_FEATURES, ProbeValue, display_mode, pointer_type, probe,
};

use super::parse::{brand_list, chrome_major, geometry, int_of, major, screen, str_of, ua_engine};
use super::{Context, EnvVerdict, Os};

/// Tier C findings, section by section in a fixed order.
pub(super) fn rules(c: &Context<'_>, v: &mut EnvVerdict) {
    worker(c, v);
    ua_client_hints(c, v);
    engine(c, v);
    window_geometry(c, v);
    gpu(c, v);
    touch_input(c, v);
}

/// C1: worker re-read (only when the worker answered; plus feature `worker_available`).
fn worker(c: &Context<'_>, v: &mut EnvVerdict) {
    let Context { t, .. } = *c;
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
}

/// C2: UA ↔ UA-CH (Chromium only: UA-CH present), then `navigator.platform` vs the UA's OS.
fn ua_client_hints(c: &Context<'_>, v: &mut EnvVerdict) {
    let Context {
        t, ua, os, touch, ..
    } = *c;
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
}

/// C3: UA ↔ engine (family; Chromium feature set vs claimed major on desktop).
fn engine(c: &Context<'_>, v: &mut EnvVerdict) {
    let Context {
        ua,
        engine,
        engine_bits,
        v8,
        mobile,
        ..
    } = *c;
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
            engine_bits.and_then(|b| b.parse::<u64>().ok()),
        )
    {
        // Bit i = feature i of protocol `ENGINE_FEATURES` (Chrome majors are lower bounds; ±2
        // majors of slack).
        let present = |i: usize| bits & (1 << i) != 0;
        let newer = ENGINE_FEATURES
            .iter()
            .enumerate()
            .any(|(i, f)| f.chrome_major > 0 && present(i) && f.chrome_major > m + 2);
        let older = ENGINE_FEATURES
            .iter()
            .enumerate()
            .filter(|&(i, f)| f.sure && f.chrome_major > 0 && !present(i) && f.chrome_major + 2 < m)
            .count()
            >= 2;
        if newer || older {
            v.inconsistent.push("engine-version");
        }
    }
}

/// C4: geometry (desktop, not Firefox RFP, not iPadOS desktop mode).
fn window_geometry(c: &Context<'_>, v: &mut EnvVerdict) {
    let Context {
        t,
        mobile,
        firefox_like,
        ipad_desktop,
        ..
    } = *c;
    let geo = str_of(t, probe::WINDOW_GEOMETRY).and_then(geometry);
    let scr = str_of(t, probe::SCREEN).and_then(screen);
    let fullscreen = int_of(t, probe::DISPLAY_MODE)
        .is_some_and(|m| m & i64::from(display_mode::FULLSCREEN) != 0);
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
}

/// C5: GPU ↔ OS.
fn gpu(c: &Context<'_>, v: &mut EnvVerdict) {
    let Context { t, os, .. } = *c;
    if let Some(r) = str_of(t, probe::WEBGL_RENDERER) {
        let bad = (r.contains("Direct3D") && os != Os::Windows && os != Os::Unknown)
            || ((r.contains("Metal") || r.contains("Apple M") || r.contains("Apple GPU"))
                && !matches!(os, Os::Mac | Os::Ios | Os::Unknown))
            || (r.contains("Intel Iris OpenGL Engine") && os == Os::Windows);
        if bad {
            v.inconsistent.push("gpu-os");
        }
    }
}

/// C6: pointer events of type touch from a browser that reports no touch points
/// (`touch-no-touch-points`) or exactly one (`touch-one-point`).
///
/// `touch-no-touch-points`: `navigator.maxTouchPoints` is 0 only where no touch digitiser is
/// attached, and there a person cannot touch. Puppeteer's `page.touchscreen` (CDP
/// `Input.dispatchTouchEvent`) in a desktop Chromium fires `pointerdown` / `pointermove` of type
/// touch all the same (measured, session 25: Chromium 156 headless, `maxTouchPoints` 0), which
/// would put the session in the touch device class, judged by the lenient generic knots.
/// (Playwright refuses to tap without `hasTouch`, which turns on touch emulation.)
///
/// Both need the probe's answer (an old collector sends none) and the measured V8 engine:
/// Firefox's resistFingerprinting reports 0 on any device, and WebKit has a site-specific quirk
/// that reports 0 on an iPhone (WebKit PR 35841). Pens are not judged (a desktop drawing tablet
/// has no touch points).
///
/// `touch-one-point`: the same input where the browser reports exactly one touch point. That is
/// the default of CDP's `Emulation.setTouchEmulationEnabled`, so of Chrome DevTools' device mode,
/// Puppeteer's `page.emulate(KnownDevices[…])` and Playwright's `hasTouch` and device presets
/// (measured, session 25: iPhone 13, Pixel 5, Galaxy S9+, iPad Pro 11 all report 1); phones and
/// tablets report 5 or 10, touch laptops 10. A single-touch screen (an old kiosk) is challenged
/// too. An emulation that sets another count is not caught here.
fn touch_input(c: &Context<'_>, v: &mut EnvVerdict) {
    let Context { t, v8, .. } = *c;
    if !v8 || !t.pointer.iter().any(|p| p.ptype == pointer_type::TOUCH) {
        return;
    }
    match int_of(t, probe::MAX_TOUCH_POINTS) {
        Some(0) => v.inconsistent.push("touch-no-touch-points"),
        Some(1) => v.inconsistent.push("touch-one-point"),
        _ => {}
    }
}
