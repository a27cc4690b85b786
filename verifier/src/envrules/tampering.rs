//! Tier B: tampering — native functions/properties that lie (`lie-probes`, `own-property`,
//! `identity`, `webdriver-deleted`, `probe-errors`). Caps at challenge, never blocks alone.

use tollgate_protocol::telemetry::{LIE_TARGETS, ProbeValue, probe};

use super::parse::{bool_of, int_of, str_of};
use super::{Context, EnvVerdict};

/// Tier B findings, in order (plus feature `lie_targets` and the lies themselves).
pub(super) fn rules(c: &Context<'_>, v: &mut EnvVerdict) {
    let Context {
        t,
        v8,
        firefox_like,
        ..
    } = *c;
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
}
