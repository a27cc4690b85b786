// Records the viewport height before the loader runs, loads it with the verifier URL from the
// query string, waits for the probe schedule to finish (the idle groups, then the voices probe a
// second later: `wait` ms), gets a token through the public API and posts {token, before, after}
// to /report on this page's origin (the test's static server).
(function () {
  var q = new URLSearchParams(location.search);
  var before = window.innerHeight;
  var s = document.createElement("script");
  s.src = "/tollgate/tollgate.js";
  s.setAttribute("data-api", q.get("api"));
  s.onload = function () {
    setTimeout(function () {
      window.tollgate.execute().then(
        function (token) { return { token: token }; },
        function (e) { return { error: String(e && e.message) }; }
      ).then(function (r) {
        r.before = before;
        r.after = window.innerHeight;
        return fetch("/report", { method: "POST", body: JSON.stringify(r) });
      });
    }, Number(q.get("wait") || 8000));
  };
  document.head.appendChild(s);
})();
