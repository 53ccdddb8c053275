package acpi

import (
	"encoding/binary"
	"errors"
)

// Resource descriptor types (ACPI 6.5 section 6.4).
const (
	smallIRQ     = 0x04
	smallIO      = 0x08
	smallFixedIO = 0x09
	smallEnd     = 0x0f

	largeMemory32      = 0x85
	largeMemory32Fixed = 0x86
	largeDWordAddress  = 0x87
	largeExtInterrupt  = 0x89
	largeQWordAddress  = 0x8a
)

// Memory is a memory range of a resource template.
type Memory struct {
	Base, Size uint64
}

// IRQ is an interrupt of a resource template, as a GSI.
type IRQ struct {
	GSI       uint32
	Level     bool // level-triggered (else edge)
	ActiveLow bool
}

// IOPort is an I/O port range.
type IOPort struct {
	Base, Size uint16
}

// Resources is what a _CRS resource template declares.
type Resources struct {
	Memory []Memory
	IRQs   []IRQ
	IO     []IOPort
}

// ErrBadResource reports a malformed resource template.
var ErrBadResource = errors.New("acpi: malformed resource template")

// ParseResources decodes a resource template (a _CRS buffer). Descriptor
// types it does not need are skipped by their length.
func ParseResources(b []byte) (Resources, error) {
	var r Resources
	le := binary.LittleEndian
	for len(b) > 0 {
		tag := b[0]
		if tag&0x80 == 0 {
			typ, n := tag>>3&0xf, int(tag&7)
			if len(b) < 1+n {
				return r, ErrBadResource
			}
			d := b[1 : 1+n]
			switch typ {
			case smallEnd:
				return r, nil
			case smallIRQ:
				if n < 2 {
					return r, ErrBadResource
				}
				mask := le.Uint16(d)
				// Without the flags byte: edge, active high.
				level, low := false, false
				if n >= 3 {
					level = d[2]&1 == 0
					low = d[2]&8 != 0
				}
				for i := uint32(0); i < 16; i++ {
					if mask&(1<<i) != 0 {
						r.IRQs = append(r.IRQs, IRQ{GSI: i, Level: level, ActiveLow: low})
					}
				}
			case smallIO:
				if n < 7 {
					return r, ErrBadResource
				}
				r.IO = append(r.IO, IOPort{Base: le.Uint16(d[1:]), Size: uint16(d[6])})
			case smallFixedIO:
				if n < 3 {
					return r, ErrBadResource
				}
				r.IO = append(r.IO, IOPort{Base: le.Uint16(d), Size: uint16(d[2])})
			}
			b = b[1+n:]
			continue
		}
		if len(b) < 3 {
			return r, ErrBadResource
		}
		n := int(le.Uint16(b[1:]))
		if len(b) < 3+n {
			return r, ErrBadResource
		}
		d := b[3 : 3+n]
		switch tag {
		case largeMemory32Fixed:
			if n < 9 {
				return r, ErrBadResource
			}
			r.Memory = append(r.Memory, Memory{Base: uint64(le.Uint32(d[1:])), Size: uint64(le.Uint32(d[5:]))})
		case largeMemory32:
			if n < 17 {
				return r, ErrBadResource
			}
			r.Memory = append(r.Memory, Memory{Base: uint64(le.Uint32(d[1:])), Size: uint64(le.Uint32(d[13:]))})
		case largeDWordAddress:
			if n < 23 {
				return r, ErrBadResource
			}
			if d[0] == 0 { // memory range
				r.Memory = append(r.Memory, Memory{Base: uint64(le.Uint32(d[7:])), Size: uint64(le.Uint32(d[19:]))})
			}
		case largeQWordAddress:
			if n < 43 {
				return r, ErrBadResource
			}
			if d[0] == 0 {
				r.Memory = append(r.Memory, Memory{Base: le.Uint64(d[11:]), Size: le.Uint64(d[35:])})
			}
		case largeExtInterrupt:
			if n < 2 {
				return r, ErrBadResource
			}
			flags, count := d[0], int(d[1])
			if n < 2+4*count {
				return r, ErrBadResource
			}
			for i := 0; i < count; i++ {
				r.IRQs = append(r.IRQs, IRQ{
					GSI:       le.Uint32(d[2+4*i:]),
					Level:     flags&2 == 0,
					ActiveLow: flags&4 != 0,
				})
			}
		}
		b = b[3+n:]
	}
	return r, nil
}
