// Package runner turns a request to run code into sandboxed compile and run
// phases: the language table, input validation, the two-phase pipeline, and
// the execution queue in front of the sandbox pool.
//
// Wiring, in main (sandbox.Main must come first: the sandbox re-executes this
// binary as its container init):
//
//	func main() {
//		sandbox.Main()
//		…
//		cfg := runner.DefaultConfig()          // then apply CODEBUDDY_* overrides
//		langs, mounts := runner.DetectLanguages(ctx, cfg) // runs --version; warms the Go cache (~15 s once)
//		opts := cfg.PoolOptions(mounts)
//		opts.ProtectedPaths = []string{dataDir}
//		opts.Logger = logger
//		opts.Unisolated = devSwitch // development only; logged loudly
//		pool, poolErr := sandbox.New(ctx, opts)
//		if poolErr != nil {
//			logger.Error("code execution unavailable", "reason", poolErr) // also /readyz, /api/languages
//		}
//		r := runner.New(cfg, langs, pool, poolErr) // pool may be nil
//		q := runner.NewLocalQueue(r, runner.QueueOptions{})
//		defer pool.Close() // after q.Close()
//		defer q.Close()
//	}
//
// POST /api/execute: q.Submit(req, onEvent) then run.Wait(ctx). Errors:
// *RequestError -> 400/422 naming Field; ErrUnavailable -> 503;
// *QueueFullError -> 429 (PerUser) or 503, with Retry-After. DELETE
// /api/executions/{id}: q.Cancel(id) (ErrNotFound -> 404). WebSocket runs:
// Interactive: true, forward Events, feed {type:"stdin"} with run.WriteStdin.
package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/codebuddy-dev/codebuddy/sandbox"
	"github.com/evanw/esbuild/pkg/api"
)

// Status is a run's verdict: the sandbox's verdicts plus compile_error.
type Status string

const (
	StatusOK            Status = "ok"
	StatusCompileError  Status = "compile_error"
	StatusRuntimeError  Status = "runtime_error"
	StatusTimeLimit     Status = "time_limit"
	StatusMemoryLimit   Status = "memory_limit"
	StatusOutputLimit   Status = "output_limit"
	StatusCancelled     Status = "cancelled"
	StatusInternalError Status = "internal_error"
)

// Limits are the limits of one phase. See sandbox.Limits.
type Limits = sandbox.Limits

// Config is the operator's configuration.
type Config struct {
	// Compile and Run are the operator's limits per phase; a request may
	// lower the run limits, never raise them. Zero values take the defaults
	// (DefaultConfig).
	Compile, Run Limits
	// MaxFiles, MaxFileBytes and MaxTotalBytes bound a request's files.
	MaxFiles      int
	MaxFileBytes  int
	MaxTotalBytes int
	MaxStdinBytes int
	// GoCacheDir holds the Go build cache warmed at start-up and exposed
	// read-only to Go builds. It must not be inside the data dir (which the
	// sandbox refuses to expose). Empty: Go is unavailable.
	GoCacheDir string
	Logger     *slog.Logger
}

// DefaultConfig returns DESIGN.md's defaults: compile 10 s wall; run 5 s
// CPU, 10 s wall; 256 MiB; 64 pids; 1 MiB each of stdout and stderr; 16 MiB
// of files. Compilers get 512 MiB and 128 pids (javac, rustc and go use many
// threads).
func DefaultConfig() Config {
	run := sandbox.DefaultLimits()
	compile := run
	compile.CPUTime = 10 * time.Second
	compile.WallTime = 10 * time.Second
	compile.Memory = 512 << 20
	compile.Pids = 128
	return Config{
		Compile: compile, Run: run,
		MaxFiles: 64, MaxFileBytes: 512 << 10, MaxTotalBytes: 2 << 20, MaxStdinBytes: 1 << 20,
		GoCacheDir: "/var/cache/codebuddy/gocache",
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	c.Compile = c.Compile.WithDefaults(d.Compile)
	c.Run = c.Run.WithDefaults(d.Run)
	if c.MaxFiles <= 0 {
		c.MaxFiles = d.MaxFiles
	}
	if c.MaxFileBytes <= 0 {
		c.MaxFileBytes = d.MaxFileBytes
	}
	if c.MaxTotalBytes <= 0 {
		c.MaxTotalBytes = d.MaxTotalBytes
	}
	if c.MaxStdinBytes <= 0 {
		c.MaxStdinBytes = d.MaxStdinBytes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// PoolOptions returns the sandbox options this configuration needs: the
// hard maxima of both phases, work dir and /tmp sized by the run's file
// limit, and the toolchain mounts from DetectLanguages. The caller adds
// Logger, ProtectedPaths (the data dir), Slots and, for development only,
// Unisolated.
func (c Config) PoolOptions(mounts []string) sandbox.Options {
	c = c.withDefaults()
	return sandbox.Options{
		MaxLimits:   c.MaxLimits(),
		WorkDirSize: c.Run.FileSize,
		TmpSize:     c.Run.FileSize,
		Mounts:      mounts,
	}
}

// MaxLimits is what the sandbox pool must allow: the larger of the two
// phases' limits.
func (c Config) MaxLimits() Limits {
	c = c.withDefaults()
	a, b := c.Compile, c.Run
	return Limits{
		CPUTime: max(a.CPUTime, b.CPUTime), WallTime: max(a.WallTime, b.WallTime),
		Memory: max(a.Memory, b.Memory), Pids: max(a.Pids, b.Pids),
		Stdout: max(a.Stdout, b.Stdout), Stderr: max(a.Stderr, b.Stderr),
		FileSize: max(a.FileSize, b.FileSize), OpenFiles: max(a.OpenFiles, b.OpenFiles),
	}
}

// File is one source file of a request.
type File struct {
	Path    string
	Content string
}

// Request asks for one run, as POST /api/execute and the WebSocket "run"
// message carry it (sessionId is resolved to Files by the caller).
type Request struct {
	ID       string // the run's ID, chosen by the caller (unique)
	UserID   string // whose run: the queue's fairness and per-user cap key
	Language string
	Code     string // a single file named the language's DefaultFile
	Files    []File // or several files…
	Entry    string // …and the one to run (default: DefaultFile if present, else the only/first source)
	Stdin    string
	// Interactive keeps standard input open after Stdin until the caller
	// calls CloseStdin (or the run ends), for input typed while it runs.
	Interactive bool
	// Limits optionally lowers the run phase's limits.
	Limits *Limits
}

// LanguageRef names the language and version a result came from.
type LanguageRef struct {
	ID      string
	Version string
}

// Result mirrors the response of POST /api/execute.
type Result struct {
	Language        LanguageRef
	Status          Status
	ExitCode        int
	Signal          string
	Stdout          string
	Stderr          string
	CompileOutput   string
	TimeMs          int64
	CPUMs           int64
	MemoryKb        int64
	StdoutTruncated bool
	StderrTruncated bool
}

// RequestError is bad input; Field names the offending request field
// ("language", "files[2].path", …). Map it to 400/422.
type RequestError struct {
	Field   string
	Message string
}

func (e *RequestError) Error() string { return e.Field + ": " + e.Message }

func invalid(field, format string, args ...any) error {
	return &RequestError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrUnavailable is returned when the language (or the sandbox) cannot run
// code on this server; the message says why. Map it to 503.
var ErrUnavailable = errors.New("execution unavailable")

// Runner runs requests in the sandbox pool: validation, transpile, compile,
// run. It does no queueing; see Queue.
type Runner struct {
	cfg     Config
	pool    *sandbox.Pool
	langs   []Language
	poolErr error
	byID    map[string]*Language
	goCache string
}

// DetectLanguages builds the language table, detecting every toolchain on
// the host (versions, install directories). It may take ~15 s the first
// time, to warm the Go build cache. Pass the mounts it returns to the
// sandbox pool (sandbox.Options.Mounts).
func DetectLanguages(ctx context.Context, cfg Config) (langs []Language, mounts []string) {
	cfg = cfg.withDefaults()
	langs = languageTable(cfg.GoCacheDir)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range langs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tc, err := langs[i].spec.detect(ctx)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				langs[i].Reason = err.Error()
				cfg.Logger.Warn("language unavailable", "language", langs[i].ID, "reason", err)
				return
			}
			langs[i].Available, langs[i].Version = true, tc.version
			langs[i].spec.vars = tc.vars
			for _, m := range tc.mounts {
				if !slices.Contains(mounts, m) {
					mounts = append(mounts, m)
				}
			}
		}()
	}
	wg.Wait()
	slices.Sort(mounts)
	return langs, mounts
}

// LanguageTable returns the language table without detecting any toolchain:
// every language unavailable, with no version. For a server whose execution
// is turned off, which need not spend start-up time probing toolchains.
func LanguageTable(cfg Config) []Language {
	return languageTable(cfg.withDefaults().GoCacheDir)
}

// New returns a Runner over pool with the detected language table. A nil
// pool (the sandbox could not be set up) is allowed: every language is then
// unavailable with poolErr as the reason, and Execute fails with
// ErrUnavailable.
func New(cfg Config, langs []Language, pool *sandbox.Pool, poolErr error) *Runner {
	cfg = cfg.withDefaults()
	r := &Runner{cfg: cfg, pool: pool, poolErr: poolErr, byID: map[string]*Language{}}
	for _, l := range langs {
		if pool == nil && l.Available {
			l.Available = false
			l.Reason = "sandbox unavailable"
			if poolErr != nil {
				l.Reason = poolErr.Error()
			}
		}
		r.langs = append(r.langs, l)
	}
	for i := range r.langs {
		r.byID[r.langs[i].ID] = &r.langs[i]
	}
	return r
}

// Languages returns the language table (a copy), for GET /api/languages.
func (r *Runner) Languages() []Language {
	return slices.Clone(r.langs)
}

// Ready says whether code can run at all, and if not why (for /readyz).
func (r *Runner) Ready() error {
	if r.pool == nil {
		if r.poolErr != nil {
			return r.poolErr
		}
		return fmt.Errorf("%w: no sandbox", ErrUnavailable)
	}
	return nil
}

// Validate checks a request and returns the language, the files to write
// and the entry file.
func (r *Runner) Validate(req *Request) (*Language, []File, string, error) {
	lang, ok := r.byID[req.Language]
	if !ok {
		return nil, nil, "", invalid("language", "unknown language %q", req.Language)
	}
	if !lang.Available {
		return lang, nil, "", fmt.Errorf("%w: %s: %s", ErrUnavailable, lang.Name, lang.Reason)
	}
	files := req.Files
	switch {
	case req.Code != "" && len(files) > 0:
		return lang, nil, "", invalid("code", "give either code or files, not both")
	case req.Code != "":
		files = []File{{Path: lang.DefaultFile, Content: req.Code}}
	case len(files) == 0:
		return lang, nil, "", invalid("code", "no code or files to run")
	}
	if len(files) > r.cfg.MaxFiles {
		return lang, nil, "", invalid("files", "%d files; at most %d are allowed", len(files), r.cfg.MaxFiles)
	}
	total := 0
	seen := map[string]bool{}
	for i, f := range files {
		field := "files[" + strconv.Itoa(i) + "]"
		if req.Code != "" {
			field = "code"
		}
		if err := sandbox.ValidatePath(f.Path); err != nil {
			return lang, nil, "", invalid(field+".path", "%v", err)
		}
		if seen[f.Path] {
			return lang, nil, "", invalid(field+".path", "duplicate path %q", f.Path)
		}
		seen[f.Path] = true
		if len(f.Content) > r.cfg.MaxFileBytes {
			return lang, nil, "", invalid(field+".content", "%d bytes; at most %d per file", len(f.Content), r.cfg.MaxFileBytes)
		}
		total += len(f.Content)
	}
	if total > r.cfg.MaxTotalBytes {
		return lang, nil, "", invalid("files", "%d bytes in all; at most %d", total, r.cfg.MaxTotalBytes)
	}
	if len(req.Stdin) > r.cfg.MaxStdinBytes {
		return lang, nil, "", invalid("stdin", "%d bytes; at most %d", len(req.Stdin), r.cfg.MaxStdinBytes)
	}
	entry := req.Entry
	if entry == "" {
		entry = defaultEntry(lang, files)
	}
	if !seen[entry] {
		return lang, nil, "", invalid("entry", "entry file %q is not among the files", entry)
	}
	if !hasExt(entry, lang.Extensions) {
		return lang, nil, "", invalid("entry", "entry file %q does not have a %s extension (%s)", entry, lang.Name, strings.Join(lang.Extensions, ", "))
	}
	if req.Limits != nil {
		if err := checkLimits(*req.Limits); err != nil {
			return lang, nil, "", err
		}
	}
	return lang, files, entry, nil
}

func checkLimits(l Limits) error {
	switch {
	case l.CPUTime < 0, l.WallTime < 0:
		return invalid("limits", "time limits must not be negative")
	case l.Memory < 0, l.Pids < 0, l.Stdout < 0, l.Stderr < 0, l.FileSize < 0, l.OpenFiles < 0:
		return invalid("limits", "limits must not be negative")
	case l.Memory > 0 && l.Memory < 16<<20:
		return invalid("limits.memory", "at least 16 MiB")
	}
	return nil
}

func defaultEntry(lang *Language, files []File) string {
	for _, f := range files {
		if f.Path == lang.DefaultFile {
			return f.Path
		}
	}
	for _, f := range files {
		if hasExt(f.Path, lang.Extensions) && !isHeader(f.Path) {
			return f.Path
		}
	}
	return files[0].Path
}

func hasExt(p string, exts []string) bool {
	return slices.Contains(exts, path.Ext(p))
}

func isHeader(p string) bool {
	e := path.Ext(p)
	return e == ".h" || e == ".hpp"
}

// runEnv collects what one Execute needs from its caller.
type runEnv struct {
	stdin    io.Reader
	onOutput func(stream string, data string)
	started  func()
}

// Execute runs a validated request to completion in one box. It blocks
// until a box is free (the Queue decides who gets one first).
func (r *Runner) execute(ctx context.Context, req *Request, env runEnv) Result {
	lang, files, entry, err := r.Validate(req)
	res := Result{Status: StatusInternalError}
	if lang != nil {
		res.Language = LanguageRef{ID: lang.ID, Version: lang.Version}
	}
	if err != nil {
		// Validated at submission; only a table change could get here.
		res.Stderr = err.Error()
		return res
	}
	if r.pool == nil {
		res.Stderr = r.Ready().Error()
		return res
	}
	box, err := r.pool.Acquire(ctx)
	if err != nil {
		if ctx.Err() != nil {
			res.Status = StatusCancelled
			return res
		}
		res.Stderr = err.Error()
		return res
	}
	defer box.Release()
	if env.started != nil {
		env.started()
	}
	runLim := r.cfg.Run
	if req.Limits != nil {
		runLim = req.Limits.Clamp(r.cfg.Run)
	}
	if lang.spec.minPids > 0 {
		runLim.Pids = max(runLim.Pids, min(lang.spec.minPids, r.cfg.Run.Pids))
	}
	compileOutput := ""
	if lang.spec.transpile != nil {
		var msgs string
		files, entry, msgs = lang.spec.transpile(files, entry)
		if msgs != "" {
			res.Status, res.CompileOutput = StatusCompileError, msgs
			return res
		}
	}
	sf := make([]sandbox.File, len(files))
	for i, f := range files {
		sf[i] = sandbox.File{Path: f.Path, Content: []byte(f.Content)}
	}
	if err := box.WriteFiles(sf); err != nil {
		r.cfg.Logger.Error("write files into sandbox", "run", req.ID, "err", err)
		res.Stderr = "could not prepare the sandbox"
		return res
	}
	vars := r.vars(lang, files, entry, runLim)
	if len(lang.spec.compile) > 0 {
		cres, err := box.Run(ctx, sandbox.Cmd{
			Args: expand(lang.spec.compile, vars, files, lang), Env: expandEnv(lang.spec.env, vars), Limits: r.cfg.Compile,
		})
		if err != nil {
			r.cfg.Logger.Error("compile phase", "run", req.ID, "err", err)
		}
		compileOutput = string(cres.Stdout) + string(cres.Stderr)
		if cres.StdoutTruncated || cres.StderrTruncated {
			compileOutput += "\n[compiler output truncated]"
		}
		switch cres.Status {
		case sandbox.StatusOK:
		case sandbox.StatusRuntimeError:
			res.Status, res.CompileOutput = StatusCompileError, compileOutput
			fillMeasures(&res, cres)
			return res
		default:
			// A compiler that hits a limit or is cancelled: the verdict is
			// that limit, with what the compiler said.
			res.Status, res.CompileOutput = Status(cres.Status), compileOutput+"\n[compilation stopped: "+cres.Reason+"]"
			fillMeasures(&res, cres)
			return res
		}
	}
	rres, err := box.Run(ctx, sandbox.Cmd{
		Args: expand(lang.spec.run, vars, files, lang), Env: expandEnv(lang.spec.env, vars),
		Stdin: env.stdin, Limits: runLim,
		OnOutput: func(s sandbox.Stream, d []byte) {
			if env.onOutput != nil {
				env.onOutput(string(s), string(d))
			}
		},
	})
	if err != nil {
		r.cfg.Logger.Error("run phase", "run", req.ID, "err", err)
	}
	res.Status = Status(rres.Status)
	if res.Status == StatusRuntimeError {
		for _, m := range lang.spec.oomMessages {
			if strings.Contains(string(rres.Stderr), m) {
				res.Status = StatusMemoryLimit
			}
		}
	}
	res.CompileOutput = compileOutput
	res.Stdout, res.Stderr = toText(rres.Stdout), toText(rres.Stderr)
	res.StdoutTruncated, res.StderrTruncated = rres.StdoutTruncated, rres.StderrTruncated
	res.ExitCode, res.Signal = rres.ExitCode, rres.Signal
	fillMeasures(&res, rres)
	return res
}

func fillMeasures(res *Result, r sandbox.Result) {
	res.TimeMs = r.Time.Milliseconds()
	res.CPUMs = r.CPUTime.Milliseconds()
	res.MemoryKb = r.MemoryBytes / 1024
	if res.Status != StatusOK && res.Status != StatusRuntimeError {
		res.ExitCode = r.ExitCode
		res.Signal = r.Signal
	}
}

// toText makes output valid UTF-8 for JSON (invalid bytes become U+FFFD).
func toText(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

func (r *Runner) vars(lang *Language, files []File, entry string, runLim Limits) map[string]string {
	v := map[string]string{}
	for k, val := range lang.spec.vars {
		v[k] = val
	}
	v["entry"] = entry
	v["entryNoExt"] = strings.TrimSuffix(entry, path.Ext(entry))
	v["class"] = strings.ReplaceAll(v["entryNoExt"], "/", ".")
	v["mem"] = strconv.FormatInt(runLim.Memory>>20, 10)
	v["compileMem"] = strconv.FormatInt(r.cfg.Compile.Memory>>20, 10)
	// node's heap ceiling a little under the cgroup limit, so that a
	// runaway program ends with node's own "heap out of memory" error.
	v["heapMiB"] = strconv.FormatInt(max(runLim.Memory>>20*3/4, 16), 10)
	return v
}

// expand substitutes {vars} in a command; "{sources}" and
// "{sources:.a .b}" become one argument per matching file.
func expand(tmpl []string, vars map[string]string, files []File, lang *Language) []string {
	var out []string
	for _, a := range tmpl {
		if a == "{sources}" || strings.HasPrefix(a, "{sources:") {
			exts := lang.Extensions
			if rest, ok := strings.CutPrefix(a, "{sources:"); ok {
				exts = strings.Fields(strings.TrimSuffix(rest, "}"))
			}
			for _, f := range files {
				if hasExt(f.Path, exts) && !isHeader(f.Path) {
					out = append(out, f.Path)
				}
			}
			continue
		}
		out = append(out, subst(a, vars))
	}
	return out
}

func expandEnv(env []string, vars map[string]string) []string {
	out := make([]string, len(env))
	for i, e := range env {
		out[i] = subst(e, vars)
	}
	return out
}

func subst(s string, vars map[string]string) string {
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{"+k+"}", v)
	}
	return s
}

// transpileTypeScript turns every .ts file into JavaScript in-process with
// esbuild (CommonJS, so that node runs relative imports of sibling files).
// It returns the new files, the new entry, and the diagnostics on failure.
func transpileTypeScript(files []File, entry string) ([]File, string, string) {
	var out []File
	var msgs []string
	for _, f := range files {
		ext := path.Ext(f.Path)
		if ext != ".ts" && ext != ".mts" && ext != ".cts" {
			out = append(out, f)
			continue
		}
		r := api.Transform(f.Content, api.TransformOptions{
			Loader: api.LoaderTS, Format: api.FormatCommonJS, Target: api.ES2022,
			Sourcefile: f.Path, Sourcemap: api.SourceMapInline,
		})
		for _, m := range r.Errors {
			loc := f.Path
			if m.Location != nil {
				loc = fmt.Sprintf("%s:%d:%d", m.Location.File, m.Location.Line, m.Location.Column+1)
			}
			msgs = append(msgs, loc+": error: "+m.Text)
		}
		out = append(out, File{Path: strings.TrimSuffix(f.Path, ext) + ".js", Content: string(r.Code)})
	}
	if len(msgs) > 0 {
		return nil, "", strings.Join(msgs, "\n")
	}
	return out, strings.TrimSuffix(entry, path.Ext(entry)) + ".js", ""
}

// Execute runs one request to completion without the queue (a worker
// process behind a distributed queue calls this). Events other than queued
// are delivered to onEvent; stdin may be nil.
func (r *Runner) Execute(ctx context.Context, req Request, stdin io.Reader, onEvent func(Event)) Result {
	run := &Run{ID: req.ID, emit: onEvent}
	if stdin == nil {
		stdin = strings.NewReader(req.Stdin)
	}
	res := r.execute(ctx, &req, runEnv{
		stdin:    stdin,
		started:  func() { run.send(Event{Type: EventStarted}) },
		onOutput: func(stream, data string) { run.send(Event{Type: EventOutput, Stream: stream, Data: data}) },
	})
	run.send(Event{Type: EventFinished, Result: &res})
	return res
}
