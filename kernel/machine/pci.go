package machine

import (
	"sync/atomic"
	"syscall"
)

// PCI configuration space (PCI Express Base 6.0 7.2; PCI Local Bus 3.0
// 3.2.2.3.2). When the MCFG names an ECAM window (q35), the configuration
// space of bus b, device d, function f is the 4 KiB at
// ecam + (b-start)<<20 | d<<15 | f<<12, mapped uncached on first use and
// read with single MMIO loads from level 1. Otherwise configuration
// mechanism #1 is used: the address goes to port 0xCF8 and the data moves
// through 0xCFC-0xCFF, in level 0 under pciLock, since the pair of ports
// is shared state. Without either (microvm) PCI is absent: reads return
// all ones and writes are dropped, at once.

const (
	pciNone = iota
	pciECAM
	pciPort
)

var (
	pciMech       int
	pciPortOK     bool   // mechanism #1 answers (also with ECAM, on q35)
	pciPortForced uint32 // PCIForcePorts: use mechanism #1 even with ECAM
	pciLock       spinlock
	ecamVirt      uintptr // uncached mapping of the ECAM window, 0 until first use
)

// initPCI picks the configuration mechanism: ECAM when the MCFG has one,
// else mechanism #1 when 0xCF8 holds what is written to it (Linux's
// pci_check_type1), else none.
//
//go:nosplit
func initPCI() {
	outb(0xCFB, 0x01)
	old := inl(0xCF8)
	outl(0xCF8, 0x80000000)
	pciPortOK = inl(0xCF8) == 0x80000000
	outl(0xCF8, old)
	switch {
	case ecamPhys != 0:
		pciMech = pciECAM
	case pciPortOK:
		pciMech = pciPort
	}
}

// pciPortAccess reads (width 1, 2 or 4) or, with bit 8 of op set, writes
// configuration space through mechanism #1. addr is the 0xCF8 address with
// the byte offset in its low two bits.
//
//go:nosplit
func pciPortAccess(addr uint32, op uintptr, v uint32) uint32 {
	if !pciPortOK {
		return 0xFFFFFFFF
	}
	port := uint16(0xCFC + addr&3)
	pciLock.lock()
	outl(0xCF8, addr&^3)
	r := uint32(0)
	switch write := op&0x100 != 0; op & 0xFF {
	case 1:
		if write {
			outb(port, uint8(v))
		} else {
			r = uint32(inb(port))
		}
	case 2:
		if write {
			outw(port, uint16(v))
		} else {
			r = uint32(inw(port))
		}
	default:
		if write {
			outl(port, v)
		} else {
			r = inl(port)
		}
	}
	pciLock.unlock()
	return r
}

// mapECAM maps the ECAM window once.
//
//go:nosplit
func mapECAM() int64 {
	if ecamPhys == 0 {
		return negErrno(eNODEV)
	}
	pciLock.lock()
	if ecamVirt == 0 {
		va := mapMMIO(ecamPhys, (uintptr(ecamBusEnd)-uintptr(ecamBusStart)+1)<<20)
		atomic.StoreUintptr(&ecamVirt, va)
	}
	r := int64(0)
	if ecamVirt == 0 {
		r = negErrno(eNOMEM)
	}
	pciLock.unlock()
	return r
}

// ecamAddr returns the virtual address of a configuration register in the
// ECAM window, or 0 when ECAM does not cover bus.
//
//go:nosplit
func ecamAddr(bus, dev, fn uint8, off uint16) uintptr {
	if pciMech != pciECAM || bus < ecamBusStart || bus > ecamBusEnd {
		return 0
	}
	base := atomic.LoadUintptr(&ecamVirt)
	if base == 0 {
		syscall.RawSyscall(sysGosvBase+privPCIMapECAM, 0, 0, 0)
		if base = atomic.LoadUintptr(&ecamVirt); base == 0 {
			return 0
		}
	}
	return base + uintptr(bus-ecamBusStart)<<20 | uintptr(dev)<<15 | uintptr(fn)<<12 | uintptr(off)
}

// pciAccess reads or writes width bytes of configuration space; reads of
// absent or invalid registers return all ones.
//
//go:nosplit
func pciAccess(bus, dev, fn uint8, off uint16, width uintptr, write bool, v uint32) uint32 {
	ones := uint32(0xFFFFFFFF) >> (32 - 8*width)
	if dev >= 32 || fn >= 8 || off >= 4096 || uintptr(off)&(width-1) != 0 {
		return ones
	}
	mech := pciMech
	if atomic.LoadUint32(&pciPortForced) != 0 && pciPortOK {
		mech = pciPort
	}
	switch mech {
	case pciECAM:
		a := ecamAddr(bus, dev, fn, off)
		if a == 0 {
			return ones
		}
		switch width {
		case 1:
			if write {
				MMIOWrite8(a, uint8(v))
				return 0
			}
			return uint32(MMIORead8(a))
		case 2:
			if write {
				MMIOWrite16(a, uint16(v))
				return 0
			}
			return uint32(MMIORead16(a))
		}
		if write {
			MMIOWrite32(a, v)
			return 0
		}
		return MMIORead32(a)
	case pciPort:
		if off >= 256 {
			return ones
		}
		addr := 0x80000000 | uint32(bus)<<16 | uint32(dev)<<11 | uint32(fn)<<8 | uint32(off)
		op := width
		if write {
			op |= 0x100
		}
		r, _, _ := syscall.RawSyscall(sysGosvBase+privPCIPort, uintptr(addr), op, uintptr(v))
		return uint32(r) & ones
	}
	return ones
}

// PCIPresent reports whether the machine has PCI (q35 does, microvm not).
func PCIPresent() bool { return pciMech != pciNone }

// PCIECAM reports whether configuration space is reached through ECAM
// (the MCFG table); extended registers (offsets 256-4095) need it.
func PCIECAM() bool { return pciMech == pciECAM }

// PCIForcePorts makes configuration accesses use ports 0xCF8/0xCFC even
// where ECAM exists (on), or go back to the normal choice (off). It is for
// tests of the port mechanism and returns whether the machine has it.
func PCIForcePorts(on bool) bool {
	v := uint32(0)
	if on {
		v = 1
	}
	atomic.StoreUint32(&pciPortForced, v)
	return pciPortOK
}

// PCIConfigRead32 reads the configuration register at off (4-byte
// aligned, below 4096; below 256 without ECAM) of bus:dev.fn. Absent
// devices, absent PCI and invalid arguments read as 0xFFFFFFFF.
func PCIConfigRead32(bus, dev, fn uint8, off uint16) uint32 {
	return pciAccess(bus, dev, fn, off, 4, false, 0)
}

// PCIConfigRead16 reads a 2-byte aligned 16-bit register (0xFFFF when absent).
func PCIConfigRead16(bus, dev, fn uint8, off uint16) uint16 {
	return uint16(pciAccess(bus, dev, fn, off, 2, false, 0))
}

// PCIConfigRead8 reads an 8-bit register (0xFF when absent).
func PCIConfigRead8(bus, dev, fn uint8, off uint16) uint8 {
	return uint8(pciAccess(bus, dev, fn, off, 1, false, 0))
}

// PCIConfigWrite32 writes a 4-byte aligned register; dropped when the
// device or PCI is absent or the arguments are invalid.
func PCIConfigWrite32(bus, dev, fn uint8, off uint16, v uint32) {
	pciAccess(bus, dev, fn, off, 4, true, v)
}

// PCIConfigWrite16 writes a 2-byte aligned 16-bit register.
func PCIConfigWrite16(bus, dev, fn uint8, off uint16, v uint16) {
	pciAccess(bus, dev, fn, off, 2, true, uint32(v))
}

// PCIConfigWrite8 writes an 8-bit register.
func PCIConfigWrite8(bus, dev, fn uint8, off uint16, v uint8) {
	pciAccess(bus, dev, fn, off, 1, true, uint32(v))
}
