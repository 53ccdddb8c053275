package machine

import (
	"sync/atomic"
	"syscall"
)

// Device services of level 0: what the drivers of level 1 (virtio-net,
// virtio-blk, ...) use to reach their hardware. Interrupts never run driver
// code; they wake the goroutine that waits for them.
//
// Interrupt vectors
//
//	AllocVector() (uint8, error)       a free IDT vector in [0x30, 0xEF] (ENOSPC when none is left)
//	FreeVector(v)                      give it back; a waiter returns 0, a routed GSI is masked
//	WaitVector(v) uint64               block the calling goroutine (and its kernel thread, like a
//	                                   futex wait) until v fired at least once since the previous
//	                                   WaitVector returned; returns how many times it fired, 0 when
//	                                   v is not allocated, is freed meanwhile or has a waiter already
//	VectorWaiting(v) bool              whether a goroutine is blocked in WaitVector(v)
//	SendIPI(v, cpu) error              raise v on CPU cpu (0 .. NCPU()-1) by an interprocessor interrupt
//	SelfIPI(v) error                   raise v on the calling CPU
//	MSIMessage(v, cpu) (addr, data)    MSI/MSI-X address and data that raise v on cpu: fixed delivery,
//	                                   edge-triggered, physical destination mode
//
// The handler of an allocated vector, on whichever CPU takes it, masks
// the I/O APIC pin when the vector is routed from a level-triggered GSI,
// sends the EOI, counts, and wakes the waiter. The count and the waiter are
// kept under schedLock, so an interrupt that comes before WaitVector is
// counted and WaitVector returns at once: no wakeup is lost. One goroutine
// at a time waits for a vector.
//
// I/O APIC routing (ioapic.go)
//
//	ISAIRQToGSI(irq) (gsi, level, activeLow)   ISA IRQ to GSI through the MADT's overrides
//	RouteIRQ(gsi, v, level, activeLow) error    route gsi to v (boot CPU, fixed delivery), unmasked
//	MaskIRQ(gsi) / UnmaskIRQ(gsi) error         a level-triggered GSI is masked by each interrupt:
//	                                            unmask it once the device deasserted its line
//
// Device memory and ports (mmio.go, pio.go)
//
//	MapMMIO(phys, size) (uintptr, error)        uncached (PCD|PWT) supervisor NX mapping
//	MMIORead8/16/32/64(addr), MMIOWrite8/16/32/64(addr, v)   single loads and stores
//	Inb/Inw/Inl(port), Outb/Outw/Outl(port, v)  port I/O
//
// PCI configuration space and ACPI (pci.go, acpi.go)
//
//	PCIPresent() bool; PCIECAM() bool           whether PCI exists; whether ECAM (MCFG) serves it
//	PCIForcePorts(on) bool                      use 0xCF8/0xCFC even with ECAM (tests)
//	PCIConfigRead8/16/32(bus, dev, fn, off)     all ones when absent
//	PCIConfigWrite8/16/32(bus, dev, fn, off, v)
//	ACPITable(sig) []byte                       a copy of a firmware table ("DSDT" through the FADT)
//
// Diagnostics: IOAPICs() (the I/O APICs found), DeviceInterrupts() (count
// since boot), OnMachine() (false in host unit tests, where none of the
// above may be called).
//
// A typical virtio-mmio driver on microvm: find its LNRO0005 device in the
// DSDT, MapMMIO the registers of its Memory32Fixed resource, take the GSI
// and flags of its Interrupt resource (QEMU: Level, ActiveHigh), v :=
// AllocVector(), RouteIRQ(gsi, v, true, false); then a goroutine loops:
// WaitVector(v), read and acknowledge InterruptStatus, UnmaskIRQ(gsi),
// process the used rings. On q35 a virtio-pci driver writes
// MSIMessage(v, cpu) into an MSI-X table entry instead (edge-triggered:
// nothing to unmask).

// Vectors 32-34 and 255 are the kernel's (vecTimer, vecIPI, vecFlush,
// vecSpurious in trap.go); devices get 0x30-0xEF, which leaves 35-47 and
// 0xF0-0xFE for future kernel use.
const (
	vecDevFirst = 0x30
	vecDevLast  = 0xEF
)

const (
	vecFree = iota
	vecAllocated
)

// vecState is one device vector. state, count, total and waiter are
// guarded by schedLock; gsi and level by ioapicLock.
type vecState struct {
	state  uintptr
	count  uint64  // interrupts since the last WaitVector returned
	total  uint64  // interrupts since allocation
	waiter uintptr // thread blocked in WaitVector, 0 = none
	gsi    uint32  // GSI routed to this vector, plus 1 (0 = none)
	level  bool    // that GSI is level-triggered: mask it in the handler
}

var (
	vecs       [256]vecState
	nDeviceIRQ uint64
)

//go:nosplit
func isDeviceVector(v uintptr) bool { return v >= vecDevFirst && v <= vecDevLast }

// deviceInterrupt handles an interrupt on device vector v: mask a
// level-triggered source, EOI, count, wake the waiter, and run it at once
// when this CPU was idle.
//
//go:nosplit
func deviceInterrupt(c *cpuData, f *frame, v uint8) {
	d := &vecs[v]
	ioapicLock.lock()
	if d.gsi != 0 && d.level {
		setMask(d.gsi-1, true)
	}
	ioapicLock.unlock()
	lapicEOI()
	atomic.AddUint64(&nDeviceIRQ, 1)
	schedLock.lock()
	if d.state == vecAllocated {
		d.count++
		d.total++
		if tp := d.waiter; tp != 0 {
			d.waiter = 0
			n := d.count
			d.count = 0
			wake(tp, n)
		}
	}
	if cur := th(c.cur); cur.state == tsIdle && runqHead != 0 {
		saveContext(cur, f)
		reschedule(c, f)
	}
	schedLock.unlock()
}

// Private syscalls of the device services (sysGosvBase + n).
const (
	privWaitVector = 16
	privAllocVec   = 17
	privFreeVec    = 18
	privSendIPI    = 19
	privRoute      = 20
	privMask       = 21
	privMapMMIO    = 22
	privPCIPort    = 23
	privPCIMapECAM = 24
)

// deviceSyscall serves the private syscalls above; false when n is not one.
//
//go:nosplit
func deviceSyscall(c *cpuData, f *frame, n int) bool {
	a0, a1, a2 := uintptr(f.rdi), uintptr(f.rsi), uintptr(f.rdx)
	switch n {
	case privWaitVector:
		waitVector(c, f, a0)
	case privAllocVec:
		ret(f, allocVector())
	case privFreeVec:
		ret(f, freeVector(a0))
	case privSendIPI:
		if isDeviceVector(a0) && a1 == ^uintptr(0) {
			lapicWrite(0x300, 1<<18|uint32(a0)) // destination shorthand: self
			ret(f, 0)
			break
		}
		if !isDeviceVector(a0) || a1 >= uintptr(ncpu) || a1 >= MaxCPUs {
			ret(f, negErrno(eINVAL))
			break
		}
		sendIPI(cpus[a1&(MaxCPUs-1)].lapicID, uint32(a0))
		ret(f, 0)
	case privRoute:
		ret(f, routeIRQ(uint32(a0), a1, a2))
	case privMask:
		ret(f, maskIRQ(uint32(a0), a1 != 0))
	case privMapMMIO:
		va := mapMMIO(a0, a1)
		if va == 0 {
			ret(f, negErrno(eINVAL))
			break
		}
		ret(f, int64(va))
	case privPCIPort:
		ret(f, int64(pciPortAccess(uint32(a0), a1, uint32(a2))))
	case privPCIMapECAM:
		ret(f, mapECAM())
	default:
		return false
	}
	return true
}

//go:nosplit
func allocVector() int64 {
	r := negErrno(eNOSPC)
	schedLock.lock()
	for v := vecDevFirst; v <= vecDevLast; v++ {
		d := &vecs[v&255]
		if d.state == vecFree {
			d.state = vecAllocated
			d.count, d.total, d.waiter = 0, 0, 0
			r = int64(v)
			break
		}
	}
	schedLock.unlock()
	return r
}

//go:nosplit
func freeVector(v uintptr) int64 {
	if !isDeviceVector(v) {
		return negErrno(eINVAL)
	}
	unrouteVector(uint8(v))
	schedLock.lock()
	d := &vecs[v&255]
	if tp := d.waiter; tp != 0 {
		d.waiter = 0
		wake(tp, 0)
	}
	d.state = vecFree
	d.count = 0
	schedLock.unlock()
	return 0
}

// waitVector blocks the calling thread until vector v has fired; the
// syscall returns the number of interrupts (wake passes it).
//
//go:nosplit
func waitVector(c *cpuData, f *frame, v uintptr) {
	if !isDeviceVector(v) {
		ret(f, negErrno(eINVAL))
		return
	}
	schedLock.lock()
	d := &vecs[v&255]
	switch {
	case d.state != vecAllocated:
		ret(f, negErrno(eINVAL))
	case d.waiter != 0:
		ret(f, negErrno(eBUSY))
	case d.count != 0:
		ret(f, int64(d.count))
		d.count = 0
	default:
		d.waiter = c.cur
		ret(f, 0)
		block(c, f, waitIRQ, 0)
	}
	schedLock.unlock()
}

// AllocVector reserves a free device interrupt vector; ENOSPC when all
// are taken.
func AllocVector() (uint8, error) {
	r, _, e := syscall.RawSyscall(sysGosvBase+privAllocVec, 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return uint8(r), nil
}

// FreeVector releases v: a goroutine blocked in WaitVector(v) returns 0,
// and a GSI routed to v is masked and unrouted.
func FreeVector(v uint8) {
	rawSyscall(sysGosvBase+privFreeVec, uintptr(v), 0, 0)
}

// WaitVector blocks until vector v has fired at least once since the
// previous WaitVector(v) returned, and returns how many times it fired.
// Interrupts that came before the call are counted, so the call returns at
// once. It returns 0 when v is not allocated, when FreeVector(v) ends the
// wait, or when another goroutine is already waiting for v. The goroutine
// is in a syscall meanwhile (its kernel thread sleeps; the Go scheduler
// runs others).
func WaitVector(v uint8) uint64 {
	r, _, e := syscall.Syscall(sysGosvBase+privWaitVector, uintptr(v), 0, 0)
	if e != 0 {
		return 0
	}
	return uint64(r)
}

// VectorWaiting reports whether a goroutine is blocked in WaitVector(v).
func VectorWaiting(v uint8) bool {
	return atomic.LoadUintptr(&vecs[v].waiter) != 0
}

// SendIPI raises device vector v on CPU cpu (0 .. NCPU()-1) with an
// interprocessor interrupt (fixed delivery); EINVAL for a kernel vector
// or a CPU that does not exist.
func SendIPI(v uint8, cpu int) error {
	if cpu < 0 {
		return syscall.EINVAL
	}
	return rawSyscall(sysGosvBase+privSendIPI, uintptr(v), uintptr(cpu), 0)
}

// SelfIPI raises device vector v on the calling CPU (an IPI with the
// "self" destination shorthand): the interrupt is taken as soon as the
// call returns.
func SelfIPI(v uint8) error {
	return rawSyscall(sysGosvBase+privSendIPI, uintptr(v), ^uintptr(0), 0)
}

// MSIMessage returns the MSI (and MSI-X table entry) address and data
// that raise vector v on CPU cpu (Intel SDM vol. 3A 11.11): address
// 0xFEE00000 with the CPU's local APIC ID in bits 12-19, physical
// destination mode, no redirection hint; data v with fixed delivery mode,
// edge-triggered. An unknown cpu means CPU 0.
//
//go:nosplit
func MSIMessage(v uint8, cpu int) (addr uint64, data uint32) {
	if cpu < 0 || cpu >= ncpu || cpu >= MaxCPUs {
		cpu = 0
	}
	id := cpus[cpu&(MaxCPUs-1)].lapicID
	return 0xFEE00000 | uint64(id&0xFF)<<12, uint32(v)
}

// OnMachine reports whether the code runs on the machine gosv booted (the
// kernel), not as a host process (unit tests); device services need it.
func OnMachine() bool { return lapicBase != 0 }

// DeviceInterrupts is the number of device interrupts (vectors 0x30-0xEF)
// taken since boot.
func DeviceInterrupts() uint64 { return atomic.LoadUint64(&nDeviceIRQ) }
