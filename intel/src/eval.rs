//! Evaluation metrics and the per-group summary. Convention: the score is human-likeness
//! (1 = human); for ROC figures a *bot* is the positive class, detected when its score is low.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use tollgate_model::model::{Decision, ReplayEvidence, Scored};

use super::{Label, Record};

/// ROC AUC = P(score(human) > score(bot)), ties counted half. `None` if a class is empty.
pub fn auc(humans: &[f64], bots: &[f64]) -> Option<f64> {
    if humans.is_empty() || bots.is_empty() {
        return None;
    }
    let mut all: Vec<(f64, bool)> = humans
        .iter()
        .map(|&s| (s, true))
        .chain(bots.iter().map(|&s| (s, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Mann–Whitney with average ranks for ties.
    let mut rank_sum_h = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        rank_sum_h += avg * all[i..=j].iter().filter(|x| x.1).count() as f64;
        i = j + 1;
    }
    let (nh, nb) = (humans.len() as f64, bots.len() as f64);
    Some((rank_sum_h - nh * (nh + 1.0) / 2.0) / (nh * nb))
}

/// Share of humans flagged (score at or below the threshold) when the threshold is set so that
/// `tpr` of the bots are flagged.
pub fn fpr_at_tpr(humans: &[f64], bots: &[f64], tpr: f64) -> Option<f64> {
    if humans.is_empty() || bots.is_empty() {
        return None;
    }
    let mut b = bots.to_vec();
    b.sort_by(f64::total_cmp);
    let k = ((tpr * b.len() as f64).ceil() as usize).clamp(1, b.len()) - 1;
    let thr = b[k];
    Some(humans.iter().filter(|&&h| h <= thr).count() as f64 / humans.len() as f64)
}

/// ROC points (FPR, TPR) over all thresholds.
pub fn roc(humans: &[f64], bots: &[f64]) -> Vec<(f64, f64)> {
    let mut thr: Vec<f64> = humans.iter().chain(bots).copied().collect();
    thr.sort_by(f64::total_cmp);
    thr.dedup();
    let mut h = humans.to_vec();
    let mut b = bots.to_vec();
    h.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let mut out = vec![(0.0, 0.0)];
    let (mut ih, mut ib) = (0usize, 0usize);
    for t in thr {
        while ih < h.len() && h[ih] <= t {
            ih += 1;
        }
        while ib < b.len() && b[ib] <= t {
            ib += 1;
        }
        out.push((
            ih as f64 / h.len().max(1) as f64,
            ib as f64 / b.len().max(1) as f64,
        ));
    }
    out
}

/// What kinds of behaviour a record carries.
pub fn modality(r: &Record) -> &'static str {
    match (r.session.pointer.is_empty(), r.session.keys.is_empty()) {
        (false, false) => "pointer+keys",
        (false, true) => "pointer",
        (true, false) => "keys",
        (true, true) => "none",
    }
}

#[derive(Debug, Default, Clone)]
struct Tally {
    n: usize,
    allow: usize,
    challenge: usize,
    block: usize,
    subjects: std::collections::BTreeSet<String>,
    scores: Vec<f64>,
}

impl Tally {
    fn add(&mut self, r: &Record, s: &Scored) {
        self.n += 1;
        match s.decision {
            Decision::Allow => self.allow += 1,
            Decision::Challenge => self.challenge += 1,
            Decision::Block => self.block += 1,
        }
        self.subjects.insert(r.subject.clone());
        self.scores.push(s.p_human);
    }
}

fn pct(a: usize, n: usize) -> String {
    if n == 0 {
        "-".into()
    } else {
        format!("{:.2}%", 100.0 * a as f64 / n as f64)
    }
}

fn opt3(x: Option<f64>) -> String {
    x.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into())
}

/// Human-readable summary per group, per label and per modality.
pub fn summary(records: &[Record], scored: &[Scored]) -> String {
    let mut groups: BTreeMap<(Label, String), Tally> = BTreeMap::new();
    let mut by_label: BTreeMap<Label, Tally> = BTreeMap::new();
    let mut by_mod: BTreeMap<(&'static str, Label), Tally> = BTreeMap::new();
    for (r, s) in records.iter().zip(scored) {
        let key = match (&r.generator, r.label) {
            (Some(g), _) => format!("{}/{}", r.source, g.split(':').next().unwrap_or(g)),
            (None, Label::Human) if r.source == "delbot" => format!("{}/{}", r.source, r.subject),
            (None, _) => r.source.clone(),
        };
        groups.entry((r.label, key)).or_default().add(r, s);
        by_label.entry(r.label).or_default().add(r, s);
        by_mod.entry((modality(r), r.label)).or_default().add(r, s);
    }
    let all_h = by_label
        .get(&Label::Human)
        .map(|t| t.scores.clone())
        .unwrap_or_default();
    let all_b = by_label
        .get(&Label::Bot)
        .map(|t| t.scores.clone())
        .unwrap_or_default();
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{:<34} {:>6} {:>5} {:>8} {:>8} {:>8}  {:>7} {:>9} {:>9}",
        "group (label/source/generator)",
        "n",
        "subj",
        "allow",
        "chall",
        "block",
        "AUC",
        "FPR@95",
        "FPR@99"
    );
    let _ = writeln!(o, "{}", "-".repeat(104));
    for ((label, key), t) in &groups {
        let (a, f95, f99) = match label {
            Label::Human => (
                auc(&t.scores, &all_b),
                fpr_at_tpr(&t.scores, &all_b, 0.95),
                fpr_at_tpr(&t.scores, &all_b, 0.99),
            ),
            Label::Bot => (
                auc(&all_h, &t.scores),
                fpr_at_tpr(&all_h, &t.scores, 0.95),
                fpr_at_tpr(&all_h, &t.scores, 0.99),
            ),
        };
        let _ = writeln!(
            o,
            "{:<34} {:>6} {:>5} {:>8} {:>8} {:>8}  {:>7} {:>9} {:>9}",
            format!("{}/{}", label.as_str(), key),
            t.n,
            t.subjects.len(),
            pct(t.allow, t.n),
            pct(t.challenge, t.n),
            pct(t.block, t.n),
            opt3(a),
            opt3(f95),
            opt3(f99)
        );
    }
    let _ = writeln!(o, "{}", "-".repeat(104));
    let _ = writeln!(
        o,
        "per modality (AUC and FPR@TPR against the bots/humans of the same modality):"
    );
    let mods: Vec<&'static str> = by_mod
        .keys()
        .map(|(m, _)| *m)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    for m in mods {
        let h = by_mod.get(&(m, Label::Human));
        let b = by_mod.get(&(m, Label::Bot));
        let hs = h.map(|t| t.scores.as_slice()).unwrap_or(&[]);
        let bs = b.map(|t| t.scores.as_slice()).unwrap_or(&[]);
        let _ = writeln!(
            o,
            "  {:<13} humans {:>5} (blocked {:>6}, challenged+blocked {:>6})  bots {:>5} (allowed {:>6})  AUC {}  FPR@95 {}  FPR@99 {}",
            m,
            hs.len(),
            h.map(|t| pct(t.block, t.n)).unwrap_or("-".into()),
            h.map(|t| pct(t.block + t.challenge, t.n))
                .unwrap_or("-".into()),
            bs.len(),
            b.map(|t| pct(t.allow, t.n)).unwrap_or("-".into()),
            opt3(auc(hs, bs)),
            opt3(fpr_at_tpr(hs, bs, 0.95)),
            opt3(fpr_at_tpr(hs, bs, 0.99)),
        );
    }
    if let (Some(h), Some(b)) = (by_label.get(&Label::Human), by_label.get(&Label::Bot)) {
        let _ = writeln!(
            o,
            "overall: humans {} blocked {} challenged+blocked {} | bots {} allowed {} (TPR {}) | AUC {} FPR@95%TPR {} FPR@99%TPR {}",
            h.n,
            pct(h.block, h.n),
            pct(h.block + h.challenge, h.n),
            b.n,
            pct(b.allow, b.n),
            pct(b.n - b.allow, b.n),
            opt3(auc(&all_h, &all_b)),
            opt3(fpr_at_tpr(&all_h, &all_b, 0.95)),
            opt3(fpr_at_tpr(&all_h, &all_b, 0.99)),
        );
    }
    o
}

/// Subject-bootstrap 95% intervals of the human block and challenge-or-block rates per human
/// source (resampling subjects, not records: records of one subject are not independent).
pub fn human_intervals(records: &[Record], scored: &[Scored], seed: u64) -> String {
    let mut by_source: BTreeMap<&str, BTreeMap<&str, (usize, usize, usize)>> = BTreeMap::new();
    for (r, s) in records.iter().zip(scored) {
        if r.label != Label::Human {
            continue;
        }
        let e = by_source
            .entry(r.source.as_str())
            .or_default()
            .entry(r.subject.as_str())
            .or_insert((0, 0, 0));
        e.0 += 1;
        e.1 += usize::from(s.decision == Decision::Block);
        e.2 += usize::from(s.decision != Decision::Allow);
    }
    let mut rng = super::rng::Rng::derive(seed, "bootstrap");
    let mut o = String::new();
    let _ = writeln!(
        o,
        "humans, 95% subject-bootstrap intervals (200 resamples):"
    );
    for (source, subjects) in &by_source {
        let subs: Vec<(usize, usize, usize)> = subjects.values().copied().collect();
        let (mut bl, mut ch) = (Vec::new(), Vec::new());
        for _ in 0..200 {
            let (mut n, mut b, mut c) = (0usize, 0usize, 0usize);
            for _ in 0..subs.len() {
                let s = subs[rng.int(0, subs.len() - 1)];
                n += s.0;
                b += s.1;
                c += s.2;
            }
            bl.push(b as f64 / n.max(1) as f64);
            ch.push(c as f64 / n.max(1) as f64);
        }
        bl.sort_by(f64::total_cmp);
        ch.sort_by(f64::total_cmp);
        let ci = |v: &[f64]| format!("[{:.2}%, {:.2}%]", 100.0 * v[4], 100.0 * v[194]);
        let _ = writeln!(
            o,
            "  {:<14} subjects {:>4}  blocked {}  challenged+blocked {}{}",
            source,
            subs.len(),
            ci(&bl),
            ci(&ch),
            if subs.len() < 20 {
                "  (few subjects: interval unreliable)"
            } else {
                ""
            }
        );
    }
    o
}

/// Compact one-line metrics (used by training logs and tests).
pub fn headline(records: &[Record], scored: &[Scored]) -> (Option<f64>, f64, f64, f64) {
    let mut h = Vec::new();
    let mut b = Vec::new();
    let (mut hb, mut hc, mut ba) = (0usize, 0usize, 0usize);
    for (r, s) in records.iter().zip(scored) {
        match r.label {
            Label::Human => {
                h.push(s.p_human);
                hb += usize::from(s.decision == Decision::Block);
                hc += usize::from(s.decision != Decision::Allow);
            }
            Label::Bot => {
                b.push(s.p_human);
                ba += usize::from(s.decision == Decision::Allow);
            }
        }
    }
    let frac = |a: usize, n: usize| if n == 0 { 0.0 } else { a as f64 / n as f64 };
    (
        auc(&h, &b),
        frac(hb, h.len()),
        frac(hc, h.len()),
        frac(ba, b.len()),
    )
}

/// Replay-store report: per human source, how often a stroke matched a band of an earlier session
/// (the cross-session collision rate: trace files enter the store before any synthetic session,
/// so a human can only match other humans) and of another subject; per replay generator, how
/// many sessions the store flags.
pub fn replay_report(records: &[Record], replay: &[ReplayEvidence], other: &[usize]) -> String {
    #[derive(Default)]
    struct T {
        sessions: usize,
        hashed_sessions: usize,
        strokes: usize,
        seen: usize,
        other: usize,
        sessions_other: usize,
        flagged: usize,
    }
    let mut m: BTreeMap<String, T> = BTreeMap::new();
    for ((r, e), o) in records.iter().zip(replay).zip(other) {
        if r.derived {
            continue;
        }
        let key = match (&r.generator, r.label) {
            (_, Label::Human) => format!("human/{}", r.source),
            // Bots made from recorded people's strokes: the store sees their source first.
            (Some(g), _)
                if ["replay-", "retimed-human", "human-splice"]
                    .iter()
                    .any(|p| g.starts_with(p)) =>
            {
                format!("bot/{}", g.split(':').next().unwrap_or(g))
            }
            _ => continue,
        };
        let t = m.entry(key).or_default();
        t.sessions += 1;
        t.hashed_sessions += usize::from(e.hashed > 0);
        t.strokes += e.hashed;
        t.seen += e.seen_elsewhere;
        t.other += o;
        t.sessions_other += usize::from(*o > 0);
        t.flagged += usize::from(e.is_replay());
    }
    let pct = |a: usize, b: usize| {
        if b == 0 {
            "-".to_string()
        } else {
            format!("{:.2}%", 100.0 * a as f64 / b as f64)
        }
    };
    let mut out = String::from(
        "replay store (record order; strokes counted per session as live): group sessions hashed strokes | strokes seen elsewhere | strokes / sessions matching another subject | sessions flagged replayed\n",
    );
    for (k, t) in &m {
        out.push_str(&format!(
            "  {k:<36} {:>6} {:>6} {:>6} | {:>5} {:>7} | {:>5} {:>7} / {:>5} {:>7} | {:>5} {:>7}\n",
            t.sessions,
            t.hashed_sessions,
            t.strokes,
            t.seen,
            pct(t.seen, t.strokes),
            t.other,
            pct(t.other, t.strokes),
            t.sessions_other,
            pct(t.sessions_other, t.sessions),
            t.flagged,
            pct(t.flagged, t.sessions),
        ));
    }
    out
}

/// One row of a breakdown table: the humans' and the bots' [`Tally`].
#[derive(Default)]
struct Row {
    humans: Tally,
    bots: Tally,
}

impl Row {
    fn add(&mut self, r: &Record, s: &Scored) {
        match r.label {
            Label::Human => self.humans.add(r, s),
            Label::Bot => self.bots.add(r, s),
        }
    }

    /// The count columns: humans, blocked, challenged+blocked, bots, allowed.
    fn cells(&self) -> String {
        let (h, b) = (&self.humans, &self.bots);
        format!(
            "{:>7} {:>8} {:>9} {:>6} {:>8}",
            h.n,
            pct(h.block, h.n),
            pct(h.block + h.challenge, h.n),
            b.n,
            pct(b.allow, b.n),
        )
    }
}

/// Header of [`Row::cells`].
const ROW_HEADER: &str = "  humans  h.block   h.ch+bl   bots  allowed";

/// Per inferred device class ([`tollgate_model::features::DeviceClass`], from the telemetry
/// itself): which human sources and bot families fall in it and how they were decided. Shows
/// which classes the data can calibrate (enough humans) and which keep the generic knots.
pub fn device_summary(
    records: &[Record],
    feats: &[tollgate_model::features::Features],
    scored: &[Scored],
) -> String {
    use tollgate_model::features::DeviceClass;
    let mut rows: BTreeMap<DeviceClass, (Row, BTreeMap<String, usize>)> = BTreeMap::new();
    for ((r, f), s) in records.iter().zip(feats).zip(scored) {
        let (row, sources) = rows.entry(f.device).or_default();
        row.add(r, s);
        if r.label == Label::Human {
            *sources.entry(r.source.clone()).or_insert(0) += 1;
        }
    }
    let mut o = String::new();
    let _ = writeln!(
        o,
        "per inferred device class: {:<10}{ROW_HEADER}  human sources",
        "class"
    );
    for (d, (row, sources)) in &rows {
        let _ = writeln!(
            o,
            "                           {:<10} {}  {}",
            d.name(),
            row.cells(),
            sources
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    o
}

/// Sampling-rate bucket of a session's pointer stream (median within-stroke interval; the number
/// sorts the buckets fastest first), or `None` without pointer timing.
pub fn rate_bucket(f: &tollgate_model::features::Features) -> Option<(u8, &'static str)> {
    let m = f.get(tollgate_model::features::F::PtDtMedian)?;
    let ms = m.exp() - 1.0;
    Some(match ms {
        x if x < 6.0 => (0, "< 6 ms (>= 170 Hz)"),
        x if x < 10.0 => (1, "6-10 ms (~125 Hz)"),
        x if x < 14.0 => (2, "10-14 ms (75-100 Hz)"),
        x if x < 19.0 => (3, "14-19 ms (~60 Hz)"),
        _ => (4, ">= 19 ms (VM, slow)"),
    })
}

/// Per pointer sampling rate: the training people are almost all frame-locked 60 Hz recordings,
/// while a browser that reads coalesced events reports a 125–1000 Hz mouse at its own rate. A
/// model that learned the rate instead of the hand challenges fast devices; this table shows it.
pub fn rate_summary(
    records: &[Record],
    feats: &[tollgate_model::features::Features],
    scored: &[Scored],
) -> String {
    let mut rows: BTreeMap<(u8, &'static str), Row> = BTreeMap::new();
    for ((r, f), s) in records.iter().zip(feats).zip(scored) {
        if let Some(bucket) = rate_bucket(f) {
            rows.entry(bucket).or_default().add(r, s);
        }
    }
    let mut o = String::new();
    let _ = writeln!(
        o,
        "per pointer sampling rate: {:<21}{ROW_HEADER}",
        "median interval"
    );
    for ((_, b), row) in &rows {
        let _ = writeln!(o, "                           {b:<21} {}", row.cells());
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record whose pointer is one long stroke sampled every `dt` ms (or no pointer at all).
    fn features_at(dt: Option<f64>) -> tollgate_model::features::Features {
        let r = record_at(dt, "human");
        tollgate_model::features::extract(&r.session)
    }

    fn record_at(dt: Option<f64>, label: &str) -> Record {
        let pointer: Vec<String> = dt
            .map(|dt| {
                (0..60)
                    .map(|i| {
                        format!(
                            "[{},\"move\",{},{},0]",
                            f64::from(i) * dt,
                            100 + 5 * i,
                            200 + (i % 7)
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let line = format!(
            "{{\"id\":\"t\",\"source\":\"t\",\"subject\":\"s\",\"label\":\"{label}\",\"generator\":null,\"device\":\"mouse\",\"screen\":null,\"pointer\":[{}],\"keys\":[[0,90,\"char\"],[200,280,\"char\"]]}}",
            pointer.join(",")
        );
        let (mut recs, _) = crate::traces::read_records(line.as_bytes());
        recs.remove(0)
    }

    #[test]
    fn rate_summary_counts_decisions_per_bucket() {
        let model = tollgate_model::model::Model::default_model();
        let cases = [
            (Some(8.0), "human", Decision::Allow),
            (Some(8.0), "human", Decision::Challenge),
            (Some(16.7), "human", Decision::Block),
            (Some(16.7), "bot", Decision::Allow),
            (Some(16.7), "bot", Decision::Block),
            (None, "human", Decision::Block),
        ];
        let (mut records, mut feats, mut scored) = (Vec::new(), Vec::new(), Vec::new());
        for (dt, label, decision) in cases {
            let r = record_at(dt, label);
            let f = tollgate_model::features::extract(&r.session);
            let mut s = model.score(&f, ReplayEvidence::default());
            s.decision = decision;
            records.push(r);
            feats.push(f);
            scored.push(s);
        }
        let out = rate_summary(&records, &feats, &scored);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines.len(),
            3,
            "header and two buckets; no pointer, no row:\n{out}"
        );
        fn cells(l: &str) -> Vec<&str> {
            l.split_whitespace().rev().take(5).collect()
        }
        // Fastest first; columns humans, blocked, challenged+blocked, bots, allowed (reversed).
        assert!(lines[1].contains("6-10 ms"), "{out}");
        assert_eq!(cells(lines[1]), ["-", "0", "50.00%", "0.00%", "2"], "{out}");
        assert!(lines[2].contains("14-19 ms"), "{out}");
        assert_eq!(
            cells(lines[2]),
            ["50.00%", "2", "100.00%", "100.00%", "1"],
            "{out}"
        );
        // The header's last column ends where the rows' do.
        assert_eq!(lines[0].len(), lines[1].len(), "{out}");
    }

    #[test]
    fn sampling_rate_buckets() {
        assert_eq!(rate_bucket(&features_at(Some(4.0))).map(|b| b.0), Some(0));
        assert_eq!(rate_bucket(&features_at(Some(8.0))).map(|b| b.0), Some(1));
        assert_eq!(rate_bucket(&features_at(Some(16.7))).map(|b| b.0), Some(3));
        assert_eq!(rate_bucket(&features_at(Some(40.0))).map(|b| b.0), Some(4));
        assert_eq!(rate_bucket(&features_at(None)), None);
    }

    #[test]
    fn auc_and_fpr() {
        assert_eq!(auc(&[0.9, 0.8], &[0.1, 0.2]), Some(1.0));
        assert_eq!(auc(&[0.1, 0.2], &[0.9, 0.8]), Some(0.0));
        assert_eq!(auc(&[0.5], &[0.5]), Some(0.5));
        assert_eq!(auc(&[], &[0.5]), None);
        let h: Vec<f64> = (0..100).map(|i| 0.5 + i as f64 / 200.0).collect();
        let b: Vec<f64> = (0..100).map(|i| i as f64 / 200.0).collect();
        assert_eq!(fpr_at_tpr(&h, &b, 0.95), Some(0.0));
        assert_eq!(
            fpr_at_tpr(&h, &b, 1.0),
            Some(0.0),
            "threshold 0.495 flags no human"
        );
        assert_eq!(fpr_at_tpr(&[0.1, 0.9], &b, 1.0), Some(0.5));
        let r = roc(&h, &b);
        assert_eq!(*r.last().unwrap(), (1.0, 1.0));
    }
}
