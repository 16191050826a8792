import type { Extension } from "@codemirror/state";
import { yieldToMain } from "../app/yieldToMain";

type Loader = () => Promise<Extension>;

/**
 * A Lezer-based mode in two chunks, evaluated in two tasks: the parser
 * (deserializing its tables is about half the work) and then CodeMirror's
 * language package (highlighting, indentation, completions). In one, the
 * Python mode was a 15-27 ms task.
 */
const afterParser =
  (parser: () => Promise<unknown>, mode: Loader): Loader =>
  async () => {
    await parser();
    await yieldToMain();
    return mode();
  };

// Each mode is a separate chunk, fetched the first time a file needs it.
const loaders: Record<string, Loader> = {
  javascript: afterParser(
    () => import("@lezer/javascript"),
    () => import("@codemirror/lang-javascript").then((m) => m.javascript({ jsx: true })),
  ),
  typescript: afterParser(
    () => import("@lezer/javascript"),
    () => import("@codemirror/lang-javascript").then((m) => m.javascript({ typescript: true, jsx: true })),
  ),
  python: afterParser(
    () => import("@lezer/python"),
    () => import("@codemirror/lang-python").then((m) => m.python()),
  ),
  java: afterParser(
    () => import("@lezer/java"),
    () => import("@codemirror/lang-java").then((m) => m.java()),
  ),
  c: afterParser(
    () => import("@lezer/cpp"),
    () => import("@codemirror/lang-cpp").then((m) => m.cpp()),
  ),
  cpp: afterParser(
    () => import("@lezer/cpp"),
    () => import("@codemirror/lang-cpp").then((m) => m.cpp()),
  ),
  go: afterParser(
    () => import("@lezer/go"),
    () => import("@codemirror/lang-go").then((m) => m.go()),
  ),
  rust: afterParser(
    () => import("@lezer/rust"),
    () => import("@codemirror/lang-rust").then((m) => m.rust()),
  ),
  ruby: () =>
    Promise.all([import("@codemirror/language"), import("@codemirror/legacy-modes/mode/ruby")]).then(([l, m]) => l.StreamLanguage.define(m.ruby)),
  bash: () =>
    Promise.all([import("@codemirror/language"), import("@codemirror/legacy-modes/mode/shell")]).then(([l, m]) => l.StreamLanguage.define(m.shell)),
};

const aliases: Record<string, string> = {
  js: "javascript",
  node: "javascript",
  nodejs: "javascript",
  ts: "typescript",
  py: "python",
  python3: "python",
  "c++": "cpp",
  golang: "go",
  rb: "ruby",
  shell: "bash",
  sh: "bash",
};

const byExtension: Record<string, string> = {
  js: "javascript",
  mjs: "javascript",
  cjs: "javascript",
  jsx: "javascript",
  ts: "typescript",
  tsx: "typescript",
  mts: "typescript",
  py: "python",
  java: "java",
  c: "c",
  h: "c",
  cc: "cpp",
  cpp: "cpp",
  cxx: "cpp",
  hpp: "cpp",
  hh: "cpp",
  go: "go",
  rs: "rust",
  rb: "ruby",
  sh: "bash",
  bash: "bash",
};

/** The editor mode for a file: by its extension, else the session's language. */
export function modeFor(path: string, sessionLanguage: string): string | null {
  const ext = /\.([A-Za-z0-9+]+)$/.exec(path)?.[1]?.toLowerCase();
  if (ext && byExtension[ext]) return byExtension[ext]!;
  const lang = sessionLanguage.toLowerCase();
  const id = aliases[lang] ?? lang;
  return loaders[id] ? id : null;
}

export function hasMode(id: string): boolean {
  return id in loaders;
}

/** Loads the mode's extension (a cached module after the first time). */
export function loadMode(id: string): Promise<Extension> {
  const loader = loaders[id];
  return loader ? loader() : Promise.resolve([]);
}
