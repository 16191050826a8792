import { yieldToMain } from "./yieldToMain";

/**
 * The playground's libraries, in dependency order. Each is its own chunk, so
 * importing one evaluates only what the ones before it did not. Imported all
 * at once (as PlaygroundPage's static imports), CodeMirror's modules were
 * evaluated in one task long enough to block a phone's main thread for a
 * quarter of a second (Lighthouse's Total Blocking Time).
 */
const steps: (() => Promise<unknown>)[] = [
  () => import("@codemirror/state"),
  () => import("@codemirror/view"),
  () => import("@lezer/highlight"),
  () => import("@codemirror/language"),
  () => import("@codemirror/commands"),
  () => import("@codemirror/search"),
  () => import("@codemirror/autocomplete"),
  () => import("@codemirror/collab"),
];

type PlaygroundModule = typeof import("../playground/PlaygroundPage");

let loading: Promise<PlaygroundModule> | null = null;

/**
 * Loads the playground page: first asks for all of its files at once
 * (modulepreload fetches without evaluating, so the steps below do not wait
 * for each other's downloads), then evaluates its libraries one task at a
 * time, then the page itself. Once per page load; a failure is retried by
 * the next call.
 */
export function loadPlayground(): Promise<PlaygroundModule> {
  if (!loading) {
    void preloadPlaygroundFiles();
    loading = (async () => {
      for (const step of steps) {
        await step();
        await yieldToMain();
      }
      return import("../playground/PlaygroundPage");
    })();
    loading.catch(() => (loading = null));
  }
  return loading;
}

/**
 * Adds a modulepreload link for each file the build listed in index.html's
 * codebuddy-playground meta tag (vite.config.ts); there is none in development.
 * One per task: starting a request costs 1-3 ms of main thread (more while
 * DevTools or Lighthouse records the page), nine of them a long task.
 */
async function preloadPlaygroundFiles(): Promise<void> {
  if (typeof document === "undefined") return;
  const files = document.querySelector<HTMLMetaElement>('meta[name="codebuddy-playground"]')?.content.split(" ").filter(Boolean) ?? [];
  for (const href of files) {
    await yieldToMain();
    if (document.querySelector(`link[href="${href}"]`)) continue;
    const link = document.createElement("link");
    link.rel = "modulepreload";
    // As Vite's own preloads do, so the browser reuses these fetches for its imports.
    link.crossOrigin = "";
    link.href = href;
    document.head.append(link);
  }
}
