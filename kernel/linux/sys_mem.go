package linux

import (
	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
)

// Memory syscalls: brk(2), mmap(2), munmap(2), mprotect(2), madvise(2),
// mremap(2). Anonymous memory is demand-zero; a private file mapping is
// filled by copying the file's bytes (copy-on-write needs no sharing
// because the app is the only process).
func init() {
	register(unix.SYS_BRK, "brk", sysBrk)
	registerPartial(unix.SYS_MMAP, "mmap", "private file mappings are copies (later writes to the file are not seen); shared writable file mappings are refused", sysMmap)
	register(unix.SYS_MUNMAP, "munmap", sysMunmap)
	register(unix.SYS_MPROTECT, "mprotect", sysMprotect)
	register(unix.SYS_MADVISE, "madvise", sysMadvise)
	registerPartial(unix.SYS_MSYNC, "msync", "checks its arguments and the range; there is nothing to write back (shared file mappings are refused)", sysMsync)
	register(unix.SYS_MREMAP, "mremap", sysMremap)
}

func sysBrk(t *task.Task, a task.Args) (uintptr, error) { return t.P.MM.Brk(a[0]), nil }

func sysMmap(t *task.Task, a task.Args) (uintptr, error) {
	addr, n, prot, flags, fd, off := a[0], a[1], int(a[2]), int(a[3]), int(int32(a[4])), int64(a[5])
	if n == 0 || off%task.PageSize != 0 {
		return 0, unix.EINVAL
	}
	if flags&(unix.MAP_PRIVATE|unix.MAP_SHARED|unix.MAP_SHARED_VALIDATE) == 0 {
		return 0, unix.EINVAL
	}
	if flags&unix.MAP_ANONYMOUS != 0 {
		name := ""
		if flags&unix.MAP_STACK != 0 {
			name = ""
		}
		return t.P.MM.Map(addr, n, prot, flags, name)
	}
	f, err := t.P.FDs.Get(fd)
	if err != nil {
		return 0, err
	}
	pr, ok := f.(task.PReader)
	if !ok {
		return 0, unix.ENODEV
	}
	if st, ok := f.(task.Stater); ok {
		if s, err := st.Stat(); err == nil && s.Mode&unix.S_IFMT == unix.S_IFDIR {
			return 0, unix.ENODEV
		}
	}
	if fl, err := t.P.FDs.Flags(fd); err == nil && fl&unix.O_ACCMODE == unix.O_WRONLY {
		return 0, unix.EACCES // mmap(2): the fd must be open for reading
	}
	if flags&unix.MAP_SHARED != 0 && prot&unix.PROT_WRITE != 0 {
		return 0, unix.EACCES // shared writable file mappings are not supported
	}
	name := ""
	if nf, ok := f.(interface{ Path() string }); ok {
		name = nf.Path()
	}
	va, err := t.P.MM.Map(addr, n, unix.PROT_READ|unix.PROT_WRITE, flags, name)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 64<<10)
	for done := uintptr(0); done < n; {
		k := min(uintptr(len(buf)), n-done)
		r, err := pr.Pread(buf[:k], off+int64(done))
		if err != nil || r <= 0 {
			break
		}
		if err := t.CopyOut(va+done, buf[:r]); err != nil {
			break
		}
		done += uintptr(r)
	}
	if prot != unix.PROT_READ|unix.PROT_WRITE {
		t.P.MM.Protect(va, n, prot)
	}
	setOffset(t.P.MM, va, off)
	return va, nil
}

func sysMunmap(t *task.Task, a task.Args) (uintptr, error) { return 0, t.P.MM.Unmap(a[0], a[1]) }

func sysMprotect(t *task.Task, a task.Args) (uintptr, error) {
	return 0, t.P.MM.Protect(a[0], a[1], int(a[2]))
}

func sysMadvise(t *task.Task, a task.Args) (uintptr, error) {
	if a[0]%task.PageSize != 0 {
		return 0, unix.EINVAL
	}
	switch int(a[2]) {
	case unix.MADV_DONTNEED:
		// Anonymous private memory reads back as zeros.
		for _, v := range t.P.MM.VMAs() {
			s, e := max(v.Start, a[0]), min(v.End, a[0]+task.PageUp(a[1]))
			if s < e && (v.Name == "" || v.Name == "[heap]" || v.Name == "[stack]") {
				t.P.MM.Pager.Map(s, e-s, v.Prot)
			}
		}
	}
	return 0, nil
}

// msync(2): EINVAL for an unaligned address or bad flags (MS_ASYNC with
// MS_SYNC), ENOMEM when part of the range is not mapped. Private and
// anonymous mappings have nothing to write back.
func sysMsync(t *task.Task, a task.Args) (uintptr, error) {
	addr, n, flags := a[0], task.PageUp(a[1]), int(a[2])
	if addr%task.PageSize != 0 || flags&^(unix.MS_ASYNC|unix.MS_SYNC|unix.MS_INVALIDATE) != 0 ||
		flags&unix.MS_ASYNC != 0 && flags&unix.MS_SYNC != 0 || addr+n < addr {
		return 0, unix.EINVAL
	}
	covered := addr
	for _, v := range t.P.MM.VMAs() { // sorted by start
		if v.End <= covered || v.Start >= addr+n {
			continue
		}
		if v.Start > covered {
			return 0, unix.ENOMEM
		}
		covered = v.End
	}
	if covered < addr+n {
		return 0, unix.ENOMEM
	}
	return 0, nil
}

func sysMremap(t *task.Task, a task.Args) (uintptr, error) {
	return t.P.MM.Remap(a[0], a[1], a[2], int(a[3]), a[4])
}

// setOffset records the file offset of the mapping at va (for /proc/self/maps).
func setOffset(m *task.MM, va uintptr, off int64) {
	m.Mu.Lock()
	defer m.Mu.Unlock()
	for i := range m.Vmas {
		if m.Vmas[i].Start == va {
			m.Vmas[i].Offset = off
		}
	}
}
