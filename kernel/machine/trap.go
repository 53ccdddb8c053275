package machine

import (
	"github.com/gosv/gosv/internal/bootproto"
	"sync/atomic"
	"unsafe"
)

// frame is the register image that trap and syscall entry push on the
// handler stack (trap_amd64.s). Word 0 is the address of the FPU image
// restored on exit (0: none). The layout is the one a thread's saved context
// uses too.
type frame struct {
	fpu                                            uintptr
	fs                                             uint64 // FS base loaded on exit
	r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi uint64
	rsi, rdx, rcx, rbx, rax                        uint64
	vector, err                                    uint64
	rip, cs, rflags, rsp, ss                       uint64
}

const (
	frameWords = 24
	ctxWords   = 22 // r15 through ss: the part a thread's context keeps
)

// Vectors above the IDT's range used for syscall entries.
const (
	vecSyscall    = 256 // SYSCALL from the kernel's own runtime
	vecAppSyscall = 257 // SYSCALL from the app (ring 3)
	vecTimer      = 32
	vecIPI        = 33 // reschedule
	vecFlush      = 34 // TLB shootdown
	vecSpurious   = 255
)

var (
	idt       [512]uint64
	haveXSAVE bool
	fpuSize   uintptr = 512 + 64 // FXSAVE area plus alignment slack; XSAVE size set at boot
)

func trapCommon()
func trapExit()
func syscallEntry()
func syscallEntryAddr() uintptr
func idleLoop()
func idleLoopAddr() uintptr
func vectorAddr(v int) uintptr
func fpuSaveTo(area uintptr)

// initIDT fills the interrupt descriptor table (SDM 6.14.1): 64-bit
// interrupt gates, DPL 0, with an IST stack per class of vector.
//
//go:nosplit
func initIDT() {
	for v := 0; v < 256; v++ {
		ist := uint64(istIRQ)
		switch {
		case v == 14:
			ist = istPF
		case v == 8:
			ist = istDF
		case v == 2:
			ist = istNMI
		case v == 18:
			ist = istMC
		case v < 32:
			ist = istExc
		}
		a := uint64(vectorAddr(v))
		typ := uint64(0x8E) // present, DPL 0, 64-bit interrupt gate
		if v == 3 || v == 4 {
			typ = 0xEE // int3 and into are allowed from ring 3
		}
		idt[2*v] = a&0xFFFF | uint64(kernelCode)<<16 | ist<<32 | typ<<40 | (a>>16&0xFFFF)<<48
		idt[2*v+1] = a >> 32
	}
}

//go:nosplit
func loadIDT() {
	var desc [2]uint64
	desc[0] = uint64(len(idt)*8-1) | uint64(uintptr(unsafe.Pointer(&idt[0])))<<16
	desc[1] = uint64(uintptr(unsafe.Pointer(&idt[0]))) >> 48
	lidt(uintptr(unsafe.Pointer(&desc[0])))
}

//go:nosplit
func frameAt(f uintptr) *frame { return (*frame)(ptr(f)) }

// trap handles every IDT vector and app syscalls, on an IST stack with
// interrupts disabled.
//
//go:nosplit
func trap(fp uintptr) {
	f := frameAt(fp)
	c := curCPU()
	c.depth++
	if c.depth == 1 {
		f.fs = uint64(fsOf(th(c.cur)))
	} else {
		f.fs = uint64(rdmsrFS())
	}
	switch {
	case f.vector == 14:
		cr2 := readCR2()
		nPageFault++
		if f.err&1 == 0 && demandFault(cr2, f.cs&3 != 0) {
			break
		}
		if f.cs&3 == 0 && f.rip >= uint64(copyUserAddr()) && f.rip < uint64(copyUserEnd()) {
			// A bad app pointer in CopyIn/CopyOut: return EFAULT.
			f.rip = uint64(copyUserFixupAddr())
			break
		}
		if f.cs&3 != 0 {
			appFault(c, f, cr2)
			break
		}
		fatalTrap(f, cr2)
	case f.vector == vecTimer:
		nTimerIRQ++
		lapicEOI()
		timerInterrupt(c, f)
	case f.vector == vecIPI:
		lapicEOI()
		atomic.StoreUint32(&c.ipiPending, 0)
		timerInterrupt(c, f)
	case f.vector == vecFlush:
		lapicEOI()
		applyFlush(c)
	case f.vector == vecSpurious:
	case f.vector == vecAppSyscall:
		appSyscall(c, f)
	case isDeviceVector(uintptr(f.vector)):
		deviceInterrupt(c, f, uint8(f.vector))
	case f.vector >= 32:
		lapicEOI()
	default:
		if f.cs&3 != 0 {
			appFault(c, f, 0)
			break
		}
		fatalTrap(f, readCR2())
	}
	c.depth--
}

var excNames = [32]string{
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow", "#BR bound range",
	"#UD invalid opcode", "#NM device not available", "#DF double fault", "coprocessor overrun",
	"#TS invalid TSS", "#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check", "#MC machine check",
	"#XM SIMD exception", "#VE virtualization", "#CP control protection",
}

// fatalTrap reports a CPU exception in kernel code and powers off with
// status 125: vector, error code, CR2, registers and a symbolized
// frame-pointer backtrace.
//
//go:nosplit
func fatalTrap(f *frame, cr2 uintptr) {
	puts("\ngosv: kernel fault: ")
	if f.vector < 32 {
		puts(excNames[f.vector])
	} else {
		puts("vector ")
		putDec(f.vector)
	}
	puts(" (vector ")
	putDec(f.vector)
	puts(", error ")
	putHex(f.err)
	puts(")\n")
	if f.vector == 14 {
		puts("  address ")
		putHex(uint64(cr2))
		if f.err&1 == 0 {
			puts(" not present")
		} else {
			puts(" protection violation")
		}
		if f.err&2 != 0 {
			puts(", write")
		} else {
			puts(", read")
		}
		if f.err&16 != 0 {
			puts(", instruction fetch")
		}
		puts("\n")
	}
	dumpFrame(f)
	puts("backtrace:\n")
	backtrace(uintptr(f.rip), uintptr(f.rbp))
	exitMachine(bootproto.ExitRunnerFailed)
}

//go:nosplit
func dumpReg(name string, v uint64) {
	puts(name)
	puts("=")
	putHex(v)
}

//go:nosplit
func dumpFrame(f *frame) {
	puts("  rip=")
	putHex(f.rip)
	puts(" ")
	putSymbol(uintptr(f.rip))
	puts("\n  ")
	dumpReg("rax", f.rax)
	dumpReg(" rbx", f.rbx)
	dumpReg(" rcx", f.rcx)
	dumpReg(" rdx", f.rdx)
	puts("\n  ")
	dumpReg("rsi", f.rsi)
	dumpReg(" rdi", f.rdi)
	dumpReg(" rbp", f.rbp)
	dumpReg(" rsp", f.rsp)
	puts("\n  ")
	dumpReg("r8 ", f.r8)
	dumpReg(" r9 ", f.r9)
	dumpReg(" r10", f.r10)
	dumpReg(" r11", f.r11)
	puts("\n  ")
	dumpReg("r12", f.r12)
	dumpReg(" r13", f.r13)
	dumpReg(" r14", f.r14)
	dumpReg(" r15", f.r15)
	puts("\n  ")
	dumpReg("rflags", f.rflags)
	dumpReg(" cs", f.cs)
	dumpReg(" ss", f.ss)
	puts("\n")
}

// backtrace follows the frame-pointer chain (Go keeps RBP frames on amd64)
// while it stays inside the kernel window.
//
//go:nosplit
func backtrace(pc, fp uintptr) {
	puts("  ")
	putHex(uint64(pc))
	puts(" ")
	putSymbol(pc)
	puts("\n")
	for i := 0; i < 32 && fp >= WindowStart && fp < WindowEnd && fp&7 == 0 && mapped(fp) && mapped(fp+8); i++ {
		ret := uintptr(load64(fp + 8))
		if ret == 0 {
			break
		}
		puts("  ")
		putHex(uint64(ret))
		puts(" ")
		putSymbol(ret - 1)
		puts("\n")
		fp = uintptr(load64(fp))
	}
}

// mapped reports whether va is backed by a present page.
//
//go:nosplit
func mapped(va uintptr) bool {
	if va >= DirectMapBase && va < DirectMapBase+bootMappedLimit {
		return true
	}
	e := walk(va, false, 0)
	return e != 0 && load64(e)&ptePresent != 0
}
