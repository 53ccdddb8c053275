package net

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
)

// wire is one direction of an in-memory Ethernet cable: frames are copied
// into a channel and delivered by a goroutine, as an interrupt goroutine
// would, so the two stacks never call each other with locks held.
type wire struct {
	mac  [6]byte
	ch   chan []byte
	done chan struct{}
	peer *Endpoint
}

func newWire(mac [6]byte) *wire {
	return &wire{mac: mac, ch: make(chan []byte, 4096), done: make(chan struct{})}
}

func (w *wire) MAC() [6]byte { return w.mac }
func (w *wire) MTU() int     { return 1500 }
func (w *wire) Transmit(frames ...[]byte) (int, error) {
	for i, f := range frames {
		select {
		case <-w.done:
			return i, nil
		case w.ch <- append([]byte(nil), f...):
		default:
			return i, nil // a full queue drops, like a full virtqueue
		}
	}
	return len(frames), nil
}

func (w *wire) run() {
	for {
		select {
		case <-w.done:
			return
		case f := <-w.ch:
			w.peer.Deliver(f)
		}
	}
}

// pair connects two stacks' eth0 back to back.
func pair(t *testing.T, ca, cb Config) (*Stack, *Stack) {
	t.Helper()
	a, err := NewStack(Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewStack(Options{})
	if err != nil {
		t.Fatal(err)
	}
	wa := newWire([6]byte{0x52, 0x54, 0, 0x12, 0x34, 0x56})
	wb := newWire([6]byte{0x52, 0x55, 0x0a, 0, 2, 2})
	na, err := a.AddNIC(wa, ca)
	if err != nil {
		t.Fatal(err)
	}
	nb, err := b.AddNIC(wb, cb)
	if err != nil {
		t.Fatal(err)
	}
	wa.peer, wb.peer = nb.Endpoint, na.Endpoint
	go wa.run()
	go wb.run()
	t.Cleanup(func() {
		close(wa.done)
		close(wb.done)
		a.S.Close()
		b.S.Close()
	})
	return a, b
}

func full(a netip.AddrPort) tcpip.FullAddress {
	return tcpip.FullAddress{Addr: tcpip.AddrFromSlice(a.Addr().AsSlice()), Port: a.Port()}
}

func proto(a netip.AddrPort) tcpip.NetworkProtocolNumber {
	if a.Addr().Is4() {
		return ipv4.ProtocolNumber
	}
	return ipv6.ProtocolNumber
}

// transfer sends n pseudo-random bytes from client to server over TCP and
// checks they arrive intact, and that the server's reply does too.
func transfer(t *testing.T, client, server *Stack, dst netip.AddrPort, n int) {
	t.Helper()
	ln, err := gonet.ListenTCP(server.S, full(dst), proto(dst))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	data := make([]byte, n)
	r := rand.NewChaCha8([32]byte{1})
	r.Read(data)
	want := sha256.Sum256(data)

	var wg sync.WaitGroup
	var got [32]byte
	var serr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			serr = err
			return
		}
		defer c.Close()
		h := sha256.New()
		if _, err := io.Copy(h, c); err != nil {
			serr = err
			return
		}
		copy(got[:], h.Sum(nil))
		_, serr = c.Write(got[:])
	}()
	c, err := gonet.DialContextTCP(context.Background(), client.S, full(dst), proto(dst))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	reply, err := io.ReadAll(c)
	c.Close()
	wg.Wait()
	if serr != nil {
		t.Fatal(serr)
	}
	if got != want {
		t.Fatalf("server got sha256 %x, want %x", got, want)
	}
	if !bytes.Equal(reply, want[:]) {
		t.Fatalf("reply %x", reply)
	}
}

func TestTCPOneMiB(t *testing.T) {
	a, b := pair(t, DefaultConfig(), Config{Addr: netip.MustParsePrefix("10.0.2.2/24")})
	transfer(t, a, b, netip.MustParseAddrPort("10.0.2.2:8080"), 1<<20)
	// And the other way, to the guest's default address.
	transfer(t, b, a, netip.MustParseAddrPort("10.0.2.15:80"), 1<<20)
}

func TestTCPViaGateway(t *testing.T) {
	// The destination is off-link: the client routes it through its
	// default gateway, which owns the address (like SLIRP does for the
	// host's connections).
	a, b := pair(t, DefaultConfig(), Config{Addr: netip.MustParsePrefix("10.0.2.2/24")})
	if err := b.addAddr(b.nics[0].ID, netip.MustParsePrefix("192.0.2.1/32")); err != nil {
		t.Fatal(err)
	}
	transfer(t, a, b, netip.MustParseAddrPort("192.0.2.1:443"), 64<<10)
}

func TestLoopback(t *testing.T) {
	s, err := NewStack(Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.S.Close()
	transfer(t, s, s, netip.MustParseAddrPort("127.0.0.1:9000"), 256<<10)
	transfer(t, s, s, netip.MustParseAddrPort("[::1]:9000"), 256<<10)
}

func TestUDP(t *testing.T) {
	a, b := pair(t, DefaultConfig(), Config{Addr: netip.MustParsePrefix("10.0.2.2/24")})
	dst := netip.MustParseAddrPort("10.0.2.2:53")
	srv, err := gonet.DialUDP(b.S, &tcpip.FullAddress{Addr: full(dst).Addr, Port: 53}, nil, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cl, err := gonet.DialUDP(a.S, nil, &tcpip.FullAddress{Addr: full(dst).Addr, Port: 53}, ipv4.ProtocolNumber)
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, err := cl.Write([]byte("query")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	n, from, err := srv.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "query" {
		t.Fatalf("server read %q %v", buf[:n], err)
	}
	if ua := from.(*net.UDPAddr); ua.IP.String() != "10.0.2.15" {
		t.Fatalf("from %v", from)
	}
	if _, err := srv.WriteTo([]byte("answer"), from); err != nil {
		t.Fatal(err)
	}
	n, err = cl.Read(buf)
	if err != nil || string(buf[:n]) != "answer" {
		t.Fatalf("client read %q %v", buf[:n], err)
	}
}

func TestIPv6LinkLocal(t *testing.T) {
	a, b := pair(t, DefaultConfig(), Config{Addr: netip.MustParsePrefix("10.0.2.2/24")})
	// Both ends have an EUI-64 link-local address from their MAC.
	ll := func(s *Stack) netip.Addr {
		addr, err := s.S.GetMainNICAddress(s.nics[0].ID, ipv6.ProtocolNumber)
		if err != nil {
			t.Fatal(err)
		}
		return netip.AddrFrom16(addr.Address.As16())
	}
	if got := ll(a).String(); got != "fe80::5054:ff:fe12:3456" {
		t.Fatalf("link-local %s", got)
	}
	// A global address on both, with its on-link route, for TCP over IPv6.
	for i, s := range []*Stack{a, b} {
		p := netip.MustParsePrefix([]string{"fec0::15/64", "fec0::2/64"}[i])
		if err := s.addAddr(s.nics[0].ID, p); err != nil {
			t.Fatal(err)
		}
		s.S.AddRoute(tcpip.Route{Destination: subnet(p), NIC: s.nics[0].ID})
	}
	transfer(t, a, b, netip.MustParseAddrPort("[fec0::2]:8080"), 128<<10)
	_ = ll(b)
}

func TestParseOptions(t *testing.T) {
	c, err := ParseOptions(Config{}, nil)
	if err != nil || c.Addr != QEMUGuest || c.Gateway != QEMUGateway || len(c.DNS) != 1 || c.DNS[0] != QEMUDNS || c.Static {
		t.Fatalf("defaults %+v %v", c, err)
	}
	if got := c.ResolvConf(); got != "nameserver 10.0.2.3\n" {
		t.Fatalf("resolv.conf %q", got)
	}
	c, err = ParseOptions(Config{}, []string{"--verbose", "--ip=192.168.1.10/24,192.168.1.1", "--nameserver=1.1.1.1", "--nameserver=::1"})
	if err != nil || c.Addr.String() != "192.168.1.10/24" || c.Gateway.String() != "192.168.1.1" || len(c.DNS) != 2 || !c.Static {
		t.Fatalf("--ip: %+v %v", c, err)
	}
	c, err = ParseOptions(Config{}, []string{"--ip=eth0,172.16.0.5,255.255.0.0", "--defaultgw=172.16.0.1"})
	if err != nil || c.Addr.String() != "172.16.0.5/16" || c.Gateway.String() != "172.16.0.1" {
		t.Fatalf("OSv --ip: %+v %v", c, err)
	}
	for _, bad := range [][]string{
		{"--ip=10.0.0.1"},
		{"--ip=eth0,10.0.0.1,255.0.255.0"},
		{"--ip=10.0.0.1/33"},
		{"--ip=10.0.0.1/8,x"},
		{"--defaultgw=::1"},
		{"--nameserver=nope"},
		{"--ip=10.0.0.1/24,10.0.1.1"},
	} {
		if _, err := ParseOptions(Config{}, bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestToolchain fails when the Go toolchain moves past the release the
// pinned netstack's pkg/sync was written for: it reaches runtime internals
// (gopark, goready, wait reasons, map type layout) by name, which change
// between Go releases without notice. Move the gVisor pin with Go.
func TestToolchain(t *testing.T) {
	if v := runtime.Version(); !strings.HasPrefix(v, "go1.26") {
		t.Fatalf("toolchain %s: gvisor.dev/gvisor is pinned for go1.26 (pkg/sync links to runtime internals); update the pin with the toolchain", v)
	}
}

// FuzzDeliver feeds random and truncated frames through the link endpoint
// into a stack that has a listening TCP socket and a UDP socket: no panic.
func FuzzDeliver(f *testing.F) {
	s, err := NewStack(Options{})
	if err != nil {
		f.Fatal(err)
	}
	w := newWire([6]byte{0x52, 0x54, 0, 0x12, 0x34, 0x56})
	nic, err := s.AddNIC(w, DefaultConfig())
	if err != nil {
		f.Fatal(err)
	}
	ln, err := gonet.ListenTCP(s.S, full(netip.MustParseAddrPort("10.0.2.15:80")), ipv4.ProtocolNumber)
	if err != nil {
		f.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for range w.ch { // discard replies
		}
	}()
	defer close(w.done)
	// Seeds: an ARP request for 10.0.2.15, a TCP SYN to port 80, a UDP
	// datagram, an IPv6 neighbour solicitation prefix.
	arpReq := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x55, 0x0a, 0, 2, 2, 0x08, 0x06,
		0, 1, 8, 0, 6, 4, 0, 1, 0x52, 0x55, 0x0a, 0, 2, 2, 10, 0, 2, 2, 0, 0, 0, 0, 0, 0, 10, 0, 2, 15}
	eth := []byte{0x52, 0x54, 0, 0x12, 0x34, 0x56, 0x52, 0x55, 0x0a, 0, 2, 2, 0x08, 0x00}
	syn := append(append([]byte(nil), eth...),
		0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 2, 2, 10, 0, 2, 15,
		0x30, 0x39, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0)
	udp := append(append([]byte(nil), eth...),
		0x45, 0, 0, 32, 0, 1, 0, 0, 64, 17, 0, 0, 10, 0, 2, 2, 10, 0, 2, 15,
		0x30, 0x39, 0, 53, 0, 12, 0, 0, 'a', 'b', 'c', 'd')
	f.Add(arpReq)
	f.Add(syn)
	f.Add(udp)
	f.Add(eth[:13])
	f.Add(append(append([]byte(nil), eth[:12]...), 0x86, 0xdd, 0x60, 0, 0, 0, 0, 8, 58, 255))
	f.Fuzz(func(t *testing.T, frame []byte) {
		nic.Endpoint.Deliver(frame)
	})
}
