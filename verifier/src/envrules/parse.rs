//! Probe value accessors and the parsers of probe strings (user agent, brands, geometry).

use tollgate_protocol::telemetry::{ProbeValue, Telemetry};

pub(super) fn str_of(t: &Telemetry, id: u16) -> Option<&str> {
    match t.probe(id) {
        Some(ProbeValue::Str(s)) => Some(s),
        _ => None,
    }
}

pub(super) fn int_of(t: &Telemetry, id: u16) -> Option<i64> {
    match t.probe(id) {
        Some(ProbeValue::Int(i)) => Some(*i),
        Some(ProbeValue::Num(n)) if n.is_finite() => Some(*n as i64),
        _ => None,
    }
}

pub(super) fn num_of(t: &Telemetry, id: u16) -> Option<f64> {
    match t.probe(id) {
        Some(ProbeValue::Int(i)) => Some(*i as f64),
        Some(ProbeValue::Num(n)) if n.is_finite() => Some(*n),
        _ => None,
    }
}

pub(super) fn bool_of(t: &Telemetry, id: u16) -> Option<bool> {
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
pub(super) fn brand_list(s: &str) -> Vec<(&str, &str)> {
    s.split(',')
        .filter(|p| !p.is_empty())
        .map(|p| p.rsplit_once('/').unwrap_or((p, "")))
        .collect()
}

pub(super) fn major(v: &str) -> Option<u32> {
    v.split('.').next()?.parse().ok()
}

/// `A×B` → (A, B).
pub(super) fn pair(s: &str) -> Option<(f64, f64)> {
    let (a, b) = s.split_once('×')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}

/// SCREEN: `W×H avail W×H depth` → (w, h, aw, ah).
pub(super) fn screen(s: &str) -> Option<(f64, f64, f64, f64)> {
    let mut it = s.split(' ');
    let (w, h) = pair(it.next()?)?;
    if it.next()? != "avail" {
        return None;
    }
    let (aw, ah) = pair(it.next()?)?;
    Some((w, h, aw, ah))
}

/// WINDOW_GEOMETRY: `inner W×H outer W×H dpr D at X,Y` → (iw, ih, ow, oh, dpr).
pub(super) fn geometry(s: &str) -> Option<(f64, f64, f64, f64, f64)> {
    let parts: Vec<&str> = s.split(' ').collect();
    if parts.len() < 6 || parts[0] != "inner" || parts[2] != "outer" || parts[4] != "dpr" {
        return None;
    }
    let (iw, ih) = pair(parts[1])?;
    let (ow, oh) = pair(parts[3])?;
    Some((iw, ih, ow, oh, parts[5].parse().ok()?))
}

pub(super) fn software_gl(r: &str) -> bool {
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
