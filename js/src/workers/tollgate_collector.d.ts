// Types of the wasm-bindgen glue (`wasm-bindgen --target web`), which build-assets.sh writes next
// to the bundles in js/dist/ (the PoW worker imports it from there; the loader imports it
// dynamically). Exports: collector-wasm/src/lib.rs.
export default function init(opts: { module_or_path: WebAssembly.Module | string | URL }): Promise<unknown>;
export function solve_chunk(challenge: Uint8Array, indexStart: number, indexEnd: number, nonceStart: bigint, nonceCount: number): BigUint64Array;
export function solverKind(): number;
export function seal(keyChallenge: Uint8Array, solutions: BigUint64Array, logs: Float64Array, strs: string): Uint8Array;
