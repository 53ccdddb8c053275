package task

import (
	"fmt"
	"io"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/gosv/gosv/kernel/vfs"
)

// Mem reads and writes app memory. The kernel's implementation uses
// machine.CopyIn/CopyOut; tests use a fake.
type Mem interface {
	CopyIn(dst []byte, addr uintptr) error  // EFAULT when unmapped
	CopyOut(addr uintptr, src []byte) error // EFAULT when unmapped or read-only
}

// Pager edits the app's page tables: demand-zero mappings with PROT_* bits.
type Pager interface {
	Map(addr, n uintptr, prot int) error
	Unmap(addr, n uintptr) error
	Protect(addr, n uintptr, prot int) error
}

// Runner enters the app for one task until its next event (machine.RunApp).
type Runner interface {
	Run(t *Task)
	// Interrupt makes a task running app code come back with an interrupt
	// event soon.
	Interrupt(t *Task)
}

// Process is a thread group: an address space, files, threads and signal
// dispositions. The first one (pid 1) is the app gosv was asked to run.
type Process struct {
	K      *Kernel
	FS     *vfs.FS
	MM     *MM
	FDs    *FDTable
	Mem    Mem
	Runner Runner
	Log    io.Writer // kernel diagnostics (the console)
	Strace bool      // log every syscall

	Argv, Envp []string
	ExePath    string // absolute guest path of the executable (/proc/self/exe)
	exeBase    uint64 // load bias of the executable (PIE)
	symOnce    sync.Once
	syms       *Symbols

	Mu       sync.Mutex
	pid      int
	parent   *Process         // nil for the first process
	children map[int]*Process // by pid, guarded by mu
	Tasks    map[int]*Task    // live threads by tid
	exiting  bool
	status   int
	done     chan struct{}

	Sig signalState
	res procState // credentials, rlimits, nice, personality... (sys_res.go)
}

// NewProcess creates an empty first process over fsys in a new kernel.
func NewProcess(fsys *vfs.FS, mem Mem, pager Pager, runner Runner, log io.Writer) *Process {
	return NewKernel(HostPlatform()).NewProcess(fsys, mem, pager, runner, log)
}

// NewProcess creates an empty process over fsys with no parent. Its pid is
// the id of its first thread (newTask), so it holds none until then.
func (k *Kernel) NewProcess(fsys *vfs.FS, mem Mem, pager Pager, runner Runner, log io.Writer) *Process {
	return &Process{
		K:  k,
		FS: fsys, MM: NewMM(pager, mem), FDs: NewFDTable(), Mem: mem, Runner: runner, Log: log,
		Tasks: map[int]*Task{}, children: map[int]*Process{}, done: make(chan struct{}),
		res: newProcState(),
	}
}

func (p *Process) Logf(format string, args ...any) {
	if p.Log != nil {
		fmt.Fprintf(p.Log, format+"\n", args...)
	}
}

// Pid is the process id (the thread-group id: its first thread's id).
func (p *Process) Pid() int {
	p.Mu.Lock()
	defer p.Mu.Unlock()
	return p.pid
}

// Parent is the parent process, nil for the first one.
func (p *Process) Parent() *Process { return p.parent }

// newTask registers a task with a fresh tid. The first task of a process
// is its leader: its tid is the pid, and the process joins the kernel's
// process table.
func (p *Process) NewTask() *Task {
	t := &Task{P: p, misc: newTaskState()}
	t.TID = p.K.allocID(t)
	p.Mu.Lock()
	first := p.pid == 0
	if first {
		p.pid = t.TID
	}
	p.Tasks[t.TID] = t
	p.Mu.Unlock()
	if first {
		p.K.addProcess(p, nil)
	}
	return t
}

// addThread registers child, a new thread of p (clone with CLONE_THREAD);
// EAGAIN when the process is exiting.
func (p *Process) addThread(child *Task) error {
	p.Mu.Lock()
	if p.exiting {
		p.Mu.Unlock()
		return errExiting
	}
	p.Mu.Unlock()
	child.TID = p.K.allocID(child)
	p.Mu.Lock()
	defer p.Mu.Unlock()
	if p.exiting {
		p.K.releaseID(child.TID)
		return errExiting
	}
	p.Tasks[child.TID] = child
	return nil
}

// Task returns the task with tid, or nil.
func (p *Process) Task(tid int) *Task {
	p.Mu.Lock()
	defer p.Mu.Unlock()
	return p.Tasks[tid]
}

// Exit ends the process with status (exit_group, or 128+N for a fatal
// signal N). The first call wins; every task stops at its next kernel entry.
func (p *Process) Exit(status int) {
	p.Mu.Lock()
	if p.exiting {
		p.Mu.Unlock()
		return
	}
	p.exiting, p.status = true, status
	tasks := make([]*Task, 0, len(p.Tasks))
	for _, t := range p.Tasks {
		tasks = append(tasks, t)
	}
	p.Mu.Unlock()
	for _, t := range tasks {
		if p.Runner != nil {
			p.Runner.Interrupt(t)
		}
	}
	close(p.done)
}

// Exiting reports whether the process is being torn down.
func (p *Process) Exiting() bool {
	p.Mu.Lock()
	defer p.Mu.Unlock()
	return p.exiting
}

// Wait blocks until the process exits and returns its status.
func (p *Process) Wait() int {
	<-p.done
	p.Mu.Lock()
	defer p.Mu.Unlock()
	return p.status
}

// taskExit removes t; the last task leaving ends the process with status.
func (p *Process) taskExit(t *Task, status int) {
	p.Mu.Lock()
	delete(p.Tasks, t.TID)
	last := len(p.Tasks) == 0
	p.Mu.Unlock()
	p.K.releaseID(t.TID)
	if last {
		p.Exit(status)
	}
}

// errExiting is the error of adding a thread to a dying process.
var errExiting = unix.EAGAIN
