#!/usr/bin/python3
"""OS-level input player for tests/e2e/oslevel.test.mjs: X11 XTEST through python3-xlib.

Reads one JSON schedule per line on stdin and plays it on the X display in $DISPLAY:

    {"events": [[t_ms, "move", x, y], [t_ms, "down", button], [t_ms, "up", button],
                [t_ms, "kdown", keysym], [t_ms, "kup", keysym]]}

`t_ms` is relative to the start of the schedule (non-decreasing); x, y are integer screen pixels;
buttons are X button numbers (1 = left); keysyms are X keysym names ("a", "space", "BackSpace",
"Shift_L"). Every event is sent with XTEST's FakeInput (the same path a real input device's events
take through the X server, not a browser protocol) and flushed at its time; times are kept on an
absolute clock, so one late event does not shift the rest. After the schedule a line is written:

    {"done": n, "late_ms": {"p50": .., "p90": .., "max": ..}}

(how late each event left, measured with a monotonic clock). A bad line is answered with
{"error": "..."} and the player goes on. The player ends at end of input.
"""

import json
import os
import sys
import time

from Xlib import X, XK, display
from Xlib.ext import xtest


def keycode(d, cache, name):
    code = cache.get(name)
    if code is None:
        sym = XK.string_to_keysym(name)
        if sym == 0:
            raise ValueError(f"unknown keysym {name!r}")
        code = d.keysym_to_keycode(sym)
        if code == 0:
            raise ValueError(f"keysym {name!r} has no keycode on this display")
        cache[name] = code
    return code


def percentile(values, q):
    if not values:
        return 0.0
    s = sorted(values)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))]


def play(d, cache, events):
    # Validate everything before the first event goes out.
    plan = []
    last = 0.0
    for ev in events:
        t, kind = float(ev[0]), ev[1]
        if not t >= last:
            raise ValueError(f"times must be non-decreasing ({t} after {last})")
        last = t
        if kind == "move":
            plan.append((t, X.MotionNotify, 0, int(ev[2]), int(ev[3])))
        elif kind in ("down", "up"):
            plan.append((t, X.ButtonPress if kind == "down" else X.ButtonRelease, int(ev[2]), 0, 0))
        elif kind in ("kdown", "kup"):
            plan.append((t, X.KeyPress if kind == "kdown" else X.KeyRelease, keycode(d, cache, ev[2]), 0, 0))
        else:
            raise ValueError(f"unknown event kind {kind!r}")
    late = []
    start = time.monotonic()
    for t, etype, detail, x, y in plan:
        due = start + t / 1000.0
        # Sleep most of the way, then spin the last 1.5 ms.
        while True:
            rem = due - time.monotonic()
            if rem <= 0:
                break
            if rem > 0.002:
                time.sleep(rem - 0.0015)
        if etype == X.MotionNotify:
            xtest.fake_input(d, etype, x=x, y=y)
        else:
            xtest.fake_input(d, etype, detail)
        d.flush()
        late.append((time.monotonic() - due) * 1000.0)
    d.sync()
    return {
        "done": len(plan),
        "late_ms": {
            "p50": round(percentile(late, 0.5), 3),
            "p90": round(percentile(late, 0.9), 3),
            "max": round(max(late) if late else 0.0, 3),
        },
    }


def realtime():
    """SCHED_FIFO when allowed (root or CAP_SYS_NICE): a loaded machine must not delay events."""
    if os.environ.get("OSLEVEL_REALTIME") == "0":
        return "normal"
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
        return "fifo"
    except (AttributeError, PermissionError, OSError):
        return "normal"


def main():
    policy = realtime()
    d = display.Display()
    if not d.query_extension("XTEST").present:
        print(json.dumps({"fatal": "the X server has no XTEST extension"}), flush=True)
        return 2
    # Held keys must not auto-repeat (a recorded long hold is one press).
    d.change_keyboard_control(auto_repeat_mode=X.AutoRepeatModeOff)
    d.sync()
    cache = {}
    print(json.dumps({"ready": True, "policy": policy, "screen": [d.screen().width_in_pixels, d.screen().height_in_pixels]}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            msg = json.loads(line)
            out = play(d, cache, msg["events"])
        except Exception as e:  # a bad schedule is reported, not fatal
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
