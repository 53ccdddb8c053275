package linux

import (
	"math"
	"sync"
	"time"

	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/waiter"
)

// Time syscalls: clock_gettime(2), clock_getres(2), gettimeofday(2),
// nanosleep(2), clock_nanosleep(2), time(2), clock_settime(2),
// settimeofday(2), and timerfd_create(2) with its settime and gettime.
func init() {
	register(unix.SYS_CLOCK_GETTIME, "clock_gettime", sysClockGettime)
	register(unix.SYS_CLOCK_GETRES, "clock_getres", sysClockGetres)
	register(unix.SYS_GETTIMEOFDAY, "gettimeofday", sysGettimeofday)
	register(unix.SYS_NANOSLEEP, "nanosleep", sysNanosleep)
	register(unix.SYS_CLOCK_NANOSLEEP, "clock_nanosleep", sysClockNanosleep)
	register(unix.SYS_TIME, "time", sysTime)
	// The clocks belong to the host's virtual hardware: setting them is
	// refused, as for a process without CAP_SYS_TIME.
	register(unix.SYS_CLOCK_SETTIME, "clock_settime", func(t *task.Task, a task.Args) (uintptr, error) {
		if _, _, err := clockNow(t, int(int32(a[0]))); err != nil {
			return 0, err
		}
		return 0, unix.EPERM
	})
	register(unix.SYS_SETTIMEOFDAY, "settimeofday", func(t *task.Task, a task.Args) (uintptr, error) { return 0, unix.EPERM })
	register(unix.SYS_TIMERFD_CREATE, "timerfd_create", sysTimerfdCreate)
	register(unix.SYS_TIMERFD_SETTIME, "timerfd_settime", sysTimerfdSettime)
	register(unix.SYS_TIMERFD_GETTIME, "timerfd_gettime", sysTimerfdGettime)
}

// clockNow reads clock id as (sec, nsec) for t; EINVAL for an unknown
// clock or the CPU-time clock of a process or thread that is not there.
func clockNow(t *task.Task, id int) (int64, int64, error) {
	if id < 0 && !cpuClockValid(t, id) {
		return 0, 0, unix.EINVAL
	}
	ns, ok := clockRead(t.P.K, id)
	if !ok {
		return 0, 0, unix.EINVAL
	}
	return ns / 1e9, ns % 1e9, nil
}

// clockRead reads clock id of kernel k in ns; false for an unknown clock.
// A valid CPU-time clock reads as the monotonic clock.
func clockRead(k *task.Kernel, id int) (int64, bool) {
	switch id {
	case unix.CLOCK_REALTIME, unix.CLOCK_REALTIME_COARSE, unix.CLOCK_REALTIME_ALARM, unix.CLOCK_TAI:
		return time.Now().UnixNano(), true
	case unix.CLOCK_MONOTONIC, unix.CLOCK_MONOTONIC_COARSE, unix.CLOCK_MONOTONIC_RAW, unix.CLOCK_BOOTTIME, unix.CLOCK_BOOTTIME_ALARM,
		unix.CLOCK_PROCESS_CPUTIME_ID, unix.CLOCK_THREAD_CPUTIME_ID:
		return k.Nanotime(), true
	}
	if id < 0 {
		return k.Nanotime(), true
	}
	return 0, false
}

// cpuClockValid checks a CPU-time clock id of a given process or thread
// (clock_getcpuclockid(3), pthread_getcpuclockid(3)): ~pid << 3 | per-
// thread flag (4) | kind (0 PROF, 1 VIRT, 2 SCHED).
func cpuClockValid(t *task.Task, id int) bool {
	pid, perThread, kind := ^(id >> 3), id&4 != 0, id&3
	if kind == 3 || t == nil {
		return false
	}
	if pid == 0 {
		return true
	}
	if perThread {
		return t.P.Task(pid) != nil
	}
	return pid == t.P.Pid()
}

// clockRes is the resolution clock_getres reports: the coarse clocks tick
// with the scheduler (4 ms at Linux's usual HZ=250); the others are exact.
func clockRes(id int) int64 {
	if id == unix.CLOCK_REALTIME_COARSE || id == unix.CLOCK_MONOTONIC_COARSE {
		return 4000000
	}
	return 1
}

// clockNs reads clock id of kernel k in ns.
func clockNs(k *task.Kernel, id int) int64 {
	ns, _ := clockRead(k, id)
	return ns
}

func writeTimespec(t *task.Task, addr uintptr, sec, nsec int64) error {
	var b [16]byte
	le.PutUint64(b[0:], uint64(sec))
	le.PutUint64(b[8:], uint64(nsec))
	return t.CopyOut(addr, b[:])
}

func readTimespec(t *task.Task, addr uintptr) (time.Duration, error) {
	var b [16]byte
	if err := t.CopyIn(b[:], addr); err != nil {
		return 0, err
	}
	sec, nsec := int64(le.Uint64(b[0:])), int64(le.Uint64(b[8:]))
	if sec < 0 || nsec < 0 || nsec >= 1e9 {
		return 0, unix.EINVAL
	}
	return durationOf(sec, nsec), nil
}

// durationOf converts a non-negative (sec, nsec) to a Duration, saturating
// at about 292 years (sleep infinity asks for the largest time_t).
func durationOf(sec, nsec int64) time.Duration {
	const maxSec = int64(math.MaxInt64/time.Second) - 1
	if sec > maxSec {
		return math.MaxInt64
	}
	return time.Duration(sec)*time.Second + time.Duration(nsec)
}

func sysClockGettime(t *task.Task, a task.Args) (uintptr, error) {
	sec, nsec, err := clockNow(t, int(int32(a[0])))
	if err != nil {
		return 0, err
	}
	return 0, writeTimespec(t, a[1], sec, nsec)
}

func sysClockGetres(t *task.Task, a task.Args) (uintptr, error) {
	if _, _, err := clockNow(t, int(int32(a[0]))); err != nil {
		return 0, err
	}
	if a[1] == 0 {
		return 0, nil
	}
	return 0, writeTimespec(t, a[1], 0, clockRes(int(int32(a[0]))))
}

func sysGettimeofday(t *task.Task, a task.Args) (uintptr, error) {
	if a[0] != 0 {
		ns := time.Now().UnixNano()
		var b [16]byte
		le.PutUint64(b[0:], uint64(ns/1e9))
		le.PutUint64(b[8:], uint64(ns%1e9/1e3))
		if err := t.CopyOut(a[0], b[:]); err != nil {
			return 0, err
		}
	}
	if a[1] != 0 {
		var tz [8]byte
		return 0, t.CopyOut(a[1], tz[:])
	}
	return 0, nil
}

func sysTime(t *task.Task, a task.Args) (uintptr, error) {
	s := time.Now().Unix()
	if a[0] != 0 {
		if err := t.WriteU64(a[0], uint64(s)); err != nil {
			return 0, err
		}
	}
	return uintptr(s), nil
}

// sleepFor blocks for d or until the task is interrupted (EINTR; the
// remaining time is returned).
func sleepFor(t *task.Task, d time.Duration) (time.Duration, error) {
	if d <= 0 {
		return 0, nil
	}
	start := time.Now()
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return 0, nil
	case <-t.InterruptCh():
		return max(0, d-time.Since(start)), unix.EINTR
	}
}

func sysNanosleep(t *task.Task, a task.Args) (uintptr, error) {
	d, err := readTimespec(t, a[0])
	if err != nil {
		return 0, err
	}
	rem, err := sleepFor(t, d)
	if err == unix.EINTR && a[1] != 0 {
		writeTimespec(t, a[1], int64(rem/time.Second), int64(rem%time.Second))
	}
	return 0, err
}

// clock_nanosleep(clockid, flags, request, remain): the clocks that have
// timers; the thread CPU clock and the coarse and raw ones cannot be
// slept on.
func sysClockNanosleep(t *task.Task, a task.Args) (uintptr, error) {
	id, flags := int(int32(a[0])), int(a[1])
	switch id {
	case unix.CLOCK_THREAD_CPUTIME_ID:
		return 0, unix.EINVAL
	case unix.CLOCK_MONOTONIC_RAW, unix.CLOCK_REALTIME_COARSE, unix.CLOCK_MONOTONIC_COARSE:
		return 0, unix.EOPNOTSUPP
	}
	sec, nsec, err := clockNow(t, id)
	if err != nil {
		return 0, err
	}
	d, err := readTimespec(t, a[2])
	if err != nil {
		return 0, err
	}
	if flags&unix.TIMER_ABSTIME != 0 {
		d -= time.Duration(sec)*time.Second + time.Duration(nsec)
	}
	rem, err := sleepFor(t, d)
	if err == unix.EINTR && a[3] != 0 && flags&unix.TIMER_ABSTIME == 0 {
		writeTimespec(t, a[3], int64(rem/time.Second), int64(rem%time.Second))
	}
	return 0, err
}

// timerFD is a timerfd (timerfd_create(2)): a timer on a clock whose
// expirations accumulate in a counter that read takes.
type timerFD struct {
	mu             sync.Mutex
	k              *task.Kernel // whose clocks it reads
	clock          int
	interval       time.Duration
	next           int64  // next expiry in ns of clock; 0: disarmed
	ticks          uint64 // expirations not read yet
	timer          *time.Timer
	gen            uint64 // invalidates the callbacks of replaced timers
	nonblock       nonblockFlag
	task.WaitQueue // notified with eventsIn at each expiry
}

func sysTimerfdCreate(t *task.Task, a task.Args) (uintptr, error) {
	clock, flags := int(int32(a[0])), int(int32(a[1]))
	switch clock {
	case unix.CLOCK_REALTIME, unix.CLOCK_MONOTONIC, unix.CLOCK_BOOTTIME, unix.CLOCK_REALTIME_ALARM, unix.CLOCK_BOOTTIME_ALARM:
	default:
		return 0, unix.EINVAL
	}
	if flags&^(unix.TFD_CLOEXEC|unix.TFD_NONBLOCK) != 0 {
		return 0, unix.EINVAL
	}
	f := &timerFD{k: t.P.K, clock: clock}
	return installNonblocking(t, f, &f.nonblock, flags&unix.TFD_NONBLOCK != 0, flags&unix.TFD_CLOEXEC != 0)
}

// armLocked (re)starts the Go timer for f.next.
func (f *timerFD) armLocked() {
	f.gen++
	if f.timer != nil {
		f.timer.Stop()
		f.timer = nil
	}
	if f.next == 0 {
		return
	}
	gen := f.gen
	f.timer = time.AfterFunc(time.Duration(max(0, f.next-clockNs(f.k, f.clock))), func() { f.fire(gen) })
}

// fire counts the expirations that are due and re-arms a periodic timer.
func (f *timerFD) fire(gen uint64) {
	f.mu.Lock()
	if gen != f.gen || f.next == 0 {
		f.mu.Unlock()
		return
	}
	now := clockNs(f.k, f.clock)
	if now < f.next { // the Go timer ran early against this clock
		f.armLocked()
		f.mu.Unlock()
		return
	}
	n := uint64(1)
	if f.interval > 0 {
		n += uint64((now - f.next) / int64(f.interval))
		f.next += int64(n) * int64(f.interval)
	} else {
		f.next = 0
	}
	f.ticks += n
	f.armLocked()
	f.mu.Unlock()
	f.Notify(eventsIn)
}

// Read takes the expiration count (8 bytes), blocking while it is 0.
func (f *timerFD) Read(t *task.Task, p []byte) (int, error) {
	if len(p) < 8 {
		return 0, unix.EINVAL
	}
	var v uint64
	err := blockOn(t, f, eventsIn, f.nonblock.get(), func() (bool, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		v, f.ticks = f.ticks, 0
		return v > 0, nil
	})
	if err != nil {
		return 0, err
	}
	le.PutUint64(p, v)
	return 8, nil
}

func (f *timerFD) Write(t *task.Task, p []byte) (int, error) { return 0, unix.EINVAL }

func (f *timerFD) Close() error {
	f.mu.Lock()
	f.next = 0
	f.armLocked()
	f.mu.Unlock()
	return nil
}

// Readiness: readable while expirations wait to be read.
func (f *timerFD) Readiness(mask waiter.EventMask) waiter.EventMask {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ticks > 0 {
		return readyFor(unix.EPOLLIN, mask)
	}
	return 0
}

func (f *timerFD) Stat() (unix.Stat_t, error) {
	return unix.Stat_t{Mode: 0o600, Nlink: 1, Blksize: task.PageSize}, nil
}

// getLocked is the current setting as struct itimerspec {interval, value}.
func (f *timerFD) getLocked() [32]byte {
	var b [32]byte
	le.PutUint64(b[0:], uint64(f.interval/time.Second))
	le.PutUint64(b[8:], uint64(f.interval%time.Second))
	if f.next != 0 {
		rem := max(1, f.next-clockNs(f.k, f.clock)) // armed: never reads as 0
		le.PutUint64(b[16:], uint64(rem/1e9))
		le.PutUint64(b[24:], uint64(rem%1e9))
	}
	return b
}

func timerfdOf(t *task.Task, fd int) (*timerFD, error) {
	file, err := t.P.FDs.Get(fd)
	if err != nil {
		return nil, err
	}
	f, ok := file.(*timerFD)
	if !ok {
		return nil, unix.EINVAL
	}
	return f, nil
}

// timerfd_settime(fd, flags, new, old).
func sysTimerfdSettime(t *task.Task, a task.Args) (uintptr, error) {
	flags := int(int32(a[1]))
	interval, err := readTimespec(t, a[2])
	if err != nil {
		return 0, err
	}
	value, err := readTimespec(t, a[2]+16)
	if err != nil {
		return 0, err
	}
	if flags&^(unix.TFD_TIMER_ABSTIME|unix.TFD_TIMER_CANCEL_ON_SET) != 0 {
		return 0, unix.EINVAL
	}
	f, err := timerfdOf(t, int(int32(a[0])))
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	old := f.getLocked()
	f.ticks, f.interval, f.next = 0, interval, 0
	if value != 0 {
		if flags&unix.TFD_TIMER_ABSTIME != 0 {
			f.next = max(1, int64(value))
		} else {
			f.next = clockNs(f.k, f.clock) + int64(min(value, time.Duration(math.MaxInt64/2)))
		}
	}
	f.armLocked()
	f.mu.Unlock()
	if a[3] != 0 {
		return 0, t.CopyOut(a[3], old[:])
	}
	return 0, nil
}

// timerfd_gettime(fd, curr).
func sysTimerfdGettime(t *task.Task, a task.Args) (uintptr, error) {
	f, err := timerfdOf(t, int(int32(a[0])))
	if err != nil {
		return 0, err
	}
	f.mu.Lock()
	cur := f.getLocked()
	f.mu.Unlock()
	return 0, t.CopyOut(a[1], cur[:])
}

// POSIX interval timers and alarms are not served yet (timerfd is).
func init() {
	const noTimers = "POSIX timers and alarm(2) are not implemented yet; timerfd is"
	registerUnsupported(unix.SYS_ALARM, "alarm", noTimers)
	registerUnsupported(unix.SYS_GETITIMER, "getitimer", noTimers)
	registerUnsupported(unix.SYS_SETITIMER, "setitimer", noTimers)
	registerUnsupported(unix.SYS_TIMER_CREATE, "timer_create", noTimers)
	registerUnsupported(unix.SYS_TIMER_SETTIME, "timer_settime", noTimers)
	registerUnsupported(unix.SYS_TIMER_GETTIME, "timer_gettime", noTimers)
	registerUnsupported(unix.SYS_TIMER_GETOVERRUN, "timer_getoverrun", noTimers)
	registerUnsupported(unix.SYS_TIMER_DELETE, "timer_delete", noTimers)
}
