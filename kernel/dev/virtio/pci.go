package virtio

import (
	"fmt"

	"github.com/gosv/gosv/kernel/dev"
	"github.com/gosv/gosv/kernel/dev/pci"
)

// PCI identification of virtio devices (virtio 1.2 section 4.1.2).
const (
	PCIVendor           = 0x1af4
	PCIDeviceModernBase = 0x1040 // + device type
	pciTransitionalLow  = 0x1000
	pciTransitionalHigh = 0x103f
)

// virtio-pci vendor capability types (cfg_type).
const (
	pciCapCommon = 1
	pciCapNotify = 2
	pciCapISR    = 3
	pciCapDevice = 4
)

// Offsets in struct virtio_pci_common_cfg.
const (
	ccDeviceFeatureSel = 0x00
	ccDeviceFeature    = 0x04
	ccDriverFeatureSel = 0x08
	ccDriverFeature    = 0x0c
	ccMSIXConfig       = 0x10
	ccNumQueues        = 0x12
	ccDeviceStatus     = 0x14
	ccConfigGeneration = 0x15
	ccQueueSelect      = 0x16
	ccQueueSize        = 0x18
	ccQueueMSIXVector  = 0x1a
	ccQueueEnable      = 0x1c
	ccQueueNotifyOff   = 0x1e
	ccQueueDesc        = 0x20
	ccQueueDriver      = 0x28
	ccQueueDevice      = 0x30
	ccSize             = 0x38

	noVector = 0xffff
)

// IsVirtioPCI reports whether f is a virtio device and which type.
func IsVirtioPCI(c pci.ConfigSpace, f pci.Func) (typ uint32, ok bool) {
	if f.Vendor != PCIVendor {
		return 0, false
	}
	switch {
	case f.Device >= PCIDeviceModernBase && f.Device <= 0x107f:
		return uint32(f.Device - PCIDeviceModernBase), true
	case f.Device >= pciTransitionalLow && f.Device <= pciTransitionalHigh:
		// Transitional devices carry the type in the subsystem ID.
		return f.Read32(c, pci.RegSubsystem) >> 16, true
	}
	return 0, false
}

// PCI is a modern virtio-pci transport.
type PCI struct {
	p   dev.Platform
	f   pci.Func
	typ uint32

	common, isr, device, notify uintptr
	notifyMul                   uint32

	msix      pci.MSIX
	hasMSIX   bool
	msixTable uintptr
	queueVec  []uint16 // MSI-X entry of each queue (noVector: none)
}

type pciRegion struct {
	bar    int
	off    uint32
	length uint32
	extra  uint32 // notify_off_multiplier for the notify capability
	found  bool
}

// NewPCI reads the function's virtio capabilities, enables memory decoding
// and bus mastering, and maps the common, notify, ISR and device regions.
// A device without the modern capabilities (legacy-only) gives an error
// wrapping ErrLegacy.
func NewPCI(p dev.Platform, f pci.Func) (*PCI, error) {
	typ, ok := IsVirtioPCI(p, f)
	if !ok {
		return nil, fmt.Errorf("%v: not a virtio device: %w", f, dev.ErrNoDevice)
	}
	t := &PCI{p: p, f: f, typ: typ}
	var regs [5]pciRegion
	for _, c := range f.Caps(p) {
		if c.ID != pci.CapVendor {
			continue
		}
		w0 := f.Read32(p, c.Off)
		capLen := uint8(w0 >> 16)
		cfgType := uint8(w0 >> 24)
		if capLen < 16 || cfgType == 0 || int(cfgType) >= len(regs) || regs[cfgType].found {
			continue
		}
		r := pciRegion{
			bar:    int(uint8(f.Read32(p, c.Off+4))),
			off:    f.Read32(p, c.Off+8),
			length: f.Read32(p, c.Off+12),
			found:  true,
		}
		if cfgType == pciCapNotify {
			if capLen < 20 {
				continue
			}
			r.extra = f.Read32(p, c.Off+16)
		}
		if r.bar > 5 {
			continue
		}
		regs[cfgType] = r
	}
	if !regs[pciCapCommon].found || !regs[pciCapNotify].found || !regs[pciCapISR].found {
		return nil, fmt.Errorf("%v (virtio type %d) has no modern virtio capabilities: %w", f, typ, ErrLegacy)
	}
	f.SetCommand(p, pci.CmdMemory|pci.CmdBusMaster, 0)
	mapRegion := func(r pciRegion, min uint32) (uintptr, error) {
		if !r.found {
			return 0, nil
		}
		bar, err := f.ReadBAR(p, r.bar)
		if err != nil {
			return 0, err
		}
		if bar.IO || bar.Addr == 0 {
			return 0, fmt.Errorf("%v: virtio region in BAR %d is not assigned memory", f, r.bar)
		}
		if r.length < min {
			return 0, fmt.Errorf("%v: virtio region in BAR %d too small (%d bytes)", f, r.bar, r.length)
		}
		return p.MapMMIO(uintptr(bar.Addr+uint64(r.off)), uintptr(r.length))
	}
	var err error
	if t.common, err = mapRegion(regs[pciCapCommon], ccSize); err != nil {
		return nil, err
	}
	if t.notify, err = mapRegion(regs[pciCapNotify], 2); err != nil {
		return nil, err
	}
	t.notifyMul = regs[pciCapNotify].extra
	if t.isr, err = mapRegion(regs[pciCapISR], 1); err != nil {
		return nil, err
	}
	if t.device, err = mapRegion(regs[pciCapDevice], 0); err != nil {
		return nil, err
	}
	if m, ok := f.FindMSIX(p); ok && m.TableSize >= 2 {
		bar, err := f.ReadBAR(p, m.TableBAR)
		if err == nil && !bar.IO && bar.Addr != 0 {
			tbl, err := p.MapMMIO(uintptr(bar.Addr+uint64(m.TableOff)), uintptr(m.TableSize*pci.MSIXEntrySize))
			if err == nil {
				t.msix, t.hasMSIX, t.msixTable = m, true, tbl
			}
		}
	}
	return t, nil
}

func (t *PCI) String() string {
	return fmt.Sprintf("virtio-pci %02x:%02x.%d", t.f.Bus, t.f.Dev, t.f.Fn)
}
func (t *PCI) DeviceType() uint32 { return t.typ }

func (t *PCI) r8(off uintptr) uint8      { return t.p.MMIORead8(t.common + off) }
func (t *PCI) r16(off uintptr) uint16    { return t.p.MMIORead16(t.common + off) }
func (t *PCI) r32(off uintptr) uint32    { return t.p.MMIORead32(t.common + off) }
func (t *PCI) w8(off uintptr, v uint8)   { t.p.MMIOWrite8(t.common+off, v) }
func (t *PCI) w16(off uintptr, v uint16) { t.p.MMIOWrite16(t.common+off, v) }
func (t *PCI) w32(off uintptr, v uint32) { t.p.MMIOWrite32(t.common+off, v) }
func (t *PCI) w64(off uintptr, v uint64) { t.w32(off, uint32(v)); t.w32(off+4, uint32(v>>32)) }
func (t *PCI) Status() uint8             { return t.r8(ccDeviceStatus) }
func (t *PCI) SetStatus(s uint8)         { t.w8(ccDeviceStatus, s) }
func (t *PCI) ConfigGeneration() uint32  { return uint32(t.r8(ccConfigGeneration)) }
func (t *PCI) NumQueues() int            { return int(t.r16(ccNumQueues)) }
func (t *PCI) Notify(q int) func()       { return t.notifyFunc(q) }
func (t *PCI) selectQueue(q int)         { t.w16(ccQueueSelect, uint16(q)) }

func (t *PCI) Reset() error {
	t.w8(ccDeviceStatus, 0)
	return waitReset(t, func() uint8 { return t.r8(ccDeviceStatus) })
}

func (t *PCI) DeviceFeatures() uint64 {
	t.w32(ccDeviceFeatureSel, 0)
	lo := t.r32(ccDeviceFeature)
	t.w32(ccDeviceFeatureSel, 1)
	hi := t.r32(ccDeviceFeature)
	return uint64(hi)<<32 | uint64(lo)
}

func (t *PCI) SetDriverFeatures(f uint64) {
	t.w32(ccDriverFeatureSel, 0)
	t.w32(ccDriverFeature, uint32(f))
	t.w32(ccDriverFeatureSel, 1)
	t.w32(ccDriverFeature, uint32(f>>32))
}

func (t *PCI) QueueMax(q int) int {
	if q >= t.NumQueues() {
		return 0
	}
	t.selectQueue(q)
	if t.r16(ccQueueEnable) != 0 {
		return 0
	}
	return int(t.r16(ccQueueSize))
}

// SetupInterrupts uses MSI-X when the function offers at least two
// entries: entry 0 for configuration changes and one entry per queue when
// there are enough, else one entry shared by all queues. Otherwise it
// routes the INTx line the firmware assigned (level, active low) and
// acknowledges through the ISR register.
func (t *PCI) SetupInterrupts(nq int) ([]Vector, error) {
	if t.hasMSIX {
		vecs, err := t.setupMSIX(nq)
		if err == nil {
			return vecs, nil
		}
	}
	return t.setupINTx(nq)
}

func (t *PCI) setupMSIX(nq int) ([]Vector, error) {
	perQueue := t.msix.TableSize >= nq+1
	nEntries := 2
	if perQueue {
		nEntries = nq + 1
	}
	var vecs []Vector
	free := func() {
		for _, v := range vecs {
			t.p.FreeVector(v.V)
		}
	}
	t.f.EnableMSIX(t.p, t.msix)
	for e := 0; e < nEntries; e++ {
		v, err := t.p.AllocVector()
		if err != nil {
			free()
			return nil, fmt.Errorf("%v: %w", t, err)
		}
		addr, data := t.p.MSIMessage(v, 0)
		ent := t.msixTable + uintptr(e*pci.MSIXEntrySize)
		t.p.MMIOWrite32(ent+pci.MSIXAddrLo, uint32(addr))
		t.p.MMIOWrite32(ent+pci.MSIXAddrHi, uint32(addr>>32))
		t.p.MMIOWrite32(ent+pci.MSIXData, data)
		t.p.MMIOWrite32(ent+pci.MSIXVectorCtrl, 0)
		vecs = append(vecs, Vector{V: v})
	}
	vecs[0].Config = true
	t.w16(ccMSIXConfig, 0)
	if t.r16(ccMSIXConfig) == noVector {
		free()
		return nil, fmt.Errorf("%v: device refused MSI-X vector for configuration", t)
	}
	t.queueVec = make([]uint16, nq)
	for q := 0; q < nq; q++ {
		e := 1
		if perQueue {
			e = q + 1
		}
		t.queueVec[q] = uint16(e)
		vecs[e].Queues = append(vecs[e].Queues, q)
	}
	return vecs, nil
}

// setupINTx takes the interrupt line register the firmware wrote as the
// GSI. That is the 8259 IRQ, right in PIC mode; with the IOAPIC, q35's
// PIRQ links arrive at GSI 16-23 and the true mapping is the DSDT's _PRT,
// which is not read yet. QEMU's virtio-pci functions all offer MSI-X, so
// this path is a fallback.
func (t *PCI) setupINTx(nq int) ([]Vector, error) {
	if t.f.IntPin == 0 || t.f.IntLine == 0 || t.f.IntLine == 0xff {
		return nil, fmt.Errorf("%v: neither MSI-X nor an assigned INTx line", t)
	}
	v, err := t.p.AllocVector()
	if err != nil {
		return nil, fmt.Errorf("%v: %w", t, err)
	}
	gsi := uint32(t.f.IntLine)
	if err := t.p.RouteIRQ(gsi, v, true, true); err != nil {
		t.p.FreeVector(v)
		return nil, fmt.Errorf("%v: IRQ %d: %w", t, gsi, err)
	}
	t.queueVec = make([]uint16, nq)
	vec := Vector{V: v, Config: true,
		Ack:  func() uint8 { return t.p.MMIORead8(t.isr) }, // reading clears it
		Done: func() { _ = t.p.UnmaskIRQ(gsi) },
	}
	for q := 0; q < nq; q++ {
		t.queueVec[q] = noVector
		vec.Queues = append(vec.Queues, q)
	}
	t.w16(ccMSIXConfig, noVector)
	return []Vector{vec}, nil
}

func (t *PCI) SetupQueue(q, size int, desc, driver, device uint64) error {
	t.selectQueue(q)
	if t.r16(ccQueueEnable) != 0 {
		return fmt.Errorf("%v: queue %d already enabled", t, q)
	}
	if max := int(t.r16(ccQueueSize)); size > max {
		return fmt.Errorf("%v: queue %d size %d exceeds maximum %d", t, q, size, max)
	}
	t.w16(ccQueueSize, uint16(size))
	t.w64(ccQueueDesc, desc)
	t.w64(ccQueueDriver, driver)
	t.w64(ccQueueDevice, device)
	if q < len(t.queueVec) && t.queueVec[q] != noVector {
		t.w16(ccQueueMSIXVector, t.queueVec[q])
		if t.r16(ccQueueMSIXVector) == noVector {
			return fmt.Errorf("%v: device refused MSI-X entry %d for queue %d", t, t.queueVec[q], q)
		}
	}
	t.w16(ccQueueEnable, 1)
	return nil
}

func (t *PCI) notifyFunc(q int) func() {
	t.selectQueue(q)
	addr := t.notify + uintptr(t.r16(ccQueueNotifyOff))*uintptr(t.notifyMul)
	return func() { t.p.MMIOWrite16(addr, uint16(q)) }
}

func (t *PCI) ReadConfig(off, width int) uint64 {
	if t.device == 0 {
		return 0
	}
	a := t.device + uintptr(off)
	switch width {
	case 1:
		return uint64(t.p.MMIORead8(a))
	case 2:
		return uint64(t.p.MMIORead16(a))
	case 4:
		return uint64(t.p.MMIORead32(a))
	default:
		return uint64(t.p.MMIORead32(a)) | uint64(t.p.MMIORead32(a+4))<<32
	}
}

func (t *PCI) WriteConfig(off, width int, v uint64) {
	if t.device == 0 {
		return
	}
	a := t.device + uintptr(off)
	switch width {
	case 1:
		t.p.MMIOWrite8(a, uint8(v))
	case 2:
		t.p.MMIOWrite16(a, uint16(v))
	case 4:
		t.p.MMIOWrite32(a, uint32(v))
	default:
		t.p.MMIOWrite32(a, uint32(v))
		t.p.MMIOWrite32(a+4, uint32(v>>32))
	}
}
