//! Environment probes (probe schema 1, first set). Every JS access goes through `js_sys::Reflect`
//! or `Function::call*`, which return `Result`, so a throwing getter (spoofing extension, Proxy
//! lie) becomes `ProbeValue::Error` instead of unwinding through the collector.

use js_sys::{Array, Function, Reflect};
use tollgate_protocol::telemetry::{MAX_PROBE_STR, ProbeValue, probe};
use wasm_bindgen::{JsCast, JsValue};

use crate::state::State;

type R<T> = Result<T, JsValue>;

fn get(obj: &JsValue, key: &str) -> R<JsValue> {
    if obj.is_undefined() || obj.is_null() {
        return Ok(JsValue::UNDEFINED);
    }
    Reflect::get(obj, &JsValue::from_str(key))
}

/// Truncate to the protocol's probe string cap on a char boundary.
pub fn clip(mut s: String) -> String {
    if s.len() > MAX_PROBE_STR {
        let mut end = MAX_PROBE_STR;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// A JS value as a probe value: undefined → Absent, bool, integral number → Int, other number →
/// Num, string → Str, anything else → Str of its type.
fn value(v: &JsValue) -> ProbeValue {
    if v.is_undefined() {
        ProbeValue::Absent
    } else if let Some(b) = v.as_bool() {
        ProbeValue::Bool(b)
    } else if let Some(n) = v.as_f64() {
        if n.fract() == 0.0 && n.abs() < 9.0e15 {
            ProbeValue::Int(n as i64)
        } else {
            ProbeValue::Num(n)
        }
    } else if let Some(s) = v.as_string() {
        ProbeValue::Str(clip(s))
    } else if v.is_null() {
        ProbeValue::Str("null".into())
    } else {
        ProbeValue::Str(clip(format!(
            "[{}]",
            v.js_typeof().as_string().unwrap_or_default()
        )))
    }
}

/// `name: message` of a thrown value.
pub fn error_text(e: &JsValue) -> String {
    let part = |k: &str| get(e, k).ok().and_then(|v| v.as_string());
    let text = match (part("name"), part("message")) {
        (Some(n), Some(m)) => format!("{n}: {m}"),
        (Some(n), None) => n,
        (None, Some(m)) => m,
        (None, None) => e.as_string().unwrap_or_else(|| "thrown".into()),
    };
    clip(text)
}

/// A numeric property as JS prints it (`String(n)`; keeps Rust's float formatting, ~15 KB of
/// wasm, out of the build), or `?` when it is not a number.
fn num(obj: &JsValue, key: &str) -> R<String> {
    let v = get(obj, key)?;
    Ok(match v.as_f64() {
        Some(n) if n.fract() == 0.0 && n.abs() < 1e15 => (n as i64).to_string(),
        Some(_) => js_sys::Number::from(v)
            .to_string_with_radix(10)
            .map(String::from)
            .unwrap_or_else(|_| "?".into()),
        None => "?".into(),
    })
}

fn global() -> JsValue {
    js_sys::global().into()
}

fn navigator() -> R<JsValue> {
    get(&global(), "navigator")
}

fn webdriver() -> R<ProbeValue> {
    let v = get(&navigator()?, "webdriver")?;
    Ok(value(&v))
}

fn webdriver_in_navigator() -> R<ProbeValue> {
    let nav = navigator()?;
    if !nav.is_object() {
        return Ok(ProbeValue::Absent);
    }
    Ok(ProbeValue::Bool(Reflect::has(
        &nav,
        &JsValue::from_str("webdriver"),
    )?))
}

fn nav_value(key: &str) -> R<ProbeValue> {
    Ok(value(&get(&navigator()?, key)?))
}

fn languages() -> R<ProbeValue> {
    let v = get(&navigator()?, "languages")?;
    if !Array::is_array(&v) {
        return Ok(value(&v));
    }
    let arr: Array = v.unchecked_into();
    let parts: Vec<String> = arr
        .iter()
        .map(|l| l.as_string().unwrap_or_else(|| "?".into()))
        .collect();
    Ok(ProbeValue::Str(clip(parts.join(","))))
}

fn screen() -> R<ProbeValue> {
    let s = get(&global(), "screen")?;
    if s.is_undefined() {
        return Ok(ProbeValue::Absent);
    }
    Ok(ProbeValue::Str(format!(
        "{}×{} avail {}×{} {}",
        num(&s, "width")?,
        num(&s, "height")?,
        num(&s, "availWidth")?,
        num(&s, "availHeight")?,
        num(&s, "colorDepth")?
    )))
}

fn window_geometry() -> R<ProbeValue> {
    let w = global();
    Ok(ProbeValue::Str(format!(
        "inner {}×{} outer {}×{} dpr {} at {},{}",
        num(&w, "innerWidth")?,
        num(&w, "innerHeight")?,
        num(&w, "outerWidth")?,
        num(&w, "outerHeight")?,
        num(&w, "devicePixelRatio")?,
        num(&w, "screenX")?,
        num(&w, "screenY")?
    )))
}

fn timezone() -> R<ProbeValue> {
    let ctor = get(&get(&global(), "Intl")?, "DateTimeFormat")?;
    let Some(ctor) = ctor.dyn_ref::<Function>() else {
        return Ok(ProbeValue::Absent);
    };
    let fmt = Reflect::construct(ctor, &Array::new())?;
    let resolved = get(&fmt, "resolvedOptions")?
        .dyn_into::<Function>()?
        .call0(&fmt)?;
    Ok(value(&get(&resolved, "timeZone")?))
}

/// Known automation globals (exact names).
const AUTOMATION_NAMES: &[&str] = &[
    "domAutomation",
    "domAutomationController",
    "__playwright__binding__",
    "callPhantom",
    "_phantom",
    "__nightmare",
];

/// Prefixes of driver-injected globals (chromedriver's `cdc_…`/`$cdc_…`, legacy drivers).
const AUTOMATION_PREFIXES: &[&str] = &[
    "cdc_",
    "$cdc_",
    "__webdriver_",
    "__driver_",
    "__selenium_",
    "__fxdriver_",
];

/// Whether an own-property name of `window`/`document` looks driver-injected.
pub fn is_automation_name(name: &str) -> bool {
    AUTOMATION_NAMES.contains(&name) || AUTOMATION_PREFIXES.iter().any(|p| name.starts_with(p))
}

fn automation_globals() -> R<ProbeValue> {
    let g = global();
    let doc = get(&g, "document")?;
    let mut found: Vec<String> = Vec::new();
    for (label, obj) in [("", &g), ("document.", &doc)] {
        if !obj.is_object() {
            continue;
        }
        for key in Reflect::own_keys(obj.unchecked_ref())?.iter() {
            if let Some(name) = key.as_string()
                && is_automation_name(&name)
            {
                found.push(format!("{label}{name}"));
            }
        }
    }
    // Names that may live on a prototype rather than as own properties.
    for name in AUTOMATION_NAMES {
        if !found.iter().any(|f| f == name)
            && Reflect::has(g.unchecked_ref(), &JsValue::from_str(name))?
        {
            found.push((*name).to_string());
        }
    }
    let html = get(&doc, "documentElement")?;
    if let Ok(has_attr) = get(&html, "hasAttribute")?.dyn_into::<Function>() {
        for attr in ["webdriver", "selenium", "driver"] {
            if has_attr.call1(&html, &JsValue::from_str(attr))?.is_truthy() {
                found.push(format!("html@{attr}"));
            }
        }
    }
    Ok(ProbeValue::Str(clip(found.join(","))))
}

/// The main-thread probe list of this collector build.
pub const MAIN_THREAD_PROBES: &[u16] = &[
    probe::WEBDRIVER,
    probe::WEBDRIVER_IN_NAVIGATOR,
    probe::USER_AGENT,
    probe::PLATFORM,
    probe::LANGUAGES,
    probe::HARDWARE_CONCURRENCY,
    probe::DEVICE_MEMORY,
    probe::SCREEN,
    probe::WINDOW_GEOMETRY,
    probe::TIMEZONE,
    probe::AUTOMATION_GLOBALS,
];

fn run_one(id: u16) -> R<ProbeValue> {
    match id {
        probe::WEBDRIVER => webdriver(),
        probe::WEBDRIVER_IN_NAVIGATOR => webdriver_in_navigator(),
        probe::USER_AGENT => nav_value("userAgent"),
        probe::PLATFORM => nav_value("platform"),
        probe::LANGUAGES => languages(),
        probe::HARDWARE_CONCURRENCY => nav_value("hardwareConcurrency"),
        probe::DEVICE_MEMORY => nav_value("deviceMemory"),
        probe::SCREEN => screen(),
        probe::WINDOW_GEOMETRY => window_geometry(),
        probe::TIMEZONE => timezone(),
        probe::AUTOMATION_GLOBALS => automation_globals(),
        _ => Ok(ProbeValue::Absent),
    }
}

/// Run every main-thread probe into `state`; a throwing probe is recorded as `Error`.
pub fn run_all(state: &mut State) {
    for &id in MAIN_THREAD_PROBES {
        let v = run_one(id).unwrap_or_else(|e| ProbeValue::Error(error_text(&e)));
        state.set_probe(id, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automation_names() {
        for n in [
            "cdc_adoQpoasnfa76pfcZLmcfl_Array",
            "$cdc_asdjflasutopfhvcZLmcfl_",
            "__webdriver_evaluate",
            "__selenium_unwrapped",
            "__fxdriver_id",
            "__driver_evaluate",
            "domAutomation",
            "_phantom",
            "__nightmare",
        ] {
            assert!(is_automation_name(n), "{n}");
        }
        for n in [
            "phantom",
            "webdriver",
            "cdc",
            "onload",
            "chrome",
            "__playwright",
            "domAutomationX",
        ] {
            assert!(!is_automation_name(n), "{n}");
        }
    }

    #[test]
    fn clip_respects_char_boundaries() {
        let s = "é".repeat(MAX_PROBE_STR);
        let c = clip(s);
        assert!(c.len() <= MAX_PROBE_STR && c.len() >= MAX_PROBE_STR - 1);
        assert_eq!(clip("abc".into()), "abc");
    }
}
