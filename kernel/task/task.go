package task

import (
	"github.com/gosv/gosv/kernel/machine"
	"golang.org/x/sys/unix"
)

// Task is one app thread. Its goroutine runs Loop.
type Task struct {
	P   *Process
	TID int
	Ctx *machine.AppContext

	ClearTID   uintptr // set_tid_address / CLONE_CHILD_CLEARTID
	RobustList uintptr // set_robust_list
	exitCode   int

	// Signal state, guarded by P.sig.mu; the task reads its own fields
	// without the lock since only it writes them (signal.go).
	Sigmask     uint64   // blocked signals
	Pending     SigQueue // thread-directed pending signals
	Altstack    AltStack // sigaltstack(2)
	savedMask   uint64   // mask to restore after a wait with a temporary one
	restoreMask bool     // savedMask is valid (Linux's TIF_RESTORE_SIGMASK)
	Exited      bool     // written under P.sig.mu
	intr        chan struct{}
	intrClosed  bool
	// takeShared says the task may take process-directed signals (Linux's
	// TIF_SIGPENDING for the shared queue): set for the thread a signal
	// is sent to, and when the task's mask lets a pending one through
	// (recalcMask is the mask that was last checked). Guarded by P.sig.mu.
	takeShared bool
	recalcMask uint64

	// restart is how the last syscall, which returned EINTR, may be
	// restarted once the task has acted on its signals; restartNr is its
	// number.
	Restart   restartKind
	RestartNr uintptr

	// noReturnValue keeps RAX as the handler left it (rt_sigreturn).
	NoReturnValue bool

	misc taskState // comm, pdeathsig, timer slack (sys_misc.go)
}

// startTask runs a new thread's goroutine (tests replace it).
var StartTask = func(t *Task) { go t.Loop() }

// Loop runs the task until it exits: enter the app, handle what brought
// it back, deliver signals, repeat.
func (t *Task) Loop() {
	for !t.Exited {
		if t.P.Exiting() {
			t.Exit(0, false)
			return
		}
		t.DeliverSignals()
		if t.Exited {
			return
		}
		t.ResetInterrupt()
		t.P.Runner.Run(t)
		if t.Exited {
			return
		}
		switch v := t.Ctx.Vector; v {
		case machine.EventSyscall:
			t.Syscall()
		case machine.EventInterrupt:
		default:
			t.Fault(int(v), t.Ctx.Err, uintptr(t.Ctx.CR2))
		}
	}
}

// syscall runs the syscall the app made and stores its result in RAX. A
// syscall that returned EINTR is remembered so that deliverSignals can
// restart it (SA_RESTART).
func (t *Task) Syscall() {
	c := t.Ctx
	nr := uintptr(c.RAX)
	a := Args{uintptr(c.RDI), uintptr(c.RSI), uintptr(c.RDX), uintptr(c.R10), uintptr(c.R8), uintptr(c.R9)}
	r := Dispatcher(t, nr, a)
	if t.NoReturnValue {
		t.NoReturnValue = false
		return
	}
	c.RAX = uint64(r)
	t.Restart = restartNever
	if r == ErrnoRet(unix.EINTR) {
		t.Restart, t.RestartNr = Restartable(nr, a), nr
	}
}

// exit ends this thread; with group, the whole process (exit_group(2)).
// A thread that leaves on its own releases its robust futexes and, with
// CLONE_CHILD_CLEARTID semantics, zeroes the tid word and futex-wakes it
// (set_tid_address(2)).
func (t *Task) Exit(code int, group bool) {
	if t.Exited {
		return
	}
	s := &t.P.Sig
	s.Mu.Lock()
	t.Exited, t.exitCode = true, code
	t.Pending.Drop(^uint64(0))
	var wake []*Task
	if t.takeShared {
		// Hand the process-directed signals this thread was to take to
		// another one.
		wake = t.P.retargetLocked(t, s.Pending.Mask&^t.Sigmask)
	}
	s.Mu.Unlock()
	for _, x := range wake {
		t.P.interrupt(x)
	}
	if group {
		// Stop every other thread first, so that none runs app code after
		// the process is dying (a join woken by clear_child_tid, say).
		t.P.Exit(code)
	}
	if !group && !t.P.Exiting() {
		t.exitRobustList()
		if t.ClearTID != 0 {
			var zero [4]byte
			if t.P.Mem.CopyOut(t.ClearTID, zero[:]) == nil {
				t.P.FutexWake(t.ClearTID, 1, ^uint32(0))
			}
		}
	}
	t.P.taskExit(t, code)
}

// Robust futexes (set_robust_list(2), kernel/futex/core.c).
const (
	FutexWaiters    = 0x80000000
	FutexOwnerDied  = 0x40000000
	futexTIDMask    = 0x3fffffff
	robustListLimit = 2048
	RobustListSize  = 24 // struct robust_list_head: list, futex_offset, list_op_pending
)

// exitRobustList walks the robust list of an exiting thread: every futex
// it still owns gets FUTEX_OWNER_DIED and one waiter is woken, so that
// the next locker sees EOWNERDEAD.
func (t *Task) exitRobustList() {
	head := t.RobustList
	if head == 0 {
		return
	}
	var b [RobustListSize]byte
	if t.CopyIn(b[:], head) != nil {
		return
	}
	offset := uintptr(Le.Uint64(b[8:]))
	// Entries carry the PI flag in bit 0 (fetch_robust_entry).
	first, pend := Le.Uint64(b[0:]), Le.Uint64(b[16:])
	entry, pi := uintptr(first&^1), first&1 != 0
	pending, pendingPI := uintptr(pend&^1), pend&1 != 0
	for i := 0; entry != head && i < robustListLimit; i++ {
		next, err := t.ReadU64(entry)
		if entry != pending {
			t.futexDeath(entry+offset, pi, false)
		}
		if err != nil {
			return
		}
		entry, pi = uintptr(next&^1), next&1 != 0
	}
	if pending != 0 {
		t.futexDeath(pending+offset, pendingPI, true)
	}
}

// futexDeath releases one robust futex of the exiting thread
// (handle_futex_death). The word is rewritten under the futex lock, so a
// waiter that set FUTEX_WAITERS either is seen here or fails its
// FUTEX_WAIT value check and looks again.
func (t *Task) futexDeath(addr uintptr, pi, pendingOp bool) {
	futexes := t.P.MM.Futexes
	if addr%4 != 0 {
		return
	}
	futexes.Mu.Lock()
	defer futexes.Mu.Unlock()
	v, err := t.ReadU32(addr)
	if err != nil {
		return
	}
	if pendingOp && !pi && v == 0 {
		futexes.wakeLocked(addr, 1, ^uint32(0))
		return
	}
	if int(v&futexTIDMask) != t.TID {
		return
	}
	if t.WriteU32(addr, v&FutexWaiters|FutexOwnerDied) != nil {
		return
	}
	if !pi && v&FutexWaiters != 0 {
		futexes.wakeLocked(addr, 1, ^uint32(0))
	}
}

// CopyIn reads app memory.
func (t *Task) CopyIn(dst []byte, addr uintptr) error { return t.P.Mem.CopyIn(dst, addr) }

// CopyOut writes app memory.
func (t *Task) CopyOut(addr uintptr, src []byte) error { return t.P.Mem.CopyOut(addr, src) }

// ReadString reads a NUL-terminated string of at most max bytes
// (ENAMETOOLONG beyond it, EFAULT when unmapped).
func (t *Task) ReadString(addr uintptr, max int) (string, error) {
	var buf []byte
	chunk := make([]byte, 256)
	for len(buf) < max {
		n := len(chunk)
		// Do not cross into the next page unless needed: a string may end
		// right before an unmapped page.
		if rem := int(PageSize - (addr+uintptr(len(buf)))%PageSize); rem < n {
			n = rem
		}
		if err := t.CopyIn(chunk[:n], addr+uintptr(len(buf))); err != nil {
			return "", unix.EFAULT
		}
		for i := 0; i < n; i++ {
			if chunk[i] == 0 {
				return string(append(buf, chunk[:i]...)), nil
			}
		}
		buf = append(buf, chunk[:n]...)
	}
	return "", unix.ENAMETOOLONG
}

// ReadU64 and friends read and write native-endian words of app memory.
func (t *Task) ReadU64(addr uintptr) (uint64, error) {
	var b [8]byte
	if err := t.CopyIn(b[:], addr); err != nil {
		return 0, err
	}
	return Le.Uint64(b[:]), nil
}

func (t *Task) WriteU64(addr uintptr, v uint64) error {
	var b [8]byte
	Le.PutUint64(b[:], v)
	return t.CopyOut(addr, b[:])
}

func (t *Task) ReadU32(addr uintptr) (uint32, error) {
	var b [4]byte
	if err := t.CopyIn(b[:], addr); err != nil {
		return 0, err
	}
	return Le.Uint32(b[:]), nil
}

func (t *Task) WriteU32(addr uintptr, v uint32) error {
	var b [4]byte
	Le.PutUint32(b[:], v)
	return t.CopyOut(addr, b[:])
}
