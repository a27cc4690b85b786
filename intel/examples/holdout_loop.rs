//! The learning loop's effect, measured offline on trace data: a bot family the base model never
//! saw, before and after a site's labelled sessions of that family join the training data.
//!
//! - Humans are dealt into 2 subject-wise folds; fold 0's humans (and everything derived from
//!   them) are held out for evaluation.
//! - The family's bots are split by record order: even records are the "site's labelled
//!   sessions" (what `verifier export` would hand to training), odd records the "fresh batch".
//! - Model A: every other record (base data without the family). Model B: A's data plus the
//!   family's labelled half. Both through `train::fit_calibrated` (the code `tollgate-intel
//!   train` runs), scored at the model's default thresholds (allow ≥ 0.6, block < 0.2).
//!
//! ```text
//! D=../shared/data/traces
//! cargo run --release -p tollgate-intel --example holdout_loop -- \
//!     --family delbot/naturalmousemotion --stride 4 --trees 60 \
//!     $D/sapimouse-dev.jsonl.gz $D/aalto-dev.jsonl.gz $D/delbot.jsonl.gz
//! ```

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::{Context, bail};
use tollgate_intel::Label;
use tollgate_intel::cli::{DataOptions, load_dataset};
use tollgate_intel::lofo::families_of;
use tollgate_intel::train::{FitOptions, assign_folds, fit_calibrated};
use tollgate_model::Decision;

fn main() -> anyhow::Result<()> {
    let mut family = "delbot/naturalmousemotion".to_string();
    let mut stride = 1usize;
    let mut trees = 60usize;
    let mut synth = 0.25f64;
    let mut traces = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--family" => family = args.next().context("--family NAME")?,
            "--stride" => stride = args.next().context("--stride N")?.parse()?,
            "--trees" => trees = args.next().context("--trees N")?.parse()?,
            "--synthetic-scale" => synth = args.next().context("--synthetic-scale X")?.parse()?,
            _ => traces.push(PathBuf::from(a)),
        }
    }
    if traces.is_empty() {
        bail!("usage: holdout_loop [--family F] [--stride N] [--trees N] TRACES…");
    }
    let started = std::time::Instant::now();
    let ds = load_dataset(&DataOptions {
        traces,
        seed: 1,
        synth_scale: synth,
        stride,
        as_captures: false,
        keep_unit_coords: false,
        login_windows: Default::default(),
    })?;
    let folds = assign_folds(&ds.records, 2, 1);
    let eval_subjects: HashSet<&str> = ds
        .records
        .iter()
        .zip(&folds)
        .filter(|(r, f)| r.label == Label::Human && **f == 0)
        .map(|(r, _)| r.subject.as_str())
        .collect();
    let mut base = Vec::new();
    let mut site_half = Vec::new();
    let mut fresh = Vec::new();
    let mut eval_humans = Vec::new();
    let mut fam_seen = 0usize;
    for (i, r) in ds.records.iter().enumerate() {
        let in_family = families_of(r).contains(&family);
        if in_family {
            if fam_seen.is_multiple_of(2) {
                site_half.push(i);
            } else {
                fresh.push(i);
            }
            fam_seen += 1;
        } else if eval_subjects.contains(r.subject.as_str()) {
            if r.label == Label::Human && !r.derived {
                eval_humans.push(i);
            }
        } else {
            base.push(i);
        }
    }
    if site_half.is_empty() || fresh.is_empty() {
        bail!("family {family} has too few records ({fam_seen})");
    }
    let fit = FitOptions {
        boost: tollgate_intel::boost::BoostOptions {
            trees,
            ..FitOptions::default().boost
        },
        ..FitOptions::default()
    };
    let with_site: Vec<usize> = base.iter().chain(&site_half).copied().collect();
    let a = fit_calibrated(&ds.records, &ds.feats, &base, &fit)?;
    let b = fit_calibrated(&ds.records, &ds.feats, &with_site, &fit)?;
    println!(
        "family {family}: {} labelled site sessions added, fresh batch {}, held-out humans {} (stride {stride}, trees {trees}, synthetic scale {synth})",
        site_half.len(),
        fresh.len(),
        eval_humans.len()
    );
    for (name, m) in [("A base (family unseen)", &a), ("B base + site labels", &b)] {
        let decide = |i: usize| m.score(&ds.feats[i], ds.replay[i]).decision;
        let allowed = fresh
            .iter()
            .filter(|&&i| decide(i) == Decision::Allow)
            .count();
        let blocked_bots = fresh
            .iter()
            .filter(|&&i| decide(i) == Decision::Block)
            .count();
        let h_chal = eval_humans
            .iter()
            .filter(|&&i| decide(i) != Decision::Allow)
            .count();
        let h_block = eval_humans
            .iter()
            .filter(|&&i| decide(i) == Decision::Block)
            .count();
        let pct = |a: usize, n: usize| 100.0 * a as f64 / n.max(1) as f64;
        println!(
            "{name:24} fresh {family} bots allowed {allowed}/{} ({:.1}%), blocked {:.1}% | held-out humans challenged+blocked {h_chal}/{} ({:.2}%), blocked {:.2}%",
            fresh.len(),
            pct(allowed, fresh.len()),
            pct(blocked_bots, fresh.len()),
            eval_humans.len(),
            pct(h_chal, eval_humans.len()),
            pct(h_block, eval_humans.len()),
        );
    }
    println!("({:.0} s)", started.elapsed().as_secs_f64());
    Ok(())
}
