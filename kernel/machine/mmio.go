package machine

import "syscall"

// Uncached mappings of device memory (Intel SDM vol. 3A 11.12.3): 4 KiB
// pages with PCD|PWT, which select PAT entry 3 (UC with the power-on PAT
// that gosv keeps), supervisor-only, writable, never executable, in the
// kernel window's MMIO area. Mappings are never removed: devices are
// found once at boot.

const (
	pteWT     = 1 << 3 // PWT
	pteCD     = 1 << 4 // PCD
	mmioFlags = ptePresent | pteWrite | pteWT | pteCD | pteNX

	// mmioMaxSize bounds one mapping (the ECAM window of 256 buses is
	// 256 MiB).
	mmioMaxSize = 1 << 30
	maxPhysAddr = 1 << 52
)

var mmioNext uintptr = mmioAreaStart

// mapMMIO maps [phys, phys+size) uncached and returns the virtual address
// of phys, or 0 when the range is invalid, overlaps RAM or page tables
// cannot be allocated.
//
//go:nosplit
func mapMMIO(phys, size uintptr) uintptr {
	if size == 0 || size > mmioMaxSize || phys+size < phys || phys+size > maxPhysAddr {
		return 0
	}
	start := phys &^ (PageSize - 1)
	end := (phys + size + PageSize - 1) &^ (PageSize - 1)
	for i := 0; i < nMemRegion && i < len(memRegions); i++ {
		if memRegions[i].start < end && memRegions[i].end > start {
			return 0 // RAM is not device memory
		}
	}
	vmLock.lock()
	va := mmioNext
	if va+(end-start) > mmioAreaEnd {
		vmLock.unlock()
		return 0
	}
	mmioNext = va + (end - start) + PageSize // guard page
	for p := start; p < end; p += PageSize {
		e := walk(va+(p-start), true, 0)
		if e == 0 {
			vmLock.unlock()
			return 0
		}
		store64(e, uint64(p)|mmioFlags)
	}
	vmLock.unlock()
	return va + (phys - start)
}

// MapMMIO maps size bytes of device memory at physical address phys
// uncached (PCD|PWT) into the kernel window and returns the virtual address
// of phys. Access the mapping only with the MMIORead*/MMIOWrite* functions,
// which make single loads and stores of the given width. Physical RAM is
// refused (EINVAL), as are ranges over 1 GiB.
func MapMMIO(phys, size uintptr) (uintptr, error) {
	va, _, e := syscall.RawSyscall(sysGosvBase+privMapMMIO, phys, size, 0)
	if e != 0 {
		return 0, e
	}
	return va, nil
}

// Single loads and stores of device registers (mmio_amd64.s): each is one
// MOV of the given width, never split, merged or elided by the compiler.
func MMIORead8(addr uintptr) uint8
func MMIORead16(addr uintptr) uint16
func MMIORead32(addr uintptr) uint32
func MMIORead64(addr uintptr) uint64
func MMIOWrite8(addr uintptr, v uint8)
func MMIOWrite16(addr uintptr, v uint16)
func MMIOWrite32(addr uintptr, v uint32)
func MMIOWrite64(addr uintptr, v uint64)
