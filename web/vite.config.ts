import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import type { OutputBundle, OutputChunk } from "rolldown";
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

/**
 * Lists the playground's JavaScript (the PlaygroundPage chunk and every chunk
 * it imports) in index.html's codebuddy-playground meta tag. Opening a
 * session, src/app/loadPlayground.ts preloads them all at once, then
 * evaluates them a few at a time.
 */
function playgroundFileList(): Plugin {
  // `chunk` and what it imports, not in `seen`, dependencies first (the order
  // they are evaluated in, so the order to ask for them in).
  const collect = (bundle: OutputBundle, chunk: OutputChunk, seen: Set<string>, files: string[] = []) => {
    if (seen.has(chunk.fileName)) return files;
    seen.add(chunk.fileName);
    for (const name of chunk.imports) {
      const dep = bundle[name];
      if (dep?.type === "chunk") collect(bundle, dep, seen, files);
    }
    files.push(chunk.fileName);
    return files;
  };
  return {
    name: "codebuddy-playground-files",
    apply: "build",
    transformIndexHtml: {
      order: "post",
      handler(html, ctx) {
        const bundle = ctx.bundle;
        if (!bundle) return html;
        const page = Object.values(bundle).find(
          (c): c is OutputChunk => c.type === "chunk" && (c.facadeModuleId ?? "").endsWith("/src/playground/PlaygroundPage.tsx"),
        );
        if (!page) throw new Error("codebuddy-playground-files: no PlaygroundPage chunk in the bundle");
        // Without what index.html loads anyway (the entry and its imports).
        const seen = new Set<string>();
        for (const c of Object.values(bundle)) if (c.type === "chunk" && c.isEntry) collect(bundle, c, seen);
        const content = collect(bundle, page, seen)
          .map((f) => `/${f}`)
          .join(" ");
        return { html, tags: [{ tag: "meta", attrs: { name: "codebuddy-playground", content }, injectTo: "head" }] };
      },
    },
  };
}

/**
 * @codemirror/commands creates a word Intl.Segmenter as it loads (used only to
 * move by sub-word through CJK text). Creating the first one loads ICU's word
 * break data: 20-95 ms of main thread on a desktop, four times that on the phone
 * Lighthouse emulates, all while a session opens. The build gives it an
 * object that creates the segmenter the first time that motion needs it.
 */
function lazyWordSegmenter(): Plugin {
  const eager = '/*@__PURE__*/new (Intl.Segmenter)(undefined, { granularity: "word" })';
  const lazy = '{ segment(text) { return (this.real ??= new Intl.Segmenter(undefined, { granularity: "word" })).segment(text); } }';
  return {
    name: "codebuddy-lazy-word-segmenter",
    apply: "build",
    transform(code, id) {
      if (!/\/node_modules\/@codemirror\/commands\/dist\/index\.js$/.test(id)) return null;
      // Loud rather than silently eager again after an upgrade.
      if (!code.includes(eager)) this.error("@codemirror/commands no longer creates its word segmenter the way lazyWordSegmenter expects");
      return { code: code.replace(eager, lazy), map: null };
    },
  };
}

// The Go server embeds web/dist and serves it at "/" with an SPA fallback;
// everything under dist/assets/ carries a content hash so it can be cached immutable.
export default defineConfig({
  plugins: [react(), lazyWordSegmenter(), playgroundFileList(), precompress("dist")],
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
        // React in a chunk of its own (and the bundler's runtime then in a tiny
        // one): the browser compiles the entry's chunks one task each as they
        // arrive, so React's 219 KB and the app's 43 KB are two shorter tasks
        // instead of one 40-56 ms task under Lighthouse (which also copies each
        // script's source into its trace then). Their evaluation is one either way.
        codeSplitting: { groups: [{ name: "react", test: /\/node_modules\/(react|react-dom|scheduler)\// }] },
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
