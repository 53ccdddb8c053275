package machine

import (
	"sync/atomic"
	"unsafe"
)

// SMP bring-up (Intel SDM vol. 3A 9.4, "MP initialization"): the boot CPU
// sends each application processor INIT and STARTUP IPIs; the AP starts in
// real mode at the trampoline page, which switches to protected mode and
// jumps to apEntry32 in the kernel image; that enters long mode on a boot
// page table that still identity-maps low memory, then apMain sets the AP
// up like CPU 0 and makes it idle.
const (
	trampolinePhys = 0x8000 // STARTUP vector 0x08
	apVarsPhys     = 0x8050 // u32 boot CR3, then u64 stack top
)

// trampoline is 16-bit real-mode code, assembled by hand:
//
//	00 fa                cli
//	01 31 c0             xor ax, ax
//	03 8e d8             mov ds, ax
//	05 0f 01 16 40 80    lgdt [0x8040]
//	0a 0f 20 c0          mov eax, cr0
//	0d 66 83 c8 01       or eax, 1
//	11 0f 22 c0          mov cr0, eax
//	14 66 ea XX XX XX XX 18 00   jmp dword 0x18:apEntry32 (patched)
//
// followed at 0x20 by a GDT (null, 64-bit code 0x08, data 0x10, 32-bit
// code 0x18) and at 0x40 by its GDTR.
var trampoline = [...]byte{
	0xfa, 0x31, 0xc0, 0x8e, 0xd8, 0x0f, 0x01, 0x16, 0x40, 0x80,
	0x0f, 0x20, 0xc0, 0x66, 0x83, 0xc8, 0x01, 0x0f, 0x22, 0xc0,
	0x66, 0xea, 0, 0, 0, 0, 0x18, 0x00,
}

var (
	apBootID uint32 // id of the AP being started
	apOnline uint32 // set by that AP when it is up
)

func apEntry32()
func apEntry64()
func apEntry32Addr() uintptr

//go:nosplit
func lapicID() uint32 { return lapicRead(0x20) >> 24 }

// sendIPI sends an interprocessor interrupt (ICR, SDM 10.6.1) and waits
// for the LAPIC to accept it.
//
//go:nosplit
func sendIPI(apic uint32, low uint32) {
	lapicWrite(0x310, apic<<24)
	lapicWrite(0x300, low)
	for i := 0; i < 1_000_000 && lapicRead(0x300)&(1<<12) != 0; i++ {
		pause()
	}
}

// startAPs starts every CPU the MADT lists, up to want CPUs in all.
//
//go:nosplit
func startAPs(want int) {
	if want <= 1 {
		return
	}
	if nCPUsFound < 2 { // initACPI found the CPUs in the MADT
		return
	}
	// Boot page table for APs: the kernel's PML4 plus the identity map of
	// the first 4 GiB that the 32-bit stub built (its PDPT is still at
	// bootPDPTIdent).
	apPML4 := allocFrame()
	if apPML4 == 0 {
		return
	}
	copyWords(phys2virt(apPML4), phys2virt(pml4Phys), 512)
	store64(phys2virt(apPML4), bootPDPTIdent|3)

	t := phys2virt(trampolinePhys)
	for i, b := range trampoline {
		*(*byte)(ptr(t + uintptr(i))) = b
	}
	store32(t+0x16, uint32(apEntry32Addr()-DirectMapBase))
	store64(t+0x20, 0)
	store64(t+0x28, 0x00AF9A000000FFFF)
	store64(t+0x30, 0x00CF92000000FFFF)
	store64(t+0x38, 0x00CF9A000000FFFF)
	*(*uint16)(ptr(t + 0x40)) = 31
	store32(t+0x42, trampolinePhys+0x20)
	store32(phys2virt(apVarsPhys), uint32(apPML4))

	for i := 1; i < nCPUsFound && i < MaxCPUs && ncpu < want; i++ {
		id := cpuAPICIDs[i]
		store64(phys2virt(apVarsPhys+8), uint64(allocKernelStack(4*PageSize)))
		atomic.StoreUint32(&apBootID, uint32(ncpu))
		atomic.StoreUint32(&apOnline, 0)
		sendIPI(id, 0x4500) // INIT, assert
		for try := 0; try < 2 && atomic.LoadUint32(&apOnline) == 0; try++ {
			sendIPI(id, 0x4600|trampolinePhys>>12) // STARTUP
			deadline := nanotime() + 200_000_000
			for atomic.LoadUint32(&apOnline) == 0 && nanotime() < deadline {
				pause()
			}
		}
		if atomic.LoadUint32(&apOnline) == 0 {
			puts("gosv: CPU with APIC id ")
			putDec(uint64(id))
			puts(" did not start\n")
			continue
		}
		ncpu++
	}
	freeFrame(apPML4)
}

// apMain runs on a freshly started AP with the boot page table and a boot
// stack; it never returns.
//
//go:nosplit
func apMain() {
	id := int(atomic.LoadUint32(&apBootID))
	initFPU()
	enableProtections()
	writeCR3(pml4Phys)
	c := &cpus[id&(MaxCPUs-1)]
	initCPU(c, id)
	c.lapicID = lapicID()
	lapicWrite(0xF0, 0x100|vecSpurious)
	lapicWrite(0x3E0, 0xB)
	if tscDeadline {
		lapicWrite(0x320, 2<<17|vecTimer)
	} else {
		lapicWrite(0x320, vecTimer)
	}
	c.idle = newIdleThread()
	c.cur = c.idle
	th(c.idle).state = tsIdle
	atomic.StoreUint32(&apOnline, 1)
	idleLoop()
}

// wakeIdleCPU sends a reschedule IPI to one idle CPU other than self.
// Called with schedLock held after a thread became runnable.
//
//go:nosplit
func wakeIdleCPU(self *cpuData) {
	for i := 0; i < ncpu && i < MaxCPUs; i++ {
		c := &cpus[i]
		if c != self && c.cur != 0 && c.cur == c.idle && c.ipiPending == 0 {
			c.ipiPending = 1
			sendIPI(c.lapicID, vecIPI)
			return
		}
	}
}

var _ = unsafe.Pointer(nil)

// TLB shootdown (SDM 4.10.5): after a CPU removes or downgrades mappings it
// bumps flushGen and interrupts the other CPUs, which reload CR3 and record
// the generation; it waits until all have. CPUs spinning on a lock apply
// pending flushes while they spin, so the initiator may hold locks.
var flushGen uint64

//go:nosplit
func applyFlush(c *cpuData) {
	g := atomic.LoadUint64(&flushGen)
	writeCR3(readCR3())
	atomic.StoreUint64(&c.flushSeen, g)
}

//go:nosplit
func tlbShootdown() {
	if ncpu <= 1 {
		return
	}
	self := curCPU()
	g := atomic.AddUint64(&flushGen, 1)
	atomic.StoreUint64(&self.flushSeen, g)
	for i := 0; i < ncpu && i < MaxCPUs; i++ {
		if c := &cpus[i]; c != self {
			sendIPI(c.lapicID, vecFlush)
		}
	}
	for i := 0; i < ncpu && i < MaxCPUs; i++ {
		c := &cpus[i]
		for c != self && atomic.LoadUint64(&c.flushSeen) < g {
			pause()
		}
	}
}
