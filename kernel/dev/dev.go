// Package dev is the boundary between device drivers (level 1, ordinary Go)
// and the machine layer (level 0). Drivers never execute privileged
// instructions: they reach MMIO registers, PCI configuration space,
// interrupt vectors, DMA-able memory and the ACPI tables only through a
// Platform. The kernel passes an adapter over kernel/machine; host tests
// pass a fake whose "physical memory" is ordinary Go memory.
//
// The method names and signatures follow kernel/machine's so the kernel's
// adapter is one small file.
package dev

import "errors"

// DMA is a block of memory a device can reach by bus-master DMA. Buf is the
// kernel's view of it (in the kernel, a slice of the direct map); Phys is the
// guest-physical address of Buf[0]. The block is physically contiguous.
type DMA struct {
	Buf  []byte
	Phys uint64
}

// Platform is what drivers need from the machine layer.
type Platform interface {
	// AllocDMA returns size bytes (rounded up to whole pages) of zeroed,
	// physically contiguous memory, page aligned. The memory is never
	// freed while a device may still use it. The drivers here ask for one
	// page at a time, except the descriptor table of a virtqueue larger
	// than 256 entries (16 bytes per entry).
	AllocDMA(size int) (DMA, error)

	// MapMMIO maps size bytes of device registers at physical address
	// phys uncached and returns the virtual address for the MMIO accessors.
	MapMMIO(phys, size uintptr) (uintptr, error)
	MMIORead8(addr uintptr) uint8
	MMIORead16(addr uintptr) uint16
	MMIORead32(addr uintptr) uint32
	MMIORead64(addr uintptr) uint64
	MMIOWrite8(addr uintptr, v uint8)
	MMIOWrite16(addr uintptr, v uint16)
	MMIOWrite32(addr uintptr, v uint32)
	MMIOWrite64(addr uintptr, v uint64)

	// PCIConfigRead32 and PCIConfigWrite32 access the configuration space
	// of one PCI function (off is 4-byte aligned). A missing function reads
	// as all ones.
	PCIConfigRead32(bus, dev, fn uint8, off uint16) uint32
	PCIConfigWrite32(bus, dev, fn uint8, off uint16, v uint32)

	// AllocVector reserves a free CPU interrupt vector; FreeVector returns it.
	AllocVector() (uint8, error)
	FreeVector(v uint8)
	// WaitVector blocks the calling goroutine until vector v has fired at
	// least once since the previous WaitVector on it, and returns how many
	// times it fired; 0 when v is not allocated or FreeVector ended the
	// wait. The interrupt handler only counts and acknowledges; the
	// driver's work runs in the waiting goroutine.
	WaitVector(v uint8) uint64
	// RouteIRQ routes the IOAPIC input gsi to vector v (level or edge
	// triggered, active low or high) and unmasks it. GSIs above 23 belong
	// to a second IOAPIC (QEMU's microvm puts its virtio-mmio lines at
	// GSI 24-47, level-triggered, active high). For a level-triggered
	// line the interrupt handler is expected to mask the line (the device
	// holds it asserted until the driver acknowledges it); the driver
	// calls UnmaskIRQ after acknowledging at the device.
	RouteIRQ(gsi uint32, v uint8, level, activeLow bool) error
	MaskIRQ(gsi uint32) error
	UnmaskIRQ(gsi uint32) error
	// MSIMessage returns the MSI/MSI-X address and data that deliver
	// vector v to CPU cpu.
	MSIMessage(v uint8, cpu int) (addr uint64, data uint32)

	// ACPITable returns the ACPI table with the given signature ("DSDT",
	// "APIC", ...), header included, or nil.
	ACPITable(sig string) []byte
}

// ErrNoDevice reports that a probed device is absent.
var ErrNoDevice = errors.New("no such device")
