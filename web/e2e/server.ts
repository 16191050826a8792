import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export interface RunningServer {
  url: string;
  stop: () => Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => ok(port));
    });
  });
}

/**
 * The server the tests talk to: CODEBUDDY_E2E_URL when the caller runs one,
 * otherwise `bin/codebuddy serve` (CODEBUDDY_BIN overrides the path) on a
 * free loopback port with a throw-away data directory. bin/codebuddy embeds
 * web/dist, so it is rebuilt first (`make build`, incremental) unless
 * CODEBUDDY_BIN is given or CODEBUDDY_SKIP_BUILD=1: a stale binary would test
 * yesterday's client.
 */
export async function startServer(): Promise<RunningServer> {
  const given = process.env.CODEBUDDY_E2E_URL;
  if (given) return { url: given.replace(/\/$/, ""), stop: async () => {} };

  const root = join(import.meta.dirname, "..", "..");
  if (!process.env.CODEBUDDY_BIN && process.env.CODEBUDDY_SKIP_BUILD !== "1") {
    // Not vitest's environment: NODE_ENV=test would make vite bundle React's development build into dist.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== "NODE_ENV" && !k.startsWith("VITEST")));
    execFileSync("make", ["build"], { cwd: root, env, stdio: ["ignore", "inherit", "inherit"] });
  }
  const bin = resolve(process.env.CODEBUDDY_BIN ?? join(root, "bin", "codebuddy"));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const dataDir = mkdtempSync(join(tmpdir(), "codebuddy-e2e-"));
  let log = "";
  const child: ChildProcess = spawn(bin, ["serve"], {
    env: {
      ...process.env,
      CODEBUDDY_ADDR: `127.0.0.1:${port}`,
      CODEBUDDY_DATA_DIR: dataDir,
      CODEBUDDY_BASE_URL: url,
      CODEBUDDY_GO_CACHE_DIR: process.env.CODEBUDDY_GO_CACHE_DIR ?? "/var/tmp/codebuddy-test-gocache",
      CODEBUDDY_EXEC_SLOTS: "2",
      CODEBUDDY_LOG_LEVEL: "warn",
      // Low, so that the too-many-tabs test needs only five pages; no other
      // test holds more than two connections of one account.
      CODEBUDDY_WS_CONNS_PER_USER: "4",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d) => (log += d));
  child.stderr?.on("data", (d) => (log += d));
  const exited = new Promise<void>((ok) => child.once("exit", () => ok()));

  // Start-up detects the toolchains, which can take a while on a cold cache.
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${bin} exited with ${child.exitCode}:\n${log}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGTERM");
      await exited;
      rmSync(dataDir, { recursive: true, force: true });
      throw new Error(`${bin} did not become ready within 60 s:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    stop: async () => {
      child.kill("SIGTERM");
      // Open WebSockets may hold graceful shutdown; don't let that hang the run.
      const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(kill);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
