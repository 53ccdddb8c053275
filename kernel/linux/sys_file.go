package linux

import "golang.org/x/sys/unix"

// File syscalls (open(2), read(2), write(2), ...). Paths are resolved in
// the process's filesystem (kernel/fs).
func init() {
	register(unix.SYS_READ, "read", sysRead)
	register(unix.SYS_WRITE, "write", sysWrite)
	register(unix.SYS_WRITEV, "writev", sysWritev)
	register(unix.SYS_CLOSE, "close", func(t *Task, a Args) (uintptr, error) { return 0, t.P.FDs.Close(int(int32(a[0]))) })
	register(unix.SYS_IOCTL, "ioctl", sysIoctl)
}

// maxRW caps one read or write (Linux's MAX_RW_COUNT is about 2 GiB; a
// smaller cap bounds the kernel buffer).
const maxRW = 1 << 24

func sysRead(t *Task, a Args) (uintptr, error) {
	f, err := t.P.FDs.Get(int(int32(a[0])))
	if err != nil {
		return 0, err
	}
	buf := make([]byte, min(a[2], maxRW))
	n, err := f.Read(t, buf)
	if n > 0 {
		if err := t.CopyOut(a[1], buf[:n]); err != nil {
			return 0, err
		}
	}
	return uintptr(n), err
}

func sysWrite(t *Task, a Args) (uintptr, error) {
	f, err := t.P.FDs.Get(int(int32(a[0])))
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

// readIovec reads an iovec array (struct iovec {void *base; size_t len}).
func readIovec(t *Task, addr uintptr, n int) ([][2]uintptr, error) {
	if n < 0 || n > 1024 {
		return nil, unix.EINVAL
	}
	b := make([]byte, 16*n)
	if err := t.CopyIn(b, addr); err != nil {
		return nil, err
	}
	iov := make([][2]uintptr, n)
	for i := range iov {
		iov[i] = [2]uintptr{uintptr(le.Uint64(b[16*i:])), uintptr(le.Uint64(b[16*i+8:]))}
	}
	return iov, nil
}

func sysWritev(t *Task, a Args) (uintptr, error) {
	f, err := t.P.FDs.Get(int(int32(a[0])))
	if err != nil {
		return 0, err
	}
	iov, err := readIovec(t, a[1], int(a[2]))
	if err != nil {
		return 0, err
	}
	var buf []byte
	for _, v := range iov {
		if v[1] == 0 {
			continue
		}
		if len(buf)+int(v[1]) > maxRW {
			return 0, unix.EINVAL
		}
		start := len(buf)
		buf = append(buf, make([]byte, v[1])...)
		if err := t.CopyIn(buf[start:], v[0]); err != nil {
			return 0, err
		}
	}
	n, err := f.Write(t, buf)
	return uintptr(n), err
}

func sysIoctl(t *Task, a Args) (uintptr, error) {
	f, err := t.P.FDs.Get(int(int32(a[0])))
	if err != nil {
		return 0, err
	}
	if io, ok := f.(Ioctler); ok {
		return io.Ioctl(t, a[1], a[2])
	}
	return 0, unix.ENOTTY
}
