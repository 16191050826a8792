// Package sandbox runs untrusted programs in isolated Linux containers.
//
// A Pool keeps a number of pre-forked containers ("slots"). Each slot is a
// long-lived init process that lives in its own user, PID, network, mount,
// IPC and UTS namespaces, behind a read-only root that exposes only the
// configured toolchain directories, with private size-limited tmpfs mounts
// for the work directory (/box) and /tmp, a seccomp filter, no_new_privs and
// rlimits. Each slot has one long-lived cgroup (memory, pids, CPU) that the
// init process joined once; every program it starts inherits that cgroup by
// fork, so a run pays neither namespace set-up nor cgroup migration. Between
// runs the slot's counters are reset and its work directory and /tmp wiped.
//
// The init process is this same binary, re-executed through /proc/self/exe
// with a marker in the environment: every binary that creates a Pool must
// call Main first thing in main() (and in TestMain of test packages).
package sandbox

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Status is the verdict of one run. It is data, not an error.
type Status string

const (
	StatusOK            Status = "ok"
	StatusRuntimeError  Status = "runtime_error"
	StatusTimeLimit     Status = "time_limit"
	StatusMemoryLimit   Status = "memory_limit"
	StatusOutputLimit   Status = "output_limit"
	StatusCancelled     Status = "cancelled"
	StatusInternalError Status = "internal_error"
)

// ErrUnavailable marks every error that means "isolation cannot be set up on
// this host". Its message names the reason; callers show it in /readyz and
// /api/languages.
var ErrUnavailable = errors.New("sandbox unavailable")

func unavailable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUnavailable, fmt.Sprintf(format, args...))
}

// Limits bound one run. Zero fields mean "no limit of this kind" only where
// documented; Pool.Run fills zero fields from the pool's defaults.
type Limits struct {
	CPUTime   time.Duration // CPU time of all processes of the run (cgroup accounting)
	WallTime  time.Duration // wall-clock time from start to exit
	Memory    int64         // bytes, cgroup memory (and memory+swap where available)
	Pids      int           // processes and threads
	Stdout    int64         // bytes kept and allowed on stdout; more is output_limit
	Stderr    int64         // bytes kept and allowed on stderr
	FileSize  int64         // RLIMIT_FSIZE: largest file a process may write
	OpenFiles int           // RLIMIT_NOFILE
}

// DefaultLimits are the operator defaults from DESIGN.md for the run phase.
func DefaultLimits() Limits {
	return Limits{
		CPUTime:   5 * time.Second,
		WallTime:  10 * time.Second,
		Memory:    256 << 20,
		Pids:      64,
		Stdout:    1 << 20,
		Stderr:    1 << 20,
		FileSize:  16 << 20,
		OpenFiles: 256,
	}
}

// Clamp returns l with every field lowered to at most max. A zero field in l
// takes max's value: a request may ask for less, never more.
func (l Limits) Clamp(max Limits) Limits {
	d := func(v, m time.Duration) time.Duration {
		if v <= 0 || v > m {
			return m
		}
		return v
	}
	i := func(v, m int64) int64 {
		if v <= 0 || v > m {
			return m
		}
		return v
	}
	n := func(v, m int) int {
		if v <= 0 || v > m {
			return m
		}
		return v
	}
	return Limits{
		CPUTime:   d(l.CPUTime, max.CPUTime),
		WallTime:  d(l.WallTime, max.WallTime),
		Memory:    i(l.Memory, max.Memory),
		Pids:      n(l.Pids, max.Pids),
		Stdout:    i(l.Stdout, max.Stdout),
		Stderr:    i(l.Stderr, max.Stderr),
		FileSize:  i(l.FileSize, max.FileSize),
		OpenFiles: n(l.OpenFiles, max.OpenFiles),
	}
}

// WithDefaults fills the zero fields of l from d.
func (l Limits) WithDefaults(d Limits) Limits {
	if l.CPUTime <= 0 {
		l.CPUTime = d.CPUTime
	}
	if l.WallTime <= 0 {
		l.WallTime = d.WallTime
	}
	if l.Memory <= 0 {
		l.Memory = d.Memory
	}
	if l.Pids <= 0 {
		l.Pids = d.Pids
	}
	if l.Stdout <= 0 {
		l.Stdout = d.Stdout
	}
	if l.Stderr <= 0 {
		l.Stderr = d.Stderr
	}
	if l.FileSize <= 0 {
		l.FileSize = d.FileSize
	}
	if l.OpenFiles <= 0 {
		l.OpenFiles = d.OpenFiles
	}
	return l
}

// Stream names an output stream.
type Stream string

const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// File is written into the work directory before a run. Path is relative
// to the work directory and must not escape it.
type File struct {
	Path    string
	Content []byte
	Mode    uint32 // permission bits; 0 means 0644
}

// Cmd describes one program to start inside a box.
type Cmd struct {
	Args []string // Args[0] is an absolute path inside the sandbox or a name looked up in PATH
	Env  []string // complete environment; PATH/HOME/TMPDIR/LANG defaults are added when absent
	Dir  string   // working directory relative to the work dir ("" = the work dir)

	// Stdin is copied to the program's standard input until it returns
	// io.EOF, then the program sees end of file. Nil means empty input.
	// Pass the reading half of an io.Pipe for interactive input.
	Stdin  io.Reader
	Limits Limits

	// OnOutput, when set, receives every chunk of output as it is produced
	// (only the part within the caps). It is called from one goroutine per
	// stream, so calls for stdout and stderr may be concurrent.
	OnOutput func(stream Stream, data []byte)
}

// Result is what one run produced.
type Result struct {
	Status          Status
	ExitCode        int    // exit code when the program exited; -1 when killed by a signal
	Signal          string // "SIGKILL", … when killed by a signal
	Stdout, Stderr  []byte
	StdoutTruncated bool
	StderrTruncated bool
	Time            time.Duration // wall clock
	CPUTime         time.Duration // user+system of every process of the run
	MemoryBytes     int64         // peak resident memory
	// Reason explains internal_error, output_limit and time_limit verdicts
	// in words for logs ("cpu time limit", "stdout limit", …).
	Reason string
}

// Options configure a Pool.
type Options struct {
	// Slots is the number of pre-forked containers (runs that can execute at
	// the same time). Default: the number of CPUs.
	Slots int
	// MaxLimits are the hard maxima of any run (fixed in each container's
	// hard rlimits); Cmd.Limits are clamped to them and zero fields default
	// to them. Default: DefaultLimits().
	MaxLimits Limits
	// WorkDirSize and TmpSize bound the tmpfs of /box and /tmp (bytes).
	// Default: MaxLimits.FileSize each.
	WorkDirSize, TmpSize int64
	// Mounts are extra host paths (directories or files) exposed read-only
	// at the same path inside, e.g. toolchains under /root/.pyenv. /usr,
	// the merged-/usr links, /etc/ld.so.cache and /etc/alternatives are
	// always exposed.
	Mounts []string
	// ProtectedPaths (the server's data dir, …) may not be exposed: a Mount
	// equal to one of them, inside one, or containing one is refused.
	ProtectedPaths []string
	// HostUIDBase is the first host uid (and gid) of the sandbox's range.
	// Slot i uses HostUIDBase+2i (container root) and HostUIDBase+2i+1
	// (the program's user). Default 200000. Never 0.
	HostUIDBase int
	// CPUsPerRun is the CPU bandwidth of one run (cgroup CPU quota).
	// Default 1.
	CPUsPerRun float64
	// Logger receives start-up and slot-recovery messages. Default: discard.
	Logger *slog.Logger
	// Unisolated runs programs as plain child processes without any
	// isolation. DEVELOPMENT ONLY: it is logged loudly at start-up.
	Unisolated bool
}

// Info describes how a pool isolates programs, for logs and /readyz.
type Info struct {
	Isolated bool
	Cgroup   string // "v1", "v2" or "" when unisolated
	Memsw    bool   // v1 memory+swap limit in force
	Slots    int
}

// ValidatePath accepts relative, clean paths that stay inside the work dir.
func ValidatePath(p string) error {
	switch {
	case p == "":
		return errors.New("empty file path")
	case len(p) > 255:
		return fmt.Errorf("file path %.40q… is longer than 255 bytes", p)
	case strings.HasPrefix(p, "/"):
		return fmt.Errorf("file path %q must be relative", p)
	case strings.ContainsAny(p, "\x00\\"):
		return fmt.Errorf("file path %q contains a forbidden character", p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." {
			return fmt.Errorf("file path %q has an empty, '.' or '..' component", p)
		}
	}
	return nil
}
