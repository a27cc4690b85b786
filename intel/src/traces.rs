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
    #[allow(dead_code)]
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

fn convert(raw: RawRecord) -> Result<Record, String> {
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
    Ok(Record {
        id: raw.id,
        source: raw.source,
        subject: raw.subject,
        label,
        generator: raw.generator,
        session,
        trainable: true,
        derived: false,
    })
}

/// Parse records from any reader of JSON Lines.
pub fn read_records(reader: impl Read) -> (Vec<Record>, LoadReport) {
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
            .and_then(convert);
        match parsed {
            Ok(rec) => {
                rep.records += 1;
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

/// Read a `.jsonl` or `.jsonl.gz` file (gzip detected by its magic bytes).
pub fn read_file(path: &Path) -> Result<(Vec<Record>, LoadReport), IntelError> {
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
        Ok(read_records(flate2::read::MultiGzDecoder::new(chained)))
    } else {
        Ok(read_records(chained))
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
