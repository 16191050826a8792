package runner_test

import (
	"strings"
	"testing"

	"github.com/codebuddy-dev/codebuddy/runner"
)

// program is one test program for a language, with what it must produce.
type langPrograms struct {
	echo, exit3, uncaught, broken string
	// brokenStatus is compile_error for compiled languages; interpreted
	// ones report a syntax error at run time.
	brokenStatus runner.Status
	brokenMsg    string // part of the toolchain's message
	uncaughtMsg  string
}

var programs = map[string]langPrograms{
	"javascript": {
		echo: "process.stdin.pipe(process.stdout);\n", exit3: "process.exit(3);\n",
		uncaught: "throw new Error(\"boom\");\n", uncaughtMsg: "Error: boom",
		broken: "console.log(\n", brokenStatus: runner.StatusRuntimeError, brokenMsg: "SyntaxError",
	},
	"typescript": {
		echo: "process.stdin.pipe(process.stdout);\n", exit3: "const code: number = 3;\nprocess.exit(code);\n",
		uncaught: "function f(): never { throw new Error(\"boom\"); }\nf();\n", uncaughtMsg: "main.ts:1",
		broken: "let x: number = ;\n", brokenStatus: runner.StatusCompileError, brokenMsg: "main.ts:1:17: error",
	},
	"python": {
		echo: "import sys\nsys.stdout.write(sys.stdin.read())\n", exit3: "import sys\nsys.exit(3)\n",
		uncaught: "raise ValueError(\"boom\")\n", uncaughtMsg: "ValueError: boom",
		broken: "print(\n", brokenStatus: runner.StatusRuntimeError, brokenMsg: "SyntaxError",
	},
	"java": {
		echo:         "public class Main {\n  public static void main(String[] a) throws Exception {\n    System.out.write(System.in.readAllBytes());\n    System.out.flush();\n  }\n}\n",
		exit3:        "public class Main {\n  public static void main(String[] a) { System.exit(3); }\n}\n",
		uncaught:     "public class Main {\n  public static void main(String[] a) { throw new IllegalStateException(\"boom\"); }\n}\n",
		uncaughtMsg:  "IllegalStateException: boom",
		broken:       "public class Main {\n  public static void main(String[] a) { int x = \"s\"; }\n}\n",
		brokenStatus: runner.StatusCompileError, brokenMsg: "incompatible types",
	},
	"cpp": {
		echo:     "#include <iostream>\nint main() { std::string l; while (std::getline(std::cin, l)) std::cout << l << '\\n'; }\n",
		exit3:    "int main() { return 3; }\n",
		uncaught: "#include <stdexcept>\nint main() { throw std::runtime_error(\"boom\"); }\n", uncaughtMsg: "boom",
		broken: "int main() { undefined_thing(); }\n", brokenStatus: runner.StatusCompileError, brokenMsg: "undefined_thing",
	},
	"c": {
		echo:     "#include <stdio.h>\nint main(void) { int c; while ((c = getchar()) != EOF) putchar(c); return 0; }\n",
		exit3:    "int main(void) { return 3; }\n",
		uncaught: "#include <stdio.h>\n#include <stdlib.h>\nint main(void) { fprintf(stderr, \"boom\\n\"); abort(); }\n", uncaughtMsg: "boom",
		broken: "int main(void) { return undefined_thing; }\n", brokenStatus: runner.StatusCompileError, brokenMsg: "undefined_thing",
	},
	"go": {
		echo:     "package main\n\nimport (\n\t\"io\"\n\t\"os\"\n)\n\nfunc main() { io.Copy(os.Stdout, os.Stdin) }\n",
		exit3:    "package main\n\nimport \"os\"\n\nfunc main() { os.Exit(3) }\n",
		uncaught: "package main\n\nfunc main() { panic(\"boom\") }\n", uncaughtMsg: "panic: boom",
		broken: "package main\n\nfunc main() { x := 1 }\n", brokenStatus: runner.StatusCompileError, brokenMsg: "declared and not used",
	},
	"rust": {
		echo:     "use std::io::{self, Read, Write};\nfn main() {\n    let mut s = String::new();\n    io::stdin().read_to_string(&mut s).unwrap();\n    io::stdout().write_all(s.as_bytes()).unwrap();\n}\n",
		exit3:    "fn main() { std::process::exit(3); }\n",
		uncaught: "fn main() { panic!(\"boom\"); }\n", uncaughtMsg: "boom",
		broken: "fn main() { let x: i32 = \"s\"; }\n", brokenStatus: runner.StatusCompileError, brokenMsg: "mismatched types",
	},
	"ruby": {
		echo: "STDOUT.write(STDIN.read)\n", exit3: "exit 3\n",
		uncaught: "raise \"boom\"\n", uncaughtMsg: "boom",
		broken: "puts(\n", brokenStatus: runner.StatusRuntimeError, brokenMsg: "syntax error",
	},
	"bash": {
		echo: "cat\n", exit3: "exit 3\n",
		uncaught: "set -e\necho boom >&2\nfalse\necho unreachable\n", uncaughtMsg: "boom",
		broken: "if then fi\n", brokenStatus: runner.StatusRuntimeError, brokenMsg: "syntax error",
	},
}

// TestLanguages runs real programs in every available language.
func TestLanguages(t *testing.T) {
	r := setup(t)
	for _, lang := range r.Languages() {
		t.Run(lang.ID, func(t *testing.T) {
			t.Parallel()
			if !lang.Available {
				if lang.Reason == "" {
					t.Fatal("unavailable without a reason")
				}
				// Every toolchain is installed on the CI machine; a missing
				// one there is a failure, not a skip.
				t.Fatalf("%s unavailable: %s", lang.Name, lang.Reason)
			}
			if lang.Version == "" || lang.Template == "" || lang.DefaultFile == "" || len(lang.Extensions) == 0 {
				t.Fatalf("incomplete table entry %+v", lang)
			}
			p, ok := programs[lang.ID]
			if !ok {
				t.Fatalf("no test programs for %s", lang.ID)
			}
			run := func(t *testing.T, code, stdin string) runner.Result {
				res := execute(t, r, runner.Request{UserID: "u-" + lang.ID, Language: lang.ID, Code: code, Stdin: stdin})
				if res.Language.ID != lang.ID || res.Language.Version != lang.Version {
					t.Errorf("result language %+v", res.Language)
				}
				return res
			}
			t.Run("hello world", func(t *testing.T) {
				res := run(t, lang.Template, "")
				if res.Status != runner.StatusOK || res.Stdout != "Hello, World!\n" || res.ExitCode != 0 {
					t.Fatalf("%+v", res)
				}
				if res.TimeMs <= 0 || res.MemoryKb <= 0 {
					t.Errorf("no measurements: %+v", res)
				}
			})
			t.Run("stdin echo", func(t *testing.T) {
				in := "line one\nline two ünïcode\n"
				res := run(t, p.echo, in)
				if res.Status != runner.StatusOK || res.Stdout != in {
					t.Fatalf("%+v", res)
				}
			})
			t.Run("non-zero exit", func(t *testing.T) {
				res := run(t, p.exit3, "")
				if res.Status != runner.StatusRuntimeError || res.ExitCode != 3 {
					t.Fatalf("%+v", res)
				}
			})
			t.Run("uncaught error", func(t *testing.T) {
				res := run(t, p.uncaught, "")
				if res.Status != runner.StatusRuntimeError || !strings.Contains(res.Stderr, p.uncaughtMsg) {
					t.Fatalf("%+v", res)
				}
			})
			t.Run("broken program", func(t *testing.T) {
				res := run(t, p.broken, "")
				msg := res.Stderr
				if p.brokenStatus == runner.StatusCompileError {
					msg = res.CompileOutput
				}
				if res.Status != p.brokenStatus || !strings.Contains(msg, p.brokenMsg) {
					t.Fatalf("status %s, want %s with %q; %+v", res.Status, p.brokenStatus, p.brokenMsg, res)
				}
			})
		})
	}
}

// TestMultiFile runs projects of several files.
func TestMultiFile(t *testing.T) {
	r := setup(t)
	cases := []struct {
		lang  string
		files []runner.File
		entry string
	}{
		{"python", []runner.File{
			{Path: "main.py", Content: "from lib.greet import greet\nprint(greet('World'))\n"},
			{Path: "lib/__init__.py", Content: ""},
			{Path: "lib/greet.py", Content: "def greet(n):\n    return f'Hello, {n}!'\n"},
		}, "main.py"},
		{"java", []runner.File{
			{Path: "app/Main.java", Content: "package app;\n\nimport app.util.Greeter;\n\npublic class Main {\n  public static void main(String[] a) { System.out.println(Greeter.greet(\"World\")); }\n}\n"},
			{Path: "app/util/Greeter.java", Content: "package app.util;\n\npublic class Greeter {\n  public static String greet(String n) { return \"Hello, \" + n + \"!\"; }\n}\n"},
		}, "app/Main.java"},
		{"cpp", []runner.File{
			{Path: "main.cpp", Content: "#include <iostream>\n#include \"greet.h\"\nint main() { std::cout << greet(\"World\") << std::endl; }\n"},
			{Path: "greet.h", Content: "#pragma once\n#include <string>\nstd::string greet(const std::string& n);\n"},
			{Path: "greet.cpp", Content: "#include \"greet.h\"\nstd::string greet(const std::string& n) { return \"Hello, \" + n + \"!\"; }\n"},
		}, "main.cpp"},
		{"typescript", []runner.File{
			{Path: "main.ts", Content: "import { greet } from \"./greet\";\nconsole.log(greet(\"World\"));\n"},
			{Path: "greet.ts", Content: "export function greet(n: string): string { return `Hello, ${n}!`; }\n"},
		}, "main.ts"},
		{"go", []runner.File{
			{Path: "main.go", Content: "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(greet(\"World\")) }\n"},
			{Path: "greet.go", Content: "package main\n\nfunc greet(n string) string { return \"Hello, \" + n + \"!\" }\n"},
		}, "main.go"},
	}
	for _, tc := range cases {
		t.Run(tc.lang, func(t *testing.T) {
			t.Parallel()
			res := execute(t, r, runner.Request{UserID: "multi-" + tc.lang, Language: tc.lang, Files: tc.files, Entry: tc.entry})
			if res.Status != runner.StatusOK || res.Stdout != "Hello, World!\n" {
				t.Fatalf("%+v", res)
			}
		})
	}
}

// TestPythonMultiprocessing needs /dev/shm (POSIX semaphores) and a few
// processes inside the sandbox.
func TestPythonMultiprocessing(t *testing.T) {
	r := setup(t)
	res := execute(t, r, runner.Request{UserID: "mp", Language: "python",
		Code: "from multiprocessing import Pool\n\nif __name__ == '__main__':\n    with Pool(2) as p:\n        print(sum(p.map(abs, [-1, -2, -3])))\n"})
	if res.Status != runner.StatusOK || res.Stdout != "6\n" {
		t.Fatalf("%+v", res)
	}
}
