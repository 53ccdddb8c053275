package virtio

import (
	"fmt"

	"github.com/gosv/gosv/kernel/dev"
)

// virtio-mmio register offsets (virtio 1.2 section 4.2.2).
const (
	mmioMagic             = 0x000
	mmioVersion           = 0x004
	mmioDeviceID          = 0x008
	mmioVendorID          = 0x00c
	mmioDeviceFeatures    = 0x010
	mmioDeviceFeaturesSel = 0x014
	mmioDriverFeatures    = 0x020
	mmioDriverFeaturesSel = 0x024
	mmioQueueSel          = 0x030
	mmioQueueNumMax       = 0x034
	mmioQueueNum          = 0x038
	mmioQueueReady        = 0x044
	mmioQueueNotify       = 0x050
	mmioInterruptStatus   = 0x060
	mmioInterruptACK      = 0x064
	mmioStatus            = 0x070
	mmioQueueDescLow      = 0x080
	mmioQueueDescHigh     = 0x084
	mmioQueueDriverLow    = 0x090
	mmioQueueDriverHigh   = 0x094
	mmioQueueDeviceLow    = 0x0a0
	mmioQueueDeviceHigh   = 0x0a4
	mmioConfigGeneration  = 0x0fc
	mmioConfig            = 0x100

	// MMIOMagic is "virt" in little-endian.
	MMIOMagic = 0x74726976
	// MMIOSize is the smallest register window of a virtio-mmio device.
	MMIOSize = 0x200
)

// MMIODevice describes a virtio-mmio slot: its register window and its
// interrupt line, as found in the DSDT or on the command line.
type MMIODevice struct {
	Base      uint64
	Size      uint64
	GSI       uint32
	Level     bool // level-triggered (else edge)
	ActiveLow bool
}

func (m MMIODevice) String() string {
	return fmt.Sprintf("virtio-mmio@%#x", m.Base)
}

// MMIO is a modern (version 2) virtio-mmio transport.
type MMIO struct {
	p    dev.Platform
	d    MMIODevice
	regs uintptr
	typ  uint32
}

// NewMMIO maps the slot and checks it holds a modern virtio device. An
// empty slot (device ID 0) gives dev.ErrNoDevice; a legacy device gives an
// error wrapping ErrLegacy that names it.
func NewMMIO(p dev.Platform, d MMIODevice) (*MMIO, error) {
	size := d.Size
	if size < MMIOSize {
		size = MMIOSize
	}
	regs, err := p.MapMMIO(uintptr(d.Base), uintptr(size))
	if err != nil {
		return nil, fmt.Errorf("%v: %w", d, err)
	}
	m := &MMIO{p: p, d: d, regs: regs}
	if magic := m.r32(mmioMagic); magic != MMIOMagic {
		return nil, fmt.Errorf("%v: bad magic %#x: %w", d, magic, dev.ErrNoDevice)
	}
	m.typ = m.r32(mmioDeviceID)
	if m.typ == 0 {
		return nil, fmt.Errorf("%v: %w", d, dev.ErrNoDevice)
	}
	switch v := m.r32(mmioVersion); v {
	case 2:
	case 1:
		return nil, fmt.Errorf("%v (device type %d): %w; QEMU needs -global virtio-mmio.force-legacy=off", d, m.typ, ErrLegacy)
	default:
		return nil, fmt.Errorf("%v: unknown virtio-mmio version %d", d, v)
	}
	return m, nil
}

func (m *MMIO) r32(off uintptr) uint32    { return m.p.MMIORead32(m.regs + off) }
func (m *MMIO) w32(off uintptr, v uint32) { m.p.MMIOWrite32(m.regs+off, v) }

func (m *MMIO) String() string     { return m.d.String() }
func (m *MMIO) DeviceType() uint32 { return m.typ }
func (m *MMIO) Status() uint8      { return uint8(m.r32(mmioStatus)) }
func (m *MMIO) SetStatus(s uint8)  { m.w32(mmioStatus, uint32(s)) }

func (m *MMIO) Reset() error {
	m.w32(mmioStatus, 0)
	return waitReset(m, func() uint8 { return uint8(m.r32(mmioStatus)) })
}

func (m *MMIO) DeviceFeatures() uint64 {
	m.w32(mmioDeviceFeaturesSel, 0)
	lo := m.r32(mmioDeviceFeatures)
	m.w32(mmioDeviceFeaturesSel, 1)
	hi := m.r32(mmioDeviceFeatures)
	return uint64(hi)<<32 | uint64(lo)
}

func (m *MMIO) SetDriverFeatures(f uint64) {
	m.w32(mmioDriverFeaturesSel, 0)
	m.w32(mmioDriverFeatures, uint32(f))
	m.w32(mmioDriverFeaturesSel, 1)
	m.w32(mmioDriverFeatures, uint32(f>>32))
}

func (m *MMIO) NumQueues() int { return -1 }

func (m *MMIO) QueueMax(q int) int {
	m.w32(mmioQueueSel, uint32(q))
	if m.r32(mmioQueueReady) != 0 {
		return 0 // already in use
	}
	return int(m.r32(mmioQueueNumMax))
}

// SetupInterrupts routes the slot's one interrupt line to one vector that
// serves every queue and configuration changes.
func (m *MMIO) SetupInterrupts(nq int) ([]Vector, error) {
	v, err := m.p.AllocVector()
	if err != nil {
		return nil, fmt.Errorf("%v: %w", m, err)
	}
	if err := m.p.RouteIRQ(m.d.GSI, v, m.d.Level, m.d.ActiveLow); err != nil {
		m.p.FreeVector(v)
		return nil, fmt.Errorf("%v: IRQ %d: %w", m, m.d.GSI, err)
	}
	vec := Vector{V: v, Config: true, Ack: m.ack}
	for i := 0; i < nq; i++ {
		vec.Queues = append(vec.Queues, i)
	}
	if m.d.Level {
		gsi := m.d.GSI
		vec.Done = func() { _ = m.p.UnmaskIRQ(gsi) }
	}
	return []Vector{vec}, nil
}

func (m *MMIO) ack() uint8 {
	s := m.r32(mmioInterruptStatus)
	if s != 0 {
		m.w32(mmioInterruptACK, s)
	}
	return uint8(s)
}

func (m *MMIO) SetupQueue(q, size int, desc, driver, device uint64) error {
	m.w32(mmioQueueSel, uint32(q))
	if m.r32(mmioQueueReady) != 0 {
		return fmt.Errorf("%v: queue %d already enabled", m, q)
	}
	if max := int(m.r32(mmioQueueNumMax)); size > max {
		return fmt.Errorf("%v: queue %d size %d exceeds maximum %d", m, q, size, max)
	}
	m.w32(mmioQueueNum, uint32(size))
	m.w32(mmioQueueDescLow, uint32(desc))
	m.w32(mmioQueueDescHigh, uint32(desc>>32))
	m.w32(mmioQueueDriverLow, uint32(driver))
	m.w32(mmioQueueDriverHigh, uint32(driver>>32))
	m.w32(mmioQueueDeviceLow, uint32(device))
	m.w32(mmioQueueDeviceHigh, uint32(device>>32))
	m.w32(mmioQueueReady, 1)
	return nil
}

func (m *MMIO) Notify(q int) func() {
	return func() { m.w32(mmioQueueNotify, uint32(q)) }
}

func (m *MMIO) ConfigGeneration() uint32 { return m.r32(mmioConfigGeneration) }

func (m *MMIO) ReadConfig(off, width int) uint64 {
	a := m.regs + mmioConfig + uintptr(off)
	switch width {
	case 1:
		return uint64(m.p.MMIORead8(a))
	case 2:
		return uint64(m.p.MMIORead16(a))
	case 4:
		return uint64(m.p.MMIORead32(a))
	default:
		return m.p.MMIORead64(a)
	}
}

func (m *MMIO) WriteConfig(off, width int, v uint64) {
	a := m.regs + mmioConfig + uintptr(off)
	switch width {
	case 1:
		m.p.MMIOWrite8(a, uint8(v))
	case 2:
		m.p.MMIOWrite16(a, uint16(v))
	case 4:
		m.p.MMIOWrite32(a, uint32(v))
	default:
		m.p.MMIOWrite64(a, v)
	}
}
