import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { KEY, STEPS } from "./OnboardingTip";

// public/boot.js paints the first tip before the app loads; React then
// replaces it with this component's, which must say the same thing.
describe("the tip painted before the app loads", () => {
  const boot = readFileSync(join(import.meta.dirname, "..", "..", "public", "boot.js"), "utf8");
  const html = readFileSync(join(import.meta.dirname, "..", "..", "index.html"), "utf8");

  test("has the first tip's text and heading and honours the same dismissal key", () => {
    expect(boot).toContain(JSON.stringify(STEPS[0]));
    expect(boot).toContain(`"Tip 1 of ${STEPS.length}:"`);
    expect(boot).toContain(`localStorage.getItem(${JSON.stringify(KEY)}) === "1"`);
  });

  test("runs from index.html right after the static shell and into it only, without an inline script", () => {
    const bootAt = html.indexOf('<script src="/boot.js"></script>');
    expect(bootAt).toBeGreaterThan(html.indexOf('<div id="root"><header class="app-header" data-static-shell>'));
    expect(boot).toContain('root.querySelector("[data-static-shell]")');
    expect(html).not.toMatch(/<script>/);
  });
});
