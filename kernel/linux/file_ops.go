package linux

import (
	"path"

	fs "github.com/gosv/gosv/kernel/fsimpl/ramfs"
	"golang.org/x/sys/unix"
)

// atFDCWD is AT_FDCWD as a syscall argument.
const atFDCWD = uintptr(1<<64 + unix.AT_FDCWD)

// Syscalls on paths: open(2), stat(2), mkdir(2), rename(2), ... Each
// legacy call is its *at form with AT_FDCWD.
func init() {
	register(unix.SYS_OPEN, "open", func(t *Task, a Args) (uintptr, error) {
		return t.openat(unix.AT_FDCWD, a[0], int(int32(a[1])), uint32(a[2]))
	})
	register(unix.SYS_OPENAT, "openat", func(t *Task, a Args) (uintptr, error) {
		return t.openat(int(int32(a[0])), a[1], int(int32(a[2])), uint32(a[3]))
	})
	register(unix.SYS_CREAT, "creat", func(t *Task, a Args) (uintptr, error) {
		return t.openat(unix.AT_FDCWD, a[0], unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, uint32(a[1]))
	})
	register(unix.SYS_STAT, "stat", func(t *Task, a Args) (uintptr, error) {
		return sysNewfstatat(t, Args{atFDCWD, a[0], a[1], 0})
	})
	register(unix.SYS_LSTAT, "lstat", func(t *Task, a Args) (uintptr, error) {
		return sysNewfstatat(t, Args{atFDCWD, a[0], a[1], unix.AT_SYMLINK_NOFOLLOW})
	})
	register(unix.SYS_NEWFSTATAT, "newfstatat", sysNewfstatat)
	register(unix.SYS_STATX, "statx", sysStatx)
	register(unix.SYS_READLINKAT, "readlinkat", sysReadlinkat)
	register(unix.SYS_READLINK, "readlink", func(t *Task, a Args) (uintptr, error) {
		return sysReadlinkat(t, Args{atFDCWD, a[0], a[1], a[2]})
	})
	register(unix.SYS_MKDIRAT, "mkdirat", sysMkdirat)
	register(unix.SYS_MKDIR, "mkdir", func(t *Task, a Args) (uintptr, error) {
		return sysMkdirat(t, Args{atFDCWD, a[0], a[1]})
	})
	register(unix.SYS_MKNODAT, "mknodat", sysMknodat)
	register(unix.SYS_MKNOD, "mknod", func(t *Task, a Args) (uintptr, error) {
		return sysMknodat(t, Args{atFDCWD, a[0], a[1], a[2]})
	})
	register(unix.SYS_UNLINKAT, "unlinkat", sysUnlinkat)
	register(unix.SYS_UNLINK, "unlink", func(t *Task, a Args) (uintptr, error) {
		return sysUnlinkat(t, Args{atFDCWD, a[0], 0})
	})
	register(unix.SYS_RMDIR, "rmdir", func(t *Task, a Args) (uintptr, error) {
		return sysUnlinkat(t, Args{atFDCWD, a[0], unix.AT_REMOVEDIR})
	})
	register(unix.SYS_RENAMEAT2, "renameat2", sysRenameat2)
	register(unix.SYS_RENAMEAT, "renameat", func(t *Task, a Args) (uintptr, error) {
		return sysRenameat2(t, Args{a[0], a[1], a[2], a[3], 0})
	})
	register(unix.SYS_RENAME, "rename", func(t *Task, a Args) (uintptr, error) {
		return sysRenameat2(t, Args{atFDCWD, a[0], atFDCWD, a[1], 0})
	})
	register(unix.SYS_LINKAT, "linkat", sysLinkat)
	register(unix.SYS_LINK, "link", func(t *Task, a Args) (uintptr, error) {
		return sysLinkat(t, Args{atFDCWD, a[0], atFDCWD, a[1], 0})
	})
	register(unix.SYS_SYMLINKAT, "symlinkat", sysSymlinkat)
	register(unix.SYS_SYMLINK, "symlink", func(t *Task, a Args) (uintptr, error) {
		return sysSymlinkat(t, Args{a[0], atFDCWD, a[1]})
	})
	register(unix.SYS_FACCESSAT2, "faccessat2", sysFaccessat2)
	register(unix.SYS_FACCESSAT, "faccessat", func(t *Task, a Args) (uintptr, error) {
		return sysFaccessat2(t, Args{a[0], a[1], a[2], 0})
	})
	register(unix.SYS_ACCESS, "access", func(t *Task, a Args) (uintptr, error) {
		return sysFaccessat2(t, Args{atFDCWD, a[0], a[1], 0})
	})
	register(unix.SYS_FCHMODAT2, "fchmodat2", sysFchmodat2)
	register(unix.SYS_FCHMODAT, "fchmodat", func(t *Task, a Args) (uintptr, error) {
		return sysFchmodat2(t, Args{a[0], a[1], a[2], 0})
	})
	register(unix.SYS_CHMOD, "chmod", func(t *Task, a Args) (uintptr, error) {
		return sysFchmodat2(t, Args{atFDCWD, a[0], a[1], 0})
	})
	register(unix.SYS_FCHOWNAT, "fchownat", sysFchownat)
	register(unix.SYS_CHOWN, "chown", func(t *Task, a Args) (uintptr, error) {
		return sysFchownat(t, Args{atFDCWD, a[0], a[1], a[2], 0})
	})
	register(unix.SYS_LCHOWN, "lchown", func(t *Task, a Args) (uintptr, error) {
		return sysFchownat(t, Args{atFDCWD, a[0], a[1], a[2], unix.AT_SYMLINK_NOFOLLOW})
	})
	register(unix.SYS_UTIMENSAT, "utimensat", sysUtimensat)
	register(unix.SYS_UTIMES, "utimes", func(t *Task, a Args) (uintptr, error) {
		return futimesat(t, unix.AT_FDCWD, a[0], a[1])
	})
	register(unix.SYS_FUTIMESAT, "futimesat", func(t *Task, a Args) (uintptr, error) {
		return futimesat(t, int(int32(a[0])), a[1], a[2])
	})
	register(unix.SYS_UTIME, "utime", sysUtime)
	register(unix.SYS_GETCWD, "getcwd", sysGetcwd)
	register(unix.SYS_CHDIR, "chdir", sysChdir)
	register(unix.SYS_UMASK, "umask", func(t *Task, a Args) (uintptr, error) {
		return uintptr(t.P.FS.Umask(uint32(a[0]) & 0o777)), nil
	})
	register(unix.SYS_TRUNCATE, "truncate", sysTruncate)
	register(unix.SYS_STATFS, "statfs", sysStatfs)
}

// fallbackToProc reports whether an FS error may come from a symlink into
// /proc or /sys, which the FS cannot follow.
func fallbackToProc(tg pathTarget, err error) bool {
	return (err == unix.ENOENT || err == unix.ENOTDIR) && tg.path != "" && tg.proc == "" && tg.file == nil
}

// openat opens a file as openat(2) and installs it.
func (t *Task) openat(dirfd int, addr uintptr, flags int, mode uint32) (uintptr, error) {
	if flags&unix.O_CREAT != 0 && flags&unix.O_DIRECTORY != 0 {
		return 0, unix.EINVAL
	}
	if t.P.FDs.full() {
		return 0, unix.EMFILE
	}
	p, err := t.readPath(addr)
	if err != nil {
		return 0, err
	}
	tg, err := t.resolveAt(dirfd, p, false)
	if err != nil {
		return 0, err
	}
	f, err := t.openTarget(tg, flags, mode&0o7777)
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

// openTarget opens what tg names with open(2) flags and mode.
func (t *Task) openTarget(tg pathTarget, flags int, mode uint32) (File, error) {
	if tg.proc != "" {
		return t.openProcPath(tg.proc, flags, mode)
	}
	ff, err := t.P.FS.Open(tg.dir, tg.path, flags, mode)
	if fallbackToProc(tg, err) {
		if v, ok := t.fsLinkIntoProc(tg.dir, tg.path, flags&unix.O_NOFOLLOW == 0); ok {
			return t.openProcPath(v, flags, mode)
		}
	}
	if err != nil {
		return nil, err
	}
	return t.wrapFS(ff, tg.dir, tg.path, flags)
}

// wrapFS makes the File of a file opened in the FS at (dir, p).
func (t *Task) wrapFS(ff *fs.File, dir *fs.Inode, p string, flags int) (File, error) {
	ino := ff.Inode()
	name := canonicalPath(t.P.FS, dir, p, ino, ino.Type() != fs.S_IFLNK)
	if ino.Type() == fs.S_IFIFO && flags&unix.O_PATH == 0 {
		return t.openFIFO(ff, flags, name)
	}
	return &fsFile{f: ff, path: name}, nil
}

// openProcPath opens a /proc or /sys path.
func (t *Task) openProcPath(p string, flags int, mode uint32) (File, error) {
	follow := flags&unix.O_NOFOLLOW == 0 && flags&(unix.O_CREAT|unix.O_EXCL) != unix.O_CREAT|unix.O_EXCL
	r, err := t.procWalk(p, follow)
	if err == unix.ENOENT && flags&unix.O_CREAT != 0 && !isProcPath(path.Clean(p)) {
		if _, perr := t.procWalk(p+"/..", true); perr == nil {
			return nil, unix.EACCES // sysfs has no create operation
		}
	}
	if err != nil {
		return nil, err
	}
	switch {
	case r.fsPath != "":
		ff, err := t.P.FS.Open(nil, r.fsPath, flags, mode)
		if err != nil {
			return nil, err
		}
		return t.wrapFS(ff, nil, r.fsPath, flags)
	case r.file != nil:
		return t.reopen(r.file, flags)
	}
	return t.openProc(r, flags)
}

// reopen opens the file behind a /proc/self/fd/N link again, as a new
// open file description with its own flags.
func (t *Task) reopen(f File, flags int) (File, error) {
	switch f := f.(type) {
	case *fsFile:
		ff, err := t.P.FS.Open(nil, f.path, flags&^(unix.O_CREAT|unix.O_EXCL), 0)
		if err != nil {
			return nil, err
		}
		return t.wrapFS(ff, nil, f.path, flags)
	case *fifoFile:
		return t.openFIFO(f.f, flags, f.path)
	case *pipeEnd:
		return reopenPipe(f, flags), nil
	case *procFile, *procDir:
		return t.openProcPath(filePath(f), flags, 0)
	case *Console:
		return f, nil
	}
	return nil, unix.ENXIO
}

// statTarget returns the attributes of what tg names (the final symlink
// followed with follow) and whether it has a creation time.
func (t *Task) statTarget(tg pathTarget, follow bool) (fs.Stat, bool, error) {
	switch {
	case tg.file != nil:
		return statOf(tg.file)
	case tg.proc != "":
		return t.statProc(tg.proc, follow)
	}
	flags := 0
	if !follow {
		flags |= unix.AT_SYMLINK_NOFOLLOW
	}
	if tg.empty {
		flags |= unix.AT_EMPTY_PATH
	}
	st, err := t.P.FS.Stat(tg.dir, tg.path, flags)
	if fallbackToProc(tg, err) {
		if v, ok := t.fsLinkIntoProc(tg.dir, tg.path, follow); ok {
			return t.statProc(v, follow)
		}
	}
	return st, err == nil, err
}

func (t *Task) statProc(p string, follow bool) (fs.Stat, bool, error) {
	r, err := t.procWalk(p, follow)
	if err != nil {
		return fs.Stat{}, false, err
	}
	switch {
	case r.fsPath != "":
		flags := 0
		if !follow {
			flags = unix.AT_SYMLINK_NOFOLLOW
		}
		st, err := t.P.FS.Stat(nil, r.fsPath, flags)
		return st, err == nil, err
	case r.file != nil:
		return statOf(r.file)
	}
	return procStat(r.path, r.node.mode), false, nil
}

// statPathArg reads the path argument of newfstatat and statx: NULL with
// AT_EMPTY_PATH is an empty path (Linux 6.11).
func (t *Task) statPathArg(dirfd, addr uintptr, flags int) (pathTarget, error) {
	empty := flags&unix.AT_EMPTY_PATH != 0
	if addr == 0 && empty {
		return t.resolveAt(int(int32(dirfd)), "", true)
	}
	return t.resolveArgs(dirfd, addr, empty)
}

const atStatxSyncType = 0x6000

func sysNewfstatat(t *Task, a Args) (uintptr, error) {
	flags := int(int32(a[3]))
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH|unix.AT_NO_AUTOMOUNT|atStatxSyncType) != 0 {
		return 0, unix.EINVAL
	}
	tg, err := t.statPathArg(a[0], a[1], flags)
	if err != nil {
		return 0, err
	}
	st, _, err := t.statTarget(tg, flags&unix.AT_SYMLINK_NOFOLLOW == 0)
	if err != nil {
		return 0, err
	}
	b := st.MarshalLinux()
	return 0, t.CopyOut(a[2], b[:])
}

func sysStatx(t *Task, a Args) (uintptr, error) {
	flags, mask := int(int32(a[2])), uint32(a[3])
	if mask&unix.STATX__RESERVED != 0 {
		return 0, unix.EINVAL
	}
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH|unix.AT_NO_AUTOMOUNT|atStatxSyncType) != 0 ||
		flags&atStatxSyncType == atStatxSyncType {
		return 0, unix.EINVAL
	}
	tg, err := t.statPathArg(a[0], a[1], flags)
	if err != nil {
		return 0, err
	}
	st, btime, err := t.statTarget(tg, flags&unix.AT_SYMLINK_NOFOLLOW == 0)
	if err != nil {
		return 0, err
	}
	if !btime {
		st.Btime = fs.Timespec{}
	}
	b := st.MarshalStatx()
	if !btime {
		le.PutUint32(b[0:], unix.STATX_BASIC_STATS)
	}
	return 0, t.CopyOut(a[4], b[:])
}

func sysReadlinkat(t *Task, a Args) (uintptr, error) {
	size := int(int32(a[3]))
	if size <= 0 {
		return 0, unix.EINVAL
	}
	tg, err := t.resolveArgs(a[0], a[1], true)
	if err != nil {
		return 0, err
	}
	target, err := t.readlinkTarget(tg)
	if err != nil {
		return 0, err
	}
	b := []byte(target)[:min(len(target), size)]
	return uintptr(len(b)), t.CopyOut(a[2], b)
}

func (t *Task) readlinkTarget(tg pathTarget) (string, error) {
	switch {
	case tg.file != nil:
		if pf, ok := tg.file.(*procFile); ok && pf.mode&fs.S_IFMT == fs.S_IFLNK {
			return t.readlinkProc(pf.path)
		}
		return "", unix.ENOENT
	case tg.proc != "":
		return t.readlinkProc(tg.proc)
	}
	s, err := t.P.FS.Readlink(tg.dir, tg.path)
	if fallbackToProc(tg, err) {
		if v, ok := t.fsLinkIntoProc(tg.dir, tg.path, false); ok {
			return t.readlinkProc(v)
		}
	}
	return s, err
}

func (t *Task) readlinkProc(p string) (string, error) {
	r, err := t.procWalk(p, false)
	if err != nil {
		return "", err
	}
	switch {
	case r.fsPath != "":
		return t.P.FS.Readlink(nil, r.fsPath)
	case r.file != nil || !r.node.isLink():
		return "", unix.EINVAL
	}
	return r.node.link()
}

// procModify is the answer of /proc and /sys to syscalls that change the
// namespace or attributes: ENOENT (or EEXIST for creations) as the path
// says, else EPERM (they have no such operations). A missing name in /proc
// is ENOENT even to create it, as proc's lookup fails; sysfs lets the
// creation reach its missing operation (EPERM).
func (t *Task) procModify(p string, create bool) error {
	_, err := t.procWalk(p, false)
	switch {
	case err == nil && create:
		return unix.EEXIST
	case err == unix.ENOENT && create && !isProcPath(path.Clean(p)):
		if _, perr := t.procWalk(p+"/..", true); perr != nil {
			return perr
		}
		return unix.EPERM
	case err != nil:
		return err
	}
	return unix.EPERM
}

func sysMkdirat(t *Task, a Args) (uintptr, error) {
	tg, err := t.resolveArgs(a[0], a[1], false)
	if err != nil {
		return 0, err
	}
	if tg.proc != "" {
		return 0, t.procModify(tg.proc, true)
	}
	return 0, t.P.FS.Mkdir(tg.dir, tg.path, uint32(a[2]))
}

// sysMknodat creates regular files and FIFOs; device nodes are EPERM
// (gosv has no device drivers behind them).
func sysMknodat(t *Task, a Args) (uintptr, error) {
	mode := uint32(a[2])
	switch mode & fs.S_IFMT {
	case 0, fs.S_IFREG, fs.S_IFIFO, fs.S_IFSOCK:
	case fs.S_IFCHR, fs.S_IFBLK, fs.S_IFDIR:
		return 0, unix.EPERM
	default:
		return 0, unix.EINVAL
	}
	tg, err := t.resolveArgs(a[0], a[1], false)
	if err != nil {
		return 0, err
	}
	if tg.proc != "" {
		return 0, t.procModify(tg.proc, true)
	}
	return 0, t.P.FS.Mknod(tg.dir, tg.path, mode, 0)
}

func sysUnlinkat(t *Task, a Args) (uintptr, error) {
	flags := int(int32(a[2]))
	if flags&^unix.AT_REMOVEDIR != 0 {
		return 0, unix.EINVAL
	}
	tg, err := t.resolveArgs(a[0], a[1], false)
	if err != nil {
		return 0, err
	}
	if tg.proc != "" {
		return 0, t.procModify(tg.proc, false)
	}
	if flags&unix.AT_REMOVEDIR != 0 {
		return 0, t.P.FS.Rmdir(tg.dir, tg.path)
	}
	return 0, t.P.FS.Unlink(tg.dir, tg.path)
}

// twoPaths resolves the two paths of rename and link; one in /proc or /sys
// and the other in the FS is EXDEV.
func (t *Task) twoPaths(a Args, oldEmpty bool) (pathTarget, pathTarget, error) {
	o, err := t.resolveArgs(a[0], a[1], oldEmpty)
	if err != nil {
		return o, o, err
	}
	n, err := t.resolveArgs(a[2], a[3], false)
	if err != nil {
		return o, n, err
	}
	switch {
	case o.proc != "" && n.proc != "":
		return o, n, t.procModify(o.proc, false)
	case o.proc != "" || n.proc != "" || o.file != nil:
		return o, n, unix.EXDEV
	}
	return o, n, nil
}

func sysRenameat2(t *Task, a Args) (uintptr, error) {
	o, n, err := t.twoPaths(a, false)
	if err != nil {
		return 0, err
	}
	return 0, t.P.FS.Rename(o.dir, o.path, n.dir, n.path, uint(uint32(a[4])))
}

func sysLinkat(t *Task, a Args) (uintptr, error) {
	flags := int(int32(a[4]))
	if flags&^(unix.AT_SYMLINK_FOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	o, n, err := t.twoPaths(a, flags&unix.AT_EMPTY_PATH != 0)
	if err != nil {
		return 0, err
	}
	return 0, t.P.FS.Link(o.dir, o.path, n.dir, n.path, flags)
}

func sysSymlinkat(t *Task, a Args) (uintptr, error) {
	target, err := t.readPath(a[0])
	if err != nil {
		return 0, err
	}
	tg, err := t.resolveArgs(a[1], a[2], false)
	if err != nil {
		return 0, err
	}
	if tg.proc != "" {
		return 0, t.procModify(tg.proc, true)
	}
	return 0, t.P.FS.Symlink(target, tg.dir, tg.path)
}

func sysFaccessat2(t *Task, a Args) (uintptr, error) {
	mode, flags := uint32(a[2]), int(int32(a[3]))
	if mode&^7 != 0 || flags&^(unix.AT_EACCESS|unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	tg, err := t.resolveArgs(a[0], a[1], flags&unix.AT_EMPTY_PATH != 0)
	if err != nil {
		return 0, err
	}
	if tg.file != nil || tg.proc != "" {
		st, _, err := t.statTarget(tg, flags&unix.AT_SYMLINK_NOFOLLOW == 0)
		if err != nil {
			return 0, err
		}
		// The caller is root: only execution needs an x bit.
		if mode&unix.X_OK != 0 && st.Mode&fs.S_IFMT != fs.S_IFDIR && st.Mode&0o111 == 0 {
			return 0, unix.EACCES
		}
		return 0, nil
	}
	err = t.P.FS.Access(tg.dir, tg.path, mode, flags)
	if fallbackToProc(tg, err) {
		if v, ok := t.fsLinkIntoProc(tg.dir, tg.path, flags&unix.AT_SYMLINK_NOFOLLOW == 0); ok {
			tg = pathTarget{proc: v}
			if _, _, err := t.statTarget(tg, flags&unix.AT_SYMLINK_NOFOLLOW == 0); err != nil {
				return 0, err
			}
			return 0, nil
		}
	}
	return 0, err
}

func sysFchmodat2(t *Task, a Args) (uintptr, error) {
	flags := int(int32(a[3]))
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	tg, err := t.resolveArgs(a[0], a[1], flags&unix.AT_EMPTY_PATH != 0)
	if err != nil {
		return 0, err
	}
	switch {
	case tg.proc != "":
		return 0, t.procModify(tg.proc, false)
	case tg.file != nil:
		return 0, nil
	}
	return 0, t.P.FS.Chmod(tg.dir, tg.path, uint32(a[2]), flags)
}

func sysFchownat(t *Task, a Args) (uintptr, error) {
	flags := int(int32(a[4]))
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return 0, unix.EINVAL
	}
	tg, err := t.resolveArgs(a[0], a[1], flags&unix.AT_EMPTY_PATH != 0)
	if err != nil {
		return 0, err
	}
	switch {
	case tg.proc != "":
		return 0, t.procModify(tg.proc, false)
	case tg.file != nil:
		return 0, nil
	}
	return 0, t.P.FS.Chown(tg.dir, tg.path, int(int32(a[2])), int(int32(a[3])), flags)
}

// utimens sets the times of (dirfd, path at addr); addr 0 means dirfd
// itself (futimens).
func (t *Task) utimens(dirfd int, addr uintptr, times *[2]fs.Timespec, flags int) error {
	if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return unix.EINVAL
	}
	if times != nil {
		for _, ts := range times {
			if ts.Nsec != fs.UTIME_NOW && ts.Nsec != fs.UTIME_OMIT && (ts.Nsec < 0 || ts.Nsec >= 1e9) {
				return unix.EINVAL
			}
		}
	}
	var tg pathTarget
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
		switch f := f.(type) {
		case *fsFile:
			return f.f.Utimens(times)
		case *fifoFile:
			return f.f.Utimens(times)
		case *procFile, *procDir:
			return unix.EPERM
		}
		return nil
	}
	p, err := t.readPath(addr)
	if err != nil {
		return err
	}
	if tg, err = t.resolveAt(dirfd, p, flags&unix.AT_EMPTY_PATH != 0); err != nil {
		return err
	}
	switch {
	case tg.proc != "":
		return t.procModify(tg.proc, false)
	case tg.file != nil:
		return nil
	}
	return t.P.FS.Utimens(tg.dir, tg.path, times, flags)
}

func sysUtimensat(t *Task, a Args) (uintptr, error) {
	var times *[2]fs.Timespec
	if a[2] != 0 {
		var b [32]byte
		if err := t.CopyIn(b[:], a[2]); err != nil {
			return 0, err
		}
		times = &[2]fs.Timespec{
			{Sec: int64(le.Uint64(b[0:])), Nsec: int64(le.Uint64(b[8:]))},
			{Sec: int64(le.Uint64(b[16:])), Nsec: int64(le.Uint64(b[24:]))},
		}
	}
	return 0, t.utimens(int(int32(a[0])), a[1], times, int(int32(a[3])))
}

// futimesat implements utimes(2) and futimesat(2): struct timeval times.
func futimesat(t *Task, dirfd int, path, tv uintptr) (uintptr, error) {
	var times *[2]fs.Timespec
	if tv != 0 {
		var b [32]byte
		if err := t.CopyIn(b[:], tv); err != nil {
			return 0, err
		}
		times = new([2]fs.Timespec)
		for i := range times {
			sec, usec := int64(le.Uint64(b[16*i:])), int64(le.Uint64(b[16*i+8:]))
			if usec < 0 || usec >= 1e6 {
				return 0, unix.EINVAL
			}
			times[i] = fs.Timespec{Sec: sec, Nsec: usec * 1000}
		}
	}
	if path == 0 {
		return 0, unix.EFAULT
	}
	return 0, t.utimens(dirfd, path, times, 0)
}

// sysUtime implements utime(2): struct utimbuf {time_t actime, modtime}.
func sysUtime(t *Task, a Args) (uintptr, error) {
	var times *[2]fs.Timespec
	if a[1] != 0 {
		var b [16]byte
		if err := t.CopyIn(b[:], a[1]); err != nil {
			return 0, err
		}
		times = &[2]fs.Timespec{{Sec: int64(le.Uint64(b[0:]))}, {Sec: int64(le.Uint64(b[8:]))}}
	}
	if a[0] == 0 {
		return 0, unix.EFAULT
	}
	return 0, t.utimens(unix.AT_FDCWD, a[0], times, 0)
}

// sysGetcwd returns the length of the path with its NUL: ERANGE if size
// is too small, ENOENT when the directory was removed.
func sysGetcwd(t *Task, a Args) (uintptr, error) {
	s, err := t.P.FS.Getcwd()
	if err != nil {
		return 0, err
	}
	if uintptr(len(s)+1) > a[1] {
		return 0, unix.ERANGE
	}
	return uintptr(len(s) + 1), t.CopyOut(a[0], append([]byte(s), 0))
}

func sysChdir(t *Task, a Args) (uintptr, error) {
	tg, err := t.resolveArgs(atFDCWD, a[0], false)
	if err != nil {
		return 0, err
	}
	if tg.proc == "" {
		err := t.P.FS.Chdir(tg.dir, tg.path)
		if !fallbackToProc(tg, err) {
			return 0, err
		}
		v, ok := t.fsLinkIntoProc(tg.dir, tg.path, true)
		if !ok {
			return 0, err
		}
		tg.proc = v
	}
	r, err := t.procWalk(tg.proc, true)
	switch {
	case err != nil:
		return 0, err
	case r.fsPath != "":
		return 0, t.P.FS.Chdir(nil, r.fsPath)
	case r.file != nil:
		if ff, ok := r.file.(*fsFile); ok {
			return 0, t.P.FS.SetCwd(ff.Inode())
		}
		if _, ok := r.file.(*procDir); !ok {
			return 0, unix.ENOTDIR
		}
	case !r.node.isDir():
		return 0, unix.ENOTDIR
	}
	// The working directory lives in the root filesystem.
	return 0, unix.EACCES
}

func sysTruncate(t *Task, a Args) (uintptr, error) {
	tg, err := t.resolveArgs(atFDCWD, a[0], false)
	if err != nil {
		return 0, err
	}
	if tg.proc != "" {
		r, err := t.procWalk(tg.proc, true)
		if err != nil {
			return 0, err
		}
		if r.fsPath != "" {
			return 0, t.P.FS.Truncate(nil, r.fsPath, int64(a[1]))
		}
		if r.node != nil && r.node.isDir() {
			return 0, unix.EISDIR
		}
		return 0, unix.EACCES
	}
	return 0, t.P.FS.Truncate(tg.dir, tg.path, int64(a[1]))
}

func sysStatfs(t *Task, a Args) (uintptr, error) {
	tg, err := t.resolveArgs(atFDCWD, a[0], false)
	if err != nil {
		return 0, err
	}
	if _, _, err := t.statTarget(tg, true); err != nil {
		return 0, err
	}
	info := t.P.tmpfsStatfs()
	if tg.proc != "" {
		if r, err := t.procWalk(tg.proc, true); err == nil && r.fsPath == "" {
			if r.file != nil {
				info = t.P.statfsOf(r.file)
			} else {
				info = virtualStatfs(isProcPath(r.path))
			}
		}
	}
	return 0, t.CopyOut(a[1], info.marshal())
}
