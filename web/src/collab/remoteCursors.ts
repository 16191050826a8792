import { EditorSelection, RangeSetBuilder, StateEffect, StateField, type ChangeDesc, type Extension } from "@codemirror/state";
import { Decoration, EditorView, WidgetType, type DecorationSet } from "@codemirror/view";

export interface RemoteCursor {
  userId: string;
  name: string;
  /** Background colour of the label and selection tint; the label text is chosen for contrast. */
  color: string;
  ranges: { anchor: number; head: number }[];
}

export const setRemoteCursor = StateEffect.define<RemoteCursor>({
  map: (cursor, changes) => mapCursor(cursor, changes),
});
export const removeRemoteCursor = StateEffect.define<string>();

export function mapCursor(cursor: RemoteCursor, changes: ChangeDesc): RemoteCursor {
  return {
    ...cursor,
    ranges: cursor.ranges.map((r) => ({ anchor: changes.mapPos(r.anchor, 1), head: changes.mapPos(r.head, 1) })),
  };
}

/** Remote cursors by user, kept in step with the document by mapping through every change. */
export const remoteCursorsField = StateField.define<ReadonlyMap<string, RemoteCursor>>({
  create: () => new Map(),
  update(cursors, tr) {
    let next: Map<string, RemoteCursor> | null = null;
    if (!tr.changes.empty) {
      next = new Map();
      for (const [id, c] of cursors) next.set(id, mapCursor(c, tr.changes));
    }
    for (const effect of tr.effects) {
      if (effect.is(setRemoteCursor)) {
        next ??= new Map(cursors);
        const len = tr.state.doc.length;
        const clamp = (n: number) => Math.max(0, Math.min(len, n));
        next.set(effect.value.userId, {
          ...effect.value,
          ranges: effect.value.ranges.map((r) => ({ anchor: clamp(r.anchor), head: clamp(r.head) })),
        });
      } else if (effect.is(removeRemoteCursor)) {
        next ??= new Map(cursors);
        next.delete(effect.value);
      }
    }
    return next ?? cursors;
  },
});

/** Black or white, whichever reads better on `background` (#rrggbb). */
export function labelTextColor(background: string): string {
  const hex = background.replace("#", "");
  const channel = (i: number) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4);
  // Contrast against white is 1.05/(L+0.05), against black (L+0.05)/0.05; pick the larger.
  return 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.05 ? "#ffffff" : "#000000";
}

class CaretWidget extends WidgetType {
  constructor(
    readonly name: string,
    readonly color: string,
  ) {
    super();
  }
  override eq(other: CaretWidget): boolean {
    return other.name === this.name && other.color === this.color;
  }
  toDOM(): HTMLElement {
    const caret = document.createElement("span");
    caret.className = "cm-remoteCaret";
    caret.style.borderLeftColor = this.color;
    caret.setAttribute("aria-hidden", "true");
    const label = document.createElement("span");
    label.className = "cm-remoteCaretLabel";
    label.textContent = this.name;
    label.style.backgroundColor = this.color;
    label.style.color = labelTextColor(this.color);
    caret.append(label);
    return caret;
  }
  override ignoreEvent(): boolean {
    return true;
  }
}

function buildDecorations(cursors: ReadonlyMap<string, RemoteCursor>): DecorationSet {
  const items: { from: number; to: number; deco: Decoration }[] = [];
  for (const c of cursors.values()) {
    for (const r of c.ranges) {
      const from = Math.min(r.anchor, r.head);
      const to = Math.max(r.anchor, r.head);
      if (from < to) {
        items.push({
          from,
          to,
          deco: Decoration.mark({
            class: "cm-remoteSelection",
            attributes: { style: `background-color: ${c.color}40` },
          }),
        });
      }
      items.push({ from: r.head, to: r.head, deco: Decoration.widget({ widget: new CaretWidget(c.name, c.color), side: 1 }) });
    }
  }
  items.sort((a, b) => a.from - b.from || a.to - b.to);
  const builder = new RangeSetBuilder<Decoration>();
  for (const it of items) builder.add(it.from, it.to, it.deco);
  return builder.finish();
}

const cursorTheme = EditorView.baseTheme({
  ".cm-remoteCaret": {
    position: "relative",
    borderLeft: "2px solid",
    marginLeft: "-1px",
    marginRight: "-1px",
  },
  ".cm-remoteCaretLabel": {
    position: "absolute",
    bottom: "100%",
    left: "-2px",
    fontSize: "0.75em",
    lineHeight: "1.2",
    padding: "0 3px",
    borderRadius: "3px 3px 3px 0",
    whiteSpace: "nowrap",
    pointerEvents: "none",
    zIndex: "10",
  },
});

/** Shows other people's cursors and selections, each labelled with their name. */
export function remoteCursors(): Extension {
  return [
    remoteCursorsField,
    EditorView.decorations.compute([remoteCursorsField], (state) => buildDecorations(state.field(remoteCursorsField))),
    cursorTheme,
  ];
}

/** Our own selection as protocol JSON. */
export function selectionJSON(selection: EditorSelection): { main: number; ranges: { anchor: number; head: number }[] } {
  return { main: selection.mainIndex, ranges: selection.ranges.map((r) => ({ anchor: r.anchor, head: r.head })) };
}
