package linux

import (
	unixsock "github.com/gosv/gosv/kernel/net/unix"
	"github.com/gosv/gosv/kernel/task"
	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

// unixPaths gives AF_UNIX sockets filesystem names for task t (unix(7)):
// bind creates a socket inode (S_IFSOCK, mode 0777 less the umask) that
// holds the socket; connect and sendto resolve the path like open(2) and
// find the socket there. The name stays until it is unlinked, as on Linux:
// binding it again fails with EADDRINUSE, connecting after the socket
// closed with ECONNREFUSED.
type unixPaths struct{ t *task.Task }

// boundSocket is what a socket inode holds (vfs.AuxHolder).
type boundSocket struct{ s *unixsock.Socket }

func (u unixPaths) BindPath(path string, s *unixsock.Socket) error {
	t := u.t
	if err := t.P.FS.Mknod(t, vfs.Loc{}, path, unix.S_IFSOCK|0o777, 0); err != nil {
		if err == unix.EEXIST {
			return unix.EADDRINUSE
		}
		return err
	}
	loc, err := t.P.FS.Lookup(t, vfs.Loc{}, path, unix.AT_SYMLINK_NOFOLLOW)
	if err != nil {
		return err
	}
	aux, ok := loc.In.(vfs.AuxHolder)
	if !ok {
		return unix.EADDRNOTAVAIL
	}
	aux.LoadOrStoreAux(&boundSocket{s})
	return nil
}

func (u unixPaths) LookupPath(path string) (*unixsock.Socket, error) {
	t := u.t
	loc, err := t.P.FS.Lookup(t, vfs.Loc{}, path, 0)
	if err != nil {
		return nil, err
	}
	if loc.In.Stat().Mode&unix.S_IFMT != unix.S_IFSOCK {
		return nil, unix.ECONNREFUSED
	}
	if err := loc.In.Permission(t, vfs.MayWrite); err != nil {
		return nil, err
	}
	aux, ok := loc.In.(vfs.AuxHolder)
	if !ok {
		return nil, unix.ECONNREFUSED
	}
	b, ok := aux.LoadOrStoreAux(nil).(*boundSocket)
	if !ok || b == nil {
		return nil, unix.ECONNREFUSED
	}
	return b.s, nil
}
