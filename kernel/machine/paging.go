package machine

import "github.com/gosv/gosv/internal/bootproto"

// x86-64 4-level paging (Intel SDM vol. 3A, 4.5). Page-table pages are
// frames reached through the direct map.
const (
	ptePresent = 1 << 0
	pteWrite   = 1 << 1
	pteUser    = 1 << 2
	pteAccess  = 1 << 5
	pteDirty   = 1 << 6
	pteHuge    = 1 << 7
	pteGlobal  = 1 << 8
	pteDemand  = 1 << 9  // software: not present yet, allocate a zeroed frame on first touch
	pteNone    = 1 << 10 // software: PROT_NONE (frame kept in the address bits, or pteDemand)
	pteNX      = 1 << 63
	pteAddr    = 0x000f_ffff_ffff_f000
)

var (
	vmLock   spinlock
	pml4Phys uintptr
)

// walk returns the virtual address of the page-table entry for va, creating
// intermediate tables (with flags inter) when create is set; 0 when absent
// or when a huge page covers va.
//
//go:nosplit
func walk(va uintptr, create bool, inter uint64) uintptr {
	table := pml4Phys
	for level := 3; level > 0; level-- {
		idx := (va >> (pageShift + 9*uint(level))) & 511
		e := phys2virt(table) + idx*8
		v := load64(e)
		if v&ptePresent == 0 {
			if !create {
				return 0
			}
			f := allocFrame()
			if f == 0 {
				return 0
			}
			v = uint64(f) | ptePresent | pteWrite | inter
			store64(e, v)
		} else if v&pteHuge != 0 {
			return 0
		} else if inter&pteUser != 0 && v&pteUser == 0 {
			v |= pteUser
			store64(e, v)
		}
		table = uintptr(v & pteAddr)
	}
	return phys2virt(table) + ((va>>pageShift)&511)*8
}

// Protection bits of mmap(2).
const (
	protRead  = 1
	protWrite = 2
	protExec  = 4
)

//go:nosplit
func protFlags(prot uintptr, user bool) uint64 {
	f := uint64(0)
	if prot&protWrite != 0 {
		f |= pteWrite
	}
	if prot&protExec == 0 {
		f |= pteNX
	}
	if user {
		f |= pteUser
	}
	return f
}

// mapDemand marks [va, va+n) as demand-zero with prot (frames are
// allocated on first touch), releasing frames already mapped there.
// Returns false when page tables cannot be allocated.
//
//go:nosplit
func mapDemand(va, n uintptr, prot uintptr, user bool) bool {
	inter := uint64(0)
	if user {
		inter = pteUser
	}
	flags := protFlags(prot, user) | pteDemand
	if prot == 0 {
		flags |= pteNone // reserved: faults until mprotect gives access
	}
	flush := false
	for a := va; a < va+n; a += PageSize {
		e := walk(a, true, inter)
		if e == 0 {
			return false
		}
		old := load64(e)
		store64(e, flags)
		if old&ptePresent != 0 {
			freeFrame(uintptr(old & pteAddr))
			invlpg(a)
			flush = true
		}
	}
	if flush {
		tlbShootdown()
	}
	return true
}

// unmapRange removes [va, va+n), freeing present frames.
//
//go:nosplit
func unmapRange(va, n uintptr) {
	for a := va; a < va+n; a += PageSize {
		e := walk(a, false, 0)
		if e == 0 {
			// No table: skip to the next 2 MiB boundary.
			next := (a + hugeSize) &^ (hugeSize - 1)
			if next > a+PageSize {
				a = next - PageSize
			}
			continue
		}
		old := load64(e)
		if old == 0 {
			continue
		}
		store64(e, 0)
		if old&ptePresent != 0 {
			freeFrame(uintptr(old & pteAddr))
			invlpg(a)
		}
	}
	tlbShootdown()
}

// discardRange is madvise(MADV_DONTNEED): present pages become demand-zero
// again and their frames are freed.
//
//go:nosplit
func discardRange(va, n uintptr) {
	for a := va; a < va+n; a += PageSize {
		e := walk(a, false, 0)
		if e == 0 {
			continue
		}
		old := load64(e)
		if old&ptePresent == 0 {
			continue
		}
		store64(e, (old&^(pteAddr|ptePresent|pteAccess|pteDirty))|pteDemand)
		freeFrame(uintptr(old & pteAddr))
		invlpg(a)
	}
	tlbShootdown()
}

// demandFault resolves a not-present fault at va when its PTE is marked
// demand-zero. It reports whether the access may be retried.
//
//go:nosplit
func demandFault(va uintptr, user bool) bool {
	if user && va >= AppLimit {
		return false
	}
	vmLock.lock()
	ok := false
	if e := walk(va, false, 0); e != 0 {
		old := load64(e)
		if va < AppLimit && old&pteUser == 0 {
			vmLock.unlock()
			return false
		}
		if old&ptePresent != 0 {
			ok = true // another CPU got here first
		} else if old&pteDemand != 0 && old&pteNone == 0 {
			f := allocFrame()
			if f == 0 {
				puts("gosv: out of memory (demand fault)\n")
				exitMachine(bootproto.ExitRunnerFailed)
			}
			store64(e, (old&^pteDemand)|uint64(f)|ptePresent)
			ok = true
		}
	}
	vmLock.unlock()
	return ok
}

// mapPresent maps [va, va+n) to freshly allocated zeroed frames now.
//
//go:nosplit
func mapPresent(va, n uintptr, prot uintptr) bool {
	flags := protFlags(prot, false) | ptePresent
	for a := va; a < va+n; a += PageSize {
		e := walk(a, true, 0)
		if e == 0 {
			return false
		}
		f := allocFrame()
		if f == 0 {
			return false
		}
		store64(e, flags|uint64(f))
	}
	return true
}

// protectRange changes the protection of present and demand pages in
// [va, va+n) (mprotect(2) on app memory). PROT_NONE keeps the frame but
// clears the present bit and marks the entry with pteNone.
//
//go:nosplit
func protectRange(va, n uintptr, prot uintptr) {
	for a := va; a < va+n; a += PageSize {
		e := walk(a, false, 0)
		if e == 0 {
			continue
		}
		old := load64(e)
		if old == 0 {
			continue
		}
		frame := old & pteAddr
		var v uint64
		switch {
		case prot == 0:
			if old&(ptePresent|pteNone) != 0 {
				v = frame | pteNone | pteUser
			} else {
				v = pteDemand | pteNone | pteUser
			}
		case old&(ptePresent|pteNone) != 0 && frame != 0:
			v = frame | ptePresent | protFlags(prot, true)
		default:
			v = pteDemand | protFlags(prot, true)
		}
		store64(e, v)
		invlpg(a)
	}
	tlbShootdown()
}
