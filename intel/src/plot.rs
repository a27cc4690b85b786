//! Evaluation plots as SVG (written by hand, no plotting dependency): ROC curves per evidence
//! modality on the left, score histograms per class with the site-policy thresholds on the
//! right. Both panels have axis titles, tick labels and a legend.

use std::fmt::Write as _;

use tollgate_model::Thresholds;
use tollgate_model::model::Scored;

use super::eval::{auc, modality, roc};
use super::{IntelError, Label, Record};

const W: f64 = 1040.0;
const H: f64 = 520.0;
/// Plot area of each panel: left edge, top, width, height.
const ROC: (f64, f64, f64, f64) = (80.0, 50.0, 380.0, 380.0);
const HIST: (f64, f64, f64, f64) = (600.0, 50.0, 400.0, 380.0);
const BINS: usize = 50;

/// ROC series: modality name (as [`modality`] reports it, or `all`) and colour.
const SERIES: [(&str, &str); 4] = [
    ("all", "#000000"),
    ("pointer", "#2a5adc"),
    ("keys", "#f08c14"),
    ("pointer+keys", "#9632aa"),
];
const HUMAN: &str = "#1ea03c";
const BOT: &str = "#dc2828";

/// Text content and attribute values: escape the XML specials.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

struct Svg(String);

impl Svg {
    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, style: &str) {
        let _ = writeln!(
            self.0,
            r#"<line x1="{x1:.1}" y1="{y1:.1}" x2="{x2:.1}" y2="{y2:.1}" {style}/>"#
        );
    }
    fn text(&mut self, x: f64, y: f64, anchor: &str, extra: &str, s: &str) {
        let _ = writeln!(
            self.0,
            r#"<text x="{x:.1}" y="{y:.1}" text-anchor="{anchor}" {extra}>{}</text>"#,
            esc(s)
        );
    }
    fn polyline(&mut self, pts: &[(f64, f64)], colour: &str) {
        let mut p = String::new();
        for (x, y) in pts {
            let _ = write!(p, "{x:.1},{y:.1} ");
        }
        let _ = writeln!(
            self.0,
            r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
            p.trim_end()
        );
    }

    /// Frame, grid, ticks and tick labels of a unit-square panel (`y_ticks`: value at which
    /// to draw, label), axis titles and panel title.
    fn axes(
        &mut self,
        (x0, y0, w, h): (f64, f64, f64, f64),
        y_ticks: &[(f64, String)],
        titles: (&str, &str, &str),
    ) {
        let grid = r##"stroke="#e6e6e6" stroke-width="1""##;
        let axis = r##"stroke="#3c3c3c" stroke-width="1""##;
        for i in 0..=5 {
            let v = f64::from(i) / 5.0;
            let x = x0 + v * w;
            self.line(x, y0, x, y0 + h, grid);
            self.line(x, y0 + h, x, y0 + h + 5.0, axis);
            self.text(x, y0 + h + 20.0, "middle", "", &format!("{v:.1}"));
        }
        for (v, label) in y_ticks {
            let y = y0 + h - v * h;
            self.line(x0, y, x0 + w, y, grid);
            self.line(x0 - 5.0, y, x0, y, axis);
            self.text(x0 - 8.0, y + 4.0, "end", "", label);
        }
        self.line(x0, y0 + h, x0 + w, y0 + h, axis);
        self.line(x0, y0, x0, y0 + h, axis);
        let (xt, yt, title) = titles;
        self.text(x0 + w / 2.0, y0 + h + 42.0, "middle", "", xt);
        let (cx, cy) = (x0 - 55.0, y0 + h / 2.0);
        self.text(
            cx,
            cy,
            "middle",
            &format!(r#"transform="rotate(-90 {cx:.1} {cy:.1})""#),
            yt,
        );
        self.text(
            x0 + w / 2.0,
            y0 - 18.0,
            "middle",
            r#"font-weight="bold""#,
            title,
        );
    }

    /// Legend box in the panel's corner: colour swatch and label per entry.
    fn legend(&mut self, x: f64, y: f64, entries: &[(String, &str, &str)]) {
        let width = 12.0 + 7.0 * entries.iter().map(|e| e.0.len()).max().unwrap_or(0) as f64;
        let _ = writeln!(
            self.0,
            r##"<g class="legend"><rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="#ffffff" fill-opacity="0.85" stroke="#999999"/>"##,
            width + 30.0,
            8.0 + 18.0 * entries.len() as f64
        );
        for (i, (label, colour, dash)) in entries.iter().enumerate() {
            let ly = y + 16.0 + 18.0 * i as f64;
            self.line(
                x + 8.0,
                ly - 4.0,
                x + 30.0,
                ly - 4.0,
                &format!(r#"stroke="{colour}" stroke-width="2" {dash}"#),
            );
            self.text(x + 36.0, ly, "start", "", label);
        }
        self.0.push_str("</g>\n");
    }
}

/// The plot as SVG text.
pub fn render(records: &[Record], scored: &[Scored]) -> String {
    let mut s = Svg(String::new());
    let _ = writeln!(
        s.0,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    s.0.push_str("<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");

    // Left: ROC per modality (x = humans flagged, y = bots flagged, at every threshold).
    let (x0, y0, w, h) = ROC;
    let ticks: Vec<(f64, String)> = (0..=5)
        .map(|i| (f64::from(i) / 5.0, format!("{:.1}", f64::from(i) / 5.0)))
        .collect();
    s.axes(
        ROC,
        &ticks,
        (
            "humans flagged (false-positive rate)",
            "bots flagged (true-positive rate)",
            "ROC by evidence modality",
        ),
    );
    s.line(
        x0,
        y0 + h,
        x0 + w,
        y0,
        r##"stroke="#bbbbbb" stroke-dasharray="4 4""##,
    );
    let mut legend = Vec::new();
    for (name, colour) in SERIES {
        let (mut hs, mut bs) = (Vec::new(), Vec::new());
        for (r, sc) in records.iter().zip(scored) {
            if name != "all" && modality(r) != name {
                continue;
            }
            match r.label {
                Label::Human => hs.push(sc.p_human),
                Label::Bot => bs.push(sc.p_human),
            }
        }
        let Some(a) = auc(&hs, &bs) else {
            continue;
        };
        let pts: Vec<(f64, f64)> = roc(&hs, &bs)
            .into_iter()
            .map(|(fx, fy)| (x0 + fx * w, y0 + h - fy * h))
            .collect();
        s.polyline(&pts, colour);
        legend.push((format!("{name} (AUC {a:.3})"), colour, ""));
    }
    s.legend(
        x0 + w - 200.0,
        y0 + h - 20.0 - 18.0 * legend.len() as f64,
        &legend,
    );

    // Right: score histograms per class, sqrt of the class share per bin.
    let (x0, y0, w, h) = HIST;
    let shares = [0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0];
    let ticks: Vec<(f64, String)> = shares
        .iter()
        .map(|v: &f64| (v.sqrt(), format!("{}%", v * 100.0)))
        .collect();
    s.axes(
        HIST,
        &ticks,
        (
            "score (1 = human)",
            "share of the class per bin (sqrt scale)",
            "Score distribution",
        ),
    );
    let policy = Thresholds::default();
    for (t, name) in [(policy.block, "block"), (policy.allow, "allow")] {
        let x = x0 + t * w;
        s.line(
            x,
            y0,
            x,
            y0 + h,
            r##"stroke="#777777" stroke-dasharray="6 3""##,
        );
        s.text(
            x + 3.0,
            y0 + 12.0,
            "start",
            r##"fill="#555555""##,
            &format!("{name} {t}"),
        );
    }
    let mut legend = Vec::new();
    for (label, colour, name) in [(Label::Human, HUMAN, "humans"), (Label::Bot, BOT, "bots")] {
        let mut hist = [0usize; BINS];
        let mut n = 0usize;
        for (r, sc) in records.iter().zip(scored) {
            if r.label == label {
                let b = ((sc.p_human.clamp(0.0, 1.0) * BINS as f64) as usize).min(BINS - 1);
                hist[b] += 1;
                n += 1;
            }
        }
        if n == 0 {
            continue;
        }
        let bw = w / BINS as f64;
        let mut pts = vec![(x0, y0 + h)];
        for (i, &k) in hist.iter().enumerate() {
            let y = y0 + h - h * (k as f64 / n as f64).sqrt();
            let x = x0 + i as f64 * bw;
            pts.push((x, y));
            pts.push((x + bw, y));
        }
        pts.push((x0 + w, y0 + h));
        s.polyline(&pts, colour);
        legend.push((format!("{name} (n = {n})"), colour, ""));
    }
    legend.push((
        "policy thresholds".to_string(),
        "#777777",
        r#"stroke-dasharray="6 3""#,
    ));
    s.legend(x0 + w - 190.0, y0 + 24.0, &legend);
    s.0.push_str("</svg>\n");
    s.0
}

/// Draw ROC curves and histograms to `path` (SVG).
pub fn plot(
    records: &[Record],
    scored: &[Scored],
    path: &std::path::Path,
) -> Result<(), IntelError> {
    std::fs::write(path, render(records, scored)).map_err(|e| IntelError::Write {
        path: path.display().to_string(),
        source: e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_model::features::{Key, Pt, Session, extract};
    use tollgate_model::{Model, ReplayEvidence};

    /// Records of every modality and class with chosen scores.
    fn data() -> (Vec<Record>, Vec<Scored>) {
        let pt = Pt {
            t_ms: 0.0,
            kind: 0,
            x: 1.0,
            y: 2.0,
            buttons: 0,
            ptype: 0,
            pressure: None,
            trusted: None,
            coalesced: false,
        };
        let key = Key {
            down_ms: 0.0,
            up_ms: 80.0,
            class: 0,
            unreleased: false,
        };
        let base =
            Model::default_model().score(&extract(&Session::default()), ReplayEvidence::default());
        let (mut records, mut scored) = (Vec::new(), Vec::new());
        for i in 0..40 {
            let label = if i % 2 == 0 { Label::Human } else { Label::Bot };
            let mut session = Session::default();
            if i % 3 != 1 {
                session.pointer.push(pt);
            }
            if i % 3 != 0 {
                session.keys.push(key);
            }
            records.push(Record {
                id: format!("r{i}"),
                source: "test".into(),
                subject: format!("s{i}"),
                label,
                generator: None,
                session,
                trainable: true,
                derived: false,
            });
            let mut s = base.clone();
            s.p_human = match label {
                Label::Human => 0.5 + f64::from(i) / 100.0,
                Label::Bot => f64::from(i) / 80.0,
            };
            scored.push(s);
        }
        (records, scored)
    }

    /// Minimal XML well-formedness: tags balance, attributes quoted, no raw `<`/`&` in text.
    fn well_formed(svg: &str) -> Result<(), String> {
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = svg;
        while let Some(open) = rest.find('<') {
            let text = &rest[..open];
            if text.contains('>')
                || text
                    .replace("&amp;", "")
                    .replace("&lt;", "")
                    .replace("&gt;", "")
                    .replace("&quot;", "")
                    .contains('&')
            {
                return Err(format!("bad text {text:?}"));
            }
            let close = rest[open..].find('>').ok_or("unclosed tag")? + open;
            let tag = &rest[open + 1..close];
            if !tag.matches('"').count().is_multiple_of(2) || tag.contains('<') {
                return Err(format!("bad tag {tag:?}"));
            }
            if let Some(name) = tag.strip_prefix('/') {
                if stack.pop() != Some(name) {
                    return Err(format!("unbalanced </{name}>"));
                }
            } else if !tag.ends_with('/') {
                stack.push(tag.split_whitespace().next().ok_or("empty tag")?);
            }
            rest = &rest[close + 1..];
            if stack.is_empty() {
                return if rest.trim().is_empty() {
                    Ok(())
                } else {
                    Err("content after the root".into())
                };
            }
        }
        Err(format!("unclosed elements {stack:?}"))
    }

    #[test]
    fn svg_is_well_formed_with_axes_ticks_and_legends() {
        let (records, scored) = data();
        let svg = render(&records, &scored);
        assert!(
            svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
            "{svg}"
        );
        well_formed(&svg).unwrap();
        for label in [
            "humans flagged (false-positive rate)",
            "bots flagged (true-positive rate)",
            "score (1 = human)",
            "share of the class per bin (sqrt scale)",
            ">0.4<",
            ">25%<",
            "all (AUC 1.000)",
            "pointer (AUC",
            "keys (AUC",
            "pointer+keys (AUC",
            "humans (n = 20)",
            "bots (n = 20)",
            "policy thresholds",
            "block 0.2",
            "allow 0.6",
        ] {
            assert!(svg.contains(label), "missing {label:?}");
        }
        assert_eq!(svg.matches("class=\"legend\"").count(), 2);
        assert_eq!(svg.matches("<polyline").count(), 4 + 2);
        assert!(well_formed("<svg><g></svg>").is_err() && well_formed("<svg>a < b</svg>").is_err());
        // No data: still a valid (empty) plot.
        well_formed(&render(&[], &[])).unwrap();
    }
}
