// SCRATCH (not committed): grid share of move intervals against person cadences.
use std::collections::BTreeMap;
use std::path::Path;
use tollgate_intel::traces::read_file;
use tollgate_model::features::pointer::PERSON_CADENCES_MS;
use tollgate_protocol::telemetry::pointer_kind;

fn main() {
    let tol: f64 = std::env::var("TOL")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let minc: f64 = std::env::var("MINC")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(6.9);
    let extra: Vec<f64> = std::env::var("EXTRA")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.parse().ok()).collect())
        .unwrap_or_default();
    let cads: Vec<f64> = PERSON_CADENCES_MS
        .iter()
        .copied()
        .chain(extra)
        .filter(|c| *c >= minc)
        .collect();
    let th: Vec<f64> = vec![0.4, 0.5];
    let maxmed: f64 = std::env::var("MAXMED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(80.0);
    let mut by: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
    for f in std::env::args().skip(1) {
        let (recs, _) = read_file(Path::new(&f)).unwrap();
        for r in recs {
            let p = &r.session.pointer;
            let mut gaps: Vec<f64> = p
                .windows(2)
                .filter(|w| w[0].kind == pointer_kind::MOVE && w[1].kind == pointer_kind::MOVE)
                .filter(|w| ((w[0].x - w[1].x).powi(2) + (w[0].y - w[1].y).powi(2)).sqrt() >= 1.0)
                .map(|w| w[1].t_ms - w[0].t_ms)
                .filter(|g| *g > 0.0 && *g <= 1000.0)
                .collect();
            gaps.sort_by(f64::total_cmp);
            if gaps.len() < 12 {
                continue;
            }
            let med = gaps[gaps.len() / 2];
            if !(10.0..80.0).contains(&med) {
                continue;
            }
            if med >= maxmed {
                continue;
            }
            let best = cads
                .iter()
                .map(|c| {
                    let on = gaps
                        .iter()
                        .filter(|g| {
                            let n = (*g / c).round().max(1.0);
                            (*g - n * c).abs() <= tol
                        })
                        .count();
                    (on as f64 / gaps.len() as f64, *c)
                })
                .fold((0.0, 0.0), |a, b| if b.0 > a.0 { b } else { a });
            let g = if r.source == "probes" {
                r.id.rsplit_once('/').unwrap().0.to_string()
            } else {
                match &r.generator {
                    Some(g) => format!(
                        "{}/{}/{}",
                        r.source,
                        r.label.as_str(),
                        g.split(':').next().unwrap_or(g)
                    ),
                    None => format!(
                        "{}/{}/{}",
                        r.source,
                        r.label.as_str(),
                        if r.source == "delbot" {
                            r.subject.clone()
                        } else {
                            String::new()
                        }
                    ),
                }
            };
            by.entry(g).or_default().push((best.0, med));
        }
    }
    for (g, mut v) in by {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        let q = |p: f64| v[((v.len() - 1) as f64 * p) as usize].0;
        let mut under: Vec<String> = th
            .iter()
            .map(|t| {
                format!(
                    "<{t} {:.1}%",
                    100.0 * v.iter().filter(|x| x.0 < *t).count() as f64 / v.len() as f64
                )
            })
            .collect();
        let mut m: Vec<f64> = v.iter().map(|x| x.1).collect();
        m.sort_by(f64::total_cmp);
        under.push(format!(
            "med p10 {:.1} p50 {:.1} p90 {:.1}",
            m[m.len() / 10],
            m[m.len() / 2],
            m[m.len() * 9 / 10]
        ));
        println!(
            "{g:40} n {:5}  min {:.2} p01 {:.2} p05 {:.2} p10 {:.2} p50 {:.2}  {}",
            v.len(),
            v[0].0,
            q(0.01),
            q(0.05),
            q(0.1),
            q(0.5),
            under.join(" ")
        );
    }
}
