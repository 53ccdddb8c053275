package linux

import (
	"sync"

	"github.com/gosv/gosv/kernel/machine"
	"golang.org/x/sys/unix"
)

// Threads: clone(2) and clone3(2) with the flag set of pthread_create and
// of the Go runtime. A new process (fork, vfork, posix_spawn's
// CLONE_VM|CLONE_VFORK) cannot exist in a unikernel: ENOSYS, logged once.
func init() {
	registerPartial(unix.SYS_CLONE, "clone", "threads (CLONE_THREAD|CLONE_VM|...) only: a new process (fork) and namespaces are ENOSYS", sysClone)
	registerPartial(unix.SYS_CLONE3, "clone3", "threads only, as clone; set_tid is ENOSYS", sysClone3)
}

const (
	// cloneThread must all be present: a thread sharing memory and
	// signal handlers with the caller.
	cloneThread = unix.CLONE_VM | unix.CLONE_SIGHAND | unix.CLONE_THREAD
	// cloneAllowed may be present; CLONE_FS and CLONE_FILES are what every
	// thread library asks for, and a thread without them still shares the
	// working directory and the fd table here.
	cloneAllowed = cloneThread | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SYSVSEM |
		unix.CLONE_SETTLS | unix.CLONE_PARENT_SETTID | unix.CLONE_CHILD_CLEARTID |
		unix.CLONE_CHILD_SETTID | unix.CLONE_DETACHED | unix.CLONE_UNTRACED |
		unix.CLONE_PTRACE | unix.CLONE_IO | unix.CLONE_PARENT
	csignal = 0xff // the exit signal in clone's flags
)

// cloneArgs are the arguments of clone and clone3 (struct clone_args).
type cloneArgs struct {
	flags      uint64
	exitSignal uint64
	stack      uint64 // the child's stack pointer; 0: the parent's
	parentTID  uintptr
	childTID   uintptr
	tls        uint64
}

// clone(flags, stack, parent_tid, child_tid, tls) on x86-64.
func sysClone(t *Task, a Args) (uintptr, error) {
	return t.clone(cloneArgs{
		flags: uint64(a[0]) &^ csignal, exitSignal: uint64(a[0]) & csignal,
		stack: uint64(a[1]), parentTID: a[2], childTID: a[3], tls: uint64(a[4]),
	})
}

// struct clone_args (linux/sched.h): flags, pidfd, child_tid, parent_tid,
// exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup.
const (
	cloneArgsSizeVer0 = 64
	cloneArgsSizeMax  = 88
)

// clone3(args, size).
func sysClone3(t *Task, a Args) (uintptr, error) {
	size := a[1]
	if size > pageSize {
		return 0, unix.E2BIG
	}
	if size < cloneArgsSizeVer0 {
		return 0, unix.EINVAL
	}
	b := make([]byte, max(size, cloneArgsSizeMax))
	if err := t.CopyIn(b[:size], a[0]); err != nil {
		return 0, err
	}
	for _, x := range b[cloneArgsSizeMax:] {
		if x != 0 {
			return 0, unix.E2BIG
		}
	}
	u := func(i int) uint64 { return le.Uint64(b[8*i:]) }
	flags, exitSignal, stack, stackSize := u(0), u(4), u(5), u(6)
	setTID, setTIDSize := u(8), u(9)
	if flags&(unix.CLONE_DETACHED|csignal) != 0 || exitSignal&^csignal != 0 || exitSignal > numSignals {
		return 0, unix.EINVAL
	}
	if stack == 0 && stackSize != 0 || stack != 0 && stackSize == 0 {
		return 0, unix.EINVAL
	}
	if setTIDSize != 0 || setTID != 0 {
		t.P.cloneUnsupported("clone3 with set_tid")
		return 0, unix.ENOSYS
	}
	sp := uint64(0)
	if stack != 0 {
		sp = stack + stackSize
	}
	return t.clone(cloneArgs{flags: flags, exitSignal: exitSignal, stack: sp,
		parentTID: uintptr(u(3)), childTID: uintptr(u(2)), tls: u(7)})
}

var (
	cloneLogMu sync.Mutex
	cloneLog   = map[string]bool{}
)

// cloneUnsupported logs once per kind a clone the kernel cannot serve.
func (p *Process) cloneUnsupported(what string) {
	cloneLogMu.Lock()
	defer cloneLogMu.Unlock()
	if !cloneLog[what] {
		cloneLog[what] = true
		p.logf("gosv: unsupported clone: %s: ENOSYS", what)
	}
}

// clone creates a thread: a new Task with a copy of the caller's
// registers and FPU state, RAX = 0, the new stack and TLS, the caller's
// signal mask and no alternate stack, started on its own goroutine.
func (t *Task) clone(ca cloneArgs) (uintptr, error) {
	f := ca.flags
	// copy_process's consistency checks.
	if f&(unix.CLONE_NEWNS|unix.CLONE_FS) == unix.CLONE_NEWNS|unix.CLONE_FS ||
		f&(unix.CLONE_NEWUSER|unix.CLONE_FS) == unix.CLONE_NEWUSER|unix.CLONE_FS ||
		f&unix.CLONE_THREAD != 0 && f&unix.CLONE_SIGHAND == 0 ||
		f&unix.CLONE_SIGHAND != 0 && f&unix.CLONE_VM == 0 {
		return 0, unix.EINVAL
	}
	switch {
	case f&unix.CLONE_VFORK != 0:
		t.P.cloneUnsupported("vfork (a new process)")
		return 0, unix.ENOSYS
	case f&unix.CLONE_VM == 0:
		t.P.cloneUnsupported("fork (a new process)")
		return 0, unix.ENOSYS
	case f&cloneThread != cloneThread:
		t.P.cloneUnsupported("a new process sharing memory (CLONE_VM without CLONE_THREAD)")
		return 0, unix.ENOSYS
	case f&^cloneAllowed != 0:
		t.P.cloneUnsupported("thread with namespace, pidfd or cgroup flags")
		return 0, unix.ENOSYS
	}
	if f&unix.CLONE_SETTLS != 0 && ca.tls >= AppLimit {
		return 0, unix.EPERM
	}

	p := t.P
	child := &Task{P: p, Ctx: cloneContext(t.Ctx)}
	c := child.Ctx
	c.RAX = 0
	if ca.stack != 0 {
		c.RSP = ca.stack
	}
	if f&unix.CLONE_SETTLS != 0 {
		c.FSBase = ca.tls
	}
	if f&unix.CLONE_CHILD_CLEARTID != 0 {
		child.clearTID = ca.childTID
	}
	p.sig.mu.Lock()
	child.sigmask = t.sigmask
	p.sig.mu.Unlock()

	child.misc = newTaskState()
	if err := p.addThread(child); err != nil {
		return 0, err
	}

	// Linux ignores faults on these two writes.
	if f&unix.CLONE_PARENT_SETTID != 0 {
		t.WriteU32(ca.parentTID, uint32(child.TID))
	}
	if f&unix.CLONE_CHILD_SETTID != 0 {
		t.WriteU32(ca.childTID, uint32(child.TID))
	}
	startTask(child)
	return uintptr(child.TID), nil
}

// cloneContext returns a new context with src's registers, segment bases
// and FPU image (the FPU image sits at its own 64-byte boundary in each
// context, hence CopyFPU).
func cloneContext(src *machine.AppContext) *machine.AppContext {
	c := new(machine.AppContext)
	c.R15, c.R14, c.R13, c.R12, c.R11, c.R10, c.R9, c.R8 = src.R15, src.R14, src.R13, src.R12, src.R11, src.R10, src.R9, src.R8
	c.RBP, c.RDI, c.RSI, c.RDX, c.RCX, c.RBX, c.RAX = src.RBP, src.RDI, src.RSI, src.RDX, src.RCX, src.RBX, src.RAX
	c.RIP, c.CS, c.RFLAGS, c.RSP, c.SS = src.RIP, src.CS, src.RFLAGS, src.RSP, src.SS
	c.FSBase, c.GSBase = src.FSBase, src.GSBase
	c.CopyFPU(src)
	return c
}
