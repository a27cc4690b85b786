// @ts-check
// When the probes run. Sync groups run one per idle callback after first paint (each well under
// 50 ms); async ones settle whenever they do, and a token carries what is done. The group order
// is the order of the records in the probe log.
import { afterPaint, idle } from "../util.js";
import { audioFp, canvas, fonts, webgl } from "./fingerprint.js";
import { timed } from "./record.js";
import { cdp } from "./tier-a.js";
import { lies1, lies2, lies3, lies4 } from "./tier-b.js";
import { intl, workerProbe } from "./tier-c.js";
import { basics, basics2, speechVoices, style } from "./tier-d.js";

/** The idle-time groups, in order (`intl` last: it waits for the probe worker's answer). */
const groups = [basics, basics2, style, cdp, lies1, lies2, lies3, lies4, audioFp, webgl, canvas, fonts, intl];

let probeState = 0; // groups run so far
function runGroup() {
  if (probeState >= groups.length) return false;
  const i = probeState++;
  timed(() => {
    try {
      groups[i]();
    } catch (e) {}
  }, "group" + i);
  return true;
}

let scheduled = false;
/**
 * Idle-time schedule, one group per idle callback after first paint, starting once the first
 * challenge is solved (or failed; at most 3 s after render): on a 2-core device the probes'
 * main-thread tasks would otherwise delay the proof-of-work workers' start (which needs the main
 * thread) and take a core from their solve. The probe worker starts first (C1 re-read; it also
 * warms ICU for the `intl` group, which waits for its answer). A submit before the schedule
 * finished runs the remaining sync groups at once (`finishProbes`).
 * @param {Promise<unknown>} first the first widget's solve
 */
export function scheduleProbes(first) {
  if (scheduled) return;
  scheduled = true;
  let started = false;
  const start = () => {
    if (started) return;
    started = true;
    afterPaint(() => {
      let answered = false;
      /** @type {(() => void) | null} */
      let wait = null;
      workerProbe(() => {
        answered = true;
        if (wait) wait();
      });
      const step = () => {
        if (probeState === groups.length - 1 && !answered) {
          wait = () => { idle(step); };
          return;
        }
        if (runGroup()) idle(step);
        else setTimeout(speechVoices, 1000);
      };
      step();
    });
  };
  first.then(start, start);
  setTimeout(start, 3000);
}

/** Submit before the idle schedule finished: run the remaining sync groups now. */
export function finishProbes() {
  while (runGroup()) {}
}

/** Whether idle-time probe groups are still to run (the Turnstile shim's early token waits). */
export function probesPending() {
  return scheduled && probeState < groups.length;
}
