package virtio

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gosv/gosv/kernel/dev"
	"github.com/gosv/gosv/kernel/dev/acpi"
	"github.com/gosv/gosv/kernel/dev/pci"
)

// MMIOHID is the ACPI hardware ID of a virtio-mmio slot.
const MMIOHID = "LNRO0005"

// FromDSDT returns the virtio-mmio slots a DSDT declares (LNRO0005 devices
// with a memory range and an interrupt in their _CRS), in table order.
// QEMU's microvm declares one per slot, populated or not.
func FromDSDT(dsdt []byte) ([]MMIODevice, error) {
	devs, err := acpi.Devices(dsdt)
	if err != nil {
		return nil, err
	}
	var out []MMIODevice
	for _, d := range devs {
		if d.HID != MMIOHID {
			continue
		}
		r, err := acpi.ParseResources(d.CRS)
		if err != nil || len(r.Memory) == 0 || len(r.IRQs) == 0 {
			return out, fmt.Errorf("acpi: %s (%s): no usable _CRS", d.Path, MMIOHID)
		}
		irq := r.IRQs[0]
		out = append(out, MMIODevice{Base: r.Memory[0].Base, Size: r.Memory[0].Size, GSI: irq.GSI, Level: irq.Level, ActiveLow: irq.ActiveLow})
	}
	return out, nil
}

// CmdlineKey is the prefix of Linux's virtio-mmio command-line entries,
// `virtio_mmio.device=<size>@<base>:<irq>[:<id>]`, which Firecracker and
// microvm with acpi=off use to describe their slots.
const CmdlineKey = "virtio_mmio.device="

// ParseMMIOParam parses the value of one virtio_mmio.device= entry. Sizes
// and addresses take Linux's memparse forms (decimal or 0x hex, optional
// K, M or G suffix). The interrupt is taken as edge-triggered, active high
// (Firecracker's; QEMU's microvm lines work either way since the driver
// acknowledges before handling).
func ParseMMIOParam(v string) (MMIODevice, error) {
	bad := func(why string) (MMIODevice, error) {
		return MMIODevice{}, fmt.Errorf("%s%s: %s", CmdlineKey, v, why)
	}
	sizeStr, rest, ok := strings.Cut(v, "@")
	if !ok {
		return bad("want SIZE@BASE:IRQ")
	}
	baseStr, irqStr, ok := strings.Cut(rest, ":")
	if !ok {
		return bad("want SIZE@BASE:IRQ")
	}
	irqStr, _, _ = strings.Cut(irqStr, ":") // optional platform device id
	size, err := memparse(sizeStr)
	if err != nil || size == 0 {
		return bad("bad size")
	}
	base, err := memparse(baseStr)
	if err != nil || base+size < base {
		return bad("bad base address")
	}
	irq, err := strconv.ParseUint(irqStr, 0, 32)
	if err != nil {
		return bad("bad interrupt number")
	}
	return MMIODevice{Base: base, Size: size, GSI: uint32(irq)}, nil
}

func memparse(s string) (uint64, error) {
	shift := 0
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			shift = 10
		case 'm', 'M':
			shift = 20
		case 'g', 'G':
			shift = 30
		}
		if shift != 0 {
			s = s[:n-1]
		}
	}
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		return 0, err
	}
	if v<<shift>>shift != v {
		return 0, strconv.ErrRange
	}
	return v << shift, nil
}

// FromCmdline takes the virtio_mmio.device= entries out of a list of
// command-line words, returning the slots and the other words in order.
// A malformed entry is reported and left out.
func FromCmdline(words []string) (slots []MMIODevice, rest []string, err error) {
	var errs []error
	for _, w := range words {
		v, ok := strings.CutPrefix(w, CmdlineKey)
		if !ok {
			rest = append(rest, w)
			continue
		}
		d, e := ParseMMIOParam(v)
		if e != nil {
			errs = append(errs, e)
			continue
		}
		slots = append(slots, d)
	}
	return slots, rest, errors.Join(errs...)
}

// OpenMMIO probes slots and returns transports for the populated ones.
// Empty slots are skipped silently; other failures (a legacy device, a
// mapping error) come back as errors, one per slot, naming it.
func OpenMMIO(p dev.Platform, slots []MMIODevice) ([]*MMIO, []error) {
	var ts []*MMIO
	var errs []error
	for _, s := range slots {
		t, err := NewMMIO(p, s)
		switch {
		case errors.Is(err, dev.ErrNoDevice):
		case err != nil:
			errs = append(errs, err)
		default:
			ts = append(ts, t)
		}
	}
	return ts, errs
}

// OpenPCI scans PCI bus 0 and returns transports for its virtio devices.
func OpenPCI(p dev.Platform) ([]*PCI, []error) {
	var ts []*PCI
	var errs []error
	for _, f := range pci.Scan(p, 0) {
		if _, ok := IsVirtioPCI(p, f); !ok {
			continue
		}
		t, err := NewPCI(p, f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ts = append(ts, t)
	}
	return ts, errs
}

// Discover finds the virtio devices of the machine: the virtio-mmio slots
// the DSDT declares, plus those given on the command line (a slot in both
// is taken once), then, when scanPCI is set, the virtio functions on PCI
// bus 0. The errors name each device that could not be used (a legacy
// device, a malformed DSDT, a bad mapping); the others are returned.
func Discover(p dev.Platform, cmdline []MMIODevice, scanPCI bool) ([]Transport, []error) {
	var errs []error
	var slots []MMIODevice
	if dsdt := p.ACPITable("DSDT"); dsdt != nil {
		s, err := FromDSDT(dsdt)
		if err != nil {
			errs = append(errs, err)
		}
		slots = append(slots, s...)
	}
	for _, c := range cmdline {
		dup := false
		for _, s := range slots {
			dup = dup || s.Base == c.Base
		}
		if !dup {
			slots = append(slots, c)
		}
	}
	var ts []Transport
	ms, e := OpenMMIO(p, slots)
	errs = append(errs, e...)
	for _, m := range ms {
		ts = append(ts, m)
	}
	if scanPCI {
		ps, e := OpenPCI(p)
		errs = append(errs, e...)
		for _, t := range ps {
			ts = append(ts, t)
		}
	}
	return ts, errs
}
