package socket

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/loopback"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// loopStack is a netstack with one loopback NIC holding 127.0.0.1/8 and
// ::1/128.
func loopStack(t *testing.T) *stack.Stack {
	t.Helper()
	s := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, ipv6.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4, icmp.NewProtocol6},
	})
	// Nagle's algorithm on by default, as Linux (TCP_NODELAY 0).
	delay := tcpip.TCPDelayEnabled(true)
	if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &delay); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateNIC(1, loopback.New()); err != nil {
		t.Fatal(err)
	}
	for _, a := range []tcpip.ProtocolAddress{
		{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom4([4]byte{127, 0, 0, 1}), PrefixLen: 8}},
		{Protocol: ipv6.ProtocolNumber, AddressWithPrefix: tcpip.AddressWithPrefix{Address: tcpip.AddrFrom16([16]byte{15: 1}), PrefixLen: 128}},
	} {
		if err := s.AddProtocolAddress(1, a, stack.AddressProperties{}); err != nil {
			t.Fatal(err)
		}
	}
	s.SetRouteTable([]tcpip.Route{
		{Destination: header.IPv4EmptySubnet, NIC: 1},
		{Destination: header.IPv6EmptySubnet, NIC: 1},
	})
	t.Cleanup(s.Close)
	return s
}

// chanBlocker waits on the channel, with an interrupt channel standing in
// for a signal.
type chanBlocker struct{ intr chan struct{} }

func (b chanBlocker) Block(ch <-chan struct{}, deadline time.Time) error {
	var timer <-chan time.Time
	if !deadline.IsZero() {
		tm := time.NewTimer(time.Until(deadline))
		defer tm.Stop()
		timer = tm.C
	}
	select {
	case <-ch:
		return nil
	case <-b.intr:
		return unix.EINTR
	case <-timer:
		return unix.EAGAIN
	}
}

func sockaddr4(ip [4]byte, port uint16) []byte {
	b := make([]byte, 16)
	binary.LittleEndian.PutUint16(b, unix.AF_INET)
	binary.BigEndian.PutUint16(b[2:], port)
	copy(b[4:], ip[:])
	return b
}

func mustNew(t *testing.T, s *stack.Stack, family, typ, proto int) *Socket {
	t.Helper()
	so, err := New(s, family, typ, proto)
	if err != nil {
		t.Fatalf("socket(%d, %d, %d): %v", family, typ, proto, err)
	}
	t.Cleanup(func() { so.Close() })
	return so
}

func TestTCPTransfer(t *testing.T) {
	s := loopStack(t)
	b := chanBlocker{make(chan struct{})}
	ln := mustNew(t, s, unix.AF_INET, unix.SOCK_STREAM, 0)
	if err := ln.Bind(sockaddr4([4]byte{127, 0, 0, 1}, 0)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ln.Accept(b, true); err != unix.EINVAL {
		t.Fatalf("accept before listen: %v, want EINVAL", err)
	}
	if err := ln.Listen(16); err != nil {
		t.Fatal(err)
	}
	name, _ := ln.SockName()
	port := binary.BigEndian.Uint16(name[2:])
	if port == 0 || name[4] != 127 {
		t.Fatalf("getsockname = %x", name)
	}
	if _, _, err := ln.Accept(b, true); err != unix.EAGAIN {
		t.Fatalf("nonblocking accept with none pending: %v, want EAGAIN", err)
	}
	data := make([]byte, 1<<20)
	rand.Read(data)
	done := make(chan error, 1)
	go func() {
		c, err := New(s, unix.AF_INET, unix.SOCK_STREAM, 0)
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		if err := c.Connect(b, sockaddr4([4]byte{127, 0, 0, 1}, port), false); err != nil {
			done <- err
			return
		}
		n, err := c.Send(b, data, 0, nil, false)
		if err == nil && n != len(data) {
			err = io.ErrShortWrite
		}
		c.Shutdown(unix.SHUT_WR)
		done <- err
	}()
	conn, peer, err := ln.Accept(b, false)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if binary.LittleEndian.Uint16(peer) != unix.AF_INET || peer[4] != 127 {
		t.Errorf("peer address %x", peer)
	}
	var got []byte
	buf := make([]byte, 64<<10)
	for {
		n, _, _, err := conn.Recv(b, buf, 0, false, false)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		got = append(got, buf[:n]...)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("received %d bytes, want the 1 MiB sent intact", len(got))
	}
}

func TestConnectRefused(t *testing.T) {
	s := loopStack(t)
	c := mustNew(t, s, unix.AF_INET, unix.SOCK_STREAM, 0)
	err := c.Connect(chanBlocker{}, sockaddr4([4]byte{127, 0, 0, 1}, 9), false)
	if err != unix.ECONNREFUSED {
		t.Fatalf("connect to a closed port: %v, want ECONNREFUSED", err)
	}
}

func TestRecvInterrupted(t *testing.T) {
	s := loopStack(t)
	u := mustNew(t, s, unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err := u.Bind(sockaddr4([4]byte{127, 0, 0, 1}, 0)); err != nil {
		t.Fatal(err)
	}
	b := chanBlocker{make(chan struct{})}
	close(b.intr)
	if _, _, _, err := u.Recv(b, make([]byte, 10), 0, false, false); err != unix.EINTR {
		t.Fatalf("interrupted recv: %v, want EINTR", err)
	}
	if _, _, _, err := u.Recv(b, make([]byte, 10), unix.MSG_DONTWAIT, false, false); err != unix.EAGAIN {
		t.Fatalf("MSG_DONTWAIT recv: %v, want EAGAIN", err)
	}
	// SO_RCVTIMEO ends a wait with EAGAIN.
	tv := make([]byte, 16)
	binary.LittleEndian.PutUint64(tv[8:], 20000) // 20 ms
	if err := u.SetSockOpt(unix.SOL_SOCKET, unix.SO_RCVTIMEO, tv); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := u.Recv(chanBlocker{make(chan struct{})}, make([]byte, 10), 0, false, false); err != unix.EAGAIN {
		t.Fatalf("recv past SO_RCVTIMEO: %v, want EAGAIN", err)
	}
}

func TestUDP(t *testing.T) {
	s := loopStack(t)
	b := chanBlocker{make(chan struct{})}
	a := mustNew(t, s, unix.AF_INET, unix.SOCK_DGRAM, 0)
	c := mustNew(t, s, unix.AF_INET, unix.SOCK_DGRAM, 0)
	if err := a.Bind(sockaddr4([4]byte{127, 0, 0, 1}, 0)); err != nil {
		t.Fatal(err)
	}
	an, _ := a.SockName()
	if n, err := c.Send(b, []byte("hello, datagram"), 0, an, false); err != nil || n != 15 {
		t.Fatalf("sendto = %d, %v", n, err)
	}
	buf := make([]byte, 5)
	n, from, trunc, err := a.Recv(b, buf, unix.MSG_TRUNC, true, false)
	if err != nil || n != 15 || !trunc || string(buf) != "hello" {
		t.Fatalf("recvfrom = %d %q trunc %v, %v; want 15 \"hello\" truncated", n, buf, trunc, err)
	}
	// The sender was bound on its first sendto: INADDR_ANY and a port,
	// which the datagram carries with the address it left from.
	cn, _ := c.SockName()
	if !bytes.Equal(from[2:4], cn[2:4]) || from[4] != 127 || binary.BigEndian.Uint16(cn[2:]) == 0 {
		t.Errorf("sender %x, want 127.0.0.1 and the port of %x", from, cn)
	}
}

func TestSockOpts(t *testing.T) {
	s := loopStack(t)
	c := mustNew(t, s, unix.AF_INET6, unix.SOCK_STREAM, 0)
	for _, o := range []struct{ level, name, want int }{
		{unix.SOL_SOCKET, unix.SO_TYPE, unix.SOCK_STREAM},
		{unix.SOL_SOCKET, unix.SO_DOMAIN, unix.AF_INET6},
		{unix.SOL_SOCKET, unix.SO_PROTOCOL, unix.IPPROTO_TCP},
		{unix.SOL_SOCKET, unix.SO_ERROR, 0},
		{unix.SOL_SOCKET, unix.SO_REUSEADDR, 0},
		{unix.IPPROTO_TCP, unix.TCP_NODELAY, 0},
	} {
		v, err := c.GetSockOpt(o.level, o.name)
		if err != nil || int(int32(binary.LittleEndian.Uint32(v))) != o.want {
			t.Errorf("getsockopt(%d, %d) = %x, %v; want %d", o.level, o.name, v, err, o.want)
		}
	}
	one := putInt(1)
	for _, o := range [][2]int{{unix.SOL_SOCKET, unix.SO_REUSEADDR}, {unix.IPPROTO_TCP, unix.TCP_NODELAY}, {unix.SOL_SOCKET, unix.SO_KEEPALIVE}} {
		if err := c.SetSockOpt(o[0], o[1], one); err != nil {
			t.Fatal(err)
		}
		if v, _ := c.GetSockOpt(o[0], o[1]); binary.LittleEndian.Uint32(v) != 1 {
			t.Errorf("option %v not set", o)
		}
	}
	if _, err := c.GetSockOpt(unix.SOL_SOCKET, 9999); err != unix.ENOPROTOOPT {
		t.Errorf("unknown option: %v, want ENOPROTOOPT", err)
	}
	if err := c.SetSockOpt(unix.SOL_SOCKET, unix.SO_REUSEADDR, []byte{1}); err != unix.EINVAL {
		t.Errorf("short option value: %v, want EINVAL", err)
	}
}

func TestSocketErrors(t *testing.T) {
	s := loopStack(t)
	for _, c := range []struct {
		family, typ, proto int
		want               error
	}{
		{unix.AF_PACKET, unix.SOCK_STREAM, 0, unix.EAFNOSUPPORT},
		{unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_UDP, unix.EPROTONOSUPPORT},
		{unix.AF_INET, unix.SOCK_SEQPACKET, 0, unix.ESOCKTNOSUPPORT},
	} {
		if _, err := New(s, c.family, c.typ, c.proto); err != c.want {
			t.Errorf("socket(%d, %d, %d) = %v, want %v", c.family, c.typ, c.proto, err, c.want)
		}
	}
}

func TestSockaddr(t *testing.T) {
	a, err := ParseSockaddr(unix.AF_INET, sockaddr4([4]byte{10, 0, 2, 2}, 8080))
	if err != nil || a.Port != 8080 || a.Addr.String() != "10.0.2.2" {
		t.Fatalf("parse = %+v, %v", a, err)
	}
	if _, err := ParseSockaddr(unix.AF_INET, []byte{2, 0, 1}); err != unix.EINVAL {
		t.Errorf("short sockaddr: %v", err)
	}
	if _, err := ParseSockaddr(unix.AF_INET6, sockaddr4([4]byte{1, 2, 3, 4}, 1)); err != unix.EAFNOSUPPORT {
		t.Errorf("AF_INET on an inet6 socket: %v", err)
	}
	if b := EncodeSockaddr(unix.AF_INET, a); !bytes.Equal(b, sockaddr4([4]byte{10, 0, 2, 2}, 8080)) {
		t.Errorf("encode = %x", b)
	}
	m := EncodeSockaddr(unix.AF_INET6, a)
	if len(m) != 28 || m[18] != 0xff || m[20] != 10 {
		t.Errorf("v4-mapped = %x", m)
	}
}

func FuzzParseSockaddr(f *testing.F) {
	f.Add(unix.AF_INET, sockaddr4([4]byte{127, 0, 0, 1}, 80))
	f.Add(unix.AF_INET6, make([]byte, 28))
	f.Fuzz(func(t *testing.T, family int, b []byte) {
		a, err := ParseSockaddr(family, b)
		if err != nil {
			return
		}
		// What parses encodes back to the same port.
		e := EncodeSockaddr(family, a)
		if binary.BigEndian.Uint16(e[2:]) != a.Port {
			t.Fatalf("port lost: %x -> %+v -> %x", b, a, e)
		}
	})
}

// listen(fd, 0) and a negative backlog still take connections, as Linux.
func TestListenBacklogZero(t *testing.T) {
	for _, backlog := range []int{0, -1} {
		s := loopStack(t)
		b := chanBlocker{make(chan struct{})}
		ln := mustNew(t, s, unix.AF_INET, unix.SOCK_STREAM, 0)
		if err := ln.Bind(sockaddr4([4]byte{127, 0, 0, 1}, 0)); err != nil {
			t.Fatal(err)
		}
		if err := ln.Listen(backlog); err != nil {
			t.Fatal(err)
		}
		name, _ := ln.SockName()
		c := mustNew(t, s, unix.AF_INET, unix.SOCK_STREAM, 0)
		if err := c.Connect(b, name, false); err != nil {
			t.Fatalf("backlog %d: connect: %v", backlog, err)
		}
		if _, _, err := ln.Accept(b, false); err != nil {
			t.Fatalf("backlog %d: accept: %v", backlog, err)
		}
	}
}
