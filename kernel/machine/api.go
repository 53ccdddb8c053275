package machine

import (
	"math/bits"
	"sync/atomic"
	"unsafe"
)

// This file is the narrow API level 1 uses. Functions here are ordinary Go
// called from goroutines; they reach level-0 state without privileged
// instructions or through private syscalls.

// Cmdline returns the kernel command line given by the boot loader.
func Cmdline() string {
	return unsafe.String(&cmdlineBuf[0], cmdlineLen)
}

// Initrd returns the initrd module (a newc cpio archive), or nil. The slice
// aliases physical memory reserved at boot.
func Initrd() []byte {
	if initrdSize == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(ptr(phys2virt(initrdPhys))), initrdSize)
}

// Exit powers the machine off with the given exit status (0-255).
func Exit(status int) {
	exitMachine(status)
}

// Stage is a named boot milestone with its time in ns since kernel entry.
type Stage struct {
	Name string
	NS   uint64
}

// Milestones are recorded as raw TSC values (the first ones predate TSC
// calibration) and converted when read. Level 0 records a stage number
// (no pointer stores); level 1 records names.
const (
	stEntry = iota
	stClock
	stCPU
	stSMP
	stRuntime
	nLevel0Stages
)

var (
	level0Stages = [nLevel0Stages]string{"entry", "clock", "cpu", "smp", "runtime"}
	level0TSC    [nLevel0Stages]uint64
	stageMu      spinlock
	stages1      []Stage // level-1 marks; NS holds the raw TSC until read
)

//go:nosplit
func mark(id int) {
	if id >= 0 && id < len(level0TSC) {
		level0TSC[id] = rdtsc()
	}
}

//go:nosplit
func tscToNS(t uint64) uint64 {
	hi, lo := bits.Mul64(t-bootTSC, tscMult)
	return hi<<32 | lo>>32
}

// Mark records a boot milestone for the bootchart.
func Mark(name string) {
	t := rdtsc()
	stageMu.lock()
	stages1 = append(stages1, Stage{name, t})
	stageMu.unlock()
}

// Stages returns the milestones recorded so far, in order, with times in
// ns since kernel entry.
func Stages() []Stage {
	var s []Stage
	for i, name := range level0Stages {
		s = append(s, Stage{name, tscToNS(level0TSC[i])})
	}
	stageMu.lock()
	for _, st := range stages1 {
		s = append(s, Stage{st.Name, tscToNS(st.NS)})
	}
	stageMu.unlock()
	return s
}

// NCPU is the number of CPUs running.
func NCPU() int { return ncpu }

// HasRDRAND reports whether the CPU has RDRAND (getrandom's source).
func HasRDRAND() bool {
	_, _, c, _ := cpuid(1, 0)
	return c&(1<<30) != 0
}

// Walltime returns the Unix time in nanoseconds.
func Walltime() int64 { return walltime() }

// Threads reports the number of kernel threads.
func Threads() int { return int(atomic.LoadInt64(&nThreads)) }

// Fault deliberately triggers a CPU exception in kernel code, for testing
// the crash report: kind "pf" (page fault on an unmapped kernel address),
// "ud" (invalid opcode), "gp" (non-canonical address).
func Fault(kind string) {
	switch kind {
	case "ud":
		ud2()
	case "gp":
		faultSink = load64(0x8000_0000_0000_0000)
	default:
		faultSink = load64(0x7fff_0000_0000)
	}
}

func ud2()

var faultSink uint64

// Counters of level-0 events, for diagnostics and tests.
var (
	nTimerIRQ  uint64
	nSyscalls  uint64
	nSwitches  uint64
	nPageFault uint64
)

// Counters returns timer interrupts, runtime syscalls, context switches
// and page faults since boot.
func Counters() (timer, syscalls, switches, faults uint64) {
	return nTimerIRQ, nSyscalls, nSwitches, nPageFault
}

// HWCap is the AT_HWCAP value for the app: CPUID.1:EDX (Linux on x86).
func HWCap() uint64 {
	_, _, _, d := cpuid(1, 0)
	return uint64(d)
}
