package linux

import (
	"math"
	"testing"
	"time"

	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
)

func TestClocks(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	other := p.NewTask()
	for _, c := range []struct {
		name string
		id   int
		want int64
	}{
		{"monotonic", unix.CLOCK_MONOTONIC, 0},
		{"process cputime", unix.CLOCK_PROCESS_CPUTIME_ID, 0},
		{"clock_getcpuclockid(0)", ^0<<3 | 2, 0},
		{"clock_getcpuclockid(1)", ^1<<3 | 2, 0},
		{"clock_getcpuclockid(7)", ^7<<3 | 2, evErr(unix.EINVAL)},
		{"pthread_getcpuclockid", ^other.TID<<3 | 4 | 2, 0},
		{"fd clock", ^3<<3 | 3, evErr(unix.EINVAL)},
		{"unknown", 99, evErr(unix.EINVAL)},
	} {
		if r := call(task0, unix.SYS_CLOCK_GETTIME, uintptr(c.id), buf); r != c.want {
			t.Errorf("clock_gettime(%s) = %d, want %d", c.name, r, c.want)
		}
	}
	call(task0, unix.SYS_CLOCK_GETRES, unix.CLOCK_MONOTONIC_COARSE, buf)
	if ns, _ := task0.ReadU64(buf + 8); ns != 4000000 {
		t.Errorf("coarse resolution %d ns", ns)
	}
	call(task0, unix.SYS_CLOCK_GETRES, unix.CLOCK_MONOTONIC, buf)
	if ns, _ := task0.ReadU64(buf + 8); ns != 1 {
		t.Errorf("monotonic resolution %d ns", ns)
	}
	if r := call(task0, unix.SYS_CLOCK_SETTIME, unix.CLOCK_REALTIME, buf); r != evErr(unix.EPERM) {
		t.Errorf("clock_settime = %d, want -EPERM", r)
	}
	if r := call(task0, unix.SYS_CLOCK_NANOSLEEP, unix.CLOCK_MONOTONIC_COARSE, 0, buf); r != evErr(unix.EOPNOTSUPP) {
		t.Errorf("clock_nanosleep on a coarse clock = %d, want -EOPNOTSUPP", r)
	}
	if r := call(task0, unix.SYS_CLOCK_NANOSLEEP, unix.CLOCK_THREAD_CPUTIME_ID, 0, buf); r != evErr(unix.EINVAL) {
		t.Errorf("clock_nanosleep on the thread clock = %d, want -EINVAL", r)
	}
	// An absolute time in the past returns at once.
	writeTimespec(task0, buf, 1, 0)
	if r := call(task0, unix.SYS_CLOCK_NANOSLEEP, unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, buf, 0); r != 0 {
		t.Errorf("clock_nanosleep to a past time = %d", r)
	}
}

// sleep infinity asks for the largest time_t: it must not wrap around.
func TestDurationSaturates(t *testing.T) {
	if d := durationOf(math.MaxInt64, 999999999); d != math.MaxInt64 {
		t.Errorf("durationOf(max time_t) = %v", d)
	}
	if d := durationOf(2, 5); d != 2*time.Second+5 {
		t.Errorf("durationOf(2, 5) = %v", d)
	}
}

// writeItimerspec writes struct itimerspec {interval, value}.
func writeItimerspec(task0 *task.Task, addr uintptr, interval, value time.Duration) {
	writeTimespec(task0, addr, int64(interval/time.Second), int64(interval%time.Second))
	writeTimespec(task0, addr+16, int64(value/time.Second), int64(value%time.Second))
}

func TestTimerfd(t *testing.T) {
	p, task0, _, buf := newTestProcess(t)
	if r := call(task0, unix.SYS_TIMERFD_CREATE, unix.CLOCK_PROCESS_CPUTIME_ID, 0); r != evErr(unix.EINVAL) {
		t.Errorf("timerfd_create(cputime clock) = %d, want -EINVAL", r)
	}
	fd := call(task0, unix.SYS_TIMERFD_CREATE, unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if fd < 0 {
		t.Fatalf("timerfd_create = %d", fd)
	}
	if r, _ := evRead(task0, fd, buf); r != evErr(unix.EAGAIN) {
		t.Errorf("read of a disarmed timerfd = %d, want -EAGAIN", r)
	}
	spec, old := buf+0x100, buf+0x200
	writeItimerspec(task0, spec, 0, 10*time.Millisecond)
	if r := call(task0, unix.SYS_TIMERFD_SETTIME, uintptr(fd), 0, spec, 0); r != 0 {
		t.Fatalf("timerfd_settime = %d", r)
	}
	// Wait for it with poll(2): one expiration.
	evPollfds(task0, buf+0x300, []int32{int32(fd)}, []int16{unix.POLLIN})
	if r := call(task0, unix.SYS_POLL, buf+0x300, 1, 5000); r != 1 {
		t.Fatalf("poll of the timerfd = %d", r)
	}
	if r, v := evRead(task0, fd, buf); r != 8 || v != 1 {
		t.Errorf("read = %d, %d; want 8, 1", r, v)
	}
	// Periodic, waited for with a blocking read through epoll.
	writeItimerspec(task0, spec, 5*time.Millisecond, 5*time.Millisecond)
	call(task0, unix.SYS_TIMERFD_SETTIME, uintptr(fd), 0, spec, old)
	call(task0, unix.SYS_TIMERFD_GETTIME, uintptr(fd), buf+0x400)
	if iv, _ := task0.ReadU64(buf + 0x408); iv != 5e6 {
		t.Errorf("gettime interval %d ns, want 5e6", iv)
	}
	if v, _ := task0.ReadU64(buf + 0x418); v == 0 || v > 5e6 {
		t.Errorf("gettime value %d ns, want in (0, 5e6]", v)
	}
	ep := call(task0, unix.SYS_EPOLL_CREATE1, 0)
	evCtl(task0, ep, unix.EPOLL_CTL_ADD, fd, unix.EPOLLIN, 3, buf+0x500)
	total := uint64(0)
	for total < 3 {
		if r, got := evWait(task0, ep, buf+0x600, 4, 5000); r != 1 || got[0].data != 3 {
			t.Fatalf("epoll_wait on a periodic timerfd = %d %+v", r, got)
		}
		r, v := evRead(task0, fd, buf)
		if r != 8 || v == 0 {
			t.Fatalf("read = %d, %d", r, v)
		}
		total += v
	}
	// Disarm: the old setting comes back, then nothing fires.
	writeItimerspec(task0, spec, 0, 0)
	call(task0, unix.SYS_TIMERFD_SETTIME, uintptr(fd), 0, spec, old)
	if iv, _ := task0.ReadU64(old + 8); iv != 5e6 {
		t.Errorf("old interval %d ns", iv)
	}
	call(task0, unix.SYS_TIMERFD_GETTIME, uintptr(fd), buf+0x400)
	if v, _ := task0.ReadU64(buf + 0x418); v != 0 {
		t.Errorf("gettime value %d of a disarmed timer", v)
	}
	if r := call(task0, unix.SYS_TIMERFD_SETTIME, 1, 0, spec, 0); r != evErr(unix.EINVAL) {
		t.Errorf("timerfd_settime on the console = %d, want -EINVAL", r)
	}
	if r := call(task0, unix.SYS_TIMERFD_SETTIME, uintptr(fd), 4, spec, 0); r != evErr(unix.EINVAL) {
		t.Errorf("timerfd_settime with a bad flag = %d, want -EINVAL", r)
	}
	// Absolute time in the past: fires at once.
	writeTimespec(task0, spec, 0, 0)
	writeTimespec(task0, spec+16, 0, 1)
	call(task0, unix.SYS_TIMERFD_SETTIME, uintptr(fd), unix.TFD_TIMER_ABSTIME, spec, 0)
	f, _ := p.FDs.Get(int(fd))
	p.FDs.SetFlags(int(fd), unix.O_RDWR) // blocking read now
	if f.(*timerFD).nonblock.get() {
		t.Errorf("O_NONBLOCK still seen after F_SETFL")
	}
	if r, v := evRead(task0, fd, buf); r != 8 || v != 1 {
		t.Errorf("blocking read of an absolute timer = %d, %d", r, v)
	}
}
