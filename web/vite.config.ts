import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The Go server embeds web/dist and serves it at "/" with an SPA fallback;
// everything under dist/assets/ carries a content hash so it can be cached immutable.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist",
    // dist/.keep (committed so `go build` works before the first client build) is
    // recreated from public/.keep on every build.
    emptyOutDir: true,
    assetsDir: "assets",
    target: "es2022",
    sourcemap: false,
    rolldownOptions: {
      output: {
        // Name shared chunks after their package ("lang-python", "codemirror-view")
        // instead of "dist", so the build report says what each file is.
        chunkFileNames: (chunk) => {
          const id = chunk.facadeModuleId ?? chunk.moduleIds.at(-1) ?? "";
          const pkg = /node_modules\/(?:@([^/]+)\/)?([^/]+)/.exec(id);
          const name = pkg ? (pkg[1] === "codemirror" ? `cm-${pkg[2]}` : [pkg[1], pkg[2]].filter(Boolean).join("-")) : "[name]";
          return `assets/${name}-[hash].js`;
        },
      },
    },
  },
  server: {
    // `npm run dev` talks to a locally running `codebuddy serve`.
    proxy: {
      "/api": { target: "http://localhost:8080", ws: true, changeOrigin: false },
    },
  },
  test: {
    environment: "node",
    include: ["src/**/*.test.{ts,tsx}"],
  },
});
