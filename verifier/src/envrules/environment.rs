//! Tier D: environment — weak hints (`software-gl`, `no-webgl`, `no-media-devices`, …): −0.03
//! each, at most −0.12.

use tollgate_protocol::telemetry::probe;

use super::parse::{bool_of, int_of, num_of, software_gl, str_of};
use super::{Context, EnvVerdict, Os};

/// Tier D findings, in order: the WebGL renderer (`software-gl`, or `no-webgl` when the probe
/// ran without an answer), then the weak hints (plus feature `prefers_dark`).
pub(super) fn rules(c: &Context<'_>, v: &mut EnvVerdict) {
    let Context {
        t, os, v8, mobile, ..
    } = *c;
    match str_of(t, probe::WEBGL_RENDERER) {
        Some(r) if software_gl(r) => v.environment.push("software-gl"),
        Some(_) => {}
        None if t.probe_schema >= 2 && t.probe(probe::WEBGL_RENDERER).is_some() => {
            v.environment.push("no-webgl");
        }
        None => {}
    }

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
}
