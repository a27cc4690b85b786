// OS-level rig page (see oslevel.html). Attempt `n` (query string): GET /attempt?n= answers once
// the test has started the verifier for it ({api} or {done: true}); the page then loads the
// loader, waits until `window.tollgate` exists and POSTs /ready with the form's layout and the
// offset between screen and page coordinates of the last pointer event it saw. The test plays the
// session with XTEST; the final click on "Sign in" submits the form, whose hidden
// `tollgate-response` the loader has filled by then (its capture listener runs first). This
// page posts {n, token} to /report and moves on to attempt n + 1. No automation protocol is
// involved at any point.
(function () {
  var n = Number(new URLSearchParams(location.search).get("n") || "0");
  var offset = null;
  function track(e) {
    offset = { dx: e.screenX - e.clientX, dy: e.screenY - e.clientY };
  }
  window.addEventListener("pointermove", track, true);
  window.addEventListener("pointerdown", track, true);
  function box(id) {
    var r = document.getElementById(id).getBoundingClientRect();
    return { x: r.left, y: r.top, w: r.width, h: r.height };
  }
  function post(path, body) {
    return fetch(path, { method: "POST", body: JSON.stringify(body) });
  }
  function next() {
    location.replace("/oslevel.html?n=" + (n + 1));
  }
  var form = document.getElementById("f");
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var input = form.querySelector('input[name="tollgate-response"]');
    post("/report", { n: n, token: input ? input.value : "" }).then(next, next);
  });
  fetch("/attempt?n=" + n)
    .then(function (r) { return r.json(); })
    .then(function (a) {
      if (a.done) return;
      var s = document.createElement("script");
      s.src = "/tollgate/tollgate.js";
      s.setAttribute("data-api", a.api);
      s.onload = function () {
        (function wait() {
          if (!window.tollgate || typeof window.tollgate.execute !== "function") return setTimeout(wait, 20);
          post("/ready", {
            n: n,
            offset: offset,
            screenXY: [window.screenX, window.screenY],
            inner: [window.innerWidth, window.innerHeight],
            outer: [window.outerWidth, window.outerHeight],
            dpr: window.devicePixelRatio,
            boxes: { username: box("username"), password: box("password"), login: box("login") },
          });
        })();
      };
      document.head.appendChild(s);
    });
})();
