package linux

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosv/gosv/kernel/net/socket"
	unixsock "github.com/gosv/gosv/kernel/net/unix"
	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/loopback"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// Socket files: an fd of socket(2) wraps an inet socket on the kernel's
// netstack (kernel/net/socket) or an AF_UNIX socket (kernel/net/unix).
// Both are waiter.Waitable, so poll, select and epoll see them like pipes.

// sockets is what every process of a kernel shares: the network stack
// and the AF_UNIX namespace.
type sockets struct {
	once  sync.Once
	stack *stack.Stack
	unix  *unixsock.Namespace
}

// SetNetStack gives the kernel its network stack (kernel/net sets it up
// with the NICs of the VM). Without one, the first socket gets a stack
// with only the loopback interface.
func (k *Kernel) SetNetStack(s *stack.Stack) {
	k.net.once.Do(func() {})
	k.net.stack = s
}

func (k *Kernel) netStack() *stack.Stack {
	k.net.once.Do(func() { k.net.stack = LoopbackStack() })
	return k.net.stack
}

func (k *Kernel) unixNamespace() *unixsock.Namespace {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.net.unix == nil {
		k.net.unix = unixsock.NewNamespace()
	}
	return k.net.unix
}

// LoopbackStack returns a netstack with IPv4, IPv6, TCP, UDP and ICMP and
// one loopback NIC holding 127.0.0.1/8 and ::1, configured like Linux
// (Nagle on, SACK on).
func LoopbackStack() *stack.Stack {
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4, icmp.NewProtocol6},
		HandleLocal:        true,
	})
	delay := tcpip.TCPDelayEnabled(true)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &delay)
	sack := tcpip.TCPSACKEnabled(true)
	s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack)
	const lo = 1
	s.CreateNICWithOptions(lo, loopback.New(), stack.NICOptions{Name: "lo"})
	s.AddProtocolAddress(lo, tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4([4]byte{127, 0, 0, 1}), PrefixLen: 8}}, stack.AddressProperties{})
	s.AddProtocolAddress(lo, tcpip.ProtocolAddress{Protocol: ipv6.ProtocolNumber,
		AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom16([16]byte{15: 1}), PrefixLen: 128}}, stack.AddressProperties{})
	s.SetRouteTable([]tcpip.Route{
		{Destination: header.IPv4EmptySubnet, NIC: lo},
		{Destination: header.IPv6EmptySubnet, NIC: lo},
	})
	return s
}

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

// Block implements socket.Blocker and unix.Blocker for the task: a wait
// ends with EINTR when a signal arrives and EAGAIN at deadline.
func (t *Task) Block(ch <-chan struct{}, deadline time.Time) error {
	var expired <-chan time.Time
	if !deadline.IsZero() {
		tm := time.NewTimer(time.Until(deadline))
		defer tm.Stop()
		expired = tm.C
	}
	select {
	case <-ch:
		return nil
	case <-expired:
		return unix.EAGAIN
	case <-t.interruptCh():
		return unix.EINTR
	}
}

func (f *sockFile) Read(t *Task, p []byte) (int, error) {
	n, _, _, err := f.recv(t, p, 0, false)
	return n, err
}

func (f *sockFile) Write(t *Task, p []byte) (int, error) {
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
func (f *sockFile) Ioctl(t *Task, req, arg uintptr) (uintptr, error) {
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
func (f *sockFile) send(t *Task, p []byte, to []byte, flags int, rights []any) (int, error) {
	nonblock := f.nb.get() || flags&unix.MSG_DONTWAIT != 0
	var n int
	var err error
	if f.inet != nil {
		n, err = f.inet.Send(t, p, flags, to, nonblock)
	} else {
		n, err = f.local.Send(t, p, rights, to, nonblock)
	}
	if err == unix.EPIPE && flags&unix.MSG_NOSIGNAL == 0 {
		t.P.sendSignal(t, siginfo{Signo: int32(unix.SIGPIPE), Pid: int32(t.P.Pid())})
	}
	return n, err
}

// recv reads into p; it returns the bytes (or the datagram's length with
// MSG_TRUNC), the sender's sockaddr when wantAddr, the msg_flags, and
// the rights of an AF_UNIX message.
func (f *sockFile) recv(t *Task, p []byte, flags int, wantAddr bool) (int, []byte, int, error) {
	n, from, mflags, rights, err := f.recvRights(t, p, flags, wantAddr)
	for _, r := range rights {
		r.(*HeldFile).Release() // read(2) and recvfrom(2) drop passed files
	}
	return n, from, mflags, err
}

func (f *sockFile) recvRights(t *Task, p []byte, flags int, wantAddr bool) (int, []byte, int, []any, error) {
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
			rights[i] = r.(*HeldFile).clone()
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
