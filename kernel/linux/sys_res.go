package linux

import (
	"time"

	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
)

// Resources: getrlimit(2), setrlimit(2), prlimit64(2), getrusage(2),
// times(2), sysinfo(2), getpriority(2), setpriority(2), ioprio_get(2),
// ioprio_set(2), mlock(2) and friends.
func init() {
	register(unix.SYS_GETRLIMIT, "getrlimit", sysGetrlimit)
	register(unix.SYS_SETRLIMIT, "setrlimit", sysSetrlimit)
	register(unix.SYS_PRLIMIT64, "prlimit64", sysPrlimit64)
	register(unix.SYS_GETRUSAGE, "getrusage", sysGetrusage)
	register(unix.SYS_TIMES, "times", sysTimes)
	register(unix.SYS_SYSINFO, "sysinfo", sysSysinfo)
	register(unix.SYS_GETPRIORITY, "getpriority", sysGetpriority)
	register(unix.SYS_SETPRIORITY, "setpriority", sysSetpriority)
	register(unix.SYS_IOPRIO_GET, "ioprio_get", sysIoprioGet)
	register(unix.SYS_IOPRIO_SET, "ioprio_set", sysIoprioSet)
	register(unix.SYS_MLOCK, "mlock", func(t *task.Task, a task.Args) (uintptr, error) { return 0, nil })
	register(unix.SYS_MUNLOCK, "munlock", func(t *task.Task, a task.Args) (uintptr, error) { return 0, nil })
	register(unix.SYS_MLOCK2, "mlock2", func(t *task.Task, a task.Args) (uintptr, error) {
		if a[2]&^unix.MLOCK_ONFAULT != 0 {
			return 0, unix.EINVAL
		}
		return 0, nil
	})
	register(unix.SYS_MLOCKALL, "mlockall", func(t *task.Task, a task.Args) (uintptr, error) {
		f := int(a[0])
		if f == 0 || f&^(unix.MCL_CURRENT|unix.MCL_FUTURE|unix.MCL_ONFAULT) != 0 || f == unix.MCL_ONFAULT {
			return 0, unix.EINVAL
		}
		return 0, nil
	})
	register(unix.SYS_MUNLOCKALL, "munlockall", func(t *task.Task, a task.Args) (uintptr, error) { return 0, nil })
}

// findTask returns the task named by pid (0: t itself); ESRCH when none.
func findTask(t *task.Task, pid int) (*task.Task, error) {
	if pid == 0 || pid == t.TID {
		return t, nil
	}
	if pid > 0 {
		if x := t.P.Task(pid); x != nil {
			return x, nil
		}
	}
	return nil, unix.ESRCH
}

// prlimit gets and sets one limit of the process; new may be nil.
func prlimit(p *task.Process, res int, new *task.Rlimit) (task.Rlimit, error) {
	if res < 0 || res >= task.RlimCount {
		return task.Rlimit{}, unix.EINVAL
	}
	s := p.State()
	s.Mu.Lock()
	defer s.Mu.Unlock()
	old := s.Rlim[res]
	if new == nil {
		return old, nil
	}
	if new.Cur > new.Max {
		return old, unix.EINVAL
	}
	if new.Max > old.Max && s.Cred.Euid != 0 { // CAP_SYS_RESOURCE
		return old, unix.EPERM
	}
	if res == unix.RLIMIT_NOFILE {
		if new.Max > task.NrOpen {
			return old, unix.EPERM
		}
		p.FDs.Mu.Lock()
		p.FDs.Limit = int(new.Cur)
		p.FDs.Mu.Unlock()
	}
	s.Rlim[res] = *new
	return old, nil
}

func readRlimit(t *task.Task, addr uintptr) (*task.Rlimit, error) {
	var b [16]byte
	if err := t.CopyIn(b[:], addr); err != nil {
		return nil, err
	}
	return &task.Rlimit{Cur: le.Uint64(b[0:]), Max: le.Uint64(b[8:])}, nil
}

func writeRlimit(t *task.Task, addr uintptr, r task.Rlimit) error {
	var b [16]byte
	le.PutUint64(b[0:], r.Cur)
	le.PutUint64(b[8:], r.Max)
	return t.CopyOut(addr, b[:])
}

func sysGetrlimit(t *task.Task, a task.Args) (uintptr, error) {
	r, err := prlimit(t.P, int(uint32(a[0])), nil)
	if err != nil {
		return 0, err
	}
	return 0, writeRlimit(t, a[1], r)
}

func sysSetrlimit(t *task.Task, a task.Args) (uintptr, error) {
	r, err := readRlimit(t, a[1])
	if err != nil {
		return 0, err
	}
	_, err = prlimit(t.P, int(uint32(a[0])), r)
	return 0, err
}

// prlimit64(pid, resource, new, old).
func sysPrlimit64(t *task.Task, a task.Args) (uintptr, error) {
	var new *task.Rlimit
	if a[2] != 0 {
		var err error
		if new, err = readRlimit(t, a[2]); err != nil {
			return 0, err
		}
	}
	if _, err := findTask(t, int(int32(a[0]))); err != nil {
		return 0, err
	}
	old, err := prlimit(t.P, int(uint32(a[1])), new)
	if err != nil {
		return 0, err
	}
	if a[3] != 0 {
		return 0, writeRlimit(t, a[3], old)
	}
	return 0, nil
}

// cpuTime is the CPU time reported for the process and its threads. gosv
// does not account CPU time per thread yet: it reports the time since
// boot as user time, like clock_gettime(CLOCK_PROCESS_CPUTIME_ID).
func cpuTime(t *task.Task) time.Duration { return time.Duration(t.P.K.Nanotime()) }

// getrusage(who, usage): struct rusage is two timevals and 14 longs.
func sysGetrusage(t *task.Task, a task.Args) (uintptr, error) {
	var b [144]byte
	switch int(int32(a[0])) {
	case unix.RUSAGE_SELF, unix.RUSAGE_THREAD:
		u := cpuTime(t)
		le.PutUint64(b[0:], uint64(u/time.Second))
		le.PutUint64(b[8:], uint64(u%time.Second/time.Microsecond))
	case unix.RUSAGE_CHILDREN:
	default:
		return 0, unix.EINVAL
	}
	return 0, t.CopyOut(a[1], b[:])
}

// clockTicks converts to clock_t (USER_HZ = 100).
func clockTicks(d time.Duration) uint64 { return uint64(d / (time.Second / 100)) }

// times(buf): struct tms {utime, stime, cutime, cstime}; returns the
// ticks since boot.
func sysTimes(t *task.Task, a task.Args) (uintptr, error) {
	if a[0] != 0 {
		var b [32]byte
		le.PutUint64(b[0:], clockTicks(cpuTime(t)))
		if err := t.CopyOut(a[0], b[:]); err != nil {
			return 0, err
		}
	}
	return uintptr(clockTicks(time.Duration(t.P.K.Nanotime()))), nil
}

// sysinfo(info): struct sysinfo is 112 bytes on x86-64.
func sysSysinfo(t *task.Task, a task.Args) (uintptr, error) {
	var b [112]byte
	ns := t.P.K.Nanotime()
	up := ns / 1e9
	if ns%1e9 != 0 {
		up++
	}
	m := t.P.K.Plat.MemInfo()
	le.PutUint64(b[0:], uint64(up))
	// loads[3] at 8: no load average.
	le.PutUint64(b[32:], m.Total)
	le.PutUint64(b[40:], m.Free)
	le.PutUint64(b[56:], m.Buffers)
	procs := t.P.K.Threads()
	le.PutUint16(b[80:], uint16(procs))
	le.PutUint32(b[104:], 1) // mem_unit
	return 0, t.CopyOut(a[0], b[:])
}

// Priority targets (getpriority(2)).
const (
	prioProcess = 0
	prioPgrp    = 1
	prioUser    = 2
)

// checkPrioWho validates (which, who) for the only process and user.
func checkPrioWho(t *task.Task, which, who int) error {
	switch which {
	case prioProcess:
		_, err := findTask(t, who)
		return err
	case prioPgrp:
		if who != 0 && who != 1 {
			return unix.ESRCH
		}
	case prioUser:
		s := t.P.State()
		s.Mu.Lock()
		uid := s.Cred.Uid
		s.Mu.Unlock()
		if who != 0 && uint32(who) != uid {
			return unix.ESRCH
		}
	default:
		return unix.EINVAL
	}
	return nil
}

// getpriority returns 20 - nice (1..40), as the raw syscall does.
func sysGetpriority(t *task.Task, a task.Args) (uintptr, error) {
	if err := checkPrioWho(t, int(int32(a[0])), int(int32(a[1]))); err != nil {
		return 0, err
	}
	s := t.P.State()
	s.Mu.Lock()
	defer s.Mu.Unlock()
	return uintptr(20 - s.Nice), nil
}

func sysSetpriority(t *task.Task, a task.Args) (uintptr, error) {
	if err := checkPrioWho(t, int(int32(a[0])), int(int32(a[1]))); err != nil {
		return 0, err
	}
	nice := min(max(int(int32(a[2])), -20), 19)
	s := t.P.State()
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if nice < s.Nice && s.Cred.Euid != 0 { // CAP_SYS_NICE
		return 0, unix.EACCES
	}
	s.Nice = nice
	return 0, nil
}

// I/O priorities (ioprio_set(2)): class in bits 13-15, data below.
const (
	ioprioClassNone = 0
	ioprioClassRT   = 1
	ioprioClassBE   = 2
	ioprioClassIdle = 3
	ioprioWhoProc   = 1
	ioprioWhoPgrp   = 2
	ioprioWhoUser   = 3
)

func checkIoprioWho(t *task.Task, which, who int) error {
	switch which {
	case ioprioWhoProc:
		return checkPrioWho(t, prioProcess, who)
	case ioprioWhoPgrp:
		return checkPrioWho(t, prioPgrp, who)
	case ioprioWhoUser:
		return checkPrioWho(t, prioUser, who)
	}
	return unix.EINVAL
}

func sysIoprioGet(t *task.Task, a task.Args) (uintptr, error) {
	if err := checkIoprioWho(t, int(int32(a[0])), int(int32(a[1]))); err != nil {
		return 0, err
	}
	s := t.P.State()
	s.Mu.Lock()
	defer s.Mu.Unlock()
	return uintptr(s.Ioprio), nil
}

func sysIoprioSet(t *task.Task, a task.Args) (uintptr, error) {
	prio := int(int32(a[2]))
	class, data := prio>>13, prio&0x1fff
	switch class {
	case ioprioClassRT, ioprioClassBE:
		if data >= 8 {
			return 0, unix.EINVAL
		}
	case ioprioClassIdle:
	case ioprioClassNone:
		if data != 0 {
			return 0, unix.EINVAL
		}
	default:
		return 0, unix.EINVAL
	}
	if err := checkIoprioWho(t, int(int32(a[0])), int(int32(a[1]))); err != nil {
		return 0, err
	}
	s := t.P.State()
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if class == ioprioClassRT && s.Cred.Euid != 0 {
		return 0, unix.EPERM
	}
	s.Ioprio = prio
	return 0, nil
}
