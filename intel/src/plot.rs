//! Minimal PNG plots (no fonts, no plotting dependency): ROC curves per modality on the left,
//! score histograms per class on the right. Colours are listed by [`LEGEND`].

use std::io::Write;

use super::eval::{modality, roc};
use super::{IntelError, Label, Record};
use tollgate_model::model::Scored;

pub const LEGEND: &str = "ROC (left, x = humans flagged, y = bots flagged): black = all, blue = pointer, \
orange = keys, purple = pointer+keys; histograms (right, sqrt density, x = score 0..1): green = humans, \
red = bots, grey verticals = block 0.2 / allow 0.6 thresholds";

const W: usize = 1000;
const H: usize = 440;

struct Canvas {
    px: Vec<[u8; 3]>,
}

impl Canvas {
    fn new() -> Canvas {
        Canvas {
            px: vec![[255, 255, 255]; W * H],
        }
    }
    fn set(&mut self, x: i64, y: i64, c: [u8; 3]) {
        if x >= 0 && y >= 0 && (x as usize) < W && (y as usize) < H {
            self.px[y as usize * W + x as usize] = c;
        }
    }
    fn line(&mut self, x0: f64, y0: f64, x1: f64, y1: f64, c: [u8; 3], thick: i64) {
        let n = ((x1 - x0).abs().max((y1 - y0).abs()).ceil() as usize).max(1);
        for i in 0..=n {
            let u = i as f64 / n as f64;
            let (x, y) = (
                (x0 + (x1 - x0) * u).round() as i64,
                (y0 + (y1 - y0) * u).round() as i64,
            );
            for dx in 0..thick {
                for dy in 0..thick {
                    self.set(x + dx, y + dy, c);
                }
            }
        }
    }
    fn rect(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, c: [u8; 3]) {
        for y in y0.min(y1)..=y0.max(y1) {
            for x in x0.min(x1)..=x0.max(x1) {
                self.set(x, y, c);
            }
        }
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// Encode RGB pixels as PNG.
fn encode(c: &Canvas) -> Result<Vec<u8>, std::io::Error> {
    let mut raw = Vec::with_capacity(H * (W * 3 + 1));
    for y in 0..H {
        raw.push(0);
        for x in 0..W {
            raw.extend_from_slice(&c.px[y * W + x]);
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw)?;
    let idat = z.finish()?;
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&(W as u32).to_be_bytes());
    ihdr.extend_from_slice(&(H as u32).to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    Ok(out)
}

/// Draw ROC curves and histograms to `path`.
pub fn plot(
    records: &[Record],
    scored: &[Scored],
    path: &std::path::Path,
) -> Result<(), IntelError> {
    let mut c = Canvas::new();
    let grey = [200, 200, 200];
    let axis = [60, 60, 60];
    // Left panel: ROC in a 400×400 box at (30, 20).
    let (ox, oy, sz) = (30.0, 20.0, 400.0);
    c.line(ox, oy + sz, ox + sz, oy + sz, axis, 1);
    c.line(ox, oy, ox, oy + sz, axis, 1);
    for i in 1..10 {
        let g = ox + sz * i as f64 / 10.0;
        c.line(g, oy, g, oy + sz, [235, 235, 235], 1);
        let g = oy + sz * i as f64 / 10.0;
        c.line(ox, g, ox + sz, g, [235, 235, 235], 1);
    }
    c.line(ox, oy + sz, ox + sz, oy, grey, 1);
    let series: [(&str, [u8; 3]); 4] = [
        ("pointer", [40, 90, 220]),
        ("keys", [240, 140, 20]),
        ("pointer+keys", [150, 50, 170]),
        ("all", [0, 0, 0]),
    ];
    for (name, col) in series {
        let (mut h, mut b) = (Vec::new(), Vec::new());
        for (r, s) in records.iter().zip(scored) {
            if name != "all" && modality(r) != name {
                continue;
            }
            match r.label {
                Label::Human => h.push(s.p_human),
                Label::Bot => b.push(s.p_human),
            }
        }
        if h.is_empty() || b.is_empty() {
            continue;
        }
        let pts = roc(&h, &b);
        for w in pts.windows(2) {
            c.line(
                ox + w[0].0 * sz,
                oy + sz - w[0].1 * sz,
                ox + w[1].0 * sz,
                oy + sz - w[1].1 * sz,
                col,
                2,
            );
        }
    }
    // Right panel: histograms at (480, 20), 480×400.
    let (hx, hy, hw, hh) = (480.0, 20.0, 480.0, 400.0);
    c.line(hx, hy + hh, hx + hw, hy + hh, axis, 1);
    c.line(hx, hy, hx, hy + hh, axis, 1);
    for t in [0.2, 0.6] {
        c.line(hx + t * hw, hy, hx + t * hw, hy + hh, grey, 1);
    }
    const BINS: usize = 50;
    for (label, col) in [(Label::Human, [30, 160, 60]), (Label::Bot, [220, 40, 40])] {
        let mut hist = [0usize; BINS];
        let mut n = 0usize;
        for (r, s) in records.iter().zip(scored) {
            if r.label == label {
                let b = ((s.p_human.clamp(0.0, 1.0) * BINS as f64) as usize).min(BINS - 1);
                hist[b] += 1;
                n += 1;
            }
        }
        if n == 0 {
            continue;
        }
        let bw = hw / BINS as f64;
        let mut prev: Option<(f64, f64)> = None;
        for (i, &k) in hist.iter().enumerate() {
            let y = hy + hh - hh * (k as f64 / n as f64).sqrt();
            let x0 = hx + i as f64 * bw;
            if let Some((px, py)) = prev {
                c.line(px, py, x0, y, col, 2);
            }
            c.line(x0, y, x0 + bw, y, col, 2);
            if k > 0 {
                c.rect(
                    x0 as i64 + 1,
                    y as i64 + 2,
                    (x0 + bw) as i64 - 1,
                    (y as i64 + 4).min((hy + hh) as i64),
                    col,
                );
            }
            prev = Some((x0 + bw, y));
        }
    }
    let png = encode(&c).map_err(|e| IntelError::Write {
        path: path.display().to_string(),
        source: e,
    })?;
    std::fs::write(path, png).map_err(|e| IntelError::Write {
        path: path.display().to_string(),
        source: e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_reference() {
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
