import { defineConfig } from "vitest/config";

// `npm run e2e`: browser tests against a real server (see e2e/server.ts).
export default defineConfig({
  test: {
    environment: "node",
    include: ["e2e/**/*.e2e.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
