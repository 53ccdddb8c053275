package task

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Signals (signal(7)): dispositions are process-wide; masks, pending
// thread-directed signals and the alternate stack belong to each task.
// Everything here is guarded by Process.sig.mu; a task reads its own
// fields without the lock (only it writes them).

// sigaction is the kernel's struct sigaction on x86-64 (rt_sigaction(2)):
// handler, flags, restorer, mask — 8 bytes each.
type Sigaction struct {
	Handler  uint64
	Flags    uint64
	Restorer uint64
	Mask     uint64
}

// sa_flags bits (include/uapi/asm-generic/signal-defs.h, asm/signal.h).
const (
	saNoCldStop     = 0x1
	saNoCldWait     = 0x2
	SaSiginfo       = 0x4
	SaUnsupported   = 0x400 // never kept: lets the app probe for unknown flags
	saExposeTagbits = 0x800
	SaRestorer      = 0x04000000
	SaOnstack       = 0x08000000
	SaRestart       = 0x10000000
	SaNodefer       = 0x40000000
	SaResethand     = 0x80000000

	// saKnown are the flags rt_sigaction keeps (UAPI_SA_FLAGS).
	SaKnown = saNoCldStop | saNoCldWait | SaSiginfo | saExposeTagbits | SaRestorer |
		SaOnstack | SaRestart | SaNodefer | SaResethand
)

// Handler values with a meaning of their own.
const (
	SigDFL = 0
	SigIGN = 1
)

// si_code values (include/uapi/asm-generic/siginfo.h).
const (
	SiUser     = 0
	siKernel   = 0x80
	siQueue    = -1
	SiTkill    = -6
	SegvMaperr = 1
	segvAccerr = 2
	busAdraln  = 1
	fpeIntdiv  = 1
	illIllopn  = 2
	trapBrkpt  = 1
)

const (
	NumSignals = 64
	sigRTMin   = 32 // the kernel's SIGRTMIN (the C library reserves some above it)
)

// sigBit is the bit of sig in a sigset_t word.
func SigBit(sig int) uint64 { return 1 << (sig - 1) }

// unblockable are SIGKILL and SIGSTOP: no mask ever holds them.
const Unblockable = 1<<(unix.SIGKILL-1) | 1<<(unix.SIGSTOP-1)

// synchronous are the signals a fault raises; they are taken first
// (SYNCHRONOUS_MASK in kernel/signal.c).
const synchronous = 1<<(unix.SIGSEGV-1) | 1<<(unix.SIGBUS-1) | 1<<(unix.SIGILL-1) |
	1<<(unix.SIGTRAP-1) | 1<<(unix.SIGFPE-1) | 1<<(unix.SIGSYS-1)

// signalState holds the process-wide dispositions and pending signals.
type signalState struct {
	Mu      sync.Mutex
	Actions [NumSignals + 1]Sigaction
	Pending SigQueue // process-directed pending signals
}

// siginfo is the kernel's view of one signal instance (siginfo_t of
// sigaction(2)); encode writes the 128-byte siginfo_t.
type Siginfo struct {
	Signo, Errno, Code int32
	Pid, UID           int32  // SI_USER, SI_TKILL, SI_QUEUE
	Addr               uint64 // si_addr for faults
	Status             int32
	Raw                *[SiginfoSize]byte // rt_sigqueueinfo: the app's own bytes
}

const SiginfoSize = 128

// encode writes si as a siginfo_t: signo, errno, code at 0, 4, 8; the
// union at 16 (kill: pid, uid; fault: addr; sigchld: pid, uid, status).
func (si *Siginfo) Encode(b []byte) {
	b = b[:SiginfoSize]
	if si.Raw != nil {
		copy(b, si.Raw[:])
	} else {
		clear(b)
		Le.PutUint32(b[4:], uint32(si.Errno))
		Le.PutUint32(b[8:], uint32(si.Code))
		if si.Addr != 0 {
			Le.PutUint64(b[16:], si.Addr)
		} else {
			Le.PutUint32(b[16:], uint32(si.Pid))
			Le.PutUint32(b[20:], uint32(si.UID))
			Le.PutUint32(b[24:], uint32(si.Status))
		}
	}
	Le.PutUint32(b[0:], uint32(si.Signo))
}

// sigQueue is a set of pending signals with their siginfo: a standard
// signal is pending at most once; real-time signals queue every instance.
type SigQueue struct {
	Mask  uint64
	Infos [NumSignals][]Siginfo
}

// maxQueued bounds the queued instances of one real-time signal
// (RLIMIT_SIGPENDING plays this role in Linux).
const maxQueued = 1024

// add queues info; a standard signal already pending is merged.
func (q *SigQueue) add(info Siginfo) {
	sig := int(info.Signo)
	if q.Mask&SigBit(sig) != 0 && (sig < sigRTMin || len(q.Infos[sig-1]) >= maxQueued) {
		return
	}
	q.Mask |= SigBit(sig)
	q.Infos[sig-1] = append(q.Infos[sig-1], info)
}

// take removes the first pending instance of sig.
func (q *SigQueue) Take(sig int) Siginfo {
	l := q.Infos[sig-1]
	var info Siginfo
	if len(l) > 0 {
		info = l[0]
		l = l[1:]
	} else {
		info = Siginfo{Signo: int32(sig)}
	}
	if len(l) == 0 {
		l = nil
		q.Mask &^= SigBit(sig)
	}
	q.Infos[sig-1] = l
	return info
}

// drop discards every pending instance of the signals in set.
func (q *SigQueue) Drop(set uint64) {
	for sig := 1; sig <= NumSignals; sig++ {
		if set&q.Mask&SigBit(sig) != 0 {
			q.Infos[sig-1] = nil
		}
	}
	q.Mask &^= set
}

// nextSignal picks from a non-empty set: synchronous signals first, then
// the lowest number (next_signal in kernel/signal.c).
func NextSignal(set uint64) int {
	if s := set & synchronous; s != 0 {
		set = s
	}
	for sig := 1; sig <= NumSignals; sig++ {
		if set&SigBit(sig) != 0 {
			return sig
		}
	}
	return 0
}

// Default actions (signal(7)).
type defaultAction int

const (
	actTerm   defaultAction = iota // terminate
	actCore                        // terminate with a crash report (core dump)
	actIgnore                      // ignore
	actStop                        // stop: there is no job control, so ignored
	actCont                        // continue: ignored
)

func defaultActionOf(sig int) defaultAction {
	switch unix.Signal(sig) {
	case unix.SIGQUIT, unix.SIGILL, unix.SIGTRAP, unix.SIGABRT, unix.SIGBUS, unix.SIGFPE,
		unix.SIGSEGV, unix.SIGXCPU, unix.SIGXFSZ, unix.SIGSYS:
		return actCore
	case unix.SIGCHLD, unix.SIGURG, unix.SIGWINCH:
		return actIgnore
	case unix.SIGSTOP, unix.SIGTSTP, unix.SIGTTIN, unix.SIGTTOU:
		return actStop
	case unix.SIGCONT:
		return actCont
	}
	return actTerm
}

// defaultTerminates reports whether the default action of sig ends the
// process.
func defaultTerminates(sig int) bool {
	a := defaultActionOf(sig)
	return a == actTerm || a == actCore
}

// ignoredLocked reports whether a new instance of sig would be dropped
// at once: its handler is SIG_IGN, or SIG_DFL with a default action that
// does nothing here (sig_ignored in kernel/signal.c; stop signals count
// as ignored since gosv has no job control).
func (s *signalState) IgnoredLocked(sig int) bool {
	switch s.Actions[sig].Handler {
	case SigIGN:
		return true
	case SigDFL:
		return !defaultTerminates(sig)
	}
	return false
}

// faultSignal maps a CPU exception vector to the signal Linux raises, its
// si_code, and whether si_addr is the faulting instruction
// (arch/x86/kernel/traps.c).
func faultSignal(vector int) (sig unix.Signal, code int, addrIsIP bool) {
	switch vector {
	case 0: // #DE
		return unix.SIGFPE, fpeIntdiv, true
	case 1: // #DB
		return unix.SIGTRAP, trapBrkpt, true
	case 3: // #BP (int3)
		return unix.SIGTRAP, siKernel, false
	case 6: // #UD
		return unix.SIGILL, illIllopn, true
	case 16, 19: // #MF, #XM
		return unix.SIGFPE, 0, true
	case 17: // #AC
		return unix.SIGBUS, busAdraln, false
	case 14: // #PF
		return unix.SIGSEGV, SegvMaperr, false // SEGV_ACCERR for present pages, below
	}
	return unix.SIGSEGV, siKernel, false // #GP, #SS, #NP, #OF, #BR, ...
}

var vectorNames = map[int]string{0: "divide error", 1: "debug trap", 3: "breakpoint", 4: "overflow", 5: "bound range",
	6: "invalid opcode", 11: "segment not present", 12: "stack fault", 13: "general protection fault",
	14: "page fault", 16: "x87 floating-point error", 17: "alignment check", 19: "SIMD floating-point exception"}

// trapInfo is the CPU exception behind a signal (sigcontext trapno, err, cr2).
type trapInfo struct {
	vector int
	err    uint64
	cr2    uint64
}

// fault turns a CPU exception in app code into a signal: the app's
// handler runs when it has one that is neither blocked nor ignored;
// otherwise the process dies with 128+N and a crash report (a forced
// signal in Linux resets a blocked or ignored disposition to SIG_DFL).
func (t *Task) Fault(vector int, errCode uint64, addr uintptr) {
	sig, code, addrIsIP := faultSignal(vector)
	if vector == 14 {
		if errCode&1 != 0 {
			code = segvAccerr
		}
	} else {
		addr = 0
		if addrIsIP {
			addr = uintptr(t.Ctx.RIP)
		}
	}
	trap := &trapInfo{vector: vector, err: errCode}
	if vector == 14 {
		trap.cr2 = uint64(addr)
	}
	s := &t.P.Sig
	s.Mu.Lock()
	act := s.Actions[sig]
	if act.Handler > SigIGN && act.Flags&SaResethand != 0 {
		s.Actions[sig].Handler = SigDFL
	}
	s.Mu.Unlock()
	if act.Handler <= SigIGN || t.Sigmask&SigBit(int(sig)) != 0 {
		t.crashReport(sig, vector, errCode, addr)
		t.Exit(128+int(sig), true)
		return
	}
	info := Siginfo{Signo: int32(sig), Code: int32(code), Addr: uint64(addr)}
	if err := t.runHandler(sig, act, &info, trap); err != nil {
		t.BadFrame(err)
	}
}

// badFrame kills the process with SIGSEGV when a signal frame cannot be
// written or read back (force_sigsegv / signal_fault in Linux).
func (t *Task) BadFrame(err error) {
	t.P.Logf("gosv: thread %d: bad signal frame: %v", t.TID, err)
	t.crashReport(unix.SIGSEGV, -1, 0, 0)
	t.Exit(128+int(unix.SIGSEGV), true)
}

// crashReport prints the signal, faulting address, RIP with the nearest
// symbol and the registers to the kernel log. vector < 0: the signal did
// not come from a CPU exception.
func (t *Task) crashReport(sig unix.Signal, vector int, errCode uint64, addr uintptr) {
	c := t.Ctx
	var b strings.Builder
	fmt.Fprintf(&b, "gosv: %s killed by signal %d (%s)", t.P.ExePath, int(sig), signalName(sig))
	if vector >= 0 {
		name := vectorNames[vector]
		if name == "" {
			name = fmt.Sprintf("exception %d", vector)
		}
		fmt.Fprintf(&b, ": %s", name)
	}
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
	if c == nil {
		t.P.Logf("%s", b.String())
		return
	}
	fmt.Fprintf(&b, "\n  thread %d rip=%#016x", t.TID, c.RIP)
	if s := t.P.symbols().Lookup(c.RIP); s != "" {
		fmt.Fprintf(&b, " <%s>", s)
	}
	fmt.Fprintf(&b, "\n  rax=%#016x rbx=%#016x rcx=%#016x rdx=%#016x\n", c.RAX, c.RBX, c.RCX, c.RDX)
	fmt.Fprintf(&b, "  rsi=%#016x rdi=%#016x rbp=%#016x rsp=%#016x\n", c.RSI, c.RDI, c.RBP, c.RSP)
	fmt.Fprintf(&b, "  r8 =%#016x r9 =%#016x r10=%#016x r11=%#016x\n", c.R8, c.R9, c.R10, c.R11)
	fmt.Fprintf(&b, "  r12=%#016x r13=%#016x r14=%#016x r15=%#016x\n", c.R12, c.R13, c.R14, c.R15)
	fmt.Fprintf(&b, "  rflags=%#x fs=%#x", c.RFLAGS, c.FSBase)
	t.P.Logf("%s", b.String())
}

func signalName(sig unix.Signal) string {
	if n := unix.SignalName(sig); n != "" {
		return n
	}
	if sig >= sigRTMin && sig <= NumSignals {
		return fmt.Sprintf("SIGRT%d", int(sig)-sigRTMin)
	}
	return fmt.Sprintf("signal %d", int(sig))
}

// restartKind says what happens to a syscall that returned EINTR when the
// task next acts on its signals (the ERESTART* codes of Linux).
type restartKind int

const (
	restartNever  restartKind = iota // EINTR stands (ERESTART_RESTARTBLOCK-like, epoll_wait, nanosleep)
	RestartSys                       // restart unless a handler without SA_RESTART runs (ERESTARTSYS)
	restartNoHand                    // restart only when no handler runs (ERESTARTNOHAND)
)

// restartable classifies syscall nr (with args a) for SA_RESTART, after
// signal(7) "Interruption of system calls and library functions by signal
// handlers".
func Restartable(nr uintptr, a Args) restartKind {
	switch nr {
	case unix.SYS_READ, unix.SYS_WRITE, unix.SYS_READV, unix.SYS_WRITEV, unix.SYS_PREAD64,
		unix.SYS_PWRITE64, unix.SYS_PREADV, unix.SYS_PWRITEV, unix.SYS_PREADV2, unix.SYS_PWRITEV2,
		unix.SYS_IOCTL, unix.SYS_OPEN, unix.SYS_OPENAT, unix.SYS_OPENAT2, unix.SYS_WAIT4,
		unix.SYS_WAITID, unix.SYS_ACCEPT, unix.SYS_ACCEPT4, unix.SYS_CONNECT, unix.SYS_RECVFROM,
		unix.SYS_RECVMSG, unix.SYS_RECVMMSG, unix.SYS_SENDTO, unix.SYS_SENDMSG, unix.SYS_SENDMMSG,
		unix.SYS_FLOCK, unix.SYS_FCNTL, unix.SYS_GETRANDOM, unix.SYS_SENDFILE, unix.SYS_SPLICE:
		return RestartSys
	case unix.SYS_FUTEX:
		// Waits without a timeout restart; timed ones report EINTR (Linux
		// restarts those only when no handler ran, with the deadline kept).
		cmd := int(a[1]) &^ (FutexPrivateFlag | FutexClockRealtime)
		if (cmd == FutexWaitOp || cmd == FutexWaitBitsetOp) && a[3] == 0 {
			return RestartSys
		}
	case unix.SYS_PAUSE, unix.SYS_RT_SIGSUSPEND:
		return restartNoHand
	}
	return restartNever
}

// dequeueSignal takes the next pending signal t does not block
// (thread-directed first) and returns it with its disposition, applying
// SA_RESETHAND; ok is false when there is none.
func (t *Task) DequeueSignal() (info Siginfo, act Sigaction, ok bool) {
	s := &t.P.Sig
	s.Mu.Lock()
	defer s.Mu.Unlock()
	t.syncMaskLocked()
	q := &t.Pending
	ready := q.Mask &^ t.Sigmask
	if ready == 0 && t.takeShared {
		q = &s.Pending
		ready = q.Mask &^ t.Sigmask
		if ready == 0 {
			t.takeShared = false
		}
	}
	if ready == 0 {
		return Siginfo{}, Sigaction{}, false
	}
	sig := NextSignal(ready)
	info = q.Take(sig)
	act = s.Actions[sig]
	if act.Handler > SigIGN && act.Flags&SaResethand != 0 {
		s.Actions[sig].Handler = SigDFL
	}
	return info, act, true
}

// syncMaskLocked is recalc_sigpending after a change of t's mask, even one
// made by writing t.sigmask directly: the task takes the process-directed
// signals its new mask lets through.
func (t *Task) syncMaskLocked() {
	if t.Sigmask == t.recalcMask {
		return
	}
	t.recalcMask = t.Sigmask
	if t.P.Sig.Pending.Mask&^t.Sigmask != 0 {
		t.takeShared = true
	}
}

// retargetLocked finds, for each process-directed signal of set that no
// thread is to take yet, a thread other than not that does not block it
// and makes it take it (retarget_shared_pending). It returns the threads
// to interrupt (after P.sig.mu is released).
func (p *Process) retargetLocked(not *Task, set uint64) []*Task {
	if set == 0 {
		return nil
	}
	tasks := p.TaskList()
	for _, x := range tasks {
		if x != not && !x.Exited && x.takeShared {
			set &^= ^x.Sigmask
		}
	}
	var wake []*Task
	for sig := 1; sig <= NumSignals && set != 0; sig++ {
		if set&SigBit(sig) == 0 {
			continue
		}
		for _, x := range tasks {
			if x != not && !x.Exited && x.Sigmask&SigBit(sig) == 0 {
				x.takeShared = true
				set &^= ^x.Sigmask
				wake = append(wake, x)
				break
			}
		}
	}
	return wake
}

// deliverSignals acts on pending, unblocked signals before the task
// re-enters the app: default actions here, handlers through a signal
// frame (signal_frame.go). It also finishes an interrupted syscall:
// restart it (SA_RESTART, or no handler ran) or let EINTR stand, and puts
// back a mask that rt_sigsuspend and friends replaced for their wait.
func (t *Task) DeliverSignals() {
	for !t.Exited {
		info, act, ok := t.DequeueSignal()
		if !ok {
			t.finishRestart()
			if t.restoreMask {
				// No handler ran: the saved mask comes back now, and may
				// let through a signal that the temporary one blocked.
				t.restoreMask = false
				t.SetSigmask(t.savedMask)
				continue
			}
			return
		}
		sig := int(info.Signo)
		switch {
		case act.Handler == SigIGN:
		case act.Handler == SigDFL:
			switch defaultActionOf(sig) {
			case actCore:
				t.crashReport(unix.Signal(sig), -1, 0, 0)
			case actTerm:
				t.P.Logf("gosv: %s terminated by signal %d (%s)", t.P.ExePath, sig, signalName(unix.Signal(sig)))
			default:
				continue
			}
			t.Exit(128+sig, true)
			return
		default:
			if err := t.runHandler(unix.Signal(sig), act, &info, nil); err != nil {
				t.BadFrame(err)
				return
			}
		}
	}
}

// finishRestart applies the no-handler rule to a syscall that returned
// EINTR: restart it unless it is of the kind that never restarts.
func (t *Task) finishRestart() {
	if t.Restart == RestartSys || t.Restart == restartNoHand {
		t.rewindSyscall()
	}
	t.Restart = restartNever
}

// rewindSyscall makes the task execute its last syscall again: RAX gets
// the number back and RIP steps back over the 2-byte SYSCALL instruction.
func (t *Task) rewindSyscall() {
	t.Ctx.RAX = uint64(t.RestartNr)
	t.Ctx.RIP -= 2
}

// setSigmask replaces t's signal mask (SIGKILL and SIGSTOP stay unblocked).
func (t *Task) SetSigmask(mask uint64) {
	s := &t.P.Sig
	s.Mu.Lock()
	old := t.Sigmask
	t.Sigmask = mask &^ Unblockable
	t.syncMaskLocked()
	var wake []*Task
	if blocked := s.Pending.Mask & t.Sigmask &^ old; blocked != 0 && t.takeShared {
		wake = t.P.retargetLocked(t, blocked)
	}
	t.checkInterruptLocked()
	s.Mu.Unlock()
	for _, x := range wake {
		t.P.interrupt(x)
	}
}

// setWaitSigmask installs mask for the duration of a wait (rt_sigsuspend,
// ppoll, pselect6, epoll_pwait): Linux's saved_sigmask. Call endWaitSigmask
// when the wait is over.
func (t *Task) SetWaitSigmask(mask uint64) {
	t.P.Sig.Mu.Lock()
	t.savedMask, t.restoreMask = t.Sigmask, true
	t.Sigmask = mask &^ Unblockable
	t.syncMaskLocked()
	t.checkInterruptLocked()
	t.P.Sig.Mu.Unlock()
}

// endWaitSigmask ends a wait begun with setWaitSigmask. After EINTR
// (interrupted) the temporary mask stays until the signals are delivered:
// handlers run with it and their frames record the saved one, which
// rt_sigreturn restores. Otherwise the saved mask is restored at once.
func (t *Task) EndWaitSigmask(interrupted bool) {
	if interrupted {
		return
	}
	t.P.Sig.Mu.Lock()
	if t.restoreMask {
		t.Sigmask, t.restoreMask = t.savedMask, false
		t.syncMaskLocked()
	}
	t.P.Sig.Mu.Unlock()
}

// sendSignal queues info for the process (target nil: kill) or one
// thread (tgkill) and interrupts a thread that can take it. A signal
// whose disposition ignores it is dropped at once unless blocked.
func (p *Process) SendSignal(target *Task, info Siginfo) {
	sig := int(info.Signo)
	s := &p.Sig
	var wake *Task
	s.Mu.Lock()
	if target != nil {
		if target.Exited || s.IgnoredLocked(sig) && target.Sigmask&SigBit(sig) == 0 {
			s.Mu.Unlock()
			return
		}
		target.Pending.add(info)
		if target.Sigmask&SigBit(sig) == 0 {
			wake = target
		}
	} else {
		tasks := p.TaskList()
		if s.IgnoredLocked(sig) && (len(tasks) == 0 || tasks[0].Sigmask&SigBit(sig) == 0) {
			s.Mu.Unlock()
			return
		}
		s.Pending.add(info)
		// One thread that does not block it takes it: the main thread
		// first, then the others (complete_signal).
		for _, t := range tasks {
			if !t.Exited && t.Sigmask&SigBit(sig) == 0 {
				wake = t
				t.takeShared = true
				break
			}
		}
	}
	s.Mu.Unlock()
	if wake != nil {
		p.interrupt(wake)
	}
}

// interrupt makes t act on its signals promptly: it leaves the app, or
// its blocking syscall ends with EINTR.
func (p *Process) interrupt(t *Task) {
	if p.Runner != nil {
		p.Runner.Interrupt(t)
	} else {
		t.Wake()
	}
}

// taskList returns the live tasks by ascending tid.
func (p *Process) TaskList() []*Task {
	p.Mu.Lock()
	l := make([]*Task, 0, len(p.Tasks))
	for _, t := range p.Tasks {
		l = append(l, t)
	}
	p.Mu.Unlock()
	slices.SortFunc(l, func(a, b *Task) int { return a.TID - b.TID })
	return l
}
