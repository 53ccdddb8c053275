package machine

// I/O APICs (Intel 82093AA datasheet; ACPI 6.5 5.2.12.3): each has an
// index register IOREGSEL at +0 and a data window IOWIN at +0x10;
// register 1 is the version (bits 16-23: the last redirection entry), and
// the redirection entry of pin n is the register pair 0x10+2n (low word:
// vector, trigger mode, polarity, mask) and 0x11+2n (high word: the
// destination APIC ID in bits 24-31). The pins of an I/O APIC carry the
// global system interrupts (GSIs) gsiBase .. gsiBase+pins-1.
//
// All I/O APICs are masked at boot. RouteIRQ points one GSI at one
// vector, delivered in fixed mode to the boot CPU; every access to the
// index/data pair happens in level 0 under ioapicLock with interrupts off.

const (
	ioapicWin      = 0x10
	redirMasked    = 1 << 16
	redirLevel     = 1 << 15
	redirActiveLow = 1 << 13
	maxGSI         = 256
)

var (
	ioapicLock spinlock
	gsiVector  [maxGSI]uint8 // vector a GSI is routed to (0: none)
)

//go:nosplit
func ioapicRead(io *ioapicInfo, reg uint32) uint32 {
	store32(io.va, reg)
	return load32(io.va + ioapicWin)
}

//go:nosplit
func ioapicWrite(io *ioapicInfo, reg, v uint32) {
	store32(io.va, reg)
	store32(io.va+ioapicWin, v)
}

// initIOAPICs maps each I/O APIC the MADT lists, reads its number of pins
// and masks all of them.
//
//go:nosplit
func initIOAPICs() {
	for i := 0; i < nIOAPIC && i < maxIOAPICs; i++ {
		io := &ioapics[i]
		io.va = mapMMIO(io.phys, 0x20)
		if io.va == 0 {
			continue
		}
		io.pins = (ioapicRead(io, 1)>>16)&0xFF + 1
		for pin := uint32(0); pin < io.pins; pin++ {
			ioapicWrite(io, 0x10+2*pin, redirMasked)
			ioapicWrite(io, 0x11+2*pin, 0)
		}
	}
}

// gsiPin finds the I/O APIC and pin of gsi; nil when no I/O APIC has it.
//
//go:nosplit
func gsiPin(gsi uint32) (*ioapicInfo, uint32) {
	if gsi >= maxGSI {
		return nil, 0
	}
	for i := 0; i < nIOAPIC && i < maxIOAPICs; i++ {
		io := &ioapics[i]
		if io.va != 0 && gsi >= io.gsiBase && gsi-io.gsiBase < io.pins {
			return io, gsi - io.gsiBase
		}
	}
	return nil, 0
}

// setMask masks or unmasks the pin of gsi. Called with ioapicLock held.
//
//go:nosplit
func setMask(gsi uint32, masked bool) bool {
	io, pin := gsiPin(gsi)
	if io == nil {
		return false
	}
	lo := ioapicRead(io, 0x10+2*pin)
	if masked {
		lo |= redirMasked
	} else {
		lo &^= redirMasked
	}
	ioapicWrite(io, 0x10+2*pin, lo)
	return true
}

// Flags of privRoute.
const (
	routeLevel     = 1
	routeActiveLow = 2
)

// routeIRQ programs the redirection entry of gsi: vector v, fixed
// delivery, physical destination the boot CPU, unmasked.
//
//go:nosplit
func routeIRQ(gsi uint32, v uintptr, flags uintptr) int64 {
	if !isDeviceVector(v) {
		return negErrno(eINVAL)
	}
	ioapicLock.lock()
	r := routeLocked(gsi, v, flags)
	ioapicLock.unlock()
	return r
}

//go:nosplit
func routeLocked(gsi uint32, v uintptr, flags uintptr) int64 {
	io, pin := gsiPin(gsi)
	if io == nil {
		return negErrno(eNODEV)
	}
	d := &vecs[v&255]
	if d.state != vecAllocated {
		return negErrno(eINVAL)
	}
	if old := gsiVector[gsi&(maxGSI-1)]; old != 0 && uintptr(old) != v {
		return negErrno(eBUSY)
	}
	if d.gsi != 0 && d.gsi != gsi+1 {
		return negErrno(eBUSY)
	}
	lo := uint32(v)
	if flags&routeLevel != 0 {
		lo |= redirLevel
	}
	if flags&routeActiveLow != 0 {
		lo |= redirActiveLow
	}
	ioapicWrite(io, 0x10+2*pin, redirMasked)
	ioapicWrite(io, 0x11+2*pin, cpus[0].lapicID<<24)
	ioapicWrite(io, 0x10+2*pin, lo)
	gsiVector[gsi&(maxGSI-1)] = uint8(v)
	d.gsi = gsi + 1
	d.level = flags&routeLevel != 0
	return 0
}

// maskIRQ masks (or unmasks) gsi; unmasking needs a route.
//
//go:nosplit
func maskIRQ(gsi uint32, masked bool) int64 {
	ioapicLock.lock()
	r := int64(0)
	switch io, _ := gsiPin(gsi); {
	case io == nil:
		r = negErrno(eNODEV)
	case !masked && gsiVector[gsi&(maxGSI-1)] == 0:
		r = negErrno(eINVAL)
	default:
		setMask(gsi, masked)
	}
	ioapicLock.unlock()
	return r
}

// unrouteVector masks and forgets the GSI routed to v, if any.
//
//go:nosplit
func unrouteVector(v uint8) {
	ioapicLock.lock()
	d := &vecs[v]
	if d.gsi != 0 {
		gsi := d.gsi - 1
		setMask(gsi, true)
		gsiVector[gsi&(maxGSI-1)] = 0
		d.gsi = 0
		d.level = false
	}
	ioapicLock.unlock()
}

// RouteIRQ routes global system interrupt gsi through its I/O APIC to
// vector v (from AllocVector), level- or edge-triggered, active low or
// high, delivered to the boot CPU, and unmasks it. For an ISA IRQ take
// gsi and the flags from ISAIRQToGSI. A level-triggered GSI is masked by
// the interrupt handler each time it fires: the driver calls UnmaskIRQ
// once it has made the device deassert the line. Errors: ENODEV (no I/O
// APIC has gsi), EINVAL (v not allocated), EBUSY (gsi or v already
// routed elsewhere).
func RouteIRQ(gsi uint32, v uint8, levelTriggered, activeLow bool) error {
	var flags uintptr
	if levelTriggered {
		flags |= routeLevel
	}
	if activeLow {
		flags |= routeActiveLow
	}
	return rawSyscall(sysGosvBase+privRoute, uintptr(gsi), uintptr(v), flags)
}

// MaskIRQ masks gsi at its I/O APIC.
func MaskIRQ(gsi uint32) error {
	return rawSyscall(sysGosvBase+privMask, uintptr(gsi), 1, 0)
}

// UnmaskIRQ unmasks gsi at its I/O APIC (after RouteIRQ, or after the
// handler masked a level-triggered line). EINVAL when gsi is not routed.
func UnmaskIRQ(gsi uint32) error {
	return rawSyscall(sysGosvBase+privMask, uintptr(gsi), 0, 0)
}

// ISAIRQToGSI maps ISA IRQ irq (0-15) to its GSI and trigger mode and
// polarity, following the MADT's interrupt source overrides; without one
// the GSI is the IRQ number, edge-triggered, active high (the ISA
// defaults, also for "conforms to the bus" flags).
//
//go:nosplit
func ISAIRQToGSI(irq uint8) (gsi uint32, levelTriggered, activeLow bool) {
	if irq >= 16 || !isaOverrides[irq&15].set {
		return uint32(irq), false, false
	}
	o := isaOverrides[irq&15]
	return o.gsi, o.flags&0xC == 0xC, o.flags&0x3 == 0x3
}

// IOAPICs reports the I/O APICs found: physical address of the register
// window, first GSI and number of pins of each.
func IOAPICs() (phys []uintptr, gsiBase, pins []uint32) {
	for i := 0; i < nIOAPIC && i < maxIOAPICs; i++ {
		phys = append(phys, ioapics[i].phys)
		gsiBase = append(gsiBase, ioapics[i].gsiBase)
		pins = append(pins, ioapics[i].pins)
	}
	return
}
