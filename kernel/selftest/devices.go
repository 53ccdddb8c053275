package selftest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"time"

	"github.com/gosv/gosv/kernel/machine"
)

// DeviceChecks exercise the device services of level 0 (interrupt
// vectors, the I/O APIC, PCI configuration space, MMIO, ACPI). They need
// the bare machine, so Run adds them only in the kernel
// (machine.OnMachine).
var DeviceChecks = []Check{
	{"irq-ipi", irqIPI},
	{"irq-ioapic", irqIOAPIC},
	{"pci", pciCheck},
	{"mmio", mmioCheck},
}

const waitLimit = 5 * time.Second

// waitFor runs WaitVector(v) in a goroutine; when it has not returned
// within waitLimit, FreeVector(v) ends it and waitFor reports the timeout.
func waitFor(v uint8) (uint64, error) {
	done := make(chan uint64, 1)
	go func() { done <- machine.WaitVector(v) }()
	select {
	case n := <-done:
		return n, nil
	case <-time.After(waitLimit):
		machine.FreeVector(v)
		<-done
		return 0, fmt.Errorf("vector %#x did not fire within %v", v, waitLimit)
	}
}

// untilWaiting polls (yielding) until a goroutine is blocked in
// WaitVector(v), so that the interrupt that follows takes the wake-up path.
func untilWaiting(v uint8) error {
	deadline := time.Now().Add(waitLimit)
	for !machine.VectorWaiting(v) {
		if time.Now().After(deadline) {
			return fmt.Errorf("no goroutine blocked in WaitVector(%#x) after %v", v, waitLimit)
		}
		runtime.Gosched()
	}
	return nil
}

// irqIPI: self-IPIs sent before the wait are all counted (3 separate
// interrupts: 3); a waiter blocked in WaitVector wakes with 1 for an IPI to
// each CPU in turn and for a self-IPI; FreeVector ends a wait with 0.
func irqIPI() error {
	v, err := machine.AllocVector()
	if err != nil {
		return err
	}
	freed := false
	defer func() {
		if !freed {
			machine.FreeVector(v)
		}
	}()
	if v < 0x30 || v > 0xEF {
		return fmt.Errorf("AllocVector gave %#x, outside 0x30-0xEF", v)
	}
	for i := 0; i < 3; i++ {
		if err := machine.SelfIPI(v); err != nil {
			return err
		}
	}
	if n, err := waitFor(v); err != nil || n != 3 {
		return fmt.Errorf("after 3 self-IPIs WaitVector returned %d (%v), want 3", n, err)
	}
	// One wait per target CPU (the waiter's kernel thread may be on any
	// CPU), then one woken by a self-IPI.
	for cpu := 0; cpu <= machine.NCPU(); cpu++ {
		done := make(chan uint64, 1)
		go func() { done <- machine.WaitVector(v) }()
		if err := untilWaiting(v); err != nil {
			return err
		}
		if cpu < machine.NCPU() {
			err = machine.SendIPI(v, cpu)
		} else {
			err = machine.SelfIPI(v)
		}
		if err != nil {
			return err
		}
		select {
		case n := <-done:
			if n != 1 {
				return fmt.Errorf("waiter woken by an IPI to CPU %d got %d, want 1", cpu, n)
			}
		case <-time.After(waitLimit):
			return fmt.Errorf("an IPI to CPU %d did not wake the waiter within %v", cpu, waitLimit)
		}
	}
	if err := machine.SendIPI(v, machine.NCPU()); err == nil {
		return errors.New("SendIPI to a CPU that does not exist succeeded")
	}
	if err := machine.SendIPI(32, 0); err == nil {
		return errors.New("SendIPI of the timer vector succeeded")
	}
	done := make(chan uint64, 1)
	go func() { done <- machine.WaitVector(v) }()
	if err := untilWaiting(v); err != nil {
		return err
	}
	machine.FreeVector(v)
	freed = true
	select {
	case n := <-done:
		if n != 0 {
			return fmt.Errorf("FreeVector ended a wait with %d, want 0", n)
		}
	case <-time.After(waitLimit):
		return errors.New("FreeVector did not end the wait")
	}
	if n := machine.WaitVector(v); n != 0 {
		return fmt.Errorf("WaitVector on a freed vector returned %d", n)
	}
	return nil
}

// CMOS/RTC registers (MC146818): A (rate select), B (PIE = bit 6), C
// (interrupt flags, cleared by reading; PF = bit 6).
func cmosRead(reg uint8) uint8 {
	machine.Outb(0x70, reg)
	return machine.Inb(0x71)
}

func cmosWrite(reg, v uint8) {
	machine.Outb(0x70, reg)
	machine.Outb(0x71, v)
}

// irqIOAPIC: the RTC's periodic interrupt (ISA IRQ 8, through the MADT's
// overrides to its GSI) routed through the I/O APIC wakes the waiter three
// times (each read of register C acknowledges the RTC, which then raises
// its line again); the RTC's registers are restored afterwards. A wake-up
// may find register C already read (the next tick's interrupt can come
// before the previous read), but some read must show the periodic flag.
func irqIOAPIC() error {
	gsi, level, low := machine.ISAIRQToGSI(8)
	a, b := cmosRead(0x0A), cmosRead(0x0B)
	defer func() {
		cmosWrite(0x0B, b)
		cmosWrite(0x0A, a)
		cmosRead(0x0C)
	}()
	cmosRead(0x0C)
	cmosWrite(0x0A, a&0xF0|0x06) // 1024 Hz
	cmosWrite(0x0B, b|0x40)
	v, total, err := rtcEdge(gsi, level, low)
	if err != nil {
		return err
	}
	if err := rtcLevel(gsi); err != nil {
		return err
	}
	phys, base, pins := machine.IOAPICs()
	for i := range phys {
		note("I/O APIC at %#x: GSIs %d-%d", phys[i], base[i], base[i]+pins[i]-1)
	}
	g0, _, _ := machine.ISAIRQToGSI(0)
	note("ISA IRQ 0 -> GSI %d; ISA IRQ 8 -> GSI %d (level %v, active low %v), vector %#x, %d interrupts", g0, gsi, level, low, v, total)
	return nil
}

// rtcEdge routes the RTC's GSI as the MADT says (edge-triggered on QEMU)
// and waits for it three times.
func rtcEdge(gsi uint32, level, low bool) (uint8, uint64, error) {
	v, err := machine.AllocVector()
	if err != nil {
		return 0, 0, err
	}
	defer machine.FreeVector(v)
	if err := machine.RouteIRQ(gsi, v, level, low); err != nil {
		return v, 0, fmt.Errorf("RouteIRQ(%d): %v", gsi, err)
	}
	v2, err := machine.AllocVector()
	if err != nil {
		return v, 0, err
	}
	err = machine.RouteIRQ(gsi, v2, level, low)
	machine.FreeVector(v2)
	if !errors.Is(err, syscall.EBUSY) {
		return v, 0, fmt.Errorf("routing GSI %d to a second vector: %v, want EBUSY", gsi, err)
	}
	if err := machine.RouteIRQ(1000, v, false, false); !errors.Is(err, syscall.ENODEV) {
		return v, 0, fmt.Errorf("routing GSI 1000: %v, want ENODEV", err)
	}
	total, flags := uint64(0), uint8(0)
	for i := 0; i < 3; i++ {
		n, err := waitFor(v)
		if err != nil {
			return v, total, fmt.Errorf("RTC on GSI %d: %v", gsi, err)
		}
		if n == 0 {
			return v, total, fmt.Errorf("RTC on GSI %d: WaitVector returned 0", gsi)
		}
		flags |= cmosRead(0x0C)
		if level {
			if err := machine.UnmaskIRQ(gsi); err != nil {
				return v, total, err
			}
		}
		total += n
	}
	if flags&0x40 == 0 {
		return v, total, fmt.Errorf("%d interrupts on GSI %d but the RTC never showed its periodic flag", total, gsi)
	}
	return v, total, nil
}

// rtcLevel routes the RTC's GSI level-triggered (active high, as its
// line is): the RTC holds the line up until register C is read, and the
// handler masks the GSI until UnmaskIRQ, so each wait sees exactly one
// interrupt and register C still holds IRQF and PF. Without the masking
// the I/O APIC would deliver again at every EOI.
func rtcLevel(gsi uint32) error {
	v, err := machine.AllocVector()
	if err != nil {
		return err
	}
	defer machine.FreeVector(v)
	if err := machine.RouteIRQ(gsi, v, true, false); err != nil {
		return err
	}
	for i := 0; i < 3; i++ {
		n, err := waitFor(v)
		if err != nil {
			return fmt.Errorf("level-triggered RTC on GSI %d: %v", gsi, err)
		}
		if n != 1 {
			return fmt.Errorf("level-triggered RTC on GSI %d: %d interrupts in one wait, want 1 (the line is masked until UnmaskIRQ)", gsi, n)
		}
		if c := cmosRead(0x0C); c&0xC0 != 0xC0 {
			return fmt.Errorf("level-triggered RTC interrupt with register C %#x, want IRQF and PF set", c)
		}
		if err := machine.UnmaskIRQ(gsi); err != nil {
			return err
		}
	}
	return nil
}

// pciCheck: with PCI (q35) function 00:00.0 is an Intel host bridge
// (vendor 0x8086, class 06 00) and the 8-, 16- and 32-bit reads agree; an
// absent bus reads as all ones. Without PCI (microvm) every read gives
// all ones at once.
func pciCheck() error {
	if !machine.PCIPresent() {
		if v := machine.PCIConfigRead32(0, 0, 0, 0); v != 0xFFFFFFFF {
			return fmt.Errorf("PCI absent but 00:00.0 reads %#x", v)
		}
		note("PCI absent")
		return nil
	}
	id := machine.PCIConfigRead32(0, 0, 0, 0)
	if id&0xFFFF != 0x8086 {
		return fmt.Errorf("00:00.0 has vendor:device %#08x, want vendor 0x8086", id)
	}
	if v := machine.PCIConfigRead16(0, 0, 0, 2); uint32(v) != id>>16 {
		return fmt.Errorf("16-bit read of the device ID gave %#x, 32-bit %#x", v, id>>16)
	}
	if v := machine.PCIConfigRead8(0, 0, 0, 1); v != 0x80 {
		return fmt.Errorf("8-bit read of vendor byte 1 gave %#x, want 0x80", v)
	}
	class := machine.PCIConfigRead32(0, 0, 0, 8) >> 8
	if class>>8 != 0x0600 {
		return fmt.Errorf("00:00.0 has class %06x, want a host bridge (0600xx)", class)
	}
	if v := machine.PCIConfigRead32(200, 0, 0, 0); v != 0xFFFFFFFF {
		return fmt.Errorf("absent bus 200 reads %#x", v)
	}
	mech := "ports 0xCF8/0xCFC"
	if machine.PCIECAM() {
		mech = "ECAM"
		// q35 answers on the ports too: both mechanisms must agree.
		if machine.PCIForcePorts(true) {
			id2, class2 := machine.PCIConfigRead32(0, 0, 0, 0), machine.PCIConfigRead32(0, 0, 0, 8)>>8
			v16, v8 := machine.PCIConfigRead16(0, 0, 0, 2), machine.PCIConfigRead8(0, 0, 0, 1)
			ext := machine.PCIConfigRead32(0, 0, 0, 0x100)
			machine.PCIForcePorts(false)
			if id2 != id || class2 != class || uint32(v16) != id>>16 || v8 != 0x80 || ext != 0xFFFFFFFF {
				return fmt.Errorf("through the ports 00:00.0 reads %#x class %06x (16-bit %#x, 8-bit %#x, offset 0x100 %#x)", id2, class2, v16, v8, ext)
			}
			mech += " (ports agree)"
		}
	}
	note("PCI 00:00.0 %04x:%04x class %06x via %s", id&0xFFFF, id>>16, class, mech)
	return nil
}

// mmioCheck: the MADT names the local APIC's address; MapMMIO of that page
// reads a local APIC version register (SDM 11.4.8: version 0x10-0x15, at
// least 4 LVT entries). Mapping RAM is refused. The DSDT is reachable.
func mmioCheck() error {
	madt := machine.ACPITable("APIC")
	if len(madt) < 44 || string(madt[:4]) != "APIC" || int(binary.LittleEndian.Uint32(madt[4:])) != len(madt) {
		return fmt.Errorf("no usable MADT (%d bytes)", len(madt))
	}
	phys := uintptr(binary.LittleEndian.Uint32(madt[36:]))
	va, err := machine.MapMMIO(phys, 4096)
	if err != nil {
		return fmt.Errorf("MapMMIO(%#x): %v", phys, err)
	}
	ver := machine.MMIORead32(va + 0x30)
	if v, lvt := ver&0xFF, (ver>>16)&0xFF; v < 0x10 || v > 0x15 || lvt < 3 {
		return fmt.Errorf("local APIC at %#x: version register %#x", phys, ver)
	}
	if _, err := machine.MapMMIO(0x200000, 4096); err == nil {
		return errors.New("MapMMIO of kernel RAM succeeded")
	}
	dsdt := machine.ACPITable("DSDT")
	if len(dsdt) < 36 || string(dsdt[:4]) != "DSDT" || int(binary.LittleEndian.Uint32(dsdt[4:])) != len(dsdt) {
		return fmt.Errorf("no usable DSDT (%d bytes)", len(dsdt))
	}
	note("local APIC at %#x version %#x; DSDT %d bytes", phys, ver, len(dsdt))
	return nil
}
