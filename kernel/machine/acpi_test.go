package machine

import (
	"encoding/binary"
	"encoding/hex"
	"os"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// The testdata tables are what QEMU 7.2 gives gosv with -smp 2 (dumped
// through ACPITable): microvm has two I/O APICs (GSIs 0-23 and 24-47) and
// no overrides; q35 has one I/O APIC, IRQ 0 on GSI 2 and the PCI IRQs 5,
// 9, 10 and 11 level-triggered, and an MCFG with ECAM at 0xB0000000.
func table(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name + ".hex")
	if err != nil {
		t.Fatal(err)
	}
	d, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func resetACPI() {
	nCPUsFound, nIOAPIC = 1, 0
	cpuAPICIDs = [MaxCPUs]uint32{}
	ioapics = [maxIOAPICs]ioapicInfo{}
	isaOverrides = [16]isaOverride{}
	ecamPhys, ecamBusStart, ecamBusEnd = 0, 0, 0
}

// guarded copies b to the end of a page that a PROT_NONE page follows, so
// that a parser reading past the end faults.
func guarded(t testing.TB, b []byte) uintptr {
	t.Helper()
	n := (len(b) + PageSize - 1) &^ (PageSize - 1)
	mem, err := syscall.Mmap(-1, 0, n+PageSize, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	if err := syscall.Mprotect(mem[n:], syscall.PROT_NONE); err != nil {
		t.Fatal(err)
	}
	copy(mem[n-len(b):], b)
	return uintptr(unsafe.Pointer(&mem[0])) + uintptr(n-len(b))
}

func TestParseMADTMicrovm(t *testing.T) {
	resetACPI()
	b := table(t, "microvm-APIC")
	parseMADT(guarded(t, b), uintptr(len(b)), 0)
	if nCPUsFound != 2 || cpuAPICIDs[1] != 1 {
		t.Errorf("CPUs %d, APIC ids %v", nCPUsFound, cpuAPICIDs[:nCPUsFound])
	}
	want := []ioapicInfo{{phys: 0xFEC00000, id: 0, gsiBase: 0}, {phys: 0xFEC10000, id: 1, gsiBase: 24}}
	if nIOAPIC != 2 || ioapics[0] != want[0] || ioapics[1] != want[1] {
		t.Errorf("I/O APICs %+v, want %+v", ioapics[:nIOAPIC], want)
	}
	for irq := uint8(0); irq < 16; irq++ {
		if gsi, level, low := ISAIRQToGSI(irq); gsi != uint32(irq) || level || low {
			t.Errorf("IRQ %d -> GSI %d level %v low %v, want identity edge high", irq, gsi, level, low)
		}
	}
}

func TestParseMADTQ35(t *testing.T) {
	resetACPI()
	b := table(t, "q35-APIC")
	parseMADT(guarded(t, b), uintptr(len(b)), 0)
	if nCPUsFound != 2 || nIOAPIC != 1 || ioapics[0].phys != 0xFEC00000 || ioapics[0].gsiBase != 0 {
		t.Errorf("CPUs %d, I/O APICs %+v", nCPUsFound, ioapics[:nIOAPIC])
	}
	for _, c := range []struct {
		irq        uint8
		gsi        uint32
		level, low bool
	}{{0, 2, false, false}, {1, 1, false, false}, {5, 5, true, false}, {8, 8, false, false}, {9, 9, true, false}, {11, 11, true, false}, {14, 14, false, false}, {16, 16, false, false}} {
		gsi, level, low := ISAIRQToGSI(c.irq)
		if gsi != c.gsi || level != c.level || low != c.low {
			t.Errorf("IRQ %d -> GSI %d level %v low %v, want %d %v %v", c.irq, gsi, level, low, c.gsi, c.level, c.low)
		}
	}
}

func TestParseMCFG(t *testing.T) {
	resetACPI()
	b := table(t, "q35-MCFG")
	parseMCFG(guarded(t, b), uintptr(len(b)))
	if ecamPhys != 0xB0000000 || ecamBusStart != 0 || ecamBusEnd != 255 {
		t.Errorf("ECAM %#x buses %d-%d, want 0xb0000000 0-255", ecamPhys, ecamBusStart, ecamBusEnd)
	}
}

func TestDSDTOf(t *testing.T) {
	for _, name := range []string{"microvm-FACP", "q35-FACP"} {
		b := table(t, name)
		want := uintptr(binary.LittleEndian.Uint32(b[40:]))
		if x := binary.LittleEndian.Uint64(b[140:]); x != 0 {
			want = uintptr(x)
		}
		if got := dsdtOf(guarded(t, b), uintptr(len(b))); got != want || got == 0 {
			t.Errorf("%s: DSDT at %#x, want %#x", name, got, want)
		}
		if got := dsdtOf(guarded(t, b[:44]), 44); got != uintptr(binary.LittleEndian.Uint32(b[40:])) {
			t.Errorf("%s: ACPI 1.0 FADT gives DSDT %#x", name, got)
		}
		if got := dsdtOf(guarded(t, b[:40]), 40); got != 0 {
			t.Errorf("%s: truncated FADT gives DSDT %#x", name, got)
		}
	}
}

func TestMSIMessage(t *testing.T) {
	oldN, oldIDs := ncpu, [2]uint32{cpus[0].lapicID, cpus[1].lapicID}
	defer func() { ncpu, cpus[0].lapicID, cpus[1].lapicID = oldN, oldIDs[0], oldIDs[1] }()
	ncpu, cpus[0].lapicID, cpus[1].lapicID = 2, 0, 5
	for _, c := range []struct {
		v    uint8
		cpu  int
		addr uint64
		data uint32
	}{{0x30, 0, 0xFEE00000, 0x30}, {0x41, 1, 0xFEE05000, 0x41}, {0x41, 2, 0xFEE00000, 0x41}, {0xEF, -1, 0xFEE00000, 0xEF}} {
		if a, d := MSIMessage(c.v, c.cpu); a != c.addr || d != c.data {
			t.Errorf("MSIMessage(%#x, %d) = %#x, %#x; want %#x, %#x", c.v, c.cpu, a, d, c.addr, c.data)
		}
	}
}

// The parsers read firmware data: whatever the bytes, they stay inside
// the table (the guard page faults otherwise) and inside their arrays.
func FuzzParseMADT(f *testing.F) {
	f.Add(table(f, "microvm-APIC"))
	f.Add(table(f, "q35-APIC"))
	f.Fuzz(func(t *testing.T, b []byte) {
		resetACPI()
		parseMADT(guarded(t, b), uintptr(len(b)), 0)
		if nCPUsFound < 1 || nCPUsFound > MaxCPUs || nIOAPIC < 0 || nIOAPIC > maxIOAPICs {
			t.Fatalf("CPUs %d, I/O APICs %d", nCPUsFound, nIOAPIC)
		}
		for irq := uint8(0); irq < 20; irq++ {
			ISAIRQToGSI(irq)
		}
	})
}

func FuzzParseMCFG(f *testing.F) {
	f.Add(table(f, "q35-MCFG"))
	f.Fuzz(func(t *testing.T, b []byte) {
		resetACPI()
		parseMCFG(guarded(t, b), uintptr(len(b)))
		if ecamPhys != 0 && (ecamPhys&0xFFFFF != 0 || ecamBusEnd < ecamBusStart) {
			t.Fatalf("ECAM %#x buses %d-%d", ecamPhys, ecamBusStart, ecamBusEnd)
		}
		if len(b) < 44+16 && ecamPhys != 0 {
			t.Fatalf("ECAM %#x from a %d-byte table", ecamPhys, len(b))
		}
	})
}

func FuzzDSDTOf(f *testing.F) {
	f.Add(table(f, "q35-FACP"))
	f.Fuzz(func(t *testing.T, b []byte) {
		dsdtOf(guarded(t, b), uintptr(len(b)))
	})
}
