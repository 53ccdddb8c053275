package linux

import (
	"bytes"
	"sync"
	"testing"

	"github.com/gosv/gosv/kernel/fsimpl/devfs"
	"github.com/gosv/gosv/kernel/fsimpl/ramfs"
	"github.com/gosv/gosv/kernel/machine"
	"github.com/gosv/gosv/kernel/task"
	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

// fakeMem is app memory for host tests: a page map that honours PROT_*
// like the machine layer (EFAULT on unmapped or read-only access).
type fakeMem struct {
	mu    sync.Mutex
	pages map[uintptr]*fakePage
}

type fakePage struct {
	data [task.PageSize]byte
	prot int
}

func newFakeMem() *fakeMem { return &fakeMem{pages: map[uintptr]*fakePage{}} }

func (m *fakeMem) Map(addr, n uintptr, prot int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for a := addr; a < addr+task.PageUp(n); a += task.PageSize {
		m.pages[a] = &fakePage{prot: prot}
	}
	return nil
}

func (m *fakeMem) Unmap(addr, n uintptr) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for a := addr; a < addr+task.PageUp(n); a += task.PageSize {
		delete(m.pages, a)
	}
	return nil
}

func (m *fakeMem) Protect(addr, n uintptr, prot int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for a := addr; a < addr+task.PageUp(n); a += task.PageSize {
		if p := m.pages[a]; p != nil {
			p.prot = prot
		}
	}
	return nil
}

func (m *fakeMem) access(addr uintptr, n int, write bool, f func(p []byte)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for n > 0 {
		pg := m.pages[task.PageDown(addr)]
		if pg == nil || pg.prot&unix.PROT_READ == 0 || write && pg.prot&unix.PROT_WRITE == 0 {
			return unix.EFAULT
		}
		off := int(addr % task.PageSize)
		k := min(n, task.PageSize-off)
		f(pg.data[off : off+k])
		addr += uintptr(k)
		n -= k
	}
	return nil
}

func (m *fakeMem) CopyIn(dst []byte, addr uintptr) error {
	return m.access(addr, len(dst), false, func(p []byte) { n := copy(dst, p); dst = dst[n:] })
}

func (m *fakeMem) CopyOut(addr uintptr, src []byte) error {
	return m.access(addr, len(src), true, func(p []byte) { n := copy(p, src); src = src[n:] })
}

// fakeRunner never runs app code; tests call syscalls directly.
type fakeRunner struct{}

func (fakeRunner) Run(t *task.Task)       { t.Exit(0, true) }
func (fakeRunner) Interrupt(t *task.Task) { t.Wake() }

// newTestFS returns a mount table whose root is a fresh root filesystem,
// with tmpfs available to mount(2).
func newTestFS(t testing.TB) *vfs.FS {
	root := ramfs.NewRoot()
	ns := vfs.NewNamespace(root, "tmpfs", 0)
	ns.RegisterType("tmpfs", ramfs.NewTmpfs(1<<30))
	return vfs.NewFS(ns)
}

// mountTestFilesystems mounts /proc, /sys, /dev and /dev/shm as the
// kernel does at boot (kernel/app.go).
func mountTestFilesystems(t testing.TB, p *task.Process) {
	t.Helper()
	ctx := vfs.RootContext
	p.FS.Mkdir(ctx, vfs.Loc{}, "/sys", 0o555)
	const virt = vfs.MS_NOSUID | vfs.MS_NODEV | vfs.MS_NOEXEC
	shm, _ := ramfs.NewTmpfs(1<<30)("tmpfs", 0, "")
	for _, m := range []struct {
		fs     vfs.Filesystem
		source string
		target string
		flags  uint64
	}{
		{ProcFS(p), "proc", "/proc", virt},
		{SysFS(p.K), "sysfs", "/sys", virt},
		{devfs.New(nil), "devtmpfs", "/dev", vfs.MS_NOSUID},
		{shm, "tmpfs", "/dev/shm", vfs.MS_NOSUID | vfs.MS_NODEV},
	} {
		if err := p.FS.MountFilesystem(ctx, m.fs, m.source, m.target, m.flags); err != nil {
			t.Fatalf("mount %s: %v", m.target, err)
		}
	}
}

// newTestProcess returns a process over a fresh root filesystem with fake
// memory, a console on fds 0-2 writing into out, and one task with a
// 64 KiB read-write scratch mapping at scratch.
func newTestProcess(t testing.TB) (p *task.Process, task0 *task.Task, out *bytes.Buffer, scratch uintptr) {
	t.Helper()
	mem := newFakeMem()
	out = &bytes.Buffer{}
	p = task.NewProcess(newTestFS(t), mem, mem, fakeRunner{}, out)
	mountTestFilesystems(t, p)
	p.FDs.InstallAt(0, &Console{Name: "/dev/console"}, unix.O_RDONLY, false)
	p.FDs.InstallAt(1, &Console{W: out, Name: "/dev/console"}, unix.O_WRONLY, false)
	p.FDs.InstallAt(2, &Console{W: out, Name: "/dev/console"}, unix.O_WRONLY, false)
	task0 = p.NewTask()
	task0.Ctx = &machine.AppContext{}
	var err error
	scratch, err = p.MM.Map(0, 64<<10, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS, "")
	if err != nil {
		t.Fatal(err)
	}
	return p, task0, out, scratch
}

// call runs syscall nr with args and returns RAX as a signed value.
func call(t *task.Task, nr int, args ...uintptr) int64 {
	var a task.Args
	copy(a[:], args)
	return int64(Dispatch(t, uintptr(nr), a))
}

func TestWriteToConsole(t *testing.T) {
	_, task0, out, buf := newTestProcess(t)
	task0.CopyOut(buf, []byte("hello\n"))
	if r := call(task0, unix.SYS_WRITE, 1, buf, 6); r != 6 || out.String() != "hello\n" {
		t.Errorf("write = %d, console %q", r, out.String())
	}
	if r := call(task0, unix.SYS_WRITE, 1, 0x10, 6); r != -int64(unix.EFAULT) {
		t.Errorf("write from a bad pointer = %d, want -EFAULT", r)
	}
	if r := call(task0, unix.SYS_WRITE, 9, buf, 6); r != -int64(unix.EBADF) {
		t.Errorf("write to a closed fd = %d, want -EBADF", r)
	}
	if r := call(task0, 400); r != -int64(unix.ENOSYS) {
		t.Errorf("unknown syscall = %d, want -ENOSYS", r)
	}
}

func TestBrkAndMmap(t *testing.T) {
	p, task0, _, _ := newTestProcess(t)
	p.MM.SetBrk(0x500000)
	if r := call(task0, unix.SYS_BRK, 0); r != 0x500000 {
		t.Fatalf("brk(0) = %#x", r)
	}
	if r := call(task0, unix.SYS_BRK, 0x523456); r != 0x523456 {
		t.Fatalf("brk grow = %#x", r)
	}
	if err := task0.CopyOut(0x523000, []byte{1}); err != nil {
		t.Errorf("new heap page not writable: %v", err)
	}
	a := call(task0, unix.SYS_MMAP, 0, 3*task.PageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS, ^uintptr(0), 0)
	if a <= 0 || a%task.PageSize != 0 {
		t.Fatalf("mmap = %#x", a)
	}
	if r := call(task0, unix.SYS_MPROTECT, uintptr(a), task.PageSize, unix.PROT_READ); r != 0 {
		t.Fatalf("mprotect = %d", r)
	}
	if err := task0.CopyOut(uintptr(a), []byte{1}); err != unix.EFAULT {
		t.Errorf("write to a read-only page: %v, want EFAULT", err)
	}
	if r := call(task0, unix.SYS_MUNMAP, uintptr(a), 3*task.PageSize); r != 0 {
		t.Fatalf("munmap = %d", r)
	}
	if err := task0.CopyIn(make([]byte, 1), uintptr(a)); err != unix.EFAULT {
		t.Errorf("read of unmapped memory: %v, want EFAULT", err)
	}
}
