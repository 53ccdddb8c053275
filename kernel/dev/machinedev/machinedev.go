// Package machinedev is dev.Platform over kernel/machine: the kernel passes
// Platform{} to the drivers. Each method is the machine function of the
// same name; AllocDMA turns machine.AllocDMA's pages into a slice of the
// direct map.
package machinedev

import (
	"unsafe"

	"github.com/gosv/gosv/kernel/dev"
	"github.com/gosv/gosv/kernel/machine"
)

// Platform is the machine's dev.Platform.
type Platform struct{}

var _ dev.Platform = Platform{}

const pageSize = 4096

func (Platform) AllocDMA(size int) (dev.DMA, error) {
	n := (size + pageSize - 1) / pageSize
	if n < 1 {
		n = 1
	}
	phys, virt, err := machine.AllocDMA(n)
	if err != nil {
		return dev.DMA{}, err
	}
	// virt is in the direct map, which is never unmapped and is not Go
	// heap: reading the uintptr as a pointer is safe (and keeps vet's
	// uintptr-to-pointer check quiet).
	buf := unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&virt))), n*pageSize)
	return dev.DMA{Buf: buf, Phys: uint64(phys)}, nil
}

func (Platform) MapMMIO(phys, size uintptr) (uintptr, error) { return machine.MapMMIO(phys, size) }
func (Platform) MMIORead8(a uintptr) uint8                   { return machine.MMIORead8(a) }
func (Platform) MMIORead16(a uintptr) uint16                 { return machine.MMIORead16(a) }
func (Platform) MMIORead32(a uintptr) uint32                 { return machine.MMIORead32(a) }
func (Platform) MMIORead64(a uintptr) uint64                 { return machine.MMIORead64(a) }
func (Platform) MMIOWrite8(a uintptr, v uint8)               { machine.MMIOWrite8(a, v) }
func (Platform) MMIOWrite16(a uintptr, v uint16)             { machine.MMIOWrite16(a, v) }
func (Platform) MMIOWrite32(a uintptr, v uint32)             { machine.MMIOWrite32(a, v) }
func (Platform) MMIOWrite64(a uintptr, v uint64)             { machine.MMIOWrite64(a, v) }

func (Platform) PCIConfigRead32(bus, d, fn uint8, off uint16) uint32 {
	return machine.PCIConfigRead32(bus, d, fn, off)
}

func (Platform) PCIConfigWrite32(bus, d, fn uint8, off uint16, v uint32) {
	machine.PCIConfigWrite32(bus, d, fn, off, v)
}

func (Platform) AllocVector() (uint8, error) { return machine.AllocVector() }
func (Platform) FreeVector(v uint8)          { machine.FreeVector(v) }
func (Platform) WaitVector(v uint8) uint64   { return machine.WaitVector(v) }

func (Platform) RouteIRQ(gsi uint32, v uint8, level, activeLow bool) error {
	return machine.RouteIRQ(gsi, v, level, activeLow)
}

func (Platform) MaskIRQ(gsi uint32) error   { return machine.MaskIRQ(gsi) }
func (Platform) UnmaskIRQ(gsi uint32) error { return machine.UnmaskIRQ(gsi) }

func (Platform) MSIMessage(v uint8, cpu int) (uint64, uint32) { return machine.MSIMessage(v, cpu) }
func (Platform) ACPITable(sig string) []byte                  { return machine.ACPITable(sig) }

// PCIPresent reports whether the machine has PCI configuration space (q35
// does; microvm does not).
func PCIPresent() bool { return machine.PCIPresent() }
