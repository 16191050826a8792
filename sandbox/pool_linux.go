package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Pool is a set of pre-forked sandbox containers. It is safe for concurrent use.
type Pool struct {
	opts    Options
	log     *slog.Logger
	cg      *cgroupRoot
	exe     *os.File
	setup   setupMsg
	sources []string // host paths of setup.Mounts, in order

	spawnReq chan spawnReq
	free     chan *slot
	slots    []*slot

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
	stop   chan struct{}
}

// Info reports the pool's isolation.
func (p *Pool) Info() Info {
	if p == nil {
		return Info{}
	}
	if p.opts.Unisolated {
		return Info{Slots: p.opts.Slots}
	}
	return Info{Isolated: true, Cgroup: p.cg.version(), Memsw: p.cg.memsw, Slots: p.opts.Slots}
}

// New starts a pool. When isolation cannot be set up the error wraps
// ErrUnavailable and says why; the caller reports it and runs nothing.
func New(ctx context.Context, opts Options) (*Pool, error) {
	if opts.Slots <= 0 {
		opts.Slots = runtime.NumCPU()
	}
	opts.MaxLimits = opts.MaxLimits.WithDefaults(DefaultLimits())
	if opts.WorkDirSize <= 0 {
		opts.WorkDirSize = opts.MaxLimits.FileSize
	}
	if opts.TmpSize <= 0 {
		opts.TmpSize = opts.MaxLimits.FileSize
	}
	if opts.HostUIDBase == 0 {
		opts.HostUIDBase = 200000
	}
	// Far above system and login accounts, and below the 32-bit limit.
	if opts.HostUIDBase < 65536 || opts.HostUIDBase+2*opts.Slots > 1<<31 {
		return nil, unavailable("HostUIDBase %d is outside [65536, 2^31): programs must run as an unused, unprivileged host uid", opts.HostUIDBase)
	}
	if opts.CPUsPerRun <= 0 {
		opts.CPUsPerRun = 1
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pool{opts: opts, log: log, stop: make(chan struct{}), free: make(chan *slot, opts.Slots)}
	if opts.Unisolated {
		log.Warn("SANDBOX DISABLED: user code runs UNISOLATED on this host as the server's user; development only, never expose this server")
		for i := range opts.Slots {
			p.free <- &slot{id: i, pool: p}
		}
		return p, nil
	}
	if err := checkHost(); err != nil {
		return nil, err
	}
	if err := p.prepareRoot(); err != nil {
		p.closeFDs()
		return nil, err
	}
	// The init is started through a descriptor of our own executable: the
	// container's unprivileged host uid could not traverse a path such as
	// /root/… or go test's private build directory.
	exe, err := os.Open("/proc/self/exe")
	if err != nil {
		p.closeFDs()
		return nil, unavailable("open own executable: %v", err)
	}
	p.exe = exe
	// One parent cgroup per pool: several pools may live in one process.
	var suffix [4]byte
	rand.Read(suffix[:])
	cg, err := newCgroupRoot(fmt.Sprintf("codebuddy-%d-%x", os.Getpid(), suffix))
	if err != nil {
		p.closeFDs()
		return nil, err
	}
	p.cg = cg
	p.spawnReq = make(chan spawnReq)
	go p.spawner()

	type res struct {
		s   *slot
		err error
	}
	ch := make(chan res, opts.Slots)
	for i := range opts.Slots {
		go func() {
			s, err := p.startSlot(ctx, i)
			ch <- res{s, err}
		}()
	}
	var errs []error
	for range opts.Slots {
		r := <-ch
		if r.err != nil {
			errs = append(errs, r.err)
			continue
		}
		p.slots = append(p.slots, r.s)
		p.free <- r.s
	}
	if len(errs) > 0 {
		p.Close()
		err := errors.Join(errs...)
		if !errors.Is(err, ErrUnavailable) {
			err = fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return nil, err
	}
	log.Info("sandbox ready", "slots", opts.Slots, "cgroup", cg.version(), "memsw", cg.memsw)
	return p, nil
}

// checkHost finds the reasons isolation cannot work before trying.
func checkHost() error {
	if _, err := os.Stat("/proc/self/ns/user"); err != nil {
		return unavailable("kernel without user namespaces")
	}
	if n, err := readInt("/proc/sys/user/max_user_namespaces"); err == nil && n == 0 {
		return unavailable("user namespaces are disabled (user.max_user_namespaces=0)")
	}
	if n, err := readInt("/proc/sys/kernel/unprivileged_userns_clone"); err == nil && n == 0 && os.Geteuid() != 0 {
		return unavailable("unprivileged user namespaces are disabled")
	}
	if os.Geteuid() != 0 {
		return unavailable("the server must run as root to manage cgroups and uid mappings (it runs as uid %d)", os.Geteuid())
	}
	return nil
}

// forbiddenMounts may never be exposed whole.
var forbiddenMounts = []string{"/", "/root", "/home", "/etc", "/proc", "/sys", "/dev", "/var", "/run", "/tmp", "/boot"}

// prepareRoot decides what the container's root holds and opens the mount
// sources.
func (p *Pool) prepareRoot() error {
	var mounts []string
	for _, m := range []string{"/usr", "/etc/ld.so.cache", "/etc/alternatives"} {
		if _, err := os.Stat(m); err == nil {
			mounts = append(mounts, m)
		}
	}
	for _, l := range []string{"/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"} {
		fi, err := os.Lstat(l)
		if err != nil {
			continue
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			target, err := os.Readlink(l)
			if err == nil {
				p.setup.Symlinks = append(p.setup.Symlinks, [2]string{l, target})
			}
		} else if fi.IsDir() {
			mounts = append(mounts, l)
		}
	}
	for _, m := range p.opts.Mounts {
		clean := filepath.Clean(m)
		if !filepath.IsAbs(clean) {
			return unavailable("mount %q is not an absolute path", m)
		}
		for _, f := range forbiddenMounts {
			if clean == f {
				return unavailable("refusing to expose %s whole in the sandbox", clean)
			}
		}
		for _, prot := range p.opts.ProtectedPaths {
			prot, _ = filepath.Abs(prot)
			if within(clean, prot) || within(prot, clean) {
				return unavailable("refusing to expose %s: it overlaps protected path %s", clean, prot)
			}
		}
		mounts = append(mounts, clean)
	}
	for _, prot := range p.opts.ProtectedPaths {
		prot, _ = filepath.Abs(prot)
		for _, m := range mounts {
			if within(prot, m) {
				return unavailable("protected path %s lies inside exposed %s", prot, m)
			}
		}
	}
	add := func(path string, device bool) error {
		fi, err := os.Stat(path)
		if err != nil {
			return unavailable("stat %s: %v", path, err)
		}
		// fds 0-2 are the init's stdio, 3 the control socket.
		p.setup.Mounts = append(p.setup.Mounts, mountSpec{FD: 4 + len(p.setup.Mounts), Target: path, Dir: fi.IsDir(), Device: device})
		p.sources = append(p.sources, path)
		return nil
	}
	for _, m := range mounts {
		if err := add(m, false); err != nil {
			return err
		}
	}
	for _, d := range []string{"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"} {
		if err := add(d, true); err != nil {
			return err
		}
	}
	p.setup.EtcFiles = []File{
		{Path: "passwd", Content: []byte("root:x:0:0:root:/root:/bin/sh\nsandbox:x:1000:1000:sandbox:/box:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")},
		{Path: "group", Content: []byte("root:x:0:\nsandbox:x:1000:\nnogroup:x:65534:\n")},
		{Path: "hosts", Content: []byte("127.0.0.1 localhost codebuddy\n::1 localhost\n")},
		{Path: "nsswitch.conf", Content: []byte("passwd: files\ngroup: files\nhosts: files\n")},
	}
	p.setup.BoxSize = p.opts.WorkDirSize
	p.setup.TmpSize = p.opts.TmpSize
	p.setup.Inodes = 16384
	p.setup.Hostname = "codebuddy"
	p.setup.MaxFSize = p.opts.MaxLimits.FileSize
	p.setup.MaxNoFile = p.opts.MaxLimits.OpenFiles
	return nil
}

// mountSources clones every exposed path into a detached, read-only mount
// (open_tree + mount_setattr) for one container. The init attaches them with
// move_mount: a bind mount by path would need the container's unprivileged
// host uid to reach the source (it cannot traverse /root), and a plain bind
// from a descriptor of another mount namespace is refused by the kernel.
func (p *Pool) mountSources() ([]*os.File, error) {
	var out []*os.File
	fail := func(err error) ([]*os.File, error) {
		for _, f := range out {
			f.Close()
		}
		return nil, err
	}
	for i, path := range p.sources {
		fd, err := unix.OpenTree(unix.AT_FDCWD, path, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
		if err != nil {
			return fail(unavailable("clone mount of %s: %v", path, err))
		}
		f := os.NewFile(uintptr(fd), path)
		out = append(out, f)
		attr := uint64(unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID)
		if !p.setup.Mounts[i].Device {
			attr |= unix.MOUNT_ATTR_NODEV
		}
		if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: attr}); err != nil {
			return fail(unavailable("make %s read-only: %v", path, err))
		}
	}
	return out, nil
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

func (p *Pool) closeFDs() {
	if p.exe != nil {
		p.exe.Close()
	}
}

// Close kills every container and removes the pool's cgroups. Runs in
// progress end as internal_error. Close of a nil pool does nothing.
func (p *Pool) Close() error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	close(p.stop)
	slots := p.slots
	p.mu.Unlock()
	var errs []error
	for _, s := range slots {
		if err := s.destroy(); err != nil {
			errs = append(errs, err)
		}
	}
	p.wg.Wait()
	if p.cg != nil {
		errs = append(errs, p.cg.remove())
	}
	p.closeFDs()
	return errors.Join(errs...)
}

// spawnReq asks the spawner goroutine to start a container init.
type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

// spawner starts every container init from one OS thread that never exits:
// Pdeathsig is tied to the thread that forked, not to the process, so a
// thread that Go retires would take the container down with it.
func (p *Pool) spawner() {
	runtime.LockOSThread()
	for {
		select {
		case r := <-p.spawnReq:
			r.done <- r.cmd.Start()
		case <-p.stop:
			return
		}
	}
}

// slot is one pre-forked container.
type slot struct {
	id   int
	pool *Pool

	cmd      *exec.Cmd
	c        *conn
	cg       *slotCgroup
	in       chan inMsg     // messages from the init
	dead     chan struct{}  // closed when the control socket fails (init gone)
	stderr   *limitedBuffer // the init's own diagnostics
	baseMem  int64          // the idle init's memory charge
	basePids int            // the init's own tasks (threads) in the pids cgroup
	broken   bool           // must be replaced before the next use
	// pendingAcks counts resets sent but not yet acknowledged: Release does
	// not wait for the wipe, the next user of the slot collects the answer
	// (the init handles messages in order, and refuses files and runs after
	// a failed wipe).
	pendingAcks int
}

type inMsg struct {
	m   *msg
	fds []int
}

func (p *Pool) startSlot(ctx context.Context, id int) (*slot, error) {
	s := &slot{id: id, pool: p, in: make(chan inMsg, 8), dead: make(chan struct{}), stderr: &limitedBuffer{b: new(bytes.Buffer), max: 4096}}
	cg, err := p.cg.newSlot(fmt.Sprintf("slot-%d", id), p.opts.CPUsPerRun)
	if err != nil {
		return nil, unavailable("slot %d: %v", id, err)
	}
	s.cg = cg
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		cg.remove()
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	host, child := os.NewFile(uintptr(fds[0]), "ctl-host"), os.NewFile(uintptr(fds[1]), "ctl-init")
	defer child.Close()
	c, err := newConn(host)
	host.Close()
	if err != nil {
		cg.remove()
		return nil, err
	}
	s.c = c
	srcs, err := p.mountSources()
	if err != nil {
		s.closeAll()
		return nil, err
	}
	defer func() {
		for _, f := range srcs {
			f.Close()
		}
	}()
	hostUID := p.opts.HostUIDBase + 2*id
	cmd := &exec.Cmd{
		Path:       fmt.Sprintf("/proc/self/fd/%d", 4+len(srcs)),
		Args:       []string{"codebuddy-sandbox-init"},
		Env:        []string{initMarker + "=1"},
		Dir:        "/",
		ExtraFiles: append(append([]*os.File{child}, srcs...), p.exe),
		Stderr:     s.stderr,
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWPID | syscall.CLONE_NEWNET |
				syscall.CLONE_NEWNS | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS,
			UidMappings: []syscall.SysProcIDMap{
				{ContainerID: insideRoot, HostID: hostUID, Size: 1},
				{ContainerID: insideUID, HostID: hostUID + 1, Size: 1},
			},
			GidMappings: []syscall.SysProcIDMap{
				{ContainerID: insideRoot, HostID: hostUID, Size: 1},
				{ContainerID: insideGID, HostID: hostUID + 1, Size: 1},
			},
			GidMappingsEnableSetgroups: true,
			// The new process is still host root (kuid 0), which the maps
			// leave unmapped; becoming root of the new namespace turns it
			// into host uid hostUID with capabilities only inside.
			Credential: &syscall.Credential{Uid: insideRoot, Gid: insideRoot, Groups: []uint32{}},
			Pdeathsig:  syscall.SIGKILL,
		},
	}
	s.cmd = cmd
	done := make(chan error, 1)
	select {
	case p.spawnReq <- spawnReq{cmd: cmd, done: done}:
	case <-p.stop:
		s.closeAll()
		return nil, errors.New("pool closed")
	}
	if err := <-done; err != nil {
		s.closeAll()
		return nil, unavailable("start container: %v", err)
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		cmd.Wait()
	}()
	go s.readLoop()
	if err := cg.addProc(cmd.Process.Pid); err != nil {
		s.destroy()
		return nil, unavailable("join cgroup: %v", err)
	}
	if err := c.send(&msg{Op: opSetup, Setup: &p.setup}); err != nil {
		s.destroy()
		return nil, fmt.Errorf("send setup: %w", err)
	}
	m, err := s.await(ctx, 20*time.Second, opReady)
	if err != nil || m.Err != "" {
		why := ""
		if m != nil {
			why = m.Err
		} else {
			why = err.Error()
		}
		s.destroy()
		return nil, unavailable("container setup failed: %s %s", why, strings.TrimSpace(s.stderr.String()))
	}
	// A first run brings the init's threads and memory to their steady
	// state, which is then subtracted from every run's budget.
	if _, err := s.exec(ctx, Cmd{Args: []string{"/bin/true"}, Limits: p.opts.MaxLimits}); err != nil {
		s.destroy()
		return nil, unavailable("warm-up run failed: %v", err)
	}
	s.baseMem, _ = cg.memoryUsage()
	if pids, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", cmd.Process.Pid)); err == nil {
		s.basePids = len(pids)
	}
	return s, nil
}

// initPidsHeadroom is how many more tasks than its steady state the init may
// start during a run (Go runtime threads).
const initPidsHeadroom = 16

// readLoop forwards the init's messages; its end means the init is gone.
func (s *slot) readLoop() {
	defer close(s.dead)
	for {
		m, fds, err := s.c.recv()
		if err != nil {
			return
		}
		s.in <- inMsg{m, fds}
	}
}

// await waits for the next message of kind want.
func (s *slot) await(ctx context.Context, timeout time.Duration, want op) (*msg, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		select {
		case im := <-s.in:
			closeFDs(im.fds)
			if s.resetAck(im.m) {
				continue
			}
			if im.m.Op == want {
				return im.m, nil
			}
		case <-s.dead:
			return nil, errors.New("sandbox init exited")
		case <-t.C:
			return nil, fmt.Errorf("sandbox init did not answer %s in %v", want, timeout)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// resetAck consumes the answer to an earlier reset, if m is one.
func (s *slot) resetAck(m *msg) bool {
	if m.Op != opAck || s.pendingAcks == 0 {
		return false
	}
	s.pendingAcks--
	if m.Err != "" {
		s.pool.log.Warn("sandbox slot reset failed; it will be replaced", "slot", s.id, "err", m.Err)
		s.broken = true
	}
	return true
}

func (s *slot) closeAll() {
	if s.c != nil {
		s.c.close()
	}
	if s.cg != nil {
		s.cg.remove()
	}
}

// destroy kills the container and removes its cgroup.
func (s *slot) destroy() error {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
	}
	if s.c != nil {
		s.c.close()
	}
	if s.cg == nil {
		return nil
	}
	s.cg.killAll()
	err := s.cg.remove()
	s.cg = nil
	return err
}

// Box is a pool slot held by one job. Its work directory persists between
// the Runs of one job (compile, then run) and is wiped on Release.
type Box struct {
	p    *Pool
	s    *slot
	dir  string // unisolated mode: the host directory standing for /box
	done bool
}

// Acquire waits for a free slot.
func (p *Pool) Acquire(ctx context.Context) (*Box, error) {
	select {
	case s := <-p.free:
		if p.opts.Unisolated {
			dir, err := os.MkdirTemp("", "codebuddy-box-")
			if err != nil {
				p.free <- s
				return nil, err
			}
			return &Box{p: p, s: s, dir: dir}, nil
		}
		select {
		case <-s.dead: // the init died while idle (killed from outside)
			s.broken = true
		default:
		}
		if s.broken {
			ns, err := p.replace(ctx, s)
			if err != nil {
				return nil, err
			}
			s = ns
		}
		return &Box{p: p, s: s}, nil
	case <-p.stop:
		return nil, errors.New("sandbox pool closed")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// replace destroys a broken slot and starts its successor. On failure the
// slot's place is kept (marked broken) so the pool never shrinks.
func (p *Pool) replace(ctx context.Context, s *slot) (*slot, error) {
	s.destroy()
	ns, err := p.startSlot(ctx, s.id)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil || p.closed {
		if ns != nil {
			ns.destroy()
		}
		p.free <- s
		if err == nil {
			err = errors.New("sandbox pool closed")
		}
		p.log.Error("sandbox slot could not be restarted", "slot", s.id, "err", err)
		return nil, err
	}
	for i := range p.slots {
		if p.slots[i] == s {
			p.slots[i] = ns
		}
	}
	p.log.Info("sandbox slot restarted", "slot", s.id)
	return ns, nil
}

// Release wipes the box and returns its slot to the pool.
func (b *Box) Release() {
	if b.done {
		return
	}
	b.done = true
	if b.p.opts.Unisolated {
		os.RemoveAll(b.dir)
		b.p.free <- b.s
		return
	}
	if !b.s.broken {
		if err := b.s.c.send(&msg{Op: opReset}); err != nil {
			b.s.broken = true
		} else {
			b.s.pendingAcks++
		}
	}
	b.p.free <- b.s
}

// WriteFiles puts files into the work directory.
func (b *Box) WriteFiles(files []File) error {
	if b.done {
		return errors.New("box already released")
	}
	for _, f := range files {
		if err := ValidatePath(f.Path); err != nil {
			return err
		}
	}
	if b.p.opts.Unisolated {
		for _, f := range files {
			p := filepath.Join(b.dir, f.Path)
			os.MkdirAll(filepath.Dir(p), 0o755)
			mode := os.FileMode(f.Mode & 0o777)
			if mode == 0 {
				mode = 0o644
			}
			if err := os.WriteFile(p, f.Content, mode); err != nil {
				return err
			}
		}
		return nil
	}
	for _, f := range files {
		data := f.Content
		first := true
		for first || len(data) > 0 {
			n := min(len(data), chunkSize)
			if err := b.s.c.send(&msg{Op: opFile, Path: f.Path, Mode: f.Mode, Data: data[:n], Append: !first}); err != nil {
				b.s.broken = true
				return fmt.Errorf("write %s: %w", f.Path, err)
			}
			m, err := b.s.await(context.Background(), 10*time.Second, opAck)
			if err != nil {
				b.s.broken = true
				return fmt.Errorf("write %s: %w", f.Path, err)
			}
			if m.Err != "" {
				return fmt.Errorf("write %s: %s", f.Path, m.Err)
			}
			data = data[n:]
			first = false
		}
	}
	return nil
}

// Run starts cmd in the box and waits for it and every process it started.
// The verdict is in Result.Status; the error is non-nil only together with
// StatusInternalError and says what went wrong on the host's side.
// Cancelling ctx kills the run (StatusCancelled).
func (b *Box) Run(ctx context.Context, cmd Cmd) (Result, error) {
	if b.done {
		return Result{Status: StatusInternalError, Reason: "box released"}, errors.New("box already released")
	}
	if len(cmd.Args) == 0 {
		return Result{Status: StatusInternalError, Reason: "empty command"}, errors.New("empty command")
	}
	cmd.Limits = cmd.Limits.Clamp(b.p.opts.MaxLimits)
	if b.p.opts.Unisolated {
		return runUnisolated(ctx, b.dir, cmd)
	}
	if b.s.broken {
		return Result{Status: StatusInternalError, Reason: "sandbox slot broken"}, errors.New("sandbox slot broken")
	}
	res, err := b.s.exec(ctx, cmd)
	if errors.Is(err, errSlotLost) {
		b.s.broken = true
		return res, nil
	}
	if err != nil {
		// A command that could not start says nothing about the slot;
		// anything else might have left it in an unknown state.
		if !errors.Is(err, errNotStarted) || strings.Contains(err.Error(), errTaintedText) {
			b.s.broken = true
		}
		res.Status = StatusInternalError
		if res.Reason == "" {
			res.Reason = err.Error()
		}
	}
	return res, err
}

var errNotStarted = errors.New("program did not start")

// errSlotLost accompanies a verdict that stands although the container died.
var errSlotLost = errors.New("sandbox container lost")

// errTaintedText is the init's refusal after a failed wipe.
const errTaintedText = "could not be wiped"

func defaultEnv(env []string) []string {
	has := func(k string) bool {
		for _, kv := range env {
			if strings.HasPrefix(kv, k+"=") {
				return true
			}
		}
		return false
	}
	out := append([]string(nil), env...)
	for _, kv := range []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + boxDir, "TMPDIR=/tmp", "LANG=C.UTF-8", "USER=sandbox"} {
		k, _, _ := strings.Cut(kv, "=")
		if !has(k) {
			out = append(out, kv)
		}
	}
	return out
}

// runState gathers what the goroutines of one run observe.
type runState struct {
	mu     sync.Mutex
	killed bool
	why    Status // the limit that made us kill, or cancelled
	reason string
	killCh chan struct{}
	stdout capture
	stderr capture
}

func (r *runState) kill(why Status, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.killed {
		return
	}
	r.killed, r.why, r.reason = true, why, reason
	close(r.killCh)
}

// capture keeps up to max bytes of a stream.
type capture struct {
	buf       []byte
	max       int64
	truncated bool
}

func (s *slot) exec(ctx context.Context, cmd Cmd) (Result, error) {
	lim := cmd.Limits
	// The program's own uid is held to lim.Pids tasks by RLIMIT_NPROC, so a
	// fork bomb cannot take the headroom above it: the init can still start
	// the threads it needs (without them it dies and the run reads as an
	// internal error instead of a contained bomb).
	before, err := s.cg.prepare(lim.Memory+s.baseMem, lim.Pids+s.basePids+initPidsHeadroom)
	if err != nil {
		return Result{Status: StatusInternalError}, fmt.Errorf("prepare cgroup: %w", err)
	}
	var pipes [6]*os.File // stdin r,w; stdout r,w; stderr r,w
	for i := 0; i < 6; i += 2 {
		r, w, err := os.Pipe()
		if err != nil {
			for _, f := range pipes[:i] {
				f.Close()
			}
			return Result{Status: StatusInternalError}, err
		}
		pipes[i], pipes[i+1] = r, w
	}
	stdinW, stdoutR, stderrR := pipes[1], pipes[2], pipes[4]
	cpuSecs := int((lim.CPUTime+time.Second-1)/time.Second) + 1
	m := &msg{Op: opRun, Args: cmd.Args, Env: defaultEnv(cmd.Env), Dir: cmd.Dir, FSize: lim.FileSize, NoFile: lim.OpenFiles, CPUSecs: cpuSecs, Pids: lim.Pids}
	start := time.Now()
	err = s.c.send(m, int(pipes[0].Fd()), int(pipes[3].Fd()), int(pipes[5].Fd()))
	pipes[0].Close()
	pipes[3].Close()
	pipes[5].Close()
	if err != nil {
		stdinW.Close()
		stdoutR.Close()
		stderrR.Close()
		return Result{Status: StatusInternalError}, fmt.Errorf("send run: %w", err)
	}
	rs := &runState{killCh: make(chan struct{})}
	rs.stdout.max, rs.stderr.max = lim.Stdout, lim.Stderr
	var readers sync.WaitGroup
	readers.Add(2)
	go readStream(&readers, rs, stdoutR, &rs.stdout, Stdout, cmd.OnOutput)
	go readStream(&readers, rs, stderrR, &rs.stderr, Stderr, cmd.OnOutput)
	go feedStdin(stdinW, cmd.Stdin)

	wall := time.NewTimer(lim.WallTime)
	defer wall.Stop()
	// CPU time is enforced from the cgroup's total, so that several busy
	// processes cannot each use the full budget; RLIMIT_CPU is the backstop.
	tick := time.NewTicker(cpuPollInterval(lim.CPUTime))
	defer tick.Stop()
	var exited *msg
	killCh := rs.killCh
	killSent := false
	var killDeadline <-chan time.Time
	for exited == nil {
		select {
		case im := <-s.in:
			closeFDs(im.fds)
			if !s.resetAck(im.m) && im.m.Op == opExited {
				exited = im.m
			}
		case <-s.dead:
			rs.kill(StatusInternalError, "sandbox init exited")
			exited = &msg{}
		case <-wall.C:
			rs.kill(StatusTimeLimit, "wall time limit")
		case <-tick.C:
			if cpu, err := s.cg.cpuUsage(); err == nil && cpu-before.cpu > lim.CPUTime {
				rs.kill(StatusTimeLimit, "cpu time limit")
			}
		case <-ctx.Done():
			rs.kill(StatusCancelled, "cancelled")
		case <-killCh:
			killCh = nil // fired once; the kill goes out below
		case <-killDeadline:
			// The init did not report within a grace period: kill the
			// whole container; the slot is replaced before its next use.
			s.broken = true
			s.cmd.Process.Kill()
			s.cg.killAll()
			exited = &msg{}
		}
		rs.mu.Lock()
		needKill := rs.killed && !killSent
		rs.mu.Unlock()
		if needKill && exited == nil {
			killSent = true
			if s.c.send(&msg{Op: opKill}) != nil {
				s.broken = true
			}
			killDeadline = time.After(3 * time.Second)
		}
	}
	elapsed := time.Since(start)
	readersDone := make(chan struct{})
	go func() { readers.Wait(); close(readersDone) }()
	select {
	case <-readersDone:
	case <-time.After(2 * time.Second):
		// Only possible if something outside the container holds the
		// pipe: close our ends so the readers stop.
		s.broken = true
		stdoutR.Close()
		stderrR.Close()
		<-readersDone
	}
	stdoutR.Close()
	stderrR.Close()
	stdinW.Close()

	if exited.Err != "" {
		// The program never started (exec failed, or the box is tainted).
		return Result{Status: StatusInternalError, Reason: exited.Err, Stdout: []byte{}, Stderr: []byte{}, ExitCode: -1},
			fmt.Errorf("%w: %s", errNotStarted, exited.Err)
	}
	after, cgErr := s.cg.read()
	res := Result{
		Stdout: rs.stdout.buf, Stderr: rs.stderr.buf,
		StdoutTruncated: rs.stdout.truncated, StderrTruncated: rs.stderr.truncated,
		Time: elapsed, CPUTime: after.cpu - before.cpu, MemoryBytes: exited.MaxRSSKb * 1024,
		ExitCode: -1,
	}
	if res.Stdout == nil {
		res.Stdout = []byte{}
	}
	if res.Stderr == nil {
		res.Stderr = []byte{}
	}
	ws := unix.WaitStatus(exited.WaitStatus)
	if exited.Op == opExited {
		if ws.Exited() {
			res.ExitCode = ws.ExitStatus()
		} else if ws.Signaled() {
			res.Signal = unix.SignalName(ws.Signal())
		}
	}
	oom := after.oomKills > before.oomKills ||
		(!after.hasOOMKill && after.memFailcnt > before.memFailcnt && ws.Signaled() && ws.Signal() == unix.SIGKILL && !rs.killed)
	rs.mu.Lock()
	killed, why, reason := rs.killed, rs.why, rs.reason
	rs.mu.Unlock()
	switch {
	case killed && why == StatusCancelled:
		res.Status, res.Reason = StatusCancelled, reason
	case oom:
		// Also when the OOM killer chose the init itself (the program's
		// memory spread over many small processes): the verdict is the
		// program's, and the dead slot is replaced before its next use.
		res.Status, res.Reason = StatusMemoryLimit, "out of memory (cgroup OOM kill)"
		if killed && why == StatusInternalError {
			return res, fmt.Errorf("%w: %s", errSlotLost, reason)
		}
	case killed && why == StatusInternalError:
		res.Status, res.Reason = StatusInternalError, reason
		return res, errors.New(reason)
	case killed:
		res.Status, res.Reason = why, reason
	case ws.Signaled() && ws.Signal() == unix.SIGXCPU:
		res.Status, res.Reason = StatusTimeLimit, "cpu time limit (RLIMIT_CPU)"
	case ws.Signaled() && ws.Signal() == unix.SIGXFSZ:
		res.Status, res.Reason = StatusOutputLimit, "file size limit"
	case exited.Op != opExited:
		res.Status, res.Reason = StatusInternalError, "no exit status"
		return res, errors.New(res.Reason)
	case ws.Exited() && ws.ExitStatus() == 0:
		res.Status = StatusOK
	default:
		res.Status = StatusRuntimeError
	}
	if cgErr != nil && res.Status == StatusOK {
		// The verdict stands; the measurements may be incomplete.
		s.pool.log.Warn("read cgroup counters", "slot", s.id, "err", cgErr)
	}
	return res, nil
}

func cpuPollInterval(limit time.Duration) time.Duration {
	return min(max(limit/100, 5*time.Millisecond), 50*time.Millisecond)
}

func readStream(wg *sync.WaitGroup, rs *runState, f *os.File, c *capture, stream Stream, onOutput func(Stream, []byte)) {
	defer wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := f.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			room := c.max - int64(len(c.buf))
			if int64(n) > room {
				chunk = chunk[:max(room, 0)]
				if !c.truncated {
					c.truncated = true
					rs.kill(StatusOutputLimit, string(stream)+" limit")
				}
			}
			if len(chunk) > 0 {
				c.buf = append(c.buf, chunk...)
				if onOutput != nil {
					onOutput(stream, bytes.Clone(chunk))
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// feedStdin copies the caller's input to the program, then closes its
// input. A program that exits without reading makes the write fail (EPIPE),
// which ends the copy.
func feedStdin(w *os.File, r io.Reader) {
	defer w.Close()
	if r == nil {
		return
	}
	io.Copy(w, r)
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	b   *bytes.Buffer
	max int
}

func (l *limitedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := l.max - l.b.Len(); room > 0 {
		l.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
