import { describe, expect, test } from "vitest";
import type { FileEntry } from "../api/types";
import { buildTree, childPath, moveTargets, validateName, visibleNodes } from "./fileTree";

const f = (id: string, name: string, parentId: string | null, isFolder = false, path = name): FileEntry => ({
  id,
  sessionId: "s",
  parentId,
  name,
  path,
  isFolder,
  version: 0,
  updatedAt: "",
});

const files = [
  f("1", "main.py", null),
  f("2", "src", null, true),
  f("3", "util.py", "2", false, "src/util.py"),
  f("4", "lib", "2", true, "src/lib"),
  f("5", "a.py", "4", false, "src/lib/a.py"),
  f("6", "README", null),
  f("7", "lost.py", "gone"),
];

describe("file tree", () => {
  test("folders come first, names sorted, orphans at the top level", () => {
    const tree = buildTree(files);
    expect(tree.map((n) => n.entry.name)).toEqual(["src", "lost.py", "main.py", "README"]);
    expect(tree[0]!.children.map((n) => n.entry.name)).toEqual(["lib", "util.py"]);
    expect(tree[0]!.children[0]!.children[0]!.depth).toBe(2);
  });

  test("collapsed folders hide their children from keyboard navigation", () => {
    const tree = buildTree(files);
    expect(visibleNodes(tree, new Set()).map((n) => n.entry.id)).toEqual(["2", "7", "1", "6"]);
    expect(visibleNodes(tree, new Set(["2"])).map((n) => n.entry.id)).toEqual(["2", "4", "3", "7", "1", "6"]);
  });

  test("a folder cannot move into itself or below itself", () => {
    expect(moveTargets(files, files[1]!).map((x) => x.id)).toEqual([]);
    expect(moveTargets(files, files[0]!).map((x) => x.id)).toEqual(["2", "4"]);
  });

  test("paths and names", () => {
    expect(childPath(files, "4", "b.py")).toBe("src/lib/b.py");
    expect(childPath(files, null, "b.py")).toBe("b.py");
    expect(validateName(" ")).toBe("Enter a name.");
    expect(validateName("a/b")).toBe("Names cannot contain / or \\.");
    expect(validateName("ok.py")).toBeNull();
  });
});
