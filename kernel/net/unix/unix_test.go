package unix

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/waiter"
)

type blocker struct{ intr chan struct{} }

func (b blocker) Block(ch <-chan struct{}, deadline time.Time) error {
	select {
	case <-ch:
		return nil
	case <-b.intr:
		return unix.EINTR
	}
}

var nb = blocker{make(chan struct{})}

func abstract(name string) []byte { return EncodeAddr("\x00" + name) }

func TestPairStream(t *testing.T) {
	ns := NewNamespace()
	a, b, err := Pair(ns, unix.SOCK_STREAM, Cred{PID: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r := a.Readiness(waiter.ReadableEvents | waiter.WritableEvents); r != waiter.WritableEvents {
		t.Errorf("fresh pair readiness %v, want writable only", r)
	}
	big := bytes.Repeat([]byte("0123456789"), 100000) // 1 MB: more than the queue holds
	done := make(chan error, 1)
	go func() {
		n, err := a.Send(nb, big, nil, nil, false, nil)
		if err == nil && n != len(big) {
			err = unix.EIO
		}
		a.Close()
		done <- err
	}()
	var got []byte
	buf := make([]byte, 70000)
	for {
		n, _, _, _, err := b.Recv(nb, buf, false, false, false, time.Time{})
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
	if !bytes.Equal(got, big) {
		t.Fatalf("got %d bytes, want %d intact", len(got), len(big))
	}
	if _, err := b.Send(nb, []byte("x"), nil, nil, false, nil); err != unix.EPIPE {
		t.Errorf("send to a closed peer: %v, want EPIPE", err)
	}
	if r := b.Readiness(waiter.EventHUp | waiter.ReadableEvents); r&waiter.EventHUp == 0 {
		t.Errorf("readiness after the peer closed: %v, want HUP", r)
	}
}

func TestRecvNonblockAndInterrupt(t *testing.T) {
	a, _, _ := Pair(NewNamespace(), unix.SOCK_STREAM, Cred{})
	if _, _, _, _, err := a.Recv(nb, make([]byte, 4), false, false, true, time.Time{}); err != unix.EAGAIN {
		t.Errorf("nonblocking recv: %v, want EAGAIN", err)
	}
	intr := blocker{make(chan struct{})}
	close(intr.intr)
	if _, _, _, _, err := a.Recv(intr, make([]byte, 4), false, false, false, time.Time{}); err != unix.EINTR {
		t.Errorf("interrupted recv: %v, want EINTR", err)
	}
}

func TestListenConnectAccept(t *testing.T) {
	ns := NewNamespace()
	ln, _ := New(ns, unix.SOCK_STREAM, Cred{PID: 7})
	if err := ln.Bind(abstract("srv"), nil); err != nil {
		t.Fatal(err)
	}
	other, _ := New(ns, unix.SOCK_STREAM, Cred{})
	if err := other.Bind(abstract("srv"), nil); err != unix.EADDRINUSE {
		t.Errorf("second bind: %v, want EADDRINUSE", err)
	}
	c, _ := New(ns, unix.SOCK_STREAM, Cred{PID: 9, UID: 1000})
	if err := c.Connect(nb, abstract("srv"), false, nil); err != unix.ECONNREFUSED {
		t.Errorf("connect before listen: %v, want ECONNREFUSED", err)
	}
	if err := ln.Listen(1); err != nil {
		t.Fatal(err)
	}
	if err := c.Connect(nb, abstract("srv"), false, nil); err != nil {
		t.Fatal(err)
	}
	if ln.Readiness(waiter.ReadableEvents) == 0 {
		t.Error("listener with a pending connection is not readable")
	}
	s, err := ln.Accept(nb, false)
	if err != nil {
		t.Fatal(err)
	}
	if pc := s.PeerCred(); pc.PID != 9 || pc.UID != 1000 {
		t.Errorf("server's SO_PEERCRED %+v", pc)
	}
	if pc := c.PeerCred(); pc.PID != 7 {
		t.Errorf("client's SO_PEERCRED %+v", pc)
	}
	if pn, _ := c.PeerName(); !bytes.Equal(pn, abstract("srv")) {
		t.Errorf("getpeername %q", pn)
	}
	c.Send(nb, []byte("ping"), []any{"file"}, nil, false, nil)
	buf := make([]byte, 16)
	n, rights, _, _, err := s.Recv(nb, buf, false, false, false, time.Time{})
	if err != nil || string(buf[:n]) != "ping" || len(rights) != 1 || rights[0] != "file" {
		t.Errorf("recv = %q %v %v", buf[:n], rights, err)
	}
	if _, err := ln.Accept(nb, true); err != unix.EAGAIN {
		t.Errorf("accept with none pending: %v, want EAGAIN", err)
	}
	ln.Close()
	c2, _ := New(ns, unix.SOCK_STREAM, Cred{})
	if err := c2.Connect(nb, abstract("srv"), false, nil); err != unix.ECONNREFUSED {
		t.Errorf("connect after the listener closed: %v, want ECONNREFUSED", err)
	}
}

func TestDatagramAndSeqpacket(t *testing.T) {
	ns := NewNamespace()
	srv, _ := New(ns, unix.SOCK_DGRAM, Cred{})
	srv.Bind(abstract("d"), nil)
	cl, _ := New(ns, unix.SOCK_DGRAM, Cred{})
	cl.Bind(EncodeAddr(""), nil) // autobind
	if name := cl.SockName(); len(name) != 8 || name[2] != 0 {
		t.Errorf("autobound name %q", name)
	}
	cl.Send(nb, []byte("one"), nil, abstract("d"), false, nil)
	cl.Send(nb, []byte("second"), nil, abstract("d"), false, nil)
	buf := make([]byte, 3)
	n, _, from, trunc, _ := srv.Recv(nb, buf, false, false, false, time.Time{})
	if string(buf[:n]) != "one" || trunc || from != string(cl.SockName()[2:]) {
		t.Errorf("first datagram %q trunc %v from %q", buf[:n], trunc, from)
	}
	n, _, _, trunc, _ = srv.Recv(nb, buf, false, false, false, time.Time{})
	if string(buf[:n]) != "sec" || !trunc {
		t.Errorf("second datagram %q trunc %v, want \"sec\" truncated", buf[:n], trunc)
	}
	a, b, _ := Pair(ns, unix.SOCK_SEQPACKET, Cred{})
	a.Send(nb, []byte("rec1"), nil, nil, false, nil)
	a.Send(nb, []byte("rec2"), nil, nil, false, nil)
	big := make([]byte, 100)
	n, _, _, _, _ = b.Recv(nb, big, false, false, false, time.Time{})
	if string(big[:n]) != "rec1" {
		t.Errorf("seqpacket record %q, want rec1 alone", big[:n])
	}
}

func TestParseAddr(t *testing.T) {
	if _, err := ParseAddr([]byte{2, 0, 'x'}); err != unix.EINVAL {
		t.Errorf("AF_INET address: %v", err)
	}
	p, err := ParseAddr(append(EncodeAddr("/tmp/s"), 0, 0, 0))
	if err != nil || p != "/tmp/s" {
		t.Errorf("path %q, %v", p, err)
	}
	if _, err := ParseAddr(append([]byte{1, 0}, make([]byte, 109)...)); err != unix.EINVAL {
		t.Errorf("too long: %v", err)
	}
}

func FuzzParseAddr(f *testing.F) {
	f.Add(EncodeAddr("/run/x.sock"))
	f.Add(EncodeAddr("\x00abstract"))
	f.Fuzz(func(t *testing.T, b []byte) {
		name, err := ParseAddr(b)
		if err != nil || name == "" {
			return
		}
		again, err := ParseAddr(EncodeAddr(name))
		if err != nil || again != name {
			t.Fatalf("%q -> %q -> %q, %v", b, name, again, err)
		}
	})
}
