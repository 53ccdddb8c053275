package linux

import (
	"bytes"
	"strconv"
	"testing"
	"time"

	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/waiter"
)

// pipe2 creates a pipe and returns its read and write fds.
func (f *fx) pipe2(flags int) (r, w uintptr) {
	f.t.Helper()
	fds := f.alloc(8)
	f.ok(unix.SYS_PIPE2, fds, uintptr(flags))
	b := f.get(fds, 8)
	return uintptr(le.Uint32(b)), uintptr(le.Uint32(b[4:]))
}

// async runs a syscall on a second task of the same process.
func (f *fx) async(nr int, args ...uintptr) (*task.Task, <-chan int64) {
	t2 := f.p.NewTask()
	ch := make(chan int64, 1)
	go func() { ch <- call(t2, nr, args...) }()
	return t2, ch
}

func waitResult(t *testing.T, ch <-chan int64) int64 {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(5 * time.Second):
		t.Fatal("blocked syscall did not return")
	}
	return 0
}

func notYet(t *testing.T, ch <-chan int64) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("syscall returned %d, want it blocked", r)
	case <-time.After(20 * time.Millisecond):
	}
}

func TestPipeRoundTrip(t *testing.T) {
	f := newFx(t)
	r, w := f.pipe2(0)
	if r != 3 || w != 4 {
		t.Errorf("pipe2 fds %d %d, want 3 4", r, w)
	}
	f.write(w, "hello, ")
	f.write(w, "pipe")
	if s := f.read(r, 5); s != "hello" {
		t.Errorf("read = %q", s)
	}
	if s := f.read(r, 100); s != ", pipe" {
		t.Errorf("read = %q", s)
	}
	// fstat, F_GETFL, lseek, pread.
	if st := f.fstat(r); st.Mode != unix.S_IFIFO|0o600 || st.Nlink != 1 {
		t.Errorf("fstat(pipe) mode %o", st.Mode)
	}
	if fl := f.ok(unix.SYS_FCNTL, r, unix.F_GETFL); fl != unix.O_RDONLY {
		t.Errorf("F_GETFL read end = %#o", fl)
	}
	if fl := f.ok(unix.SYS_FCNTL, w, unix.F_GETFL); fl != unix.O_WRONLY {
		t.Errorf("F_GETFL write end = %#o", fl)
	}
	buf := f.alloc(16)
	f.fails(unix.ESPIPE, unix.SYS_LSEEK, r, 0, unix.SEEK_SET)
	f.fails(unix.ESPIPE, unix.SYS_PREAD64, r, buf, 1, 0)
	f.fails(unix.EBADF, unix.SYS_WRITE, r, buf, 1)
	f.fails(unix.EBADF, unix.SYS_READ, w, buf, 1)
	f.fails(unix.EINVAL, unix.SYS_FSYNC, r)
	// FIONREAD.
	f.write(w, "abc")
	f.ok(unix.SYS_IOCTL, r, fionread, buf)
	if n := le.Uint32(f.get(buf, 4)); n != 3 {
		t.Errorf("FIONREAD = %d", n)
	}
	f.fails(unix.ENOTTY, unix.SYS_IOCTL, r, unix.TCGETS, buf)
	// EOF once every writer is closed, after the data.
	w2 := uintptr(f.ok(unix.SYS_DUP, w))
	f.ok(unix.SYS_CLOSE, w)
	f.write(w2, "d")
	f.ok(unix.SYS_CLOSE, w2)
	if s := f.read(r, 100); s != "abcd" {
		t.Errorf("read before EOF = %q", s)
	}
	if n := f.ok(unix.SYS_READ, r, buf, 16); n != 0 {
		t.Errorf("read at EOF = %d", n)
	}
	// EPIPE (and SIGPIPE) once every reader is closed.
	r, w = f.pipe2(0)
	f.ok(unix.SYS_CLOSE, r)
	set := f.alloc(8)
	f.put(set, []byte{0, 0x10, 0, 0, 0, 0, 0, 0}) // SIGPIPE (13), blocked
	f.ok(unix.SYS_RT_SIGPROCMASK, unix.SIG_BLOCK, set, 0, 8)
	f.fails(unix.EPIPE, unix.SYS_WRITE, w, f.str("x"), 1)
	f.ok(unix.SYS_RT_SIGPENDING, set, 8)
	if le.Uint64(f.get(set, 8))&(1<<(unix.SIGPIPE-1)) == 0 {
		t.Error("EPIPE without a pending SIGPIPE")
	}
	if n := f.ok(unix.SYS_WRITE, w, buf, 0); n != 0 {
		t.Errorf("write of 0 bytes = %d", n)
	}
	// pipe (legacy) and errors.
	f.ok(unix.SYS_PIPE, f.alloc(8))
	f.fails(unix.EINVAL, unix.SYS_PIPE2, f.alloc(8), 0x1)
	n := len(f.p.FDs.Fds())
	f.fails(unix.EFAULT, unix.SYS_PIPE2, 0x10, 0)
	if len(f.p.FDs.Fds()) != n {
		t.Error("pipe2 with a bad pointer leaked fds")
	}
	r, w = f.pipe2(unix.O_CLOEXEC | unix.O_NONBLOCK)
	if f.ok(unix.SYS_FCNTL, r, unix.F_GETFD) != unix.FD_CLOEXEC || f.ok(unix.SYS_FCNTL, w, unix.F_GETFL) != unix.O_WRONLY|unix.O_NONBLOCK {
		t.Error("pipe2 flags")
	}
}

func TestPipeBlocking(t *testing.T) {
	f := newFx(t)
	r, w := f.pipe2(0)
	buf := f.alloc(64)
	// A reader blocks until a writer writes.
	_, ch := f.async(unix.SYS_READ, r, buf, 64)
	notYet(t, ch)
	f.write(w, "wake")
	if n := waitResult(t, ch); n != 4 || string(f.get(buf, 4)) != "wake" {
		t.Errorf("blocked read = %d %q", n, f.get(buf, 4))
	}
	// ... or the last writer closes (EOF).
	_, ch = f.async(unix.SYS_READ, r, buf, 64)
	notYet(t, ch)
	f.ok(unix.SYS_CLOSE, w)
	if n := waitResult(t, ch); n != 0 {
		t.Errorf("read woken by close = %d", n)
	}
	// ... or is interrupted (EINTR).
	r, w = f.pipe2(0)
	t2, ch := f.async(unix.SYS_READ, r, buf, 64)
	notYet(t, ch)
	t2.Wake()
	if n := waitResult(t, ch); n != -int64(unix.EINTR) {
		t.Errorf("interrupted read = %d, want -EINTR", n)
	}
	// A writer blocks while the pipe is full, and a big write completes as
	// a reader drains it.
	big := bytes.Repeat([]byte("0123456789abcdef"), 10000) // 160000 bytes
	src := f.alloc(len(big))
	f.put(src, big)
	_, ch = f.async(unix.SYS_WRITE, w, src, uintptr(len(big)))
	notYet(t, ch)
	var got []byte
	dst := f.alloc(8192)
	for len(got) < len(big) {
		n := f.ok(unix.SYS_READ, r, dst, 8192)
		got = append(got, f.get(dst, int(n))...)
	}
	if n := waitResult(t, ch); n != int64(len(big)) || !bytes.Equal(got, big) {
		t.Errorf("big write = %d, data equal %v", n, bytes.Equal(got, big))
	}
	// A blocked writer gets EPIPE when the last reader closes.
	f.put(src, make([]byte, 70000))
	_, ch = f.async(unix.SYS_WRITE, w, src, 70000)
	notYet(t, ch)
	f.ok(unix.SYS_CLOSE, r)
	if n := waitResult(t, ch); n != 65536 {
		t.Errorf("write cut by the reader closing = %d, want the 65536 bytes written", n)
	}
}

func TestPipeNonblockAndSize(t *testing.T) {
	f := newFx(t)
	r, w := f.pipe2(unix.O_NONBLOCK)
	buf := f.alloc(70000)
	f.fails(unix.EAGAIN, unix.SYS_READ, r, buf, 10)
	if sz := f.ok(unix.SYS_FCNTL, w, unix.F_GETPIPE_SZ); sz != 65536 {
		t.Errorf("F_GETPIPE_SZ = %d", sz)
	}
	if n := f.ok(unix.SYS_WRITE, w, buf, 70000); n != 65536 {
		t.Errorf("non-blocking write into an empty pipe = %d, want 65536", n)
	}
	f.fails(unix.EAGAIN, unix.SYS_WRITE, w, buf, 1)
	// A full pipe takes data again only once a whole page slot is free
	// (Linux's ring of 16 pages).
	f.ok(unix.SYS_READ, r, buf, 100)
	f.fails(unix.EAGAIN, unix.SYS_WRITE, w, buf, 200)
	f.fails(unix.EAGAIN, unix.SYS_WRITE, w, buf, 5000)
	f.ok(unix.SYS_READ, r, buf, 4096-100)
	if n := f.ok(unix.SYS_WRITE, w, buf, 5000); n != 4096 {
		t.Errorf("write of 5000 into one free slot = %d, want 4096", n)
	}
	f.ok(unix.SYS_IOCTL, r, fionread, buf)
	if n := le.Uint32(f.get(buf, 4)); n != 65536 {
		t.Errorf("FIONREAD = %d", n)
	}
	// F_SETFL clears O_NONBLOCK on the description.
	f.ok(unix.SYS_FCNTL, r, unix.F_SETFL, 0)
	if n := f.ok(unix.SYS_READ, r, buf, 70000); n != 65536 {
		t.Errorf("read of a full pipe = %d", n)
	}
	// Small writes share a slot.
	for range 100 {
		f.write(w, "x")
	}
	if n := f.ok(unix.SYS_READ, r, buf, 1000); n != 100 {
		t.Errorf("read of 100 one-byte writes = %d", n)
	}
	_, ch := f.async(unix.SYS_READ, r, buf, 1)
	notYet(t, ch)
	f.write(w, "z")
	waitResult(t, ch)
	// F_SETPIPE_SZ rounds up to a power of two pages.
	if sz := f.ok(unix.SYS_FCNTL, w, unix.F_SETPIPE_SZ, 5000); sz != 8192 {
		t.Errorf("F_SETPIPE_SZ 5000 = %d", sz)
	}
	if sz := f.ok(unix.SYS_FCNTL, r, unix.F_GETPIPE_SZ); sz != 8192 {
		t.Errorf("F_GETPIPE_SZ = %d", sz)
	}
	f.write(w, "keep")
	if n := f.ok(unix.SYS_WRITE, w, buf, 70000); n != 368+4096 {
		t.Errorf("write into 8 KiB pipe = %d, want the 368 bytes below a page merged, then one page", n)
	}
	f.fails(unix.EBUSY, unix.SYS_FCNTL, w, unix.F_SETPIPE_SZ, 4096)
	if sz := f.ok(unix.SYS_FCNTL, w, unix.F_SETPIPE_SZ, 1<<20); sz != 1<<20 {
		t.Errorf("F_SETPIPE_SZ 1 MiB = %d", sz)
	}
	if s := f.read(r, 4); s != "keep" {
		t.Errorf("data after resize = %q", s)
	}
	fd := f.open("/tmp/x", unix.O_CREAT|unix.O_RDWR, 0o644)
	f.fails(unix.EBADF, unix.SYS_FCNTL, fd, unix.F_GETPIPE_SZ)
}

func TestPipePacketMode(t *testing.T) {
	f := newFx(t)
	r, w := f.pipe2(unix.O_DIRECT)
	if fl := f.ok(unix.SYS_FCNTL, w, unix.F_GETFL); fl != unix.O_WRONLY|unix.O_DIRECT {
		t.Errorf("F_GETFL = %#o", fl)
	}
	f.write(w, "one")
	f.write(w, "two!")
	if s := f.read(r, 100); s != "one" {
		t.Errorf("first packet %q", s)
	}
	if s := f.read(r, 2); s != "tw" {
		t.Errorf("short read of a packet %q", s)
	}
	buf := f.alloc(8)
	f.ok(unix.SYS_FCNTL, r, unix.F_SETFL, unix.O_NONBLOCK)
	f.fails(unix.EAGAIN, unix.SYS_READ, r, buf, 8) // the rest of "two!" was discarded
}

func TestPipePoll(t *testing.T) {
	f := newFx(t)
	r, w := f.pipe2(0)
	rf, _ := f.p.FDs.Get(int(r))
	wf, _ := f.p.FDs.Get(int(w))
	rp, wp := rf.(waiter.Waitable), wf.(waiter.Waitable)
	all := waiter.EventMask(0xffff)
	if ev := rp.Readiness(all); ev != 0 {
		t.Errorf("empty pipe read end: %#x", ev)
	}
	if ev := wp.Readiness(all); ev != unix.EPOLLOUT|unix.EPOLLWRNORM {
		t.Errorf("empty pipe write end: %#x", ev)
	}
	// Readiness reports what the mask asks for, plus EPOLLERR and EPOLLHUP.
	if ev := wp.Readiness(waiter.EventIn); ev != 0 {
		t.Errorf("write end asked for EPOLLIN: %#x", ev)
	}
	e, ch := waiter.NewChannelEntry(waiter.EventIn)
	rp.EventRegister(&e)
	// A reader waiting for data is not woken by room made for writers.
	wake := func() bool {
		select {
		case <-ch:
			return true
		default:
			return false
		}
	}
	f.write(w, "x")
	if !wake() {
		t.Error("EventIn entry not notified by a write")
	}
	if ev := rp.Readiness(all); ev != unix.EPOLLIN|unix.EPOLLRDNORM {
		t.Errorf("pipe with data: %#x", ev)
	}
	buf := f.alloc(8)
	f.write(w, "yz")
	wake()
	f.ok(unix.SYS_READ, r, buf, 1)
	if wake() {
		t.Error("EventIn entry notified by a read")
	}
	rp.EventUnregister(&e)
	f.ok(unix.SYS_CLOSE, w)
	if wake() {
		t.Error("unregistered entry notified")
	}
	if ev := rp.Readiness(all); ev != unix.EPOLLIN|unix.EPOLLRDNORM|unix.EPOLLHUP {
		t.Errorf("pipe with data and no writer: %#x", ev)
	}
	if ev := rp.Readiness(waiter.EventOut); ev != unix.EPOLLHUP {
		t.Errorf("read end asked for EPOLLOUT after the writer closed: %#x", ev)
	}
	r, w = f.pipe2(0)
	wf, _ = f.p.FDs.Get(int(w))
	e, ch = waiter.NewChannelEntry(waiter.EventOut)
	wf.(waiter.Waitable).EventRegister(&e)
	f.ok(unix.SYS_CLOSE, r)
	if !wake() {
		t.Error("EventOut entry not notified when the reader closed")
	}
	wf.(waiter.Waitable).EventUnregister(&e)
	if ev := wf.(waiter.Waitable).Readiness(all); ev != unix.EPOLLOUT|unix.EPOLLWRNORM|unix.EPOLLERR {
		t.Errorf("pipe without reader: %#x", ev)
	}
}

func TestFIFO(t *testing.T) {
	f := newFx(t)
	f.ok(unix.SYS_MKNOD, f.str("/tmp/fifo"), unix.S_IFIFO|0o644, 0)
	path := f.str("/tmp/fifo")
	f.fails(unix.ENXIO, unix.SYS_OPENAT, atFDCWD, path, unix.O_WRONLY|unix.O_NONBLOCK)
	// A blocking reader waits for a writer.
	_, ch := f.async(unix.SYS_OPENAT, atFDCWD, path, unix.O_RDONLY)
	notYet(t, ch)
	w := f.open("/tmp/fifo", unix.O_WRONLY, 0)
	r := uintptr(waitResult(t, ch))
	f.write(w, "through the fifo")
	if s := f.read(r, 100); s != "through the fifo" {
		t.Errorf("fifo read %q", s)
	}
	st := f.fstat(r)
	if st.Mode != unix.S_IFIFO|0o644 || st.Ino != f.stat("/tmp/fifo").Ino {
		t.Errorf("fstat of fifo: mode %o ino %d", st.Mode, st.Ino)
	}
	if s := f.readlink("/proc/self/fd/" + strconv.Itoa(int(r))); s != "/tmp/fifo" {
		t.Errorf("fifo fd link %q", s)
	}
	f.ok(unix.SYS_CLOSE, w)
	if s := f.read(r, 100); s != "" {
		t.Errorf("fifo read after writer closed = %q", s)
	}
	// A non-blocking reader opens at once; O_RDWR never blocks.
	r2 := f.open("/tmp/fifo", unix.O_RDONLY|unix.O_NONBLOCK, 0)
	rw := f.open("/tmp/fifo", unix.O_RDWR, 0)
	f.write(rw, "rw")
	if s := f.read(r2, 10); s != "rw" {
		t.Errorf("read of O_RDWR fifo write = %q", s)
	}
	// A blocking writer waits for a reader.
	f.ok(unix.SYS_MKNOD, f.str("/tmp/fifo2"), unix.S_IFIFO|0o644, 0)
	t2, ch := f.async(unix.SYS_OPENAT, atFDCWD, f.str("/tmp/fifo2"), unix.O_WRONLY)
	notYet(t, ch)
	t2.Wake()
	if r := waitResult(t, ch); r != -int64(unix.EINTR) {
		t.Errorf("interrupted fifo open = %d", r)
	}
}

func TestPipeProcLinks(t *testing.T) {
	f := newFx(t)
	r, w := f.pipe2(0)
	rf, _ := f.p.FDs.Get(int(r))
	want := "pipe:[" + strconv.FormatUint(rf.(*pipeEnd).p.ino, 10) + "]"
	for _, fd := range []uintptr{r, w} {
		if s := f.readlink("/proc/self/fd/" + strconv.Itoa(int(fd))); s != want {
			t.Errorf("fd %d link %q, want %q", fd, s, want)
		}
	}
	// Opening the link gives a new end of the same pipe.
	w2 := f.open("/proc/self/fd/"+strconv.Itoa(int(w)), unix.O_WRONLY, 0)
	f.write(w2, "via proc")
	if s := f.read(r, 100); s != "via proc" {
		t.Errorf("read = %q", s)
	}
	if st := f.stat("/proc/self/fd/" + strconv.Itoa(int(r))); st.Mode&unix.S_IFMT != unix.S_IFIFO {
		t.Errorf("stat of pipe link: mode %o", st.Mode)
	}
	if st := f.stat("/dev/stdout"); st.Mode&unix.S_IFMT != unix.S_IFCHR {
		t.Errorf("stat /dev/stdout: mode %o", st.Mode)
	}
}
