package machine

import (
	"github.com/gosv/gosv/internal/bootproto"
	"unsafe"
)

// struct hvm_start_info (Xen public/arch-x86/hvm/start_info.h), version 1:
//
//	0  u32 magic (0x336ec578)   4  u32 version   8 u32 flags   12 u32 nr_modules
//	16 u64 modlist_paddr        24 u64 cmdline_paddr            32 u64 rsdp_paddr
//	40 u64 memmap_paddr         48 u32 memmap_entries           52 u32 reserved
//
// struct hvm_modlist_entry: u64 paddr, u64 size, u64 cmdline_paddr, u64 reserved (32 bytes).
// struct hvm_memmap_table_entry: u64 addr, u64 size, u32 type (1 = RAM), u32 reserved (24 bytes).
const (
	hvmStartMagic = 0x336ec578
	e820RAM       = 1
)

// Boot information copied out of hvm_start_info by boot0, so that nothing
// below 1 MiB is read after boot.
var (
	cmdlineBuf [bootproto.CmdlineSize]byte
	cmdlineLen int
	initrdPhys uintptr
	initrdSize uintptr
	rsdpPhys   uintptr
	memRegions [32]memRegion
	nMemRegion int
	totalRAM   uint64
)

type memRegion struct{ start, end uintptr }

//go:nosplit
func phys2virt(p uintptr) uintptr { return p + DirectMapBase }

//go:nosplit
func load32(a uintptr) uint32 { return *(*uint32)(ptr(a)) }

//go:nosplit
func load64(a uintptr) uint64 { return *(*uint64)(ptr(a)) }

//go:nosplit
func store64(a uintptr, v uint64) { *(*uint64)(ptr(a)) = v }

//go:nosplit
func store32(a uintptr, v uint32) { *(*uint32)(ptr(a)) = v }

// parseStartInfo reads hvm_start_info; it stops the machine with a message
// when the structure is missing or too old to carry a memory map.
//
//go:nosplit
func parseStartInfo() {
	si := phys2virt(startInfoPhys)
	if startInfoPhys == 0 || load32(si) != hvmStartMagic {
		puts("gosv: boot: no PVH hvm_start_info (bad magic); was the kernel started by a PVH loader?\n")
		exitMachine(bootproto.ExitRunnerFailed)
	}
	if load32(si+4) < 1 || load32(si+48) == 0 {
		puts("gosv: boot: hvm_start_info has no memory map (version < 1)\n")
		exitMachine(bootproto.ExitRunnerFailed)
	}
	if cl := uintptr(load64(si + 24)); cl != 0 {
		p := phys2virt(cl)
		n := 0
		for ; n < len(cmdlineBuf)-1; n++ {
			c := *(*byte)(ptr(p + uintptr(n)))
			if c == 0 {
				break
			}
			cmdlineBuf[n] = c
		}
		cmdlineLen = n
	}
	rsdpPhys = uintptr(load64(si + 32))
	if n := load32(si + 12); n > 0 {
		m := phys2virt(uintptr(load64(si + 16)))
		initrdPhys = uintptr(load64(m))
		initrdSize = uintptr(load64(m + 8))
	}
	mm := phys2virt(uintptr(load64(si + 40)))
	n := int(load32(si + 48))
	k := 0
	for i := 0; i < n && k < len(memRegions); i++ {
		e := mm + uintptr(i)*24
		if load32(e+16) != e820RAM {
			continue
		}
		start, size := uintptr(load64(e)), uintptr(load64(e+8))
		totalRAM += uint64(size)
		if uint(k) >= uint(len(memRegions)) {
			break
		}
		memRegions[k] = memRegion{start, start + size}
		k++
	}
	nMemRegion = k
}

// ptr turns a kernel address into a pointer. Level 0 addresses memory by
// number (direct map, page tables, hardware structures); none of it is Go heap.
//
//go:nosplit
func ptr(a uintptr) unsafe.Pointer { return unsafe.Add(unsafe.Pointer(nil), a) }
