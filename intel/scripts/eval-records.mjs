// Shared by the offline scoring scripts (rig-bots.mjs, probes.mjs): write trace records, score them
// with `tollgate-intel eval` (the compiled-in model, or `model`) and return the scored lines.

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = process.env.TOLLGATE_INTEL_BIN ?? join(ROOT, 'target', 'release', 'tollgate-intel');

/** Exit with a hint when the workbench binary has not been built. */
export function requireBin() {
  if (!existsSync(BIN)) {
    console.error(`${BIN} is missing: cargo build --release -p tollgate-intel (or set TOLLGATE_INTEL_BIN)`);
    process.exit(2);
  }
}

/**
 * Score `records` (JSON strings, one trace record each) written to `dir`.
 * @param {string[]} records
 * @param {string} dir
 * @param {string | undefined} model
 * @returns {{ id: string, decision: string, score: number, reasons: string[] }[]}
 */
export function scoreRecords(records, dir, model) {
  const input = join(dir, 'records.jsonl');
  const scored = join(dir, 'scored.jsonl');
  writeFileSync(input, records.join('\n') + '\n');
  execFileSync(BIN, ['eval', '--traces', input, '--synthetic-scale', '0', '--out', scored, ...(model ? ['--model', model] : [])], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return readFileSync(scored, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l))
    .filter((r) => r.id);
}
