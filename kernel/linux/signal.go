package linux

import (
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// sigaction is the kernel's struct sigaction on x86-64 (rt_sigaction(2)):
// handler, flags, restorer, mask — 8 bytes each.
type sigaction struct {
	Handler  uint64
	Flags    uint64
	Restorer uint64
	Mask     uint64
}

// signalState holds the process-wide dispositions and pending signals.
type signalState struct {
	mu      sync.Mutex
	actions [65]sigaction
	pending uint64 // process-directed pending signals
}

// Default actions (signal(7)).
func defaultTerminates(sig int) bool {
	switch unix.Signal(sig) {
	case unix.SIGCHLD, unix.SIGURG, unix.SIGWINCH, unix.SIGCONT:
		return false
	}
	return true
}

// faultSignal maps a CPU exception vector to the signal Linux raises.
func faultSignal(vector int) (unix.Signal, int) {
	switch vector {
	case 0: // #DE
		return unix.SIGFPE, 1 // FPE_INTDIV
	case 1, 3: // #DB, #BP
		return unix.SIGTRAP, 1
	case 4, 5: // #OF, #BR
		return unix.SIGSEGV, 0
	case 6: // #UD
		return unix.SIGILL, 2 // ILL_ILLOPN
	case 16, 19: // #MF, #XM
		return unix.SIGFPE, 0
	case 17: // #AC
		return unix.SIGBUS, 1
	case 14: // #PF
		return unix.SIGSEGV, 1 // SEGV_MAPERR (refined by the error code)
	}
	return unix.SIGSEGV, 0x80 // SI_KERNEL: #GP and friends
}

var vectorNames = map[int]string{0: "divide error", 1: "debug trap", 3: "breakpoint", 4: "overflow", 5: "bound range",
	6: "invalid opcode", 13: "general protection fault", 14: "page fault", 16: "x87 floating-point error", 17: "alignment check", 19: "SIMD floating-point exception"}

// fault turns a CPU exception in app code into a signal.
func (t *Task) fault(vector int, errCode uint64, addr uintptr) {
	sig, code := faultSignal(vector)
	if vector == 14 && errCode&1 != 0 {
		code = 2 // SEGV_ACCERR
	}
	if t.deliverFault(sig, code, addr) {
		return
	}
	t.crashReport(sig, vector, errCode, addr)
	t.exit(128+int(sig), true)
}

// crashReport prints the signal, faulting address, RIP with the nearest
// symbol and the registers to the kernel log.
func (t *Task) crashReport(sig unix.Signal, vector int, errCode uint64, addr uintptr) {
	c := t.Ctx
	var b strings.Builder
	fmt.Fprintf(&b, "gosv: %s killed by signal %d (%s): %s", t.P.ExePath, int(sig), signalName(sig), vectorNames[vector])
	if vector == 14 {
		kind := "read"
		if errCode&2 != 0 {
			kind = "write"
		}
		if errCode&16 != 0 {
			kind = "instruction fetch"
		}
		what := "unmapped"
		if errCode&1 != 0 {
			what = "protection violation"
		}
		fmt.Fprintf(&b, " at address %#x (%s, %s)", addr, kind, what)
	}
	fmt.Fprintf(&b, "\n  thread %d rip=%#016x", t.TID, c.RIP)
	if s := t.P.Symbols.Lookup(c.RIP); s != "" {
		fmt.Fprintf(&b, " <%s>", s)
	}
	fmt.Fprintf(&b, "\n  rax=%#016x rbx=%#016x rcx=%#016x rdx=%#016x\n", c.RAX, c.RBX, c.RCX, c.RDX)
	fmt.Fprintf(&b, "  rsi=%#016x rdi=%#016x rbp=%#016x rsp=%#016x\n", c.RSI, c.RDI, c.RBP, c.RSP)
	fmt.Fprintf(&b, "  r8 =%#016x r9 =%#016x r10=%#016x r11=%#016x\n", c.R8, c.R9, c.R10, c.R11)
	fmt.Fprintf(&b, "  r12=%#016x r13=%#016x r14=%#016x r15=%#016x\n", c.R12, c.R13, c.R14, c.R15)
	fmt.Fprintf(&b, "  rflags=%#x fs=%#x", c.RFLAGS, c.FSBase)
	t.P.logf("%s", b.String())
}

func signalName(sig unix.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	return fmt.Sprintf("signal %d", int(sig))
}

// deliverSignals acts on pending, unblocked signals before the task
// re-enters the app: default actions here; handlers in signal_frame.go.
func (t *Task) deliverSignals() {
	for {
		sig := t.takePending()
		if sig == 0 {
			return
		}
		t.P.sig.mu.Lock()
		act := t.P.sig.actions[sig]
		t.P.sig.mu.Unlock()
		switch {
		case act.Handler == 1: // SIG_IGN
		case act.Handler == 0: // SIG_DFL
			if defaultTerminates(sig) {
				t.exit(128+sig, true)
				return
			}
		default:
			if !t.runHandler(unix.Signal(sig), act, &siginfo{Signo: int32(sig), Code: 0 /* SI_USER */, Pid: 1}) {
				t.exit(128+sig, true)
				return
			}
		}
	}
}

// takePending removes and returns the lowest pending unblocked signal
// (thread-directed first), or 0.
func (t *Task) takePending() int {
	t.P.sig.mu.Lock()
	defer t.P.sig.mu.Unlock()
	for _, set := range []*uint64{&t.pending, &t.P.sig.pending} {
		ready := *set &^ t.sigmask
		// SIGKILL and SIGSTOP cannot be blocked.
		ready |= *set & (1<<(unix.SIGKILL-1) | 1<<(unix.SIGSTOP-1))
		for sig := 1; sig <= 64; sig++ {
			if ready&(1<<(sig-1)) != 0 {
				*set &^= 1 << (sig - 1)
				return sig
			}
		}
	}
	return 0
}

// deliverFault runs the app's handler for a synchronous fault signal;
// false when the signal is not caught (default action), blocked or ignored.
func (t *Task) deliverFault(sig unix.Signal, code int, addr uintptr) bool {
	t.P.sig.mu.Lock()
	act := t.P.sig.actions[sig]
	t.P.sig.mu.Unlock()
	if act.Handler <= 1 || t.sigmask&(1<<(sig-1)) != 0 {
		return false
	}
	return t.runHandler(sig, act, &siginfo{Signo: int32(sig), Code: int32(code), Addr: uint64(addr)})
}

// siginfo is the part of siginfo_t gosv fills (sigaction(2)).
type siginfo struct {
	Signo, Errno, Code int32
	Pid, UID           int32
	Addr               uint64 // si_addr for faults
	Status             int32
}

// sendSignal queues sig for the process (kill) or one thread (tgkill) and
// interrupts the target so it acts on it promptly.
func (p *Process) sendSignal(target *Task, sig int) {
	p.sig.mu.Lock()
	if target != nil {
		target.pending |= 1 << (sig - 1)
	} else {
		p.sig.pending |= 1 << (sig - 1)
	}
	p.sig.mu.Unlock()
	if p.Runner == nil {
		return
	}
	if target != nil {
		p.Runner.Interrupt(target)
		return
	}
	p.mu.Lock()
	var all []*Task
	for _, t := range p.tasks {
		all = append(all, t)
	}
	p.mu.Unlock()
	for _, t := range all {
		p.Runner.Interrupt(t)
	}
}
