package linux

import (
	"time"

	"golang.org/x/sys/unix"
)

// Time syscalls: clock_gettime(2), clock_getres(2), gettimeofday(2),
// nanosleep(2), clock_nanosleep(2), time(2).
func init() {
	register(unix.SYS_CLOCK_GETTIME, "clock_gettime", sysClockGettime)
	register(unix.SYS_CLOCK_GETRES, "clock_getres", sysClockGetres)
	register(unix.SYS_GETTIMEOFDAY, "gettimeofday", sysGettimeofday)
	register(unix.SYS_NANOSLEEP, "nanosleep", sysNanosleep)
	register(unix.SYS_CLOCK_NANOSLEEP, "clock_nanosleep", sysClockNanosleep)
	register(unix.SYS_TIME, "time", sysTime)
}

// Nanotime is the monotonic clock in ns since boot (machine.Nanotime in
// the kernel).
var Nanotime = func() int64 { return int64(time.Since(hostBoot)) }

var hostBoot = time.Now()

func monotonicNow() time.Duration { return time.Duration(Nanotime()) }

// clockNow reads clock id as (sec, nsec); EINVAL for an unknown clock.
func clockNow(t *Task, id int) (int64, int64, error) {
	var ns int64
	switch id {
	case unix.CLOCK_REALTIME, unix.CLOCK_REALTIME_COARSE, unix.CLOCK_REALTIME_ALARM, unix.CLOCK_TAI:
		ns = time.Now().UnixNano()
	case unix.CLOCK_MONOTONIC, unix.CLOCK_MONOTONIC_COARSE, unix.CLOCK_MONOTONIC_RAW, unix.CLOCK_BOOTTIME, unix.CLOCK_BOOTTIME_ALARM:
		ns = Nanotime()
	case unix.CLOCK_PROCESS_CPUTIME_ID, unix.CLOCK_THREAD_CPUTIME_ID:
		ns = Nanotime() // no per-thread CPU accounting yet: wall time since boot
	default:
		return 0, 0, unix.EINVAL
	}
	return ns / 1e9, ns % 1e9, nil
}

func writeTimespec(t *Task, addr uintptr, sec, nsec int64) error {
	var b [16]byte
	le.PutUint64(b[0:], uint64(sec))
	le.PutUint64(b[8:], uint64(nsec))
	return t.CopyOut(addr, b[:])
}

func readTimespec(t *Task, addr uintptr) (time.Duration, error) {
	var b [16]byte
	if err := t.CopyIn(b[:], addr); err != nil {
		return 0, err
	}
	sec, nsec := int64(le.Uint64(b[0:])), int64(le.Uint64(b[8:]))
	if sec < 0 || nsec < 0 || nsec >= 1e9 {
		return 0, unix.EINVAL
	}
	return time.Duration(sec)*time.Second + time.Duration(nsec), nil
}

func sysClockGettime(t *Task, a Args) (uintptr, error) {
	sec, nsec, err := clockNow(t, int(int32(a[0])))
	if err != nil {
		return 0, err
	}
	return 0, writeTimespec(t, a[1], sec, nsec)
}

func sysClockGetres(t *Task, a Args) (uintptr, error) {
	if _, _, err := clockNow(t, int(int32(a[0]))); err != nil {
		return 0, err
	}
	if a[1] == 0 {
		return 0, nil
	}
	return 0, writeTimespec(t, a[1], 0, 1)
}

func sysGettimeofday(t *Task, a Args) (uintptr, error) {
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

func sysTime(t *Task, a Args) (uintptr, error) {
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
func (t *Task) sleepFor(d time.Duration) (time.Duration, error) {
	if d <= 0 {
		return 0, nil
	}
	start := time.Now()
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return 0, nil
	case <-t.interruptCh():
		return d - time.Since(start), unix.EINTR
	}
}

func sysNanosleep(t *Task, a Args) (uintptr, error) {
	d, err := readTimespec(t, a[0])
	if err != nil {
		return 0, err
	}
	rem, err := t.sleepFor(d)
	if err == unix.EINTR && a[1] != 0 {
		writeTimespec(t, a[1], int64(rem/time.Second), int64(rem%time.Second))
	}
	return 0, err
}

func sysClockNanosleep(t *Task, a Args) (uintptr, error) {
	id, flags := int(int32(a[0])), int(a[1])
	d, err := readTimespec(t, a[2])
	if err != nil {
		return 0, err
	}
	if flags&unix.TIMER_ABSTIME != 0 {
		sec, nsec, err := clockNow(t, id)
		if err != nil {
			return 0, err
		}
		d -= time.Duration(sec)*time.Second + time.Duration(nsec)
	} else if _, _, err := clockNow(t, id); err != nil {
		return 0, err
	}
	rem, err := t.sleepFor(d)
	if err == unix.EINTR && a[3] != 0 && flags&unix.TIMER_ABSTIME == 0 {
		writeTimespec(t, a[3], int64(rem/time.Second), int64(rem%time.Second))
	}
	return 0, err
}
