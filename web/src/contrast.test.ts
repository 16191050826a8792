import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { labelTextColor } from "./collab/remoteCursors";

// WCAG AA from the stylesheet itself: parse each theme's custom properties
// and check every text/background pair the UI uses.
const css = readFileSync(new URL("./styles.css", import.meta.url), "utf8");

function themeVars(selectorStart: string): Record<string, string> {
  const start = css.indexOf(selectorStart);
  const block = css.slice(css.indexOf("{", start) + 1, css.indexOf("}", start));
  const vars: Record<string, string> = {};
  for (const m of block.matchAll(/--([\w-]+):\s*(#[0-9a-fA-F]{6})/g)) vars[m[1]!] = m[2]!;
  return vars;
}

function luminance(hex: string): number {
  const c = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  return 0.2126 * c[0]! + 0.7152 * c[1]! + 0.0722 * c[2]!;
}

export function contrast(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x! + 0.05) / (y! + 0.05);
}

const TEXT_PAIRS: [string, string][] = [
  ["fg", "bg"],
  ["fg", "surface"],
  ["fg", "surface-2"],
  ["muted", "bg"],
  ["muted", "surface"],
  ["muted", "surface-2"],
  ["accent", "bg"],
  ["accent", "surface"],
  ["accent", "surface-2"],
  ["accent-fg", "accent"],
  ["accent-fg", "accent-hover"],
  ["danger", "bg"],
  ["danger", "surface"],
  ["danger-fg", "danger"],
  ["stderr", "bg"],
  ["editor-fg", "editor-bg"],
  ["editor-gutter-fg", "editor-gutter-bg"],
];
const HIGHLIGHT = ["keyword", "atom", "number", "string", "regexp", "def", "local", "type", "function", "special", "property", "comment", "meta", "invalid"];
// Non-text contrast (WCAG 1.4.11): input borders and the focus ring need 3:1.
const UI_PAIRS: [string, string][] = [
  ["border", "bg"],
  ["focus", "bg"],
  ["focus", "surface"],
  ["success", "surface"],
];

describe.each([
  ["light", ":root,"],
  ["dark", ':root[data-theme="dark"]'],
])("%s theme", (_name, selector) => {
  const v = themeVars(selector);
  test.each(TEXT_PAIRS)("%s on %s ≥ 4.5:1", (fg, bg) => {
    expect(v[fg], fg).toBeDefined();
    expect(v[bg], bg).toBeDefined();
    expect(contrast(v[fg]!, v[bg]!)).toBeGreaterThanOrEqual(4.5);
  });
  test.each(HIGHLIGHT)("syntax %s on the editor ≥ 4.5:1", (token) => {
    const colour = v[`hl-${token}`];
    expect(colour, token).toBeDefined();
    expect(contrast(colour!, v["editor-bg"]!)).toBeGreaterThanOrEqual(4.5);
    // The active line is tinted; text there must still pass.
    expect(contrast(colour!, v["editor-active-line"]!)).toBeGreaterThanOrEqual(4.5);
  });
  test.each(UI_PAIRS)("%s against %s ≥ 3:1", (fg, bg) => {
    expect(contrast(v[fg]!, v[bg]!)).toBeGreaterThanOrEqual(3);
  });
});

test("CodeMirror's default highlight colours would fail, which is why they are replaced", () => {
  expect(contrast("#ee4400", "#ffffff")).toBeLessThan(4.5);
  expect(contrast("#ff0000", "#ffffff")).toBeLessThan(4.5);
});

test("cursor labels pick black or white text that passes on any participant colour", () => {
  // The Go server's palette (collab.Color) plus extremes.
  const serverPalette = ["#d81b60", "#1e88e5", "#43a047", "#fb8c00", "#8e24aa", "#00897b", "#e53935", "#3949ab", "#7cb342", "#f4511e", "#5e35b1", "#00acc1"];
  for (const c of [...serverPalette, "#ffeb3b", "#000000", "#ffffff"]) {
    expect(contrast(labelTextColor(c), c), c).toBeGreaterThanOrEqual(4.5);
  }
});
