package linux

import (
	"fmt"
	"io"
	"sync"

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

// Process is the one app gosv runs: its address space, files, threads
// and signal dispositions. Its pid is 1.
type Process struct {
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

	mu      sync.Mutex
	tasks   map[int]*Task
	nextTID int
	exiting bool
	status  int
	done    chan struct{}

	sig signalState
}

// NewProcess creates an empty process over fsys.
func NewProcess(fsys *vfs.FS, mem Mem, pager Pager, runner Runner, log io.Writer) *Process {
	return &Process{
		FS: fsys, MM: NewMM(pager, mem), FDs: NewFDTable(), Mem: mem, Runner: runner, Log: log,
		tasks: map[int]*Task{}, nextTID: 1, done: make(chan struct{}),
	}
}

func (p *Process) logf(format string, args ...any) {
	if p.Log != nil {
		fmt.Fprintf(p.Log, format+"\n", args...)
	}
}

// Pid is the process id the app sees.
func (p *Process) Pid() int { return 1 }

// newTask registers a task with a fresh tid (the first is 1 = pid).
func (p *Process) newTask() *Task {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := &Task{P: p, TID: p.nextTID}
	p.nextTID++
	p.tasks[t.TID] = t
	return t
}

// Task returns the task with tid, or nil.
func (p *Process) Task(tid int) *Task {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tasks[tid]
}

// Exit ends the process with status (exit_group, or 128+N for a fatal
// signal N). The first call wins; every task stops at its next kernel entry.
func (p *Process) Exit(status int) {
	p.mu.Lock()
	if p.exiting {
		p.mu.Unlock()
		return
	}
	p.exiting, p.status = true, status
	tasks := make([]*Task, 0, len(p.tasks))
	for _, t := range p.tasks {
		tasks = append(tasks, t)
	}
	p.mu.Unlock()
	for _, t := range tasks {
		if p.Runner != nil {
			p.Runner.Interrupt(t)
		}
	}
	close(p.done)
}

// Exiting reports whether the process is being torn down.
func (p *Process) Exiting() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exiting
}

// Wait blocks until the process exits and returns its status.
func (p *Process) Wait() int {
	<-p.done
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status
}

// taskExit removes t; the last task leaving ends the process with status.
func (p *Process) taskExit(t *Task, status int) {
	p.mu.Lock()
	delete(p.tasks, t.TID)
	last := len(p.tasks) == 0
	p.mu.Unlock()
	if last {
		p.Exit(status)
	}
}
