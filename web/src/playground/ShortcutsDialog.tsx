import { memo } from "react";
import { Dialog } from "../components/Dialog";

const MOD = typeof navigator !== "undefined" && /Mac|iPhone|iPad/.test(navigator.platform) ? "⌘" : "Ctrl";

export const SHORTCUTS: [string, string][] = [
  [`${MOD}+Enter`, "Run the code"],
  [`${MOD}+S`, "Check that everything is saved (saving is automatic)"],
  [`${MOD}+F`, "Find in the file"],
  [`${MOD}+Z / ${MOD}+Shift+Z`, "Undo / redo your own edits"],
  ["Tab / Shift+Tab", "Indent / dedent in the editor"],
  ["Esc, then Tab", "Leave the editor with the keyboard"],
  ["Arrow keys", "Move through files and tabs"],
  ["F2 / Delete", "Rename / delete the selected file"],
  ["?", "Show this list"],
];

export const ShortcutsDialog = memo(function ShortcutsDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  return (
    <Dialog open={open} title="Keyboard shortcuts" onClose={onClose}>
      <table className="shortcuts">
        <thead>
          <tr>
            <th scope="col">Keys</th>
            <th scope="col">Action</th>
          </tr>
        </thead>
        <tbody>
          {SHORTCUTS.map(([keys, what]) => (
            <tr key={keys}>
              <td>
                <kbd>{keys}</kbd>
              </td>
              <td>{what}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Dialog>
  );
});
