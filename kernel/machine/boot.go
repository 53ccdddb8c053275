package machine

import (
	"github.com/gosv/gosv/internal/bootproto"
	"sync/atomic"
)

// Set by entry64 / boot0.
var (
	startInfoPhys uintptr // physical address of struct hvm_start_info
	rt0SP         uintptr // stack pointer handed to _rt0_amd64_linux
	bootTSC       uint64
	xsaveLen      uintptr = 512
	scratchTLS    [8]uint64
)

func pvhEntry()
func entry64()

// boot0 runs on the boot stack before the Go runtime exists: no heap, no
// goroutines, no stack growth. It brings the machine up far enough for the
// runtime's first syscalls and builds a Linux-like initial process stack.
//
//go:nosplit
func boot0() {
	bootTSC = rdtsc()
	mark(stEntry)
	uartInit(com1)
	uartInit(comControl)
	if uartPresent(com2) {
		uartInit(com2)
		haveCOM2 = true
	}
	parseStartInfo()
	initFPU()
	enableProtections()

	// Drop the identity map of low memory: the app owns [0, AppLimit).
	pml4Phys = bootPML4Phys
	store64(phys2virt(bootPML4Phys), 0)
	writeCR3(bootPML4Phys)

	initFrames(imageLoadedEnd())
	initTime()
	mark(stClock)
	initIDT()
	c := &cpus[0]
	initCPU(c, 0)
	mark(stCPU)

	// The boot thread (the runtime's m0) and CPU 0's idle thread.
	fpuInit = phys2virt(allocFrame())
	fpuSaveTo(fpuInit)
	t := newThread()
	th(t).state = tsRunning
	c.cur = t
	c.idle = newIdleThread()
	c.lapicID = lapicID()
	setTimerDeadline(0)
	initACPI(c.lapicID)
	initIOAPICs()
	initPCI()
	startAPs(MaxCPUs)
	mark(stSMP)

	rt0SP = buildInitialStack(phys2virt(bootStackTop))
	mark(stRuntime)
}

//go:nosplit
func newIdleThread() uintptr {
	tp := newThread()
	t := th(tp)
	t.state = tsIdle
	t.regs.rip = uint64(idleLoopAddr())
	t.regs.cs = kernelCode
	t.regs.ss = kernelData
	t.regs.rflags = 0x202
	t.regs.rsp = uint64(allocKernelStack(PageSize))
	atomic.AddInt64(&nThreads, -1)
	return tp
}

// initFPU enables SSE (done in entry64) and, when present, XSAVE with
// every user state component the CPU supports among x87, SSE, AVX and
// AVX-512 (XCR0; SDM 13.3), and sizes the per-context image.
//
//go:nosplit
func initFPU() {
	_, _, c, _ := cpuid(1, 0)
	if c&(1<<26) == 0 {
		return // FXSAVE only
	}
	writeCR4(readCR4() | 1<<18) // OSXSAVE
	a, _, _, _ := cpuid(0xD, 0)
	xcr0 := uint64(a) & 0xE7 // x87, SSE, AVX, opmask, ZMM_Hi256, Hi16_ZMM
	if xcr0&0xE0 != 0xE0 {
		xcr0 &^= 0xE0 // AVX-512 only as a whole
	}
	xsetbv(0, xcr0)
	_, b, _, _ := cpuid(0xD, 0)
	haveXSAVE = true
	xsaveLen = (uintptr(b) + 63) &^ 63
	if xsaveLen > PageSize {
		puts("gosv: boot: XSAVE area larger than a page\n")
		exitMachine(bootproto.ExitRunnerFailed)
	}
	fpuSize = xsaveLen
}

// Environment of the kernel's own Go runtime (BRINGUP.md).
const kernelEnv = "GODEBUG=asyncpreemptoff=1,decoratemappings=0,updatemaxprocs=0"

// buildInitialStack lays out argc, argv, envp and auxv below top the way
// Linux starts a process (psABI 3.4.1) and returns the stack pointer.
//
//go:nosplit
func buildInitialStack(top uintptr) uintptr {
	p := top
	// Strings.
	p -= uintptr(len(kernelEnv) + 1)
	env := p
	copyString(env, kernelEnv)
	p -= uintptr(len("gosv-kernel") + 1)
	arg0 := p
	copyString(arg0, "gosv-kernel")
	p -= 16
	random := p
	for i := uintptr(0); i < 16; i += 8 {
		v, _ := rdrand()
		store64(random+i, v^rdtsc())
	}
	p &^= 15
	// auxv (4 pairs), envp (2), argv (2), argc (1): 13 words; keep sp 16-aligned.
	p -= 14 * 8
	sp := p
	store64(sp+0, 1)
	store64(sp+8, uint64(arg0))
	store64(sp+16, 0)
	store64(sp+24, uint64(env))
	store64(sp+32, 0)
	store64(sp+40, 6) // AT_PAGESZ
	store64(sp+48, PageSize)
	store64(sp+56, 25) // AT_RANDOM
	store64(sp+64, uint64(random))
	_, _, _, d := cpuid(1, 0)
	store64(sp+72, 16) // AT_HWCAP
	store64(sp+80, uint64(d))
	store64(sp+88, 0) // AT_NULL
	store64(sp+96, 0)
	return sp
}

//go:nosplit
func copyString(dst uintptr, s string) {
	for i := 0; i < len(s); i++ {
		*(*byte)(ptr(dst + uintptr(i))) = s[i]
	}
	*(*byte)(ptr(dst + uintptr(len(s)))) = 0
}

// imageLoadedEnd is the physical end of the kernel image as loaded: the
// highest p_paddr+p_memsz of the PT_LOAD headers, read from the ELF header
// that the first PT_LOAD maps at KernelPhysBase. It can be below
// runtime.end when the kernel builder trimmed unused BSS (kbuild.Patch).
//
//go:nosplit
func imageLoadedEnd() uintptr {
	eh := phys2virt(KernelPhysBase)
	end := imageEnd() - DirectMapBase
	if load32(eh) != 0x464c457f {
		return end
	}
	phoff := uintptr(load64(eh + 32))
	phnum := uintptr(load32(eh+56) & 0xffff)
	max := uintptr(0)
	for i := uintptr(0); i < phnum && i < 16; i++ {
		ph := eh + phoff + i*56
		if load32(ph) != 1 { // PT_LOAD
			continue
		}
		if e := uintptr(load64(ph+24) + load64(ph+40)); e > max {
			max = e
		}
	}
	if max == 0 {
		return end
	}
	return max
}

// enableProtections turns on CR4.UMIP (SGDT/SIDT/SLDT/SMSW/STR fault in
// ring 3, so the app cannot learn kernel addresses) and CR4.SMEP (the
// kernel never executes app pages) when the CPU has them (CPUID.7.0).
//
//go:nosplit
func enableProtections() {
	if a, _, _, _ := cpuid(0, 0); a < 7 {
		return
	}
	_, b, c, _ := cpuid(7, 0)
	cr4 := readCR4()
	if c&(1<<2) != 0 {
		cr4 |= 1 << 11 // UMIP
	}
	if b&(1<<7) != 0 {
		cr4 |= 1 << 20 // SMEP
	}
	writeCR4(cr4)
}
