package linux

import (
	"time"

	"golang.org/x/sys/unix"
)

// Thread syscalls: exit(2), exit_group(2), set_tid_address(2),
// set_robust_list(2), gettid(2), futex(2), arch_prctl(2), rseq(2).
func init() {
	register(unix.SYS_EXIT, "exit", sysExit)
	register(unix.SYS_EXIT_GROUP, "exit_group", sysExitGroup)
	register(unix.SYS_SET_TID_ADDRESS, "set_tid_address", sysSetTidAddress)
	register(unix.SYS_SET_ROBUST_LIST, "set_robust_list", sysSetRobustList)
	register(unix.SYS_GETTID, "gettid", func(t *Task, a Args) (uintptr, error) { return uintptr(t.TID), nil })
	register(unix.SYS_FUTEX, "futex", sysFutex)
	register(unix.SYS_ARCH_PRCTL, "arch_prctl", sysArchPrctl)
	register(unix.SYS_RSEQ, "rseq", func(t *Task, a Args) (uintptr, error) { return 0, unix.ENOSYS })
	register(unix.SYS_SCHED_YIELD, "sched_yield", func(t *Task, a Args) (uintptr, error) { return 0, nil })
}

func sysExit(t *Task, a Args) (uintptr, error) {
	t.exit(int(a[0])&0xff, false)
	return 0, nil
}

func sysExitGroup(t *Task, a Args) (uintptr, error) {
	t.exit(int(a[0])&0xff, true)
	return 0, nil
}

func sysSetTidAddress(t *Task, a Args) (uintptr, error) {
	t.clearTID = a[0]
	return uintptr(t.TID), nil
}

func sysSetRobustList(t *Task, a Args) (uintptr, error) {
	if a[1] != 24 { // sizeof(struct robust_list_head)
		return 0, unix.EINVAL
	}
	t.robustList = a[0]
	return 0, nil
}

const (
	archSetGS = 0x1001
	archSetFS = 0x1002
	archGetFS = 0x1003
	archGetGS = 0x1004
)

func sysArchPrctl(t *Task, a Args) (uintptr, error) {
	switch a[0] {
	case archSetFS:
		if a[1] >= AppLimit {
			return 0, unix.EPERM
		}
		t.Ctx.FSBase = uint64(a[1])
	case archSetGS:
		if a[1] >= AppLimit {
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

// futex(2) operations (linux/futex.h).
const (
	futexWaitOp        = 0
	futexWakeOp        = 1
	futexRequeueOp     = 3
	futexCmpRequeueOp  = 4
	futexWaitBitsetOp  = 9
	futexWakeBitsetOp  = 10
	futexPrivateFlag   = 128
	futexClockRealtime = 256
)

// futex(2): WAIT, WAKE, REQUEUE, CMP_REQUEUE, WAIT_BITSET, WAKE_BITSET.
func sysFutex(t *Task, a Args) (uintptr, error) {
	addr, op, val, tsp, addr2, val3 := a[0], int(a[1]), uint32(a[2]), a[3], a[4], uint32(a[5])
	cmd := op &^ (futexPrivateFlag | futexClockRealtime)
	switch cmd {
	case futexWaitOp, futexWaitBitsetOp:
		bitset := ^uint32(0)
		if cmd == futexWaitBitsetOp {
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
			if cmd == futexWaitOp {
				deadline = time.Now().Add(time.Duration(sec)*time.Second + time.Duration(nsec))
			} else if op&futexClockRealtime != 0 {
				deadline = time.Unix(sec, nsec)
			} else {
				deadline = monoDeadline(sec, nsec)
			}
		}
		return 0, t.futexWait(addr, val, bitset, deadline)
	case futexWakeOp:
		return uintptr(t.P.futexWake(addr, int(val), ^uint32(0))), nil
	case futexWakeBitsetOp:
		if val3 == 0 {
			return 0, unix.EINVAL
		}
		return uintptr(t.P.futexWake(addr, int(val), val3)), nil
	case futexRequeueOp:
		return uintptr(t.P.futexRequeue(addr, addr2, int(val), int(tsp))), nil
	case futexCmpRequeueOp:
		cur, err := t.ReadU32(addr)
		if err != nil {
			return 0, err
		}
		if cur != val3 {
			return 0, unix.EAGAIN
		}
		return uintptr(t.P.futexRequeue(addr, addr2, int(val), int(tsp))), nil
	}
	return 0, unix.ENOSYS
}

// monoDeadline converts an absolute CLOCK_MONOTONIC time to a time.Time.
func monoDeadline(sec, nsec int64) time.Time {
	now := monotonicNow()
	return time.Now().Add(time.Duration(sec)*time.Second + time.Duration(nsec) - now)
}
