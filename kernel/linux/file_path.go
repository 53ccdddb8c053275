package linux

import (
	"github.com/gosv/gosv/kernel/task"
	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

// Path arguments of the file syscalls. A path is resolved by kernel/vfs
// from the working directory, the root, or the directory of a dirfd; with
// AT_EMPTY_PATH an empty path names the dirfd's file itself, which may be
// a file outside the mount tree (a pipe, an eventfd).

// readPath reads a path argument: EFAULT for a bad pointer, ENAMETOOLONG
// when it does not fit in PATH_MAX bytes with its NUL.
func readPath(t *task.Task, addr uintptr) (string, error) {
	return t.ReadString(addr, vfs.PathMax)
}

// pathTarget is where a path argument leads.
type pathTarget struct {
	dir   vfs.Loc   // the start directory (zero: the working directory)
	path  string    // the path from dir ("" with AT_EMPTY_PATH: dir itself)
	file  task.File // AT_EMPTY_PATH on a file outside the mount tree (pipe, console)
	empty bool      // AT_EMPTY_PATH with an empty path
}

// resolveAt decodes the (dirfd, path) pair of an *at syscall. With
// emptyPath (AT_EMPTY_PATH) an empty path names dirfd itself; otherwise
// it is ENOENT. A relative path needs dirfd to be AT_FDCWD or a directory
// (EBADF, ENOTDIR).
func resolveAt(t *task.Task, dirfd int, p string, emptyPath bool) (pathTarget, error) {
	if p == "" {
		if !emptyPath {
			return pathTarget{}, unix.ENOENT
		}
		if dirfd == unix.AT_FDCWD {
			return pathTarget{empty: true}, nil
		}
		f, err := t.P.FDs.Get(dirfd)
		if err != nil {
			return pathTarget{}, err
		}
		if lf, ok := f.(locFile); ok {
			return pathTarget{dir: lf.location(), empty: true}, nil
		}
		return pathTarget{file: f, empty: true}, nil
	}
	if p[0] == '/' || dirfd == unix.AT_FDCWD {
		return pathTarget{path: p}, nil
	}
	f, err := t.P.FDs.Get(dirfd)
	if err != nil {
		return pathTarget{}, err
	}
	if lf, ok := f.(locFile); ok {
		l := lf.location()
		if l.In.Stat().Mode&vfs.S_IFMT != vfs.S_IFDIR {
			return pathTarget{}, unix.ENOTDIR
		}
		return pathTarget{dir: l, path: p}, nil
	}
	return pathTarget{}, unix.ENOTDIR
}

// resolveArgs reads the path at addr and resolves it against dirfd.
func resolveArgs(t *task.Task, dirfd uintptr, addr uintptr, emptyPath bool) (pathTarget, error) {
	p, err := readPath(t, addr)
	if err != nil {
		return pathTarget{}, err
	}
	return resolveAt(t, int(int32(dirfd)), p, emptyPath)
}
