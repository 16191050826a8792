import { defineConfig } from "vitest/config";

// `npm run lighthouse`: Lighthouse audits against a real server (see e2e/lighthouse.audit.ts).
export default defineConfig({
  test: {
    environment: "node",
    include: ["e2e/**/*.audit.ts"],
    testTimeout: 300_000,
    hookTimeout: 180_000,
    fileParallelism: false,
  },
});
