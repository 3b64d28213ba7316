// esbuild settings shared by everything that bundles the proxy into one ESM file (the demo image, the
// process test, bench:proxy): CommonJS dependencies (prom-client) call require(), so the bundle gets one.
export const ESM_REQUIRE_BANNER = {
  js: "import { createRequire as __faultlineCreateRequire } from 'node:module'; const require = __faultlineCreateRequire(import.meta.url);",
};
