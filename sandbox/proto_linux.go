package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/sys/unix"
)

// The host and a slot's init talk over a SOCK_SEQPACKET socket pair: one JSON
// message per packet, file descriptors attached with SCM_RIGHTS. Packets keep
// message boundaries, so no framing is needed; file contents travel in
// chunks of at most chunkSize bytes.
const (
	chunkSize  = 48 << 10
	maxPacket  = 128 << 10
	initMarker = "CODEBUDDY_SANDBOX_INIT"
	ctlFD      = 3 // the control socket in the init process
)

// Inside the sandbox.
const (
	boxDir     = "/box"
	insideUID  = 1000
	insideGID  = 1000
	insideRoot = 0
)

type op string

const (
	opSetup  op = "setup"  // host -> init: build the container
	opReady  op = "ready"  // init -> host: setup done (Err set on failure)
	opFile   op = "file"   // host -> init: write (part of) a file
	opReset  op = "reset"  // host -> init: kill everything, wipe /box and /tmp
	opRun    op = "run"    // host -> init: start a program; fds stdin, stdout, stderr attached
	opExited op = "exited" // init -> host: the program and all its descendants are gone (Err: it never started)
	opKill   op = "kill"   // host -> init: kill every process of the current run
	opAck    op = "ack"    // init -> host: reply to file/reset (Err set on failure)
)

type msg struct {
	Op  op     `json:"op"`
	Err string `json:"err,omitempty"`

	Setup *setupMsg `json:"setup,omitempty"`

	// opFile
	Path   string `json:"path,omitempty"`
	Mode   uint32 `json:"mode,omitempty"`
	Data   []byte `json:"data,omitempty"`
	Append bool   `json:"append,omitempty"`

	// opRun
	Args    []string `json:"args,omitempty"`
	Env     []string `json:"env,omitempty"`
	Dir     string   `json:"dir,omitempty"`
	FSize   int64    `json:"fsize,omitempty"`
	NoFile  int      `json:"nofile,omitempty"`
	CPUSecs int      `json:"cpuSecs,omitempty"`
	Pids    int      `json:"pids,omitempty"` // RLIMIT_NPROC of the program's uid

	// opExited
	Pid        int   `json:"pid,omitempty"`
	WaitStatus int   `json:"waitStatus,omitempty"`
	MaxRSSKb   int64 `json:"maxRssKb,omitempty"`
}

type setupMsg struct {
	Mounts    []mountSpec `json:"mounts"`
	Symlinks  [][2]string `json:"symlinks"` // target path inside, link text
	EtcFiles  []File      `json:"etcFiles"`
	BoxSize   int64       `json:"boxSize"`
	TmpSize   int64       `json:"tmpSize"`
	Inodes    int         `json:"inodes"`
	Hostname  string      `json:"hostname"`
	MaxFSize  int64       `json:"maxFSize"`
	MaxNoFile int         `json:"maxNoFile"`
}

// mountSpec is one read-only bind mount. The source is passed as an O_PATH
// file descriptor (FD) opened by the host, because the init runs as an
// unprivileged host uid and could not traverse e.g. /root on its own.
type mountSpec struct {
	FD     int    `json:"fd"`
	Target string `json:"target"`
	Dir    bool   `json:"dir"`
	Device bool   `json:"device"` // keep device nodes usable (no MS_NODEV)
}

type conn struct{ c *net.UnixConn }

func newConn(f *os.File) (*conn, error) {
	fc, err := net.FileConn(f)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	uc, ok := fc.(*net.UnixConn)
	if !ok {
		fc.Close()
		return nil, errors.New("control socket is not a unix socket")
	}
	return &conn{c: uc}, nil
}

func (c *conn) send(m *msg, fds ...int) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if len(b) > maxPacket {
		return fmt.Errorf("control message of %d bytes is too large", len(b))
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	_, _, err = c.c.WriteMsgUnix(b, oob, nil)
	return err
}

// recv returns the next message and any file descriptors attached to it.
func (c *conn) recv() (*msg, []int, error) {
	buf := make([]byte, maxPacket)
	oob := make([]byte, unix.CmsgSpace(8*4))
	n, oobn, _, _, err := c.c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, nil, err
	}
	if n == 0 {
		return nil, nil, errors.New("control socket closed")
	}
	var fds []int
	if oobn > 0 {
		scms, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil {
			return nil, nil, err
		}
		for _, scm := range scms {
			got, err := unix.ParseUnixRights(&scm)
			if err == nil {
				fds = append(fds, got...)
			}
		}
	}
	m := new(msg)
	if err := json.Unmarshal(buf[:n], m); err != nil {
		closeFDs(fds)
		return nil, nil, fmt.Errorf("decode control message: %w", err)
	}
	return m, fds, nil
}

func (c *conn) close() error { return c.c.Close() }

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}
