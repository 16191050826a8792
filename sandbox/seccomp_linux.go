package sandbox

import (
	seccomp "github.com/elastic/go-seccomp-bpf"
	"golang.org/x/sys/unix"
)

// Namespace-creating clone flags. CLONE_NEWTIME shares its bit with the exit
// signal field of clone(2), so it is only meaningful to unshare and clone3.
const nsCloneFlags = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS |
	unix.CLONE_NEWIPC | unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET

// deniedSyscalls fail with EPERM. The list is a deny list on purpose: the
// toolchains (JVM, node, rustc, go) use a wide and changing set of ordinary
// calls, and the dangerous ones are few and known.
var deniedSyscalls = []string{
	// namespaces (clone with namespace flags is handled separately)
	"unshare", "setns",
	// mounts
	"mount", "umount2", "pivot_root", "chroot", "open_tree", "move_mount",
	"fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
	// tracing and other processes' memory
	"ptrace", "process_vm_readv", "process_vm_writev", "perf_event_open",
	// kernel keyrings, bpf, io_uring, kexec, modules
	"keyctl", "add_key", "request_key", "bpf",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
	// host-wide state
	"swapon", "swapoff", "reboot", "syslog", "acct", "quotactl",
	"settimeofday", "clock_settime", "vhangup", "uselib", "lookup_dcookie",
	"userfaultfd", "open_by_handle_at", "name_to_handle_at", "personality",
}

// errno values are set explicitly: go-seccomp-bpf's errno action carries
// whatever number is OR-ed into it, and 0 would make a denied call look
// successful.
const (
	actionEPERM  = seccomp.ActionErrno | seccomp.Action(unix.EPERM)
	actionENOSYS = seccomp.ActionErrno | seccomp.Action(unix.ENOSYS)
)

func seccompPolicy() seccomp.Policy {
	return seccomp.Policy{
		DefaultAction: seccomp.ActionAllow,
		Syscalls: []seccomp.SyscallGroup{
			{Names: deniedSyscalls, Action: actionEPERM},
			{
				NamesWithCondtions: []seccomp.NameWithConditions{{
					Name: "clone",
					Conditions: seccomp.ArgumentConditions{{
						Argument: 0, Operation: seccomp.BitsSet, Value: nsCloneFlags,
					}},
				}},
				Action: actionEPERM,
			},
			// clone3 passes its flags in memory, where a filter cannot look;
			// ENOSYS makes libc fall back to clone(2), which is checked above.
			{Names: []string{"clone3"}, Action: actionENOSYS},
		},
	}
}

// installSeccomp sets no_new_privs and loads the filter into every thread of
// the calling process (TSYNC), so every process forked later inherits both.
func installSeccomp() error {
	return seccomp.LoadFilter(seccomp.Filter{
		NoNewPrivs: true,
		Flag:       seccomp.FilterFlagTSync,
		Policy:     seccompPolicy(),
	})
}
