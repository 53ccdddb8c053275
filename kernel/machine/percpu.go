package machine

import (
	"github.com/gosv/gosv/internal/bootproto"
	"unsafe"
)

// cpuData is one CPU's private state; the GS base points at it while the
// CPU runs kernel code. Offsets of the first fields are used by assembly
// (trap_amd64.s); layout_test.go checks them.
type cpuData struct {
	self       uintptr // 0: address of this struct
	cur        uintptr // 8: running thread (*thread as uintptr)
	scratch    uintptr // 16: entry scratch
	sysStack   uintptr // 24: top of the syscall stack
	depth      uintptr // 32: nesting of trap/syscall handlers
	id         uintptr // 40: CPU index
	idle       uintptr // 48: this CPU's idle thread
	userRSP    uintptr // 56: scratch for the app's RSP at syscall entry
	kfs        uintptr // 64: FS base used while handlers run (scratch TLS)
	lapicID    uint32
	_          uint32
	ipiPending uint32 // a reschedule IPI is on its way
	_          uint32
	flushSeen  uint64 // last TLB shootdown generation this CPU has applied
	gdt        [8]uint64
	tss        [26]uint32 // 104-byte TSS, 4-byte fields
	ist        [8]uintptr // IST stack tops (index 1..7)
	sliceEnd   uint64     // end of the current thread's time slice (ns)
	profEntry  uint64     // TSC at the last app SYSCALL entry (--syscall-profile)
}

// Offsets used from assembly.
const (
	cpuCur      = 8
	cpuScratch  = 16
	cpuSysStack = 24
	cpuDepth    = 32
	cpuUserRSP  = 56
)

var cpus [MaxCPUs]cpuData

var ncpu = 1

//go:nosplit
func curCPU() *cpuData {
	return (*cpuData)(ptr(gsSelf()))
}

func gsSelf() uintptr

// IST slots.
const (
	istIRQ  = 1 // device and timer interrupts, IPIs
	istExc  = 2 // exceptions other than the ones below
	istPF   = 3 // page faults (may nest inside the two above)
	istDF   = 4
	istNMI  = 5
	istMC   = 6
	stackSz = 8192
)

// allocKernelStack maps n bytes of present stack in the stack area below an
// unmapped guard page and returns the top.
//
//go:nosplit
func allocKernelStack(n uintptr) uintptr {
	vmLock.lock()
	base := nextStack + PageSize // guard page
	nextStack = base + n
	ok := mapPresent(base, n, protRead|protWrite)
	vmLock.unlock()
	if !ok {
		puts("gosv: out of memory allocating a kernel stack\n")
		exitMachine(bootproto.ExitRunnerFailed)
	}
	return base + n
}

var nextStack uintptr = stackAreaBase

// initCPU sets up the descriptor tables, stacks and MSRs of CPU c and
// points GS at it.
//
//go:nosplit
func initCPU(c *cpuData, id int) {
	c.self = uintptr(unsafe.Pointer(c))
	c.id = uintptr(id)
	c.kfs = uintptr(unsafe.Pointer(&scratchTLS)) + 16
	c.sysStack = allocKernelStack(stackSz)
	for i := 1; i <= istMC; i++ {
		c.ist[i] = allocKernelStack(stackSz)
	}
	// GDT (Intel SDM 3.4.5): flat code/data descriptors.
	c.gdt[0] = 0
	c.gdt[1] = 0x00AF9A000000FFFF // kernel code 64
	c.gdt[2] = 0x00CF92000000FFFF // kernel data
	c.gdt[3] = 0x00CFFA000000FFFF // user code 32 (placeholder for STAR)
	c.gdt[4] = 0x00CFF2000000FFFF // user data
	c.gdt[5] = 0x00AFFA000000FFFF // user code 64
	// 64-bit TSS descriptor (SDM 7.2.3).
	tss := uint64(uintptr(unsafe.Pointer(&c.tss[0])))
	limit := uint64(104 - 1)
	c.gdt[6] = limit | (tss&0xFFFFFF)<<16 | 0x89<<40 | ((tss>>24)&0xFF)<<56
	c.gdt[7] = tss >> 32
	// TSS: RSP0 at byte 4, IST1..7 at byte 36 (SDM 7.7).
	setTSS64(c, 4, uint64(c.sysStack))
	for i := 1; i <= 7; i++ {
		setTSS64(c, 36+8*(i-1), uint64(c.ist[i]))
	}
	c.tss[25] = 104 << 16 // I/O map base beyond the limit: no I/O bitmap

	var desc [2]uint64
	desc[0] = uint64(len(c.gdt)*8-1) | uint64(uintptr(unsafe.Pointer(&c.gdt[0])))<<16
	desc[1] = uint64(uintptr(unsafe.Pointer(&c.gdt[0]))) >> 48
	lgdt(uintptr(unsafe.Pointer(&desc[0])))
	ltr(tssSel)
	loadIDT()

	wrmsr(msrGSBase, uint64(c.self))
	wrmsr(msrKernelGSBase, 0)
	// SYSCALL: STAR, LSTAR, FMASK (SDM 5.8.8). FMASK clears IF, TF, DF, AC.
	wrmsr(msrSTAR, uint64(userCode32|3)<<48|uint64(kernelCode)<<32)
	wrmsr(msrLSTAR, uint64(syscallEntryAddr()))
	wrmsr(msrFMASK, 0x47700)
	// IA32_TSC_AUX holds the CPU number, which RDTSCP returns in ECX: the
	// vDSO's getcpu reads it without a trap (Linux does the same).
	if _, _, _, d := cpuid(0x80000001, 0); d&(1<<27) != 0 {
		wrmsr(msrTSCAux, uint64(id))
		hasRDTSCP = true
	}
}

// hasRDTSCP says that the CPU has RDTSCP and IA32_TSC_AUX holds the CPU
// number.
var hasRDTSCP bool

//go:nosplit
func setTSS64(c *cpuData, off int, v uint64) {
	c.tss[off/4] = uint32(v)
	c.tss[off/4+1] = uint32(v >> 32)
}

const (
	msrEFER         = 0xC0000080
	msrSTAR         = 0xC0000081
	msrLSTAR        = 0xC0000082
	msrFMASK        = 0xC0000084
	msrFSBase       = 0xC0000100
	msrGSBase       = 0xC0000101
	msrKernelGSBase = 0xC0000102
	msrAPICBase     = 0x1B
	msrTSCDeadline  = 0x6E0
	msrTSCAux       = 0xC0000103
)
