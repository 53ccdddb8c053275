package linux

import (
	"runtime"
	"testing"
	"time"

	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
)

// evErr is the RAX of a syscall failing with e.
func evErr(e unix.Errno) int64 { return -int64(e) }

// evWatched waits until q has a waiter: a blocked task has registered,
// so a change made now must wake it.
func evWatched(t *testing.T, q *task.WaitQueue) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for q.IsEmpty() {
		if time.Now().After(deadline) {
			t.Fatalf("no waiter registered after 10s")
		}
		runtime.Gosched()
	}
}

// evWrite writes the 8-byte value v to fd through the scratch word at buf.
func evWrite(task0 *task.Task, fd int64, buf uintptr, v uint64) int64 {
	task0.WriteU64(buf, v)
	return call(task0, unix.SYS_WRITE, uintptr(fd), buf, 8)
}

// evRead reads 8 bytes from fd into buf; it returns RAX and the value.
func evRead(task0 *task.Task, fd int64, buf uintptr) (int64, uint64) {
	r := call(task0, unix.SYS_READ, uintptr(fd), buf, 8)
	v, _ := task0.ReadU64(buf)
	return r, v
}

func TestEventfdCounter(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	fd := call(task0, unix.SYS_EVENTFD2, 3, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if fd < 3 {
		t.Fatalf("eventfd2 = %d", fd)
	}
	if r, v := evRead(task0, fd, buf); r != 8 || v != 3 {
		t.Errorf("read = %d, %d; want 8, 3", r, v)
	}
	if r, _ := evRead(task0, fd, buf); r != evErr(unix.EAGAIN) {
		t.Errorf("read of an empty eventfd = %d, want -EAGAIN", r)
	}
	evWrite(task0, fd, buf, 5)
	evWrite(task0, fd, buf, 7)
	if r, v := evRead(task0, fd, buf); r != 8 || v != 12 {
		t.Errorf("read = %d, %d; want 8, 12", r, v)
	}
	if r := call(task0, unix.SYS_READ, uintptr(fd), buf, 7); r != evErr(unix.EINVAL) {
		t.Errorf("read of 7 bytes = %d, want -EINVAL", r)
	}
	if r := evWrite(task0, fd, buf, ^uint64(0)); r != evErr(unix.EINVAL) {
		t.Errorf("write of 2^64-1 = %d, want -EINVAL", r)
	}
	if r := evWrite(task0, fd, buf, eventMax); r != 8 {
		t.Errorf("write of the largest value = %d", r)
	}
	if r := evWrite(task0, fd, buf, 1); r != evErr(unix.EAGAIN) {
		t.Errorf("overflowing write = %d, want -EAGAIN", r)
	}
	if r := evWrite(task0, fd, buf, 0); r != 8 {
		t.Errorf("write of 0 on a full counter = %d, want 8", r)
	}
	if r := call(task0, unix.SYS_EVENTFD2, 0, 0x40); r != evErr(unix.EINVAL) {
		t.Errorf("eventfd2 with a bad flag = %d, want -EINVAL", r)
	}
	if cloexec, _ := task0.P.FDs.CloseOnExec(int(fd)); !cloexec {
		t.Errorf("EFD_CLOEXEC not set")
	}
	if fl, _ := task0.P.FDs.Flags(int(fd)); fl != unix.O_RDWR|unix.O_NONBLOCK {
		t.Errorf("status flags %#x, want O_RDWR|O_NONBLOCK", fl)
	}
}

func TestEventfdSemaphore(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	fd := call(task0, unix.SYS_EVENTFD2, 2, unix.EFD_SEMAPHORE|unix.EFD_NONBLOCK)
	for i := 0; i < 2; i++ {
		if r, v := evRead(task0, fd, buf); r != 8 || v != 1 {
			t.Errorf("semaphore read %d = %d, %d; want 8, 1", i, r, v)
		}
	}
	if r, _ := evRead(task0, fd, buf); r != evErr(unix.EAGAIN) {
		t.Errorf("read of an empty semaphore = %d, want -EAGAIN", r)
	}
}

// A blocking read waits for a write from another thread.
func TestEventfdBlockingRead(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	fd := call(task0, unix.SYS_EVENTFD, 0)
	f, _ := p.FDs.Get(int(fd))
	other := p.NewTask()
	type result struct {
		r int64
		v uint64
	}
	done := make(chan result)
	go func() {
		r, v := evRead(task0, fd, buf)
		done <- result{r, v}
	}()
	evWatched(t, &f.(*eventFD).WaitQueue)
	if r := evWrite(other, fd, buf+8, 42); r != 8 {
		t.Fatalf("write = %d", r)
	}
	if res := <-done; res.r != 8 || res.v != 42 {
		t.Errorf("blocked read = %d, %d; want 8, 42", res.r, res.v)
	}
}

// A blocking read ends with EINTR when the task is interrupted; fcntl's
// O_NONBLOCK on the description turns it into EAGAIN.
func TestEventfdInterruptAndNonblock(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	fd := call(task0, unix.SYS_EVENTFD2, 0, 0)
	f, _ := p.FDs.Get(int(fd))
	done := make(chan int64)
	go func() {
		r, _ := evRead(task0, fd, buf)
		done <- r
	}()
	evWatched(t, &f.(*eventFD).WaitQueue)
	task0.Wake()
	if r := <-done; r != evErr(unix.EINTR) {
		t.Errorf("interrupted read = %d, want -EINTR", r)
	}
	p.FDs.SetFlags(int(fd), unix.O_RDWR|unix.O_NONBLOCK)
	if r, _ := evRead(task0, fd, buf); r != evErr(unix.EAGAIN) {
		t.Errorf("read after F_SETFL O_NONBLOCK = %d, want -EAGAIN", r)
	}
}
