package linux

import (
	"encoding/binary"

	"github.com/gosv/gosv/kernel/net/socket"
	unixsock "github.com/gosv/gosv/kernel/net/unix"
	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
)

// Sockets (socket(7), ip(7), tcp(7), udp(7), unix(7)): the handlers decode
// arguments and copy memory; socket_file.go and kernel/net do the rest.
func init() {
	register(unix.SYS_SOCKET, "socket", sysSocket)
	register(unix.SYS_SOCKETPAIR, "socketpair", sysSocketpair)
	register(unix.SYS_BIND, "bind", sysBind)
	register(unix.SYS_LISTEN, "listen", sysListen)
	register(unix.SYS_ACCEPT, "accept", func(t *task.Task, a task.Args) (uintptr, error) { return accept(t, a, 0) })
	register(unix.SYS_ACCEPT4, "accept4", func(t *task.Task, a task.Args) (uintptr, error) { return accept(t, a, int(a[3])) })
	register(unix.SYS_CONNECT, "connect", sysConnect)
	register(unix.SYS_GETSOCKNAME, "getsockname", func(t *task.Task, a task.Args) (uintptr, error) { return sockName(t, a, false) })
	register(unix.SYS_GETPEERNAME, "getpeername", func(t *task.Task, a task.Args) (uintptr, error) { return sockName(t, a, true) })
	register(unix.SYS_SENDTO, "sendto", sysSendto)
	register(unix.SYS_RECVFROM, "recvfrom", sysRecvfrom)
	registerPartial(unix.SYS_SENDMSG, "sendmsg", "SCM_RIGHTS on AF_UNIX sockets; other control messages are ignored", sysSendmsg)
	registerPartial(unix.SYS_RECVMSG, "recvmsg", "SCM_RIGHTS on AF_UNIX sockets; no other control messages are produced", sysRecvmsg)
	register(unix.SYS_SENDMMSG, "sendmmsg", sysSendmmsg)
	register(unix.SYS_RECVMMSG, "recvmmsg", sysRecvmmsg)
	register(unix.SYS_SHUTDOWN, "shutdown", sysShutdown)
	registerPartial(unix.SYS_SETSOCKOPT, "setsockopt", "the common SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP and IPPROTO_IPV6 options; others are ENOPROTOOPT", sysSetsockopt)
	registerPartial(unix.SYS_GETSOCKOPT, "getsockopt", "the common SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP and IPPROTO_IPV6 options; others are ENOPROTOOPT", sysGetsockopt)
}

// maxSockaddr is the largest address accepted (struct sockaddr_storage).
const maxSockaddr = 128

// sockFD returns the socket file of fd: EBADF, or ENOTSOCK for another
// kind of file.
func sockFD(t *task.Task, fd uintptr) (*sockFile, error) {
	f, err := fileArg(t, fd)
	if err != nil {
		return nil, err
	}
	s, ok := f.(*sockFile)
	if !ok {
		return nil, unix.ENOTSOCK
	}
	return s, nil
}

// readSockaddr copies in a sockaddr of n bytes.
func readSockaddr(t *task.Task, addr, n uintptr) ([]byte, error) {
	if int(int32(n)) < 0 || n > maxSockaddr {
		return nil, unix.EINVAL
	}
	b := make([]byte, n)
	if err := t.CopyIn(b, addr); err != nil {
		return nil, err
	}
	return b, nil
}

// writeSockaddr stores sa at addr, cut to the app's *lenp, and sets *lenp
// to its full length (accept, getsockname, recvfrom).
func writeSockaddr(t *task.Task, sa []byte, addr, lenp uintptr) error {
	if addr == 0 || lenp == 0 {
		return nil
	}
	l, err := t.ReadU32(lenp)
	if err != nil {
		return err
	}
	if int32(l) < 0 {
		return unix.EINVAL
	}
	if err := t.CopyOut(addr, sa[:min(int(l), len(sa))]); err != nil {
		return err
	}
	return t.WriteU32(lenp, uint32(len(sa)))
}

// socketFlags splits SOCK_NONBLOCK and SOCK_CLOEXEC off a type argument.
func socketFlags(typ int) (int, bool, bool, error) {
	nonblock, cloexec := typ&unix.SOCK_NONBLOCK != 0, typ&unix.SOCK_CLOEXEC != 0
	typ &^= unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC
	if typ&^0xf != 0 {
		return 0, false, false, unix.EINVAL
	}
	return typ, nonblock, cloexec, nil
}

func unixCred(t *task.Task) unixsock.Cred {
	c, unlock := cred(t)
	defer unlock()
	return unixsock.Cred{PID: int32(t.P.Pid()), UID: int32(c.Euid), GID: int32(c.Egid)}
}

func sysSocket(t *task.Task, a task.Args) (uintptr, error) {
	family := int(a[0])
	typ, nonblock, cloexec, err := socketFlags(int(a[1]))
	if err != nil {
		return 0, err
	}
	var f *sockFile
	switch family {
	case unix.AF_UNIX:
		if a[2] != 0 {
			return 0, unix.EPROTONOSUPPORT
		}
		s, err := unixsock.New(t.P.K.UnixNamespace(), typ, unixCred(t))
		if err != nil {
			return 0, err
		}
		f = newSockFile(nil, s)
	case unix.AF_INET, unix.AF_INET6:
		s, err := socket.New(t.P.K.NetStack(), family, typ, int(a[2]))
		if err != nil {
			return 0, err
		}
		f = newSockFile(s, nil)
	default:
		return 0, unix.EAFNOSUPPORT
	}
	fd, err := installNonblocking(t, f, &f.nb, nonblock, cloexec)
	if err != nil {
		f.Close()
	}
	return fd, err
}

func sysSocketpair(t *task.Task, a task.Args) (uintptr, error) {
	typ, nonblock, cloexec, err := socketFlags(int(a[1]))
	if err != nil {
		return 0, err
	}
	switch {
	case int(a[0]) == unix.AF_INET || int(a[0]) == unix.AF_INET6:
		return 0, unix.EOPNOTSUPP
	case int(a[0]) != unix.AF_UNIX:
		return 0, unix.EAFNOSUPPORT
	case a[2] != 0:
		return 0, unix.EPROTONOSUPPORT
	}
	x, y, err := unixsock.Pair(t.P.K.UnixNamespace(), typ, unixCred(t))
	if err != nil {
		return 0, err
	}
	fx, fy := newSockFile(nil, x), newSockFile(nil, y)
	// Check the destination before installing anything.
	var zero [8]byte
	if err := t.CopyOut(a[3], zero[:]); err != nil {
		x.Close()
		y.Close()
		return 0, err
	}
	fd0, err := installNonblocking(t, fx, &fx.nb, nonblock, cloexec)
	if err != nil {
		x.Close()
		y.Close()
		return 0, err
	}
	fd1, err := installNonblocking(t, fy, &fy.nb, nonblock, cloexec)
	if err != nil {
		t.P.FDs.Close(int(fd0))
		y.Close()
		return 0, err
	}
	var b [8]byte
	binary.LittleEndian.PutUint32(b[0:], uint32(fd0))
	binary.LittleEndian.PutUint32(b[4:], uint32(fd1))
	return 0, t.CopyOut(a[3], b[:])
}

func sysBind(t *task.Task, a task.Args) (uintptr, error) {
	f, err := sockFD(t, a[0])
	if err != nil {
		return 0, err
	}
	sa, err := readSockaddr(t, a[1], a[2])
	if err != nil {
		return 0, err
	}
	if f.inet != nil {
		return 0, f.inet.Bind(sa)
	}
	return 0, f.local.Bind(sa, unixPaths{t})
}

func sysListen(t *task.Task, a task.Args) (uintptr, error) {
	f, err := sockFD(t, a[0])
	if err != nil {
		return 0, err
	}
	if f.inet != nil {
		return 0, f.inet.Listen(int(int32(a[1])))
	}
	return 0, f.local.Listen(int(int32(a[1])))
}

func accept(t *task.Task, a task.Args, flags int) (uintptr, error) {
	if flags&^(unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC) != 0 {
		return 0, unix.EINVAL
	}
	f, err := sockFD(t, a[0])
	if err != nil {
		return 0, err
	}
	var nf *sockFile
	var peer []byte
	if f.inet != nil {
		s, p, err := f.inet.Accept(t, f.nb.get())
		if err != nil {
			return 0, err
		}
		nf, peer = newSockFile(s, nil), p
	} else {
		s, err := f.local.Accept(t, f.nb.get())
		if err != nil {
			return 0, err
		}
		nf = newSockFile(nil, s)
		peer, _ = s.PeerName()
		if peer == nil {
			peer = unixsock.EncodeAddr("")
		}
	}
	if err := writeSockaddr(t, peer, a[1], a[2]); err != nil {
		nf.Close()
		return 0, err
	}
	fd, err := installNonblocking(t, nf, &nf.nb, flags&unix.SOCK_NONBLOCK != 0, flags&unix.SOCK_CLOEXEC != 0)
	if err != nil {
		nf.Close()
	}
	return fd, err
}

func sysConnect(t *task.Task, a task.Args) (uintptr, error) {
	f, err := sockFD(t, a[0])
	if err != nil {
		return 0, err
	}
	sa, err := readSockaddr(t, a[1], a[2])
	if err != nil {
		return 0, err
	}
	if f.inet != nil {
		return 0, f.inet.Connect(t, sa, f.nb.get())
	}
	return 0, f.local.Connect(t, sa, f.nb.get(), unixPaths{t})
}

func sockName(t *task.Task, a task.Args, peer bool) (uintptr, error) {
	f, err := sockFD(t, a[0])
	if err != nil {
		return 0, err
	}
	var sa []byte
	switch {
	case f.inet != nil && peer:
		sa, err = f.inet.PeerName()
	case f.inet != nil:
		sa, err = f.inet.SockName()
	case peer:
		sa, err = f.local.PeerName()
	default:
		sa = f.local.SockName()
	}
	if err != nil {
		return 0, err
	}
	if a[2] == 0 {
		return 0, unix.EFAULT
	}
	return 0, writeSockaddr(t, sa, a[1], a[2])
}

func sysSendto(t *task.Task, a task.Args) (uintptr, error) {
	f, err := sockFD(t, a[0])
	if err != nil {
		return 0, err
	}
	buf := make([]byte, min(a[2], maxRW))
	if err := t.CopyIn(buf, a[1]); err != nil {
		return 0, err
	}
	var to []byte
	if a[4] != 0 {
		if to, err = readSockaddr(t, a[4], a[5]); err != nil {
			return 0, err
		}
	}
	n, err := f.send(t, buf, to, int(a[3]), nil)
	return uintptr(n), err
}

func sysRecvfrom(t *task.Task, a task.Args) (uintptr, error) {
	f, err := sockFD(t, a[0])
	if err != nil {
		return 0, err
	}
	buf := make([]byte, min(a[2], maxRW))
	if err := checkWritable(t, a[1], len(buf)); err != nil {
		return 0, err
	}
	flags := int(a[3])
	n, from, _, err := f.recv(t, buf, flags, a[4] != 0)
	if err != nil {
		return 0, err
	}
	if err := t.CopyOut(a[1], buf[:min(n, len(buf))]); err != nil {
		return 0, err
	}
	if from != nil {
		if err := writeSockaddr(t, from, a[4], a[5]); err != nil {
			return 0, err
		}
	} else if a[4] != 0 && a[5] != 0 {
		t.WriteU32(a[5], 0)
	}
	return uintptr(n), nil
}

func sysShutdown(t *task.Task, a task.Args) (uintptr, error) {
	f, err := sockFD(t, a[0])
	if err != nil {
		return 0, err
	}
	if f.inet != nil {
		return 0, f.inet.Shutdown(int(a[1]))
	}
	return 0, f.local.Shutdown(int(a[1]))
}

func sysSetsockopt(t *task.Task, a task.Args) (uintptr, error) {
	f, err := sockFD(t, a[0])
	if err != nil {
		return 0, err
	}
	n := int(int32(a[4]))
	if n < 0 || n > 4096 {
		return 0, unix.EINVAL
	}
	val := make([]byte, n)
	if err := t.CopyIn(val, a[3]); err != nil {
		return 0, err
	}
	if f.inet != nil {
		return 0, f.inet.SetSockOpt(int(a[1]), int(a[2]), val)
	}
	// AF_UNIX: the generic options are accepted and have no effect.
	if int(a[1]) != unix.SOL_SOCKET {
		return 0, unix.EOPNOTSUPP
	}
	return 0, nil
}

func sysGetsockopt(t *task.Task, a task.Args) (uintptr, error) {
	f, err := sockFD(t, a[0])
	if err != nil {
		return 0, err
	}
	level, name := int(a[1]), int(a[2])
	var val []byte
	if f.inet != nil {
		val, err = f.inet.GetSockOpt(level, name)
	} else {
		val, err = unixSockOpt(f.local, level, name)
	}
	if err != nil {
		return 0, err
	}
	l, err := t.ReadU32(a[4])
	if err != nil {
		return 0, err
	}
	if int32(l) < 0 {
		return 0, unix.EINVAL
	}
	n := min(int(l), len(val))
	if err := t.CopyOut(a[3], val[:n]); err != nil {
		return 0, err
	}
	return 0, t.WriteU32(a[4], uint32(n))
}

// unixSockOpt answers getsockopt on an AF_UNIX socket.
func unixSockOpt(s *unixsock.Socket, level, name int) ([]byte, error) {
	if level != unix.SOL_SOCKET {
		return nil, unix.EOPNOTSUPP
	}
	i := func(v int) []byte {
		b := make([]byte, 4)
		binary.LittleEndian.PutUint32(b, uint32(int32(v)))
		return b
	}
	switch name {
	case unix.SO_TYPE:
		return i(s.Type()), nil
	case unix.SO_DOMAIN:
		return i(unix.AF_UNIX), nil
	case unix.SO_PROTOCOL, unix.SO_ERROR:
		return i(0), nil
	case unix.SO_ACCEPTCONN:
		if s.Listening() {
			return i(1), nil
		}
		return i(0), nil
	case unix.SO_SNDBUF, unix.SO_RCVBUF:
		return i(212992), nil
	case unix.SO_PEERCRED:
		c := s.PeerCred()
		b := make([]byte, 12)
		binary.LittleEndian.PutUint32(b, uint32(c.PID))
		binary.LittleEndian.PutUint32(b[4:], uint32(c.UID))
		binary.LittleEndian.PutUint32(b[8:], uint32(c.GID))
		return b, nil
	}
	return nil, unix.ENOPROTOOPT
}
