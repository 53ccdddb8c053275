package linux

import (
	"github.com/gosv/gosv/kernel/task"
	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

// Extended attributes (xattr(7)): the root filesystem keeps none. Reads
// find no attribute (ENODATA), lists are empty, writes are not supported
// (ENOTSUP) — what `ls -l` and `cp -a` expect from a filesystem without
// ACLs or security labels.
func init() {
	for _, s := range []struct {
		nr   int
		name string
		fd   bool
	}{{unix.SYS_GETXATTR, "getxattr", false}, {unix.SYS_LGETXATTR, "lgetxattr", false}, {unix.SYS_FGETXATTR, "fgetxattr", true}} {
		fd := s.fd
		register(s.nr, s.name, func(t *task.Task, a task.Args) (uintptr, error) { return 0, xattrTarget(t, a[0], fd, unix.ENODATA) })
	}
	for _, s := range []struct {
		nr   int
		name string
		fd   bool
	}{{unix.SYS_LISTXATTR, "listxattr", false}, {unix.SYS_LLISTXATTR, "llistxattr", false}, {unix.SYS_FLISTXATTR, "flistxattr", true}} {
		fd := s.fd
		register(s.nr, s.name, func(t *task.Task, a task.Args) (uintptr, error) { return 0, xattrTarget(t, a[0], fd, nil) })
	}
	for _, s := range []struct {
		nr   int
		name string
		fd   bool
		err  error
	}{
		{unix.SYS_SETXATTR, "setxattr", false, unix.ENOTSUP}, {unix.SYS_LSETXATTR, "lsetxattr", false, unix.ENOTSUP}, {unix.SYS_FSETXATTR, "fsetxattr", true, unix.ENOTSUP},
		{unix.SYS_REMOVEXATTR, "removexattr", false, unix.ENODATA}, {unix.SYS_LREMOVEXATTR, "lremovexattr", false, unix.ENODATA}, {unix.SYS_FREMOVEXATTR, "fremovexattr", true, unix.ENODATA},
	} {
		fd, err := s.fd, s.err
		register(s.nr, s.name, func(t *task.Task, a task.Args) (uintptr, error) { return 0, xattrTarget(t, a[0], fd, err) })
	}
}

// xattrTarget checks that the file exists (EBADF, EFAULT, ENOENT as the
// real call would report) and then returns result.
func xattrTarget(t *task.Task, arg uintptr, isFD bool, result error) error {
	if isFD {
		if _, err := t.P.FDs.Get(int(int32(arg))); err != nil {
			return err
		}
		return result
	}
	path, err := t.ReadString(arg, unix.PathMax)
	if err != nil {
		return err
	}
	if _, err := t.P.FS.Lstat(t, vfs.Loc{}, path); err != nil {
		return err
	}
	return result
}
