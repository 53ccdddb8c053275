// Package socket implements the app's inet sockets (AF_INET and AF_INET6:
// SOCK_STREAM over TCP, SOCK_DGRAM over UDP, and ICMP echo "ping"
// sockets) on gVisor's netstack. A Socket wraps a tcpip.Endpoint: the
// syscall layer decodes arguments and copies memory, the Socket applies
// Linux's semantics (blocking, flags, errno values, socket options).
//
// Blocking calls wait through a Blocker, which the calling task provides:
// it ends the wait with EINTR when a signal arrives, so that netstack's
// non-blocking operations become Linux's blocking ones without a
// goroutine per socket.
package socket

import (
	"bytes"
	"io"
	"sync"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// Blocker waits for ch to be signalled. It returns nil when ch fired,
// EINTR when the calling task was interrupted, and EAGAIN when deadline
// (if not zero) passed first.
type Blocker interface {
	Block(ch <-chan struct{}, deadline time.Time) error
}

// Socket is one inet socket (a file of the app).
type Socket struct {
	family, stype, protocol int

	ep tcpip.Endpoint
	wq *waiter.Queue

	mu         sync.Mutex
	rcvTimeout time.Duration // SO_RCVTIMEO, 0: none
	sndTimeout time.Duration // SO_SNDTIMEO
	listening  bool
}

// New creates a socket of family (AF_INET, AF_INET6), type (SOCK_STREAM,
// SOCK_DGRAM, SOCK_RAW is refused) and protocol (0 or the matching
// IPPROTO_*; IPPROTO_ICMP/ICMPV6 with SOCK_DGRAM is a ping socket) on s.
// Errors as socket(2): EAFNOSUPPORT, ESOCKTNOSUPPORT, EPROTONOSUPPORT.
func New(s *stack.Stack, family, stype, protocol int) (*Socket, error) {
	var netProto tcpip.NetworkProtocolNumber
	switch family {
	case unix.AF_INET:
		netProto = ipv4.ProtocolNumber
	case unix.AF_INET6:
		netProto = ipv6.ProtocolNumber
	default:
		return nil, unix.EAFNOSUPPORT
	}
	var transProto tcpip.TransportProtocolNumber
	switch stype {
	case unix.SOCK_STREAM:
		if protocol != 0 && protocol != unix.IPPROTO_TCP {
			return nil, unix.EPROTONOSUPPORT
		}
		transProto, protocol = tcp.ProtocolNumber, unix.IPPROTO_TCP
	case unix.SOCK_DGRAM:
		switch {
		case protocol == 0 || protocol == unix.IPPROTO_UDP:
			transProto, protocol = udp.ProtocolNumber, unix.IPPROTO_UDP
		case protocol == unix.IPPROTO_ICMP && family == unix.AF_INET:
			transProto = icmp.ProtocolNumber4
		case protocol == unix.IPPROTO_ICMPV6 && family == unix.AF_INET6:
			transProto = icmp.ProtocolNumber6
		default:
			return nil, unix.EPROTONOSUPPORT
		}
	case unix.SOCK_RAW:
		return nil, unix.EPERM // raw sockets need CAP_NET_RAW and are not offered
	default:
		return nil, unix.ESOCKTNOSUPPORT
	}
	wq := new(waiter.Queue)
	ep, err := s.NewEndpoint(transProto, netProto, wq)
	if err != nil {
		return nil, Errno(err)
	}
	return &Socket{family: family, stype: stype, protocol: protocol, ep: ep, wq: wq}, nil
}

// Family, Type and Protocol are the socket's SO_DOMAIN, SO_TYPE and
// SO_PROTOCOL.
func (s *Socket) Family() int   { return s.family }
func (s *Socket) Type() int     { return s.stype }
func (s *Socket) Protocol() int { return s.protocol }

// Readiness, EventRegister and EventUnregister make a socket a
// waiter.Waitable for poll, select and epoll.
func (s *Socket) Readiness(mask waiter.EventMask) waiter.EventMask { return s.ep.Readiness(mask) }
func (s *Socket) EventRegister(e *waiter.Entry) error              { s.wq.EventRegister(e); return nil }
func (s *Socket) EventUnregister(e *waiter.Entry)                  { s.wq.EventUnregister(e) }

// Close releases the endpoint (a TCP connection is shut down in the
// background, as on Linux).
func (s *Socket) Close() error {
	s.ep.Close()
	return nil
}

// wait runs op until it stops failing with ErrWouldBlock, waiting for
// events between tries. With nonblock it returns ErrWouldBlock (EAGAIN)
// at once. A wait the Blocker ends (EINTR, EAGAIN at the timeout) is the
// second result.
func (s *Socket) wait(b Blocker, events waiter.EventMask, nonblock bool, timeout time.Duration, op func() tcpip.Error) (tcpip.Error, error) {
	err := op()
	if !wouldBlock(err) || nonblock {
		return err, nil
	}
	e, ch := waiter.NewChannelEntry(events)
	s.wq.EventRegister(&e)
	defer s.wq.EventUnregister(&e)
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		if err = op(); !wouldBlock(err) {
			return err, nil
		}
		if werr := b.Block(ch, deadline); werr != nil {
			return nil, werr
		}
	}
}

func wouldBlock(err tcpip.Error) bool {
	_, ok := err.(*tcpip.ErrWouldBlock)
	return ok
}

// Bind binds the socket to the address in sockaddr.
func (s *Socket) Bind(sockaddr []byte) error {
	addr, err := ParseSockaddr(s.family, sockaddr)
	if err != nil {
		return err
	}
	return Errno(s.ep.Bind(addr))
}

// Listen makes a stream socket accept connections (backlog is capped as
// by net.core.somaxconn).
func (s *Socket) Listen(backlog int) error {
	if s.stype != unix.SOCK_STREAM {
		return unix.EOPNOTSUPP
	}
	// As Linux: a negative backlog is the maximum (net.core.somaxconn,
	// 4096), and its queue holds backlog+1 connections, so 0 still lets
	// one in (netstack's queue holds exactly backlog).
	if backlog < 0 || backlog > 4096 {
		backlog = 4096
	}
	backlog++
	if err := s.ep.Listen(backlog); err != nil {
		return Errno(err)
	}
	s.mu.Lock()
	s.listening = true
	s.mu.Unlock()
	return nil
}

// Accept takes the next connection of a listening socket, waiting for
// one unless nonblock. It returns the new socket and the peer's address.
func (s *Socket) Accept(b Blocker, nonblock bool) (*Socket, []byte, error) {
	if s.stype != unix.SOCK_STREAM {
		return nil, nil, unix.EOPNOTSUPP
	}
	var (
		nep  tcpip.Endpoint
		nwq  *waiter.Queue
		peer tcpip.FullAddress
	)
	if !s.Listening() {
		return nil, nil, unix.EINVAL
	}
	err, werr := s.wait(b, waiter.ReadableEvents, nonblock, s.timeout(true), func() tcpip.Error {
		var e tcpip.Error
		nep, nwq, e = s.ep.Accept(&peer)
		return e
	})
	if werr != nil {
		return nil, nil, werr
	}
	if err != nil {
		return nil, nil, Errno(err)
	}
	ns := &Socket{family: s.family, stype: s.stype, protocol: s.protocol, ep: nep, wq: nwq}
	return ns, EncodeSockaddr(s.family, peer), nil
}

// Connect connects the socket to sockaddr. A stream socket waits for the
// handshake unless nonblock (then EINPROGRESS, and SO_ERROR tells the
// outcome once the socket is writable).
func (s *Socket) Connect(b Blocker, sockaddr []byte, nonblock bool) error {
	if len(sockaddr) >= 2 && sockaddr[0] == unix.AF_UNSPEC && sockaddr[1] == 0 && s.stype == unix.SOCK_DGRAM {
		return Errno(s.ep.Disconnect())
	}
	addr, err := ParseSockaddr(s.family, sockaddr)
	if err != nil {
		return err
	}
	terr := s.ep.Connect(addr)
	switch terr.(type) {
	case nil:
		return nil
	case *tcpip.ErrConnectStarted, *tcpip.ErrAlreadyConnecting:
	default:
		return Errno(terr)
	}
	if nonblock {
		return unix.EINPROGRESS
	}
	e, ch := waiter.NewChannelEntry(waiter.WritableEvents)
	s.wq.EventRegister(&e)
	defer s.wq.EventUnregister(&e)
	var deadline time.Time
	if t := s.timeout(false); t > 0 {
		deadline = time.Now().Add(t)
	}
	for s.ep.Readiness(waiter.WritableEvents) == 0 {
		if werr := b.Block(ch, deadline); werr != nil {
			if werr == unix.EAGAIN {
				return unix.EINPROGRESS // SO_SNDTIMEO on connect
			}
			return werr
		}
	}
	return Errno(s.ep.LastError())
}

// Shutdown shuts down the read, write or both halves (SHUT_RD, SHUT_WR,
// SHUT_RDWR).
func (s *Socket) Shutdown(how int) error {
	var f tcpip.ShutdownFlags
	switch how {
	case unix.SHUT_RD:
		f = tcpip.ShutdownRead
	case unix.SHUT_WR:
		f = tcpip.ShutdownWrite
	case unix.SHUT_RDWR:
		f = tcpip.ShutdownRead | tcpip.ShutdownWrite
	default:
		return unix.EINVAL
	}
	return Errno(s.ep.Shutdown(f))
}

// SockName is getsockname(2)'s address.
func (s *Socket) SockName() ([]byte, error) {
	a, err := s.ep.GetLocalAddress()
	if err != nil {
		return nil, Errno(err)
	}
	return EncodeSockaddr(s.family, a), nil
}

// PeerName is getpeername(2)'s address (ENOTCONN when not connected).
func (s *Socket) PeerName() ([]byte, error) {
	a, err := s.ep.GetRemoteAddress()
	if err != nil {
		return nil, Errno(err)
	}
	return EncodeSockaddr(s.family, a), nil
}

// Send writes p (to sockaddr when not nil, for datagram sockets) with
// MSG_* flags; it waits for buffer space unless nonblock or
// MSG_DONTWAIT. A stream socket may send less than p when interrupted
// after sending some. EPIPE means the caller must raise SIGPIPE unless
// MSG_NOSIGNAL.
func (s *Socket) Send(b Blocker, p []byte, flags int, sockaddr []byte, nonblock bool) (int, error) {
	opts := tcpip.WriteOptions{More: flags&unix.MSG_MORE != 0, EndOfRecord: flags&unix.MSG_EOR != 0}
	if sockaddr != nil {
		if s.stype == unix.SOCK_STREAM {
			// Linux ignores the address of a connected stream socket.
		} else {
			to, err := ParseSockaddr(s.family, sockaddr)
			if err != nil {
				return 0, err
			}
			opts.To = &to
		}
	}
	nonblock = nonblock || flags&unix.MSG_DONTWAIT != 0
	total := 0
	for {
		r := bytes.NewReader(p[total:])
		var n int64
		err, werr := s.wait(b, waiter.WritableEvents, nonblock || total > 0 && s.stype != unix.SOCK_STREAM, s.timeout(false), func() tcpip.Error {
			var e tcpip.Error
			n, e = s.ep.Write(r, opts)
			return e
		})
		total += int(n)
		if err != nil || werr != nil {
			if total > 0 {
				return total, nil
			}
			if werr != nil {
				return 0, werr
			}
			return 0, Errno(err)
		}
		if total >= len(p) || s.stype != unix.SOCK_STREAM {
			return total, nil
		}
	}
}

// sliceWriter fills a byte slice (an io.Writer for Endpoint.Read). A
// write that does not fit stores what fits and reports io.ErrShortWrite,
// which stops the endpoint there (a datagram is then truncated, as
// Linux does).
type sliceWriter struct {
	b []byte
	n int
}

func (w *sliceWriter) Write(p []byte) (int, error) {
	n := copy(w.b[w.n:], p)
	w.n += n
	if n < len(p) {
		return n, io.ErrShortWrite
	}
	return n, nil
}

// Recv reads into p with MSG_* flags (MSG_PEEK, MSG_DONTWAIT,
// MSG_WAITALL, MSG_TRUNC), waiting for data unless nonblock. It returns
// the bytes stored, the message length for MSG_TRUNC on datagrams, the
// sender's address when wantAddr, and whether the datagram was truncated
// (MSG_TRUNC in msg_flags).
func (s *Socket) Recv(b Blocker, p []byte, flags int, wantAddr, nonblock bool) (n int, from []byte, truncated bool, err error) {
	nonblock = nonblock || flags&unix.MSG_DONTWAIT != 0
	opts := tcpip.ReadOptions{Peek: flags&unix.MSG_PEEK != 0, NeedRemoteAddr: wantAddr}
	waitAll := flags&unix.MSG_WAITALL != 0 && s.stype == unix.SOCK_STREAM && !opts.Peek
	for {
		w := &sliceWriter{b: p[n:]}
		var res tcpip.ReadResult
		terr, werr := s.wait(b, waiter.ReadableEvents, nonblock || n > 0 && !waitAll, s.timeout(true), func() tcpip.Error {
			var e tcpip.Error
			res, e = s.ep.Read(w, opts)
			return e
		})
		if werr != nil {
			if n > 0 {
				return n, from, false, nil
			}
			return 0, nil, false, werr
		}
		if terr != nil {
			if _, ok := terr.(*tcpip.ErrClosedForReceive); ok {
				return n, from, false, nil // end of stream
			}
			if n > 0 {
				return n, from, false, nil
			}
			if _, ok := terr.(*tcpip.ErrNotConnected); ok && s.stype == unix.SOCK_STREAM {
				return 0, nil, false, unix.ENOTCONN
			}
			return 0, nil, false, Errno(terr)
		}
		if wantAddr && from == nil && s.stype != unix.SOCK_STREAM {
			from = EncodeSockaddr(s.family, res.RemoteAddr)
		}
		if s.stype != unix.SOCK_STREAM {
			truncated = res.Total > res.Count
			if flags&unix.MSG_TRUNC != 0 {
				return res.Total, from, truncated, nil
			}
			return res.Count, from, truncated, nil
		}
		n += res.Count
		if res.Count > 0 {
			s.ep.ModerateRecvBuf(res.Count)
		}
		if !waitAll || n >= len(p) || res.Count == 0 {
			return n, from, false, nil
		}
	}
}

func (s *Socket) timeout(recv bool) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if recv {
		return s.rcvTimeout
	}
	return s.sndTimeout
}

// Listening reports SO_ACCEPTCONN.
func (s *Socket) Listening() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listening
}

// BytesReadable is FIONREAD / SIOCINQ.
func (s *Socket) BytesReadable() (int, error) {
	v, err := s.ep.GetSockOptInt(tcpip.ReceiveQueueSizeOption)
	return v, Errno(err)
}
