import { useId } from "react";
import type { Theme } from "../api/types";
import { useTheme } from "../app/theme";

export function ThemeSelect({ compact = false }: { compact?: boolean }) {
  const { theme, setTheme } = useTheme();
  const id = useId();
  return (
    <span className={compact ? "theme-select compact" : "theme-select"}>
      <label htmlFor={id} className={compact ? "visually-hidden" : undefined}>
        Theme
      </label>
      <select id={id} value={theme} onChange={(e) => setTheme(e.target.value as Theme)}>
        <option value="system">System theme</option>
        <option value="light">Light</option>
        <option value="dark">Dark</option>
      </select>
    </span>
  );
}
