// @ts-check
// The ES module entry of the package (js/package.json `exports["."].import` → dist/tollgate.mjs):
// a module cannot be the loader itself (the loader finds its workers, wasm and `data-*` options
// from its own classic <script> tag), so this adds that tag — tollgate.js from the same directory
// as this module, with the Subresource Integrity hash the asset build computed — and resolves
// with the global `tollgate` once it ran. Serve the whole js/dist/ directory together.
//
//   import load from "tollgate-loader";
//   const tollgate = await load({ api: "https://verifier.example" });

/** @type {Promise<Tollgate> | null} */
let loading = null;

/**
 * Load tollgate.js once (later calls return the same promise).
 * @param {{ api?: string, explicit?: boolean, integrity?: boolean }} [options] `api`: the
 *   verifier (the tag's `data-api`); `explicit`: no automatic rendering (`data-render`);
 *   `integrity: false` leaves the SRI attribute out (e.g. a site that rewrites the file).
 * @returns {Promise<Tollgate>}
 */
export function load(options) {
  if (loading) return loading;
  const o = options || {};
  const s = document.createElement("script");
  s.src = new URL("./tollgate.js", import.meta.url).href;
  s.async = true;
  if (o.integrity !== false) {
    s.integrity = TOLLGATE_SRI;
    s.crossOrigin = "anonymous";
  }
  if (o.api) s.setAttribute("data-api", o.api);
  if (o.explicit) s.setAttribute("data-render", "explicit");
  loading = new Promise((resolve, reject) => {
    s.onload = () => {
      resolve(window.tollgate);
    };
    s.onerror = () => {
      loading = null;
      reject(new Error("tollgate: cannot load " + s.src));
    };
  });
  document.head.appendChild(s);
  return loading;
}

export default load;
