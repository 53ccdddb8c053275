package linux

import (
	"math"
	"runtime"
	"time"

	"github.com/gosv/gosv/kernel/machine"
	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
)

// Thread syscalls: exit(2), exit_group(2), set_tid_address(2),
// set_robust_list(2), get_robust_list(2), gettid(2), futex(2),
// arch_prctl(2), rseq(2), and the sched_* family (clone in clone.go).
func init() {
	register(unix.SYS_EXIT, "exit", sysExit)
	register(unix.SYS_EXIT_GROUP, "exit_group", sysExitGroup)
	register(unix.SYS_SET_TID_ADDRESS, "set_tid_address", sysSetTidAddress)
	register(unix.SYS_SET_ROBUST_LIST, "set_robust_list", sysSetRobustList)
	register(unix.SYS_GET_ROBUST_LIST, "get_robust_list", sysGetRobustList)
	register(unix.SYS_GETTID, "gettid", func(t *task.Task, a task.Args) (uintptr, error) { return uintptr(t.TID), nil })
	registerPartial(unix.SYS_FUTEX, "futex", "WAIT, WAKE, REQUEUE, CMP_REQUEUE and the BITSET forms; FUTEX_WAKE_OP and the PI operations are ENOSYS", sysFutex)
	register(unix.SYS_ARCH_PRCTL, "arch_prctl", sysArchPrctl)
	registerPartial(unix.SYS_RSEQ, "rseq", "answers ENOSYS without logging, so that glibc falls back quietly", func(t *task.Task, a task.Args) (uintptr, error) { return 0, unix.ENOSYS })
	register(unix.SYS_SCHED_YIELD, "sched_yield", sysSchedYield)
	register(unix.SYS_SCHED_GETAFFINITY, "sched_getaffinity", sysSchedGetaffinity)
	register(unix.SYS_SCHED_SETAFFINITY, "sched_setaffinity", sysSchedSetaffinity)
	register(unix.SYS_SCHED_GETSCHEDULER, "sched_getscheduler", sysSchedGetscheduler)
	register(unix.SYS_SCHED_SETSCHEDULER, "sched_setscheduler", sysSchedSetscheduler)
	register(unix.SYS_SCHED_GETPARAM, "sched_getparam", sysSchedGetparam)
	register(unix.SYS_SCHED_SETPARAM, "sched_setparam", sysSchedSetparam)
	register(unix.SYS_SCHED_GET_PRIORITY_MAX, "sched_get_priority_max", sysSchedGetPriorityMax)
	register(unix.SYS_SCHED_GET_PRIORITY_MIN, "sched_get_priority_min", sysSchedGetPriorityMin)
}

func sysExit(t *task.Task, a task.Args) (uintptr, error) {
	t.Exit(int(a[0])&0xff, false)
	return 0, nil
}

func sysExitGroup(t *task.Task, a task.Args) (uintptr, error) {
	t.Exit(int(a[0])&0xff, true)
	return 0, nil
}

func sysSetTidAddress(t *task.Task, a task.Args) (uintptr, error) {
	t.ClearTID = a[0]
	return uintptr(t.TID), nil
}

func sysSetRobustList(t *task.Task, a task.Args) (uintptr, error) {
	if a[1] != task.RobustListSize {
		return 0, unix.EINVAL
	}
	t.RobustList = a[0]
	return 0, nil
}

// get_robust_list(pid, head_ptr, len_ptr): pid 0 is the caller.
func sysGetRobustList(t *task.Task, a task.Args) (uintptr, error) {
	target, err := threadByID(t, int(int32(a[0])))
	if err != nil {
		return 0, err
	}
	if err := t.WriteU64(a[1], uint64(target.RobustList)); err != nil {
		return 0, err
	}
	return 0, t.WriteU64(a[2], task.RobustListSize)
}

// threadByID resolves the pid argument of the sched_* and robust-list
// calls: 0 is the caller, otherwise a tid of the process (ESRCH).
func threadByID(t *task.Task, id int) (*task.Task, error) {
	switch {
	case id == 0:
		return t, nil
	case id < 0:
		return nil, unix.EINVAL
	}
	if x := t.P.Task(id); x != nil {
		return x, nil
	}
	return nil, unix.ESRCH
}

const (
	archSetGS = 0x1001
	archSetFS = 0x1002
	archGetFS = 0x1003
	archGetGS = 0x1004
)

func sysArchPrctl(t *task.Task, a task.Args) (uintptr, error) {
	switch a[0] {
	case archSetFS:
		if a[1] >= task.AppLimit {
			return 0, unix.EPERM
		}
		t.Ctx.FSBase = uint64(a[1])
	case archSetGS:
		if a[1] >= task.AppLimit {
			return 0, unix.EPERM
		}
		t.Ctx.GSBase = uint64(a[1])
	case archGetFS:
		return 0, t.WriteU64(a[1], t.Ctx.FSBase)
	case archGetGS:
		return 0, t.WriteU64(a[1], t.Ctx.GSBase)
	default:
		return 0, unix.EINVAL
	}
	return 0, nil
}

// futex(2): WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAIT_BITSET, WAKE_BITSET.
// FUTEX_WAKE_OP and the PI operations need an atomic read-modify-write of
// app memory and are not served (ENOSYS).
func sysFutex(t *task.Task, a task.Args) (uintptr, error) {
	addr, op, val, tsp, addr2, val3 := a[0], int(a[1]), uint32(a[2]), a[3], a[4], uint32(a[5])
	cmd := op &^ (task.FutexPrivateFlag | task.FutexClockRealtime)
	if op&task.FutexClockRealtime != 0 && cmd != task.FutexWaitOp && cmd != task.FutexWaitBitsetOp {
		return 0, unix.ENOSYS
	}
	switch cmd {
	case task.FutexWaitOp, task.FutexWaitBitsetOp:
		bitset := ^uint32(0)
		if cmd == task.FutexWaitBitsetOp {
			if val3 == 0 {
				return 0, unix.EINVAL
			}
			bitset = val3
		}
		var deadline time.Time
		if tsp != 0 {
			var ts [16]byte
			if err := t.CopyIn(ts[:], tsp); err != nil {
				return 0, err
			}
			sec, nsec := int64(le.Uint64(ts[0:])), int64(le.Uint64(ts[8:]))
			if sec < 0 || nsec < 0 || nsec >= 1e9 {
				return 0, unix.EINVAL
			}
			switch {
			case cmd == task.FutexWaitOp: // relative
				deadline = time.Now().Add(timespecDuration(sec, nsec))
			case op&task.FutexClockRealtime != 0:
				deadline = time.Unix(sec, nsec)
			default:
				deadline = monoDeadline(t, sec, nsec)
			}
		}
		return 0, t.FutexWait(addr, val, bitset, deadline)
	case task.FutexWakeOp:
		return uintptr(t.P.FutexWake(addr, wakeCount(val), ^uint32(0))), nil
	case task.FutexWakeBitsetOp:
		if val3 == 0 {
			return 0, unix.EINVAL
		}
		return uintptr(t.P.FutexWake(addr, wakeCount(val), val3)), nil
	case task.FutexRequeueOp, task.FutexCmpRequeueOp:
		// val2 travels in the timeout argument.
		n, err := t.FutexRequeue(addr, addr2, int(int32(val)), int(int32(uint32(tsp))), cmd == task.FutexCmpRequeueOp, val3)
		return uintptr(n), err
	}
	return 0, unix.ENOSYS
}

// wakeCount is the number of waiters FUTEX_WAKE wakes for val: Linux
// takes it as an int, and a non-positive count still wakes one.
func wakeCount(val uint32) int {
	return max(int(int32(val)), 1)
}

// timespecDuration converts a valid, non-negative timespec to a Duration,
// saturating at about 292 years.
func timespecDuration(sec, nsec int64) time.Duration {
	if sec >= math.MaxInt64/int64(time.Second) {
		return math.MaxInt64
	}
	return time.Duration(sec)*time.Second + time.Duration(nsec)
}

// monoDeadline converts an absolute CLOCK_MONOTONIC time to a time.Time.
func monoDeadline(t *task.Task, sec, nsec int64) time.Time {
	now := time.Duration(t.P.K.Nanotime())
	return time.Now().Add(timespecDuration(sec, nsec) - now)
}

// sched_yield(2): let other goroutines (and app threads) run.
func sysSchedYield(t *task.Task, a task.Args) (uintptr, error) {
	runtime.Gosched()
	return 0, nil
}

// numCPU is the CPU count the app sees (the machine's CPUs).
func numCPU() int { return min(max(machine.NCPU(), 1), 64) }

// cpuMaskSize is the size of the kernel's cpumask (one word: at most 64
// CPUs), which sched_getaffinity returns.
const cpuMaskSize = 8

// sched_getaffinity(pid, len, mask): every CPU.
func sysSchedGetaffinity(t *task.Task, a task.Args) (uintptr, error) {
	if _, err := threadByID(t, int(int32(a[0]))); err != nil {
		return 0, err
	}
	n := a[1]
	if n*8 < uintptr(numCPU()) || n%8 != 0 {
		return 0, unix.EINVAL
	}
	var mask uint64 = 1<<numCPU() - 1
	if numCPU() == 64 {
		mask = ^uint64(0)
	}
	if err := t.WriteU64(a[2], mask); err != nil {
		return 0, err
	}
	return cpuMaskSize, nil
}

// sched_setaffinity(pid, len, mask): accepted when the mask names a CPU
// (threads run wherever the scheduler puts them).
func sysSchedSetaffinity(t *task.Task, a task.Args) (uintptr, error) {
	if _, err := threadByID(t, int(int32(a[0]))); err != nil {
		return 0, err
	}
	n := min(a[1], cpuMaskSize)
	var b [cpuMaskSize]byte
	if err := t.CopyIn(b[:n], a[2]); err != nil {
		return 0, err
	}
	var online uint64 = 1<<numCPU() - 1
	if numCPU() == 64 {
		online = ^uint64(0)
	}
	if le.Uint64(b[:])&online == 0 {
		return 0, unix.EINVAL
	}
	return 0, nil
}

// Scheduling policies (sched(7)): every thread is SCHED_OTHER.
const (
	schedOther = 0
	schedFIFO  = 1
	schedRR    = 2
	schedBatch = 3
	schedIdle  = 5
)

func sysSchedGetscheduler(t *task.Task, a task.Args) (uintptr, error) {
	if _, err := threadByID(t, int(int32(a[0]))); err != nil {
		return 0, err
	}
	return schedOther, nil
}

// sched_setscheduler(pid, policy, param): SCHED_OTHER, SCHED_BATCH and
// SCHED_IDLE with priority 0 are accepted (they all mean "normal" here);
// real-time policies are refused with EPERM.
func sysSchedSetscheduler(t *task.Task, a task.Args) (uintptr, error) {
	if _, err := threadByID(t, int(int32(a[0]))); err != nil {
		return 0, err
	}
	if a[2] == 0 {
		return 0, unix.EINVAL
	}
	prio, err := t.ReadU32(a[2])
	if err != nil {
		return 0, err
	}
	switch int(int32(a[1])) &^ unix.SCHED_RESET_ON_FORK {
	case schedOther, schedBatch, schedIdle:
		if prio != 0 {
			return 0, unix.EINVAL
		}
		return 0, nil
	case schedFIFO, schedRR:
		if prio < 1 || prio > 99 {
			return 0, unix.EINVAL
		}
		return 0, unix.EPERM
	}
	return 0, unix.EINVAL
}

func sysSchedGetparam(t *task.Task, a task.Args) (uintptr, error) {
	if _, err := threadByID(t, int(int32(a[0]))); err != nil {
		return 0, err
	}
	if a[1] == 0 {
		return 0, unix.EINVAL
	}
	return 0, t.WriteU32(a[1], 0) // struct sched_param { int sched_priority; }
}

func sysSchedSetparam(t *task.Task, a task.Args) (uintptr, error) {
	if _, err := threadByID(t, int(int32(a[0]))); err != nil {
		return 0, err
	}
	if a[1] == 0 {
		return 0, unix.EINVAL
	}
	prio, err := t.ReadU32(a[1])
	if err != nil {
		return 0, err
	}
	if prio != 0 {
		return 0, unix.EINVAL
	}
	return 0, nil
}

func sysSchedGetPriorityMax(t *task.Task, a task.Args) (uintptr, error) {
	switch int(int32(a[0])) {
	case schedFIFO, schedRR:
		return 99, nil
	case schedOther, schedBatch, schedIdle:
		return 0, nil
	}
	return 0, unix.EINVAL
}

func sysSchedGetPriorityMin(t *task.Task, a task.Args) (uintptr, error) {
	switch int(int32(a[0])) {
	case schedFIFO, schedRR:
		return 1, nil
	case schedOther, schedBatch, schedIdle:
		return 0, nil
	}
	return 0, unix.EINVAL
}
