package linux

import "golang.org/x/sys/unix"

// Sockets (socket(7)). Networking comes with virtio-net and gVisor's
// netstack; until then every socket call fails with ENOSYS, logged once.
func init() {
	const noNet = "networking is not implemented yet"
	for _, s := range []struct {
		nr   int
		name string
	}{
		{unix.SYS_SOCKET, "socket"}, {unix.SYS_SOCKETPAIR, "socketpair"},
		{unix.SYS_CONNECT, "connect"}, {unix.SYS_ACCEPT, "accept"}, {unix.SYS_ACCEPT4, "accept4"},
		{unix.SYS_BIND, "bind"}, {unix.SYS_LISTEN, "listen"}, {unix.SYS_SHUTDOWN, "shutdown"},
		{unix.SYS_SENDTO, "sendto"}, {unix.SYS_RECVFROM, "recvfrom"},
		{unix.SYS_SENDMSG, "sendmsg"}, {unix.SYS_RECVMSG, "recvmsg"},
		{unix.SYS_SENDMMSG, "sendmmsg"}, {unix.SYS_RECVMMSG, "recvmmsg"},
		{unix.SYS_GETSOCKNAME, "getsockname"}, {unix.SYS_GETPEERNAME, "getpeername"},
		{unix.SYS_SETSOCKOPT, "setsockopt"}, {unix.SYS_GETSOCKOPT, "getsockopt"},
	} {
		registerUnsupported(s.nr, s.name, noNet)
	}
}
