// Package acpi reads what device discovery needs from ACPI tables: the
// devices declared in a DSDT (their _HID, _UID and _CRS) and the resources
// in a _CRS buffer. The AML walker understands the declarative subset that
// QEMU (microvm, q35) and Firecracker emit: Scope, Device, Name with data
// objects, and skips what has a length (Method, Field, If, Package...). It
// never executes AML: a _CRS that is a Method is not evaluated. It parses
// outside data, so every read is bounds-checked and it has a fuzz target.
package acpi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// HeaderSize is the size of the common ACPI table header.
const HeaderSize = 36

// Errors of table parsing.
var (
	ErrShort    = errors.New("acpi: table truncated")
	ErrChecksum = errors.New("acpi: bad table checksum")
)

// Device is a device object found in the namespace.
type Device struct {
	Path string // absolute, as \_SB_.VR23
	HID  string // _HID as a string (EISA IDs decoded, as PNP0501)
	UID  uint64 // _UID when it is an integer
	// UIDStr is _UID when it is a string.
	UIDStr string
	CRS    []byte // _CRS when it is a buffer (a resource template)
}

// CheckTable validates a table's header (signature, length, checksum) and
// returns its body, the AML after the header for a DSDT or SSDT.
func CheckTable(t []byte, sig string) ([]byte, error) {
	if len(t) < HeaderSize {
		return nil, ErrShort
	}
	if string(t[:4]) != sig {
		return nil, fmt.Errorf("acpi: signature %q, want %q", t[:4], sig)
	}
	n := binary.LittleEndian.Uint32(t[4:])
	if n < HeaderSize || uint64(n) > uint64(len(t)) {
		return nil, ErrShort
	}
	var sum byte
	for _, b := range t[:n] {
		sum += b
	}
	if sum != 0 {
		return nil, ErrChecksum
	}
	return t[HeaderSize:n], nil
}

// Devices walks a DSDT or SSDT (header included) and returns the devices
// it declares, in table order.
func Devices(table []byte) ([]Device, error) {
	body, err := CheckTable(table, string(table[:min(4, len(table))]))
	if err != nil {
		return nil, err
	}
	w := walker{}
	w.termList(body, `\`, 0)
	return w.devs, nil
}

// AML opcodes used by the walker.
const (
	opZero       = 0x00
	opOne        = 0x01
	opAlias      = 0x06
	opName       = 0x08
	opByte       = 0x0a
	opWord       = 0x0b
	opDWord      = 0x0c
	opString     = 0x0d
	opQWord      = 0x0e
	opScope      = 0x10
	opBuffer     = 0x11
	opPackage    = 0x12
	opVarPackage = 0x13
	opMethod     = 0x14
	opExternal   = 0x15
	opIf         = 0xa0
	opElse       = 0xa1
	opWhile      = 0xa2
	opOnes       = 0xff
	opExt        = 0x5b

	extMutex       = 0x01
	extEvent       = 0x02
	extRevision    = 0x30
	extOpRegion    = 0x80
	extField       = 0x81
	extDevice      = 0x82
	extProcessor   = 0x83
	extPowerRes    = 0x84
	extThermalZone = 0x85
	extIndexField  = 0x86
	extBankField   = 0x87
)

// maxDepth bounds recursion through nested scopes.
const maxDepth = 32

type walker struct {
	devs []Device
}

// pkgLength decodes a PkgLength at b[0]; it returns the length (counted
// from b[0]) and the number of bytes the encoding took.
func pkgLength(b []byte) (n, size int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	follow := int(b[0] >> 6)
	if len(b) < 1+follow {
		return 0, 0, false
	}
	if follow == 0 {
		return int(b[0] & 0x3f), 1, true
	}
	n = int(b[0] & 0x0f)
	for i := 0; i < follow; i++ {
		n |= int(b[1+i]) << (4 + 8*i)
	}
	return n, 1 + follow, true
}

// pkg splits b (starting at a PkgLength) into the package's contents after
// the PkgLength and the rest after the package.
func pkg(b []byte) (body, rest []byte, ok bool) {
	n, size, ok := pkgLength(b)
	if !ok || n < size || n > len(b) {
		return nil, nil, false
	}
	return b[size:n], b[n:], true
}

func isLead(c byte) bool { return c == '_' || c >= 'A' && c <= 'Z' }
func isNameChar(c byte) bool {
	return isLead(c) || c >= '0' && c <= '9'
}

// nameString decodes a NameString relative to scope and returns the
// absolute path and the bytes after it.
func nameString(b []byte, scope string) (string, []byte, bool) {
	i := 0
	abs := false
	up := 0
	if i < len(b) && b[i] == '\\' {
		abs = true
		i++
	} else {
		for i < len(b) && b[i] == '^' {
			up++
			i++
		}
	}
	if i >= len(b) {
		return "", nil, false
	}
	var segs []string
	count := 1
	switch b[i] {
	case 0x00:
		count = 0
		i++
	case 0x2e:
		count = 2
		i++
	case 0x2f:
		if i+1 >= len(b) {
			return "", nil, false
		}
		count = int(b[i+1])
		i += 2
	}
	for s := 0; s < count; s++ {
		if i+4 > len(b) || !isLead(b[i]) {
			return "", nil, false
		}
		for _, c := range b[i+1 : i+4] {
			if !isNameChar(c) {
				return "", nil, false
			}
		}
		segs = append(segs, string(b[i:i+4]))
		i += 4
	}
	base := []string{}
	if !abs && scope != `\` {
		base = strings.Split(strings.TrimPrefix(scope, `\`), ".")
		if up > len(base) {
			return "", nil, false
		}
		base = base[:len(base)-up]
	}
	all := append(base, segs...)
	return `\` + strings.Join(all, "."), b[i:], true
}

// value is a data object the walker keeps.
type value struct {
	isInt bool
	i     uint64
	s     string
	buf   []byte
	ok    bool
}

// dataObject decodes a DataRefObject; unknown objects stop the walk
// (ok=false) because their length is unknown.
func dataObject(b []byte) (value, []byte, bool) {
	if len(b) == 0 {
		return value{}, nil, false
	}
	le := binary.LittleEndian
	switch b[0] {
	case opZero:
		return value{isInt: true, ok: true}, b[1:], true
	case opOne:
		return value{isInt: true, i: 1, ok: true}, b[1:], true
	case opOnes:
		return value{isInt: true, i: ^uint64(0), ok: true}, b[1:], true
	case opByte:
		if len(b) < 2 {
			return value{}, nil, false
		}
		return value{isInt: true, i: uint64(b[1]), ok: true}, b[2:], true
	case opWord:
		if len(b) < 3 {
			return value{}, nil, false
		}
		return value{isInt: true, i: uint64(le.Uint16(b[1:])), ok: true}, b[3:], true
	case opDWord:
		if len(b) < 5 {
			return value{}, nil, false
		}
		return value{isInt: true, i: uint64(le.Uint32(b[1:])), ok: true}, b[5:], true
	case opQWord:
		if len(b) < 9 {
			return value{}, nil, false
		}
		return value{isInt: true, i: le.Uint64(b[1:]), ok: true}, b[9:], true
	case opString:
		for j := 1; j < len(b); j++ {
			if b[j] == 0 {
				return value{s: string(b[1:j]), ok: true}, b[j+1:], true
			}
		}
		return value{}, nil, false
	case opBuffer:
		body, rest, ok := pkg(b[1:])
		if !ok {
			return value{}, nil, false
		}
		size, data, ok := dataObject(body)
		if !ok || !size.isInt {
			return value{}, rest, true // a computed size: skip it
		}
		if size.i < uint64(len(data)) {
			data = data[:size.i]
		}
		return value{buf: data, ok: true}, rest, true
	case opPackage, opVarPackage:
		_, rest, ok := pkg(b[1:])
		if !ok {
			return value{}, nil, false
		}
		return value{}, rest, true
	case opExt:
		if len(b) >= 2 && b[1] == extRevision {
			return value{isInt: true, ok: true}, b[2:], true
		}
	}
	return value{}, nil, false
}

// termList walks the terms of one scope. It stops at the first term it
// cannot size; what came before is kept.
func (w *walker) termList(b []byte, scope string, depth int) {
	if depth > maxDepth {
		return
	}
	var dev *Device
	if scope != `\` {
		for i := range w.devs {
			if w.devs[i].Path == scope {
				dev = &w.devs[i]
			}
		}
	}
	for len(b) > 0 {
		op := b[0]
		switch op {
		case opScope:
			body, rest, ok := pkg(b[1:])
			if !ok {
				return
			}
			name, inner, ok := nameString(body, scope)
			if !ok {
				return
			}
			w.termList(inner, name, depth+1)
			b = rest
		case opName:
			name, rest, ok := nameString(b[1:], scope)
			if !ok {
				return
			}
			v, rest, ok := dataObject(rest)
			if !ok {
				return
			}
			if dev != nil && v.ok {
				w.setProp(dev, name[strings.LastIndexByte(name, '.')+1:], v)
			}
			b = rest
		case opMethod, opIf, opElse, opWhile:
			_, rest, ok := pkg(b[1:])
			if !ok {
				return
			}
			b = rest
		case opExternal:
			_, rest, ok := nameString(b[1:], scope)
			if !ok || len(rest) < 2 {
				return
			}
			b = rest[2:]
		case opAlias:
			_, rest, ok := nameString(b[1:], scope)
			if !ok {
				return
			}
			if _, rest, ok = nameString(rest, scope); !ok {
				return
			}
			b = rest
		case opExt:
			if len(b) < 2 {
				return
			}
			switch b[1] {
			case extDevice:
				body, rest, ok := pkg(b[2:])
				if !ok {
					return
				}
				name, inner, ok := nameString(body, scope)
				if !ok {
					return
				}
				w.devs = append(w.devs, Device{Path: name})
				w.termList(inner, name, depth+1)
				// termList may have grown w.devs: find dev again.
				if dev != nil {
					for i := range w.devs {
						if w.devs[i].Path == scope {
							dev = &w.devs[i]
						}
					}
				}
				b = rest
			case extField, extProcessor, extPowerRes, extThermalZone, extIndexField, extBankField:
				_, rest, ok := pkg(b[2:])
				if !ok {
					return
				}
				b = rest
			case extOpRegion:
				_, rest, ok := nameString(b[2:], scope)
				if !ok || len(rest) < 1 {
					return
				}
				rest = rest[1:]          // region space
				for k := 0; k < 2; k++ { // offset and length
					v, r, ok := dataObject(rest)
					if !ok || !v.isInt {
						return
					}
					rest = r
				}
				b = rest
			case extMutex:
				_, rest, ok := nameString(b[2:], scope)
				if !ok || len(rest) < 1 {
					return
				}
				b = rest[1:]
			case extEvent:
				_, rest, ok := nameString(b[2:], scope)
				if !ok {
					return
				}
				b = rest
			default:
				return
			}
		default:
			return
		}
	}
}

func (w *walker) setProp(d *Device, name string, v value) {
	switch name {
	case "_HID":
		if v.isInt {
			d.HID = EISAID(uint32(v.i))
		} else if v.buf == nil {
			d.HID = v.s
		}
	case "_UID":
		if v.isInt {
			d.UID = v.i
		} else {
			d.UIDStr = v.s
		}
	case "_CRS":
		if v.buf != nil {
			d.CRS = v.buf
		}
	}
}

// EISAID decodes a compressed EISA ID (as EisaId("PNP0501") stores it).
func EISAID(v uint32) string {
	b := [4]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}
	x := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	c := func(s uint) byte { return byte('@' + (x>>s)&0x1f) }
	return fmt.Sprintf("%c%c%c%04X", c(26), c(21), c(16), x&0xffff)
}
