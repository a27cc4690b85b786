//! Field focus and form activation: what caused each credential-field focus and each submission
//! ([`Features::unprompted_focus`], [`Features::unprompted_submit`]).
//!
//! A person moves the focus into a field by pressing on it (or its label) or by Tab, and a page's
//! own script may move it after Enter or a click on a "Next" button. A script that types into a
//! field it named (`element.send_keys` in Selenium, `page.type(selector)` and
//! `locator.pressSequentially` in Puppeteer and Playwright) focuses it from JavaScript: the field
//! gains the focus while the last thing the page saw was a character typed into the previous
//! field. Likewise a person submits a form by pressing its button, Enter in a field, or Space or
//! Enter on the focused button; a script calls `button.click()`, `form.requestSubmit()` or
//! Selenium's `element.submit()` straight after typing the password. This module counts both,
//! and the credential fields whose text was inserted with no keystroke at all (`fill()`).
//! Only the collector records field events (trace files have none), so the rules are judged in
//! tokens alone.

use tollgate_protocol::telemetry::{field_kind, key_class, pointer_kind, pointer_type, role};

use super::{Features, Session};

/// A key down or pointer down stamped up to this long after a focus or submission still counts
/// as its cause: the event is dispatched while the press is handled, and browsers round
/// `timeStamp`.
pub const FOCUS_CAUSE_SLACK_MS: f64 = 20.0;

/// The latest press before a focus or submission explains it only if it came at most this long
/// before: a two-step login loads its password step after "Next" (a click or Enter) and focuses
/// it then.
pub const FOCUS_CAUSE_MAX_MS: f64 = 10_000.0;

/// A focus this soon after the page became visible again is the browser restoring it.
pub const FOCUS_AFTER_VISIBLE_MS: f64 = 3_000.0;

/// What a press was, for the rules here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Press {
    Pointer,
    Key(u8),
}

impl Press {
    /// Can this press move the focus (a click, Tab, or Enter handled by the page)?
    fn moves_focus(self) -> bool {
        matches!(
            self,
            Press::Pointer | Press::Key(key_class::TAB | key_class::ENTER)
        )
    }

    /// Does this press type into a field (whose `input` handler a page may act on)?
    fn types(self) -> bool {
        matches!(self, Press::Key(key_class::CHAR | key_class::SPACE))
    }

    /// Can this press activate a button or submit a form (a click, Enter, Space on a button)?
    fn activates(self) -> bool {
        matches!(
            self,
            Press::Pointer | Press::Key(key_class::ENTER | key_class::SPACE)
        )
    }
}

/// Count, into `f`, the username and password focuses judged and those with no cause
/// (`n_judged_focuses`, `n_unprompted_focuses`), and the form submissions and pointer-less
/// clicks judged and those with no cause (`n_judged_submits`, `n_unprompted_submits`).
///
/// Judged, in a collector capture: a `focus` on a field whose captured role is username or
/// password, after the first press of any key or pointer button (a focus before that is the
/// page's `autofocus` or its own script at load); every `submit` of the widget's form and every
/// `click` on one of its fields with no pointer behind it (`detail` 0). Not judged:
/// - a focus on the field that had the focus last (the window or tab coming back to the page
///   restores it, whatever was typed before), or within [`FOCUS_AFTER_VISIBLE_MS`] of the page
///   becoming visible again;
/// - any session with touch or pen input (mobile keyboards' "next" and "go" buttons move the
///   focus or submit with no event the page can read) or with a paste or an autofill (password
///   managers fill, focus and submit from their own UI).
///
/// Explained: the latest key or button press at or before the event is a cause (for a focus a
/// pointer press, Tab or Enter; for a submission a pointer press, Enter or Space) at most
/// [`FOCUS_CAUSE_MAX_MS`] before, or a typing key (a character or space) still held as the
/// event came (the page's own handler of that key: a customer-number field that advances to
/// the PIN when full), or a cause is stamped within [`FOCUS_CAUSE_SLACK_MS`] after it. Anything else (a released character,
/// Backspace, a modifier; for a submission no press at all) is unprompted. Not explained, and so
/// challenged: a page that advances the focus or submits on `keyup`. Screen readers in browse
/// mode and keyboard-navigation extensions also focus and activate this way, which is why the
/// rules challenge and never block.
///
/// Also counts the username and password fields that gained text by insertion with no keystroke
/// (`n_inserted_fields`: the collector's INSERTED records, a trusted `insertText` input event
/// with no keydown before it: DevTools' `Input.insertText`, which Playwright's `fill()` and
/// Puppeteer's `sendCharacter` send), judged in collector captures without touch or pen input
/// (a phone's suggestion strip commits words that way), whatever else the session holds: a
/// paste or an autofill does not excuse it, and an INSERTED record does not turn the focus and
/// submission rules off as a paste or an autofill does.
pub fn extract(s: &Session, f: &mut Features) {
    f.n_judged_focuses = 0;
    f.n_unprompted_focuses = 0;
    f.n_judged_submits = 0;
    f.n_unprompted_submits = 0;
    f.n_inserted_fields = 0;
    if !s.collector
        || s.pointer
            .iter()
            .any(|p| p.ptype == pointer_type::TOUCH || p.ptype == pointer_type::PEN)
    {
        return;
    }
    let credential = |field: u8| {
        s.targets
            .get(usize::from(field))
            .is_some_and(|b| b.role == role::USERNAME || b.role == role::PASSWORD)
    };
    let mut inserted: Vec<u8> = s
        .fields
        .iter()
        .filter(|e| e.t_ms.is_finite() && e.kind == field_kind::INSERTED && credential(e.field))
        .map(|e| e.field)
        .collect();
    inserted.sort_unstable();
    inserted.dedup();
    f.n_inserted_fields = inserted.len();
    if s.fields.iter().any(|e| {
        e.t_ms.is_finite() && (e.kind == field_kind::PASTE || e.kind == field_kind::AUTOFILL)
    }) {
        return;
    }
    // Presses in time order: (time, what, released at).
    let mut presses: Vec<(f64, Press, f64)> = s
        .pointer
        .iter()
        .filter(|p| p.kind == pointer_kind::DOWN)
        .map(|p| (p.t_ms, Press::Pointer, p.t_ms))
        .chain(
            s.keys
                .iter()
                .map(|k| (k.down_ms, Press::Key(k.class), k.up_ms)),
        )
        .filter(|(t, _, _)| t.is_finite())
        .collect();
    presses.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Is the event at `t` caused by a press that `cause` accepts? `None`: no press at or
    // before it, nor a cause just after.
    let explained = |t: f64, cause: fn(Press) -> bool| -> Option<bool> {
        let upto = presses.partition_point(|p| p.0 <= t);
        let end = presses.partition_point(|p| p.0 <= t + FOCUS_CAUSE_SLACK_MS);
        // A cause stamped just after; a character typed just after says nothing.
        let late = presses[upto..end].iter().any(|p| cause(p.1));
        let last = upto.checked_sub(1).and_then(|i| presses.get(i));
        if last.is_none() && !late {
            return None;
        }
        // A typing key still held: the page's own handler of that key acted (its `keydown` or
        // `input`); a script's next command comes after it released the last key. A held
        // modifier types nothing, so it explains nothing.
        Some(
            late || last.is_some_and(|&(at, what, up)| {
                (what.types() && up >= t) || (cause(what) && t - at <= FOCUS_CAUSE_MAX_MS)
            }),
        )
    };
    let mut events: Vec<_> = s.fields.iter().filter(|e| e.t_ms.is_finite()).collect();
    events.sort_by(|a, b| a.t_ms.total_cmp(&b.t_ms));
    let mut last_focused: Option<u8> = None;
    let mut visible_at = f64::NEG_INFINITY;
    for e in events {
        match e.kind {
            field_kind::VISIBILITY_VISIBLE => visible_at = e.t_ms,
            field_kind::FOCUS => {
                let restored = last_focused == Some(e.field);
                last_focused = Some(e.field);
                if restored || !credential(e.field) || e.t_ms - visible_at <= FOCUS_AFTER_VISIBLE_MS
                {
                    continue;
                }
                // Before any press: autofocus or the page's own script at load.
                if let Some(ok) = explained(e.t_ms, Press::moves_focus) {
                    f.n_judged_focuses += 1;
                    f.n_unprompted_focuses += usize::from(!ok);
                }
            }
            field_kind::SUBMIT | field_kind::CLICK_NO_POINTER => {
                f.n_judged_submits += 1;
                let ok = explained(e.t_ms, Press::activates).unwrap_or(false);
                f.n_unprompted_submits += usize::from(!ok);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::{FieldEv, Key, Pt, Target, extract as extract_all};

    const USER: u8 = 0;
    const PASS: u8 = 1;

    fn target(r: u8) -> Target {
        Target {
            role: r,
            x: 0.0,
            y: 0.0,
            w: 300.0,
            h: 40.0,
        }
    }

    fn down(t_ms: f64, ptype: u8) -> Pt {
        Pt {
            t_ms,
            kind: pointer_kind::DOWN,
            x: 10.0,
            y: 10.0,
            buttons: 1,
            ptype,
            pressure: Some(0.5),
            trusted: Some(true),
            coalesced: false,
        }
    }

    fn focus(t_ms: f64, field: u8) -> FieldEv {
        FieldEv {
            t_ms,
            kind: field_kind::FOCUS,
            field,
        }
    }

    /// Typing `n` characters from `t0`, 150 ms apart; returns the keys.
    fn typed(t0: f64, n: usize) -> Vec<Key> {
        (0..n)
            .map(|i| Key {
                down_ms: t0 + 150.0 * i as f64,
                up_ms: t0 + 150.0 * i as f64 + 90.0,
                class: key_class::CHAR,
                unreleased: false,
            })
            .collect()
    }

    /// A login: the username focused at `user_focus` (pressed there when `click_user`), typed,
    /// then the password focused by `how` at 3 s and typed.
    fn login(how: &str) -> Session {
        let mut keys = typed(1_000.0, 8);
        let mut pointer = vec![down(900.0, pointer_type::MOUSE)];
        let mut fields = vec![focus(900.0, USER)];
        match how {
            "click" => pointer.push(down(3_000.0, pointer_type::MOUSE)),
            "tab" => keys.push(Key {
                down_ms: 2_995.0,
                up_ms: 3_060.0,
                class: key_class::TAB,
                unreleased: false,
            }),
            "script" | "script-fast" => {}
            "touch" => pointer[0].ptype = pointer_type::TOUCH,
            "paste" => fields.push(FieldEv {
                t_ms: 2_000.0,
                kind: field_kind::PASTE,
                field: USER,
            }),
            "visible" => fields.push(FieldEv {
                t_ms: 2_500.0,
                kind: field_kind::VISIBILITY_VISIBLE,
                field: 0,
            }),
            other => panic!("{other}"),
        }
        fields.push(focus(3_001.0, PASS));
        // ChromeDriver types its first key a few milliseconds after it focused the field.
        keys.extend(typed(
            if how == "script-fast" {
                3_010.0
            } else {
                3_300.0
            },
            10,
        ));
        Session {
            pointer,
            keys,
            fields,
            targets: vec![target(role::USERNAME), target(role::PASSWORD)],
            collector: true,
            ..Session::default()
        }
    }

    #[test]
    fn a_click_or_tab_explains_a_focus_a_script_does_not() {
        for (how, judged, unprompted) in [
            ("click", 2, 0),
            ("tab", 2, 0),
            ("script", 2, 1),
            ("script-fast", 2, 1),
            ("touch", 0, 0),
            ("paste", 0, 0),
            ("visible", 1, 0),
        ] {
            let f = extract_all(&login(how));
            assert_eq!(
                (f.n_judged_focuses, f.n_unprompted_focuses),
                (judged, unprompted),
                "{how}"
            );
            assert_eq!(f.unprompted_focus(), unprompted > 0, "{how}");
        }
    }

    #[test]
    fn autofocus_restored_focus_and_traces_are_not_judged() {
        // Focused before any press (autofocus), then typed into: not judged.
        let mut s = login("script");
        s.fields[0].t_ms = 100.0;
        s.pointer.clear();
        s.fields.remove(1);
        let f = extract_all(&s);
        assert_eq!((f.n_judged_focuses, f.n_unprompted_focuses), (0, 0));
        // The password field focused again after the window came back: the same field as last.
        let mut s = login("click");
        s.fields.push(FieldEv {
            t_ms: 4_000.0,
            kind: field_kind::BLUR,
            field: PASS,
        });
        s.fields.push(focus(9_000.0, PASS));
        s.keys.extend(typed(9_100.0, 3));
        let f = extract_all(&s);
        assert_eq!((f.n_judged_focuses, f.n_unprompted_focuses), (2, 0));
        // A field that is not a credential field (an OTP box a site's script advances to).
        let mut s = login("script");
        s.targets[1].role = role::OTHER;
        assert!(!extract_all(&s).unprompted_focus());
        // A trace (not a collector capture) is never judged.
        let mut s = login("script");
        s.collector = false;
        assert_eq!(extract_all(&s).n_judged_focuses, 0);
    }

    #[test]
    fn an_old_click_does_not_explain_a_late_focus() {
        // The last press a click 12 s before (a person idling, then a script focusing).
        let mut s = login("click");
        s.keys.clear();
        s.fields[1].t_ms = 15_000.0;
        let f = extract_all(&s);
        assert_eq!((f.n_judged_focuses, f.n_unprompted_focuses), (2, 1));
        // Stamped just after its press (rounded timeStamp): still explained.
        let mut s = login("click");
        s.pointer[1].t_ms = 3_001.0 + FOCUS_CAUSE_SLACK_MS;
        assert_eq!(extract_all(&s).n_unprompted_focuses, 0);
    }

    #[test]
    fn a_page_advancing_the_focus_while_a_key_is_held_is_not_unprompted() {
        // The username's last key (down at 2,050, up at 2,140) still held at the focus: the
        // page's input handler moved it.
        let mut s = login("script");
        s.fields[1].t_ms = 2_052.0;
        s.keys
            .retain(|k| k.down_ms < 2_100.0 || k.down_ms >= 3_300.0);
        assert_eq!(extract_all(&s).n_unprompted_focuses, 0);
        // Moved after the release: a script's next command.
        s.fields[1].t_ms = 2_141.0;
        assert_eq!(extract_all(&s).n_unprompted_focuses, 1);
        // A script focusing while it holds Shift down: a modifier types nothing, still unprompted.
        s.keys.push(Key {
            down_ms: 2_130.0,
            up_ms: 2_200.0,
            class: key_class::SHIFT,
            unreleased: false,
        });
        s.keys.sort_by(|a, b| a.down_ms.total_cmp(&b.down_ms));
        assert_eq!(extract_all(&s).n_unprompted_focuses, 1);
    }

    fn field_ev(t_ms: f64, kind: u8, field: u8) -> FieldEv {
        FieldEv { t_ms, kind, field }
    }

    #[test]
    fn a_click_enter_or_space_explains_a_submission_a_script_does_not() {
        const BUTTON: u8 = 2;
        // The password typed from 3,300 to 4,740 (ten keys, 150 ms apart, held 90 ms).
        let submitted = |press: Option<Key>, pointer: bool, events: &[(f64, u8)]| {
            let mut s = login("click");
            s.targets.push(target(role::SUBMIT));
            if pointer {
                s.pointer.push(down(6_000.0, pointer_type::MOUSE));
            }
            s.keys.extend(press);
            for &(t, kind) in events {
                s.fields.push(field_ev(t, kind, BUTTON));
            }
            let f = extract_all(&s);
            (
                f.n_judged_submits,
                f.n_unprompted_submits,
                f.unprompted_submit(),
            )
        };
        let key = |class| Key {
            down_ms: 6_000.0,
            up_ms: 6_080.0,
            class,
            unreleased: false,
        };
        // A click on the button, then its submit.
        assert_eq!(
            submitted(None, true, &[(6_090.0, field_kind::SUBMIT)]),
            (1, 0, false)
        );
        // Enter in the password field: a pointer-less click and the submit while it is held.
        let enter = [
            (6_001.0, field_kind::CLICK_NO_POINTER),
            (6_002.0, field_kind::SUBMIT),
        ];
        assert_eq!(
            submitted(Some(key(key_class::ENTER)), false, &enter),
            (2, 0, false)
        );
        // Space on the focused button, released before the click.
        let space = [
            (6_081.0, field_kind::CLICK_NO_POINTER),
            (6_082.0, field_kind::SUBMIT),
        ];
        assert_eq!(
            submitted(Some(key(key_class::SPACE)), false, &space),
            (2, 0, false)
        );
        // `button.click()` from a script after the password's last key: both unprompted.
        let script = [
            (5_000.0, field_kind::CLICK_NO_POINTER),
            (5_001.0, field_kind::SUBMIT),
        ];
        assert_eq!(submitted(None, false, &script), (2, 2, true));
        // `form.requestSubmit()` with no press at all in the session.
        let mut s = Session {
            targets: vec![target(role::SUBMIT)],
            fields: vec![field_ev(900.0, field_kind::SUBMIT, 0)],
            collector: true,
            ..Session::default()
        };
        assert!(extract_all(&s).unprompted_submit());
        // Never judged with touch input, nor in a trace.
        s.pointer.push(down(100.0, pointer_type::TOUCH));
        assert_eq!(extract_all(&s).n_judged_submits, 0);
        s.pointer[0].ptype = pointer_type::MOUSE;
        s.collector = false;
        assert_eq!(extract_all(&s).n_judged_submits, 0);
    }

    #[test]
    fn text_inserted_without_a_keystroke_is_counted_per_credential_field() {
        let inserted = |t_ms: f64, field: u8| FieldEv {
            t_ms,
            kind: field_kind::INSERTED,
            field,
        };
        // `fill()` after a click on each field: the focuses are explained, the fills are not.
        let mut s = login("click");
        s.keys.clear();
        s.fields.push(inserted(950.0, USER));
        s.fields.push(inserted(3_050.0, PASS));
        s.fields.push(inserted(3_060.0, PASS));
        let f = extract_all(&s);
        assert_eq!(f.n_inserted_fields, 2);
        assert!(f.inserted_text());
        assert_eq!((f.n_judged_focuses, f.n_unprompted_focuses), (2, 0));
        // A field of another role does not count.
        let mut other = s.clone();
        other.targets[1].role = role::OTHER;
        assert_eq!(extract_all(&other).n_inserted_fields, 1);
        // A paste or an autofill elsewhere excuses the focus rules, not the insertion.
        let mut pasted = s.clone();
        pasted
            .fields
            .push(field_ev(2_000.0, field_kind::AUTOFILL, USER));
        let f = extract_all(&pasted);
        assert_eq!((f.n_inserted_fields, f.n_judged_focuses), (2, 0));
        // Touch or pen input (a phone's suggestion strip), a trace, a non-finite time: not judged.
        let mut touch = s.clone();
        touch.pointer[0].ptype = pointer_type::TOUCH;
        assert_eq!(extract_all(&touch).n_inserted_fields, 0);
        let mut trace = s.clone();
        trace.collector = false;
        assert_eq!(extract_all(&trace).n_inserted_fields, 0);
        let mut nan = login("click");
        nan.fields.push(inserted(f64::NAN, USER));
        assert!(!extract_all(&nan).inserted_text());
        // Typed logins have none.
        assert_eq!(extract_all(&login("script")).n_inserted_fields, 0);
    }

    #[test]
    fn malformed_field_events_do_not_panic() {
        let mut s = login("script");
        s.fields.push(focus(f64::NAN, PASS));
        s.fields.push(focus(f64::INFINITY, 200));
        s.fields.push(focus(-5.0, 255));
        let f = extract_all(&s);
        assert_eq!(f.n_unprompted_focuses, 1);
    }
}
