// Runs a list of content.retrieve() calls with the official buttercms SDK and prints, as
// JSON, what each gave: {status, url, body} on success, {error, status, body} on failure.
//   node --import ./redirect-fetch.mjs read.mjs <token> '<json calls>'
// A call is {"key": ..., "params": {...}, "testMode": false}.
import Butter from "buttercms";

const [token, callsJson] = process.argv.slice(2);
const results = [];
for (const call of JSON.parse(callsJson)) {
  const butter = Butter(token, { timeout: 10000, testMode: Boolean(call.testMode) });
  try {
    const response = await butter.content.retrieve(call.key, call.params || {});
    results.push({ status: response.status, url: response.config.url, body: response.data });
  } catch (error) {
    results.push({ error: error.message, status: error.cause?.status, body: error.cause?.data });
  }
}
process.stdout.write(JSON.stringify(results));
