// Constants substituted by scripts/build-assets.sh (esbuild --define).

/** The Subresource Integrity hash (sha384) of dist/tollgate.js, for the ES module entry. */
declare const TOLLGATE_SRI: string;
