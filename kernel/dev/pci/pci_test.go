package pci

import (
	"reflect"
	"testing"
)

// space is a fake configuration space: 256 bytes per function.
type space map[[3]uint8]*[256]byte

func (s space) PCIConfigRead32(bus, dev, fn uint8, off uint16) uint32 {
	c, ok := s[[3]uint8{bus, dev, fn}]
	if !ok {
		return 0xffffffff
	}
	return uint32(c[off]) | uint32(c[off+1])<<8 | uint32(c[off+2])<<16 | uint32(c[off+3])<<24
}

func (s space) PCIConfigWrite32(bus, dev, fn uint8, off uint16, v uint32) {
	if c, ok := s[[3]uint8{bus, dev, fn}]; ok {
		c[off], c[off+1], c[off+2], c[off+3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	}
}

func (s space) add(dev, fn uint8, vendor, device uint16, class, sub uint8, multi bool) *[256]byte {
	c := new([256]byte)
	c[0], c[1], c[2], c[3] = byte(vendor), byte(vendor>>8), byte(device), byte(device>>8)
	c[0xb], c[0xa] = class, sub
	if multi {
		c[0xe] = 0x80
	}
	s[[3]uint8{0, dev, fn}] = c
	return c
}

func TestScan(t *testing.T) {
	s := space{}
	s.add(0, 0, 0x8086, 0x29c0, 6, 0, false)   // q35 host bridge
	s.add(2, 0, 0x1af4, 0x1041, 2, 0, false)   // virtio-net
	s.add(0x1f, 0, 0x8086, 0x2918, 6, 1, true) // ICH9 LPC, multi-function
	s.add(0x1f, 2, 0x8086, 0x2922, 1, 6, false)
	s.add(0x1f, 3, 0x8086, 0x2930, 0xc, 5, false)
	s.add(5, 1, 0x1234, 0x1111, 3, 0, false) // fn 1 of a single-function device: not scanned
	var got []string
	for _, f := range Scan(s, 0) {
		got = append(got, f.String())
	}
	want := []string{"pci 00:00.0 [8086:29c0]", "pci 00:02.0 [1af4:1041]", "pci 00:1f.0 [8086:2918]", "pci 00:1f.2 [8086:2922]", "pci 00:1f.3 [8086:2930]"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Scan = %q, want %q", got, want)
	}
}

func TestCapsAndBARs(t *testing.T) {
	s := space{}
	c := s.add(3, 0, 0x1af4, 0x1041, 2, 0, false)
	c[6] = 0x10 // capability list
	c[0x34] = 0x40
	c[0x40], c[0x41] = CapMSIX, 0x50
	c[0x42], c[0x43] = 2, 0 // 3 entries
	c[0x44] = 1             // table in BAR1 at 0
	c[0x48], c[0x49] = 0x01, 0x08
	c[0x50], c[0x51] = CapVendor, 0x50 // points at itself: a loop
	// BAR1: 32-bit memory; BAR4: 64-bit memory above 4 GiB; BAR0: I/O.
	s.PCIConfigWrite32(0, 3, 0, 0x10, 0xc001)
	s.PCIConfigWrite32(0, 3, 0, 0x14, 0xfebd1000)
	s.PCIConfigWrite32(0, 3, 0, 0x20, 0x0000000c)
	s.PCIConfigWrite32(0, 3, 0, 0x24, 0x00000008)
	f := Scan(s, 0)[0]
	caps := f.Caps(s)
	if len(caps) != 48 || caps[0] != (Cap{CapMSIX, 0x40}) || caps[1] != (Cap{CapVendor, 0x50}) {
		t.Fatalf("caps %v (a looping list must stop at 48)", caps[:2])
	}
	m, ok := f.FindMSIX(s)
	if !ok || m.TableSize != 3 || m.TableBAR != 1 || m.TableOff != 0 || m.PBABAR != 1 || m.PBAOff != 0x800 {
		t.Fatalf("MSI-X %+v %v", m, ok)
	}
	for i, want := range map[int]BAR{0: {Addr: 0xc000, IO: true}, 1: {Addr: 0xfebd1000}, 4: {Addr: 0x8_0000_0000, Is64: true}} {
		if b, err := f.ReadBAR(s, i); err != nil || b != want {
			t.Errorf("BAR%d = %+v, %v; want %+v", i, b, err, want)
		}
	}
	if _, err := f.ReadBAR(s, 6); err == nil {
		t.Error("BAR6 accepted")
	}
	f.SetCommand(s, CmdMemory|CmdBusMaster, 0)
	f.EnableMSIX(s, m)
	if cmd := uint16(f.Read32(s, RegCommand)); cmd != CmdMemory|CmdBusMaster|CmdINTxDisable {
		t.Fatalf("command %#x", cmd)
	}
	if ctl := f.Read16(s, m.Off+2); ctl != 0x8002 {
		t.Fatalf("MSI-X control %#x", ctl)
	}
}
