//! `tollgate-intel train` and `tollgate-intel eval`: option structs (the binary maps its CLI
//! onto them) and the two commands. Progress goes to stderr, results to stdout.

use std::io::Write;
use std::path::{Path, PathBuf};

use tollgate_model::features::{Features, extract};
use tollgate_model::model::{Model, ReplayEvidence, Scored};

use super::synth::{SynthOptions, generate};
use super::train::{FitOptions, cross_validate, fit_calibrated};
use super::{IntelError, Label, Record, ReplayStore, eval, lofo, plot, traces};

/// Which data to use.
#[derive(Debug, Clone)]
pub struct DataOptions {
    pub traces: Vec<PathBuf>,
    pub seed: u64,
    /// Multiplier of the default synthetic bot counts (0 = none).
    pub synth_scale: f64,
    /// Keep every n-th record of each trace file (1 = all); for quick smoke runs.
    pub stride: usize,
    /// Score every trace record as a collector capture of coalesced device samples (what
    /// Chromium's collector sends), not as a trace: the capture-only rules and readings apply.
    pub as_captures: bool,
    /// Keep pointer coordinates logged as fractions as they are instead of rescaling them to
    /// pixels ([`traces::UnitCoords`]); the shipped model is trained so.
    pub keep_unit_coords: bool,
    /// Add login-length pointer windows of the pointer-only people ([`login_pointer_windows`]).
    pub login_windows: LoginWindows,
}

/// Sparse pointer evidence: for each pointer-only human record with at least 40 rows, one derived
/// record (source `<source>-sparse`) holding only its last 6–40 rows (a login page that saw just
/// the final approach and click). Checks and trains that thin evidence is not read as a bot.
pub fn sparse_pointer_windows(records: &[Record], seed: u64) -> Vec<Record> {
    let mut rng = super::rng::Rng::derive(seed, "sparse-pointer");
    let mut out = Vec::new();
    for r in records {
        let p = &r.session.pointer;
        if r.label != Label::Human
            || p.len() < 40
            || !r.session.keys.is_empty()
            || !ends_with_click(p)
        {
            continue;
        }
        let n = rng.int(6, 40);
        let pointer = p[p.len() - n..].to_vec();
        out.push(Record {
            id: format!("{}#sparse", r.id),
            source: format!("{}-sparse", r.source),
            derived: true,
            session: tollgate_model::features::Session {
                pointer,
                ..Default::default()
            },
            ..r.clone()
        });
    }
    out
}

/// Login-length pointer evidence from the pointer-only people ([`DataOptions::login_windows`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LoginWindows {
    /// None (what ships).
    #[default]
    Off,
    /// Scored and reported, never trained on or used for thresholds: how people with a login's
    /// worth of pointer evidence fare under a model that never saw such windows.
    Score,
    /// Trained on and used for thresholds like any human source.
    Train,
}

/// Login-length pointer windows: for each pointer-only human record with at least four clicks,
/// one derived record (source `<source>-login`) holding the rows from just after a click's
/// release to the release of the third click after it, times rebased to 0: three approaches, each
/// ending in a click, as on a login page (username field, password field, submit button), with
/// the hand already on the mouse. SapiMouse's one-minute windows hold 15 long strokes at the
/// median, a login two to four; features read as medians over strokes spread wider at login
/// length, which no other human source shows (session 30, `verifier/README.md`).
pub fn login_pointer_windows(records: &[Record], seed: u64, trainable: bool) -> Vec<Record> {
    use tollgate_protocol::telemetry::pointer_kind;
    let mut rng = super::rng::Rng::derive(seed, "login-pointer");
    let mut out = Vec::new();
    for r in records {
        let p = &r.session.pointer;
        if r.label != Label::Human || r.derived || !r.session.keys.is_empty() {
            continue;
        }
        let ups: Vec<usize> = (0..p.len())
            .filter(|&i| p[i].kind == pointer_kind::UP)
            .collect();
        if ups.len() < 4 {
            continue;
        }
        let k = rng.int(0, ups.len() - 4);
        let rows = &p[ups[k] + 1..=ups[k + 3]];
        let t0 = rows.first().map_or(0.0, |q| q.t_ms);
        out.push(Record {
            id: format!("{}#login", r.id),
            source: format!("{}-login", r.source),
            derived: true,
            trainable,
            session: tollgate_model::features::Session {
                pointer: rows
                    .iter()
                    .map(|q| tollgate_model::features::Pt {
                        t_ms: q.t_ms - t0,
                        ..*q
                    })
                    .collect(),
                ..Default::default()
            },
            ..r.clone()
        });
    }
    out
}

/// Does the trace end like a login window: a button press released within 1.5 s?
fn ends_with_click(p: &[tollgate_model::features::Pt]) -> bool {
    use tollgate_protocol::telemetry::pointer_kind;
    match p {
        [.., d, u] => {
            d.kind == pointer_kind::DOWN && u.kind == pointer_kind::UP && u.t_ms - d.t_ms <= 1500.0
        }
        _ => false,
    }
}

/// Login-length typing: for each keystroke-only human record with enough keys, add one derived
/// record (source `<source>-short`) holding a contiguous window of 10–20 keys (same subject, so
/// it stays in its fold). Lives in memory only. Trained on, reported and used for thresholds like
/// any source, so the key features and thresholds cover field-length input, not only sentences.
pub fn short_typing_windows(records: &[Record], seed: u64) -> Vec<Record> {
    let mut rng = super::rng::Rng::derive(seed, "short-typing");
    let mut out = Vec::new();
    for r in records {
        if r.label != Label::Human || !r.session.pointer.is_empty() || r.session.keys.len() < 24 {
            continue;
        }
        let len = rng.int(10, 20);
        let start = rng.int(0, r.session.keys.len() - len);
        let keys = &r.session.keys[start..start + len];
        let t0 = keys.first().map(|k| k.down_ms).unwrap_or(0.0);
        let keys = keys
            .iter()
            .map(|k| tollgate_model::features::Key {
                down_ms: k.down_ms - t0,
                up_ms: k.up_ms - t0,
                ..*k
            })
            .collect();
        out.push(Record {
            id: format!("{}#short", r.id),
            session: tollgate_model::features::Session {
                keys,
                ..Default::default()
            },
            source: format!("{}-short", r.source),
            ..r.clone()
        });
    }
    out
}

/// Folds the composite login sessions are paired within ([`composite_logins`]): the default
/// `--cv` and `--lofo-folds`. With another fold count a composite's typist may sit in a
/// training fold (its key half then scores in-sample); `train` and `eval` then print a warning.
pub const COMPOSITE_FOLDS: usize = 5;

/// A line for the report when a CV uses another fold count than [`COMPOSITE_FOLDS`] (the
/// pairing of composites is fixed at load time, before the fold count is known).
fn composite_fold_warning(what: &str, k: usize, records: &[Record]) -> Option<String> {
    let any = records.iter().any(|r| {
        r.source.ends_with("+aalto")
            || r.generator
                .as_deref()
                .is_some_and(|g| g.starts_with(HUMAN_TYPING))
    });
    (any && k != COMPOSITE_FOLDS).then(|| {
        format!(
            "warning: composite logins are paired within {COMPOSITE_FOLDS} subject-wise folds; with {what} {k} a composite's typist may sit in a training fold, so its key half scores in-sample"
        )
    })
}

/// Generator tag of a composite bot: a bot's pointer session with a recorded human's typing.
pub const HUMAN_TYPING: &str = "human-typing";
/// Suffix of a composite login's id after its origin's ([`composite_logins`]).
pub const COMPOSITE_ID_SUFFIX: &str = "#typed";

/// Login sessions with both modalities, which no source records: the traces hold pointer-only
/// and key-only sessions. Each pointer session (a recorded human's SapiMouse window or sparse
/// window, or a synthetic pointer-only bot) gets one login-length typing window of a recorded
/// typist (an `aalto-short` window) inserted after its first click, the later pointer rows
/// shifted to resume after it. Humans become source `<source>+aalto`; bots keep their source
/// and become generator `human-typing+<generator>` (a bot that scripts the cursor and replays a
/// person's keystroke timing: LOFO holds it out with its pointer family and, as
/// `synthetic/human-typing`, on its own). The typist is drawn from the pointer subject's own
/// fold of [`COMPOSITE_FOLDS`] subject-wise folds, and the composite keeps the pointer
/// subject, so subject-wise CV and LOFO never score a composite whose typist they trained on.
/// Composites are scored only (`trainable: false`): the model scores each modality on its own
/// ([`tollgate_model::model::Model::score`]) and calibrates on single-modality humans, so they
/// measure what a session with both is decided, and how masking fares.
pub fn composite_logins(records: &[Record], seed: u64) -> Vec<Record> {
    use tollgate_protocol::telemetry::pointer_kind;
    let folds = super::train::assign_folds(records, COMPOSITE_FOLDS, seed);
    let mut typists: Vec<Vec<usize>> = vec![Vec::new(); COMPOSITE_FOLDS];
    for (i, r) in records.iter().enumerate() {
        if r.label == Label::Human && r.source == "aalto-short" && r.session.keys.len() >= 10 {
            typists[folds[i]].push(i);
        }
    }
    let mut rng = super::rng::Rng::derive(seed, "composite-logins");
    let mut out = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let human =
            r.label == Label::Human && (r.source == "sapimouse" || r.source == "sapimouse-sparse");
        let bot = r.label == Label::Bot
            && r.source == "synthetic"
            && r.trainable
            && r.session.keys.is_empty()
            && !r.session.pointer.is_empty();
        if !(human || bot) {
            continue;
        }
        let Some(&k) = rng.pick(&typists[folds[i]]) else {
            continue;
        };
        let p = &r.session.pointer;
        // Type after the first click (a field focused), or after the last row.
        let cut = p
            .iter()
            .position(|q| q.kind == pointer_kind::UP)
            .map(|j| j + 1)
            .unwrap_or(p.len());
        let t0 =
            p.get(cut.saturating_sub(1)).map(|q| q.t_ms).unwrap_or(0.0) + rng.range(150.0, 600.0);
        let keys = &records[k].session.keys;
        let k0 = keys.first().map(|q| q.down_ms).unwrap_or(0.0);
        let keys: Vec<_> = keys
            .iter()
            .map(|q| tollgate_model::features::Key {
                down_ms: q.down_ms - k0 + t0,
                up_ms: q.up_ms - k0 + t0,
                ..*q
            })
            .collect();
        let end = keys
            .iter()
            .map(|q| q.up_ms.max(q.down_ms))
            .fold(t0, f64::max);
        // The next pointer row comes a pause after the last key.
        let resume = end + rng.range(200.0, 800.0);
        let shift = p.get(cut).map_or(0.0, |q| (resume - q.t_ms).max(0.0));
        let mut pointer = p.clone();
        for q in &mut pointer[cut..] {
            q.t_ms += shift;
        }
        let session = tollgate_model::features::Session {
            pointer,
            keys,
            ..r.session.clone()
        };
        out.push(if human {
            Record {
                id: format!("{}{COMPOSITE_ID_SUFFIX}", r.id),
                source: format!("{}+aalto", r.source),
                derived: true,
                trainable: false,
                session,
                ..r.clone()
            }
        } else {
            Record {
                id: format!("{}{COMPOSITE_ID_SUFFIX}", r.id),
                generator: Some(format!(
                    "{HUMAN_TYPING}+{}",
                    r.generator.as_deref().unwrap_or("unknown")
                )),
                derived: true,
                trainable: false,
                session,
                ..r.clone()
            }
        });
    }
    out
}

#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub data: DataOptions,
    pub out: PathBuf,
    pub folds: usize,
    pub fit: FitOptions,
    /// Also print leave-one-family-out CV with this many human folds (opt-in: ≈ 15× the
    /// subject-wise CV's fits).
    pub lofo: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub data: DataOptions,
    /// Model file; `None` = the compiled-in default. Ignored with `cv`.
    pub model: Option<PathBuf>,
    pub out: Option<PathBuf>,
    pub plot: Option<PathBuf>,
    /// Subject-wise k-fold cross-validation instead of a fixed model.
    pub cv: Option<usize>,
    pub fit: FitOptions,
    /// Include every feature value, the raw logit and each feature's contribution to it in the `--out` lines.
    pub with_features: bool,
    /// Leave-one-family-out CV with this many subject-wise human folds ([`lofo`]), printed
    /// after the main table and appended to `--out` (`"eval": "lofo"` lines).
    pub lofo: Option<usize>,
}

/// Records with their features and replay evidence (hash store run in record order: trace files
/// first, in file order, then the synthetic sessions).
#[derive(Debug)]
pub struct Dataset {
    pub records: Vec<Record>,
    pub feats: Vec<Features>,
    pub replay: Vec<ReplayEvidence>,
    /// Per record: strokes that matched a band of another subject's session (collision report).
    pub replay_other_subject: Vec<usize>,
}

/// Extract features for all records on all cores.
pub fn features_parallel(records: &[Record]) -> Vec<Features> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let chunk = records.len().div_ceil(threads).max(1);
    let mut out: Vec<Features> = Vec::with_capacity(records.len());
    std::thread::scope(|s| {
        let handles: Vec<_> = records
            .chunks(chunk)
            .map(|c| s.spawn(move || c.iter().map(|r| extract(&r.session)).collect::<Vec<_>>()))
            .collect();
        for h in handles {
            match h.join() {
                Ok(v) => out.extend(v),
                Err(_) => out.clear(),
            }
        }
    });
    if out.len() != records.len() {
        // A worker panicked (should not happen: extraction is total); fall back to one thread.
        out = records.iter().map(|r| extract(&r.session)).collect();
    }
    out
}

/// Load trace files, add login-length typing windows ([`short_typing_windows`]) and synthetic
/// bots, extract features, run the replay store.
pub fn load_dataset(opts: &DataOptions) -> Result<Dataset, IntelError> {
    let mut records = Vec::new();
    let unit = if opts.keep_unit_coords {
        traces::UnitCoords::Keep
    } else {
        traces::UnitCoords::Rescale
    };
    for path in &opts.traces {
        let (recs, rep) = traces::read_file_with(path, unit)?;
        eprintln!(
            "{}: {} lines, {} records, {} skipped{}{}",
            path.display(),
            rep.lines,
            rep.records,
            rep.skipped,
            match (rep.unit_coords, unit) {
                (0, _) => String::new(),
                (n, traces::UnitCoords::Keep) => format!(
                    ", {n} with coordinates as fractions (kept as logged: --keep-unit-coords)"
                ),
                (n, traces::UnitCoords::Rescale) => {
                    format!(", {n} with coordinates as fractions (rescaled to px)")
                }
            },
            if rep.problems.is_empty() {
                String::new()
            } else {
                format!(" ({})", rep.problems.join("; "))
            }
        );
        if recs.is_empty() {
            return Err(IntelError::NoRecords(path.display().to_string()));
        }
        records.extend(
            recs.into_iter()
                .enumerate()
                .filter(|(i, _)| i % opts.stride.max(1) == 0)
                .map(|(_, mut r)| {
                    if opts.as_captures {
                        r.session.collector = true;
                        for p in &mut r.session.pointer {
                            p.coalesced = true;
                        }
                    }
                    r
                }),
        );
    }
    let mut short = short_typing_windows(&records, opts.seed);
    short.extend(sparse_pointer_windows(&records, opts.seed));
    if opts.login_windows != LoginWindows::Off {
        let trainable = opts.login_windows == LoginWindows::Train;
        short.extend(login_pointer_windows(&records, opts.seed, trainable));
    }
    if !short.is_empty() {
        eprintln!(
            "derived human windows (short typing, sparse pointer): {}",
            short.len()
        );
        records.extend(short);
    }
    if opts.synth_scale > 0.0 {
        let synth = generate(&SynthOptions::scaled(opts.seed, opts.synth_scale), &records);
        eprintln!("synthetic: {} sessions (seed {})", synth.len(), opts.seed);
        records.extend(synth);
    }
    let typed = composite_logins(&records, opts.seed);
    if !typed.is_empty() {
        eprintln!(
            "composite logins (pointer + a recorded typist, scored only): {}",
            typed.len()
        );
        records.extend(typed);
    }
    let feats = features_parallel(&records);
    // Derived windows share strokes with their origin by construction: they are neither looked
    // up nor entered (see `Record::derived`). A composite login (`…#typed`) is its origin's
    // pointer session with typing added, so it carries the evidence its origin met: what the
    // live store would have answered had this session come instead of the origin.
    let mut store = ReplayStore::default();
    let (mut replay, mut replay_other_subject): (Vec<ReplayEvidence>, Vec<usize>) = feats
        .iter()
        .zip(&records)
        .map(|(f, r)| {
            if r.derived {
                (ReplayEvidence::default(), 0)
            } else {
                let o = store.observe_from(&f.stroke_hashes, &r.subject);
                (o.evidence, o.seen_other_subject)
            }
        })
        .unzip();
    inherit_origin_evidence(&records, &mut replay, &mut replay_other_subject);
    Ok(Dataset {
        records,
        feats,
        replay,
        replay_other_subject,
    })
}

/// Give every composite login (id `<origin>#typed`, see [`composite_logins`]) the replay evidence
/// of its origin record.
fn inherit_origin_evidence(records: &[Record], replay: &mut [ReplayEvidence], other: &mut [usize]) {
    let index: std::collections::HashMap<&str, usize> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();
    for (i, r) in records.iter().enumerate() {
        if let Some(origin) = r.id.strip_suffix(COMPOSITE_ID_SUFFIX)
            && let Some(&j) = index.get(origin)
        {
            replay[i] = replay[j];
            other[i] = other[j];
        }
    }
}

fn counts(records: &[Record]) -> String {
    let mut m: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for r in records {
        *m.entry(r.group()).or_insert(0) += 1;
    }
    m.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Leave-one-family-out CV over a loaded dataset ([`lofo`]): runs it on all cores (at most 8),
/// prints the per-family table and returns the scores.
pub fn run_lofo(
    ds: &Dataset,
    k: usize,
    seed: u64,
    fit: &FitOptions,
) -> Result<Vec<lofo::LofoScore>, IntelError> {
    let started = std::time::Instant::now();
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    eprintln!("validation: leave-one-family-out, {k} subject-wise human folds");
    let scores = lofo::run(&ds.records, &ds.feats, &ds.replay, k, seed, fit, threads)?;
    let rows = lofo::rows(&ds.records, &scores);
    print!("{}", lofo::table(&rows, k));
    println!(
        "(leave-one-family-out: {} calibrated fits in {:.0} s on {threads} threads)",
        rows.len() * k,
        started.elapsed().as_secs_f64()
    );
    Ok(scores)
}

/// `tollgate-intel train`.
pub fn run_train(opts: &TrainOptions) -> Result<Model, IntelError> {
    if opts.folds < 2 {
        return Err(IntelError::Option("--folds must be at least 2".into()));
    }
    let started = std::time::Instant::now();
    let ds = load_dataset(&opts.data)?;
    println!("data: {}", counts(&ds.records));
    if let Some(w) = composite_fold_warning("--folds", opts.folds, &ds.records) {
        println!("{w}");
    }
    eprintln!(
        "validation: subject-wise {}-fold cross-validation",
        opts.folds
    );
    let (oof, _) = cross_validate(
        &ds.records,
        &ds.feats,
        &ds.replay,
        opts.folds,
        opts.data.seed,
        &opts.fit,
    )?;
    println!(
        "== validation (out-of-fold, subject-wise {}-fold; thresholds set on each fold's training humans) ==",
        opts.folds
    );
    let all: Vec<usize> = (0..ds.records.len()).collect();
    let mut model = fit_calibrated(&ds.records, &ds.feats, &all, &opts.fit)?;
    print!("{}", eval::summary(&ds.records, &oof));
    print!("{}", eval::device_summary(&ds.records, &ds.feats, &oof));
    print!("{}", eval::rate_summary(&ds.records, &ds.feats, &oof));
    print!(
        "{}",
        eval::human_intervals(&ds.records, &oof, opts.data.seed)
    );
    if let Some(k) = opts.lofo {
        run_lofo(&ds, k, opts.data.seed, &opts.fit)?;
    }
    let train_scored: Vec<Scored> = ds
        .feats
        .iter()
        .zip(&ds.replay)
        .map(|(f, r)| model.score(f, *r))
        .collect();
    let (auc_t, hb_t, hc_t, ba_t) = eval::headline(&ds.records, &train_scored);
    let (auc_v, hb_v, hc_v, ba_v) = eval::headline(&ds.records, &oof);
    let fmt = |a: Option<f64>, hb: f64, hc: f64, ba: f64| {
        format!(
            "AUC {} humans blocked {:.3}% challenged+blocked {:.3}% bots allowed {:.3}%",
            a.map(|v| format!("{v:.4}")).unwrap_or("-".into()),
            100.0 * hb,
            100.0 * hc,
            100.0 * ba
        )
    };
    println!(
        "train (in-sample, final model): {}",
        fmt(auc_t, hb_t, hc_t, ba_t)
    );
    println!(
        "validation (out-of-fold):       {}",
        fmt(auc_v, hb_v, hc_v, ba_v)
    );
    let files: Vec<String> = opts
        .data
        .traces
        .iter()
        .map(|p| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
        .collect();
    model.notes = vec![
        (
            "trained_with".into(),
            format!(
                "tollgate-intel train --traces {} --seed {} --synthetic-scale {} --stride {}{} --folds {} --l2 {} --trees {} --depth {} --learning-rate {} --min-child-weight {} --calib-folds {}{}{}{}",
                files.join(" "),
                opts.data.seed,
                opts.data.synth_scale,
                opts.data.stride,
                if opts.data.keep_unit_coords {
                    " --keep-unit-coords"
                } else {
                    ""
                },
                opts.folds,
                opts.fit.l2,
                opts.fit.boost.trees,
                opts.fit.boost.depth,
                opts.fit.boost.learning_rate,
                opts.fit.boost.min_child_weight,
                opts.fit.calib_folds,
                if opts.fit.device_calibration {
                    format!(" --device-margin {}", opts.fit.device_margin)
                } else {
                    " --no-device-calibration".to_string()
                },
                if opts.fit.pair_pointer_share == 0.5 {
                    String::new()
                } else {
                    format!(" --pair-pointer-share {}", opts.fit.pair_pointer_share)
                },
                if opts.fit.exclude == 0 {
                    String::new()
                } else {
                    format!(
                        " --exclude-features {}",
                        tollgate_model::features::DEFS
                            .iter()
                            .filter(|d| opts.fit.exclude & (1u64 << (d.id as usize)) != 0)
                            .map(|d| d.name)
                            .collect::<Vec<_>>()
                            .join(",")
                    )
                }
            ),
        ),
        ("data".into(), counts(&ds.records)),
        (
            "validation".into(),
            format!(
                "subject-wise {}-fold out-of-fold: {}",
                opts.folds,
                fmt(auc_v, hb_v, hc_v, ba_v)
            ),
        ),
        (
            "train".into(),
            format!("in-sample: {}", fmt(auc_t, hb_t, hc_t, ba_t)),
        ),
    ];
    if let Some([p, k]) = model.calibration {
        println!(
            "calibration knots (logit → block / allow): pointer {:.3} / {:.3}, keys {:.3} / {:.3}",
            p.block_logit, p.allow_logit, k.block_logit, k.allow_logit
        );
    }
    for (d, c) in &model.device_knots {
        println!(
            "  device {:<10} {:.3} / {:.3}",
            d.name(),
            c.block_logit,
            c.allow_logit
        );
    }
    let body = model.to_json();
    let mut meta = provenance(
        opts,
        &ds.records,
        (auc_v, hb_v, hc_v, ba_v),
        (auc_t, hb_t, hc_t, ba_t),
    )?;
    meta.id = Some(tollgate_model::meta::content_id(&body));
    let text = meta.append_to(&body);
    if let Some(dir) = opts.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| IntelError::Write {
            path: dir.display().to_string(),
            source: e,
        })?;
    }
    std::fs::write(&opts.out, &text).map_err(|e| IntelError::Write {
        path: opts.out.display().to_string(),
        source: e,
    })?;
    println!(
        "wrote {} ({} bytes, {} terms, {} trees / {} nodes) in {:.1} s",
        opts.out.display(),
        text.len(),
        model.features.len(),
        model.forest.as_ref().map_or(0, |f| f.trees.len()),
        model.forest.as_ref().map_or(0, |f| f.node_count()),
        started.elapsed().as_secs_f64()
    );
    Ok(model)
}

/// `tollgate-intel adversarial`: load the data, run [`super::adversarial::run`], print the
/// per-round table.
pub fn run_adversarial(
    data: &DataOptions,
    opts: &super::adversarial::AdversarialOptions,
) -> Result<Vec<super::adversarial::RoundRow>, IntelError> {
    let started = std::time::Instant::now();
    let ds = load_dataset(data)?;
    println!("data: {}", counts(&ds.records));
    let rows = super::adversarial::run(ds, opts)?;
    print!("{}", super::adversarial::table(&rows));
    println!(
        "(adversarial: {} rounds, {} candidates kept per round, candidate scale {}, held-out scale {}, {} trees, {:.0} s)",
        opts.rounds,
        opts.keep,
        opts.candidate_scale,
        opts.eval_scale,
        opts.fit.boost.trees,
        started.elapsed().as_secs_f64()
    );
    Ok(rows)
}

/// The model file's provenance ([`tollgate_model::meta`]): `id` (the content id of the model
/// body, so the same inputs and options give the same id), `manifest` (input files with their
/// SHA-256 and size, record counts per `source/label[/family]`, every option) and `evaluation`
/// (validation and in-sample headline figures).
fn provenance(
    opts: &TrainOptions,
    records: &[Record],
    validation: (Option<f64>, f64, f64, f64),
    train: (Option<f64>, f64, f64, f64),
) -> Result<tollgate_model::meta::ModelMeta, IntelError> {
    let mut inputs = Vec::new();
    for p in &opts.data.traces {
        let bytes = std::fs::read(p).map_err(|e| IntelError::Io {
            path: p.display().to_string(),
            source: e,
        })?;
        inputs.push(serde_json::json!({
            "file": p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            "sha256": tollgate_protocol::sha256(&bytes).iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "bytes": bytes.len(),
        }));
    }
    let mut counts: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for r in records {
        *counts.entry(r.group()).or_insert(0) += 1;
    }
    let figures = |(auc, hb, hc, ba): (Option<f64>, f64, f64, f64)| {
        serde_json::json!({
            "auc": auc,
            "humans_blocked": hb,
            "humans_challenged_or_blocked": hc,
            "bots_allowed": ba,
        })
    };
    Ok(tollgate_model::meta::ModelMeta {
        id: None,
        manifest: Some(serde_json::json!({
            "inputs": inputs,
            "counts": counts,
            "options": {
                "seed": opts.data.seed,
                "synthetic_scale": opts.data.synth_scale,
                "stride": opts.data.stride,
                "folds": opts.folds,
                "l2": opts.fit.l2,
                "trees": opts.fit.boost.trees,
                "depth": opts.fit.boost.depth,
                "learning_rate": opts.fit.boost.learning_rate,
                "min_child_weight": opts.fit.boost.min_child_weight,
                "calib_folds": opts.fit.calib_folds,
            },
        })),
        evaluation: Some(serde_json::json!({
            "validation": figures(validation),
            "train": figures(train),
        })),
    })
}

/// Load a model file.
pub fn load_model(path: &Path) -> Result<Model, IntelError> {
    let text = std::fs::read_to_string(path).map_err(|e| IntelError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    Model::from_json(&text).map_err(|e| IntelError::Model {
        path: path.display().to_string(),
        source: e,
    })
}

/// `tollgate-intel eval`. Returns the records and their scores (for tests).
pub fn run_eval(opts: &EvalOptions) -> Result<(Vec<Record>, Vec<Scored>), IntelError> {
    let ds = load_dataset(&opts.data)?;
    println!("data: {}", counts(&ds.records));
    for (what, k) in [("--cv", opts.cv), ("--lofo-folds", opts.lofo)] {
        if let Some(w) = k.and_then(|k| composite_fold_warning(what, k, &ds.records)) {
            println!("{w}");
        }
    }
    print!(
        "{}",
        eval::replay_report(&ds.records, &ds.replay, &ds.replay_other_subject)
    );
    let scored: Vec<Scored> = match opts.cv {
        Some(k) => {
            if k < 2 {
                return Err(IntelError::Option("--cv must be at least 2".into()));
            }
            println!(
                "== subject-wise {k}-fold cross-validation (out-of-fold scores; each fold's thresholds from its training humans) =="
            );
            cross_validate(
                &ds.records,
                &ds.feats,
                &ds.replay,
                k,
                opts.data.seed,
                &opts.fit,
            )?
            .0
        }
        None => {
            let model = match &opts.model {
                Some(p) => load_model(p)?,
                None => Model::default_model().clone(),
            };
            println!(
                "== fixed model ({}; {} terms){} ==",
                opts.model
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_else(|| "compiled-in default".into()),
                model.features.len(),
                if opts.model.is_none() {
                    " — in-sample if it was trained on these files"
                } else {
                    ""
                }
            );
            // Same path as live scoring: Session -> features -> model (-> policy decision).
            ds.records
                .iter()
                .zip(&ds.replay)
                .map(|(r, rep)| super::score_session(&r.session, &model, *rep).1)
                .collect()
        }
    };
    print!("{}", eval::summary(&ds.records, &scored));
    print!("{}", eval::device_summary(&ds.records, &ds.feats, &scored));
    print!("{}", eval::rate_summary(&ds.records, &ds.feats, &scored));
    print!(
        "{}",
        eval::human_intervals(&ds.records, &scored, opts.data.seed)
    );
    let lofo_scores = match opts.lofo {
        Some(k) => run_lofo(&ds, k, opts.data.seed, &opts.fit)?,
        None => Vec::new(),
    };
    if let Some(out) = &opts.out {
        let werr = |e| IntelError::Write {
            path: out.display().to_string(),
            source: e,
        };
        let f = std::fs::File::create(out).map_err(werr)?;
        let mut w = std::io::BufWriter::new(f);
        for (i, (r, s)) in ds.records.iter().zip(&scored).enumerate() {
            let mut line = serde_json::json!({
                "id": r.id,
                "label": r.label.as_str(),
                "score": (s.p_human * 1e6).round() / 1e6,
                "decision": s.decision.as_str(),
                "reasons": s.reasons,
                "source": r.source,
                "subject": r.subject,
                "generator": r.generator,
            });
            if opts.with_features
                && let Some(obj) = line.as_object_mut()
            {
                let feats: serde_json::Map<String, serde_json::Value> = ds.feats[i]
                    .named()
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
                    .collect();
                obj.insert("features".into(), serde_json::Value::Object(feats));
                let contrib: serde_json::Map<String, serde_json::Value> = s
                    .contributions
                    .iter()
                    .map(|c| {
                        (
                            c.feature.def().name.to_string(),
                            serde_json::json!((c.logit * 1e4).round() / 1e4),
                        )
                    })
                    .collect();
                obj.insert("contributions".into(), serde_json::Value::Object(contrib));
                obj.insert("logit".into(), serde_json::json!(s.logit));
            }
            writeln!(w, "{line}").map_err(werr)?;
        }
        for l in &lofo_scores {
            let r = &ds.records[l.record];
            let line = serde_json::json!({
                "eval": "lofo",
                "held_out": l.family,
                "fold": l.fold,
                "id": r.id,
                "label": r.label.as_str(),
                "score": (l.scored.p_human * 1e6).round() / 1e6,
                "decision": l.scored.decision.as_str(),
                "reasons": l.scored.reasons,
                "source": r.source,
                "subject": r.subject,
                "generator": r.generator,
            });
            writeln!(w, "{line}").map_err(werr)?;
        }
        w.flush().map_err(werr)?;
        println!(
            "wrote {} ({} lines{})",
            out.display(),
            scored.len() + lofo_scores.len(),
            if lofo_scores.is_empty() {
                String::new()
            } else {
                format!(", of them {} leave-one-family-out", lofo_scores.len())
            }
        );
    }
    if let Some(p) = &opts.plot {
        plot::plot(&ds.records, &scored, p)?;
        println!("wrote {}", p.display());
    }
    let humans = ds
        .records
        .iter()
        .filter(|r| r.label == Label::Human)
        .count();
    if humans == 0 || humans == ds.records.len() {
        eprintln!(
            "note: only one class present; AUC and rates against the other class are undefined"
        );
    }
    Ok((ds.records, scored))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate_model::features::{Key, Pt, Session};
    use tollgate_protocol::telemetry::{key_class, pointer_kind, pointer_type};

    fn pt(t: f64, kind: u8) -> Pt {
        Pt {
            t_ms: t,
            kind,
            x: t,
            y: 2.0 * t,
            buttons: 0,
            ptype: pointer_type::MOUSE,
            pressure: None,
            trusted: None,
            coalesced: false,
        }
    }

    fn rec(id: &str, source: &str, subject: &str, label: Label, session: Session) -> Record {
        Record {
            id: id.into(),
            source: source.into(),
            subject: subject.into(),
            label,
            generator: (label == Label::Bot).then(|| "windmouse:tick".to_string()),
            session,
            trainable: true,
            derived: false,
        }
    }

    #[test]
    fn login_windows_hold_three_approaches_each_ending_in_a_click() {
        // Five clicks, moves before each.
        let mut pointer = Vec::new();
        for c in 0..5 {
            let t = 1000.0 * c as f64;
            for i in 0..5 {
                pointer.push(pt(t + 10.0 * i as f64, pointer_kind::MOVE));
            }
            pointer.push(pt(t + 100.0, pointer_kind::DOWN));
            pointer.push(pt(t + 180.0, pointer_kind::UP));
        }
        let ps = Session {
            pointer: pointer.clone(),
            ..Default::default()
        };
        let typed = Session {
            pointer,
            keys: vec![Key {
                down_ms: 0.0,
                up_ms: 80.0,
                class: key_class::CHAR,
                unreleased: false,
            }],
            ..Default::default()
        };
        let three_clicks = Session {
            pointer: ps.pointer[..21].to_vec(),
            ..Default::default()
        };
        let records = vec![
            rec("h", "sapimouse", "u1", Label::Human, ps.clone()),
            rec("b", "synthetic", "g1", Label::Bot, ps),
            rec("k", "sapimouse", "u2", Label::Human, typed),
            rec("few", "sapimouse", "u3", Label::Human, three_clicks),
        ];
        for seed in 1..20 {
            let out = login_pointer_windows(&records, seed, false);
            assert_eq!(
                out.len(),
                1,
                "people with pointer only and four clicks or more"
            );
            let w = &out[0];
            assert_eq!(
                (w.id.as_str(), w.source.as_str()),
                ("h#login", "sapimouse-login")
            );
            assert!(w.derived && !w.trainable);
            assert_eq!(w.subject, "u1");
            let p = &w.session.pointer;
            assert_eq!(p[0].t_ms, 0.0, "rebased");
            assert_eq!(p[0].kind, pointer_kind::MOVE, "starts after a release");
            assert_eq!(p.last().map(|q| q.kind), Some(pointer_kind::UP));
            let ups = p.iter().filter(|q| q.kind == pointer_kind::UP).count();
            let downs = p.iter().filter(|q| q.kind == pointer_kind::DOWN).count();
            assert_eq!((downs, ups, p.len()), (3, 3, 21));
        }
        assert!(login_pointer_windows(&records, 1, true)[0].trainable);
    }

    #[test]
    fn composite_logins_pair_within_folds_and_insert_typing_after_the_first_click() {
        let pointer: Vec<Pt> = vec![
            pt(0.0, pointer_kind::MOVE),
            pt(10.0, pointer_kind::DOWN),
            pt(90.0, pointer_kind::UP),
            pt(100.0, pointer_kind::MOVE),
            pt(120.0, pointer_kind::MOVE),
        ];
        // Typist `t{s}` holds every key 80 + s ms, so a composite's typist can be told.
        let keys = |n: usize, s: usize| -> Vec<Key> {
            (0..n)
                .map(|i| Key {
                    down_ms: 5000.0 + 150.0 * i as f64,
                    up_ms: 5080.0 + s as f64 + 150.0 * i as f64,
                    class: key_class::CHAR,
                    unreleased: false,
                })
                .collect()
        };
        let mut records = Vec::new();
        for s in 0..20 {
            let ps = Session {
                pointer: pointer.clone(),
                ..Default::default()
            };
            records.push(rec(
                &format!("h{s}"),
                "sapimouse",
                &format!("u{s}"),
                Label::Human,
                ps.clone(),
            ));
            records.push(rec(
                &format!("b{s}"),
                "synthetic",
                &format!("g{s}"),
                Label::Bot,
                ps,
            ));
            let ks = Session {
                keys: keys(12, s),
                ..Default::default()
            };
            records.push(rec(
                &format!("k{s}"),
                "aalto-short",
                &format!("t{s}"),
                Label::Human,
                ks,
            ));
        }
        let out = composite_logins(&records, 7);
        assert_eq!(out.len(), 40, "one composite per pointer session");
        assert!(
            composite_fold_warning("--cv", 3, &records).is_none(),
            "no composites, no warning"
        );
        assert!(composite_fold_warning("--cv", COMPOSITE_FOLDS, &out).is_none());
        assert!(composite_fold_warning("--cv", 3, &out).is_some_and(|w| w.contains("--cv 3")));
        let folds = crate::train::assign_folds(&records, COMPOSITE_FOLDS, 7);
        let fold_of =
            |subject: &str| folds[records.iter().position(|r| r.subject == subject).unwrap()];
        for c in &out {
            assert!(!c.trainable && c.derived);
            assert_eq!(c.session.keys.len(), 12);
            // Typing starts after the first click's release, the rows after it move later by
            // the typing time plus a pause, those before it do not move.
            let first = c.session.keys[0].down_ms;
            let last_up = c.session.keys.iter().map(|k| k.up_ms).fold(0.0, f64::max);
            assert!((240.0..=690.0).contains(&first), "{first}");
            assert_eq!(c.session.pointer[2].t_ms, 90.0);
            assert!(c.session.pointer[3].t_ms > last_up + 100.0);
            assert!((c.session.pointer[4].t_ms - c.session.pointer[3].t_ms - 20.0).abs() < 1e-9);
            // The typist comes from the pointer subject's fold.
            let hold = (c.session.keys[0].up_ms - c.session.keys[0].down_ms - 80.0).round();
            assert_eq!(
                fold_of(&format!("t{hold}")),
                fold_of(&c.subject),
                "{}",
                c.id
            );
            match c.label {
                Label::Human => assert_eq!(c.source, "sapimouse+aalto"),
                Label::Bot => {
                    assert_eq!(c.source, "synthetic");
                    assert_eq!(c.generator.as_deref(), Some("human-typing+windmouse:tick"));
                    assert_eq!(
                        crate::lofo::families_of(c),
                        ["synthetic/human-typing", "synthetic/windmouse"]
                    );
                }
            }
        }
        // A composite is looked up as its origin was: it carries the origin's replay evidence.
        let all: Vec<Record> = records.iter().chain(&out).cloned().collect();
        let flagged = ReplayEvidence {
            hashed: 2,
            seen_elsewhere: 2,
        };
        let mut replay = vec![ReplayEvidence::default(); all.len()];
        let mut other = vec![0; all.len()];
        let b3 = all.iter().position(|r| r.id == "b3").unwrap();
        replay[b3] = flagged;
        other[b3] = 1;
        inherit_origin_evidence(&all, &mut replay, &mut other);
        for (r, (e, o)) in all.iter().zip(replay.iter().zip(&other)) {
            let from_b3 = r.id == "b3" || r.id == "b3#typed";
            assert_eq!(
                (*e, *o),
                if from_b3 {
                    (flagged, 1)
                } else {
                    (ReplayEvidence::default(), 0)
                },
                "{}",
                r.id
            );
        }
    }
}
