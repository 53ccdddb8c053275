package devtest

import (
	"sync"
)

// Layout of the fake virtio-pci function: BAR1 (32-bit) holds the MSI-X
// table, BAR4 (64-bit) the virtio regions, as QEMU lays them out.
const (
	PCIBAR1    = 0xfebd1000
	PCIBAR4    = 0xfe000000
	pciCommon  = 0x0000
	pciISR     = 0x1000
	pciDevice  = 0x2000
	pciNotify  = 0x3000
	NotifyMult = 4
)

// VirtioPCI is a model of a modern virtio-pci function: its configuration
// space (vendor capabilities, MSI-X), the common configuration structure,
// ISR, notify and device regions, and an MSI-X table. The queues and
// features live in an embedded VirtioMMIO core (not mapped itself).
type VirtioPCI struct {
	*VirtioMMIO
	Bus, Dev, Fn uint8
	DeviceID     uint16
	IntLine      uint8
	MSIXEntries  int // 0: no MSI-X capability

	mu        sync.Mutex
	cfg       [256]byte
	isr       uint8
	msix      []uint32 // 4 words per entry
	cfgVector uint16
	qVector   []uint16
}

// NewVirtioPCI places a virtio device of type typ at 00:dev.0.
func NewVirtioPCI(p *Platform, dev uint8, typ uint32, features uint64, nq, msixEntries int) *VirtioPCI {
	core := &VirtioMMIO{P: p, Version: 2, Type: typ, Features: features, QueueMax: 256, NumQueue: nq}
	for i := 0; i < nq; i++ {
		core.Q = append(core.Q, &DevQueue{d: core})
	}
	v := &VirtioPCI{VirtioMMIO: core, Dev: dev, DeviceID: 0x1040 + uint16(typ), IntLine: 11, MSIXEntries: msixEntries}
	v.qVector = make([]uint16, nq)
	for i := range v.qVector {
		v.qVector[i] = 0xffff
	}
	v.cfgVector = 0xffff
	v.msix = make([]uint32, 4*msixEntries)
	for i := 0; i < msixEntries; i++ {
		v.msix[4*i+3] = 1 // masked
	}
	core.raise = v.raise
	c := v.cfg[:]
	put16(c[0:], 0x1af4)
	put16(c[2:], v.DeviceID)
	put16(c[6:], 1<<4) // status: capability list
	c[0x0b] = 0x02     // class: network
	put32(c[0x14:], PCIBAR1)
	put32(c[0x20:], PCIBAR4|4) // 64-bit memory BAR
	put32(c[0x24:], 0)
	put16(c[0x2e:], uint16(typ)) // subsystem ID
	c[0x3c], c[0x3d] = v.IntLine, 1
	c[0x34] = 0x40
	next := byte(0x40)
	if msixEntries > 0 {
		c[0x40], c[0x41] = 0x11, 0x50
		put16(c[0x42:], uint16(msixEntries-1))
		put32(c[0x44:], 0x0|1) // table at BAR1 offset 0
		put32(c[0x48:], 0x800|1)
		next = 0x50
	} else {
		c[0x34] = 0x50
	}
	vendor := func(at byte, typ byte, off, length uint32, link byte, extra bool) {
		c[at], c[at+1] = 0x09, link
		c[at+2] = 16
		if extra {
			c[at+2] = 20
		}
		c[at+3] = typ
		c[at+4] = 4 // BAR4
		put32(c[at+8:], off)
		put32(c[at+12:], length)
		if extra {
			put32(c[at+16:], NotifyMult)
		}
	}
	_ = next
	vendor(0x50, 1, pciCommon, 0x1000, 0x60, false)
	vendor(0x60, 3, pciISR, 0x1000, 0x70, false)
	vendor(0x70, 4, pciDevice, 0x1000, 0x80, false)
	vendor(0x80, 2, pciNotify, 0x1000, 0x00, true)
	p.mu.Lock()
	p.PCI[[3]uint8{0, dev, 0}] = v
	p.mu.Unlock()
	p.AddRegion(PCIBAR4, 0x4000, pciRegion{v})
	p.AddRegion(PCIBAR1, 0x1000, msixRegion{v})
	return v
}

func put16(b []byte, v uint16) { b[0], b[1] = byte(v), byte(v>>8) }
func put32(b []byte, v uint32) { le.PutUint32(b, v) }

func (v *VirtioPCI) ConfigRead32(off uint16) uint32 {
	v.mu.Lock()
	defer v.mu.Unlock()
	if int(off)+4 > len(v.cfg) {
		return 0
	}
	return le.Uint32(v.cfg[off:])
}

func (v *VirtioPCI) ConfigWrite32(off uint16, val uint32) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch {
	case off == 0x04: // command; status bits are write-one-to-clear
		put16(v.cfg[4:], uint16(val))
	case off == 0x40 && v.MSIXEntries > 0: // MSI-X message control
		ctl := uint16(val>>16)&0xc000 | uint16(v.MSIXEntries-1)
		put16(v.cfg[0x42:], ctl)
	}
}

// Command returns the PCI command register.
func (v *VirtioPCI) Command() uint16 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return le.Uint16(v.cfg[4:])
}

// MSIXEnabled reports the MSI-X enable bit.
func (v *VirtioPCI) MSIXEnabled() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.MSIXEntries > 0 && le.Uint16(v.cfg[0x42:])&0x8000 != 0
}

// QueueVector returns the MSI-X entry the driver gave queue q.
func (v *VirtioPCI) QueueVector(q int) uint16 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.qVector[q]
}

func (v *VirtioPCI) raise(q int) {
	if v.MSIXEnabled() {
		v.mu.Lock()
		e := v.qVector[q]
		var data uint32
		masked := true
		if int(e) < v.MSIXEntries {
			data, masked = v.msix[4*e+2], v.msix[4*e+3]&1 != 0
		}
		v.mu.Unlock()
		if !masked {
			v.P.Fire(uint8(data))
		}
		return
	}
	v.mu.Lock()
	v.isr |= 1
	v.mu.Unlock()
	v.P.Raise(uint32(v.IntLine))
}

type msixRegion struct{ v *VirtioPCI }

func (r msixRegion) Read(off uintptr, w int) uint64 {
	r.v.mu.Lock()
	defer r.v.mu.Unlock()
	if i := int(off / 4); i < len(r.v.msix) {
		return uint64(r.v.msix[i])
	}
	return 0
}

func (r msixRegion) Write(off uintptr, w int, val uint64) {
	r.v.mu.Lock()
	defer r.v.mu.Unlock()
	if i := int(off / 4); i < len(r.v.msix) {
		r.v.msix[i] = uint32(val)
	}
}

type pciRegion struct{ v *VirtioPCI }

func (r pciRegion) Read(off uintptr, w int) uint64 {
	v := r.v
	switch {
	case off >= pciDevice && off < pciDevice+0x1000:
		return v.VirtioMMIO.Read(0x100+off-pciDevice, w)
	case off == pciISR:
		v.mu.Lock()
		defer v.mu.Unlock()
		s := v.isr
		v.isr = 0
		return uint64(s)
	case off >= pciCommon && off < pciCommon+0x40:
		return v.commonRead(off, w)
	}
	return 0
}

func (r pciRegion) Write(off uintptr, w int, val uint64) {
	v := r.v
	switch {
	case off >= pciNotify && off < pciNotify+0x1000:
		v.VirtioMMIO.Write(0x050, 4, val)
	case off >= pciCommon && off < pciCommon+0x40:
		v.commonWrite(off, w, val)
	}
}

func (v *VirtioPCI) commonRead(off uintptr, w int) uint64 {
	c := v.VirtioMMIO
	c.mu.Lock()
	q := c.cur()
	qsel := c.qsel
	c.mu.Unlock()
	switch off {
	case 0x04:
		return c.Read(0x010, 4)
	case 0x10:
		v.mu.Lock()
		defer v.mu.Unlock()
		return uint64(v.cfgVector)
	case 0x12:
		return uint64(len(c.Q))
	case 0x14:
		return c.Read(0x070, 4)
	case 0x15:
		return c.Read(0x0fc, 4)
	case 0x16:
		return uint64(qsel)
	case 0x18:
		if q == nil {
			return 0
		}
		if q.Num == 0 {
			return uint64(c.QueueMax)
		}
		return uint64(q.Num)
	case 0x1a:
		v.mu.Lock()
		defer v.mu.Unlock()
		if int(qsel) < len(v.qVector) {
			return uint64(v.qVector[qsel])
		}
		return 0xffff
	case 0x1c:
		return c.Read(0x044, 4)
	case 0x1e:
		return uint64(qsel) // notify offset = queue index
	}
	return 0
}

func (v *VirtioPCI) commonWrite(off uintptr, w int, val uint64) {
	c := v.VirtioMMIO
	c.mu.Lock()
	qsel := c.qsel
	c.mu.Unlock()
	switch off {
	case 0x00:
		c.Write(0x014, 4, val)
	case 0x08:
		c.Write(0x024, 4, val)
	case 0x0c:
		c.Write(0x020, 4, val)
	case 0x10:
		v.mu.Lock()
		if int(val) < v.MSIXEntries {
			v.cfgVector = uint16(val)
		} else {
			v.cfgVector = 0xffff
		}
		v.mu.Unlock()
	case 0x14:
		c.Write(0x070, 4, val)
		if val == 0 {
			v.mu.Lock()
			for i := range v.qVector {
				v.qVector[i] = 0xffff
			}
			v.cfgVector = 0xffff
			v.mu.Unlock()
		}
	case 0x16:
		c.Write(0x030, 4, val)
	case 0x18:
		c.Write(0x038, 4, val)
	case 0x1a:
		v.mu.Lock()
		if int(qsel) < len(v.qVector) {
			if int(val) < v.MSIXEntries {
				v.qVector[qsel] = uint16(val)
			} else {
				v.qVector[qsel] = 0xffff
			}
		}
		v.mu.Unlock()
	case 0x1c:
		c.Write(0x044, 4, val)
	case 0x20, 0x24, 0x28, 0x2c, 0x30, 0x34:
		// queue_desc, queue_driver, queue_device as 32-bit halves map to
		// the virtio-mmio registers 0x80/0x84, 0x90/0x94, 0xa0/0xa4.
		m := map[uintptr]uintptr{0x20: 0x80, 0x24: 0x84, 0x28: 0x90, 0x2c: 0x94, 0x30: 0xa0, 0x34: 0xa4}
		c.Write(m[off], 4, val)
	}
}
