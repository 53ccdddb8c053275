package machine

// ACPI table discovery (ACPI 6.5 chapter 5): RSDP (from hvm_start_info or
// a scan of the BIOS area 0xE0000-0xFFFFF), RSDT/XSDT, then the MADT
// ("APIC"), whose type-0 entries are the CPUs' local APICs.

var (
	cpuAPICIDs [MaxCPUs]uint32
	nCPUsFound int
)

//go:nosplit
func sigAt(a uintptr, s string) bool {
	for i := 0; i < len(s); i++ {
		if *(*byte)(ptr(a + uintptr(i))) != s[i] {
			return false
		}
	}
	return true
}

//go:nosplit
func findRSDP() uintptr {
	if rsdpPhys != 0 && sigAt(phys2virt(rsdpPhys), "RSD PTR ") {
		return rsdpPhys
	}
	for p := uintptr(0xE0000); p < 0x100000; p += 16 {
		if sigAt(phys2virt(p), "RSD PTR ") {
			return p
		}
	}
	return 0
}

// findMADT lists the enabled local APIC ids in cpuAPICIDs; without ACPI it
// reports just the boot CPU.
//
//go:nosplit
func findMADT(bspID uint32) {
	cpuAPICIDs[0] = bspID
	nCPUsFound = 1
	rsdp := findRSDP()
	if rsdp == 0 {
		return
	}
	r := phys2virt(rsdp)
	var sdt uintptr
	entry := uintptr(4)
	if *(*byte)(ptr(r + 15)) >= 2 && load64(r+24) != 0 {
		sdt, entry = uintptr(load64(r+24)), 8 // XSDT
	} else {
		sdt = uintptr(load32(r + 16)) // RSDT
	}
	if sdt == 0 || sdt >= bootMappedLimit {
		return
	}
	s := phys2virt(sdt)
	n := (uintptr(load32(s+4)) - 36) / entry
	for i := uintptr(0); i < n && i < 64; i++ {
		var t uintptr
		if entry == 8 {
			t = uintptr(load64(s + 36 + i*8))
		} else {
			t = uintptr(load32(s + 36 + i*4))
		}
		if t == 0 || t >= bootMappedLimit || !sigAt(phys2virt(t), "APIC") {
			continue
		}
		m := phys2virt(t)
		end := m + uintptr(load32(m+4))
		for e := m + 44; e+2 <= end; {
			typ := *(*byte)(ptr(e))
			l := uintptr(*(*byte)(ptr(e + 1)))
			if l < 2 {
				break
			}
			if typ == 0 && l >= 8 { // processor local APIC
				id := uint32(*(*byte)(ptr(e + 3)))
				flags := load32(e + 4)
				if flags&1 != 0 && id != bspID && nCPUsFound < MaxCPUs {
					cpuAPICIDs[nCPUsFound&(MaxCPUs-1)] = id
					nCPUsFound++
				}
			}
			e += l
		}
		return
	}
}
