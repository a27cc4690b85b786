//! Golden feature values: `features::extract` on a fixed set of generated sessions must keep giving
//! the values in `model/testdata/features.json`. The behaviour model is trained on these exact
//! features, so any drift (a refactor, an optimisation, a dependency's math) must show up here and
//! be a deliberate decision (retrain the model, then regenerate with
//! `TOLLGATE_REGEN_FEATURES=1 cargo test -p tollgate-model --test features_golden`).
//!
//! The sessions come from a seeded splitmix64 generator that uses only +, −, ×, ÷ and sqrt
//! (exactly rounded everywhere), so the inputs are bit-identical on every platform. Values are
//! compared with a relative tolerance of 1e-12 (libm's ln/atan2 may differ in the last ulp
//! between platforms); replay hashes and counts exactly.

use serde_json::{Map, Value, json};
use tollgate_model::features::{self, FieldEv, Key, Pt, Session, Target};
use tollgate_protocol::telemetry::{
    field_kind, key_class, pointer_kind, pointer_type, role, scroll_kind,
};

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/features.json");

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }
}

fn pt(t_ms: f64, kind: u8, x: f64, y: f64, buttons: u8, ptype: u8) -> Pt {
    Pt {
        t_ms,
        kind,
        x,
        y,
        buttons,
        ptype,
        pressure: Some(if buttons != 0 { 0.5 } else { 0.0 }),
        trusted: Some(true),
        coalesced: false,
    }
}

/// A pointer movement from `from` to `to` starting at `t0`: a quadratic curve with a bend, an
/// ease-in/ease-out progress, `jitter` ms of timing noise per frame and `wobble` px of noise.
#[allow(clippy::too_many_arguments)]
fn stroke(
    rng: &mut Rng,
    out: &mut Vec<Pt>,
    t0: f64,
    from: (f64, f64),
    to: (f64, f64),
    frames: usize,
    frame_ms: f64,
    jitter: f64,
    wobble: f64,
    ptype: u8,
) -> f64 {
    let (cx, cy) = (
        (from.0 + to.0) / 2.0 + rng.range(-80.0, 80.0),
        (from.1 + to.1) / 2.0 + rng.range(-80.0, 80.0),
    );
    let mut t = t0;
    for i in 1..=frames {
        let u = i as f64 / frames as f64;
        let p = u * u * (3.0 - 2.0 * u);
        let a = (1.0 - p) * (1.0 - p);
        let b = 2.0 * (1.0 - p) * p;
        let c = p * p;
        let x = a * from.0 + b * cx + c * to.0 + rng.range(-wobble, wobble);
        let y = a * from.1 + b * cy + c * to.1 + rng.range(-wobble, wobble);
        t += frame_ms + rng.range(-jitter, jitter);
        out.push(pt(t, pointer_kind::MOVE, x, y, 0, ptype));
    }
    t
}

fn click(rng: &mut Rng, out: &mut Vec<Pt>, t: f64, ptype: u8) -> f64 {
    let last = *out.last().expect("a click follows a move");
    let down = t + rng.range(40.0, 180.0);
    let up = down + rng.range(60.0, 140.0);
    out.push(pt(down, pointer_kind::DOWN, last.x, last.y, 1, ptype));
    out.push(pt(up, pointer_kind::UP, last.x, last.y, 0, ptype));
    up
}

/// Typing `n` keys from `t0`: hold and flight drawn from `hold` and `flight` ranges; a negative
/// flight lower bound gives rollover.
fn typing(
    rng: &mut Rng,
    out: &mut Vec<Key>,
    t0: f64,
    n: usize,
    hold: (f64, f64),
    flight: (f64, f64),
) -> f64 {
    let mut down = t0;
    let mut end = t0;
    for i in 0..n {
        let class = match i % 9 {
            4 => key_class::SPACE,
            7 if i > 10 => key_class::BACKSPACE,
            _ => key_class::CHAR,
        };
        let h = rng.range(hold.0, hold.1);
        out.push(Key {
            down_ms: down,
            up_ms: down + h,
            class,
            unreleased: false,
        });
        end = end.max(down + h);
        down = (down + h + rng.range(flight.0, flight.1)).max(down + 1.0);
    }
    end
}

fn form_targets() -> Vec<Target> {
    vec![
        Target {
            role: role::USERNAME,
            x: 400.0,
            y: 300.0,
            w: 240.0,
            h: 36.0,
        },
        Target {
            role: role::PASSWORD,
            x: 400.0,
            y: 360.0,
            w: 240.0,
            h: 36.0,
        },
        Target {
            role: role::SUBMIT,
            x: 400.0,
            y: 420.0,
            w: 120.0,
            h: 40.0,
        },
    ]
}

fn field(t_ms: f64, kind: u8, field: u8) -> FieldEv {
    FieldEv { t_ms, kind, field }
}

/// Mouse style of one generated login: frame period, timing jitter and positional wobble.
#[derive(Clone, Copy)]
struct Style {
    frame_ms: f64,
    jitter: f64,
    wobble: f64,
}

/// Move the mouse from wherever it is to `to` in `frames` frames, then click there.
fn aim_and_click(
    rng: &mut Rng,
    s: &mut Session,
    t0: f64,
    to: (f64, f64),
    frames: usize,
    style: Style,
) -> f64 {
    let last = *s.pointer.last().expect("the pointer has a position");
    let t = stroke(
        rng,
        &mut s.pointer,
        t0,
        (last.x, last.y),
        to,
        frames,
        style.frame_ms,
        style.jitter,
        style.wobble,
        pointer_type::MOUSE,
    );
    click(rng, &mut s.pointer, t, pointer_type::MOUSE)
}

/// A full login: mouse to username, click, type, mouse to password, click, type, mouse to submit.
fn login(rng: &mut Rng, frame_ms: f64, jitter: f64, wobble: f64, flight: (f64, f64)) -> Session {
    let style = Style {
        frame_ms,
        jitter,
        wobble,
    };
    let mut s = Session {
        targets: form_targets(),
        ..Session::default()
    };
    let mut t = rng.range(300.0, 900.0);
    s.pointer.push(pt(
        t,
        pointer_kind::MOVE,
        rng.range(50.0, 900.0),
        rng.range(50.0, 700.0),
        0,
        pointer_type::MOUSE,
    ));
    let to1 = (520.0 + rng.range(-30.0, 30.0), 318.0 + rng.range(-6.0, 6.0));
    let to2 = (515.0 + rng.range(-30.0, 30.0), 378.0 + rng.range(-6.0, 6.0));
    let to3 = (460.0 + rng.range(-20.0, 20.0), 440.0 + rng.range(-8.0, 8.0));
    t = aim_and_click(rng, &mut s, t, to1, 40, style);
    s.fields.push(field(t, field_kind::FOCUS, 0));
    s.first_input_ms = Some(t + 200.0);
    t = typing(rng, &mut s.keys, t + 200.0, 12, (70.0, 130.0), flight);
    s.fields.push(field(t + 50.0, field_kind::BLUR, 0));
    t = aim_and_click(rng, &mut s, t + 300.0, to2, 25, style);
    s.fields.push(field(t, field_kind::FOCUS, 1));
    t = typing(rng, &mut s.keys, t + 250.0, 14, (60.0, 120.0), flight);
    s.fields.push(field(t + 40.0, field_kind::BLUR, 1));
    t = aim_and_click(rng, &mut s, t + 200.0, to3, 30, style);
    s.fields.push(field(t + 5.0, field_kind::SUBMIT, 255));
    s.submit_ms = Some(t + 5.0);
    s
}

fn sessions() -> Vec<(&'static str, Session)> {
    let mut rng = Rng(0x7011_6a7e);
    let mut out = vec![
        (
            "human-like-login",
            login(&mut rng, 16.667, 2.5, 1.5, (-40.0, 260.0)),
        ),
        (
            "human-like-login-2",
            login(&mut rng, 8.0, 1.2, 0.8, (20.0, 400.0)),
        ),
        (
            "frame-locked-bot",
            login(&mut rng, 16.0, 0.0, 0.0, (100.0, 100.5)),
        ),
        ("fast-bot", login(&mut rng, 1.0, 0.0, 0.0, (0.0, 2.0))),
    ];

    // Touch: strokes with contact, no hover moves between them.
    let mut touch = Session::default();
    let mut t = 100.0;
    for i in 0..4 {
        let from = (rng.range(20.0, 350.0), rng.range(100.0, 600.0));
        touch.pointer.push(pt(
            t,
            pointer_kind::DOWN,
            from.0,
            from.1,
            1,
            pointer_type::TOUCH,
        ));
        let to = (rng.range(20.0, 350.0), rng.range(100.0, 600.0));
        let mut seg = Vec::new();
        t = stroke(
            &mut rng,
            &mut seg,
            t,
            from,
            to,
            12 + i,
            16.7,
            3.0,
            0.6,
            pointer_type::TOUCH,
        );
        for mut p in seg {
            p.buttons = 1;
            touch.pointer.push(p);
        }
        let last = *touch.pointer.last().expect("moved");
        touch.pointer.push(pt(
            t + 20.0,
            pointer_kind::UP,
            last.x,
            last.y,
            0,
            pointer_type::TOUCH,
        ));
        t += rng.range(300.0, 900.0);
    }
    out.push(("touch-strokes", touch));

    // Keys only, with a paste and autofill-like field events.
    let mut keys = Session::default();
    let end = typing(
        &mut rng,
        &mut keys.keys,
        500.0,
        40,
        (80.0, 150.0),
        (-60.0, 300.0),
    );
    keys.fields.push(field(400.0, field_kind::FOCUS, 0));
    keys.fields.push(field(end + 100.0, field_kind::PASTE, 1));
    keys.first_input_ms = Some(500.0);
    keys.submit_ms = Some(end + 600.0);
    out.push(("keys-only-rollover", keys));

    // Constant-delay typing (a classic bot).
    let mut constant = Session::default();
    typing(
        &mut rng,
        &mut constant.keys,
        0.0,
        20,
        (50.0, 50.0),
        (30.0, 30.0),
    );
    out.push(("keys-constant", constant));

    // Degenerate inputs: empty, a single sample, duplicate timestamps, unsorted.
    out.push(("empty", Session::default()));
    let mut single = Session::default();
    single.pointer.push(pt(
        5.0,
        pointer_kind::MOVE,
        1.0,
        2.0,
        0,
        pointer_type::MOUSE,
    ));
    out.push(("single-sample", single));
    let mut dup = Session::default();
    for i in 0..30 {
        let t = (i / 3) as f64 * 16.0;
        dup.pointer.push(pt(
            t,
            pointer_kind::MOVE,
            i as f64 * 3.0,
            i as f64,
            0,
            pointer_type::MOUSE,
        ));
    }
    out.push(("duplicate-timestamps", dup));
    let mut unsorted = login(&mut rng, 16.667, 2.0, 1.0, (-20.0, 200.0));
    unsorted.pointer.reverse();
    unsorted.keys.swap(0, 5);
    out.push(("unsorted", unsorted));
    // A login scrolled with a touchpad (small pixel wheel deltas): device class `touchpad`,
    // judged by the hovering mouse's knots (`knots_class`): a wheel delta is free to claim.
    let mut pad = login(&mut rng, 16.667, 2.0, 1.0, (-20.0, 200.0));
    pad.wheel = (0..8)
        .map(|i| features::Wheel {
            t_ms: 50.0 + 16.0 * i as f64,
            mode: scroll_kind::WHEEL_PIXEL,
            dx: 0.0,
            dy: rng.range(1.0, 9.0),
        })
        .collect();
    out.push(("touchpad-login", pad));
    out
}

fn compute() -> Value {
    let mut all = Map::new();
    for (name, s) in sessions() {
        let f = features::extract(&s);
        let values: Map<String, Value> = f
            .named()
            .into_iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        let hashes: Vec<String> = f
            .stroke_hashes
            .iter()
            .map(|bands| {
                bands
                    .iter()
                    .map(|h| format!("{h:016x}"))
                    .collect::<Vec<_>>()
                    .join("-")
            })
            .collect();
        all.insert(
            name.to_string(),
            json!({
                "n_pointer": f.n_pointer,
                "n_keys": f.n_keys,
                "n_strokes": f.n_strokes,
                "n_long_strokes": f.n_long_strokes,
                "device": f.device.name(),
                "knots_class": f.knots_class.name(),
                "stroke_hashes": hashes,
                "values": values,
            }),
        );
    }
    Value::Object(all)
}

fn close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-12 * a.abs().max(b.abs())
}

#[test]
fn feature_values_match_the_golden_file() {
    let got = compute();
    if std::env::var_os("TOLLGATE_REGEN_FEATURES").is_some() {
        let text = serde_json::to_string_pretty(&got).expect("serialise") + "\n";
        std::fs::write(PATH, text).expect("write golden features");
        return;
    }
    let text = std::fs::read_to_string(PATH).expect("read model/testdata/features.json");
    let want: Value = serde_json::from_str(&text).expect("golden file is JSON");
    let (got, want) = (
        got.as_object().expect("object"),
        want.as_object().expect("object"),
    );
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>(),
        "session set changed"
    );
    let mut diffs = Vec::new();
    for (name, w) in want {
        let g = &got[name];
        for k in [
            "n_pointer",
            "n_keys",
            "n_strokes",
            "n_long_strokes",
            "device",
            "knots_class",
            "stroke_hashes",
        ] {
            if g[k] != w[k] {
                diffs.push(format!("{name}.{k}: got {} want {}", g[k], w[k]));
            }
        }
        let (gv, wv) = (
            g["values"].as_object().expect("values"),
            w["values"].as_object().expect("values"),
        );
        for (k, wval) in wv {
            match (gv.get(k).and_then(Value::as_f64), wval.as_f64()) {
                (Some(a), Some(b)) if close(a, b) => {}
                (a, b) => diffs.push(format!("{name}.{k}: got {a:?} want {b:?}")),
            }
        }
        for k in gv.keys().filter(|k| !wv.contains_key(*k)) {
            diffs.push(format!(
                "{name}.{k}: present now, absent in the golden file"
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "feature values drifted ({} differences):\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn generated_sessions_exercise_the_features() {
    // Guard against a golden file that pins nothing: the realistic sessions must produce most
    // features, strokes and replay hashes.
    let all = sessions();
    let login = features::extract(&all[0].1);
    assert!(login.named().len() >= 25, "{:?}", login.named());
    assert!(login.n_strokes >= 3 && !login.stroke_hashes.is_empty());
    let keys = features::extract(&all[5].1);
    assert!(keys.named().iter().any(|(n, _)| n.starts_with("key")));
}

const MODEL_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/model_outputs.json");

/// Scores of the compiled-in model on the golden sessions and on scaled copies of their
/// feature vectors (to reach more forest paths and both calibration tails).
fn compute_model_outputs() -> Value {
    use tollgate_model::{Model, ReplayEvidence};
    let model = Model::default_model();
    let mut all = Map::new();
    for (name, s) in sessions() {
        let f = features::extract(&s);
        let scored = model.score(&f, ReplayEvidence::default());
        let contributions: Map<String, Value> = scored
            .contributions
            .iter()
            .map(|c| (c.feature.def().name.to_string(), json!(c.logit)))
            .collect();
        let scaled: Vec<Value> = [0.25, 0.5, 0.8, 0.95, 1.05, 1.25, 2.0, 4.0]
            .iter()
            .map(|k| {
                let mut g = f.clone();
                for v in g.values.iter_mut().flatten() {
                    *v *= k;
                }
                let s = model.score(&g, ReplayEvidence::default());
                json!([s.logit, s.p_human, s.decision.as_str()])
            })
            .collect();
        all.insert(
            name.to_string(),
            json!({
                "logit": scored.logit,
                "p_raw": scored.p_raw,
                "p_human": scored.p_human,
                "decision": scored.decision.as_str(),
                "reasons": scored.reasons,
                "contributions": contributions,
                "scaled": scaled,
            }),
        );
    }
    Value::Object(all)
}

/// Compare two JSON trees: numbers within the relative tolerance, everything else exactly.
fn diff_json(path: &str, got: &Value, want: &Value, out: &mut Vec<String>) {
    match (got, want) {
        (Value::Number(a), Value::Number(b)) => {
            let (a, b) = (
                a.as_f64().unwrap_or(f64::NAN),
                b.as_f64().unwrap_or(f64::NAN),
            );
            if !close(a, b) {
                out.push(format!("{path}: got {a:?} want {b:?}"));
            }
        }
        (Value::Object(g), Value::Object(w)) => {
            if g.keys().collect::<Vec<_>>() != w.keys().collect::<Vec<_>>() {
                out.push(format!("{path}: keys differ"));
            }
            for (k, wv) in w {
                if let Some(gv) = g.get(k) {
                    diff_json(&format!("{path}.{k}"), gv, wv, out);
                }
            }
        }
        (Value::Array(g), Value::Array(w)) if g.len() == w.len() => {
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                diff_json(&format!("{path}[{i}]"), gv, wv, out);
            }
        }
        (g, w) if g == w => {}
        (g, w) => out.push(format!("{path}: got {g} want {w}")),
    }
}

/// The compiled-in model's outputs on the golden sessions are pinned too: loading the model file
/// or evaluating it must not drift (regenerate deliberately after retraining with
/// `TOLLGATE_REGEN_MODEL_OUTPUTS=1 cargo test -p tollgate-model --test features_golden`).
#[test]
fn model_outputs_match_the_golden_file() {
    let got = compute_model_outputs();
    if std::env::var_os("TOLLGATE_REGEN_MODEL_OUTPUTS").is_some() {
        let text = serde_json::to_string_pretty(&got).expect("serialise") + "\n";
        std::fs::write(MODEL_PATH, text).expect("write golden model outputs");
        return;
    }
    let text = std::fs::read_to_string(MODEL_PATH).expect("read model/testdata/model_outputs.json");
    let want: Value = serde_json::from_str(&text).expect("golden file is JSON");
    let mut diffs = Vec::new();
    diff_json("", &got, &want, &mut diffs);
    assert!(
        diffs.is_empty(),
        "model outputs drifted ({} differences):\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// Exact (bit-level) dump of the same outputs, for comparing two builds on one machine:
/// `TOLLGATE_DUMP_MODEL_BITS=file cargo test -p tollgate-model --test features_golden`.
#[test]
fn dump_model_output_bits() {
    let Some(path) = std::env::var_os("TOLLGATE_DUMP_MODEL_BITS") else {
        return;
    };
    fn bits(v: &Value, out: &mut String) {
        match v {
            Value::Number(n) => out.push_str(&format!(
                "{:016x}\n",
                n.as_f64().unwrap_or(f64::NAN).to_bits()
            )),
            Value::Object(m) => m.iter().for_each(|(k, v)| {
                out.push_str(k);
                out.push('\n');
                bits(v, out)
            }),
            Value::Array(a) => a.iter().for_each(|v| bits(v, out)),
            v => out.push_str(&format!("{v}\n")),
        }
    }
    let mut out = String::new();
    bits(&compute_model_outputs(), &mut out);
    std::fs::write(path, out).expect("write dump");
}
