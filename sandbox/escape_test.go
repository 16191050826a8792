package sandbox_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/codebuddy-dev/codebuddy/sandbox"
)

// TestEscapes runs hostile programs and checks each is contained with the
// right verdict while the host stays unaffected.
func TestEscapes(t *testing.T) {
	testPool(t)

	// Host state the programs try to reach.
	dataDir := t.TempDir()
	secret := "s3cret-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	secretFile := filepath.Join(dataDir, "codebuddy.db")
	if err := os.WriteFile(secretFile, []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	sentinel := exec.Command("/bin/sleep", "600")
	if err := sentinel.Start(); err != nil {
		t.Fatal(err)
	}
	defer sentinel.Process.Kill()
	hostEnviron, _ := os.ReadFile("/proc/1/environ")

	perlSyscall := func(nr int, args string) string {
		// perl's syscall() reaches any system call; $! is its errno.
		return `perl -e 'my $r = syscall(` + strconv.Itoa(nr) + args + `); print "r=$r err=$!\n"'`
	}
	cases := []struct {
		name   string
		script string
		lim    func(*sandbox.Limits)
		want   []sandbox.Status
		check  func(t *testing.T, res sandbox.Result)
	}{
		{name: "fork bomb", script: `bomb() { bomb | bomb & }; bomb; sleep 5`,
			want: []sandbox.Status{sandbox.StatusTimeLimit, sandbox.StatusRuntimeError}},
		{name: "memory bomb", script: `perl -e '$x = "a" x (512*1024*1024); print length($x)'`,
			want: []sandbox.Status{sandbox.StatusMemoryLimit}},
		{name: "memory spread over many processes", script: `for i in $(seq 24); do perl -e '$x = "a" x (8*1024*1024); sleep 10' & done; wait`,
			want: []sandbox.Status{sandbox.StatusMemoryLimit}},
		{name: "busy loops in several processes", script: `for i in 1 2 3 4; do (while :; do :; done) & done; wait`,
			lim:  func(l *sandbox.Limits) { l.WallTime = 20 * time.Second },
			want: []sandbox.Status{sandbox.StatusTimeLimit},
			check: func(t *testing.T, res sandbox.Result) {
				if res.Reason != "cpu time limit" || res.CPUTime < time.Second {
					t.Errorf("reason %q cpu %v, want the cpu time limit after >= 1s", res.Reason, res.CPUTime)
				}
			}},
		{name: "sleep past the wall limit", script: `sleep 100`,
			want: []sandbox.Status{sandbox.StatusTimeLimit},
			check: func(t *testing.T, res sandbox.Result) {
				if res.Reason != "wall time limit" || res.Time > 10*time.Second {
					t.Errorf("reason %q after %v", res.Reason, res.Time)
				}
			}},
		{name: "100 MB of output", script: `head -c 100000000 /dev/zero`,
			want: []sandbox.Status{sandbox.StatusOutputLimit},
			check: func(t *testing.T, res sandbox.Result) {
				if !res.StdoutTruncated || len(res.Stdout) != 64<<10 {
					t.Errorf("stdout %d bytes, truncated=%v; want exactly the 64 KiB cap", len(res.Stdout), res.StdoutTruncated)
				}
			}},
		{name: "one huge file", script: `exec dd if=/dev/zero of=/box/big bs=1M count=100`,
			want: []sandbox.Status{sandbox.StatusOutputLimit}},
		{name: "disk fill with many files", script: `for i in $(seq 40); do head -c 1000000 /dev/zero > /tmp/f$i || exit 9; done`,
			lim:  func(l *sandbox.Limits) { l.Memory = 128 << 20 },
			want: []sandbox.Status{sandbox.StatusRuntimeError},
			check: func(t *testing.T, res sandbox.Result) {
				if res.ExitCode != 9 || !bytes.Contains(res.Stderr, []byte("No space left")) {
					t.Errorf("exit %d, stderr %q; want ENOSPC", res.ExitCode, res.Stderr)
				}
			}},
		{name: "connect to the server's port", script: `exec 3<>/dev/tcp/127.0.0.1/` + port + ` && echo CONNECTED`,
			want: []sandbox.Status{sandbox.StatusRuntimeError}},
		{name: "connect outside", script: `exec 3<>/dev/tcp/1.1.1.1/80 && echo CONNECTED; /usr/sbin/ip link 2>/dev/null; cat /proc/net/dev`,
			want: []sandbox.Status{sandbox.StatusOK, sandbox.StatusRuntimeError},
			check: func(t *testing.T, res sandbox.Result) {
				if bytes.Contains(res.Stdout, []byte("CONNECTED")) {
					t.Error("connected to an outside address")
				}
				if bytes.Contains(res.Stdout, []byte("eth")) || !bytes.Contains(res.Stdout, []byte("lo:")) {
					t.Errorf("network devices visible: %s", res.Stdout)
				}
				if _, err := os.Stat("/usr/sbin/ip"); err == nil && !bytes.Contains(res.Stdout, []byte("<LOOPBACK> mtu 65536 qdisc noop state DOWN")) {
					t.Errorf("loopback is not down: %s", res.Stdout)
				}
			}},
		{name: "read the data dir", script: `cat ` + secretFile + `; ls ` + dataDir + `; ls /work /root; cat /etc/shadow`,
			want: []sandbox.Status{sandbox.StatusRuntimeError}},
		{name: "read host environ", script: `cat /proc/1/environ; for p in /proc/[0-9]*; do cat $p/environ; done; echo; ls /proc | grep -c '^[0-9]'`,
			want: []sandbox.Status{sandbox.StatusOK, sandbox.StatusRuntimeError},
			check: func(t *testing.T, res sandbox.Result) {
				if len(hostEnviron) > 0 && bytes.Contains(res.Stdout, hostEnviron[:min(len(hostEnviron), 40)]) {
					t.Error("host /proc/1/environ readable")
				}
			}},
		{name: "write to /usr", script: `echo x > /usr/pwned || touch /usr/bin/pwned || mkdir /etc/pwned`,
			want: []sandbox.Status{sandbox.StatusRuntimeError},
			check: func(t *testing.T, res sandbox.Result) {
				for _, p := range []string{"/usr/pwned", "/usr/bin/pwned", "/etc/pwned"} {
					if _, err := os.Stat(p); err == nil {
						t.Errorf("%s created on the host", p)
					}
				}
			}},
		{name: "background processes outlive the program", script: `(bash -c 'sleep 1000; true' "$0" &); nohup bash -c 'sleep 1000; true' "$0" >/dev/null 2>&1 & echo started`,
			want: []sandbox.Status{sandbox.StatusOK},
			check: func(t *testing.T, res sandbox.Result) {
				if res.Time > 2*time.Second {
					t.Errorf("the run waited %v for its background processes", res.Time)
				}
			}},
		{name: "host-wide proc files", script: `echo b > /proc/sysrq-trigger; echo 3 > /proc/sys/vm/drop_caches; echo 1 > /proc/sys/kernel/sysrq`,
			want: []sandbox.Status{sandbox.StatusRuntimeError}},
		{name: "kill -9 -1", script: `kill -9 -1; kill -9 1; echo still-here`,
			want: []sandbox.Status{sandbox.StatusOK, sandbox.StatusRuntimeError}},
		{name: "ptrace", script: perlSyscall(101, ", 0, 1, 0, 0") + `; strace -f true 2>&1 | head -3`,
			want: []sandbox.Status{sandbox.StatusOK},
			check: func(t *testing.T, res sandbox.Result) {
				if !bytes.Contains(res.Stdout, []byte("r=-1 err=Operation not permitted")) {
					t.Errorf("ptrace not denied: %s", res.Stdout)
				}
			}},
		{name: "mount", script: `perl -e 'my ($s, $t, $f) = ("none", "/tmp", "tmpfs"); my $r = syscall(165, $s, $t, $f, 0, 0); print "r=$r err=$!\n"'` + `; mount -t tmpfs none /box 2>&1; grep -c box /proc/mounts`,
			want: []sandbox.Status{sandbox.StatusOK},
			check: func(t *testing.T, res sandbox.Result) {
				if !bytes.Contains(res.Stdout, []byte("r=-1 err=Operation not permitted")) {
					t.Errorf("mount not denied: %s", res.Stdout)
				}
			}},
		{name: "unshare", script: perlSyscall(272, ", 0x10000000") + `; unshare -Ur id 2>&1; unshare -n true 2>&1; echo done`,
			want: []sandbox.Status{sandbox.StatusOK},
			check: func(t *testing.T, res sandbox.Result) {
				if !bytes.Contains(res.Stdout, []byte("r=-1 err=Operation not permitted")) || bytes.Contains(res.Stdout, []byte("uid=0")) {
					t.Errorf("unshare not denied: %s", res.Stdout)
				}
			}},
		{name: "setuid(0)", script: perlSyscall(105, ", 0") + `; id -u`,
			want: []sandbox.Status{sandbox.StatusOK},
			check: func(t *testing.T, res sandbox.Result) {
				if !bytes.Contains(res.Stdout, []byte("r=-1 err=Operation not permitted\n1000\n")) {
					t.Errorf("setuid not denied: %s", res.Stdout)
				}
			}},
		{name: "bpf keyctl perf io_uring", script: perlSyscall(321, ", 0, 0, 0") + `;` + perlSyscall(250, ", 0") + `;` +
			perlSyscall(298, ", 0, 0, -1, -1, 0") + `;` + perlSyscall(425, ", 1, 0"),
			want: []sandbox.Status{sandbox.StatusOK},
			check: func(t *testing.T, res sandbox.Result) {
				if n := bytes.Count(res.Stdout, []byte("err=Operation not permitted")); n != 4 {
					t.Errorf("%d of 4 calls denied: %s", n, res.Stdout)
				}
			}},
	}
	// The group returns only when all its parallel cases have finished.
	t.Run("group", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				lim := small()
				if tc.lim != nil {
					tc.lim(&lim)
				}
				res := runScript(t, tc.script, lim)
				expect(t, res, tc.want...)
				if bytes.Contains(res.Stdout, []byte(secret)) || bytes.Contains(res.Stdout, []byte("CONNECTED")) ||
					bytes.Contains(res.Stdout, []byte("root:")) && tc.name == "read the data dir" {
					t.Errorf("host data leaked: %s", res.Stdout)
				}
				if tc.check != nil {
					tc.check(t, res)
				}
			})
		}
	})
	t.Run("host unaffected", func(t *testing.T) {
		if err := sentinel.Process.Signal(syscall.Signal(0)); err != nil {
			t.Errorf("host sentinel process died: %v", err)
		}
		if b, err := os.ReadFile(secretFile); err != nil || string(b) != secret {
			t.Errorf("host file changed: %q %v", b, err)
		}
		select {
		case c := <-accepted:
			c.Close()
			t.Error("the test's listener got a connection from the sandbox")
		default:
		}
	})
}

func TestRunBasics(t *testing.T) {
	p := testPool(t)
	ctx := context.Background()

	t.Run("exit code, streams, files persist within a box", func(t *testing.T) {
		t.Parallel()
		b, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Release()
		if err := b.WriteFiles([]sandbox.File{{Path: "dir/in.txt", Content: []byte("hello\n")}}); err != nil {
			t.Fatal(err)
		}
		res, err := b.Run(ctx, sandbox.Cmd{Args: []string{"/bin/sh", "-c", "cat dir/in.txt; cp dir/in.txt out.txt; echo oops >&2; exit 7"}, Limits: small()})
		if err != nil || res.Status != sandbox.StatusRuntimeError || res.ExitCode != 7 ||
			string(res.Stdout) != "hello\n" || string(res.Stderr) != "oops\n" {
			t.Fatalf("%+v %v", res, err)
		}
		res, err = b.Run(ctx, sandbox.Cmd{Args: []string{"cat", "out.txt"}, Limits: small()})
		if err != nil || res.Status != sandbox.StatusOK || string(res.Stdout) != "hello\n" || res.ExitCode != 0 {
			t.Fatalf("second run in the same box: %+v %v", res, err)
		}
	})
	t.Run("work dir wiped between boxes", func(t *testing.T) {
		t.Parallel()
		for range 2 * testSlots {
			res := runScript(t, `ls -A /box /tmp /dev/shm | grep -v '^/' | grep . && exit 1; touch /box/left /tmp/left /dev/shm/left; exit 0`, small())
			expect(t, res, sandbox.StatusOK)
		}
	})
	t.Run("devices and identity", func(t *testing.T) {
		t.Parallel()
		res := runScript(t, `echo x > /dev/null && head -c 4 /dev/urandom | wc -c && head -c 3 /dev/zero | wc -c && id -u && hostname && ls /etc && test ! -e /etc/shadow`, small())
		if res.Status != sandbox.StatusOK || !strings.HasPrefix(string(res.Stdout), "4\n3\n1000\ncodebuddy\n") {
			t.Fatalf("%+v\n%s", res, res.Stderr)
		}
	})
	t.Run("command that does not exist", func(t *testing.T) {
		t.Parallel()
		b, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Release()
		res, err := b.Run(ctx, sandbox.Cmd{Args: []string{"/no/such/compiler"}, Limits: small()})
		if err == nil || res.Status != sandbox.StatusInternalError || !strings.Contains(res.Reason, "/no/such/compiler") {
			t.Fatalf("%+v %v", res, err)
		}
		res, err = b.Run(ctx, sandbox.Cmd{Args: []string{"/bin/true"}, Limits: small()})
		if err != nil || res.Status != sandbox.StatusOK {
			t.Fatalf("the box is unusable after a failed start: %+v %v", res, err)
		}
	})
	t.Run("signal", func(t *testing.T) {
		t.Parallel()
		res := runScript(t, `kill -SEGV $$`, small())
		if res.Status != sandbox.StatusRuntimeError || res.Signal != "SIGSEGV" {
			t.Fatalf("%+v", res)
		}
	})
	t.Run("stdin and live output", func(t *testing.T) {
		t.Parallel()
		b, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Release()
		pr, pw := newPipe()
		defer pw.Close()
		chunks := make(chan string, 16)
		done := make(chan sandbox.Result, 1)
		go func() {
			res, _ := b.Run(ctx, sandbox.Cmd{
				Args:   []string{"/bin/sh", "-c", `while read l; do echo "got $l"; done; echo end`},
				Stdin:  pr,
				Limits: small(),
				OnOutput: func(s sandbox.Stream, d []byte) {
					chunks <- string(s) + ":" + string(d)
				},
			})
			done <- res
		}()
		// Each line is answered before the next is sent: output streams
		// while the program runs, and input arrives while it runs.
		for _, l := range []string{"a", "b"} {
			pw.Write([]byte(l + "\n"))
			select {
			case c := <-chunks:
				if c != "stdout:got "+l+"\n" {
					t.Fatalf("chunk %q", c)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("no live output")
			}
		}
		pw.Close()
		res := <-done
		if res.Status != sandbox.StatusOK || string(res.Stdout) != "got a\ngot b\nend\n" {
			t.Fatalf("%+v", res)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		t.Parallel()
		b, err := p.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Release()
		cctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		res, err := b.Run(cctx, sandbox.Cmd{Args: []string{"sleep", "30"}, Limits: small()})
		if err != nil || res.Status != sandbox.StatusCancelled || res.Time > 2*time.Second {
			t.Fatalf("%+v %v", res, err)
		}
	})
	t.Run("bad paths", func(t *testing.T) {
		t.Parallel()
		for _, p := range []string{"", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", strings.Repeat("x", 300)} {
			if err := sandbox.ValidatePath(p); err == nil {
				t.Errorf("path %q accepted", p)
			}
		}
	})
}

func TestProtectedMounts(t *testing.T) {
	testPool(t)
	dir := t.TempDir()
	for _, m := range []string{"/", "/root", dir, filepath.Dir(dir)} {
		_, err := sandbox.New(context.Background(), sandbox.Options{Slots: 1, Mounts: []string{m}, ProtectedPaths: []string{dir}})
		if !errors.Is(err, sandbox.ErrUnavailable) {
			t.Errorf("mount %s: err %v, want ErrUnavailable", m, err)
		}
	}
}

func newPipe() (*os.File, *os.File) {
	r, w, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	return r, w
}
