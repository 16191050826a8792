package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/cgroups"
	"golang.org/x/sys/unix"
)

// cgroupRoot is the per-pool parent cgroup: one directory per controller
// (v1) or one directory (v2), nested under the server's own cgroup so that
// sandboxed programs stay inside whatever envelope the operator gave the
// server (a systemd unit, a container).
type cgroupRoot struct {
	v2    bool
	dirs  map[string]string // controller ("memory", "pids", "cpu", "cpuacct"; "" for v2) -> directory
	memsw bool              // v1 memory+swap accounting available
}

// v1Controllers are the v1 hierarchies a slot joins.
var v1Controllers = []string{"memory", "pids", "cpu", "cpuacct"}

// newCgroupRoot detects the cgroup version and creates the pool's parent
// cgroup named name in every needed hierarchy.
func newCgroupRoot(name string) (*cgroupRoot, error) {
	own, err := cgroups.ParseCgroupFile("/proc/self/cgroup")
	if err != nil {
		return nil, unavailable("read /proc/self/cgroup: %v", err)
	}
	if cgroups.IsCgroup2UnifiedMode() {
		return newCgroupRootV2(name, own[""])
	}
	mounts, err := cgroups.GetCgroupMounts(false)
	if err != nil {
		return nil, unavailable("find cgroup v1 mounts: %v", err)
	}
	r := &cgroupRoot{dirs: map[string]string{}}
	for _, ctrl := range v1Controllers {
		var mnt *cgroups.Mount
		for i := range mounts {
			for _, s := range mounts[i].Subsystems {
				if s == ctrl {
					mnt = &mounts[i]
				}
			}
		}
		if mnt == nil {
			return nil, unavailable("cgroup v1 controller %q is not mounted", ctrl)
		}
		rel, err := filepath.Rel(mnt.Root, own[ctrl])
		if err != nil || strings.HasPrefix(rel, "..") {
			rel = "."
		}
		removeStale(filepath.Join(mnt.Mountpoint, rel))
		dir := filepath.Join(mnt.Mountpoint, rel, name)
		if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
			r.remove()
			return nil, unavailable("create cgroup %s: %v", dir, err)
		}
		r.dirs[ctrl] = dir
	}
	_, err = os.Stat(filepath.Join(r.dirs["memory"], "memory.memsw.limit_in_bytes"))
	r.memsw = err == nil
	return r, nil
}

func newCgroupRootV2(name, own string) (*cgroupRoot, error) {
	parent := filepath.Join("/sys/fs/cgroup", own)
	need := []string{"memory", "pids", "cpu"}
	avail, err := os.ReadFile(filepath.Join(parent, "cgroup.controllers"))
	if err != nil {
		return nil, unavailable("read cgroup v2 controllers: %v", err)
	}
	for _, c := range need {
		if !strings.Contains(" "+strings.TrimSpace(string(avail))+" ", " "+c+" ") {
			return nil, unavailable("cgroup v2 controller %q is not delegated to %s", c, parent)
		}
	}
	enable := "+memory +pids +cpu"
	// A v2 cgroup that holds processes cannot enable controllers for its
	// children ("no internal processes"); the operator must delegate a
	// subtree (systemd Delegate=yes) with the server in a leaf below it.
	if err := os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte(enable), 0); err != nil {
		// The server itself sits in parent: move it into a leaf of its own,
		// as container runtimes' init does, and try again.
		leaf := filepath.Join(parent, "codebuddy-server")
		if e := os.Mkdir(leaf, 0o755); e != nil && !os.IsExist(e) {
			return nil, unavailable("enable cgroup v2 controllers in %s: %v (delegate a cgroup subtree to the server)", parent, err)
		}
		if e := cgroups.WriteCgroupProc(leaf, os.Getpid()); e != nil {
			return nil, unavailable("enable cgroup v2 controllers in %s: %v; moving the server to %s: %v", parent, err, leaf, e)
		}
		if err := os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte(enable), 0); err != nil {
			return nil, unavailable("enable cgroup v2 controllers in %s: %v (other processes share the server's cgroup; delegate a subtree, e.g. systemd Delegate=yes)", parent, err)
		}
	}
	removeStale(parent)
	dir := filepath.Join(parent, name)
	if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
		return nil, unavailable("create cgroup %s: %v", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte(enable), 0); err != nil {
		os.Remove(dir)
		return nil, unavailable("enable cgroup v2 controllers in %s: %v", dir, err)
	}
	return &cgroupRoot{v2: true, dirs: map[string]string{"": dir}}, nil
}

// removeStale deletes the cgroups of pools whose server process is gone
// (killed without Close). Their containers died with the server (Pdeathsig),
// so the directories are empty.
func removeStale(parent string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, "codebuddy-*-*"))
	for _, d := range dirs {
		var pid int
		if _, err := fmt.Sscanf(filepath.Base(d), "codebuddy-%d-", &pid); err != nil || pid <= 0 {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil {
			continue
		}
		slots, _ := filepath.Glob(filepath.Join(d, "slot-*"))
		for _, sl := range slots {
			unix.Rmdir(sl)
		}
		unix.Rmdir(d)
	}
}

func (r *cgroupRoot) version() string {
	if r.v2 {
		return "v2"
	}
	return "v1"
}

// remove deletes the pool's parent cgroups; their slots must be gone.
func (r *cgroupRoot) remove() error {
	var errs []error
	for _, d := range r.dirs {
		if err := rmdirRetry(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// slotCgroup is the long-lived cgroup of one pool slot.
type slotCgroup struct {
	root *cgroupRoot
	dirs map[string]string

	// limits last written, to skip writes that change nothing
	mem  int64
	pids int
}

func (r *cgroupRoot) newSlot(name string, cpus float64) (*slotCgroup, error) {
	s := &slotCgroup{root: r, dirs: map[string]string{}}
	for ctrl, parent := range r.dirs {
		dir := filepath.Join(parent, name)
		if err := os.Mkdir(dir, 0o755); err != nil && !os.IsExist(err) {
			s.remove()
			return nil, fmt.Errorf("create cgroup %s: %w", dir, err)
		}
		s.dirs[ctrl] = dir
	}
	period := 100000
	quota := int(cpus * float64(period))
	var err error
	if r.v2 {
		err = errors.Join(
			writeFile(s.dirs[""], "cpu.max", fmt.Sprintf("%d %d", quota, period)),
			writeFile(s.dirs[""], "memory.swap.max", "0"),
		)
	} else {
		err = errors.Join(
			writeFile(s.dirs["cpu"], "cpu.cfs_period_us", strconv.Itoa(period)),
			writeFile(s.dirs["cpu"], "cpu.cfs_quota_us", strconv.Itoa(quota)),
			// Keep the kernel's OOM killer on: it is what turns an
			// allocation past the limit into a counted kill.
			writeFile(s.dirs["memory"], "memory.oom_control", "0"),
			writeFile(s.dirs["memory"], "memory.swappiness", "0"),
		)
	}
	if err != nil {
		s.remove()
		return nil, err
	}
	return s, nil
}

// addProc moves pid (the slot's init) into the slot once; everything it
// forks later inherits the cgroup for free.
func (s *slotCgroup) addProc(pid int) error {
	for _, d := range s.dirs {
		if err := cgroups.WriteCgroupProc(d, pid); err != nil {
			return err
		}
	}
	return nil
}

func (s *slotCgroup) memDir() string {
	if s.root.v2 {
		return s.dirs[""]
	}
	return s.dirs["memory"]
}

func (s *slotCgroup) pidsDir() string {
	if s.root.v2 {
		return s.dirs[""]
	}
	return s.dirs["pids"]
}

// counters are read before and after a run; their difference is the run's.
type counters struct {
	oomKills   int64
	hasOOMKill bool  // the kernel reports OOM kills (v1 since 4.13)
	memFailcnt int64 // limit hits; the fallback where oomKills is missing
	cpu        time.Duration
}

// prepare sets the run's memory and pids limits and returns the counters
// at the start of the run.
func (s *slotCgroup) prepare(mem int64, pids int) (counters, error) {
	var errs []error
	if mem != s.mem {
		errs = append(errs, s.setMemory(mem))
		if errs[len(errs)-1] == nil {
			s.mem = mem
		}
	}
	if pids != s.pids {
		if err := writeFile(s.pidsDir(), "pids.max", strconv.Itoa(pids)); err != nil {
			errs = append(errs, err)
		} else {
			s.pids = pids
		}
	}
	c, err := s.read()
	errs = append(errs, err)
	return c, errors.Join(errs...)
}

func (s *slotCgroup) setMemory(mem int64) error {
	v := strconv.FormatInt(mem, 10)
	if s.root.v2 {
		return writeFile(s.dirs[""], "memory.max", v)
	}
	d := s.dirs["memory"]
	if !s.root.memsw {
		return writeFile(d, "memory.limit_in_bytes", v)
	}
	// memory.memsw.limit_in_bytes must never be below memory.limit_in_bytes:
	// lower the memory limit first when shrinking, raise memsw first when growing.
	if mem < s.mem || s.mem == 0 {
		if err := writeFile(d, "memory.limit_in_bytes", v); err != nil {
			// first call while memsw is still lower: raise memsw first
			if err2 := writeFile(d, "memory.memsw.limit_in_bytes", v); err2 != nil {
				return err
			}
			return writeFile(d, "memory.limit_in_bytes", v)
		}
		return writeFile(d, "memory.memsw.limit_in_bytes", v)
	}
	if err := writeFile(d, "memory.memsw.limit_in_bytes", v); err != nil {
		return err
	}
	return writeFile(d, "memory.limit_in_bytes", v)
}

func (s *slotCgroup) read() (counters, error) {
	var c counters
	var err error
	if s.root.v2 {
		ev, e1 := readKeyed(filepath.Join(s.dirs[""], "memory.events"))
		st, e2 := readKeyed(filepath.Join(s.dirs[""], "cpu.stat"))
		c.oomKills = ev["oom_kill"]
		_, c.hasOOMKill = ev["oom_kill"]
		c.memFailcnt = ev["max"]
		c.cpu = time.Duration(st["usage_usec"]) * time.Microsecond
		return c, errors.Join(e1, e2)
	}
	oc, e1 := readKeyed(filepath.Join(s.dirs["memory"], "memory.oom_control"))
	fc, e2 := readInt(filepath.Join(s.dirs["memory"], "memory.failcnt"))
	cpu, e3 := s.cpuUsage()
	c.oomKills, c.memFailcnt, c.cpu = oc["oom_kill"], fc, cpu
	_, c.hasOOMKill = oc["oom_kill"]
	err = errors.Join(e1, e2, e3)
	return c, err
}

// cpuUsage is the cgroup's total CPU time; cheap enough to poll.
func (s *slotCgroup) cpuUsage() (time.Duration, error) {
	if s.root.v2 {
		st, err := readKeyed(filepath.Join(s.dirs[""], "cpu.stat"))
		return time.Duration(st["usage_usec"]) * time.Microsecond, err
	}
	n, err := readInt(filepath.Join(s.dirs["cpuacct"], "cpuacct.usage"))
	return time.Duration(n), err
}

// memoryUsage is the current charge of the slot (its idle init, at rest).
func (s *slotCgroup) memoryUsage() (int64, error) {
	if s.root.v2 {
		return readInt(filepath.Join(s.dirs[""], "memory.current"))
	}
	return readInt(filepath.Join(s.dirs["memory"], "memory.usage_in_bytes"))
}

// procs lists the processes in the slot.
func (s *slotCgroup) procs() ([]int, error) {
	return cgroups.GetPids(s.pidsDir())
}

// killAll SIGKILLs every process of the slot from the host side; the last
// resort when the init does not answer.
func (s *slotCgroup) killAll() {
	if s.root.v2 {
		if writeFile(s.dirs[""], "cgroup.kill", "1") == nil {
			return
		}
	}
	for range 10 {
		pids, err := s.procs()
		if err != nil || len(pids) == 0 {
			return
		}
		for _, p := range pids {
			unix.Kill(p, unix.SIGKILL)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *slotCgroup) remove() error {
	var errs []error
	for _, d := range s.dirs {
		if err := rmdirRetry(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// rmdirRetry removes a cgroup directory, waiting briefly for killed
// processes to leave it (rmdir fails with EBUSY until they have).
func rmdirRetry(dir string) error {
	var err error
	for i := range 200 {
		err = unix.Rmdir(dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			break
		}
		time.Sleep(time.Duration(min(i+1, 20)) * time.Millisecond)
	}
	return fmt.Errorf("remove cgroup %s: %w", dir, err)
}

func writeFile(dir, name, v string) error {
	if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return -1, nil
	}
	return strconv.ParseInt(s, 10, 64)
}

// readKeyed parses "key value" lines (memory.events, cpu.stat, memory.oom_control).
func readKeyed(path string) (map[string]int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]int64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			out[k] = n
		}
	}
	return out, sc.Err()
}
