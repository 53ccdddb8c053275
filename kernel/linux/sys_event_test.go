package linux

import (
	"sync"
	"testing"
	"time"

	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/waiter"
)

// evPollfds writes struct pollfd entries {fd, events} at addr.
func evPollfds(task0 *task.Task, addr uintptr, fds []int32, events []int16) {
	b := make([]byte, 8*len(fds))
	for i := range fds {
		le.PutUint32(b[8*i:], uint32(fds[i]))
		le.PutUint16(b[8*i+4:], uint16(events[i]))
		le.PutUint16(b[8*i+6:], 0xffff) // revents must be overwritten
	}
	task0.CopyOut(addr, b)
}

func evRevents(task0 *task.Task, addr uintptr, n int) []int16 {
	b := make([]byte, 8*n)
	task0.CopyIn(b, addr)
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(le.Uint16(b[8*i+6:]))
	}
	return out
}

func TestPollEncoding(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	efd := call(task0, unix.SYS_EVENTFD2, 0, 0)
	pfds := buf + 0x100
	evPollfds(task0, pfds, []int32{int32(efd), 1, 0, 99, -1, int32(efd)},
		[]int16{unix.POLLIN, unix.POLLOUT, unix.POLLIN, unix.POLLIN, unix.POLLIN, unix.POLLOUT})
	if r := call(task0, unix.SYS_POLL, pfds, 6, 0); r != 4 {
		t.Errorf("poll = %d, want 4", r)
	}
	want := []int16{0, unix.POLLOUT, unix.POLLIN, unix.POLLNVAL, 0, unix.POLLOUT}
	if got := evRevents(task0, pfds, 6); !equalInt16(got, want) {
		t.Errorf("revents %#x, want %#x", got, want)
	}
	evWrite(task0, efd, buf, 1)
	if r := call(task0, unix.SYS_POLL, pfds, 1, 0); r != 1 || evRevents(task0, pfds, 1)[0] != unix.POLLIN {
		t.Errorf("poll after a write = %d revents %#x", r, evRevents(task0, pfds, 1))
	}
	if r := call(task0, unix.SYS_POLL, 0x10, 1, 0); r != evErr(unix.EFAULT) {
		t.Errorf("poll of a bad array = %d, want -EFAULT", r)
	}
	if r := call(task0, unix.SYS_POLL, pfds, 1<<20, 0); r != evErr(unix.EINVAL) {
		t.Errorf("poll of more than RLIMIT_NOFILE fds = %d, want -EINVAL", r)
	}
	if r := call(task0, unix.SYS_POLL, 0, 0, 0); r != 0 {
		t.Errorf("poll of nothing = %d", r)
	}
}

func equalInt16(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPollBlocksAndTimesOut(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	efd := call(task0, unix.SYS_EVENTFD2, 0, 0)
	pfds := buf + 0x100
	evPollfds(task0, pfds, []int32{int32(efd)}, []int16{unix.POLLIN})
	start := time.Now()
	if r := call(task0, unix.SYS_POLL, pfds, 1, 30); r != 0 {
		t.Errorf("poll(30ms) = %d", r)
	}
	if d := time.Since(start); d < 30*time.Millisecond || d > 5*time.Second {
		t.Errorf("poll(30ms) took %v", d)
	}

	f, _ := p.FDs.Get(int(efd))
	other := p.NewTask()
	done := make(chan int64)
	go func() { done <- call(task0, unix.SYS_POLL, pfds, 1, ^uintptr(0)) }()
	evWatched(t, &f.(*eventFD).WaitQueue)
	evWrite(other, efd, buf+0x2000, 3)
	if r := <-done; r != 1 || evRevents(task0, pfds, 1)[0] != unix.POLLIN {
		t.Errorf("poll woken by a write = %d revents %#x", r, evRevents(task0, pfds, 1))
	}
}

func TestPpoll(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	efd := call(task0, unix.SYS_EVENTFD2, 0, 0)
	pfds, ts, mask := buf+0x100, buf+0x200, buf+0x300
	evPollfds(task0, pfds, []int32{int32(efd)}, []int16{unix.POLLIN})
	writeTimespec(task0, ts, 0, 20e6)
	task0.WriteU64(mask, 1<<(unix.SIGUSR1-1))
	start := time.Now()
	if r := call(task0, unix.SYS_PPOLL, pfds, 1, ts, mask, 8); r != 0 {
		t.Errorf("ppoll(20ms) = %d", r)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("ppoll(20ms) took %v", d)
	}
	if sec, _ := task0.ReadU64(ts); sec != 0 {
		t.Errorf("remaining time %d s after a timeout", sec)
	}
	if nsec, _ := task0.ReadU64(ts + 8); nsec != 0 {
		t.Errorf("remaining time %d ns after a timeout, want 0", nsec)
	}
	if task0.Sigmask != 0 {
		t.Errorf("signal mask %#x after ppoll, want it restored", task0.Sigmask)
	}
	if r := call(task0, unix.SYS_PPOLL, pfds, 1, ts, mask, 4); r != evErr(unix.EINVAL) {
		t.Errorf("ppoll with sigsetsize 4 = %d, want -EINVAL", r)
	}
	writeTimespec(task0, ts, 0, 1e9)
	if r := call(task0, unix.SYS_PPOLL, pfds, 1, ts, 0, 0); r != evErr(unix.EINVAL) {
		t.Errorf("ppoll with tv_nsec = 1e9: %d, want -EINVAL", r)
	}
	evWrite(task0, efd, buf, 1)
	writeTimespec(task0, ts, 5, 0)
	if r := call(task0, unix.SYS_PPOLL, pfds, 1, ts, 0, 0); r != 1 {
		t.Errorf("ppoll with a ready fd = %d", r)
	}
	if r := call(task0, unix.SYS_PPOLL, pfds, 1, 0, 0, 0); r != 1 {
		t.Errorf("ppoll without timeout, ready fd = %d", r)
	}
}

// evFdset writes an fd_set of 2 words with fds set at addr.
func evFdset(task0 *task.Task, addr uintptr, fds ...int) {
	var b [16]byte
	for _, fd := range fds {
		b[fd/8] |= 1 << (fd % 8)
	}
	task0.CopyOut(addr, b[:])
}

func evFdsetHas(task0 *task.Task, addr uintptr) []int {
	var b [16]byte
	task0.CopyIn(b[:], addr)
	var out []int
	for fd := 0; fd < 128; fd++ {
		if b[fd/8]&(1<<(fd%8)) != 0 {
			out = append(out, fd)
		}
	}
	return out
}

func TestSelectEncoding(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	efd := int(call(task0, unix.SYS_EVENTFD2, 0, 0))
	rd, wr, ex, tv := buf+0x100, buf+0x200, buf+0x300, buf+0x400
	evFdset(task0, rd, efd, 0)
	evFdset(task0, wr, 1, efd)
	evFdset(task0, ex, efd)
	task0.WriteU64(tv, 0)
	task0.WriteU64(tv+8, 0)
	if r := call(task0, unix.SYS_SELECT, uintptr(efd+1), rd, wr, ex, tv); r != 3 {
		t.Errorf("select = %d, want 3", r)
	}
	if got := evFdsetHas(task0, rd); len(got) != 1 || got[0] != 0 {
		t.Errorf("readable %v, want [0]", got)
	}
	if got := evFdsetHas(task0, wr); len(got) != 2 || got[0] != 1 || got[1] != efd {
		t.Errorf("writable %v, want [1 %d]", got, efd)
	}
	if got := evFdsetHas(task0, ex); len(got) != 0 {
		t.Errorf("exceptions %v, want none", got)
	}

	// Only the first nfds bits count; a closed fd below nfds is EBADF.
	evFdset(task0, rd, efd, 70)
	if r := call(task0, unix.SYS_SELECT, uintptr(efd+1), rd, 0, 0, tv); r != 0 {
		t.Errorf("select of an idle eventfd = %d", r)
	}
	evFdset(task0, rd, 70)
	if r := call(task0, unix.SYS_SELECT, 71, rd, 0, 0, tv); r != evErr(unix.EBADF) {
		t.Errorf("select of a closed fd = %d, want -EBADF", r)
	}
	if r := call(task0, unix.SYS_SELECT, ^uintptr(0), 0, 0, 0, tv); r != evErr(unix.EINVAL) {
		t.Errorf("select(nfds -1) = %d, want -EINVAL", r)
	}
	task0.WriteU64(tv+8, ^uint64(0))
	if r := call(task0, unix.SYS_SELECT, 0, 0, 0, 0, tv); r != evErr(unix.EINVAL) {
		t.Errorf("select with a negative timeout = %d, want -EINVAL", r)
	}
}

func TestSelectTimeoutAndWake(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	efd := int(call(task0, unix.SYS_EVENTFD2, 0, 0))
	rd, tv := buf+0x100, buf+0x400
	evFdset(task0, rd, efd)
	task0.WriteU64(tv, 0)
	task0.WriteU64(tv+8, 25000) // 25 ms
	start := time.Now()
	if r := call(task0, unix.SYS_SELECT, uintptr(efd+1), rd, 0, 0, tv); r != 0 {
		t.Errorf("select(25ms) = %d", r)
	}
	if d := time.Since(start); d < 25*time.Millisecond || d > 5*time.Second {
		t.Errorf("select(25ms) took %v", d)
	}
	if usec, _ := task0.ReadU64(tv + 8); usec != 0 {
		t.Errorf("remaining %d us after a timeout", usec)
	}
	if got := evFdsetHas(task0, rd); len(got) != 0 {
		t.Errorf("read set %v after a timeout, want empty", got)
	}

	// pselect6 with a sigmask, woken by a write from another thread.
	evFdset(task0, rd, efd)
	sig := buf + 0x500
	task0.WriteU64(buf+0x600, 0)
	task0.WriteU64(sig, uint64(buf+0x600))
	task0.WriteU64(sig+8, 8)
	f, _ := p.FDs.Get(efd)
	other := p.NewTask()
	done := make(chan int64)
	go func() { done <- call(task0, unix.SYS_PSELECT6, uintptr(efd+1), rd, 0, 0, 0, sig) }()
	evWatched(t, &f.(*eventFD).WaitQueue)
	evWrite(other, int64(efd), buf+0x2000, 1)
	if r := <-done; r != 1 {
		t.Errorf("pselect6 woken by a write = %d", r)
	}
	if got := evFdsetHas(task0, rd); len(got) != 1 || got[0] != efd {
		t.Errorf("read set %v, want [%d]", got, efd)
	}
	task0.WriteU64(sig+8, 16)
	if r := call(task0, unix.SYS_PSELECT6, uintptr(efd+1), rd, 0, 0, 0, sig); r != evErr(unix.EINVAL) {
		t.Errorf("pselect6 with ss_len 16 = %d, want -EINVAL", r)
	}
}

// Console fds are pollable: stdin reads end of file at once, stdout and
// stderr take writes.
func TestConsolePollable(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	pfds := buf + 0x100
	evPollfds(task0, pfds, []int32{0, 1, 2}, []int16{unix.POLLIN, unix.POLLOUT, unix.POLLOUT})
	if r := call(task0, unix.SYS_POLL, pfds, 3, 0); r != 3 {
		t.Errorf("poll of the console = %d, want 3", r)
	}
	ep := call(task0, unix.SYS_EPOLL_CREATE1, 0)
	if r := evCtl(task0, ep, unix.EPOLL_CTL_ADD, 0, unix.EPOLLIN, 0, buf); r != 0 {
		t.Errorf("epoll_ctl ADD stdin = %d", r)
	}
	if r, got := evWait(task0, ep, buf+0x1000, 4, 0); r != 1 || got[0].events != unix.EPOLLIN {
		t.Errorf("epoll_wait on stdin = %d %+v", r, got)
	}
}

// waitOnResult runs task.waitOn in a goroutine and returns its result
// channel.
func waitOnResult(task0 *task.Task, q *task.WaitQueue, timeout time.Duration, try func() (bool, error)) <-chan error {
	done := make(chan error, 1)
	go func() { done <- waitOn(task0, []eventSource{q}, waiter.EventIn, timeout, try) }()
	return done
}

func waitOnDone(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("waitOn did not return")
		return nil
	}
}

// A change notified after the first try but before the entry is on the
// queue reaches nobody; waitOn still sees it, because it tries again once
// registered.
func TestWaitOnChangeBeforeRegister(t *testing.T) {
	_, task0, _, _ := newTestProcess(t)
	var q task.WaitQueue
	ready := false
	calls := 0
	done := waitOnResult(task0, &q, -1, func() (bool, error) {
		calls++
		if calls == 1 {
			// Another thread makes the object ready and notifies now,
			// while no entry is registered.
			ready = true
			q.Notify(waiter.EventIn)
			return false, nil
		}
		if q.IsEmpty() {
			t.Error("second try before the entry was registered")
		}
		return ready, nil
	})
	if err := waitOnDone(t, done); err != nil || calls != 2 {
		t.Errorf("waitOn = %v after %d tries, want nil after 2", err, calls)
	}
	if !q.IsEmpty() {
		t.Error("entry left on the queue")
	}
}

// A change notified after the entry is registered, between a failed try
// and the wait, leaves a token that ends the wait.
func TestWaitOnChangeBeforeWait(t *testing.T) {
	_, task0, _, _ := newTestProcess(t)
	var q task.WaitQueue
	ready := false
	calls := 0
	done := waitOnResult(task0, &q, -1, func() (bool, error) {
		calls++
		if calls == 2 {
			ready = true
			q.Notify(waiter.EventIn)
			return false, nil
		}
		return ready, nil
	})
	if err := waitOnDone(t, done); err != nil || calls != 3 {
		t.Errorf("waitOn = %v after %d tries, want nil after 3", err, calls)
	}
}

// A blocked waitOn wakes at a notification from another goroutine, not at
// one outside its mask; try's error ends it.
func TestWaitOnNotifyAndError(t *testing.T) {
	_, task0, _, _ := newTestProcess(t)
	var q task.WaitQueue
	var mu sync.Mutex
	state := 0 // 1: ready, 2: failing
	tries := make(chan int, 10)
	try := func() (bool, error) {
		mu.Lock()
		defer mu.Unlock()
		tries <- state
		switch state {
		case 1:
			return true, nil
		case 2:
			return false, unix.EPIPE
		}
		return false, nil
	}
	for _, c := range []struct {
		state int
		want  error
	}{{1, nil}, {2, unix.EPIPE}} {
		mu.Lock()
		state = 0
		mu.Unlock()
		done := waitOnResult(task0, &q, -1, try)
		<-tries
		<-tries // the try after registering: now it waits
		q.Notify(waiter.EventOut)
		mu.Lock()
		state = c.state
		mu.Unlock()
		q.Notify(waiter.EventIn)
		if err := waitOnDone(t, done); err != c.want {
			t.Errorf("waitOn = %v, want %v", err, c.want)
		}
		// A third try that still saw state 0 would have been woken by
		// the EventOut notification.
		for len(tries) > 0 {
			if s := <-tries; s == 0 {
				t.Error("waitOn woken by an event outside its mask")
			}
		}
	}
}

// An interrupt ends a blocked waitOn with EINTR.
func TestWaitOnInterrupt(t *testing.T) {
	_, task0, _, _ := newTestProcess(t)
	var q task.WaitQueue
	done := waitOnResult(task0, &q, -1, func() (bool, error) { return false, nil })
	evWatched(t, &q)
	task0.Wake()
	if err := waitOnDone(t, done); err != unix.EINTR {
		t.Errorf("interrupted waitOn = %v, want EINTR", err)
	}
}

// With a timeout waitOn gives up with errTimedOut after a last try; with
// timeout 0 it tries once and registers nothing; blockOn turns that into
// EAGAIN for a non-blocking file.
func TestWaitOnTimeout(t *testing.T) {
	_, task0, _, _ := newTestProcess(t)
	var q task.WaitQueue
	calls := 0
	start := time.Now()
	err := waitOn(task0, []eventSource{&q}, waiter.EventIn, 30*time.Millisecond, func() (bool, error) {
		calls++
		return false, nil
	})
	if d := time.Since(start); err != errTimedOut || d < 30*time.Millisecond || d > 5*time.Second || calls != 3 {
		t.Errorf("waitOn(30ms) = %v after %v and %d tries, want ETIMEDOUT after 30ms and 3", err, d, calls)
	}
	calls = 0
	err = waitOn(task0, []eventSource{&q}, waiter.EventIn, 0, func() (bool, error) {
		calls++
		if !q.IsEmpty() {
			t.Error("entry registered with timeout 0")
		}
		return false, nil
	})
	if err != errTimedOut || calls != 1 {
		t.Errorf("waitOn(0) = %v after %d tries, want ETIMEDOUT after 1", err, calls)
	}
	if err := blockOn(task0, &q, waiter.EventIn, true, func() (bool, error) { return false, nil }); err != unix.EAGAIN {
		t.Errorf("non-blocking blockOn = %v, want EAGAIN", err)
	}
}
