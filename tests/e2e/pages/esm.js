// Loads Tollgate through the package's ES module entry with the verifier URL from the query
// string and records the result on <body data-esm="…">.
import load from "/tollgate/tollgate.mjs";

const api = new URLSearchParams(location.search).get("api");
load({ api }).then(
  (tollgate) => tollgate.execute().then((token) => {
    document.body.dataset.esm = token.length > 100 ? "token" : "short";
  }),
  (e) => {
    document.body.dataset.esm = "error: " + e.message;
  },
);
