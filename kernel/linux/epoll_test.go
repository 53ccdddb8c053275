package linux

import (
	"testing"
	"time"

	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
)

// evPlainFile is a File without waiter.Waitable, like a regular file.
type evPlainFile struct{}

func (evPlainFile) Read(t *task.Task, p []byte) (int, error)  { return 0, nil }
func (evPlainFile) Write(t *task.Task, p []byte) (int, error) { return len(p), nil }
func (evPlainFile) Close() error                              { return nil }

// evCtl runs epoll_ctl with struct epoll_event {events, data} at buf.
func evCtl(task0 *task.Task, epfd int64, op int, fd int64, events uint32, data uint64, buf uintptr) int64 {
	var b [12]byte
	le.PutUint32(b[0:], events)
	le.PutUint64(b[4:], data)
	task0.CopyOut(buf, b[:])
	return call(task0, unix.SYS_EPOLL_CTL, uintptr(epfd), uintptr(op), uintptr(fd), buf)
}

type evEvent struct {
	events uint32
	data   uint64
}

// evWait runs epoll_wait with timeout ms into the array at buf.
func evWait(task0 *task.Task, epfd int64, buf uintptr, max int, ms int) (int64, []evEvent) {
	r := call(task0, unix.SYS_EPOLL_WAIT, uintptr(epfd), buf, uintptr(max), uintptr(ms))
	return r, evEvents(task0, buf, r)
}

func evEvents(task0 *task.Task, buf uintptr, n int64) []evEvent {
	var out []evEvent
	for i := int64(0); i < n; i++ {
		var b [12]byte
		task0.CopyIn(b[:], buf+uintptr(12*i))
		out = append(out, evEvent{le.Uint32(b[0:]), le.Uint64(b[4:])})
	}
	return out
}

func TestEpollCtlErrors(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	if r := call(task0, unix.SYS_EPOLL_CREATE1, 0x1234); r != evErr(unix.EINVAL) {
		t.Errorf("epoll_create1(bad flags) = %d, want -EINVAL", r)
	}
	if r := call(task0, unix.SYS_EPOLL_CREATE, 0); r != evErr(unix.EINVAL) {
		t.Errorf("epoll_create(0) = %d, want -EINVAL", r)
	}
	ep := call(task0, unix.SYS_EPOLL_CREATE1, unix.EPOLL_CLOEXEC)
	ep2 := call(task0, unix.SYS_EPOLL_CREATE, 1)
	efd := call(task0, unix.SYS_EVENTFD2, 0, unix.EFD_NONBLOCK)
	plain, _ := p.FDs.Install(evPlainFile{}, unix.O_RDONLY, false, 0)
	ev := buf + 0x100
	for _, c := range []struct {
		name      string
		epfd      int64
		op        int
		fd        int64
		events    uint32
		want      int64
		wantErrno unix.Errno
	}{
		{"add", ep, unix.EPOLL_CTL_ADD, efd, unix.EPOLLIN, 0, 0},
		{"add again", ep, unix.EPOLL_CTL_ADD, efd, unix.EPOLLIN, 0, unix.EEXIST},
		{"mod", ep, unix.EPOLL_CTL_MOD, efd, unix.EPOLLOUT, 0, 0},
		{"mod absent", ep2, unix.EPOLL_CTL_MOD, efd, unix.EPOLLIN, 0, unix.ENOENT},
		{"del absent", ep2, unix.EPOLL_CTL_DEL, efd, 0, 0, unix.ENOENT},
		{"bad fd", ep, unix.EPOLL_CTL_ADD, 77, unix.EPOLLIN, 0, unix.EBADF},
		{"bad epfd", 77, unix.EPOLL_CTL_ADD, efd, unix.EPOLLIN, 0, unix.EBADF},
		{"not epoll", efd, unix.EPOLL_CTL_ADD, ep, unix.EPOLLIN, 0, unix.EINVAL},
		{"itself", ep, unix.EPOLL_CTL_ADD, ep, unix.EPOLLIN, 0, unix.EINVAL},
		{"regular file", ep, unix.EPOLL_CTL_ADD, int64(plain), unix.EPOLLIN, 0, unix.EPERM},
		{"bad op", ep, 9, efd, unix.EPOLLIN, 0, unix.EINVAL},
		{"exclusive mod", ep, unix.EPOLL_CTL_MOD, efd, unix.EPOLLIN | unix.EPOLLEXCLUSIVE, 0, unix.EINVAL},
		{"exclusive bad bits", ep2, unix.EPOLL_CTL_ADD, efd, unix.EPOLLIN | unix.EPOLLPRI | unix.EPOLLEXCLUSIVE, 0, unix.EINVAL},
		{"nest", ep, unix.EPOLL_CTL_ADD, ep2, unix.EPOLLIN, 0, 0},
		{"loop", ep2, unix.EPOLL_CTL_ADD, ep, unix.EPOLLIN, 0, unix.ELOOP},
		{"del", ep, unix.EPOLL_CTL_DEL, efd, 0, 0, 0},
		{"del again", ep, unix.EPOLL_CTL_DEL, efd, 0, 0, unix.ENOENT},
	} {
		want := c.want
		if c.wantErrno != 0 {
			want = evErr(c.wantErrno)
		}
		if r := evCtl(task0, c.epfd, c.op, c.fd, c.events, 0, ev); r != want {
			t.Errorf("%s: epoll_ctl = %d, want %d", c.name, r, want)
		}
	}
	if r := call(task0, unix.SYS_EPOLL_CTL, uintptr(ep), unix.EPOLL_CTL_ADD, uintptr(efd), 0x10); r != evErr(unix.EFAULT) {
		t.Errorf("epoll_ctl with a bad event pointer = %d, want -EFAULT", r)
	}
	if r := call(task0, unix.SYS_EPOLL_WAIT, uintptr(ep), buf, 0, 0); r != evErr(unix.EINVAL) {
		t.Errorf("epoll_wait(maxevents 0) = %d, want -EINVAL", r)
	}
	if r := call(task0, unix.SYS_EPOLL_WAIT, uintptr(efd), buf, 1, 0); r != evErr(unix.EINVAL) {
		t.Errorf("epoll_wait on an eventfd = %d, want -EINVAL", r)
	}
}

// Level-triggered, edge-triggered and one-shot reporting of an eventfd,
// with the packed 12-byte event layout.
func TestEpollTriggers(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	evs := buf + 0x1000
	for _, c := range []struct {
		name  string
		flags uint32
		// reports after the first write: first wait, second wait
		again bool
	}{
		{"level", 0, true},
		{"edge", unix.EPOLLET, false},
		{"oneshot", unix.EPOLLONESHOT, false},
	} {
		ep := call(task0, unix.SYS_EPOLL_CREATE1, 0)
		efd := call(task0, unix.SYS_EVENTFD2, 0, unix.EFD_NONBLOCK)
		const data = 0x1122334455667788
		if r := evCtl(task0, ep, unix.EPOLL_CTL_ADD, efd, unix.EPOLLIN|c.flags, data, buf); r != 0 {
			t.Fatalf("%s: add = %d", c.name, r)
		}
		if r, _ := evWait(task0, ep, evs, 8, 0); r != 0 {
			t.Errorf("%s: wait on an idle eventfd = %d", c.name, r)
		}
		evWrite(task0, efd, buf+0x200, 1)
		r, got := evWait(task0, ep, evs, 8, 0)
		if r != 1 || got[0] != (evEvent{unix.EPOLLIN, data}) {
			t.Errorf("%s: wait after a write = %d %+v", c.name, r, got)
		}
		r, _ = evWait(task0, ep, evs, 8, 0)
		if (r == 1) != c.again {
			t.Errorf("%s: second wait = %d, want reported again: %v", c.name, r, c.again)
		}
		evWrite(task0, efd, buf+0x200, 1)
		r, _ = evWait(task0, ep, evs, 8, 0)
		if want := c.flags != unix.EPOLLONESHOT; (r == 1) != want {
			t.Errorf("%s: wait after a second write = %d, want reported: %v", c.name, r, want)
		}
		if c.flags == unix.EPOLLONESHOT {
			evCtl(task0, ep, unix.EPOLL_CTL_MOD, efd, unix.EPOLLIN|unix.EPOLLONESHOT, 7, buf)
			if r, got := evWait(task0, ep, evs, 8, 0); r != 1 || got[0].data != 7 {
				t.Errorf("%s: wait after re-arming = %d %+v", c.name, r, got)
			}
		}
		// Draining the counter ends the readiness even for level-triggered.
		evRead(task0, efd, buf+0x200)
		if r, _ := evWait(task0, ep, evs, 8, 0); r != 0 {
			t.Errorf("%s: wait after draining = %d", c.name, r)
		}
	}
}

// Interest in EPOLLOUT: a console and an eventfd are writable; maxevents
// bounds the result and the rest comes next time.
func TestEpollWritableAndMaxevents(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	ep := call(task0, unix.SYS_EPOLL_CREATE1, 0)
	efd := call(task0, unix.SYS_EVENTFD2, 0, 0)
	evCtl(task0, ep, unix.EPOLL_CTL_ADD, 1, unix.EPOLLOUT, 1, buf)
	evCtl(task0, ep, unix.EPOLL_CTL_ADD, efd, unix.EPOLLOUT|unix.EPOLLIN, 2, buf)
	evs := buf + 0x1000
	r1, got1 := evWait(task0, ep, evs, 1, 0)
	r2, got2 := evWait(task0, ep, evs, 1, 0)
	if r1 != 1 || r2 != 1 || got1[0].data == got2[0].data {
		t.Fatalf("two waits for one event: %d %+v, %d %+v", r1, got1, r2, got2)
	}
	for _, e := range append(got1, got2...) {
		if e.events != unix.EPOLLOUT {
			t.Errorf("event %+v, want EPOLLOUT only", e)
		}
	}
}

// A waiter blocked in epoll_wait wakes when another thread writes to an
// eventfd, as the Go runtime's netpoll break does.
func TestEpollWakeFromOtherThread(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	ep := call(task0, unix.SYS_EPOLL_CREATE1, unix.EPOLL_CLOEXEC)
	efd := call(task0, unix.SYS_EVENTFD2, 0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	evCtl(task0, ep, unix.EPOLL_CTL_ADD, efd, unix.EPOLLIN, 99, buf)
	f, _ := p.FDs.Get(int(ep))
	other := p.NewTask()
	done := make(chan []evEvent)
	go func() {
		r := call(task0, unix.SYS_EPOLL_PWAIT, uintptr(ep), buf+0x1000, 128, ^uintptr(0), 0, 8)
		done <- evEvents(task0, buf+0x1000, r)
	}()
	evWatched(t, &f.(*epollFile).WaitQueue)
	evWrite(other, efd, buf+0x2000, 1)
	select {
	case got := <-done:
		if len(got) != 1 || got[0] != (evEvent{unix.EPOLLIN, 99}) {
			t.Errorf("epoll_pwait = %+v", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("epoll_pwait not woken by the eventfd write")
	}
}

func TestEpollTimeoutAndInterrupt(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	ep := call(task0, unix.SYS_EPOLL_CREATE1, 0)
	efd := call(task0, unix.SYS_EVENTFD2, 0, 0)
	evCtl(task0, ep, unix.EPOLL_CTL_ADD, efd, unix.EPOLLIN, 0, buf)
	start := time.Now()
	if r, _ := evWait(task0, ep, buf+0x1000, 4, 30); r != 0 {
		t.Errorf("epoll_wait(30ms) = %d", r)
	}
	if d := time.Since(start); d < 30*time.Millisecond || d > 5*time.Second {
		t.Errorf("epoll_wait(30ms) took %v", d)
	}
	writeTimespec(task0, buf+0x200, 0, 20e6)
	start = time.Now()
	if r := call(task0, unix.SYS_EPOLL_PWAIT2, uintptr(ep), buf+0x1000, 4, buf+0x200, 0, 0); r != 0 {
		t.Errorf("epoll_pwait2(20ms) = %d", r)
	}
	if d := time.Since(start); d < 20*time.Millisecond || d > 5*time.Second {
		t.Errorf("epoll_pwait2(20ms) took %v", d)
	}
	writeTimespec(task0, buf+0x200, 0, 1e9)
	if r := call(task0, unix.SYS_EPOLL_PWAIT2, uintptr(ep), buf+0x1000, 4, buf+0x200, buf, 4); r != evErr(unix.EINVAL) {
		t.Errorf("epoll_pwait2 with sigsetsize 4 = %d, want -EINVAL", r)
	}
	writeTimespec(task0, buf+0x200, -1, 0)
	if r := call(task0, unix.SYS_EPOLL_PWAIT2, uintptr(ep), buf+0x1000, 4, buf+0x200, 0, 0); r != evErr(unix.EINVAL) {
		t.Errorf("epoll_pwait2 with a negative timeout = %d, want -EINVAL", r)
	}

	f, _ := p.FDs.Get(int(ep))
	done := make(chan int64)
	go func() { r, _ := evWait(task0, ep, buf+0x1000, 4, -1); done <- r }()
	evWatched(t, &f.(*epollFile).WaitQueue)
	task0.Wake()
	if r := <-done; r != evErr(unix.EINTR) {
		t.Errorf("interrupted epoll_wait = %d, want -EINTR", r)
	}
}

// Closing the last fd of a file removes its interest; a dup keeps it.
func TestEpollClosedFile(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	ep := call(task0, unix.SYS_EPOLL_CREATE1, 0)
	efd := call(task0, unix.SYS_EVENTFD2, 1, 0)
	evCtl(task0, ep, unix.EPOLL_CTL_ADD, efd, unix.EPOLLIN, 5, buf)
	dup, _ := task0.P.FDs.Dup(int(efd), 0, false)
	call(task0, unix.SYS_CLOSE, uintptr(efd))
	if r, _ := evWait(task0, ep, buf+0x1000, 4, 0); r != 1 {
		t.Errorf("wait with the file still open through a dup = %d, want 1", r)
	}
	call(task0, unix.SYS_CLOSE, uintptr(dup))
	if r, _ := evWait(task0, ep, buf+0x1000, 4, 0); r != 0 {
		t.Errorf("wait after the last close = %d, want 0", r)
	}
}

// An epoll fd is pollable: nested in another epoll and in poll(2).
func TestEpollNested(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	inner := call(task0, unix.SYS_EPOLL_CREATE1, 0)
	outer := call(task0, unix.SYS_EPOLL_CREATE1, 0)
	efd := call(task0, unix.SYS_EVENTFD2, 0, 0)
	evCtl(task0, inner, unix.EPOLL_CTL_ADD, efd, unix.EPOLLIN, 1, buf)
	evCtl(task0, outer, unix.EPOLL_CTL_ADD, inner, unix.EPOLLIN, 2, buf)
	if r, _ := evWait(task0, outer, buf+0x1000, 4, 0); r != 0 {
		t.Errorf("outer wait with nothing ready = %d", r)
	}
	f, _ := p.FDs.Get(int(outer))
	other := p.NewTask()
	done := make(chan []evEvent)
	go func() { r, _ := evWait(task0, outer, buf+0x1000, 4, -1); done <- evEvents(task0, buf+0x1000, r) }()
	evWatched(t, &f.(*epollFile).WaitQueue)
	evWrite(other, efd, buf+0x2000, 1)
	if got := <-done; len(got) != 1 || got[0] != (evEvent{unix.EPOLLIN, 2}) {
		t.Errorf("outer wait = %+v, want the inner epoll readable", got)
	}
	// poll(2) on the inner epoll fd.
	task0.CopyOut(buf+0x300, []byte{byte(inner), 0, 0, 0, unix.POLLIN, 0, 0, 0})
	if r := call(task0, unix.SYS_POLL, buf+0x300, 1, 0); r != 1 {
		t.Errorf("poll on a ready epoll fd = %d", r)
	}
}

// evPipe makes a non-blocking pipe and returns its read and write fds.
func evPipe(t *testing.T, task0 *task.Task, buf uintptr) (r, w int64) {
	t.Helper()
	if rc := call(task0, unix.SYS_PIPE2, buf, unix.O_NONBLOCK); rc != 0 {
		t.Fatalf("pipe2 = %d", rc)
	}
	a, _ := task0.ReadU64(buf)
	return int64(uint32(a)), int64(uint32(a >> 32))
}

// Edge- and level-triggered interests in both ends of a pipe report what
// Linux reports for the same steps (checked on the host): an
// edge-triggered EPOLLIN fires at each write but not at a read that
// leaves data; an edge-triggered EPOLLOUT fires when a read frees a slot
// of a full pipe, not at further reads; closing the writer gives
// EPOLLIN|EPOLLHUP, with no EPOLLRDHUP on a pipe.
func TestEpollPipeEdges(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	r, w := evPipe(t, task0, buf)
	ep := call(task0, unix.SYS_EPOLL_CREATE1, 0)
	evCtl(task0, ep, unix.EPOLL_CTL_ADD, r, unix.EPOLLIN|unix.EPOLLET|unix.EPOLLRDHUP, 1, buf)
	evCtl(task0, ep, unix.EPOLL_CTL_ADD, w, unix.EPOLLOUT|unix.EPOLLET, 2, buf)
	data := buf + 0x8000
	step := func(what string, want ...evEvent) {
		t.Helper()
		_, got := evWait(task0, ep, buf+0x1000, 8, 0)
		if len(got) != len(want) {
			t.Errorf("%s: %+v, want %+v", what, got, want)
			return
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: %+v, want %+v", what, got, want)
			}
		}
	}
	step("initial", evEvent{unix.EPOLLOUT, 2})
	step("again")
	call(task0, unix.SYS_WRITE, uintptr(w), data, 2)
	step("after a write", evEvent{unix.EPOLLIN, 1})
	step("again")
	call(task0, unix.SYS_READ, uintptr(r), data, 1)
	step("after a partial read")
	n := int64(0)
	for {
		k := call(task0, unix.SYS_WRITE, uintptr(w), data, 4096)
		if k < 0 {
			if k != evErr(unix.EAGAIN) {
				t.Fatalf("filling write = %d", k)
			}
			break
		}
		n += k
	}
	if n != 61440 {
		t.Errorf("filled with %d bytes, want 61440", n)
	}
	step("filled", evEvent{unix.EPOLLIN, 1})
	step("again")
	call(task0, unix.SYS_READ, uintptr(r), data, 100)
	step("a read frees a slot", evEvent{unix.EPOLLOUT, 2})
	call(task0, unix.SYS_READ, uintptr(r), data, 8192)
	step("a read of a pipe that was not full")
	call(task0, unix.SYS_CLOSE, uintptr(w))
	step("writer closed", evEvent{unix.EPOLLIN | unix.EPOLLHUP, 1})
}

// One-shot and level-triggered interests in a pipe, and a pipe without
// reader (EPOLLOUT|EPOLLERR, level-triggered: reported at every wait).
func TestEpollPipeOneshot(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	r, w := evPipe(t, task0, buf)
	ep := call(task0, unix.SYS_EPOLL_CREATE1, 0)
	evCtl(task0, ep, unix.EPOLL_CTL_ADD, r, unix.EPOLLIN|unix.EPOLLONESHOT, 3, buf)
	call(task0, unix.SYS_WRITE, uintptr(w), buf+0x8000, 1)
	if n, got := evWait(task0, ep, buf+0x1000, 8, 0); n != 1 || got[0] != (evEvent{unix.EPOLLIN, 3}) {
		t.Errorf("one-shot = %+v", got)
	}
	call(task0, unix.SYS_WRITE, uintptr(w), buf+0x8000, 1)
	if n, got := evWait(task0, ep, buf+0x1000, 8, 0); n != 0 {
		t.Errorf("fired one-shot after a write = %+v", got)
	}
	evCtl(task0, ep, unix.EPOLL_CTL_MOD, r, unix.EPOLLIN|unix.EPOLLONESHOT, 4, buf)
	if n, got := evWait(task0, ep, buf+0x1000, 8, 0); n != 1 || got[0] != (evEvent{unix.EPOLLIN, 4}) {
		t.Errorf("re-armed one-shot = %+v", got)
	}
	call(task0, unix.SYS_CLOSE, uintptr(r))
	evCtl(task0, ep, unix.EPOLL_CTL_ADD, w, unix.EPOLLOUT, 5, buf)
	for i := range 2 {
		if n, got := evWait(task0, ep, buf+0x1000, 8, 0); n != 1 || got[0] != (evEvent{unix.EPOLLOUT | unix.EPOLLERR, 5}) {
			t.Errorf("wait %d on a pipe without reader = %+v", i, got)
		}
	}
}

// A thread blocked in epoll_wait on a pipe wakes when another thread
// writes to it, and one blocked on an outer epoll holding the first one
// wakes as well. The interest is level-triggered, so both see it whatever
// order they run in.
func TestEpollPipeWake(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	r, w := evPipe(t, task0, buf)
	inner := call(task0, unix.SYS_EPOLL_CREATE1, 0)
	outer := call(task0, unix.SYS_EPOLL_CREATE1, 0)
	evCtl(task0, inner, unix.EPOLL_CTL_ADD, r, unix.EPOLLIN, 7, buf)
	fi, _ := p.FDs.Get(int(inner))
	fo, _ := p.FDs.Get(int(outer))
	t1, t2, other := p.NewTask(), p.NewTask(), p.NewTask()
	done1 := make(chan []evEvent)
	done2 := make(chan []evEvent)
	// The blocked epoll_wait on inner registers before the outer epoll
	// puts its own entry on inner's queue.
	go func() { n, _ := evWait(t1, inner, buf+0x1000, 4, -1); done1 <- evEvents(t1, buf+0x1000, n) }()
	evWatched(t, &fi.(*epollFile).WaitQueue)
	evCtl(task0, outer, unix.EPOLL_CTL_ADD, inner, unix.EPOLLIN, 8, buf)
	go func() { n, _ := evWait(t2, outer, buf+0x2000, 4, -1); done2 <- evEvents(t2, buf+0x2000, n) }()
	evWatched(t, &fo.(*epollFile).WaitQueue)
	call(other, unix.SYS_WRITE, uintptr(w), buf+0x8000, 1)
	for _, c := range []struct {
		ch   chan []evEvent
		want evEvent
	}{{done1, evEvent{unix.EPOLLIN, 7}}, {done2, evEvent{unix.EPOLLIN, 8}}} {
		select {
		case got := <-c.ch:
			if len(got) != 1 || got[0] != c.want {
				t.Errorf("woken wait = %+v, want %+v", got, c.want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("epoll_wait not woken by a pipe write")
		}
	}
}

// A file with AlwaysReady polls readable and writable but cannot be added
// to an epoll instance, like a regular file; the console can.
func TestEpollAlwaysReady(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	type readyFile struct {
		evPlainFile
		task.AlwaysReady
	}
	fd, _ := p.FDs.Install(readyFile{}, unix.O_RDWR, false, 0)
	ep := call(task0, unix.SYS_EPOLL_CREATE1, 0)
	if r := evCtl(task0, ep, unix.EPOLL_CTL_ADD, int64(fd), unix.EPOLLIN, 0, buf); r != evErr(unix.EPERM) {
		t.Errorf("epoll_ctl ADD of an AlwaysReady file = %d, want -EPERM", r)
	}
	if r := evCtl(task0, ep, unix.EPOLL_CTL_ADD, 1, unix.EPOLLOUT, 9, buf); r != 0 {
		t.Errorf("epoll_ctl ADD of the console = %d", r)
	}
	if n, got := evWait(task0, ep, buf+0x1000, 4, 0); n != 1 || got[0] != (evEvent{unix.EPOLLOUT, 9}) {
		t.Errorf("console in epoll = %+v", got)
	}
	pfds := buf + 0x100
	evPollfds(task0, pfds, []int32{int32(fd)}, []int16{unix.POLLIN | unix.POLLOUT | unix.POLLPRI})
	if r := call(task0, unix.SYS_POLL, pfds, 1, 0); r != 1 || evRevents(task0, pfds, 1)[0] != unix.POLLIN|unix.POLLOUT {
		t.Errorf("poll of an AlwaysReady file = %d, revents %#x", r, evRevents(task0, pfds, 1))
	}
}
