package task

import (
	"math"
	"sync"

	"golang.org/x/sys/unix"
)

// MemStats are the machine's memory figures, in bytes (sysinfo(2),
// /proc/meminfo, the size of the root tmpfs).
type MemStats struct {
	Total, Free, Available, Buffers, Cached uint64
}

// procState is the per-process state of the misc and resource families.
type procState struct {
	Mu          sync.Mutex
	Rlim        [RlimCount]Rlimit
	Cred        Creds
	Nice        int // PRIO_PROCESS, -20..19
	Ioprio      int
	Personality uint32
	Dumpable    int
	NoNewPrivs  bool
	Subreaper   bool
	ThpDisable  bool
	Membarrier  uint32 // registered MEMBARRIER_CMD_REGISTER_* commands
}

// newProcState is the state of a process at start: root's credentials,
// dumpable, the default limits.
func newProcState() procState {
	return procState{Dumpable: 1, Cred: rootCreds, Rlim: defaultRlimits}
}

// state is the process's resource, credential and misc state.
func (p *Process) State() *procState { return &p.res }

const (
	RlimCount    = 16 // RLIM_NLIMITS
	RlimInfinity = math.MaxUint64
	NrOpen       = 1 << 20 // fs.nr_open: the largest RLIMIT_NOFILE
)

type Rlimit struct{ Cur, Max uint64 }

// defaultRlimits are the limits of the app at start: Linux's init limits,
// with an unlimited address space and process count.
var defaultRlimits = func() [RlimCount]Rlimit {
	var r [RlimCount]Rlimit
	for i := range r {
		r[i] = Rlimit{RlimInfinity, RlimInfinity}
	}
	r[unix.RLIMIT_STACK] = Rlimit{StackSize, RlimInfinity}
	r[unix.RLIMIT_CORE] = Rlimit{0, RlimInfinity}
	r[unix.RLIMIT_NOFILE] = Rlimit{1024, 1024}
	r[unix.RLIMIT_MEMLOCK] = Rlimit{8 << 20, 8 << 20}
	r[unix.RLIMIT_MSGQUEUE] = Rlimit{819200, 819200}
	r[unix.RLIMIT_NICE] = Rlimit{0, 0}
	r[unix.RLIMIT_RTPRIO] = Rlimit{0, 0}
	return r
}()

// Capabilities (capabilities(7)): the app starts as root with all of them.
const (
	CapLastCap     = 40 // CAP_CHECKPOINT_RESTORE
	CapAll         = uint64(1)<<(CapLastCap+1) - 1
	CapSetgid      = 6
	CapSetuid      = 7
	capSysNice     = 23
	capSysResource = 24
)

// creds are the process's credentials (credentials(7)). Linux keeps them
// per thread; glibc makes every thread change them together.
type Creds struct {
	Uid, Euid, Suid, Fsuid  uint32
	Gid, Egid, Sgid, Fsgid  uint32
	Groups                  []uint32
	CapEff, CapPerm, CapInh uint64
	KeepCaps                bool // PR_SET_KEEPCAPS
}

func (c *Creds) Capable(cap int) bool { return c.CapEff&(1<<cap) != 0 }

var rootCreds = Creds{CapEff: CapAll, CapPerm: CapAll}

// taskState is the per-thread state of the misc family.
type taskState struct {
	Mu         sync.Mutex
	Comm       string
	Named      bool
	Pdeathsig  int
	Timerslack uint64
}

// newTaskState is the misc state of a new thread (timer slack 50 µs).
func newTaskState() taskState { return taskState{Timerslack: 50000} }

func (t *Task) MiscState() *taskState { return &t.misc }

func (p *Process) MiscState() *procState { return p.State() }
