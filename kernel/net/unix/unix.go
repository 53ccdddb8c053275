// Package unix implements AF_UNIX sockets (unix(7)) between the app's
// threads and processes: SOCK_STREAM, SOCK_DGRAM and SOCK_SEQPACKET,
// socketpair, the abstract namespace, and filesystem names through a
// Namespace the VFS provides. Messages may carry opaque rights (the files
// of SCM_RIGHTS), which the syscall layer turns into descriptors.
package unix

import (
	"encoding/binary"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/waiter"
)

// Blocker waits for ch to be signalled: nil when it fired, EINTR when the
// calling task was interrupted, EAGAIN when deadline (if not zero) passed.
type Blocker interface {
	Block(ch <-chan struct{}, deadline time.Time) error
}

// Cred is the peer credential of SO_PEERCRED (struct ucred).
type Cred struct {
	PID, UID, GID int32
}

// sunPathMax is the size of sockaddr_un's sun_path.
const sunPathMax = 108

// bufSize is the bytes a socket's receive queue holds (Linux's default
// net.core.wmem_default for unix sockets).
const bufSize = 212992

// message is one write: the bytes of a datagram or seqpacket record, or
// a piece of a stream, with the rights and the sender's address.
type message struct {
	data   []byte
	rights []any
	from   string
}

// Socket is one AF_UNIX socket.
type Socket struct {
	stype int
	ns    *Namespace
	cred  Cred

	mu        sync.Mutex
	addr      string // bound name ("" unbound; abstract names start with NUL)
	peer      *Socket
	peerAddr  string
	connected bool // a stream or seqpacket socket that has (had) a peer
	queue     []message
	queued    int  // bytes in queue
	rdShut    bool // SHUT_RD, or the socket closed
	wrShut    bool // SHUT_WR
	peerGone  bool // the peer closed or shut down its writing side
	closed    bool
	listening bool
	backlog   []*Socket
	maxQueue  int
	peerCred  Cred
	passCred  bool

	wq waiter.Queue
}

// Namespace maps names to bound sockets: the abstract namespace, plus
// filesystem paths when Bind and Lookup are given a path resolver.
type Namespace struct {
	mu       sync.Mutex
	abstract map[string]*Socket
}

// PathBinder creates the socket inode of a filesystem name (EADDRINUSE
// when the name exists) and finds the socket bound to one, for the calling
// task (its working directory and credentials). Nil: filesystem names
// fail with EADDRNOTAVAIL (bind) and ENOENT (connect, send).
type PathBinder interface {
	BindPath(path string, s *Socket) error
	LookupPath(path string) (*Socket, error)
}

// NewNamespace returns an empty namespace.
func NewNamespace() *Namespace { return &Namespace{abstract: map[string]*Socket{}} }

// New creates an unbound socket of type stype (SOCK_STREAM, SOCK_DGRAM,
// SOCK_SEQPACKET) for a task with credentials cred.
func New(ns *Namespace, stype int, cred Cred) (*Socket, error) {
	switch stype {
	case unix.SOCK_STREAM, unix.SOCK_DGRAM, unix.SOCK_SEQPACKET:
	default:
		return nil, unix.ESOCKTNOSUPPORT
	}
	return &Socket{stype: stype, ns: ns, cred: cred}, nil
}

// Pair creates two connected sockets (socketpair(2)).
func Pair(ns *Namespace, stype int, cred Cred) (*Socket, *Socket, error) {
	a, err := New(ns, stype, cred)
	if err != nil {
		return nil, nil, err
	}
	b, _ := New(ns, stype, cred)
	a.peer, b.peer = b, a
	a.connected, b.connected = true, true
	a.peerCred, b.peerCred = cred, cred
	return a, b, nil
}

// Type is SO_TYPE.
func (s *Socket) Type() int { return s.stype }

// ParseAddr decodes a struct sockaddr_un: "" for an unnamed address
// (autobind), a name starting with NUL for the abstract namespace, else a
// path (up to its NUL). EINVAL when b is not AF_UNIX or too long.
func ParseAddr(b []byte) (string, error) {
	if len(b) < 2 || binary.LittleEndian.Uint16(b) != unix.AF_UNIX {
		return "", unix.EINVAL
	}
	p := b[2:]
	if len(p) > sunPathMax {
		return "", unix.EINVAL
	}
	if len(p) > 0 && p[0] == 0 {
		return string(p), nil // abstract: every byte counts
	}
	for i, c := range p {
		if c == 0 {
			p = p[:i]
			break
		}
	}
	return string(p), nil
}

// EncodeAddr encodes name as a struct sockaddr_un of the length Linux
// reports (family only for an unnamed socket; a path with its NUL unless
// it fills sun_path's 108 bytes).
func EncodeAddr(name string) []byte {
	b := make([]byte, 2, 2+len(name)+1)
	binary.LittleEndian.PutUint16(b, unix.AF_UNIX)
	b = append(b, name...)
	if name != "" && name[0] != 0 && len(name) < sunPathMax {
		b = append(b, 0)
	}
	return b
}

// Bind names the socket. EINVAL when it already has a name, EADDRINUSE
// when the name is taken.
func (s *Socket) Bind(sockaddr []byte, paths PathBinder) error {
	name, err := ParseAddr(sockaddr)
	if err != nil {
		return err
	}
	s.mu.Lock()
	bound := s.addr != ""
	s.mu.Unlock()
	if bound {
		return unix.EINVAL
	}
	if name == "" {
		return s.autobind()
	}
	if err := s.ns.bind(name, s, paths); err != nil {
		return err
	}
	s.mu.Lock()
	s.addr = name
	s.mu.Unlock()
	return nil
}

// autobind gives the socket an abstract name of five hex digits, as Linux
// does for bind with only the family, or a send from an unbound datagram
// socket with SO_PASSCRED.
func (s *Socket) autobind() error {
	const hex = "0123456789abcdef"
	ns := s.ns
	ns.mu.Lock()
	defer ns.mu.Unlock()
	for i := 0; i < 1<<20; i++ {
		n := []byte{0, 0, 0, 0, 0, 0}
		for j, v := 5, i; j > 0; j, v = j-1, v>>4 {
			n[j] = hex[v&15]
		}
		if _, used := ns.abstract[string(n)]; !used {
			ns.abstract[string(n)] = s
			s.mu.Lock()
			s.addr = string(n)
			s.mu.Unlock()
			return nil
		}
	}
	return unix.EADDRINUSE
}

func (ns *Namespace) bind(name string, s *Socket, paths PathBinder) error {
	if name[0] != 0 {
		if paths == nil {
			return unix.EADDRNOTAVAIL
		}
		return paths.BindPath(name, s)
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if _, used := ns.abstract[name]; used {
		return unix.EADDRINUSE
	}
	ns.abstract[name] = s
	return nil
}

func (ns *Namespace) lookup(name string, paths PathBinder) (*Socket, error) {
	if name == "" {
		return nil, unix.EINVAL
	}
	if name[0] != 0 {
		if paths == nil {
			return nil, unix.ENOENT
		}
		return paths.LookupPath(name)
	}
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if s, ok := ns.abstract[name]; ok {
		return s, nil
	}
	return nil, unix.ECONNREFUSED
}

func (ns *Namespace) unbind(name string, s *Socket) {
	if name == "" || name[0] != 0 {
		return // a filesystem name stays until unlinked
	}
	ns.mu.Lock()
	if ns.abstract[name] == s {
		delete(ns.abstract, name)
	}
	ns.mu.Unlock()
}

// Listen makes a stream or seqpacket socket accept connections; an
// unbound one is autobound first.
func (s *Socket) Listen(backlog int) error {
	if s.stype == unix.SOCK_DGRAM {
		return unix.EOPNOTSUPP
	}
	s.mu.Lock()
	if s.connected {
		s.mu.Unlock()
		return unix.EINVAL
	}
	unbound := s.addr == ""
	s.mu.Unlock()
	if unbound {
		if err := s.autobind(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.listening = true
	s.maxQueue = min(max(backlog, 0), 4096) + 1
	s.mu.Unlock()
	return nil
}

// Accept takes the next pending connection.
func (s *Socket) Accept(b Blocker, nonblock bool) (*Socket, error) {
	if s.stype == unix.SOCK_DGRAM {
		return nil, unix.EOPNOTSUPP
	}
	var c *Socket
	err := s.waitFor(b, waiter.ReadableEvents, nonblock, time.Time{}, func() error {
		if !s.listening {
			return unix.EINVAL
		}
		if len(s.backlog) == 0 {
			return unix.EAGAIN
		}
		c = s.backlog[0]
		s.backlog = s.backlog[1:]
		return nil
	})
	if err == nil {
		s.wq.Notify(waiter.WritableEvents)
	}
	return c, err
}

// Connect connects to the socket named by sockaddr: a stream or seqpacket
// socket queues a connection on a listener (waiting while its backlog is
// full unless nonblock); a datagram socket sets its default destination.
func (s *Socket) Connect(b Blocker, sockaddr []byte, nonblock bool, paths PathBinder) error {
	name, err := ParseAddr(sockaddr)
	if err != nil {
		return err
	}
	target, err := s.ns.lookup(name, paths)
	if err != nil {
		return err
	}
	if s.stype == unix.SOCK_DGRAM {
		if target.stype != unix.SOCK_DGRAM {
			return unix.EPROTOTYPE
		}
		s.mu.Lock()
		s.peer, s.peerAddr = target, name
		s.mu.Unlock()
		return nil
	}
	if target.stype != s.stype {
		return unix.EPROTOTYPE
	}
	s.mu.Lock()
	if s.connected {
		s.mu.Unlock()
		return unix.EISCONN
	}
	if s.listening {
		s.mu.Unlock()
		return unix.EINVAL
	}
	s.mu.Unlock()
	// The server side of the connection, handed out by Accept.
	server := &Socket{stype: s.stype, ns: s.ns, cred: target.cred, addr: name, connected: true}
	err = target.waitFor(b, waiter.WritableEvents, nonblock, time.Time{}, func() error {
		if !target.listening || target.closed {
			return unix.ECONNREFUSED
		}
		if len(target.backlog) >= target.maxQueue {
			return unix.EAGAIN
		}
		s.mu.Lock()
		s.peer, s.peerAddr, s.connected, s.peerCred = server, name, true, target.cred
		s.mu.Unlock()
		server.peer, server.peerCred = s, s.cred
		target.backlog = append(target.backlog, server)
		return nil
	})
	if err != nil {
		return err
	}
	target.wq.Notify(waiter.ReadableEvents)
	return nil
}

// waitFor runs try under s.mu until it stops returning EAGAIN, waiting for
// events on s between tries (EAGAIN at once with nonblock).
func (s *Socket) waitFor(b Blocker, events waiter.EventMask, nonblock bool, deadline time.Time, try func() error) error {
	s.mu.Lock()
	err := try()
	s.mu.Unlock()
	if err != unix.EAGAIN || nonblock {
		return err
	}
	e, ch := waiter.NewChannelEntry(events)
	s.wq.EventRegister(&e)
	defer s.wq.EventUnregister(&e)
	for {
		s.mu.Lock()
		err = try()
		s.mu.Unlock()
		if err != unix.EAGAIN {
			return err
		}
		if werr := b.Block(ch, deadline); werr != nil {
			return werr
		}
	}
}

// Send writes p (with rights) to the peer, or to the socket named by
// sockaddr for a datagram socket. EPIPE (the caller raises SIGPIPE unless
// MSG_NOSIGNAL) when the peer is gone or the socket shut for writing.
func (s *Socket) Send(b Blocker, p []byte, rights []any, sockaddr []byte, nonblock bool, paths PathBinder) (int, error) {
	s.mu.Lock()
	dst, from, wrShut := s.peer, s.addr, s.wrShut
	connected := s.connected
	s.mu.Unlock()
	if wrShut {
		return 0, unix.EPIPE
	}
	if s.stype == unix.SOCK_DGRAM {
		if sockaddr != nil {
			name, err := ParseAddr(sockaddr)
			if err != nil {
				return 0, err
			}
			if dst, err = s.ns.lookup(name, paths); err != nil {
				return 0, err
			}
		}
		if dst == nil {
			return 0, unix.ENOTCONN
		}
		if len(p) > bufSize {
			return 0, unix.EMSGSIZE
		}
	} else {
		if !connected {
			return 0, unix.ENOTCONN
		}
		if dst == nil {
			return 0, unix.EPIPE
		}
		if s.stype == unix.SOCK_SEQPACKET && len(p) > bufSize {
			return 0, unix.EMSGSIZE
		}
	}
	sent := 0
	for {
		var n int
		err := dst.waitFor(b, waiter.WritableEvents, nonblock || sent > 0 && s.stype != unix.SOCK_STREAM, time.Time{}, func() error {
			if dst.rdShut || dst.closed {
				if s.stype == unix.SOCK_DGRAM {
					return unix.ECONNREFUSED
				}
				return unix.EPIPE
			}
			room := bufSize - dst.queued
			rest := p[sent:]
			switch {
			case s.stype == unix.SOCK_STREAM && room > 0:
				n = min(room, len(rest))
			case len(rest) <= room || dst.queued == 0:
				n = len(rest) // a record goes in whole
			default:
				return unix.EAGAIN
			}
			m := message{data: append([]byte(nil), rest[:n]...), from: from}
			if sent == 0 {
				m.rights = rights
			}
			dst.queue = append(dst.queue, m)
			dst.queued += n
			return nil
		})
		if err != nil {
			if sent > 0 && err != unix.EPIPE {
				return sent, nil
			}
			return sent, err
		}
		sent += n
		dst.wq.Notify(waiter.ReadableEvents)
		if sent >= len(p) || s.stype != unix.SOCK_STREAM {
			return sent, nil
		}
	}
}

// Recv reads into p. A stream socket returns what is queued (all of p
// with waitAll); a datagram or seqpacket socket returns one record,
// truncated to p (truncated reports it). It returns the rights of the
// messages read and the sender's name. 0 bytes at end of stream.
func (s *Socket) Recv(b Blocker, p []byte, peek, waitAll, nonblock bool, deadline time.Time) (n int, rights []any, from string, truncated bool, err error) {
	for {
		var got int
		err = s.waitFor(b, waiter.ReadableEvents, nonblock || n > 0, deadline, func() error {
			if len(s.queue) == 0 {
				if s.rdShut || s.peerGone || (s.stype != unix.SOCK_DGRAM && !s.connected) {
					if s.stype != unix.SOCK_DGRAM && !s.connected {
						return unix.EINVAL
					}
					return nil // end of stream
				}
				return unix.EAGAIN
			}
			if s.stype != unix.SOCK_STREAM {
				m := s.queue[0]
				got = copy(p, m.data)
				truncated = got < len(m.data)
				rights, from = m.rights, m.from
				if !peek {
					s.queue = s.queue[1:]
					s.queued -= len(m.data)
				}
				return nil
			}
			// A stream read stops before a message with rights that
			// follows data already read, as Linux keeps them apart.
			rest := p[n:]
			i := 0
			for i < len(s.queue) && got < len(rest) {
				m := &s.queue[i]
				if m.rights != nil && (got > 0 || n > 0) {
					break
				}
				if m.rights != nil {
					rights = append(rights, m.rights...)
					if !peek {
						m.rights = nil
					}
				}
				k := copy(rest[got:], m.data)
				got += k
				if peek {
					i++
					continue
				}
				m.data = m.data[k:]
				s.queued -= k
				if len(m.data) == 0 {
					i++
				}
			}
			if !peek {
				s.queue = s.queue[i:]
			}
			return nil
		})
		if err != nil {
			if n > 0 && (err == unix.EAGAIN || err == unix.EINTR) {
				return n, rights, from, false, nil
			}
			return n, rights, from, truncated, err
		}
		if got > 0 && !peek {
			if peer := s.peerOf(); peer != nil {
				peer.wq.Notify(waiter.WritableEvents)
			}
			s.wq.Notify(waiter.WritableEvents)
		}
		n += got
		if s.stype != unix.SOCK_STREAM || !waitAll || got == 0 || n >= len(p) {
			return n, rights, from, truncated, nil
		}
	}
}

func (s *Socket) peerOf() *Socket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peer
}

// Shutdown shuts the reading and/or writing half (SHUT_RD, SHUT_WR,
// SHUT_RDWR); the peer sees end of stream once its queue is read.
func (s *Socket) Shutdown(how int) error {
	if how < unix.SHUT_RD || how > unix.SHUT_RDWR {
		return unix.EINVAL
	}
	s.mu.Lock()
	if s.stype != unix.SOCK_DGRAM && !s.connected {
		s.mu.Unlock()
		return unix.ENOTCONN
	}
	if how != unix.SHUT_WR {
		s.rdShut = true
	}
	if how != unix.SHUT_RD {
		s.wrShut = true
	}
	peer, wr := s.peer, s.wrShut
	s.mu.Unlock()
	s.wq.Notify(waiter.ReadableEvents | waiter.WritableEvents | waiter.EventHUp)
	if peer != nil && wr && s.stype != unix.SOCK_DGRAM {
		peer.mu.Lock()
		peer.peerGone = true
		peer.mu.Unlock()
		peer.wq.Notify(waiter.ReadableEvents | waiter.EventRdHUp)
	}
	return nil
}

// Close releases the socket: its peer sees end of stream (or EPIPE when
// writing), pending connections of a listener are dropped, an abstract
// name is freed.
func (s *Socket) Close() error {
	s.mu.Lock()
	s.closed, s.rdShut, s.wrShut = true, true, true
	peer, name, backlog := s.peer, s.addr, s.backlog
	queue := s.queue
	s.backlog, s.queue, s.queued = nil, nil, 0
	s.mu.Unlock()
	// Rights that were never received are released (Linux's garbage
	// collection of in-flight files, without cycles).
	for _, m := range queue {
		for _, r := range m.rights {
			if rel, ok := r.(interface{ Release() }); ok {
				rel.Release()
			}
		}
	}
	s.ns.unbind(name, s)
	for _, c := range backlog {
		c.Close()
	}
	if peer != nil && s.stype != unix.SOCK_DGRAM {
		peer.mu.Lock()
		peer.peerGone = true
		peer.peer = nil
		peer.mu.Unlock()
		peer.wq.Notify(waiter.ReadableEvents | waiter.WritableEvents | waiter.EventHUp | waiter.EventRdHUp)
	}
	s.wq.Notify(waiter.ReadableEvents | waiter.WritableEvents | waiter.EventHUp)
	return nil
}

// Readiness reports poll events: readable with queued data, a pending
// connection, or end of stream; writable while the peer's queue has
// room; HUP once both directions are shut.
func (s *Socket) Readiness(mask waiter.EventMask) waiter.EventMask {
	s.mu.Lock()
	var r waiter.EventMask
	if len(s.queue) > 0 || len(s.backlog) > 0 || s.rdShut || s.peerGone {
		r |= waiter.ReadableEvents
	}
	if s.peerGone {
		r |= waiter.EventRdHUp
	}
	if (s.rdShut && s.wrShut) || (s.peerGone && s.wrShut) || (s.connected && s.peer == nil && s.peerGone) {
		r |= waiter.EventHUp
	}
	peer, connected, listening, wrShut := s.peer, s.connected, s.listening, s.wrShut
	s.mu.Unlock()
	switch {
	case listening:
	case s.stype == unix.SOCK_DGRAM && peer == nil:
		r |= waiter.WritableEvents
	case peer != nil && !wrShut:
		peer.mu.Lock()
		if peer.queued < bufSize {
			r |= waiter.WritableEvents
		}
		peer.mu.Unlock()
	case connected && peer == nil:
		r |= waiter.WritableEvents // writes fail with EPIPE at once
	}
	return r & mask
}

func (s *Socket) EventRegister(e *waiter.Entry) error { s.wq.EventRegister(e); return nil }
func (s *Socket) EventUnregister(e *waiter.Entry)     { s.wq.EventUnregister(e) }

// SockName and PeerName are getsockname(2) and getpeername(2).
func (s *Socket) SockName() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return EncodeAddr(s.addr)
}

func (s *Socket) PeerName() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.peer == nil && s.peerAddr == "" {
		return nil, unix.ENOTCONN
	}
	if s.peer != nil {
		s.peer.mu.Lock()
		name := s.peer.addr
		s.peer.mu.Unlock()
		return EncodeAddr(name), nil
	}
	return EncodeAddr(s.peerAddr), nil
}

// PeerCred is SO_PEERCRED: the credentials of the peer when it connected
// (or of the pair's creator).
func (s *Socket) PeerCred() Cred {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.connected {
		return Cred{PID: 0, UID: -1, GID: -1}
	}
	return s.peerCred
}

// Listening is SO_ACCEPTCONN.
func (s *Socket) Listening() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listening
}

// BytesReadable is FIONREAD.
func (s *Socket) BytesReadable() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stype != unix.SOCK_STREAM && len(s.queue) > 0 {
		return len(s.queue[0].data)
	}
	return s.queued
}
