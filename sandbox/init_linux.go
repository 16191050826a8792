package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// Main turns this process into a sandbox container init when it was started
// as one (a marker in the environment), and never returns in that case.
// Otherwise it returns at once. Call it first thing in main() and in TestMain
// of every test package that creates a Pool:
//
//	func main() { sandbox.Main(); … }
//	func TestMain(m *testing.M) { sandbox.Main(); os.Exit(m.Run()) }
func Main() {
	if os.Getenv(initMarker) != "1" || os.Getpid() != 1 {
		return
	}
	os.Exit(runInit())
}

// initState is the container init: pid 1 of the slot's PID namespace.
type initState struct {
	c  *conn
	mu sync.Mutex // serialises sends: the reaper and the command loop both send

	runMu   sync.Mutex
	mainPid int // pid of the current run's program, 0 when idle
	sigchld chan os.Signal
	tainted bool // the last reset failed; only the command loop touches it
}

func runInit() int {
	// The init does little work; one P keeps its thread count (which the
	// pids cgroup counts) small and stable.
	runtime.GOMAXPROCS(1)
	debug.SetGCPercent(50)

	f := os.NewFile(ctlFD, "control")
	c, err := newConn(f)
	f.Close()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sandbox init:", err)
		return 2
	}
	st := &initState{c: c, sigchld: make(chan os.Signal, 16)}
	signal.Notify(st.sigchld, syscall.SIGCHLD)

	m, fds, err := c.recv()
	if err != nil || m.Op != opSetup || m.Setup == nil {
		fmt.Fprintln(os.Stderr, "sandbox init: no setup message:", err)
		return 2
	}
	err = setupContainer(m.Setup, fds)
	// Descriptors inherited from the host (mount sources, the executable)
	// must not reach user programs: ForkExec passes on every descriptor
	// that lacks close-on-exec.
	for _, mt := range m.Setup.Mounts {
		unix.Close(mt.FD)
	}
	unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err != nil {
		st.send(&msg{Op: opReady, Err: err.Error()})
		return 2
	}
	if err := st.send(&msg{Op: opReady}); err != nil {
		return 2
	}
	go st.reaper()
	for {
		m, fds, err := c.recv()
		if err != nil {
			// The host went away: everything in this PID namespace dies with us.
			return 0
		}
		st.handle(m, fds)
	}
}

func (st *initState) send(m *msg) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.c.send(m)
}

func (st *initState) handle(m *msg, fds []int) {
	defer closeFDs(fds)
	switch m.Op {
	case opFile:
		if st.tainted {
			st.ack(errTainted)
			return
		}
		st.ack(writeBoxFile(m.Path, m.Mode, m.Data, m.Append))
	case opReset:
		killAll()
		err := errors.Join(wipeDir(boxDir), wipeDir("/tmp"), wipeDir("/dev/shm"))
		// A box that could not be wiped serves nothing more: the next job
		// would see the last one's files.
		st.tainted = err != nil
		st.ack(err)
	case opKill:
		killAll()
	case opRun:
		if st.tainted {
			st.send(&msg{Op: opExited, Err: errTainted.Error()})
			return
		}
		if err := st.start(m, fds); err != nil {
			st.send(&msg{Op: opExited, Err: err.Error()})
		}
	default:
		st.ack(fmt.Errorf("unknown op %q", m.Op))
	}
}

var errTainted = errors.New("the work directory " + errTaintedText)

func (st *initState) ack(err error) {
	m := &msg{Op: opAck}
	if err != nil {
		m.Err = err.Error()
	}
	st.send(m)
}

// start forks the user's program with the run's rlimits. The init's hard
// limits were fixed at setup to the operator's maxima; lowering only the soft
// limits here means a program can raise them back to at most the operator's
// limit, never beyond.
func (st *initState) start(m *msg, fds []int) error {
	if len(fds) != 3 {
		return fmt.Errorf("run needs 3 descriptors, got %d", len(fds))
	}
	if len(m.Args) == 0 {
		return errors.New("empty command")
	}
	st.runMu.Lock()
	defer st.runMu.Unlock()
	if st.mainPid != 0 {
		return errors.New("a run is already in progress")
	}
	setSoft(unix.RLIMIT_FSIZE, uint64(m.FSize))
	setSoft(unix.RLIMIT_NOFILE, uint64(m.NoFile))
	if m.CPUSecs > 0 {
		setSoft(unix.RLIMIT_CPU, uint64(m.CPUSecs))
	}
	// Counted per uid: the program's uid gets at most its pids limit of
	// tasks, leaving the cgroup's headroom to the init (another uid).
	setSoft(unix.RLIMIT_NPROC, uint64(m.Pids))
	dir := filepath.Join(boxDir, m.Dir)
	path, err := lookPath(m.Args[0], m.Env)
	if err != nil {
		return err
	}
	pid, err := syscall.ForkExec(path, m.Args, &syscall.ProcAttr{
		Dir:   dir,
		Env:   m.Env,
		Files: []uintptr{uintptr(fds[0]), uintptr(fds[1]), uintptr(fds[2])},
		Sys: &syscall.SysProcAttr{
			Setsid:     true,
			Credential: &syscall.Credential{Uid: insideUID, Gid: insideGID, Groups: []uint32{}},
		},
	})
	// The init's own soft limits go back up so that writing the next run's
	// files is not bounded by this run's limits.
	restoreSoft(unix.RLIMIT_FSIZE)
	restoreSoft(unix.RLIMIT_NOFILE)
	restoreSoft(unix.RLIMIT_CPU)
	restoreSoft(unix.RLIMIT_NPROC)
	if err != nil {
		return fmt.Errorf("start %s: %w", m.Args[0], err)
	}
	st.mainPid = pid
	return nil
}

// reaper collects every child: the run's program (whose status is reported)
// and orphans re-parented to pid 1. When the program exits, everything else
// of the run is killed, and only then is the exit reported, so the host sees
// end of file on the output pipes and an empty cgroup (but for init).
func (st *initState) reaper() {
	for range st.sigchld {
		for {
			var ws unix.WaitStatus
			var ru unix.Rusage
			pid, err := unix.Wait4(-1, &ws, unix.WNOHANG, &ru)
			if err != nil || pid <= 0 {
				break
			}
			st.runMu.Lock()
			isMain := pid == st.mainPid && st.mainPid != 0
			st.runMu.Unlock()
			if !isMain {
				continue
			}
			killAll()
			reapAll()
			st.runMu.Lock()
			st.mainPid = 0
			st.runMu.Unlock()
			st.send(&msg{Op: opExited, Pid: pid, WaitStatus: int(ws), MaxRSSKb: ru.Maxrss})
		}
	}
}

// killAll kills every process in the PID namespace but init itself:
// kill(-1) from pid 1 reaches all of them.
func killAll() {
	unix.Kill(-1, unix.SIGKILL)
}

// reapAll waits for every remaining child after killAll.
func reapAll() {
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(-1, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return
		}
	}
}

func setSoft(res int, v uint64) {
	var rl unix.Rlimit
	if unix.Getrlimit(res, &rl) != nil || v == 0 {
		return
	}
	if v < rl.Max {
		rl.Cur = v
	} else {
		rl.Cur = rl.Max
	}
	// syscall.Setrlimit (not unix.) also tells the runtime not to restore its
	// own RLIMIT_NOFILE in the child.
	syscall.Setrlimit(res, &syscall.Rlimit{Cur: rl.Cur, Max: rl.Max})
}

func restoreSoft(res int) {
	var rl unix.Rlimit
	if unix.Getrlimit(res, &rl) == nil {
		syscall.Setrlimit(res, &syscall.Rlimit{Cur: rl.Max, Max: rl.Max})
	}
}

func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	path := "/usr/local/bin:/usr/bin:/bin"
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found in PATH", name)
}

// writeBoxFile writes a file below /box as the sandbox user. Path was
// validated by the host; it is checked again because the init trusts nothing
// it did not create itself. /box is wiped before every job, so no symlink
// planted by an earlier program can redirect the write.
func writeBoxFile(rel string, mode uint32, data []byte, appendTo bool) error {
	if rel == "" || filepath.IsAbs(rel) || strings.Contains("/"+rel+"/", "/../") {
		return fmt.Errorf("bad path %q", rel)
	}
	if mode == 0 {
		mode = 0o644
	}
	p := filepath.Join(boxDir, rel)
	if err := mkdirAllOwned(filepath.Dir(p)); err != nil {
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | syscall.O_NOFOLLOW
	if appendTo {
		flags |= os.O_APPEND
	} else {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(p, flags, os.FileMode(mode&0o777))
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chown(insideUID, insideGID); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func mkdirAllOwned(dir string) error {
	if dir == boxDir || dir == "/" {
		return nil
	}
	if st, err := os.Lstat(dir); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	if err := mkdirAllOwned(filepath.Dir(dir)); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		return err
	}
	return os.Lchown(dir, insideUID, insideGID)
}

// wipeDir removes everything below dir, whatever permissions the program
// left: the init holds CAP_DAC_OVERRIDE over files of the sandbox user.
func wipeDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// setupContainer builds the root file system and locks the init down. It runs
// as root of the new user namespace, pid 1 of the new PID namespace.
func setupContainer(s *setupMsg, fds []int) (err error) {
	defer closeFDs(fds)
	step := func(what string, e error) error {
		if e != nil && err == nil {
			err = fmt.Errorf("%s: %w", what, e)
		}
		return err
	}
	if step("make mounts private", unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, "")) != nil {
		return err
	}
	// The new root is a small tmpfs mounted over /tmp (a directory that
	// exists everywhere); only this mount namespace sees it.
	const root = "/tmp"
	if step("mount root tmpfs", unix.Mount("tmpfs", root, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=4m,nr_inodes=4096,mode=755")) != nil {
		return err
	}
	for _, d := range []string{"dev", "proc", "etc", "box", "tmp"} {
		if step("mkdir "+d, os.MkdirAll(filepath.Join(root, d), 0o755)) != nil {
			return err
		}
	}
	for _, m := range s.Mounts {
		if step("bind "+m.Target, bindReadOnly(root, m)) != nil {
			return err
		}
	}
	for _, l := range s.Symlinks {
		p := filepath.Join(root, l[0])
		os.MkdirAll(filepath.Dir(p), 0o755)
		if step("symlink "+l[0], os.Symlink(l[1], p)) != nil {
			return err
		}
	}
	for _, f := range s.EtcFiles {
		p := filepath.Join(root, "etc", f.Path)
		if step("write /etc/"+f.Path, os.WriteFile(p, f.Content, 0o644)) != nil {
			return err
		}
	}
	for _, l := range [][2]string{{"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"}} {
		os.Symlink(l[1], filepath.Join(root, "dev", l[0]))
	}
	tmpfsOpts := func(size int64, mode string) string {
		return fmt.Sprintf("size=%d,nr_inodes=%d,mode=%s,uid=%d,gid=%d", size, s.Inodes, mode, insideUID, insideGID)
	}
	if step("mount /box", unix.Mount("tmpfs", filepath.Join(root, "box"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, tmpfsOpts(s.BoxSize, "755"))) != nil {
		return err
	}
	if step("mount /tmp", unix.Mount("tmpfs", filepath.Join(root, "tmp"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, tmpfsOpts(s.TmpSize, "1777"))) != nil {
		return err
	}
	// POSIX semaphores and shared memory (Python's multiprocessing) need
	// /dev/shm; it is sized like /tmp and wiped with it.
	os.MkdirAll(filepath.Join(root, "dev", "shm"), 0o755)
	if step("mount /dev/shm", unix.Mount("tmpfs", filepath.Join(root, "dev", "shm"), "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, tmpfsOpts(s.TmpSize, "1777"))) != nil {
		return err
	}
	if step("mount /proc", unix.Mount("proc", filepath.Join(root, "proc"), "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")) != nil {
		return err
	}
	if step("chdir root", unix.Chdir(root)) != nil {
		return err
	}
	// pivot_root(".", ".") stacks the old root under the new one; detaching
	// it leaves only the new tree.
	if step("pivot_root", unix.PivotRoot(".", ".")) != nil {
		return err
	}
	if step("detach old root", unix.Unmount(".", unix.MNT_DETACH)) != nil {
		return err
	}
	if step("chdir /", unix.Chdir("/")) != nil {
		return err
	}
	if step("remount / read-only", unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, "")) != nil {
		return err
	}
	if s.Hostname != "" {
		step("sethostname", unix.Sethostname([]byte(s.Hostname)))
	}
	// Hard limits are the operator's maxima for every run of this slot.
	// RLIMIT_CORE=1 stops core dumps both to files (smaller than a page)
	// and to a core_pattern pipe helper on the host (the kernel treats 1 as
	// "no dump" there, where 0 would be ignored).
	for _, rl := range []struct {
		res int
		v   uint64
	}{
		{unix.RLIMIT_CORE, 1},
		{unix.RLIMIT_FSIZE, uint64(s.MaxFSize)},
		{unix.RLIMIT_NOFILE, uint64(s.MaxNoFile)},
	} {
		if step("setrlimit", syscall.Setrlimit(rl.res, &syscall.Rlimit{Cur: rl.v, Max: rl.v})) != nil {
			return err
		}
	}
	if step("seccomp", installSeccomp()) != nil {
		return err
	}
	return err
}

func bindReadOnly(root string, m mountSpec) error {
	target := filepath.Join(root, m.Target)
	if m.Dir {
		if err := os.MkdirAll(target, 0o755); err != nil {
			return err
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		f, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		f.Close()
	}
	// The host made the detached mount read-only, nosuid and (but for
	// device nodes) nodev already.
	return unix.MoveMount(m.FD, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH)
}
