package runner

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"time"
)

// Language is one entry of the language table. The exported fields are what
// GET /api/languages shows; the rest is how to build and run a program.
type Language struct {
	ID          string
	Name        string
	Version     string // detected at start-up from the toolchain itself
	Available   bool
	Reason      string // why not available
	Extensions  []string
	DefaultFile string
	Template    string // a hello world for a new session

	spec langSpec
}

// langSpec is the data that drives the pipeline for a language. Commands
// run in the work dir; {entry} is the entry file, {entryNoExt} the entry
// without extension, {class} the Java class name of the entry, {sources}
// every file with one of the language's source extensions, {mem} the run
// memory limit in MiB.
type langSpec struct {
	compile []string
	run     []string
	env     []string
	// detect finds the toolchain on the host: the directories to expose in
	// the sandbox, values substituted into commands ({python}, {java}, …),
	// and the version.
	detect func(ctx context.Context) (toolchain, error)
	// transpile, when set, rewrites sources before the run (TypeScript).
	transpile func(files []File, entry string) ([]File, string, string)
	// vars are the detected toolchain's paths ({python}, {java}, …).
	vars map[string]string
	// oomMessages mark a runtime's own out-of-memory failure (its heap cap
	// sits below the cgroup limit), reported as memory_limit too.
	oomMessages []string
	// minPids raises the run's pids limit (within the operator's maximum)
	// for runtimes that need many threads.
	minPids int
}

type toolchain struct {
	version string
	mounts  []string
	vars    map[string]string
}

// languageTable is the data: ten languages, their files, templates,
// commands and per-language hints.
func languageTable(goCache string) []Language {
	return []Language{
		{
			ID: "javascript", Name: "JavaScript", Extensions: []string{".js", ".mjs", ".cjs"}, DefaultFile: "main.js",
			Template: "console.log(\"Hello, World!\");\n",
			spec: langSpec{
				run:         []string{"{node}", "{entry}"},
				env:         []string{"NODE_OPTIONS=--max-old-space-size={heapMiB}"},
				detect:      detectBinary("node", "node", "--version"),
				oomMessages: []string{"JavaScript heap out of memory"},
			},
		},
		{
			ID: "typescript", Name: "TypeScript", Extensions: []string{".ts", ".mts", ".cts"}, DefaultFile: "main.ts",
			Template: "const greeting: string = \"Hello, World!\";\nconsole.log(greeting);\n",
			spec: langSpec{
				run:         []string{"{node}", "--enable-source-maps", "{entry}"},
				env:         []string{"NODE_OPTIONS=--max-old-space-size={heapMiB}"},
				detect:      detectTypeScript,
				transpile:   transpileTypeScript,
				oomMessages: []string{"JavaScript heap out of memory"},
			},
		},
		{
			ID: "python", Name: "Python 3", Extensions: []string{".py"}, DefaultFile: "main.py",
			Template: "print(\"Hello, World!\")\n",
			spec: langSpec{
				run: []string{"{python}", "-B", "{entry}"},
				// Unbuffered, so output streams while the program runs.
				env:         []string{"PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1", "PYTHONIOENCODING=utf-8"},
				detect:      detectPython,
				oomMessages: []string{"\nMemoryError"},
			},
		},
		{
			ID: "java", Name: "Java 17", Extensions: []string{".java"}, DefaultFile: "Main.java",
			Template: "public class Main {\n    public static void main(String[] args) {\n        System.out.println(\"Hello, World!\");\n    }\n}\n",
			spec: langSpec{
				// The JVM sizes itself from host memory under cgroup v1:
				// MaxRAM pins it to the limit. Serial GC and one CPU keep
				// the thread count low; C1 only starts faster.
				compile: []string{"{javac}", "-J-XX:MaxRAM={compileMem}m", "-J-XX:+UseSerialGC", "-J-XX:TieredStopAtLevel=1",
					"-J-XX:ActiveProcessorCount=1", "-J-Xshare:auto", "-encoding", "UTF-8", "-d", ".", "{sources}"},
				run: []string{"{java}", "-XX:MaxRAM={mem}m", "-XX:MaxRAMPercentage=70", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
					"-XX:ActiveProcessorCount=1", "-Xss16m", "-Xshare:auto", "-cp", ".", "{class}"},
				detect:      detectJava,
				minPids:     64,
				oomMessages: []string{"java.lang.OutOfMemoryError"},
			},
		},
		{
			ID: "cpp", Name: "C++ (g++, C++20)", Extensions: []string{".cpp", ".cc", ".cxx", ".hpp", ".h"}, DefaultFile: "main.cpp",
			Template: "#include <iostream>\n\nint main() {\n    std::cout << \"Hello, World!\" << std::endl;\n    return 0;\n}\n",
			spec: langSpec{
				compile: []string{"{gxx}", "-std=c++20", "-O2", "-pipe", "-o", "main", "{sources:.cpp .cc .cxx}"},
				run:     []string{"./main"},
				detect:  detectBinary("gxx", "g++", "--version"),
			},
		},
		{
			ID: "c", Name: "C (gcc)", Extensions: []string{".c", ".h"}, DefaultFile: "main.c",
			Template: "#include <stdio.h>\n\nint main(void) {\n    printf(\"Hello, World!\\n\");\n    return 0;\n}\n",
			spec: langSpec{
				compile: []string{"{gcc}", "-std=gnu17", "-O2", "-pipe", "-o", "main", "{sources:.c}", "-lm"},
				run:     []string{"./main"},
				detect:  detectBinary("gcc", "gcc", "--version"),
			},
		},
		{
			ID: "go", Name: "Go", Extensions: []string{".go"}, DefaultFile: "main.go",
			Template: "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"Hello, World!\")\n}\n",
			spec: langSpec{
				compile: []string{"{go}", "build", "-o", "main", "{sources}"},
				run:     []string{"./main"},
				// The build cache is warmed on the host at start-up and
				// exposed read-only: go ignores failed cache writes, and a
				// cold standard library build would take ~15 s per run.
				env: []string{"GOCACHE=" + goCache, "GOPATH=/tmp/gopath", "GOTOOLCHAIN=local", "GOENV=off",
					"GOFLAGS=-buildvcs=false", "CGO_ENABLED=0", "GOPROXY=off", "GO111MODULE=off", "GOMAXPROCS=2"},
				detect: detectGo(goCache),
			},
		},
		{
			ID: "rust", Name: "Rust", Extensions: []string{".rs"}, DefaultFile: "main.rs",
			Template: "fn main() {\n    println!(\"Hello, World!\");\n}\n",
			spec: langSpec{
				compile: []string{"{rustc}", "--edition", "2021", "-O", "-C", "codegen-units=4", "-o", "main", "{entry}"},
				run:     []string{"./main"},
				detect:  detectRust,
			},
		},
		{
			ID: "ruby", Name: "Ruby", Extensions: []string{".rb"}, DefaultFile: "main.rb",
			Template: "puts \"Hello, World!\"\n",
			spec: langSpec{
				run:    []string{"{ruby}", "{entry}"},
				detect: detectBinary("ruby", "ruby", "--version"),
			},
		},
		{
			ID: "bash", Name: "Bash", Extensions: []string{".sh", ".bash"}, DefaultFile: "main.sh",
			Template: "echo \"Hello, World!\"\n",
			spec: langSpec{
				run:    []string{"{bash}", "{entry}"},
				detect: detectBinary("bash", "bash", "--version"),
			},
		},
	}
}

// versionOf runs a toolchain's version command once, on the host: these are
// the operator's own binaries, not user code.
func versionOf(ctx context.Context, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, firstLine(string(out)))
	}
	return firstLine(string(out)), nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimSpace(s)
}

var versionNumber = regexp.MustCompile(`\d+\.\d+(\.\d+)?`)

func shortVersion(line string) string {
	if v := versionNumber.FindString(line); v != "" {
		return v
	}
	return line
}

// resolve finds a binary in PATH and follows symlinks to the real file.
func resolve(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found in PATH", name)
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", err
	}
	return real, nil
}

// mountsFor returns the directory to expose for a binary: nothing under
// /usr (always exposed), else the installation prefix (…/bin/x -> …).
func mountsFor(bin string) []string {
	if strings.HasPrefix(bin, "/usr/") || strings.HasPrefix(bin, "/bin/") {
		return nil
	}
	dir := filepath.Dir(bin)
	if filepath.Base(dir) == "bin" {
		dir = filepath.Dir(dir)
	}
	return []string{dir}
}

func detectBinary(varName, bin string, versionArgs ...string) func(ctx context.Context) (toolchain, error) {
	return func(ctx context.Context) (toolchain, error) {
		p, err := resolve(bin)
		if err != nil {
			return toolchain{}, err
		}
		// Wrapper scripts (pyenv, rustup shims) do not work inside the
		// sandbox; only real executables are accepted here.
		if err := checkELF(p); err != nil {
			return toolchain{}, err
		}
		v, err := versionOf(ctx, nil, p, versionArgs...)
		if err != nil {
			return toolchain{}, err
		}
		return toolchain{version: shortVersion(v), mounts: mountsFor(p), vars: map[string]string{varName: p}}, nil
	}
}

func checkELF(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	magic := make([]byte, 4)
	if _, err := f.Read(magic); err != nil || string(magic) != "\x7fELF" {
		return fmt.Errorf("%s is not an executable binary (a wrapper script?)", p)
	}
	return nil
}

func detectTypeScript(ctx context.Context) (toolchain, error) {
	tc, err := detectBinary("node", "node", "--version")(ctx)
	if err != nil {
		return tc, err
	}
	esbuild := "esbuild"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/evanw/esbuild" {
				esbuild += " " + strings.TrimPrefix(d.Version, "v")
			}
		}
	}
	tc.version = esbuild + ", node " + tc.version
	return tc, nil
}

// detectPython asks the interpreter for its real executable, which sees
// through pyenv's shims.
func detectPython(ctx context.Context) (toolchain, error) {
	if _, err := exec.LookPath("python3"); err != nil {
		return toolchain{}, fmt.Errorf("python3 not found in PATH")
	}
	out, err := versionOf(ctx, nil, "python3", "-c", "import sys, platform; print(sys.executable + ' ' + platform.python_version())")
	if err != nil {
		return toolchain{}, err
	}
	exe, ver, _ := strings.Cut(out, " ")
	real, err := filepath.EvalSymlinks(exe)
	if err != nil {
		return toolchain{}, err
	}
	return toolchain{version: ver, mounts: mountsFor(real), vars: map[string]string{"python": real}}, nil
}

// detectJava looks for a Java 17 JDK: the default java when it is 17, else
// a JDK 17 under /usr/lib/jvm.
func detectJava(ctx context.Context) (toolchain, error) {
	var homes []string
	if p, err := resolve("javac"); err == nil {
		homes = append(homes, filepath.Dir(filepath.Dir(p)))
	}
	if m, _ := filepath.Glob("/usr/lib/jvm/*17*"); len(m) > 0 {
		homes = append(homes, m...)
	}
	for _, home := range homes {
		java, javac := filepath.Join(home, "bin", "java"), filepath.Join(home, "bin", "javac")
		if checkELF(javac) != nil {
			continue
		}
		v, err := versionOf(ctx, nil, java, "-version")
		if err != nil || !strings.Contains(v, "\"17") {
			continue
		}
		tc := toolchain{version: shortVersion(strings.TrimPrefix(v, "openjdk version")), mounts: mountsFor(java),
			vars: map[string]string{"java": java, "javac": javac}}
		// Debian's JDK links its conf files to /etc/java-17-openjdk.
		if _, err := os.Stat("/etc/java-17-openjdk"); err == nil {
			tc.mounts = append(tc.mounts, "/etc/java-17-openjdk")
		}
		return tc, nil
	}
	return toolchain{}, fmt.Errorf("no Java 17 JDK found (javac in PATH or /usr/lib/jvm/*17*)")
}

func detectRust(ctx context.Context) (toolchain, error) {
	if _, err := exec.LookPath("rustc"); err != nil {
		return toolchain{}, fmt.Errorf("rustc not found in PATH")
	}
	// rustup's rustc is a proxy; the sandbox gets the toolchain itself.
	out, err := versionOf(ctx, nil, "rustc", "--print", "sysroot")
	if err != nil {
		return toolchain{}, err
	}
	sysroot, err := filepath.EvalSymlinks(out)
	if err != nil {
		return toolchain{}, err
	}
	rustc := filepath.Join(sysroot, "bin", "rustc")
	if err := checkELF(rustc); err != nil {
		return toolchain{}, err
	}
	v, err := versionOf(ctx, nil, rustc, "--version")
	if err != nil {
		return toolchain{}, err
	}
	var mounts []string
	if !strings.HasPrefix(sysroot, "/usr/") {
		mounts = []string{sysroot}
	}
	return toolchain{version: shortVersion(v), mounts: mounts, vars: map[string]string{"rustc": rustc}}, nil
}

// goWarmProgram imports the standard packages programs commonly use, so
// that building it fills the cache every sandboxed build reads.
const goWarmProgram = `package main

import (
	"bufio"
	"bytes"
	"container/heap"
	"container/list"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand"
	"os"
	"regexp"
	"slices"
	"maps"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

var _ = []any{bufio.NewReader, bytes.NewBuffer, heap.Init, list.New, errors.New, math.Abs, big.NewInt,
	rand.Int, os.Exit, regexp.MustCompile, slices.Sort[[]int], maps.Keys[map[int]int], sort.Ints, strconv.Itoa,
	strings.Split, sync.NewCond, time.Now, unicode.IsLetter}

func main() { fmt.Println("warm") }
`

func detectGo(goCache string) func(ctx context.Context) (toolchain, error) {
	return func(ctx context.Context) (toolchain, error) {
		p, err := resolve("go")
		if err != nil {
			return toolchain{}, err
		}
		v, err := versionOf(ctx, nil, p, "version")
		if err != nil {
			return toolchain{}, err
		}
		goroot, err := versionOf(ctx, nil, p, "env", "GOROOT")
		if err != nil {
			return toolchain{}, err
		}
		if goCache == "" {
			return toolchain{}, fmt.Errorf("no Go build cache directory configured")
		}
		if err := warmGoCache(ctx, p, goCache); err != nil {
			return toolchain{}, fmt.Errorf("warm the Go build cache: %w", err)
		}
		mounts := []string{goCache}
		if !strings.HasPrefix(goroot, "/usr/") {
			mounts = append(mounts, goroot)
		}
		return toolchain{version: strings.TrimPrefix(strings.Fields(v + " x x")[2], "go"), mounts: mounts,
			vars: map[string]string{"go": filepath.Join(goroot, "bin", "go")}}, nil
	}
}

// warmGoCache builds goWarmProgram with the sandbox's build settings into
// dir, then makes the cache readable by the sandbox's unprivileged user.
// It takes ~15 s the first time and well under a second afterwards.
func warmGoCache(ctx context.Context, goBin, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	src, err := os.MkdirTemp("", "codebuddy-gowarm-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(src)
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(goWarmProgram), 0o644); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", filepath.Join(src, "main"), "main.go")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOCACHE="+dir, "GOPATH="+filepath.Join(src, "gopath"), "GOTOOLCHAIN=local", "GOENV=off",
		"GOFLAGS=-buildvcs=false", "CGO_ENABLED=0", "GOPROXY=off", "GO111MODULE=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	// Readable by everyone, writable by nobody but root: the sandbox only
	// ever reads it.
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chmod(p, 0o755)
		}
		return os.Chmod(p, 0o644)
	})
}
