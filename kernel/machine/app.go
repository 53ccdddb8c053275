package machine

import (
	"sync/atomic"
	"syscall"
	"unsafe"
)

// AppContext is the state of one app thread (level 1 owns it; it must be
// heap-allocated so that it does not move while the app runs). RunApp
// loads it into the CPU and drops to ring 3; when the app makes a syscall,
// faults or is interrupted, RunApp stores the state back and returns.
//
// The register fields follow the order of frame (trap.go); FPU holds an
// XSAVE (or FXSAVE) image at the first 64-byte boundary inside it.
type AppContext struct {
	R15, R14, R13, R12, R11, R10, R9, R8, RBP, RDI uint64
	RSI, RDX, RCX, RBX, RAX                        uint64
	Vector, Err                                    uint64 // out: what ended the run (see Event*)
	RIP, CS, RFLAGS, RSP, SS                       uint64
	FSBase, GSBase                                 uint64
	CR2                                            uint64 // out: faulting address of a page fault
	Kick                                           uint32 // set by Interrupt: come back with EventInterrupt
	_                                              uint32
	prof                                           profStamps // --syscall-profile
	FPU                                            [4096 + 64]byte
}

// Values of AppContext.Vector after RunApp: a CPU exception vector (0-31),
// or one of these.
const (
	EventSyscall   = vecAppSyscall // the app executed SYSCALL; RAX holds the number
	EventInterrupt = 258           // Interrupt asked the thread to come back
)

// NewAppContext returns a context with a clean FPU state and the given
// entry point and stack.
func NewAppContext(rip, rsp uint64) *AppContext {
	c := new(AppContext)
	c.RIP, c.RSP = rip, rsp
	c.RFLAGS = 0x202
	copyWords(c.fpuArea(), fpuInit, xsaveLen/8)
	return c
}

// CopyFPU copies the FPU image of src into c (clone(2) children start with
// the parent's FPU state). Nosplit: the level-0 guard exempts exported
// functions, not methods.
//
//go:nosplit
func (c *AppContext) CopyFPU(src *AppContext) {
	copyWords(c.fpuArea(), src.fpuArea(), xsaveLen/8)
}

//go:nosplit
func (c *AppContext) fpuArea() uintptr {
	return (uintptr(unsafe.Pointer(&c.FPU[0])) + 63) &^ 63
}

// FPUImage returns the FPU image of c: the bytes of c.FPU from its first
// 64-byte boundary (at least 4096). The image proper is its first
// FPULayout() size bytes; level 1 reads and rewrites it for signal frames.
//
//go:nosplit
func (c *AppContext) FPUImage() []byte {
	off := (c.fpuArea() - uintptr(unsafe.Pointer(&c.FPU[0]))) & 63
	return c.FPU[off:]
}

// FPULayout describes the FPU image of every AppContext: its size in bytes
// (the XSAVE area for the features enabled in XCR0, or 512 for FXSAVE),
// whether it is an XSAVE image in standard form, and the enabled XSAVE
// features (XCR0; x87|SSE without XSAVE).
//
//go:nosplit
func FPULayout() (size int, xsave bool, features uint64) {
	if !haveXSAVE {
		return 512, false, 3
	}
	// The features initFPU wrote into XCR0 (keep the two in step).
	a, _, _, _ := cpuid(0xD, 0)
	xcr0 := uint64(a) & 0xE7
	if xcr0&0xE0 != 0xE0 {
		xcr0 &^= 0xE0
	}
	return int(xsaveLen), true, xcr0
}

// Segment selectors of app code and stack (what a signal frame's
// sigcontext reports in cs and ss).
const (
	AppCS = userCode | 3
	AppSS = userData | 3
)

// Private syscall numbers (sysGosvBase + n).
const (
	privRunApp = 1
	privMap    = 2
	privUnmap  = 3
	privProt   = 4
	privKick   = 5
	privFreeRD = 6
)

//go:nosplit
func privateSyscall(c *cpuData, f *frame, n int) {
	a0, a1, a2 := uintptr(f.rdi), uintptr(f.rsi), uintptr(f.rdx)
	switch n {
	case privRunApp:
		runApp(c, f, a0)
	case privKick:
		kickCPU(a0)
		ret(f, 0)
	case privFreeRD:
		ret(f, int64(releaseInitrd()))
	case privMap, privUnmap, privProt:
		if a0&(PageSize-1) != 0 || a1 == 0 || a0+a1 < a0 || a0+a1 > AppLimit {
			ret(f, negErrno(eINVAL))
			return
		}
		n1 := (a1 + PageSize - 1) &^ (PageSize - 1)
		vmLock.lock()
		ok := true
		switch n {
		case privMap:
			ok = mapDemand(a0, n1, a2, true)
		case privUnmap:
			unmapRange(a0, n1)
		case privProt:
			protectRange(a0, n1, a2)
		}
		vmLock.unlock()
		if !ok {
			ret(f, negErrno(eNOMEM))
			return
		}
		ret(f, 0)
	default:
		if !deviceSyscall(c, f, n) {
			ret(f, negErrno(eNOSYS))
		}
	}
}

// runApp saves the calling kernel thread's syscall context and enters the
// app context at ctx.
//
//go:nosplit
func runApp(c *cpuData, f *frame, ctx uintptr) {
	t := th(c.cur)
	copyWords(uintptr(unsafe.Pointer(&t.kregs.r15)), uintptr(unsafe.Pointer(&f.r15)), ctxWords)
	t.app = ctx
	if syscallProfile {
		appCtx(ctx).prof.kernel = rdtsc()
	}
	enterApp(t, f)
	if syscallProfile {
		appCtx(ctx).prof.enter = rdtsc()
	}
	if atomic.LoadUint32(&appCtx(ctx).Kick) != 0 {
		leaveApp(c, t, f, EventInterrupt, 0, 0)
	}
}

//go:nosplit
func appCtx(p uintptr) *AppContext { return (*AppContext)(ptr(p)) }

// enterApp loads t's app context into f: ring 3, interrupts on, IOPL 0.
//
//go:nosplit
func enterApp(t *thread, f *frame) {
	a := appCtx(t.app)
	copyWords(uintptr(unsafe.Pointer(&f.r15)), uintptr(unsafe.Pointer(&a.R15)), 15)
	f.rip, f.rsp = a.RIP, a.RSP
	// Keep the arithmetic flags, TF, DF, AC and ID (as Linux does); force IF;
	// clear IOPL, NT and VM.
	f.rflags = a.RFLAGS&0x240DD5 | 0x202
	f.cs, f.ss = userCode|3, userData|3
	f.fpu = a.fpuArea()
	f.fs = a.FSBase
	wrmsr(msrKernelGSBase, a.GSBase) // becomes GS base at the SWAPGS on exit
}

// leaveApp stores the app state in f into t's context, records why, and
// makes f resume the kernel thread after its RunApp syscall.
//
//go:nosplit
func leaveApp(c *cpuData, t *thread, f *frame, vector, err uint64, cr2 uintptr) {
	a := appCtx(t.app)
	copyWords(uintptr(unsafe.Pointer(&a.R15)), uintptr(unsafe.Pointer(&f.r15)), 15)
	a.RIP, a.RSP, a.RFLAGS = f.rip, f.rsp, f.rflags
	a.Vector, a.Err, a.CR2 = vector, err, uint64(cr2)
	if f.fpu != 0 && f.fpu != a.fpuArea() {
		copyWords(a.fpuArea(), f.fpu, xsaveLen/8)
	}
	atomic.StoreUint32(&a.Kick, 0)
	if syscallProfile {
		a.prof.entry, a.prof.saved = c.profEntry, rdtsc()
		c.profEntry = 0
	}
	t.app = 0
	copyWords(uintptr(unsafe.Pointer(&f.r15)), uintptr(unsafe.Pointer(&t.kregs.r15)), ctxWords)
	f.rax = 0
	// The kernel thread resumes from its RunApp syscall, across which Go
	// keeps nothing in vector registers, but its float code needs the
	// default MXCSR. When the app left MXCSR at the default, the app's
	// vector and x87 register contents can stay (the app's image is saved
	// and is restored in full before the app runs again); else the clean
	// image is loaded. MXCSR is at byte 24 of both XSAVE and FXSAVE images.
	f.fpu = fpuInit
	if load32(a.fpuArea()+24) == mxcsrDefault {
		f.fpu = 0
	}
	f.fs = uint64(t.fsbase)
}

// mxcsrDefault is MXCSR after reset: all SIMD exceptions masked, round to
// nearest (Intel SDM 10.2.3.1), what the Go runtime expects.
const mxcsrDefault = 0x1F80

// appFault handles an exception raised in ring 3: demand-zero pages are
// filled in place; anything else goes back to level 1 as an event.
//
//go:nosplit
func appFault(c *cpuData, f *frame, cr2 uintptr) {
	t := th(c.cur)
	if t.app == 0 {
		fatalTrap(f, cr2)
	}
	leaveApp(c, t, f, f.vector, f.err, cr2)
}

//go:nosplit
func appSyscall(c *cpuData, f *frame) {
	t := th(c.cur)
	if t.app == 0 {
		fatalTrap(f, 0)
	}
	leaveApp(c, t, f, EventSyscall, 0, 0)
}

// RunApp runs the app thread ctx on the calling goroutine's kernel thread
// until the app makes a syscall, faults or is interrupted; ctx.Vector says
// which. The goroutine is in a syscall meanwhile, so the Go scheduler and
// GC carry on without it.
func RunApp(ctx *AppContext) {
	if !syscallProfile {
		syscall6(sysGosvBase+privRunApp, uintptr(unsafe.Pointer(ctx)), 0, 0)
		return
	}
	ctx.prof.call = rdtsc()
	syscall6(sysGosvBase+privRunApp, uintptr(unsafe.Pointer(ctx)), 0, 0)
	profileRecord(&ctx.prof, ctx.Vector == EventSyscall, rdtsc())
}

// MapApp makes [addr, addr+n) demand-zero app memory with prot (PROT_*
// bits of mmap(2)), replacing what was there. addr must be page-aligned
// and the range below AppLimit.
func MapApp(addr, n uintptr, prot int) error {
	return rawSyscall(sysGosvBase+privMap, addr, n, uintptr(prot))
}

// UnmapApp removes [addr, addr+n) from the app's address space.
func UnmapApp(addr, n uintptr) error {
	return rawSyscall(sysGosvBase+privUnmap, addr, n, 0)
}

// ProtectApp changes the protection of the mapped pages in [addr, addr+n).
func ProtectApp(addr, n uintptr, prot int) error {
	return rawSyscall(sysGosvBase+privProt, addr, n, uintptr(prot))
}

// CopyIn copies len(dst) bytes from app address src; EFAULT when part of
// the range is not mapped readable.
func CopyIn(dst []byte, src uintptr) error {
	if len(dst) == 0 {
		return nil
	}
	if src+uintptr(len(dst)) < src || src+uintptr(len(dst)) > AppLimit {
		return syscall.EFAULT
	}
	if copyUser(uintptr(unsafe.Pointer(&dst[0])), src, uintptr(len(dst))) != 0 {
		return syscall.EFAULT
	}
	return nil
}

// CopyOut copies src to app address dst; EFAULT when part of the range is
// not mapped writable.
func CopyOut(dst uintptr, src []byte) error {
	if len(src) == 0 {
		return nil
	}
	if dst+uintptr(len(src)) < dst || dst+uintptr(len(src)) > AppLimit {
		return syscall.EFAULT
	}
	if copyUser(dst, uintptr(unsafe.Pointer(&src[0])), uintptr(len(src))) != 0 {
		return syscall.EFAULT
	}
	return nil
}

// Interrupt makes the app thread of ctx come back from RunApp with
// EventInterrupt: at once if it is about to enter the app, else when its
// kernel thread is next scheduled or interrupted by the timer.
func Interrupt(ctx *AppContext) {
	atomic.StoreUint32(&ctx.Kick, 1)
	if ncpu > 1 {
		rawSyscall(sysGosvBase+privKick, uintptr(unsafe.Pointer(ctx)), 0, 0)
	}
}

// kickCPU sends a reschedule IPI to the CPU running app context ctx, if
// any; its interrupt handler sees the kick and leaves the app.
//
//go:nosplit
func kickCPU(ctx uintptr) {
	self := curCPU()
	for i := 0; i < ncpu && i < MaxCPUs; i++ {
		c := &cpus[i]
		if c == self || c.cur == 0 {
			continue
		}
		if th(c.cur).app == ctx {
			sendIPI(c.lapicID, vecIPI)
			return
		}
	}
}

// ReleaseInitrd gives the initrd's memory to the frame allocator once its
// files are unpacked; Initrd returns nil afterwards. It returns the bytes freed.
func ReleaseInitrd() int {
	r, _, _ := syscall.RawSyscall(sysGosvBase+privFreeRD, 0, 0, 0)
	return int(r)
}

//go:nosplit
func releaseInitrd() uintptr {
	if initrdSize == 0 {
		return 0
	}
	start := (initrdPhys + PageSize - 1) &^ (PageSize - 1)
	end := (initrdPhys + initrdSize) &^ (PageSize - 1)
	initrdSize = 0
	n := uintptr(0)
	for p := start; p < end && end <= bootMappedLimit; p += PageSize {
		donateFrame(p)
		n += PageSize
	}
	return n
}
