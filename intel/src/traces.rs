//! Adapter for the developer trace format (JSON Lines, optionally gzip-compressed; see the data
//! README): one object per line with `id, source, subject, label, generator, device, screen,
//! pointer: [[t, kind, x, y, buttons]], keys: [[t_down, t_up, class]]`.
//!
//! Malformed lines are counted and skipped (the first few reasons are kept for the report);
//! nothing panics on bad input.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::Deserialize;
use tollgate_model::features::{Key, Pt, Session};
use tollgate_protocol::telemetry::{key_class, pointer_kind, pointer_type};

use super::{IntelError, Label, Record};

/// Lines longer than this are rejected without parsing.
pub const MAX_LINE: usize = 64 << 20;

#[derive(Debug, Deserialize)]
struct RawRecord {
    id: String,
    source: String,
    subject: String,
    label: String,
    generator: Option<String>,
    device: String,
    screen: Option<Vec<f64>>,
    pointer: Vec<(f64, String, f64, f64, u32)>,
    keys: Vec<(f64, f64, String)>,
}

/// What a load saw.
#[derive(Debug, Default, Clone)]
pub struct LoadReport {
    pub lines: usize,
    pub records: usize,
    pub skipped: usize,
    /// Records whose pointer coordinates are fractions ([`unit_coords`]): rescaled to pixels
    /// unless read with [`UnitCoords::Keep`].
    pub unit_coords: usize,
    /// First few problems, `line N: reason`.
    pub problems: Vec<String>,
}

fn key_class_of(s: &str) -> Option<u8> {
    Some(match s {
        "char" => key_class::CHAR,
        "space" => key_class::SPACE,
        "backspace" => key_class::BACKSPACE,
        "enter" => key_class::ENTER,
        "tab" => key_class::TAB,
        "shift" => key_class::SHIFT,
        "modifier" => key_class::MODIFIER,
        "other" => key_class::OTHER,
        _ => return None,
    })
}

fn pointer_kind_of(s: &str) -> Option<u8> {
    Some(match s {
        "move" => pointer_kind::MOVE,
        "down" => pointer_kind::DOWN,
        "up" => pointer_kind::UP,
        "wheel" => pointer_kind::WHEEL,
        _ => return None,
    })
}

/// Are these pointer coordinates fractions rather than pixels: every `x` and `y` within
/// [`UNIT_RANGE`], some of them fractional ([`unnormalize`])?
pub fn unit_coords(pointer: &[Pt]) -> bool {
    let unit = |v: f64| UNIT_RANGE.contains(&v);
    !pointer.is_empty()
        && pointer.iter().all(|p| unit(p.x) && unit(p.y))
        && pointer
            .iter()
            .any(|p| p.x.fract() != 0.0 || p.y.fract() != 0.0)
}

/// Where coordinates logged as fractions lie: `[0, 1]` across the canvas or viewport they are
/// relative to, and a little outside it where a recorder kept logging a pointer that left it
/// (DELBOT's stay within `[0, 1]`). A pixel trace never keeps its pointer inside a 3 × 3 px
/// square.
pub const UNIT_RANGE: std::ops::RangeInclusive<f64> = -1.0..=2.0;

/// What a reader does with pointer coordinates logged as fractions ([`unit_coords`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UnitCoords {
    /// Rescale them to pixels ([`unnormalize`]): the default.
    #[default]
    Rescale,
    /// Keep them as logged (counted in [`LoadReport::unit_coords`]): how the shipped model was
    /// trained (`intel/scripts/retrain.sh`), see `verifier/README.md`, "Coordinates logged as
    /// fractions".
    Keep,
}

/// Screen size (CSS px) assumed for normalised coordinates when a record gives none.
pub const NOMINAL_SCREEN: [f64; 2] = [1920.0, 1080.0];

/// Rescale pointer coordinates logged as fractions (see [`unit_coords`], which the reader asks
/// first) to pixels: both axes times the short side of the record's screen
/// ([`NOMINAL_SCREEN`] without a usable `screen`).
///
/// Some recorders log the pointer relative to a canvas or the viewport rather than in CSS
/// pixels: 166 of DELBOT's 234 NaturalMouseMotion files and 52 of its people's (`human_fast`,
/// 43 of `human_pc2`) do. Every pointer feature has pixel-scale thresholds (a stroke's minimum
/// path, a ruler's chord, a teleport's jump, what counts as still), so at a thousandth of a
/// pixel a session reads as a pointer that barely moves and the model judges it on almost
/// nothing: in sample, 164 of those 166 NaturalMouseMotion sessions were allowed, against 28
/// of the 68 logged in pixels. The basis the recorder divided by is not stated. One factor for
/// both axes keeps circles round and angles as drawn, and the short side of the screen puts
/// DELBOT's normalised drawings at the size of its pixel-logged ones (median bounding-box
/// diagonal: NaturalMouseMotion 586 px rescaled, 586 px logged in pixels; `human_pc2` 270 and
/// 246 px), where the screen's width and height apart would stretch them 1.78 : 1. A pixel
/// trace whose pointer stayed inside a 3 × 3 px square would be rescaled too; no recorder logs
/// that.
pub fn unnormalize(pointer: &mut [Pt], screen: Option<&[f64]>) {
    let [w, h] = match screen {
        Some(&[w, h]) if w.is_finite() && h.is_finite() && w >= 100.0 && h >= 100.0 => [w, h],
        _ => NOMINAL_SCREEN,
    };
    let side = w.min(h);
    for p in pointer {
        p.x *= side;
        p.y *= side;
    }
}

/// A record and whether its pointer coordinates were fractions ([`unit_coords`]).
fn convert(raw: RawRecord, unit: UnitCoords) -> Result<(Record, bool), String> {
    let label = match raw.label.as_str() {
        "human" => Label::Human,
        "bot" => Label::Bot,
        other => return Err(format!("unknown label {other:?}")),
    };
    let ptype = match raw.device.as_str() {
        "touch" => pointer_type::TOUCH,
        _ => pointer_type::MOUSE,
    };
    let mut pointer = Vec::with_capacity(raw.pointer.len());
    for (t, kind, x, y, buttons) in raw.pointer {
        let kind =
            pointer_kind_of(&kind).ok_or_else(|| format!("unknown pointer kind {kind:?}"))?;
        if !(t.is_finite() && x.is_finite() && y.is_finite()) {
            return Err("non-finite pointer value".into());
        }
        pointer.push(Pt {
            t_ms: t,
            kind,
            x,
            y,
            buttons: buttons.min(255) as u8,
            ptype,
            pressure: None,
            trusted: None,
            coalesced: false,
        });
    }
    let fractions = unit_coords(&pointer);
    if fractions && unit == UnitCoords::Rescale {
        unnormalize(&mut pointer, raw.screen.as_deref());
    }
    let mut keys = Vec::with_capacity(raw.keys.len());
    for (down, up, class) in raw.keys {
        let class = key_class_of(&class).ok_or_else(|| format!("unknown key class {class:?}"))?;
        if !(down.is_finite() && up.is_finite()) {
            return Err("non-finite key time".into());
        }
        keys.push(Key {
            down_ms: down,
            up_ms: up.max(down),
            class,
            unreleased: false,
        });
    }
    let mut session = Session {
        pointer,
        keys,
        ..Default::default()
    };
    session.sanitize();
    let record = Record {
        id: raw.id,
        source: raw.source,
        subject: raw.subject,
        label,
        generator: raw.generator,
        session,
        trainable: true,
        derived: false,
    };
    Ok((record, fractions))
}

/// Parse records from any reader of JSON Lines, coordinates logged as fractions rescaled.
pub fn read_records(reader: impl Read) -> (Vec<Record>, LoadReport) {
    read_records_with(reader, UnitCoords::Rescale)
}

/// Parse records from any reader of JSON Lines.
pub fn read_records_with(reader: impl Read, unit: UnitCoords) -> (Vec<Record>, LoadReport) {
    let mut out = Vec::new();
    let mut rep = LoadReport::default();
    let mut r = BufReader::new(reader);
    let mut line = String::new();
    loop {
        line.clear();
        match r.by_ref().take(MAX_LINE as u64 + 1).read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                rep.skipped += 1;
                if rep.problems.len() < 5 {
                    rep.problems
                        .push(format!("line {}: read error: {e}", rep.lines + 1));
                }
                break;
            }
        }
        rep.lines += 1;
        if line.len() > MAX_LINE {
            rep.skipped += 1;
            if rep.problems.len() < 5 {
                rep.problems
                    .push(format!("line {}: longer than {MAX_LINE} bytes", rep.lines));
            }
            // Skip the rest of this over-long line.
            let mut sink = Vec::new();
            let _ = r.read_until(b'\n', &mut sink);
            continue;
        }
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        let parsed = serde_json::from_str::<RawRecord>(text)
            .map_err(|e| e.to_string())
            .and_then(|raw| convert(raw, unit));
        match parsed {
            Ok((rec, fractions)) => {
                rep.records += 1;
                rep.unit_coords += usize::from(fractions);
                out.push(rec);
            }
            Err(e) => {
                rep.skipped += 1;
                if rep.problems.len() < 5 {
                    rep.problems.push(format!("line {}: {e}", rep.lines));
                }
            }
        }
    }
    (out, rep)
}

/// Read a `.jsonl` or `.jsonl.gz` file (gzip detected by its magic bytes), coordinates logged as
/// fractions rescaled.
pub fn read_file(path: &Path) -> Result<(Vec<Record>, LoadReport), IntelError> {
    read_file_with(path, UnitCoords::Rescale)
}

/// Read a `.jsonl` or `.jsonl.gz` file (gzip detected by its magic bytes).
pub fn read_file_with(
    path: &Path,
    unit: UnitCoords,
) -> Result<(Vec<Record>, LoadReport), IntelError> {
    let io = |source| IntelError::Io {
        path: path.display().to_string(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut magic = [0u8; 2];
    let n = f.read(&mut magic).map_err(io)?;
    let head = std::io::Cursor::new(magic[..n].to_vec());
    let chained = head.chain(f);
    if n == 2 && magic == [0x1f, 0x8b] {
        Ok(read_records_with(
            flate2::read::MultiGzDecoder::new(chained),
            unit,
        ))
    } else {
        Ok(read_records_with(chained, unit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_skips_malformed_lines() {
        let text = concat!(
            r#"{"id":"s/u1/a/0","source":"s","subject":"u1","label":"human","generator":null,"device":"mouse","screen":null,"pointer":[[0,"move",1,2,0],[16,"down",1,2,1],[90,"up",1,2,0]],"keys":[[5,80,"char"]]}"#,
            "\n",
            "{not json\n",
            r#"{"id":"x","source":"s","subject":"u","label":"alien","generator":null,"device":"mouse","screen":null,"pointer":[],"keys":[]}"#,
            "\n",
            r#"{"id":"y","source":"s","subject":"u","label":"bot","generator":"g","device":"touch","screen":[1,2],"pointer":[[0,"jump",1,2,0]],"keys":[]}"#,
            "\n\n",
            r#"{"id":"z","source":"s","subject":"u","label":"bot","generator":"g","device":"touch","screen":[1,2],"pointer":[[0.5,"move",1.25,2,0]],"keys":[[1,0,"space"]]}"#,
        );
        let (recs, rep) = read_records(text.as_bytes());
        assert_eq!(rep.records, 2);
        assert_eq!(rep.skipped, 3);
        assert_eq!(rep.problems.len(), 3);
        assert_eq!(recs[0].session.pointer.len(), 3);
        assert_eq!(recs[0].session.pointer[1].kind, pointer_kind::DOWN);
        assert_eq!(recs[0].session.keys[0].class, key_class::CHAR);
        assert_eq!(recs[1].label, Label::Bot);
        assert_eq!(recs[1].session.pointer[0].ptype, pointer_type::TOUCH);
        assert_eq!(
            recs[1].session.keys[0].up_ms, 1.0,
            "release before press is clamped"
        );
    }

    #[test]
    fn normalised_coordinates_are_rescaled_to_the_screen() {
        let line = |screen: &str, pts: &str| {
            format!(
                r#"{{"id":"n","source":"s","subject":"u","label":"bot","generator":"g","device":"mouse","screen":{screen},"pointer":[{pts}],"keys":[]}}"#
            )
        };
        let unit = r#"[0,"move",0.25,0.5,0],[16,"move",0.256,0.51,0],[90,"down",0.5,1,1]"#;
        let text = [
            line("[1536,864]", unit),
            line("null", unit),
            line("[0,864]", unit),
            // A pointer that left the canvas: a little outside [0, 1].
            line(
                "[1536,864]",
                r#"[0,"move",-0.05,0.5,0],[16,"move",1.25,0.5,0]"#,
            ),
            // Pixel traces stay as they are: whole pixels in the top-left corner, and fractional
            // pixels beyond it.
            line("[1536,864]", r#"[0,"move",0,1,0],[16,"move",1,1,0]"#),
            line(
                "[1536,864]",
                r#"[0,"move",0.5,0.25,0],[16,"move",2.5,0.75,0]"#,
            ),
        ]
        .join("\n");
        let (recs, rep) = read_records(text.as_bytes());
        assert_eq!((rep.records, rep.unit_coords), (6, 4));
        let xy = |r: &Record| -> Vec<(f64, f64)> {
            r.session.pointer.iter().map(|p| (p.x, p.y)).collect()
        };
        assert_eq!(
            xy(&recs[0]),
            [(216.0, 432.0), (221.184, 440.64), (432.0, 864.0)]
        );
        // No usable screen: the nominal one.
        assert_eq!(xy(&recs[1])[0], (270.0, 540.0));
        assert_eq!(xy(&recs[2])[2], (540.0, 1080.0));
        assert_eq!(xy(&recs[3]), [(-43.2, 432.0), (1080.0, 432.0)]);
        assert_eq!(xy(&recs[4]), [(0.0, 1.0), (1.0, 1.0)]);
        // Fractional pixels beyond the 3 x 3 px square stay pixels.
        assert_eq!(xy(&recs[5]), [(0.5, 0.25), (2.5, 0.75)]);
        // Kept as logged, and counted.
        let (kept, rep) = read_records_with(text.as_bytes(), UnitCoords::Keep);
        assert_eq!((rep.records, rep.unit_coords), (6, 4));
        for (k, r) in kept.iter().zip(&recs).take(4) {
            assert_ne!(xy(k), xy(r), "kept as logged");
        }
        assert_eq!(xy(&kept[0])[0], (0.25, 0.5));
    }

    #[test]
    fn gzip_and_plain_files() {
        use std::io::Write;
        let line = r#"{"id":"a","source":"s","subject":"u","label":"human","generator":null,"device":"mouse","screen":null,"pointer":[],"keys":[]}"#;
        let dir = std::env::temp_dir().join(format!("tollgate-intel-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plain = dir.join("t.jsonl");
        std::fs::write(&plain, format!("{line}\n")).unwrap();
        let gz = dir.join("t.jsonl.gz");
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(format!("{line}\n{line}\n").as_bytes()).unwrap();
        std::fs::write(&gz, e.finish().unwrap()).unwrap();
        assert_eq!(read_file(&plain).unwrap().0.len(), 1);
        assert_eq!(read_file(&gz).unwrap().0.len(), 2);
        assert!(read_file(&dir.join("missing.jsonl")).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
