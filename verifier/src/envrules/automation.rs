//! Tier A: automation — a driver is attached (`webdriver`, `headless-ua`, `automation-globals`,
//! `automation-stack`: hard, block on their own; `cdp-console`: soft alone).

use tollgate_protocol::telemetry::{ProbeValue, probe};

use super::parse::{int_of, str_of};
use super::{Context, EnvVerdict};

/// Tier A findings, in order: `webdriver`, `headless-ua`, `automation-globals`,
/// `automation-stack`, `cdp-console` (plus feature `cdp_prepare_calls`).
pub(super) fn rules(c: &Context<'_>, v: &mut EnvVerdict) {
    let Context { t, .. } = *c;
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
}
