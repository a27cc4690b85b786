// Tiny static file server for the browser benchmarks (loopback only).
//   /dist/*  → js/dist (the built Tollgate assets)     /nm/* → bench/node_modules (peers)
//   /b/*     → bench/browser (bench pages and workers) /     → bench/browser/index.html
// Extension-less ES module imports (friendly-pow) resolve to `.js`.
import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const BENCH = path.resolve(HERE, "..");
export const ROOT = path.resolve(BENCH, "..");
const MOUNTS = {
  "/dist/": path.join(ROOT, "js/dist"),
  "/nm/": path.join(BENCH, "node_modules"),
  "/b/": path.join(BENCH, "browser"),
  "/x/": path.join(BENCH, "out/variants"),
};
const TYPES = {
  ".js": "text/javascript",
  ".mjs": "text/javascript",
  ".cjs": "text/javascript",
  ".wasm": "application/wasm",
  ".html": "text/html; charset=utf-8",
  ".json": "application/json",
  ".css": "text/css",
};

function resolve(urlPath) {
  for (const [prefix, dir] of Object.entries(MOUNTS)) {
    if (!urlPath.startsWith(prefix)) continue;
    const p = path.normalize(path.join(dir, decodeURIComponent(urlPath.slice(prefix.length))));
    if (!p.startsWith(dir)) return null;
    for (const cand of [p, p + ".js"]) {
      try {
        if (fs.statSync(cand).isFile()) return cand;
      } catch {}
    }
    return null;
  }
  return null;
}

/** Start on 127.0.0.1:0; `extra(req, res)` may handle a request first (return true). */
export function startStatic(extra) {
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://x");
    if (extra && (await extra(req, res, url))) return;
    if (url.pathname === "/favicon.ico") {
      res.writeHead(204).end();
      return;
    }
    const file = resolve(url.pathname === "/" ? "/b/index.html" : url.pathname);
    if (!file) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(200, {
      "content-type": TYPES[path.extname(file)] || "application/octet-stream",
      "cache-control": "no-store",
    });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((ok) =>
    server.listen(0, "127.0.0.1", () => ok({ server, origin: `http://127.0.0.1:${server.address().port}` })),
  );
}
