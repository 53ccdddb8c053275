package task

import (
	"fmt"
	"time"

	knet "github.com/gosv/gosv/kernel/net"
	unixsock "github.com/gosv/gosv/kernel/net/unix"
	"gvisor.dev/gvisor/pkg/tcpip/stack"

	"sort"
	"sync"

	"github.com/gosv/gosv/kernel/machine"
)

// Kernel is what every process of the VM shares: the PID table (Linux's
// single PID namespace: thread ids and process ids come from one counter)
// and the process tree. A process is one of several: nothing assumes
// there is only the first one, whose pid is 1 and whose exit status is the
// VM's.
type Kernel struct {
	Plat Platform // the machine under the kernel objects

	mu      sync.Mutex
	lastID  int              // the last id handed out
	tasks   map[int]*Task    // every live thread by tid
	procs   map[int]*Process // every process (thread group) by pid, zombies included
	initPID int              // the first process (pid 1)
	net     sockets          // the network stack and AF_UNIX names (socket_file.go)
}

// Platform is what the kernel objects need of the machine they run on:
// the clock, the CPUs, memory figures, the CPU features for auxv, and how
// app threads enter the app. The kernel passes MachinePlatform (package
// machine); host tests use HostPlatform.
type Platform struct {
	Nanotime   func() int64 // monotonic clock, ns since boot
	NumCPU     int          // CPUs the app sees
	CurrentCPU func() int   // the CPU the caller runs on (getcpu)
	CPUMHz     float64      // /proc/cpuinfo's "cpu MHz"
	MemInfo    func() MemStats
	// HWCap and HWCap2 are the AT_HWCAP and AT_HWCAP2 values
	// (CPUID.1:EDX on x86).
	HWCap, HWCap2 uint64
	// NewContext makes the register state of a new app thread.
	NewContext func(rip, rsp uint64) *machine.AppContext
	// Runner enters the app for a task until its next event.
	Runner Runner
	// Mem and Pager reach and edit the app's address space.
	Mem   Mem
	Pager Pager
	// VDSO is the vDSO image (kernel/vdso) that exec maps into every app
	// and names in AT_SYSINFO_EHDR; nil: none.
	VDSO []byte
}

// hostBoot is the boot time of HostPlatform's clock.
var hostBoot = time.Now()

// HostPlatform is a platform for running the kernel objects on a host (in
// tests): a clock since the program started, one CPU, 1 GiB of memory.
func HostPlatform() Platform {
	return Platform{
		Nanotime:   func() int64 { return int64(time.Since(hostBoot)) },
		NumCPU:     1,
		CurrentCPU: func() int { return 0 },
		CPUMHz:     2000,
		MemInfo: func() MemStats {
			return MemStats{Total: 1 << 30, Free: 768 << 20, Available: 768 << 20}
		},
		NewContext: machine.NewAppContext,
	}
}

// NewKernel returns a kernel on platform p with no process.
func NewKernel(p Platform) *Kernel {
	return &Kernel{Plat: p, tasks: map[int]*Task{}, procs: map[int]*Process{}}
}

// nanotime is the platform's monotonic clock.
func (k *Kernel) Nanotime() int64 { return k.Plat.Nanotime() }

// pidMax is /proc/sys/kernel/pid_max: ids wrap around below it.
const pidMax = 1 << 22

// allocID returns a free id (pid or tid) and registers t under it. The
// first id is 1.
func (k *Kernel) allocID(t *Task) int {
	k.mu.Lock()
	defer k.mu.Unlock()
	for {
		k.lastID++
		if k.lastID >= pidMax {
			k.lastID = 300 // Linux's RESERVED_PIDS
		}
		if _, used := k.tasks[k.lastID]; used {
			continue
		}
		if _, used := k.procs[k.lastID]; used {
			continue
		}
		k.tasks[k.lastID] = t
		return k.lastID
	}
}

// releaseID forgets thread id tid.
func (k *Kernel) releaseID(tid int) {
	k.mu.Lock()
	delete(k.tasks, tid)
	k.mu.Unlock()
}

// TaskByID returns the live thread with id tid, or nil.
func (k *Kernel) TaskByID(tid int) *Task {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.tasks[tid]
}

// Process returns the process with id pid, or nil.
func (k *Kernel) Process(pid int) *Process {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.procs[pid]
}

// PIDs lists the ids of every process, ascending.
func (k *Kernel) PIDs() []int {
	k.mu.Lock()
	defer k.mu.Unlock()
	out := make([]int, 0, len(k.procs))
	for pid := range k.procs {
		out = append(out, pid)
	}
	sort.Ints(out)
	return out
}

// LastID is the id most recently handed out (/proc/loadavg's last pid).
func (k *Kernel) LastID() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.lastID
}

// Threads counts the live threads of every process (sysinfo's procs).
func (k *Kernel) Threads() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.tasks)
}

// addProcess registers p under its pid, as a child of parent (nil for the
// first process).
func (k *Kernel) addProcess(p *Process, parent *Process) {
	k.mu.Lock()
	k.procs[p.pid] = p
	if k.initPID == 0 {
		k.initPID = p.pid
	}
	k.mu.Unlock()
	if parent != nil {
		parent.Mu.Lock()
		parent.children[p.pid] = p
		parent.Mu.Unlock()
		p.parent = parent
	}
}

// removeProcess forgets p once it has been reaped (or, for the first
// process, once the VM ends with it).
func (k *Kernel) removeProcess(p *Process) {
	k.mu.Lock()
	delete(k.procs, p.pid)
	k.mu.Unlock()
	if parent := p.parent; parent != nil {
		parent.Mu.Lock()
		delete(parent.children, p.pid)
		parent.Mu.Unlock()
	}
}

// sockets is what every process of a kernel shares: the network stack
// and the AF_UNIX namespace.
type sockets struct {
	once  sync.Once
	stack *stack.Stack
	unix  *unixsock.Namespace
}

// SetNetStack gives the kernel its network stack (kernel/net sets it up
// with the NICs of the VM). Without one, the first socket gets a stack
// with only the loopback interface.
func (k *Kernel) SetNetStack(s *stack.Stack) {
	k.net.once.Do(func() {})
	k.net.stack = s
}

func (k *Kernel) NetStack() *stack.Stack {
	k.net.once.Do(func() {
		st, err := knet.NewStack(knet.Options{})
		if err != nil {
			panic(fmt.Sprintf("network stack: %v", err)) // only a programming error fails here
		}
		k.net.stack = st.S
	})
	return k.net.stack
}

func (k *Kernel) UnixNamespace() *unixsock.Namespace {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.net.unix == nil {
		k.net.unix = unixsock.NewNamespace()
	}
	return k.net.unix
}
