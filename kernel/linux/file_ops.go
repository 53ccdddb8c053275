package linux

import (
	"github.com/gosv/gosv/kernel/task"
	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

// atFDCWD is AT_FDCWD as a syscall argument.
const atFDCWD = uintptr(1<<64 + unix.AT_FDCWD)

// Syscalls on paths: open(2), stat(2), mkdir(2), rename(2), ... Each
// legacy call is its *at form with AT_FDCWD.
func init() {
	register(unix.SYS_OPEN, "open", func(t *task.Task, a task.Args) (uintptr, error) {
		return openat(t, unix.AT_FDCWD, a[0], int(int32(a[1])), uint32(a[2]))
	})
	register(unix.SYS_OPENAT, "openat", func(t *task.Task, a task.Args) (uintptr, error) {
		return openat(t, int(int32(a[0])), a[1], int(int32(a[2])), uint32(a[3]))
	})
	register(unix.SYS_OPENAT2, "openat2", sysOpenat2)
	register(unix.SYS_CREAT, "creat", func(t *task.Task, a task.Args) (uintptr, error) {
		return openat(t, unix.AT_FDCWD, a[0], unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, uint32(a[1]))
	})
	register(unix.SYS_STAT, "stat", func(t *task.Task, a task.Args) (uintptr, error) {
		return sysNewfstatat(t, task.Args{atFDCWD, a[0], a[1], 0})
	})
	register(unix.SYS_LSTAT, "lstat", func(t *task.Task, a task.Args) (uintptr, error) {
		return sysNewfstatat(t, task.Args{atFDCWD, a[0], a[1], unix.AT_SYMLINK_NOFOLLOW})
	})
	register(unix.SYS_NEWFSTATAT, "newfstatat", sysNewfstatat)
	register(unix.SYS_STATX, "statx", sysStatx)
	register(unix.SYS_READLINKAT, "readlinkat", sysReadlinkat)
	register(unix.SYS_READLINK, "readlink", func(t *task.Task, a task.Args) (uintptr, error) {
		return sysReadlinkat(t, task.Args{atFDCWD, a[0], a[1], a[2]})
	})
	register(unix.SYS_MKDIRAT, "mkdirat", sysMkdirat)
	register(unix.SYS_MKDIR, "mkdir", func(t *task.Task, a task.Args) (uintptr, error) {
		return sysMkdirat(t, task.Args{atFDCWD, a[0], a[1]})
	})
	register(unix.SYS_MKNODAT, "mknodat", sysMknodat)
	register(unix.SYS_MKNOD, "mknod", func(t *task.Task, a task.Args) (uintptr, error) {
		return sysMknodat(t, task.Args{atFDCWD, a[0], a[1], a[2]})
	})
	register(unix.SYS_UNLINKAT, "unlinkat", sysUnlinkat)
	register(unix.SYS_UNLINK, "unlink", func(t *task.Task, a task.Args) (uintptr, error) {
		return sysUnlinkat(t, task.Args{atFDCWD, a[0], 0})
	})
	register(unix.SYS_RMDIR, "rmdir", func(t *task.Task, a task.Args) (uintptr, error) {
		return sysUnlinkat(t, task.Args{atFDCWD, a[0], unix.AT_REMOVEDIR})
	})
	register(unix.SYS_RENAMEAT2, "renameat2", sysRenameat2)
	register(unix.SYS_RENAMEAT, "renameat", func(t *task.Task, a task.Args) (uintptr, error) {
		return sysRenameat2(t, task.Args{a[0], a[1], a[2], a[3], 0})
	})
	register(unix.SYS_RENAME, "rename", func(t *task.Task, a task.Args) (uintptr, error) {
		return sysRenameat2(t, task.Args{atFDCWD, a[0], atFDCWD, a[1], 0})
	})
	register(unix.SYS_LINKAT, "linkat", sysLinkat)
	register(unix.SYS_LINK, "link", func(t *task.Task, a task.Args) (uintptr, error) {
		return sysLinkat(t, task.Args{atFDCWD, a[0], atFDCWD, a[1], 0})
	})
	register(unix.SYS_SYMLINKAT, "symlinkat", sysSymlinkat)
	register(unix.SYS_SYMLINK, "symlink", func(t *task.Task, a task.Args) (uintptr, error) {
		return sysSymlinkat(t, task.Args{a[0], atFDCWD, a[1]})
	})
	register(unix.SYS_FACCESSAT2, "faccessat2", sysFaccessat2)
	register(unix.SYS_FACCESSAT, "faccessat", func(t *task.Task, a task.Args) (uintptr, error) {
		return sysFaccessat2(t, task.Args{a[0], a[1], a[2], 0})
	})
	register(unix.SYS_ACCESS, "access", func(t *task.Task, a task.Args) (uintptr, error) {
		return sysFaccessat2(t, task.Args{atFDCWD, a[0], a[1], 0})
	})
	register(unix.SYS_FCHMODAT2, "fchmodat2", sysFchmodat2)
	register(unix.SYS_FCHMODAT, "fchmodat", func(t *task.Task, a task.Args) (uintptr, error) {
		return sysFchmodat2(t, task.Args{a[0], a[1], a[2], 0})
	})
	register(unix.SYS_CHMOD, "chmod", func(t *task.Task, a task.Args) (uintptr, error) {
		return sysFchmodat2(t, task.Args{atFDCWD, a[0], a[1], 0})
	})
	register(unix.SYS_FCHOWNAT, "fchownat", sysFchownat)
	register(unix.SYS_CHOWN, "chown", func(t *task.Task, a task.Args) (uintptr, error) {
		return sysFchownat(t, task.Args{atFDCWD, a[0], a[1], a[2], 0})
	})
	register(unix.SYS_LCHOWN, "lchown", func(t *task.Task, a task.Args) (uintptr, error) {
		return sysFchownat(t, task.Args{atFDCWD, a[0], a[1], a[2], unix.AT_SYMLINK_NOFOLLOW})
	})
	register(unix.SYS_UTIMENSAT, "utimensat", sysUtimensat)
	register(unix.SYS_UTIMES, "utimes", func(t *task.Task, a task.Args) (uintptr, error) {
		return futimesat(t, unix.AT_FDCWD, a[0], a[1])
	})
	register(unix.SYS_FUTIMESAT, "futimesat", func(t *task.Task, a task.Args) (uintptr, error) {
		return futimesat(t, int(int32(a[0])), a[1], a[2])
	})
	register(unix.SYS_UTIME, "utime", sysUtime)
	register(unix.SYS_GETCWD, "getcwd", sysGetcwd)
	register(unix.SYS_CHDIR, "chdir", sysChdir)
	register(unix.SYS_UMASK, "umask", func(t *task.Task, a task.Args) (uintptr, error) {
		return uintptr(t.P.FS.Umask(uint32(a[0]) & 0o777)), nil
	})
	register(unix.SYS_TRUNCATE, "truncate", sysTruncate)
	register(unix.SYS_STATFS, "statfs", sysStatfs)
}

// openat opens a file as openat(2) and installs it.
func openat(t *task.Task, dirfd int, addr uintptr, flags int, mode uint32) (uintptr, error) {
	return openat2(t, dirfd, addr, flags, mode&0o7777, 0)
}

// sysOpenat2 is openat2(2): struct open_how {u64 flags, mode, resolve}
// of size bytes, checked as Linux does (vfs.ParseOpenHow).
func sysOpenat2(t *task.Task, a task.Args) (uintptr, error) {
	size := a[3]
	if size < vfs.OpenHowSizeVer0 {
		return 0, unix.EINVAL
	}
	if size > vfs.OpenHowSizeMax {
		return 0, unix.E2BIG
	}
	b := make([]byte, size)
	if err := t.CopyIn(b, a[2]); err != nil {
		return 0, err
	}
	how, err := vfs.ParseOpenHow(b)
	if err != nil {
		return 0, err
	}
	return openat2(t, int(int32(a[0])), a[1], int(how.Flags), uint32(how.Mode), how.Resolve)
}

// openat2 opens a file with RESOLVE_* flags and installs it.
func openat2(t *task.Task, dirfd int, addr uintptr, flags int, mode uint32, resolve uint64) (uintptr, error) {
	if flags&unix.O_CREAT != 0 && flags&unix.O_DIRECTORY != 0 {
		return 0, unix.EINVAL
	}
	if full(t.P.FDs) {
		return 0, unix.EMFILE
	}
	p, err := readPath(t, addr)
	if err != nil {
		return 0, err
	}
	tg, err := resolveAt(t, dirfd, p, false)
	if err != nil {
		return 0, err
	}
	if resolve&(vfs.RESOLVE_BENEATH|vfs.RESOLVE_IN_ROOT) != 0 && p[0] == '/' && dirfd != unix.AT_FDCWD {
		// An absolute path still starts from dirfd, which is the root
		// (IN_ROOT) or the fence (BENEATH) of the walk.
		d, err := resolveAt(t, dirfd, ".", false)
		if err != nil {
			return 0, err
		}
		tg.dir = d.dir
	}
	vf, where, err := t.P.FS.OpenResolve(t, tg.dir, tg.path, flags, mode, resolve)
	if err != nil {
		return 0, err
	}
	f, err := wrapFS(t, vf, where, flags)
	if err != nil {
		return 0, err
	}
	st := flags &^ (unix.O_CREAT | unix.O_EXCL | unix.O_NOCTTY | unix.O_TRUNC | unix.O_CLOEXEC)
	if ff, ok := f.(*fsFile); ok {
		st = ff.f.Flags()
	}
	if st&unix.O_PATH == 0 {
		st |= oLargeFile
	} else {
		st &= unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW
	}
	fd, err := t.P.FDs.Install(f, st, flags&unix.O_CLOEXEC != 0, 0)
	if err != nil {
		f.Close()
		return 0, err
	}
	return uintptr(fd), nil
}

// wrapFS makes the File of a file the VFS opened: a file reached through
// /proc/self/fd/N that lives outside the mount tree is that file opened
// again; a FIFO becomes a pipe end.
func wrapFS(t *task.Task, vf vfs.File, w vfs.Where, flags int) (task.File, error) {
	if r, ok := vf.(*reopened); ok {
		return r.f, nil
	}
	if vf.Inode().Stat().Mode&vfs.S_IFMT == vfs.S_IFIFO && flags&unix.O_PATH == 0 {
		f, err := openFIFO(t, vf, w, flags)
		if err == nil {
			w.Loc.M.Hold()
		}
		return f, err
	}
	w.Loc.M.Hold() // released by Close
	return &fsFile{f: vf, loc: w.Loc, path: w.Path}, nil
}

// reopen opens the file behind a /proc/self/fd/N link that has no place
// in the mount tree again, as a new open file description with its own
// flags.
func reopen(f task.File, flags int) (task.File, error) {
	switch f := f.(type) {
	case *pipeEnd:
		return reopenPipe(f, flags), nil
	case *Console:
		return f, nil
	}
	return nil, unix.ENXIO
}

// statTarget returns the attributes of what tg names (the final symlink
// followed with follow) and whether it has a creation time.
func statTarget(t *task.Task, tg pathTarget, follow bool) (vfs.Stat, bool, error) {
	if tg.file != nil {
		return statOf(tg.file)
	}
	flags := 0
	if !follow {
		flags |= unix.AT_SYMLINK_NOFOLLOW
	}
	if tg.empty {
		flags |= unix.AT_EMPTY_PATH
	}
	st, err := t.P.FS.Stat(t, tg.dir, tg.path, flags)
	return st, err == nil && st.Btime != (vfs.Timespec{}), err
}

// statPathArg reads the path argument of newfstatat and statx: NULL with
// AT_EMPTY_PATH is an empty path (Linux 6.11).
func statPathArg(t *task.Task, dirfd, addr uintptr, flags int) (pathTarget, error) {
	empty := flags&unix.AT_EMPTY_PATH != 0
	if addr == 0 && empty {
		return resolveAt(t, int(int32(dirfd)), "", true)
	}
	return resolveArgs(t, dirfd, addr, empty)
}

const atStatxSyncType = 0x6000

func sysNewfstatat(t *task.Task, a task.Args) (uintptr, error) {
	flags := int(int32(a[3]))
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH|unix.AT_NO_AUTOMOUNT|atStatxSyncType) != 0 {
		return 0, unix.EINVAL
	}
	tg, err := statPathArg(t, a[0], a[1], flags)
	if err != nil {
		return 0, err
	}
	st, _, err := statTarget(t, tg, flags&unix.AT_SYMLINK_NOFOLLOW == 0)
	if err != nil {
		return 0, err
	}
	b := st.MarshalLinux()
	return 0, t.CopyOut(a[2], b[:])
}

func sysStatx(t *task.Task, a task.Args) (uintptr, error) {
	flags, mask := int(int32(a[2])), uint32(a[3])
	if mask&unix.STATX__RESERVED != 0 {
		return 0, unix.EINVAL
	}
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH|unix.AT_NO_AUTOMOUNT|atStatxSyncType) != 0 ||
		flags&atStatxSyncType == atStatxSyncType {
		return 0, unix.EINVAL
	}
	tg, err := statPathArg(t, a[0], a[1], flags)
	if err != nil {
		return 0, err
	}
	st, btime, err := statTarget(t, tg, flags&unix.AT_SYMLINK_NOFOLLOW == 0)
	if err != nil {
		return 0, err
	}
	if !btime {
		st.Btime = vfs.Timespec{}
	}
	b := st.MarshalStatx()
	if !btime {
		le.PutUint32(b[0:], unix.STATX_BASIC_STATS)
	}
	return 0, t.CopyOut(a[4], b[:])
}

func sysReadlinkat(t *task.Task, a task.Args) (uintptr, error) {
	size := int(int32(a[3]))
	if size <= 0 {
		return 0, unix.EINVAL
	}
	tg, err := resolveArgs(t, a[0], a[1], true)
	if err != nil {
		return 0, err
	}
	if tg.file != nil {
		return 0, unix.ENOENT
	}
	target, err := t.P.FS.Readlink(t, tg.dir, tg.path)
	if err != nil {
		return 0, err
	}
	b := []byte(target)[:min(len(target), size)]
	return uintptr(len(b)), t.CopyOut(a[2], b)
}

func sysMkdirat(t *task.Task, a task.Args) (uintptr, error) {
	tg, err := resolveArgs(t, a[0], a[1], false)
	if err != nil {
		return 0, err
	}
	return 0, t.P.FS.Mkdir(t, tg.dir, tg.path, uint32(a[2]))
}

// sysMknodat creates regular files and FIFOs; device nodes are EPERM
// (gosv has no device drivers behind them).
func sysMknodat(t *task.Task, a task.Args) (uintptr, error) {
	mode := uint32(a[2])
	switch mode & vfs.S_IFMT {
	case 0, vfs.S_IFREG, vfs.S_IFIFO, vfs.S_IFSOCK:
	case vfs.S_IFCHR, vfs.S_IFBLK, vfs.S_IFDIR:
		return 0, unix.EPERM
	default:
		return 0, unix.EINVAL
	}
	tg, err := resolveArgs(t, a[0], a[1], false)
	if err != nil {
		return 0, err
	}
	return 0, t.P.FS.Mknod(t, tg.dir, tg.path, mode, 0)
}

func sysUnlinkat(t *task.Task, a task.Args) (uintptr, error) {
	flags := int(int32(a[2]))
	if flags&^unix.AT_REMOVEDIR != 0 {
		return 0, unix.EINVAL
	}
	tg, err := resolveArgs(t, a[0], a[1], false)
	if err != nil {
		return 0, err
	}
	if flags&unix.AT_REMOVEDIR != 0 {
		return 0, t.P.FS.Rmdir(t, tg.dir, tg.path)
	}
	return 0, t.P.FS.Unlink(t, tg.dir, tg.path)
}

// twoPaths resolves the two paths of rename and link; a file outside the
// mount tree (AT_EMPTY_PATH on a pipe) cannot be linked: EXDEV.
func twoPaths(t *task.Task, a task.Args, oldEmpty bool) (pathTarget, pathTarget, error) {
	o, err := resolveArgs(t, a[0], a[1], oldEmpty)
	if err != nil {
		return o, o, err
	}
	n, err := resolveArgs(t, a[2], a[3], false)
	if err != nil {
		return o, n, err
	}
	if o.file != nil {
		return o, n, unix.EXDEV
	}
	return o, n, nil
}

func sysRenameat2(t *task.Task, a task.Args) (uintptr, error) {
	o, n, err := twoPaths(t, a, false)
	if err != nil {
		return 0, err
	}
	return 0, t.P.FS.Rename(t, o.dir, o.path, n.dir, n.path, uint(uint32(a[4])))
}

func sysLinkat(t *task.Task, a task.Args) (uintptr, error) {
	flags := int(int32(a[4]))
	if flags&^(unix.AT_SYMLINK_FOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	o, n, err := twoPaths(t, a, flags&unix.AT_EMPTY_PATH != 0)
	if err != nil {
		return 0, err
	}
	return 0, t.P.FS.Link(t, o.dir, o.path, n.dir, n.path, flags)
}

func sysSymlinkat(t *task.Task, a task.Args) (uintptr, error) {
	target, err := readPath(t, a[0])
	if err != nil {
		return 0, err
	}
	tg, err := resolveArgs(t, a[1], a[2], false)
	if err != nil {
		return 0, err
	}
	return 0, t.P.FS.Symlink(t, target, tg.dir, tg.path)
}

func sysFaccessat2(t *task.Task, a task.Args) (uintptr, error) {
	mode, flags := uint32(a[2]), int(int32(a[3]))
	if mode&^7 != 0 || flags&^(unix.AT_EACCESS|unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	tg, err := resolveArgs(t, a[0], a[1], flags&unix.AT_EMPTY_PATH != 0)
	if err != nil {
		return 0, err
	}
	if tg.file != nil {
		st, _, err := statOf(tg.file)
		if err != nil {
			return 0, err
		}
		// The caller is root: only execution needs an x bit.
		if mode&unix.X_OK != 0 && st.Mode&vfs.S_IFMT != vfs.S_IFDIR && st.Mode&0o111 == 0 {
			return 0, unix.EACCES
		}
		return 0, nil
	}
	return 0, t.P.FS.Access(t, tg.dir, tg.path, mode, flags)
}

func sysFchmodat2(t *task.Task, a task.Args) (uintptr, error) {
	flags := int(int32(a[3]))
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	tg, err := resolveArgs(t, a[0], a[1], flags&unix.AT_EMPTY_PATH != 0)
	if err != nil {
		return 0, err
	}
	if tg.file != nil {
		return 0, nil
	}
	return 0, t.P.FS.Chmod(t, tg.dir, tg.path, uint32(a[2]), flags)
}

func sysFchownat(t *task.Task, a task.Args) (uintptr, error) {
	flags := int(int32(a[4]))
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	tg, err := resolveArgs(t, a[0], a[1], flags&unix.AT_EMPTY_PATH != 0)
	if err != nil {
		return 0, err
	}
	if tg.file != nil {
		return 0, nil
	}
	return 0, t.P.FS.Chown(t, tg.dir, tg.path, int(int32(a[2])), int(int32(a[3])), flags)
}

// utimens sets the times of (dirfd, path at addr); addr 0 means dirfd
// itself (futimens).
func utimens(t *task.Task, dirfd int, addr uintptr, times *[2]vfs.Timespec, flags int) error {
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return unix.EINVAL
	}
	if times != nil {
		for _, ts := range times {
			if ts.Nsec != vfs.UTIME_NOW && ts.Nsec != vfs.UTIME_OMIT && (ts.Nsec < 0 || ts.Nsec >= 1e9) {
				return unix.EINVAL
			}
		}
	}
	if addr == 0 {
		if dirfd == unix.AT_FDCWD {
			return unix.EFAULT
		}
		if flags&unix.AT_SYMLINK_NOFOLLOW != 0 {
			return unix.EINVAL
		}
		f, err := t.P.FDs.Get(dirfd)
		if err != nil {
			return err
		}
		if isOPath(f) {
			return unix.EBADF
		}
		if lf, ok := f.(locFile); ok {
			return t.P.FS.UtimensLoc(t, lf.location(), times)
		}
		return nil
	}
	p, err := readPath(t, addr)
	if err != nil {
		return err
	}
	tg, err := resolveAt(t, dirfd, p, flags&unix.AT_EMPTY_PATH != 0)
	if err != nil {
		return err
	}
	if tg.file != nil {
		return nil
	}
	return t.P.FS.Utimens(t, tg.dir, tg.path, times, flags)
}

func sysUtimensat(t *task.Task, a task.Args) (uintptr, error) {
	var times *[2]vfs.Timespec
	if a[2] != 0 {
		var b [32]byte
		if err := t.CopyIn(b[:], a[2]); err != nil {
			return 0, err
		}
		times = &[2]vfs.Timespec{
			{Sec: int64(le.Uint64(b[0:])), Nsec: int64(le.Uint64(b[8:]))},
			{Sec: int64(le.Uint64(b[16:])), Nsec: int64(le.Uint64(b[24:]))},
		}
	}
	return 0, utimens(t, int(int32(a[0])), a[1], times, int(int32(a[3])))
}

// futimesat implements utimes(2) and futimesat(2): struct timeval times.
func futimesat(t *task.Task, dirfd int, path, tv uintptr) (uintptr, error) {
	var times *[2]vfs.Timespec
	if tv != 0 {
		var b [32]byte
		if err := t.CopyIn(b[:], tv); err != nil {
			return 0, err
		}
		times = new([2]vfs.Timespec)
		for i := range times {
			sec, usec := int64(le.Uint64(b[16*i:])), int64(le.Uint64(b[16*i+8:]))
			if usec < 0 || usec >= 1e6 {
				return 0, unix.EINVAL
			}
			times[i] = vfs.Timespec{Sec: sec, Nsec: usec * 1000}
		}
	}
	if path == 0 {
		return 0, unix.EFAULT
	}
	return 0, utimens(t, dirfd, path, times, 0)
}

// sysUtime implements utime(2): struct utimbuf {time_t actime, modtime}.
func sysUtime(t *task.Task, a task.Args) (uintptr, error) {
	var times *[2]vfs.Timespec
	if a[1] != 0 {
		var b [16]byte
		if err := t.CopyIn(b[:], a[1]); err != nil {
			return 0, err
		}
		times = &[2]vfs.Timespec{{Sec: int64(le.Uint64(b[0:]))}, {Sec: int64(le.Uint64(b[8:]))}}
	}
	if a[0] == 0 {
		return 0, unix.EFAULT
	}
	return 0, utimens(t, unix.AT_FDCWD, a[0], times, 0)
}

// sysGetcwd returns the length of the path with its NUL: ERANGE if size
// is too small, ENOENT when the directory was removed.
func sysGetcwd(t *task.Task, a task.Args) (uintptr, error) {
	s, err := t.P.FS.Getcwd()
	if err != nil {
		return 0, err
	}
	if uintptr(len(s)+1) > a[1] {
		return 0, unix.ERANGE
	}
	return uintptr(len(s) + 1), t.CopyOut(a[0], append([]byte(s), 0))
}

func sysChdir(t *task.Task, a task.Args) (uintptr, error) {
	tg, err := resolveArgs(t, atFDCWD, a[0], false)
	if err != nil {
		return 0, err
	}
	return 0, t.P.FS.Chdir(t, tg.dir, tg.path)
}

func sysTruncate(t *task.Task, a task.Args) (uintptr, error) {
	tg, err := resolveArgs(t, atFDCWD, a[0], false)
	if err != nil {
		return 0, err
	}
	return 0, t.P.FS.Truncate(t, tg.dir, tg.path, int64(a[1]))
}

func sysStatfs(t *task.Task, a task.Args) (uintptr, error) {
	tg, err := resolveArgs(t, atFDCWD, a[0], false)
	if err != nil {
		return 0, err
	}
	l, err := t.P.FS.Lookup(t, tg.dir, tg.path, 0)
	if err != nil {
		return 0, err
	}
	return 0, t.CopyOut(a[1], t.P.FS.Statfs(l).Marshal())
}
