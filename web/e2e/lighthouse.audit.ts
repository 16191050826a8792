import { execFile } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startServer, type RunningServer } from "./server";

// `npm run lighthouse`: Lighthouse 12 (fetched by npx, so `npm ci` stays
// small) with Debian chromium, mobile form factor, over the log-in page and
// a playground. Reports land in web/test-results/lighthouse-*.json.
const OUT = join(import.meta.dirname, "..", "test-results");
const CHROMIUM = process.env.CODEBUDDY_TEST_CHROMIUM ?? "/usr/bin/chromium";
const run = promisify(execFile);

let server: RunningServer;
let cookie = "";
let sessionId = "";

beforeAll(async () => {
  mkdirSync(OUT, { recursive: true });
  server = await startServer();
  const res = await fetch(`${server.url}/api/register`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Origin: server.url },
    body: JSON.stringify({ username: `lh_${Math.random().toString(36).slice(2, 8)}`, password: "correct horse battery" }),
  });
  cookie = res.headers.get("set-cookie")!.split(";")[0]!;
  const created = await fetch(`${server.url}/api/sessions`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Origin: server.url, Cookie: cookie },
    body: JSON.stringify({ name: "Lighthouse", language: "python", isPublic: false }),
  });
  sessionId = ((await created.json()) as { id: string }).id;
});

afterAll(() => server?.stop());

async function audit(name: string, path: string, headers?: Record<string, string>) {
  const output = join(OUT, `lighthouse-${name}.json`);
  const args = [
    "--yes",
    "lighthouse@12.8.2",
    server.url + path,
    "--quiet",
    "--only-categories=performance,accessibility,best-practices",
    "--output=json",
    `--output-path=${output}`,
    "--chrome-flags=--headless=new --no-sandbox",
  ];
  if (headers) args.push(`--extra-headers=${JSON.stringify(headers)}`);
  await run("npx", args, { env: { ...process.env, CHROME_PATH: CHROMIUM }, maxBuffer: 64 << 20 });
  const report = JSON.parse(readFileSync(output, "utf8")) as { categories: Record<string, { score: number }> };
  const scores = Object.fromEntries(Object.entries(report.categories).map(([k, v]) => [k, Math.round(v.score * 100)]));
  console.log(`lighthouse ${name}: ${JSON.stringify(scores)}`);
  return scores;
}

test("log-in page: performance ≥ 95, accessibility and best practices 100", async () => {
  const s = await audit("login", "/login");
  expect(s).toEqual({ performance: expect.any(Number), accessibility: 100, "best-practices": 100 });
  expect(s.performance).toBeGreaterThanOrEqual(95);
});

test("playground: performance ≥ 95, accessibility and best practices 100", async () => {
  const s = await audit("playground", `/s/${sessionId}`, { Cookie: cookie });
  expect(s).toEqual({ performance: expect.any(Number), accessibility: 100, "best-practices": 100 });
  expect(s.performance).toBeGreaterThanOrEqual(95);
});
