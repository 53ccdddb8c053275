package machine

import "unsafe"

// ACPI table discovery (ACPI 6.5 chapter 5): RSDP (from hvm_start_info or
// a scan of the BIOS area 0xE0000-0xFFFFF), then RSDT/XSDT, whose entries
// are recorded in acpiTables. From the MADT ("APIC", 5.2.12) boot takes the
// CPUs' local APICs (type 0), the I/O APICs (type 1) and the interrupt
// source overrides of ISA IRQs (type 2); from the MCFG (PCI Firmware
// Specification 4.1.2) the ECAM window of PCI segment 0. Level 1 reads any
// table, the DSDT included, through ACPITable.
//
// Tables are firmware data: every parser here bounds its reads by the
// table's length (capped at acpiMaxTable) and the fuzz targets in
// acpi_test.go check it.

const (
	acpiHeaderLen = 36
	acpiMaxTable  = 1 << 20 // longer tables are treated as corrupt
	maxACPITables = 64
	maxIOAPICs    = 8
)

type ioapicInfo struct {
	phys    uintptr // register window (IOREGSEL at +0, IOWIN at +0x10)
	va      uintptr // uncached mapping of it (ioapic.go)
	id      uint32
	gsiBase uint32
	pins    uint32 // redirection entries (from the version register)
}

// isaOverride is an interrupt source override of ISA IRQ n: its GSI and
// MPS INTI flags (polarity bits 0-1, trigger mode bits 2-3).
type isaOverride struct {
	gsi   uint32
	flags uint16
	set   bool
}

var (
	cpuAPICIDs   [MaxCPUs]uint32
	nCPUsFound   int
	acpiTables   [maxACPITables]uintptr // physical addresses of the RSDT/XSDT entries
	nACPITables  int
	ioapics      [maxIOAPICs]ioapicInfo
	nIOAPIC      int
	isaOverrides [16]isaOverride
	// ECAM window of PCI segment 0 from the MCFG: configuration space of
	// bus b starts at ecamPhys + (b-ecamBusStart)<<20.
	ecamPhys     uintptr
	ecamBusStart uint8
	ecamBusEnd   uint8
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
func load8(a uintptr) uint8 { return *(*uint8)(ptr(a)) }

//go:nosplit
func load16(a uintptr) uint16 { return *(*uint16)(ptr(a)) }

//go:nosplit
func findRSDP() uintptr {
	if rsdpPhys != 0 && rsdpPhys < bootMappedLimit && sigAt(phys2virt(rsdpPhys), "RSD PTR ") {
		return rsdpPhys
	}
	for p := uintptr(0xE0000); p < 0x100000; p += 16 {
		if sigAt(phys2virt(p), "RSD PTR ") {
			return p
		}
	}
	return 0
}

// tableLen returns the length of the ACPI table at physical address p, or
// 0 when p is outside the direct map or the length is implausible.
//
//go:nosplit
func tableLen(p uintptr) uintptr {
	if p == 0 || p >= bootMappedLimit-acpiHeaderLen {
		return 0
	}
	n := uintptr(load32(phys2virt(p) + 4))
	if n < acpiHeaderLen || n > acpiMaxTable || p+n > bootMappedLimit {
		return 0
	}
	return n
}

// initACPI records the tables the RSDT/XSDT lists and parses the MADT and
// MCFG. Without ACPI the machine has just the boot CPU, no I/O APIC and
// no ECAM.
//
//go:nosplit
func initACPI(bspID uint32) {
	cpuAPICIDs[0] = bspID
	nCPUsFound = 1
	rsdp := findRSDP()
	if rsdp == 0 {
		return
	}
	r := phys2virt(rsdp)
	var sdt uintptr
	entry := uintptr(4)
	if load8(r+15) >= 2 && load64(r+24) != 0 && load64(r+24) < bootMappedLimit {
		sdt, entry = uintptr(load64(r+24)), 8 // XSDT
	} else {
		sdt = uintptr(load32(r + 16)) // RSDT
	}
	n := tableLen(sdt)
	if n == 0 {
		return
	}
	s := phys2virt(sdt)
	for i := uintptr(0); i < (n-acpiHeaderLen)/entry && nACPITables < maxACPITables; i++ {
		var t uintptr
		if entry == 8 {
			t = uintptr(load64(s + acpiHeaderLen + i*8))
		} else {
			t = uintptr(load32(s + acpiHeaderLen + i*4))
		}
		l := tableLen(t)
		if l == 0 {
			continue
		}
		acpiTables[nACPITables&(maxACPITables-1)] = t
		nACPITables++
		switch v := phys2virt(t); {
		case sigAt(v, "APIC"):
			parseMADT(v, l, bspID)
		case sigAt(v, "MCFG"):
			parseMCFG(v, l)
		}
	}
}

// parseMADT reads the MADT at virtual address m, n bytes long: the
// enabled local APICs other than the boot CPU's go to cpuAPICIDs, the I/O
// APICs to ioapics, the overrides of ISA IRQs to isaOverrides.
//
//go:nosplit
func parseMADT(m, n uintptr, bspID uint32) {
	end := m + n
	for e := m + 44; e+2 <= end; {
		typ := load8(e)
		l := uintptr(load8(e + 1))
		if l < 2 || e+l > end {
			break
		}
		switch {
		case typ == 0 && l >= 8: // processor local APIC
			id := uint32(load8(e + 3))
			flags := load32(e + 4)
			if flags&1 != 0 && id != bspID && nCPUsFound < MaxCPUs {
				cpuAPICIDs[nCPUsFound&(MaxCPUs-1)] = id
				nCPUsFound++
			}
		case typ == 1 && l >= 12: // I/O APIC
			if nIOAPIC < maxIOAPICs {
				io := &ioapics[nIOAPIC&(maxIOAPICs-1)]
				io.id = uint32(load8(e + 2))
				io.phys = uintptr(load32(e + 4))
				io.gsiBase = load32(e + 8)
				io.pins = 0
				io.va = 0
				nIOAPIC++
			}
		case typ == 2 && l >= 10: // interrupt source override
			if bus, src := load8(e+2), load8(e+3); bus == 0 && src < 16 {
				isaOverrides[src&15] = isaOverride{gsi: load32(e + 4), flags: load16(e + 8), set: true}
			}
		}
		e += l
	}
}

// parseMCFG takes the ECAM window of PCI segment 0 from the MCFG at m, n
// bytes long (entries of 16 bytes from offset 44: u64 base, u16 segment,
// u8 first bus, u8 last bus, u32 reserved).
//
//go:nosplit
func parseMCFG(m, n uintptr) {
	for e := m + 44; e+16 <= m+n; e += 16 {
		base := uintptr(load64(e))
		seg := load16(e + 8)
		start, last := load8(e+10), load8(e+11)
		if seg != 0 || base == 0 || last < start || base&0xFFFFF != 0 {
			continue
		}
		ecamPhys, ecamBusStart, ecamBusEnd = base, start, last
		return
	}
}

// dsdtOf returns the physical address of the DSDT that the FADT ("FACP")
// at f, n bytes long, names: X_DSDT (offset 140) when present, else DSDT
// (offset 40).
//
//go:nosplit
func dsdtOf(f, n uintptr) uintptr {
	if n >= 148 {
		if x := uintptr(load64(f + 140)); x != 0 {
			return x
		}
	}
	if n >= 44 {
		return uintptr(load32(f + 40))
	}
	return 0
}

// ACPITable returns a copy of the first ACPI table with signature sig
// ("APIC", "MCFG", "FACP", "DSDT", "SSDT", ...), header included, or nil
// when the firmware provides none. The DSDT is found through the FADT.
func ACPITable(sig string) []byte {
	p := findTable(sig)
	n := tableLen(p)
	if n == 0 {
		return nil
	}
	b := make([]byte, n)
	copy(b, unsafe.Slice((*byte)(ptr(phys2virt(p))), n))
	return b
}

// findTable returns the physical address of the first table with
// signature sig, or 0.
//
//go:nosplit
func findTable(sig string) uintptr {
	if len(sig) != 4 {
		return 0
	}
	for i := 0; i < nACPITables && i < maxACPITables; i++ {
		t := acpiTables[i]
		v := phys2virt(t)
		if sigAt(v, sig) {
			return t
		}
		if sig == "DSDT" && sigAt(v, "FACP") {
			if d := dsdtOf(v, tableLen(t)); tableLen(d) != 0 && sigAt(phys2virt(d), "DSDT") {
				return d
			}
		}
	}
	return 0
}
