package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/codebuddy-dev/codebuddy/sandbox"
)

// TestSlotRecovery kills a container's init from the host while it is
// idle: the pool must notice and replace it, so every later run succeeds.
func TestSlotRecovery(t *testing.T) {
	testPool(t)
	p, err := sandbox.New(context.Background(), sandbox.Options{Slots: 1, HostUIDBase: 310000})
	if err != nil {
		t.Fatalf("sandbox unavailable: %v", err)
	}
	defer p.Close()
	inits := procsOfUID(310000)
	if len(inits) != 1 {
		t.Fatalf("want one container init, found %v", inits)
	}
	if err := syscall.Kill(inits[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	for i := range 3 {
		ctx := context.Background()
		b, err := p.Acquire(ctx)
		if err != nil {
			t.Fatalf("acquire %d: %v", i, err)
		}
		res, err := b.Run(ctx, sandbox.Cmd{Args: []string{"/bin/echo", "hi"}})
		b.Release()
		if err != nil || res.Status != sandbox.StatusOK || string(res.Stdout) != "hi\n" {
			t.Fatalf("run %d after the init was killed: %+v %v", i, res, err)
		}
	}
	if now := procsOfUID(310000); len(now) != 1 || now[0] == inits[0] {
		t.Fatalf("inits after recovery: %v (killed %d)", now, inits[0])
	}
}

// TestUnisolatedMode is the development switch: plain processes, same API.
func TestUnisolatedMode(t *testing.T) {
	p, err := sandbox.New(context.Background(), sandbox.Options{Slots: 1, Unisolated: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Info().Isolated {
		t.Fatal("unisolated pool claims isolation")
	}
	ctx := context.Background()
	b, err := p.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Release()
	if err := b.WriteFiles([]sandbox.File{{Path: "in.txt", Content: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	res, err := b.Run(ctx, sandbox.Cmd{Args: []string{"/bin/sh", "-c", "cat in.txt; exit 4"}})
	if err != nil || res.Status != sandbox.StatusRuntimeError || res.ExitCode != 4 || string(res.Stdout) != "x" {
		t.Fatalf("%+v %v", res, err)
	}
	res, _ = b.Run(ctx, sandbox.Cmd{Args: []string{"sleep", "5"}, Limits: sandbox.Limits{WallTime: 200 * time.Millisecond}})
	if res.Status != sandbox.StatusTimeLimit {
		t.Fatalf("%+v", res)
	}
}

// procsOfUID lists host processes whose real uid is uid.
func procsOfUID(uid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 1 && f[0] == "Uid:" && f[1] == fmt.Sprint(uid) {
				var pid int
				fmt.Sscan(e.Name(), &pid)
				out = append(out, pid)
			}
		}
	}
	return out
}
