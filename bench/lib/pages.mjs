// Pages of the browser benchmarks, served by the static server's `extra` hook.
//   GET  /login?api=URL&sitekey=KEY[&simd=off]  a login form with the real Tollgate embed
//   GET  /blank                                  an empty same-origin page
//   POST /login                                  accepts the form (what a site backend would)
export function pages(req, res, url) {
  if (req.method === "GET" && url.pathname === "/login") {
    const api = url.searchParams.get("api") || "";
    const sitekey = url.searchParams.get("sitekey") || "";
    const simd = url.searchParams.get("simd") === "off" ? ' data-simd="off"' : "";
    const html = `<!doctype html><html><head><meta charset="utf-8"><title>Sign in</title></head>
<body style="font:16px sans-serif;margin:40px">
<form id="f" method="post" action="/login" style="display:grid;gap:12px;width:320px">
  <label>Username <input id="username" name="username" autocomplete="username"></label>
  <label>Password <input id="password" name="password" type="password"></label>
  <div class="tollgate" data-sitekey="${sitekey}" data-action="login"></div>
  <button id="login" type="submit">Sign in</button>
</form>
<script src="/dist/tollgate.js" data-api="${api}"${simd} async></script>
</body></html>`;
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    res.end(html);
    return true;
  }
  if (url.pathname === "/blank") {
    res.writeHead(200, { "content-type": "text/html" });
    res.end("<!doctype html><title>blank</title>");
    return true;
  }
  if (req.method === "POST" && url.pathname === "/login") {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const token = new URLSearchParams(body).get("tollgate-response") || "";
      res.writeHead(200, { "content-type": "text/html" });
      res.end(`<!doctype html><pre id="done">token ${token.length} chars</pre>`);
    });
    return true;
  }
  return false;
}
