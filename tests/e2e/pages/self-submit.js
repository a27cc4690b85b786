// Loads the loader with the verifier URL from the query string, waits a moment (probes run after
// first paint in idle time), gets a token through the public API and posts it to the demo's
// /login (JSON mode, no-cors: the answer is read by the test from /api/verdicts).
(function () {
  var q = new URLSearchParams(location.search);
  var s = document.createElement("script");
  s.src = "/tollgate/tollgate.js";
  s.setAttribute("data-api", q.get("api"));
  s.onload = function () {
    setTimeout(function () {
      window.tollgate.execute().then(function (token) {
        var body = new URLSearchParams({ username: q.get("user"), password: "pw", "tollgate-response": token });
        return fetch(q.get("demo") + "/login", { method: "POST", mode: "no-cors", body: body, headers: { accept: "application/json" } });
      });
    }, 3000);
  };
  document.head.appendChild(s);
})();
