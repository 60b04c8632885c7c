// The load of `benchmarks/dbhub.py`: CONCURRENCY callers posting one JSON-RPC message each to
// one MCP endpoint for SECONDS, on kept-alive connections, run by the Node 22 of
// benchmarks/package.json (a load generator that costs far less CPU per call than an asyncio
// Python client, so the servers, not the client, use the machine's cores).
//
// Reads one JSON line on stdin: {url, concurrency, seconds, body, headers: [{...}, ...], perHeaders}
// (call k sends headers[floor(k / perHeaders)]: a new user every perHeaders calls), prints
// "ready", waits for a "go" line, runs, and prints one JSON line: {latencies (ms), errors,
// seconds}. A call counts when it is a 200 whose JSON-RPC result is there and not isError
// (a JSON body, or the first `data:` line of an SSE body).
import http from "node:http";
import readline from "node:readline";

const lines = readline.createInterface({ input: process.stdin });
const input = lines[Symbol.asyncIterator]();
const spec = JSON.parse((await input.next()).value);
const url = new URL(spec.url);
const body = Buffer.from(JSON.stringify(spec.body));
const agent = new http.Agent({ keepAlive: true, maxSockets: spec.concurrency });
const latencies = [];
let errors = 0;
let calls = 0;

function succeeded(status, type, text) {
  if (status !== 200) return false;
  if (type.startsWith("text/event-stream")) {
    const data = text.split("\n").find((line) => line.startsWith("data:"));
    text = data ? data.slice(5) : "{}";
  }
  try {
    const result = JSON.parse(text).result;
    return Boolean(result) && !result.isError;
  } catch {
    return false;
  }
}

function post(headers) {
  return new Promise((resolve) => {
    const request = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        headers: { ...headers, "content-length": body.length },
      },
      (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("end", () =>
          resolve(succeeded(response.statusCode, response.headers["content-type"] || "", Buffer.concat(chunks).toString())),
        );
        response.on("error", () => resolve(false));
      },
    );
    request.setTimeout(60_000, () => request.destroy());
    request.on("error", () => resolve(false));
    request.end(body);
  });
}

async function caller(deadline) {
  while (performance.now() < deadline) {
    const index = Math.floor(calls++ / spec.perHeaders);
    if (index >= spec.headers.length) {
      errors += 1; // out of fresh users: counted, never sent as an over-budget call
      return;
    }
    const sent = performance.now();
    if (await post(spec.headers[index])) latencies.push(performance.now() - sent);
    else errors += 1;
  }
}

console.log("ready");
await input.next(); // "go"
const started = performance.now();
const deadline = started + spec.seconds * 1000;
await Promise.all(Array.from({ length: spec.concurrency }, () => caller(deadline)));
const seconds = (performance.now() - started) / 1000;
agent.destroy();
console.log(JSON.stringify({ latencies, errors, seconds }));
lines.close();
