// Preload (node --import): send the SDK's requests to BUTTER_LOCAL_BASE instead of
// https://api.buttercms.com/v2. buttercms 3.x hard-codes that base URL and looks up the
// global fetch at request time, so wrapping fetch is enough (see buttercms-sdks.md).
const PUBLIC_BASE = "https://api.buttercms.com/v2";
const local = process.env.BUTTER_LOCAL_BASE;
if (!local) {
  throw new Error("BUTTER_LOCAL_BASE is not set: refusing to let the SDK reach the public API");
}
const realFetch = globalThis.fetch;
globalThis.fetch = (url, init) => {
  const target = String(url);
  if (!target.startsWith(PUBLIC_BASE)) {
    throw new Error(`unexpected request to ${target}`);
  }
  return realFetch(local.replace(/\/$/, "") + target.slice(PUBLIC_BASE.length), init);
};
