// Package pci enumerates PCI functions and reads what drivers need from
// their configuration space: identification, BARs, the capability list and
// MSI-X. Configuration accesses go through the machine layer (see
// ConfigSpace); this package is ordinary Go and runs on the host in tests.
package pci

import "fmt"

// ConfigSpace reads and writes 32-bit words of a function's configuration
// space. dev.Platform satisfies it.
type ConfigSpace interface {
	PCIConfigRead32(bus, dev, fn uint8, off uint16) uint32
	PCIConfigWrite32(bus, dev, fn uint8, off uint16, v uint32)
}

// Configuration space offsets (PCI Local Bus 3.0, type 0 header).
const (
	RegVendorDevice = 0x00
	RegCommand      = 0x04 // low 16 bits; status in the high 16
	RegClass        = 0x08 // revision, prog IF, subclass, class
	RegHeader       = 0x0c // header type in bits 16-23
	RegBAR0         = 0x10
	RegSubsystem    = 0x2c
	RegCapPtr       = 0x34
	RegInterrupt    = 0x3c // line (bits 0-7), pin (bits 8-15)

	CmdIO          = 1 << 0
	CmdMemory      = 1 << 1
	CmdBusMaster   = 1 << 2
	CmdINTxDisable = 1 << 10
	StatusCapList  = 1 << 4 // in the status register (bit 20 of RegCommand's word)

	CapMSI    = 0x05
	CapVendor = 0x09
	CapMSIX   = 0x11
)

// Func is one PCI function.
type Func struct {
	Bus, Dev, Fn     uint8
	Vendor, Device   uint16
	Class, Subclass  uint8
	ProgIF, Revision uint8
	HeaderType       uint8 // without the multi-function bit
	IntPin           uint8 // 1-4 for INTA-INTD, 0 for none
	IntLine          uint8 // as set by the firmware
}

func (f Func) String() string {
	return fmt.Sprintf("pci %02x:%02x.%d [%04x:%04x]", f.Bus, f.Dev, f.Fn, f.Vendor, f.Device)
}

// Read32 and Write32 access the function's configuration space.
func (f Func) Read32(c ConfigSpace, off uint16) uint32 {
	return c.PCIConfigRead32(f.Bus, f.Dev, f.Fn, off)
}
func (f Func) Write32(c ConfigSpace, off uint16, v uint32) {
	c.PCIConfigWrite32(f.Bus, f.Dev, f.Fn, off, v)
}

// Read8 and Read16 read within the aligned 32-bit word.
func (f Func) Read8(c ConfigSpace, off uint16) uint8 {
	return uint8(f.Read32(c, off&^3) >> (8 * (off & 3)))
}
func (f Func) Read16(c ConfigSpace, off uint16) uint16 {
	return uint16(f.Read32(c, off&^3) >> (8 * (off & 2)))
}

// probe reads one function's identification; ok is false when absent.
func probe(c ConfigSpace, bus, dev, fn uint8) (f Func, multi, ok bool) {
	id := c.PCIConfigRead32(bus, dev, fn, RegVendorDevice)
	if uint16(id) == 0xffff || uint16(id) == 0 {
		return f, false, false
	}
	f = Func{Bus: bus, Dev: dev, Fn: fn, Vendor: uint16(id), Device: uint16(id >> 16)}
	cl := f.Read32(c, RegClass)
	f.Revision, f.ProgIF, f.Subclass, f.Class = uint8(cl), uint8(cl>>8), uint8(cl>>16), uint8(cl>>24)
	ht := uint8(f.Read32(c, RegHeader) >> 16)
	f.HeaderType = ht &^ 0x80
	in := f.Read32(c, RegInterrupt)
	f.IntLine, f.IntPin = uint8(in), uint8(in>>8)
	return f, ht&0x80 != 0, true
}

// Scan lists the functions on one bus (bridges are listed, not followed;
// q35 puts every device on bus 0).
func Scan(c ConfigSpace, bus uint8) []Func {
	var out []Func
	for d := uint8(0); d < 32; d++ {
		f, multi, ok := probe(c, bus, d, 0)
		if !ok {
			continue
		}
		out = append(out, f)
		if !multi {
			continue
		}
		for fn := uint8(1); fn < 8; fn++ {
			if g, _, ok := probe(c, bus, d, fn); ok {
				out = append(out, g)
			}
		}
	}
	return out
}

// Cap is one entry of the capability list.
type Cap struct {
	ID  uint8
	Off uint16
}

// Caps walks the capability list. It stops at 48 entries or a pointer into
// the header, so a looping or corrupt list cannot hang the caller.
func (f Func) Caps(c ConfigSpace) []Cap {
	if f.Read32(c, RegCommand)>>16&StatusCapList == 0 {
		return nil
	}
	var out []Cap
	p := uint16(f.Read8(c, RegCapPtr)) &^ 3
	for i := 0; p >= 0x40 && i < 48; i++ {
		w := f.Read32(c, p)
		out = append(out, Cap{ID: uint8(w), Off: p})
		p = uint16(uint8(w>>8)) &^ 3
	}
	return out
}

// BAR is a decoded base address register.
type BAR struct {
	Addr uint64
	IO   bool // I/O space (else memory)
	Is64 bool // occupies this and the next register
}

// ReadBAR decodes BAR i (0-5) as the firmware assigned it.
func (f Func) ReadBAR(c ConfigSpace, i int) (BAR, error) {
	if i < 0 || i > 5 {
		return BAR{}, fmt.Errorf("%v: BAR %d out of range", f, i)
	}
	off := uint16(RegBAR0 + 4*i)
	lo := f.Read32(c, off)
	if lo&1 != 0 {
		return BAR{Addr: uint64(lo &^ 3), IO: true}, nil
	}
	b := BAR{Addr: uint64(lo &^ 0xf)}
	if lo>>1&3 == 2 {
		if i == 5 {
			return BAR{}, fmt.Errorf("%v: 64-bit BAR 5", f)
		}
		b.Is64 = true
		b.Addr |= uint64(f.Read32(c, off+4)) << 32
	}
	return b, nil
}

// SetCommand sets and clears bits of the command register.
func (f Func) SetCommand(c ConfigSpace, set, clear uint16) {
	w := f.Read32(c, RegCommand)
	cmd := (uint16(w) | set) &^ clear
	// Writing the status half back as 0 clears nothing (its bits are
	// write-one-to-clear).
	f.Write32(c, RegCommand, uint32(cmd))
}

// MSIX describes a function's MSI-X capability.
type MSIX struct {
	Off       uint16 // capability offset
	TableSize int    // number of entries
	TableBAR  int
	TableOff  uint32
	PBABAR    int
	PBAOff    uint32
}

// FindMSIX returns the MSI-X capability, if the function has one.
func (f Func) FindMSIX(c ConfigSpace) (MSIX, bool) {
	for _, cp := range f.Caps(c) {
		if cp.ID != CapMSIX {
			continue
		}
		ctl := f.Read32(c, cp.Off) >> 16
		t := f.Read32(c, cp.Off+4)
		pba := f.Read32(c, cp.Off+8)
		return MSIX{
			Off:       cp.Off,
			TableSize: int(ctl&0x7ff) + 1,
			TableBAR:  int(t & 7),
			TableOff:  t &^ 7,
			PBABAR:    int(pba & 7),
			PBAOff:    pba &^ 7,
		}, true
	}
	return MSIX{}, false
}

// MSI-X message control bits (bits 16-31 of the capability's first word).
const (
	msixEnable       = 1 << 31
	msixFunctionMask = 1 << 30
)

// EnableMSIX turns MSI-X on (with every vector still individually masked
// or programmed by the caller) and disables INTx.
func (f Func) EnableMSIX(c ConfigSpace, m MSIX) {
	w := f.Read32(c, m.Off)
	f.Write32(c, m.Off, (w|msixEnable)&^msixFunctionMask)
	f.SetCommand(c, CmdINTxDisable, 0)
}

// MSI-X table entry layout: 16 bytes each.
const (
	MSIXEntrySize    = 16
	MSIXAddrLo       = 0
	MSIXAddrHi       = 4
	MSIXData         = 8
	MSIXVectorCtrl   = 12
	MSIXVectorMasked = 1
)
