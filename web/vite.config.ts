import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { defineConfig, type Plugin } from "vitest/config";
import react from "@vitejs/plugin-react";

/**
 * Writes file.gz and file.br next to every compressible file of the build,
 * so the Go server can send them as they are (Content-Encoding by
 * Accept-Encoding) without compressing on each request.
 */
function precompress(outDir: string): Plugin {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : [path];
    });
  return {
    name: "codebuddy-precompress",
    apply: "build",
    closeBundle() {
      for (const file of walk(outDir)) {
        if (!/\.(js|css|html|svg|json|txt)$/.test(file)) continue;
        const data = readFileSync(file);
        if (data.length < 1024) continue;
        writeFileSync(`${file}.gz`, gzipSync(data, { level: 9 }));
        writeFileSync(`${file}.br`, brotliCompressSync(data, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
      }
    },
  };
}

// The Go server embeds web/dist and serves it at "/" with an SPA fallback;
// everything under dist/assets/ carries a content hash so it can be cached immutable.
export default defineConfig({
  plugins: [react(), precompress("dist")],
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
