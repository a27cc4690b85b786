//! Device class and evidence length, inferred from the telemetry itself (never from the user
//! agent), so calibration can hold each kind of input to its own human spread: one bot-like
//! human source (DELBOT's circle drags on a VM, a touchpad or a phone) then loosens the
//! thresholds of its own class only, not of every mouse user on a login page.
//!
//! What the session shows, in order of precedence:
//! - `touch` / `pen`: most pointer samples carry that `pointerType` (touch and pen have no hover
//!   moves, smoothed digitisers and real pressure: `shared/notes/behaviour.md` §5);
//! - `touchpad`: a mouse-type pointer with pixel-mode wheel deltas that are fractional or small
//!   (< 16 px per event; a wheel notch is 100–120 px or one line, a two-finger scroll sends many
//!   small pixel deltas). Only token telemetry has wheel deltas (the trace files do not), so no
//!   training human is ever in this class: it keeps the most lenient knots;
//! - `mouse-drag`: a mouse-type pointer that never hovers (every move with a button held: a
//!   drawing task, tap-and-drag on a touchpad, DELBOT's circles);
//! - `mouse`: a mouse-type pointer that hovers;
//! - `keyboard`: keys and no pointer moves.
//!
//! Evidence length: a pointer session with fewer than [`THIN_LONG_STROKES`] long strokes is
//! `thin` (a login page that saw just the final approach and click).
//!
//! The class a session is *judged* by ([`knots_class`]) differs from the class it shows in one
//! way: a claim that costs a client nothing and that no training person makes must not buy the
//! lenient knots. `touchpad` rests on wheel deltas alone (one `mouse.wheel(0, 4)` call) and no
//! training human has any, and a drag-only session on a login page (every move with a button
//! held) is something only DELBOT's drawing task produces; both are judged by the hovering
//! mouse's knots (`mouse` or `mouse-thin` by evidence length) when they come from the collector.
//! Trace files keep `mouse-drag`'s own knots: that is the task their recorder set.

use super::{Session, is_move};
use tollgate_protocol::telemetry::{pointer_type, scroll_kind};

/// Fewer long strokes than this: thin pointer evidence.
pub const THIN_LONG_STROKES: usize = 2;
/// A pixel-mode wheel delta below this (or fractional) is touchpad-like.
pub const TOUCHPAD_WHEEL_PX: f64 = 16.0;

/// Device class of a session (see the module docs). The string form is stable (model file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeviceClass {
    Mouse,
    MouseThin,
    MouseDrag,
    Touchpad,
    Touch,
    Pen,
    Keyboard,
    /// No behavioural input at all.
    None,
}

impl DeviceClass {
    pub const ALL: [DeviceClass; 8] = [
        DeviceClass::Mouse,
        DeviceClass::MouseThin,
        DeviceClass::MouseDrag,
        DeviceClass::Touchpad,
        DeviceClass::Touch,
        DeviceClass::Pen,
        DeviceClass::Keyboard,
        DeviceClass::None,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DeviceClass::Mouse => "mouse",
            DeviceClass::MouseThin => "mouse-thin",
            DeviceClass::MouseDrag => "mouse-drag",
            DeviceClass::Touchpad => "touchpad",
            DeviceClass::Touch => "touch",
            DeviceClass::Pen => "pen",
            DeviceClass::Keyboard => "keyboard",
            DeviceClass::None => "none",
        }
    }

    pub fn by_name(s: &str) -> Option<DeviceClass> {
        DeviceClass::ALL.iter().copied().find(|d| d.name() == s)
    }

    /// Classes that describe pointer evidence (their own calibration knots may apply).
    pub fn is_pointer(self) -> bool {
        !matches!(self, DeviceClass::Keyboard | DeviceClass::None)
    }
}

/// One wheel event (pixel, line or page mode; deltas in units of the mode).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wheel {
    pub t_ms: f64,
    /// [`scroll_kind`] `WHEEL_*` code.
    pub mode: u8,
    pub dx: f64,
    pub dy: f64,
}

/// Is this wheel event touchpad-like (pixel mode, small or fractional delta)?
pub fn touchpad_wheel(w: &Wheel) -> bool {
    if w.mode != scroll_kind::WHEEL_PIXEL {
        return false;
    }
    let d = w.dx.abs().max(w.dy.abs());
    d > 0.0 && (d < TOUCHPAD_WHEEL_PX || (d - d.round()).abs() > 1e-6)
}

/// Is most of the session's pointer input touch or pen? (A phone or tablet: its keys come from
/// an on-screen keyboard, see `keys::extract`.) Taps count, not only moves.
pub fn touch_input(s: &Session) -> bool {
    let n = s.pointer.len();
    let touch = s
        .pointer
        .iter()
        .filter(|p| matches!(p.ptype, pointer_type::TOUCH | pointer_type::PEN))
        .count();
    touch > 0 && 2 * touch > n
}

/// Infer the device class of a (sanitized) session; `long_strokes`: its number of long strokes.
pub fn classify(s: &Session, long_strokes: usize) -> DeviceClass {
    // Walked, not collected: only whether there are any (and, in `motion_class`, whether all
    // are drags).
    if !s.pointer.iter().any(is_move) {
        return if s.keys.is_empty() {
            DeviceClass::None
        } else {
            DeviceClass::Keyboard
        };
    }
    let count = |t: u8| s.pointer.iter().filter(|p| p.ptype == t).count();
    let n = s.pointer.len();
    if 2 * count(pointer_type::TOUCH) > n {
        return DeviceClass::Touch;
    }
    if 2 * count(pointer_type::PEN) > n {
        return DeviceClass::Pen;
    }
    let wheels = s.wheel.len();
    let small = s.wheel.iter().filter(|w| touchpad_wheel(w)).count();
    if wheels >= 3 && 2 * small > wheels {
        return DeviceClass::Touchpad;
    }
    motion_class(s, long_strokes)
}

/// A mouse-type pointer's class from its motion alone: `mouse-drag` when every move has a button
/// held, else the hovering mouse's class by evidence length.
fn motion_class(s: &Session, long_strokes: usize) -> DeviceClass {
    if s.pointer
        .iter()
        .filter(|p| is_move(p))
        .all(|p| p.buttons != 0)
    {
        DeviceClass::MouseDrag
    } else {
        hover_class(long_strokes)
    }
}

/// A hovering mouse's class by evidence length.
fn hover_class(long_strokes: usize) -> DeviceClass {
    if long_strokes < THIN_LONG_STROKES {
        DeviceClass::MouseThin
    } else {
        DeviceClass::Mouse
    }
}

/// The class whose calibration knots judge a session of class `device` (see the module docs):
/// `device` itself, except that collector sessions classed `touchpad` or `mouse-drag` take the
/// hovering mouse's class by evidence length. (A `touchpad` in a trace file cannot occur, the
/// files have no wheel deltas; it would take the class its motion shows.)
pub fn knots_class(s: &Session, device: DeviceClass, long_strokes: usize) -> DeviceClass {
    match device {
        DeviceClass::Touchpad | DeviceClass::MouseDrag if s.collector => hover_class(long_strokes),
        DeviceClass::Touchpad => motion_class(s, long_strokes),
        d => d,
    }
}

#[cfg(test)]
mod tests {
    use super::super::pointer::tests::{human_stroke, mv};
    use super::super::{Key, Pt, extract};
    use super::*;

    /// The same samples from a finger.
    fn touch_of(p: &[Pt]) -> Vec<Pt> {
        p.iter()
            .map(|q| Pt {
                ptype: pointer_type::TOUCH,
                ..*q
            })
            .collect()
    }

    fn wheel(dy: f64, mode: u8) -> Wheel {
        Wheel {
            t_ms: 0.0,
            mode,
            dx: 0.0,
            dy,
        }
    }

    #[test]
    fn classes_from_the_telemetry() {
        let mut p = human_stroke(0.0, (0.0, 0.0), (400.0, 200.0), 1);
        p.extend(human_stroke(1000.0, (400.0, 200.0), (50.0, 300.0), 2));
        let s = Session {
            pointer: p.clone(),
            ..Default::default()
        };
        assert_eq!(extract(&s).device, DeviceClass::Mouse);
        // One stroke only: thin evidence.
        let thin = Session {
            pointer: p[..45].to_vec(),
            ..Default::default()
        };
        assert_eq!(extract(&thin).device, DeviceClass::MouseThin);
        // Every move with the button held: a drag-only session.
        let drag = Session {
            pointer: p.iter().map(|q| Pt { buttons: 1, ..*q }).collect(),
            ..Default::default()
        };
        assert_eq!(extract(&drag).device, DeviceClass::MouseDrag);
        let touch = Session {
            pointer: touch_of(&p),
            ..Default::default()
        };
        assert_eq!(extract(&touch).device, DeviceClass::Touch);
        // Small pixel wheel deltas: a touchpad; notches: still a mouse.
        let mut pad = s.clone();
        pad.wheel = (0..6)
            .map(|i| wheel(2.5 + i as f64, scroll_kind::WHEEL_PIXEL))
            .collect();
        assert_eq!(extract(&pad).device, DeviceClass::Touchpad);
        let mut notch = s.clone();
        notch.wheel = (0..6)
            .map(|_| wheel(100.0, scroll_kind::WHEEL_PIXEL))
            .chain((0..6).map(|_| wheel(3.0, scroll_kind::WHEEL_LINE)))
            .collect();
        assert_eq!(extract(&notch).device, DeviceClass::Mouse);
        let keys = Session {
            keys: vec![Key {
                down_ms: 0.0,
                up_ms: 90.0,
                class: 0,
                unreleased: false,
            }],
            pointer: vec![],
            ..Default::default()
        };
        assert_eq!(extract(&keys).device, DeviceClass::Keyboard);
        assert_eq!(extract(&Session::default()).device, DeviceClass::None);
        let lone = Session {
            pointer: vec![mv(0.0, 1.0, 1.0)],
            ..Default::default()
        };
        assert_eq!(extract(&lone).device, DeviceClass::MouseThin);
        for d in DeviceClass::ALL {
            assert_eq!(DeviceClass::by_name(d.name()), Some(d));
        }
    }

    /// A free claim buys no leniency: a collector session that shows `touchpad` (small wheel
    /// deltas) or `mouse-drag` (every move with a button held) is judged as a hovering mouse,
    /// by its evidence length; a trace keeps its drag class, and the other classes are judged
    /// as they show.
    #[test]
    fn claimed_classes_are_judged_as_the_hovering_mouse() {
        let mut p = human_stroke(0.0, (0.0, 0.0), (400.0, 200.0), 1);
        p.extend(human_stroke(1000.0, (400.0, 200.0), (50.0, 300.0), 2));
        let judged = |s: &Session| {
            let f = extract(s);
            (f.device, f.knots_class)
        };
        let hover = Session {
            pointer: p.clone(),
            collector: true,
            ..Default::default()
        };
        assert_eq!(judged(&hover), (DeviceClass::Mouse, DeviceClass::Mouse));
        let mut pad = hover.clone();
        pad.wheel = (0..4)
            .map(|i| wheel(3.0 + i as f64, scroll_kind::WHEEL_PIXEL))
            .collect();
        assert_eq!(judged(&pad), (DeviceClass::Touchpad, DeviceClass::Mouse));
        let thin_pad = Session {
            pointer: p[..45].to_vec(),
            ..pad.clone()
        };
        assert_eq!(
            judged(&thin_pad),
            (DeviceClass::Touchpad, DeviceClass::MouseThin)
        );
        let drag = Session {
            pointer: p.iter().map(|q| Pt { buttons: 1, ..*q }).collect(),
            ..hover.clone()
        };
        assert_eq!(judged(&drag), (DeviceClass::MouseDrag, DeviceClass::Mouse));
        // A trace's drags (DELBOT's drawing task) keep their own knots.
        let trace_drag = Session {
            collector: false,
            ..drag.clone()
        };
        assert_eq!(
            judged(&trace_drag),
            (DeviceClass::MouseDrag, DeviceClass::MouseDrag)
        );
        let touch = Session {
            pointer: touch_of(&p),
            ..hover.clone()
        };
        assert_eq!(judged(&touch), (DeviceClass::Touch, DeviceClass::Touch));
    }
}
