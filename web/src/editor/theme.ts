import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import type { Extension } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { tags as t } from "@lezer/highlight";

// Colours come from CSS variables (styles.css) so one highlight style serves
// both themes; every token colour has ≥ 4.5:1 contrast on its editor
// background, replacing defaultHighlightStyle's #e40 and #f00 which do not.
const v = (name: string) => `var(--hl-${name})`;

export const accessibleHighlightStyle = HighlightStyle.define([
  { tag: t.meta, color: v("meta") },
  { tag: t.link, textDecoration: "underline" },
  { tag: t.heading, textDecoration: "underline", fontWeight: "bold" },
  { tag: t.emphasis, fontStyle: "italic" },
  { tag: t.strong, fontWeight: "bold" },
  { tag: t.strikethrough, textDecoration: "line-through" },
  { tag: [t.keyword, t.operatorKeyword, t.controlKeyword, t.moduleKeyword, t.definitionKeyword], color: v("keyword") },
  { tag: [t.atom, t.bool, t.url, t.contentSeparator, t.labelName, t.null], color: v("atom") },
  { tag: [t.literal, t.number, t.integer, t.float], color: v("number") },
  { tag: [t.string, t.character, t.docString], color: v("string") },
  { tag: [t.regexp, t.escape, t.special(t.string)], color: v("regexp") },
  { tag: t.definition(t.variableName), color: v("def") },
  { tag: t.local(t.variableName), color: v("local") },
  { tag: [t.typeName, t.namespace, t.className], color: v("type") },
  { tag: [t.function(t.variableName), t.function(t.propertyName)], color: v("function") },
  { tag: [t.special(t.variableName), t.macroName], color: v("special") },
  { tag: t.definition(t.propertyName), color: v("property") },
  { tag: [t.comment, t.lineComment, t.blockComment], color: v("comment"), fontStyle: "italic" },
  { tag: t.invalid, color: v("invalid") },
]);

const editorChrome = EditorView.theme({
  "&": {
    color: "var(--editor-fg)",
    backgroundColor: "var(--editor-bg)",
    height: "100%",
    fontSize: "14px",
  },
  ".cm-scroller": { fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace", lineHeight: "1.5" },
  ".cm-content": { caretColor: "var(--editor-caret)" },
  ".cm-cursor, .cm-dropCursor": { borderLeftColor: "var(--editor-caret)" },
  "&.cm-focused .cm-selectionBackground, .cm-selectionBackground, .cm-content ::selection": {
    backgroundColor: "var(--editor-selection)",
  },
  ".cm-activeLine": { backgroundColor: "var(--editor-active-line)" },
  ".cm-gutters": {
    backgroundColor: "var(--editor-gutter-bg)",
    color: "var(--editor-gutter-fg)",
    borderRight: "1px solid var(--border)",
  },
  ".cm-activeLineGutter": { backgroundColor: "var(--editor-active-line)", color: "var(--editor-fg)" },
  "&.cm-focused": { outline: "2px solid var(--focus)", outlineOffset: "-2px" },
  ".cm-panels": { backgroundColor: "var(--surface)", color: "var(--fg)" },
  ".cm-tooltip": { backgroundColor: "var(--surface)", color: "var(--fg)", border: "1px solid var(--border)" },
  ".cm-matchingBracket": { outline: "1px solid var(--muted)", backgroundColor: "transparent" },
});

export function editorTheme(): Extension {
  return [editorChrome, syntaxHighlighting(accessibleHighlightStyle)];
}
