package task

import (
	"sync"

	"github.com/gosv/gosv/kernel/machine"
	"golang.org/x/sys/unix"
)

const (
	// cloneThread must all be present: a thread sharing memory and
	// signal handlers with the caller.
	CloneThread = unix.CLONE_VM | unix.CLONE_SIGHAND | unix.CLONE_THREAD
	// cloneAllowed may be present; CLONE_FS and CLONE_FILES are what every
	// thread library asks for, and a thread without them still shares the
	// working directory and the fd table here.
	cloneAllowed = CloneThread | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SYSVSEM |
		unix.CLONE_SETTLS | unix.CLONE_PARENT_SETTID | unix.CLONE_CHILD_CLEARTID |
		unix.CLONE_CHILD_SETTID | unix.CLONE_DETACHED | unix.CLONE_UNTRACED |
		unix.CLONE_PTRACE | unix.CLONE_IO | unix.CLONE_PARENT
	Csignal = 0xff // the exit signal in clone's flags
)

// cloneArgs are the arguments of clone and clone3 (struct clone_args).
type CloneArgs struct {
	Flags      uint64
	ExitSignal uint64
	Stack      uint64 // the child's stack pointer; 0: the parent's
	ParentTID  uintptr
	ChildTID   uintptr
	Tls        uint64
}

// struct clone_args (linux/sched.h): flags, pidfd, child_tid, parent_tid,
// exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup.
const (
	CloneArgsSizeVer0 = 64
	CloneArgsSizeMax  = 88
)

var (
	CloneLogMu sync.Mutex
	CloneLog   = map[string]bool{}
)

// cloneUnsupported logs once per kind a clone the kernel cannot serve.
func (p *Process) CloneUnsupported(what string) {
	CloneLogMu.Lock()
	defer CloneLogMu.Unlock()
	if !CloneLog[what] {
		CloneLog[what] = true
		p.Logf("gosv: unsupported clone: %s: ENOSYS", what)
	}
}

// clone creates a thread: a new Task with a copy of the caller's
// registers and FPU state, RAX = 0, the new stack and TLS, the caller's
// signal mask and no alternate stack, started on its own goroutine.
func (t *Task) Clone(ca CloneArgs) (uintptr, error) {
	f := ca.Flags
	// copy_process's consistency checks.
	if f&(unix.CLONE_NEWNS|unix.CLONE_FS) == unix.CLONE_NEWNS|unix.CLONE_FS ||
		f&(unix.CLONE_NEWUSER|unix.CLONE_FS) == unix.CLONE_NEWUSER|unix.CLONE_FS ||
		f&unix.CLONE_THREAD != 0 && f&unix.CLONE_SIGHAND == 0 ||
		f&unix.CLONE_SIGHAND != 0 && f&unix.CLONE_VM == 0 {
		return 0, unix.EINVAL
	}
	switch {
	case f&unix.CLONE_VFORK != 0:
		t.P.CloneUnsupported("vfork (a new process)")
		return 0, unix.ENOSYS
	case f&unix.CLONE_VM == 0:
		t.P.CloneUnsupported("fork (a new process)")
		return 0, unix.ENOSYS
	case f&CloneThread != CloneThread:
		t.P.CloneUnsupported("a new process sharing memory (CLONE_VM without CLONE_THREAD)")
		return 0, unix.ENOSYS
	case f&^cloneAllowed != 0:
		t.P.CloneUnsupported("thread with namespace, pidfd or cgroup flags")
		return 0, unix.ENOSYS
	}
	if f&unix.CLONE_SETTLS != 0 && ca.Tls >= AppLimit {
		return 0, unix.EPERM
	}

	p := t.P
	child := &Task{P: p, Ctx: cloneContext(t.Ctx)}
	c := child.Ctx
	c.RAX = 0
	if ca.Stack != 0 {
		c.RSP = ca.Stack
	}
	if f&unix.CLONE_SETTLS != 0 {
		c.FSBase = ca.Tls
	}
	if f&unix.CLONE_CHILD_CLEARTID != 0 {
		child.ClearTID = ca.ChildTID
	}
	p.Sig.Mu.Lock()
	child.Sigmask = t.Sigmask
	p.Sig.Mu.Unlock()

	child.misc = newTaskState()
	if err := p.addThread(child); err != nil {
		return 0, err
	}

	// Linux ignores faults on these two writes.
	if f&unix.CLONE_PARENT_SETTID != 0 {
		t.WriteU32(ca.ParentTID, uint32(child.TID))
	}
	if f&unix.CLONE_CHILD_SETTID != 0 {
		t.WriteU32(ca.ChildTID, uint32(child.TID))
	}
	StartTask(child)
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
