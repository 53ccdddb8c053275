package linux

import (
	"sync/atomic"
	"time"

	"github.com/gosv/gosv/kernel/net/socket"
	unixsock "github.com/gosv/gosv/kernel/net/unix"
	"github.com/gosv/gosv/kernel/task"
	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/waiter"
)

// Socket files: an fd of socket(2) wraps an inet socket on the kernel's
// netstack (kernel/net/socket) or an AF_UNIX socket (kernel/net/unix).
// Both are waiter.Waitable, so poll, select and epoll see them like pipes.

// sockInos numbers sockets as sockfs does ("socket:[N]").
var sockInos atomic.Uint64

func init() { sockInos.Store(20000) }

// sockFile is an open socket. Exactly one of inet and local is set.
type sockFile struct {
	inet  *socket.Socket
	local *unixsock.Socket
	nb    nonblockFlag
	ino   uint64
	ctime vfs.Timespec
}

func newSockFile(inet *socket.Socket, local *unixsock.Socket) *sockFile {
	return &sockFile{inet: inet, local: local, ino: sockInos.Add(1), ctime: vfs.TimespecOf(time.Now())}
}

func (f *sockFile) Read(t *task.Task, p []byte) (int, error) {
	n, _, _, err := f.recv(t, p, 0, false)
	return n, err
}

func (f *sockFile) Write(t *task.Task, p []byte) (int, error) {
	return f.send(t, p, nil, 0, nil)
}

func (f *sockFile) Close() error {
	if f.inet != nil {
		return f.inet.Close()
	}
	return f.local.Close()
}

func (f *sockFile) Readiness(mask waiter.EventMask) waiter.EventMask {
	if f.inet != nil {
		return f.inet.Readiness(mask)
	}
	return f.local.Readiness(mask)
}

func (f *sockFile) EventRegister(e *waiter.Entry) error {
	if f.inet != nil {
		return f.inet.EventRegister(e)
	}
	return f.local.EventRegister(e)
}

func (f *sockFile) EventUnregister(e *waiter.Entry) {
	if f.inet != nil {
		f.inet.EventUnregister(e)
		return
	}
	f.local.EventUnregister(e)
}

// Stat reports a socket inode of sockfs (mode 0777, like Linux).
func (f *sockFile) Stat() (unix.Stat_t, error) {
	return unix.Stat_t{Ino: f.ino, Mode: vfs.S_IFSOCK | 0o777, Nlink: 1, Blksize: 4096,
		Atim: unix.Timespec(f.ctime), Mtim: unix.Timespec(f.ctime), Ctim: unix.Timespec(f.ctime)}, nil
}

// Ioctl answers FIONREAD (SIOCINQ).
func (f *sockFile) Ioctl(t *task.Task, req, arg uintptr) (uintptr, error) {
	switch req {
	case fionread:
		var n int
		if f.inet != nil {
			var err error
			if n, err = f.inet.BytesReadable(); err != nil {
				return 0, err
			}
		} else {
			n = f.local.BytesReadable()
		}
		return 0, t.WriteU32(arg, uint32(n))
	}
	return 0, unix.ENOTTY
}

// send writes p, to the address to when not nil, with rights for an
// AF_UNIX socket. EPIPE raises SIGPIPE unless MSG_NOSIGNAL.
func (f *sockFile) send(t *task.Task, p []byte, to []byte, flags int, rights []any) (int, error) {
	nonblock := f.nb.get() || flags&unix.MSG_DONTWAIT != 0
	var n int
	var err error
	if f.inet != nil {
		n, err = f.inet.Send(t, p, flags, to, nonblock)
	} else {
		n, err = f.local.Send(t, p, rights, to, nonblock, unixPaths{t})
	}
	if err == unix.EPIPE && flags&unix.MSG_NOSIGNAL == 0 {
		t.P.SendSignal(t, task.Siginfo{Signo: int32(unix.SIGPIPE), Pid: int32(t.P.Pid())})
	}
	return n, err
}

// recv reads into p; it returns the bytes (or the datagram's length with
// MSG_TRUNC), the sender's sockaddr when wantAddr, the msg_flags, and
// the rights of an AF_UNIX message.
func (f *sockFile) recv(t *task.Task, p []byte, flags int, wantAddr bool) (int, []byte, int, error) {
	n, from, mflags, rights, err := f.recvRights(t, p, flags, wantAddr)
	for _, r := range rights {
		r.(*task.HeldFile).Release() // read(2) and recvfrom(2) drop passed files
	}
	return n, from, mflags, err
}

func (f *sockFile) recvRights(t *task.Task, p []byte, flags int, wantAddr bool) (int, []byte, int, []any, error) {
	nonblock := f.nb.get() || flags&unix.MSG_DONTWAIT != 0
	mflags := 0
	if f.inet != nil {
		n, from, trunc, err := f.inet.Recv(t, p, flags, wantAddr, nonblock)
		if trunc {
			mflags |= unix.MSG_TRUNC
		}
		return n, from, mflags, nil, err
	}
	n, rights, from, trunc, err := f.local.Recv(t, p, flags&unix.MSG_PEEK != 0, flags&unix.MSG_WAITALL != 0, nonblock, time.Time{})
	if flags&unix.MSG_PEEK != 0 {
		// The rights stay queued: the caller gets references of its own.
		for i, r := range rights {
			rights[i] = r.(*task.HeldFile).Clone()
		}
	}
	if trunc {
		mflags |= unix.MSG_TRUNC
	}
	var addr []byte
	if wantAddr && f.local.Type() == unix.SOCK_DGRAM {
		addr = unixsock.EncodeAddr(from)
	}
	return n, addr, mflags, rights, err
}
