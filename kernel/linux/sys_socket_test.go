package linux

import (
	"bytes"
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"
)

func sockErr(e unix.Errno) int64 { return -int64(e) }

// The pair passes bytes both ways, SCM_RIGHTS passes a pipe's read end,
// and a closed peer gives end of file and EPIPE with SIGPIPE blocked.
func TestSocketpairAndRights(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	if r := call(task0, unix.SYS_SOCKETPAIR, unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0, buf); r != 0 {
		t.Fatalf("socketpair = %d", r)
	}
	a, _ := task0.ReadU32(buf)
	b, _ := task0.ReadU32(buf + 4)
	if r := call(task0, unix.SYS_FCNTL, uintptr(a), unix.F_GETFD); r != unix.FD_CLOEXEC {
		t.Errorf("F_GETFD = %d, want FD_CLOEXEC", r)
	}
	task0.CopyOut(buf+64, []byte("hello"))
	if r := call(task0, unix.SYS_WRITE, uintptr(a), buf+64, 5); r != 5 {
		t.Fatalf("write = %d", r)
	}
	if r := call(task0, unix.SYS_READ, uintptr(b), buf+128, 16); r != 5 {
		t.Fatalf("read = %d", r)
	}
	// A pipe's read end travels over the socket.
	call(task0, unix.SYS_PIPE2, buf+200, 0)
	prd, _ := task0.ReadU32(buf + 200)
	pwr, _ := task0.ReadU32(buf + 204)
	// msghdr at buf+256: iov at buf+320 -> 1 byte at buf+64; control at buf+384.
	msg := make([]byte, sizeofMsghdr)
	binary.LittleEndian.PutUint64(msg[16:], uint64(buf+320))
	binary.LittleEndian.PutUint64(msg[24:], 1)
	binary.LittleEndian.PutUint64(msg[32:], uint64(buf+384))
	binary.LittleEndian.PutUint64(msg[40:], 24)
	task0.CopyOut(buf+256, msg)
	iov := make([]byte, 16)
	binary.LittleEndian.PutUint64(iov, uint64(buf+64))
	binary.LittleEndian.PutUint64(iov[8:], 1)
	task0.CopyOut(buf+320, iov)
	cm := make([]byte, 24)
	binary.LittleEndian.PutUint64(cm, 20)
	binary.LittleEndian.PutUint32(cm[8:], unix.SOL_SOCKET)
	binary.LittleEndian.PutUint32(cm[12:], unix.SCM_RIGHTS)
	binary.LittleEndian.PutUint32(cm[16:], prd)
	task0.CopyOut(buf+384, cm)
	if r := call(task0, unix.SYS_SENDMSG, uintptr(a), buf+256, 0); r != 1 {
		t.Fatalf("sendmsg = %d", r)
	}
	call(task0, unix.SYS_CLOSE, uintptr(prd)) // the message keeps it open
	task0.CopyOut(buf+384, make([]byte, 24))
	if r := call(task0, unix.SYS_RECVMSG, uintptr(b), buf+256, 0); r != 1 {
		t.Fatalf("recvmsg = %d", r)
	}
	got := make([]byte, 24)
	task0.CopyIn(got, buf+384)
	if binary.LittleEndian.Uint64(got) != 20 || binary.LittleEndian.Uint32(got[12:]) != unix.SCM_RIGHTS {
		t.Fatalf("control message %x", got)
	}
	nfd := binary.LittleEndian.Uint32(got[16:])
	task0.CopyOut(buf+64, []byte("via pipe"))
	call(task0, unix.SYS_WRITE, uintptr(pwr), buf+64, 8)
	if r := call(task0, unix.SYS_READ, uintptr(nfd), buf+128, 16); r != 8 {
		t.Fatalf("read of the passed pipe = %d", r)
	}
	// The peer goes away.
	call(task0, unix.SYS_CLOSE, uintptr(a))
	if r := call(task0, unix.SYS_READ, uintptr(b), buf+128, 16); r != 0 {
		t.Errorf("read after the peer closed = %d, want 0", r)
	}
	if r := call(task0, unix.SYS_SENDTO, uintptr(b), buf+64, 1, unix.MSG_NOSIGNAL, 0, 0); r != sockErr(unix.EPIPE) {
		t.Errorf("send to a closed peer = %d, want EPIPE", r)
	}
}

// A TCP connection over the loopback stack within one process: a
// nonblocking connect, accept, data both ways, addresses.
func TestTCPLoopback(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	ln := call(task0, unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM, 0)
	if ln < 0 {
		t.Fatalf("socket = %d", ln)
	}
	sa := make([]byte, 16)
	binary.LittleEndian.PutUint16(sa, unix.AF_INET)
	copy(sa[4:], []byte{127, 0, 0, 1})
	task0.CopyOut(buf, sa)
	if r := call(task0, unix.SYS_BIND, uintptr(ln), buf, 16); r != 0 {
		t.Fatalf("bind = %d", r)
	}
	if r := call(task0, unix.SYS_LISTEN, uintptr(ln), 8); r != 0 {
		t.Fatalf("listen = %d", r)
	}
	task0.WriteU32(buf+32, 16)
	if r := call(task0, unix.SYS_GETSOCKNAME, uintptr(ln), buf, buf+32); r != 0 {
		t.Fatalf("getsockname = %d", r)
	}
	bound := make([]byte, 16)
	task0.CopyIn(bound, buf)
	if binary.BigEndian.Uint16(bound[2:]) == 0 {
		t.Fatal("no port was chosen")
	}
	c := call(task0, unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK, 0)
	if r := call(task0, unix.SYS_CONNECT, uintptr(c), buf, 16); r != sockErr(unix.EINPROGRESS) && r != 0 {
		t.Fatalf("nonblocking connect = %d, want EINPROGRESS", r)
	}
	task0.WriteU32(buf+32, 16)
	s := call(task0, unix.SYS_ACCEPT4, uintptr(ln), buf+64, buf+32, unix.SOCK_CLOEXEC)
	if s < 0 {
		t.Fatalf("accept4 = %d", s)
	}
	peer := make([]byte, 16)
	task0.CopyIn(peer, buf+64)
	if peer[4] != 127 {
		t.Errorf("peer %x", peer)
	}
	// Wait until the client is writable (connected), as an app would.
	pfd := make([]byte, 8)
	binary.LittleEndian.PutUint32(pfd, uint32(c))
	binary.LittleEndian.PutUint16(pfd[4:], unix.POLLOUT)
	task0.CopyOut(buf+96, pfd)
	if r := call(task0, unix.SYS_POLL, buf+96, 1, 5000); r != 1 {
		t.Fatalf("poll for the connection = %d", r)
	}
	task0.WriteU32(buf+32, 4)
	call(task0, unix.SYS_GETSOCKOPT, uintptr(c), unix.SOL_SOCKET, unix.SO_ERROR, buf+40, buf+32)
	if v, _ := task0.ReadU32(buf + 40); v != 0 {
		t.Fatalf("SO_ERROR = %d", v)
	}
	task0.CopyOut(buf+128, []byte("GET / HTTP/1.0\r\n\r\n"))
	if r := call(task0, unix.SYS_SENDTO, uintptr(c), buf+128, 18, 0, 0, 0); r != 18 {
		t.Fatalf("send = %d", r)
	}
	// MSG_WAITALL for all 18 bytes, which may arrive in pieces.
	if r := call(task0, unix.SYS_RECVFROM, uintptr(s), buf+256, 18, unix.MSG_WAITALL, 0, 0); r != 18 {
		t.Fatalf("recv = %d", r)
	}
	got := make([]byte, 18)
	task0.CopyIn(got, buf+256)
	if !bytes.Equal(got, []byte("GET / HTTP/1.0\r\n\r\n")) {
		t.Errorf("server got %q", got)
	}
	if r := call(task0, unix.SYS_FSTAT, uintptr(s), buf+512); r != 0 {
		t.Fatalf("fstat = %d", r)
	}
	var st [144]byte
	task0.CopyIn(st[:], buf+512)
	if mode := binary.LittleEndian.Uint32(st[24:]); mode&unix.S_IFMT != unix.S_IFSOCK {
		t.Errorf("st_mode %o, want a socket", mode)
	}
	if r := call(task0, unix.SYS_SOCKET, unix.AF_PACKET, unix.SOCK_RAW, 0); r != sockErr(unix.EAFNOSUPPORT) {
		t.Errorf("socket(AF_PACKET) = %d", r)
	}
	if r := call(task0, unix.SYS_BIND, 1, buf, 16); r != sockErr(unix.ENOTSOCK) {
		t.Errorf("bind on the console = %d, want ENOTSOCK", r)
	}
}

// AF_UNIX sockets at filesystem paths: bind makes a socket inode, connect
// finds the listener through it, a second bind is EADDRINUSE, and after
// the listener closes, connecting is ECONNREFUSED until the name is
// unlinked (then ENOENT).
func TestUnixPathSockets(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	sun := append([]byte{unix.AF_UNIX, 0}, "/srv.sock\x00"...)
	task0.CopyOut(buf, sun)
	addrLen := uintptr(len(sun))
	ln := call(task0, unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if r := call(task0, unix.SYS_BIND, uintptr(ln), buf, addrLen); r != 0 {
		t.Fatalf("bind = %d", r)
	}
	var st [144]byte
	task0.CopyOut(buf+200, []byte("/srv.sock\x00"))
	if r := call(task0, unix.SYS_STAT, buf+200, buf+256); r != 0 {
		t.Fatalf("stat of the socket = %d", r)
	}
	task0.CopyIn(st[:], buf+256)
	if mode := binary.LittleEndian.Uint32(st[24:]); mode&unix.S_IFMT != unix.S_IFSOCK {
		t.Errorf("mode %o, want a socket inode", mode)
	}
	other := call(task0, unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if r := call(task0, unix.SYS_BIND, uintptr(other), buf, addrLen); r != sockErr(unix.EADDRINUSE) {
		t.Errorf("second bind = %d, want EADDRINUSE", r)
	}
	call(task0, unix.SYS_LISTEN, uintptr(ln), 4)
	c := call(task0, unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if r := call(task0, unix.SYS_CONNECT, uintptr(c), buf, addrLen); r != 0 {
		t.Fatalf("connect = %d", r)
	}
	s := call(task0, unix.SYS_ACCEPT4, uintptr(ln), 0, 0, 0)
	task0.CopyOut(buf+400, []byte("over a path"))
	call(task0, unix.SYS_WRITE, uintptr(c), buf+400, 11)
	if r := call(task0, unix.SYS_READ, uintptr(s), buf+500, 64); r != 11 {
		t.Errorf("read = %d", r)
	}
	call(task0, unix.SYS_CLOSE, uintptr(ln))
	c2 := call(task0, unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if r := call(task0, unix.SYS_CONNECT, uintptr(c2), buf, addrLen); r != sockErr(unix.ECONNREFUSED) {
		t.Errorf("connect after close = %d, want ECONNREFUSED", r)
	}
	call(task0, unix.SYS_UNLINK, buf+200)
	if r := call(task0, unix.SYS_CONNECT, uintptr(c2), buf, addrLen); r != sockErr(unix.ENOENT) {
		t.Errorf("connect after unlink = %d, want ENOENT", r)
	}
}
