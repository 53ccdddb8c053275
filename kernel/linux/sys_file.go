package linux

import (
	"github.com/gosv/gosv/kernel/fsimpl/ramfs"
	"github.com/gosv/gosv/kernel/task"
	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

// File syscalls (open(2), read(2), write(2), ...). Paths are resolved by
// the VFS (kernel/vfs) in the process's mount table. This file holds the
// syscalls on file descriptors; file_ops.go those on paths, file_mount.go
// mount(2) and umount2(2).
func init() {
	register(unix.SYS_READ, "read", sysRead)
	register(unix.SYS_WRITE, "write", sysWrite)
	register(unix.SYS_READV, "readv", sysReadv)
	register(unix.SYS_WRITEV, "writev", sysWritev)
	register(unix.SYS_PREAD64, "pread64", sysPread64)
	register(unix.SYS_PWRITE64, "pwrite64", sysPwrite64)
	register(unix.SYS_PREADV, "preadv", sysPreadv)
	register(unix.SYS_PWRITEV, "pwritev", sysPwritev)
	register(unix.SYS_PREADV2, "preadv2", sysPreadv2)
	register(unix.SYS_PWRITEV2, "pwritev2", sysPwritev2)
	register(unix.SYS_LSEEK, "lseek", sysLseek)
	register(unix.SYS_CLOSE, "close", func(t *task.Task, a task.Args) (uintptr, error) { return 0, t.P.FDs.Close(int(int32(a[0]))) })
	register(unix.SYS_CLOSE_RANGE, "close_range", sysCloseRange)
	register(unix.SYS_IOCTL, "ioctl", sysIoctl)
	register(unix.SYS_FCNTL, "fcntl", sysFcntl)
	register(unix.SYS_FLOCK, "flock", sysFlock)
	register(unix.SYS_DUP, "dup", sysDup)
	register(unix.SYS_DUP2, "dup2", sysDup2)
	register(unix.SYS_DUP3, "dup3", sysDup3)
	register(unix.SYS_PIPE, "pipe", func(t *task.Task, a task.Args) (uintptr, error) { return sysPipe2(t, task.Args{a[0]}) })
	register(unix.SYS_PIPE2, "pipe2", sysPipe2)
	register(unix.SYS_SENDFILE, "sendfile", sysSendfile)
	register(unix.SYS_COPY_FILE_RANGE, "copy_file_range", sysCopyFileRange)
	register(unix.SYS_FSYNC, "fsync", sysFsync)
	register(unix.SYS_FDATASYNC, "fdatasync", sysFsync)
	register(unix.SYS_SYNC, "sync", func(t *task.Task, a task.Args) (uintptr, error) { return 0, nil })
	register(unix.SYS_SYNCFS, "syncfs", func(t *task.Task, a task.Args) (uintptr, error) {
		_, err := fileArg(t, a[0])
		return 0, err
	})
	register(unix.SYS_FTRUNCATE, "ftruncate", sysFtruncate)
	register(unix.SYS_FALLOCATE, "fallocate", sysFallocate)
	register(unix.SYS_FADVISE64, "fadvise64", sysFadvise64)
	register(unix.SYS_GETDENTS64, "getdents64", func(t *task.Task, a task.Args) (uintptr, error) { return getdents(t, a, false) })
	register(unix.SYS_GETDENTS, "getdents", func(t *task.Task, a task.Args) (uintptr, error) { return getdents(t, a, true) })
	register(unix.SYS_FSTAT, "fstat", sysFstat)
	register(unix.SYS_FSTATFS, "fstatfs", sysFstatfs)
	register(unix.SYS_FCHMOD, "fchmod", sysFchmod)
	register(unix.SYS_FCHOWN, "fchown", sysFchown)
	register(unix.SYS_FCHDIR, "fchdir", sysFchdir)
}

// maxRW caps one read or write (Linux's MAX_RW_COUNT is about 2 GiB; a
// smaller cap bounds the kernel buffer). Longer requests are short.
const maxRW = 1 << 24

// oLargeFile is the kernel's O_LARGEFILE (0 in x/sys/unix on amd64): open
// sets it on 64-bit, so F_GETFL shows it.
const oLargeFile = 0o100000

// Generic ioctls of do_vfs_ioctl.
const (
	fionread = unix.TIOCINQ // FIONREAD
	fioclex  = 0x5451
	fionclex = 0x5450
	fionbio  = 0x5421
	fioasync = 0x5452
)

// statusSettable are the status flags fcntl(F_SETFL) may change.
const statusSettable = unix.O_APPEND | unix.O_NONBLOCK | unix.O_ASYNC | unix.O_DIRECT | unix.O_NOATIME

// maxFDs is RLIMIT_NOFILE of the table.
func maxFDs(d *task.FDTable) int {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	return d.Limit
}

// full reports whether every fd below RLIMIT_NOFILE is taken (open(2)
// fails with EMFILE before touching the filesystem).
func full(d *task.FDTable) bool {
	d.Mu.Lock()
	defer d.Mu.Unlock()
	return len(d.Table) >= d.Limit
}

func isOPath(f task.File) bool {
	switch f := f.(type) {
	case *fsFile:
		return f.isPath()
	}
	return false
}

// readBuf allocates the kernel buffer of a read of n bytes from f.
func readBuf(f task.File, n uintptr) []byte {
	k := int(min(n, maxRW))
	if h, ok := f.(interface{ readHint(int) int }); ok {
		k = h.readHint(k)
	}
	return make([]byte, k)
}

func (e *pipeEnd) readHint(n int) int {
	e.p.mu.Lock()
	defer e.p.mu.Unlock()
	return min(n, e.p.capacity())
}

func sysRead(t *task.Task, a task.Args) (uintptr, error) {
	f, err := fileArg(t, a[0])
	if err != nil {
		return 0, err
	}
	buf := readBuf(f, a[2])
	// Check the destination before taking data from the file: a bad buffer
	// must not consume pipe data or move the offset (read(2): EFAULT).
	if err := checkWritable(t, a[1], len(buf)); err != nil {
		return 0, err
	}
	n, err := f.Read(t, buf)
	if n > 0 {
		if err := t.CopyOut(a[1], buf[:n]); err != nil {
			return 0, err
		}
	}
	return uintptr(n), err
}

func sysWrite(t *task.Task, a task.Args) (uintptr, error) {
	f, err := fileArg(t, a[0])
	if err != nil {
		return 0, err
	}
	buf := make([]byte, min(a[2], maxRW))
	if err := t.CopyIn(buf, a[1]); err != nil {
		return 0, err
	}
	n, err := f.Write(t, buf)
	return uintptr(n), err
}

// readIovec reads an iovec array (struct iovec {void *base; size_t len}):
// EINVAL for more than UIO_MAXIOV entries or a total beyond SSIZE_MAX.
func readIovec(t *task.Task, addr uintptr, n int) ([][2]uintptr, error) {
	if n < 0 || n > 1024 {
		return nil, unix.EINVAL
	}
	b := make([]byte, 16*n)
	if err := t.CopyIn(b, addr); err != nil {
		return nil, err
	}
	iov := make([][2]uintptr, n)
	var total uint64
	for i := range iov {
		iov[i] = [2]uintptr{uintptr(le.Uint64(b[16*i:])), uintptr(le.Uint64(b[16*i+8:]))}
		total += uint64(iov[i][1])
		if int64(iov[i][1]) < 0 || int64(total) < 0 {
			return nil, unix.EINVAL
		}
	}
	return iov, nil
}

// iovecLen is the bytes an iovec array covers, capped at maxRW.
func iovecLen(iov [][2]uintptr) int {
	var n uintptr
	for _, v := range iov {
		n += v[1]
		if n >= maxRW {
			return maxRW
		}
	}
	return int(n)
}

// gather copies the app's iovec buffers into one kernel buffer.
func gather(t *task.Task, iov [][2]uintptr) ([]byte, error) {
	buf := make([]byte, iovecLen(iov))
	off := 0
	for _, v := range iov {
		k := min(int(v[1]), len(buf)-off)
		if k == 0 {
			continue
		}
		if err := t.CopyIn(buf[off:off+k], v[0]); err != nil {
			return nil, err
		}
		off += k
	}
	return buf, nil
}

// scatter copies b out to the app's iovec buffers; it returns the bytes
// copied, or EFAULT when not even the first could be.
func scatter(t *task.Task, iov [][2]uintptr, b []byte) (int, error) {
	off := 0
	for _, v := range iov {
		k := min(int(min(v[1], maxRW)), len(b)-off)
		if k == 0 {
			continue
		}
		if err := t.CopyOut(v[0], b[off:off+k]); err != nil {
			if off == 0 {
				return 0, err
			}
			return off, nil
		}
		off += k
	}
	return off, nil
}

// doReadv reads with rd into the iovec at a[1], a[2] of fd a[0], into a
// buffer from mkbuf.
func doReadv(t *task.Task, a task.Args, mkbuf func(f task.File, n uintptr) []byte, rd func(f task.File, b []byte) (int, error)) (uintptr, error) {
	f, err := fileArg(t, a[0])
	if err != nil {
		return 0, err
	}
	iov, err := readIovec(t, a[1], int(int32(a[2])))
	if err != nil {
		return 0, err
	}
	buf := mkbuf(f, uintptr(iovecLen(iov)))
	n, err := rd(f, buf)
	if n <= 0 {
		return 0, err
	}
	k, cerr := scatter(t, iov, buf[:n])
	if cerr != nil {
		return 0, cerr
	}
	return uintptr(k), nil
}

func doWritev(t *task.Task, a task.Args, wr func(f task.File, b []byte) (int, error)) (uintptr, error) {
	f, err := fileArg(t, a[0])
	if err != nil {
		return 0, err
	}
	iov, err := readIovec(t, a[1], int(int32(a[2])))
	if err != nil {
		return 0, err
	}
	buf, err := gather(t, iov)
	if err != nil {
		return 0, err
	}
	n, err := wr(f, buf)
	return uintptr(n), err
}

func sysReadv(t *task.Task, a task.Args) (uintptr, error) {
	return doReadv(t, a, readBuf, func(f task.File, b []byte) (int, error) { return f.Read(t, b) })
}

func sysWritev(t *task.Task, a task.Args) (uintptr, error) {
	return doWritev(t, a, func(f task.File, b []byte) (int, error) { return f.Write(t, b) })
}

// pread and pwrite: ESPIPE for files without positions (pipes,
// terminals), EINVAL for a negative offset.
func pread(f task.File, b []byte, off int64) (int, error) {
	pr, ok := f.(task.PReader)
	if !ok {
		return 0, unix.ESPIPE
	}
	if off < 0 {
		return 0, unix.EINVAL
	}
	return pr.Pread(b, off)
}

func pwrite(f task.File, b []byte, off int64) (int, error) {
	pw, ok := f.(task.PWriter)
	if !ok {
		return 0, unix.ESPIPE
	}
	if off < 0 {
		return 0, unix.EINVAL
	}
	return pw.Pwrite(b, off)
}

// preadBuf allocates the kernel buffer of a read of n bytes at off.
func preadBuf(f task.File, n uintptr, off int64) []byte {
	k := int64(min(n, maxRW))
	if ff, ok := f.(*fsFile); ok && ff.typ() == vfs.S_IFREG && off >= 0 && !ff.snapshot() {
		k = min(k, max(ff.size()-off, 0)+1)
	}
	return make([]byte, k)
}

func sysPread64(t *task.Task, a task.Args) (uintptr, error) {
	f, err := fileArg(t, a[0])
	if err != nil {
		return 0, err
	}
	off := int64(a[3])
	buf := preadBuf(f, a[2], off)
	n, err := pread(f, buf, off)
	if n > 0 {
		if err := t.CopyOut(a[1], buf[:n]); err != nil {
			return 0, err
		}
	}
	return uintptr(n), err
}

func sysPwrite64(t *task.Task, a task.Args) (uintptr, error) {
	f, err := fileArg(t, a[0])
	if err != nil {
		return 0, err
	}
	buf := make([]byte, min(a[2], maxRW))
	if err := t.CopyIn(buf, a[1]); err != nil {
		return 0, err
	}
	n, err := pwrite(f, buf, int64(a[3]))
	return uintptr(n), err
}

func sysPreadv(t *task.Task, a task.Args) (uintptr, error) {
	off := int64(a[3])
	return doReadv(t, a, func(f task.File, n uintptr) []byte { return preadBuf(f, n, off) },
		func(f task.File, b []byte) (int, error) { return pread(f, b, off) })
}

func sysPwritev(t *task.Task, a task.Args) (uintptr, error) {
	return doWritev(t, a, func(f task.File, b []byte) (int, error) { return pwrite(f, b, int64(a[3])) })
}

// RWF_* flags of preadv2(2): all accepted and ignored (the filesystem is
// in memory and never blocks).
const rwfSupported = 0x1f

// preadv2 and pwritev2: offset -1 uses (and moves) the file offset.
func sysPreadv2(t *task.Task, a task.Args) (uintptr, error) {
	if a[5]&^rwfSupported != 0 {
		return 0, unix.EOPNOTSUPP
	}
	if int64(a[3]) == -1 {
		return sysReadv(t, a)
	}
	return sysPreadv(t, a)
}

func sysPwritev2(t *task.Task, a task.Args) (uintptr, error) {
	if a[5]&^rwfSupported != 0 {
		return 0, unix.EOPNOTSUPP
	}
	if int64(a[3]) == -1 {
		return sysWritev(t, a)
	}
	return sysPwritev(t, a)
}

func sysLseek(t *task.Task, a task.Args) (uintptr, error) {
	f, err := fileArg(t, a[0])
	if err != nil {
		return 0, err
	}
	s, ok := f.(task.Seeker)
	if !ok {
		return 0, unix.ESPIPE
	}
	off, err := s.Seek(int64(a[1]), int(int32(a[2])))
	return uintptr(off), err
}

// close_range(2) flags.
const (
	closeRangeUnshare = 2
	closeRangeCloexec = 4
)

func sysCloseRange(t *task.Task, a task.Args) (uintptr, error) {
	first, last, flags := uint32(a[0]), uint32(a[1]), a[2]
	if flags&^(closeRangeUnshare|closeRangeCloexec) != 0 || first > last {
		return 0, unix.EINVAL
	}
	for _, fd := range t.P.FDs.Fds() {
		if uint32(fd) < first || uint32(fd) > last {
			continue
		}
		if flags&closeRangeCloexec != 0 {
			t.P.FDs.SetCloseOnExec(fd, true)
		} else {
			t.P.FDs.Close(fd)
		}
	}
	return 0, nil
}

// setStatusFlags changes the O_APPEND, O_NONBLOCK, ... flags of fd (and
// of its open file description) as fcntl(F_SETFL).
func setStatusFlags(t *task.Task, fd int, f task.File, flags int) error {
	old, err := t.P.FDs.Flags(fd)
	if err != nil {
		return err
	}
	nf := old&^statusSettable | flags&statusSettable
	if err := t.P.FDs.SetFlags(fd, nf); err != nil {
		return err
	}
	if s, ok := f.(interface{ SetFlags(int) }); ok {
		s.SetFlags(nf)
	}
	return nil
}

func sysIoctl(t *task.Task, a task.Args) (uintptr, error) {
	fd := int(int32(a[0]))
	f, err := t.P.FDs.Get(fd)
	if err != nil {
		return 0, err
	}
	if isOPath(f) {
		return 0, unix.EBADF
	}
	req := uintptr(uint32(a[1]))
	switch req {
	case fioclex, fionclex:
		return 0, t.P.FDs.SetCloseOnExec(fd, req == fioclex)
	case fionbio:
		on, err := t.ReadU32(a[2])
		if err != nil {
			return 0, err
		}
		flags, _ := t.P.FDs.Flags(fd)
		if on != 0 {
			flags |= unix.O_NONBLOCK
		} else {
			flags &^= unix.O_NONBLOCK
		}
		return 0, setStatusFlags(t, fd, f, flags)
	case fioasync:
		_, err := t.ReadU32(a[2])
		return 0, err
	}
	if io, ok := f.(task.Ioctler); ok {
		return io.Ioctl(t, req, a[2])
	}
	return 0, unix.ENOTTY
}

// fcntl(2) commands beyond x/sys/unix's set.
const (
	fOFDGetlk  = 36
	fOFDSetlk  = 37
	fOFDSetlkw = 38
	fGetLease  = 1025
	fNotify    = 1026
	fAddSeals  = 1033
	fGetSeals  = 1034
	fSealSeal  = 1
)

func sysFcntl(t *task.Task, a task.Args) (uintptr, error) {
	fd, cmd, arg := int(int32(a[0])), int(int32(a[1])), a[2]
	fds := t.P.FDs
	f, err := fds.Get(fd)
	if err != nil {
		return 0, err
	}
	opath := isOPath(f)
	switch cmd {
	case unix.F_DUPFD, unix.F_DUPFD_CLOEXEC:
		if arg >= uintptr(maxFDs(fds)) {
			return 0, unix.EINVAL
		}
		nfd, err := fds.Dup(fd, int(arg), cmd == unix.F_DUPFD_CLOEXEC)
		return uintptr(nfd), err
	case unix.F_GETFD:
		ce, err := fds.CloseOnExec(fd)
		if ce {
			return unix.FD_CLOEXEC, err
		}
		return 0, err
	case unix.F_SETFD:
		return 0, fds.SetCloseOnExec(fd, arg&unix.FD_CLOEXEC != 0)
	case unix.F_GETFL:
		fl, err := fds.Flags(fd)
		return uintptr(fl), err
	}
	if opath {
		return 0, unix.EBADF
	}
	switch cmd {
	case unix.F_SETFL:
		return 0, setStatusFlags(t, fd, f, int(arg))
	case unix.F_GETLK, unix.F_SETLK, unix.F_SETLKW, fOFDGetlk, fOFDSetlk, fOFDSetlkw:
		return 0, fcntlLock(t, fd, cmd, arg)
	case unix.F_GETOWN, unix.F_GETSIG:
		return 0, nil
	case unix.F_SETOWN, unix.F_SETSIG:
		return 0, nil
	case fGetLease:
		return unix.F_UNLCK, nil
	case fNotify:
		// Directory notifications are accepted and never sent.
		if st, ok := f.(task.Stater); ok {
			if s, err := st.Stat(); err == nil && s.Mode&unix.S_IFMT != unix.S_IFDIR {
				return 0, unix.ENOTDIR
			}
		}
		return 0, nil
	case fGetSeals, fAddSeals:
		// Files of tmpfs not made by memfd_create are sealed against
		// sealing (F_SEAL_SEAL), as on Linux; other files have no seals.
		if _, ok := f.(*fsFile); !ok {
			return 0, unix.EINVAL
		}
		if cmd == fGetSeals {
			return fSealSeal, nil
		}
		return 0, unix.EPERM
	case unix.F_GETPIPE_SZ, unix.F_SETPIPE_SZ:
		var e *pipeEnd
		switch f := f.(type) {
		case *pipeEnd:
			e = f
		case *fifoFile:
			e = f.pipeEnd
		default:
			return 0, unix.EBADF
		}
		if cmd == unix.F_SETPIPE_SZ {
			n, err := e.p.setSize(uint32(arg))
			return uintptr(n), err
		}
		e.p.mu.Lock()
		defer e.p.mu.Unlock()
		return uintptr(e.p.capacity()), nil
	}
	return 0, unix.EINVAL
}

// fcntlLock checks a struct flock {short l_type, l_whence; off_t l_start,
// l_len; pid_t l_pid} and grants every lock: the app is the only process,
// so record locks never conflict. F_GETLK reports F_UNLCK.
func fcntlLock(t *task.Task, fd, cmd int, addr uintptr) error {
	var b [32]byte
	if err := t.CopyIn(b[:], addr); err != nil {
		return err
	}
	typ, whence := int16(le.Uint16(b[0:])), int16(le.Uint16(b[2:]))
	if typ != unix.F_RDLCK && typ != unix.F_WRLCK && typ != unix.F_UNLCK {
		return unix.EINVAL
	}
	if whence != unix.SEEK_SET && whence != unix.SEEK_CUR && whence != unix.SEEK_END {
		return unix.EINVAL
	}
	ofd := cmd == fOFDGetlk || cmd == fOFDSetlk || cmd == fOFDSetlkw
	if ofd && le.Uint32(b[24:]) != 0 {
		return unix.EINVAL
	}
	if cmd == unix.F_GETLK || cmd == fOFDGetlk {
		le.PutUint16(b[0:], unix.F_UNLCK)
		return t.CopyOut(addr, b[:])
	}
	flags, err := t.P.FDs.Flags(fd)
	if err != nil {
		return err
	}
	acc := flags & unix.O_ACCMODE
	if typ == unix.F_RDLCK && acc == unix.O_WRONLY || typ == unix.F_WRLCK && acc == unix.O_RDONLY {
		return unix.EBADF
	}
	return nil
}

// flock(2) is granted at once, as fcntl locks are.
func sysFlock(t *task.Task, a task.Args) (uintptr, error) {
	f, err := fileArg(t, a[0])
	if err != nil {
		return 0, err
	}
	if isOPath(f) {
		return 0, unix.EBADF
	}
	switch int(a[1]) &^ unix.LOCK_NB {
	case unix.LOCK_SH, unix.LOCK_EX, unix.LOCK_UN:
		return 0, nil
	}
	return 0, unix.EINVAL
}

func sysDup(t *task.Task, a task.Args) (uintptr, error) {
	fd, err := t.P.FDs.Dup(int(int32(a[0])), 0, false)
	return uintptr(fd), err
}

func sysDup2(t *task.Task, a task.Args) (uintptr, error) {
	oldfd, newfd := int(int32(a[0])), int(int32(a[1]))
	if oldfd == newfd {
		if _, err := t.P.FDs.Get(oldfd); err != nil {
			return 0, err
		}
		return uintptr(newfd), nil
	}
	fd, err := t.P.FDs.Dup3(oldfd, newfd, false)
	return uintptr(fd), err
}

func sysDup3(t *task.Task, a task.Args) (uintptr, error) {
	oldfd, newfd, flags := int(int32(a[0])), int(int32(a[1])), int(a[2])
	if flags&^unix.O_CLOEXEC != 0 || oldfd == newfd {
		return 0, unix.EINVAL
	}
	fd, err := t.P.FDs.Dup3(oldfd, newfd, flags&unix.O_CLOEXEC != 0)
	return uintptr(fd), err
}

// sysSendfile copies from in_fd (a file with positions) to out_fd; with
// an offset pointer it reads there and leaves in_fd's offset alone.
func sysSendfile(t *task.Task, a task.Args) (uintptr, error) {
	fds := t.P.FDs
	outfd, infd := int(int32(a[0])), int(int32(a[1]))
	in, err := fds.Get(infd)
	if err != nil {
		return 0, err
	}
	out, err := fds.Get(outfd)
	if err != nil {
		return 0, err
	}
	inFlags, _ := fds.Flags(infd)
	outFlags, _ := fds.Flags(outfd)
	if inFlags&unix.O_ACCMODE == unix.O_WRONLY || isOPath(in) || outFlags&unix.O_ACCMODE == unix.O_RDONLY || isOPath(out) {
		return 0, unix.EBADF
	}
	if outFlags&unix.O_APPEND != 0 {
		return 0, unix.EINVAL
	}
	pr, ok := in.(task.PReader)
	if !ok {
		return 0, unix.EINVAL
	}
	var pos int64
	if a[2] != 0 {
		v, err := t.ReadU64(a[2])
		if err != nil {
			return 0, err
		}
		if pos = int64(v); pos < 0 {
			return 0, unix.EINVAL
		}
	} else {
		s, ok := in.(task.Seeker)
		if !ok {
			return 0, unix.ESPIPE
		}
		if pos, err = s.Seek(0, unix.SEEK_CUR); err != nil {
			return 0, err
		}
	}
	count := int64(min(a[3], 1<<31-task.PageSize))
	buf := make([]byte, min(count, 64<<10))
	var done int64
	var ioErr error
	for done < count {
		k := min(int64(len(buf)), count-done)
		n, err := pr.Pread(buf[:k], pos+done)
		if err != nil {
			ioErr = err
			break
		}
		if n == 0 {
			break
		}
		w, err := out.Write(t, buf[:n])
		done += int64(w)
		if err != nil {
			ioErr = err
			break
		}
		if w < n {
			break
		}
	}
	if a[2] != 0 {
		if err := t.WriteU64(a[2], uint64(pos+done)); err != nil {
			return 0, err
		}
	} else {
		in.(task.Seeker).Seek(pos+done, unix.SEEK_SET)
	}
	if done == 0 && ioErr != nil {
		return 0, ioErr
	}
	return uintptr(done), nil
}

// sysCopyFileRange copies between two regular files of the FS
// (copy_file_range(2)); a NULL offset pointer uses and moves the file
// offset.
func sysCopyFileRange(t *task.Task, a task.Args) (uintptr, error) {
	if a[5] != 0 {
		return 0, unix.EINVAL
	}
	fds := t.P.FDs
	infd, outfd := int(int32(a[0])), int(int32(a[2]))
	in, err := fds.Get(infd)
	if err != nil {
		return 0, err
	}
	out, err := fds.Get(outfd)
	if err != nil {
		return 0, err
	}
	inFlags, _ := fds.Flags(infd)
	outFlags, _ := fds.Flags(outfd)
	if isOPath(in) || isOPath(out) || inFlags&unix.O_ACCMODE == unix.O_WRONLY ||
		outFlags&unix.O_ACCMODE == unix.O_RDONLY || outFlags&unix.O_APPEND != 0 {
		return 0, unix.EBADF
	}
	fin, ok1 := in.(*fsFile)
	fout, ok2 := out.(*fsFile)
	if !ok1 || !ok2 {
		return 0, unix.EINVAL
	}
	for _, f := range []*fsFile{fin, fout} {
		switch f.typ() {
		case vfs.S_IFREG:
		case vfs.S_IFDIR:
			return 0, unix.EISDIR
		default:
			return 0, unix.EINVAL
		}
	}
	offset := func(f *fsFile, ptr uintptr) (int64, error) {
		if ptr == 0 {
			return f.Seek(0, unix.SEEK_CUR)
		}
		v, err := t.ReadU64(ptr)
		if err != nil {
			return 0, err
		}
		if int64(v) < 0 {
			return 0, unix.EINVAL
		}
		return int64(v), nil
	}
	rpos, err := offset(fin, a[1])
	if err != nil {
		return 0, err
	}
	wpos, err := offset(fout, a[3])
	if err != nil {
		return 0, err
	}
	count := int64(min(a[4], 1<<31-task.PageSize))
	if fin.f.Inode() == fout.f.Inode() && rpos < wpos+count && wpos < rpos+count {
		return 0, unix.EINVAL
	}
	buf := make([]byte, min(count, 64<<10))
	var done int64
	var ioErr error
	for done < count {
		n, err := fin.Pread(buf[:min(int64(len(buf)), count-done)], rpos+done)
		if err != nil || n == 0 {
			ioErr = err
			break
		}
		w, err := fout.Pwrite(buf[:n], wpos+done)
		done += int64(w)
		if err != nil || w < n {
			ioErr = err
			break
		}
	}
	if done == 0 && ioErr != nil {
		return 0, ioErr
	}
	for _, u := range []struct {
		f   *fsFile
		ptr uintptr
		pos int64
	}{{fin, a[1], rpos + done}, {fout, a[3], wpos + done}} {
		if u.ptr != 0 {
			if err := t.WriteU64(u.ptr, uint64(u.pos)); err != nil {
				return 0, err
			}
		} else {
			u.f.Seek(u.pos, unix.SEEK_SET)
		}
	}
	return uintptr(done), nil
}

func sysFsync(t *task.Task, a task.Args) (uintptr, error) {
	f, err := fileArg(t, a[0])
	if err != nil {
		return 0, err
	}
	if isOPath(f) {
		return 0, unix.EBADF
	}
	if _, ok := f.(*fsFile); ok {
		return 0, nil
	}
	return 0, unix.EINVAL
}

func sysFtruncate(t *task.Task, a task.Args) (uintptr, error) {
	f, err := fileArg(t, a[0])
	if err != nil {
		return 0, err
	}
	if ff, ok := f.(*fsFile); ok {
		return 0, ff.f.Truncate(int64(a[1]))
	}
	return 0, unix.EINVAL
}

// fallocate(2) mode 0 extends the file; FALLOC_FL_KEEP_SIZE alone does
// nothing (memory is allocated on write); other modes are EOPNOTSUPP.
func sysFallocate(t *task.Task, a task.Args) (uintptr, error) {
	f, err := fileArg(t, a[0])
	if err != nil {
		return 0, err
	}
	mode, off, n := int(int32(a[1])), int64(a[2]), int64(a[3])
	if off < 0 || n <= 0 || off+n < 0 {
		return 0, unix.EINVAL
	}
	ff, ok := f.(*fsFile)
	if !ok {
		if _, pipe := f.(*pipeEnd); pipe {
			return 0, unix.ESPIPE
		}
		if _, fifo := f.(*fifoFile); fifo {
			return 0, unix.ESPIPE
		}
		return 0, unix.ENODEV
	}
	flags := ff.f.Flags()
	if ff.isPath() || flags&unix.O_ACCMODE == unix.O_RDONLY {
		return 0, unix.EBADF
	}
	switch ff.typ() {
	case vfs.S_IFREG:
	case vfs.S_IFDIR:
		return 0, unix.EISDIR
	default:
		return 0, unix.ENODEV
	}
	switch mode {
	case 0:
		if off+n > ramfs.MaxFileSize {
			return 0, unix.EFBIG
		}
		if off+n > ff.size() {
			return 0, ff.f.Truncate(off + n)
		}
		return 0, nil
	case unix.FALLOC_FL_KEEP_SIZE:
		return 0, nil
	}
	return 0, unix.EOPNOTSUPP
}

func sysFadvise64(t *task.Task, a task.Args) (uintptr, error) {
	f, err := fileArg(t, a[0])
	if err != nil {
		return 0, err
	}
	switch f.(type) {
	case *pipeEnd, *fifoFile:
		return 0, unix.ESPIPE
	}
	if int64(a[2]) < 0 || a[3] > unix.FADV_NOREUSE {
		return 0, unix.EINVAL
	}
	return 0, nil
}

func getdents(t *task.Task, a task.Args, legacy bool) (uintptr, error) {
	f, err := fileArg(t, a[0])
	if err != nil {
		return 0, err
	}
	var rd func([]byte) (int, error)
	if legacy {
		l, ok := f.(interface{ ReadDirLegacy([]byte) (int, error) })
		if !ok {
			return 0, unix.ENOTDIR
		}
		rd = l.ReadDirLegacy
	} else {
		d, ok := f.(task.DirReader)
		if !ok {
			return 0, unix.ENOTDIR
		}
		rd = d.ReadDir
	}
	buf := make([]byte, min(uint64(uint32(a[2])), 1<<20))
	n, err := rd(buf)
	if err != nil {
		return 0, err
	}
	if err := t.CopyOut(a[1], buf[:n]); err != nil {
		return 0, err
	}
	return uintptr(n), nil
}

func sysFstat(t *task.Task, a task.Args) (uintptr, error) {
	f, err := fileArg(t, a[0])
	if err != nil {
		return 0, err
	}
	st, _, err := statOf(f)
	if err != nil {
		return 0, err
	}
	b := st.MarshalLinux()
	return 0, t.CopyOut(a[1], b[:])
}

func sysFstatfs(t *task.Task, a task.Args) (uintptr, error) {
	f, err := fileArg(t, a[0])
	if err != nil {
		return 0, err
	}
	return 0, t.CopyOut(a[1], statfsOf(t.P, f).Marshal())
}

func sysFchmod(t *task.Task, a task.Args) (uintptr, error) {
	f, err := fileArg(t, a[0])
	if err != nil {
		return 0, err
	}
	if isOPath(f) {
		return 0, unix.EBADF
	}
	if lf, ok := f.(locFile); ok {
		return 0, t.P.FS.ChmodLoc(t, lf.location(), uint32(a[1]))
	}
	return 0, nil
}

func sysFchown(t *task.Task, a task.Args) (uintptr, error) {
	f, err := fileArg(t, a[0])
	if err != nil {
		return 0, err
	}
	if isOPath(f) {
		return 0, unix.EBADF
	}
	if lf, ok := f.(locFile); ok {
		return 0, t.P.FS.ChownLoc(t, lf.location(), int(int32(a[1])), int(int32(a[2])))
	}
	return 0, nil
}

func sysFchdir(t *task.Task, a task.Args) (uintptr, error) {
	f, err := fileArg(t, a[0])
	if err != nil {
		return 0, err
	}
	if lf, ok := f.(locFile); ok {
		return 0, t.P.FS.SetCwd(t, lf.location())
	}
	return 0, unix.ENOTDIR
}
