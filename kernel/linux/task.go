package linux

import (
	"github.com/gosv/gosv/kernel/machine"
	"golang.org/x/sys/unix"
)

// Task is one app thread. Its goroutine runs Loop.
type Task struct {
	P   *Process
	TID int
	Ctx *machine.AppContext

	clearTID   uintptr // set_tid_address / CLONE_CHILD_CLEARTID
	robustList uintptr
	sigmask    uint64
	pending    uint64    // thread-directed pending signals
	altstack   [3]uint64 // stack_t: ss_sp, ss_flags, ss_size
	exited     bool
	exitCode   int

	// noReturnValue keeps RAX as the handler left it (rt_sigreturn).
	noReturnValue bool
}

// Loop runs the task until it exits: enter the app, handle what brought
// it back, deliver signals, repeat.
func (t *Task) Loop() {
	for !t.exited {
		if t.P.Exiting() {
			t.exit(0, false)
			return
		}
		t.deliverSignals()
		if t.exited {
			return
		}
		t.P.Runner.Run(t)
		switch v := t.Ctx.Vector; v {
		case machine.EventSyscall:
			c := t.Ctx
			nr := uintptr(c.RAX)
			a := Args{uintptr(c.RDI), uintptr(c.RSI), uintptr(c.RDX), uintptr(c.R10), uintptr(c.R8), uintptr(c.R9)}
			r := t.Dispatch(nr, a)
			if !t.noReturnValue {
				c.RAX = uint64(r)
			}
			t.noReturnValue = false
		case machine.EventInterrupt:
		default:
			t.fault(int(v), t.Ctx.Err, uintptr(t.Ctx.CR2))
		}
	}
}

// exit ends this thread. With CLONE_CHILD_CLEARTID semantics: zero the tid
// word and futex-wake it (set_tid_address(2)).
func (t *Task) exit(code int, group bool) {
	if t.exited {
		return
	}
	t.exited, t.exitCode = true, code
	if t.clearTID != 0 {
		var zero [4]byte
		if t.P.Mem.CopyOut(t.clearTID, zero[:]) == nil {
			t.P.futexWake(t.clearTID, 1, ^uint32(0))
		}
	}
	if group {
		t.P.Exit(code)
	}
	t.P.taskExit(t, code)
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
		if rem := int(pageSize - (addr+uintptr(len(buf)))%pageSize); rem < n {
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
	return le.Uint64(b[:]), nil
}

func (t *Task) WriteU64(addr uintptr, v uint64) error {
	var b [8]byte
	le.PutUint64(b[:], v)
	return t.CopyOut(addr, b[:])
}

func (t *Task) ReadU32(addr uintptr) (uint32, error) {
	var b [4]byte
	if err := t.CopyIn(b[:], addr); err != nil {
		return 0, err
	}
	return le.Uint32(b[:]), nil
}

func (t *Task) WriteU32(addr uintptr, v uint32) error {
	var b [4]byte
	le.PutUint32(b[:], v)
	return t.CopyOut(addr, b[:])
}
