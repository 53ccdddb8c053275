package devtest

import (
	"errors"
	"sync"
	"sync/atomic"
	"unsafe"
)

// VirtioMMIO is a model of a virtio-mmio device (version 2 by default)
// that reads the driver's split virtqueues from the fake RAM. Tests pop
// the chains the driver made available, fill them, push them to the used
// ring and signal, like a hypervisor's device back end.
type VirtioMMIO struct {
	P         *Platform
	GSI       uint32
	Version   uint32
	Type      uint32
	Features  uint64 // offered
	QueueMax  uint32
	NumQueue  int
	Config    []byte
	ConfigGen uint32

	// OnNotify runs (without locks held) when the driver writes QueueNotify.
	OnNotify func(q int)

	mu         sync.Mutex
	status     uint32
	devSel     uint32
	drvSel     uint32
	Driver     uint64 // features the driver accepted
	qsel       uint32
	Q          []*DevQueue
	intStatus  uint32
	Notifies   atomic.Int64
	Interrupts atomic.Int64
	// RefuseFeatures makes the device clear FEATURES_OK (as a device does
	// when it cannot work with the accepted features).
	RefuseFeatures bool
	// raise delivers a used-buffer interrupt for queue q; nil: the
	// virtio-mmio way (InterruptStatus bit 0, then the GSI).
	raise func(q int)
}

// DevQueue is the device side of one virtqueue.
type DevQueue struct {
	d         *VirtioMMIO
	Num       uint32
	Ready     bool
	Desc      uint64
	Avail     uint64
	Used      uint64
	LastAvail uint16
	UsedIdx   uint16
	signalled uint16 // used idx at the last interrupt
}

// NewVirtioMMIO places a device model at phys with interrupt line gsi.
func NewVirtioMMIO(p *Platform, phys uintptr, gsi uint32, typ uint32, features uint64, nq int) *VirtioMMIO {
	d := &VirtioMMIO{P: p, GSI: gsi, Version: 2, Type: typ, Features: features, QueueMax: 256, NumQueue: nq}
	for i := 0; i < nq; i++ {
		d.Q = append(d.Q, &DevQueue{d: d})
	}
	p.AddRegion(phys, 0x200, d)
	return d
}

func (d *VirtioMMIO) Read(off uintptr, w int) uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	if off >= 0x100 {
		o := int(off - 0x100)
		var v uint64
		for i := 0; i < w && o+i < len(d.Config); i++ {
			v |= uint64(d.Config[o+i]) << (8 * i)
		}
		return v
	}
	q := d.cur()
	switch off {
	case 0x000:
		return 0x74726976
	case 0x004:
		return uint64(d.Version)
	case 0x008:
		return uint64(d.Type)
	case 0x00c:
		return 0x554d4551
	case 0x010:
		return uint64(uint32(d.Features >> (32 * (d.devSel & 1))))
	case 0x034:
		if q == nil {
			return 0
		}
		return uint64(d.QueueMax)
	case 0x044:
		if q != nil && q.Ready {
			return 1
		}
		return 0
	case 0x060:
		return uint64(d.intStatus)
	case 0x070:
		return uint64(d.status)
	case 0x0fc:
		return uint64(d.ConfigGen)
	}
	return 0
}

func (d *VirtioMMIO) cur() *DevQueue {
	if int(d.qsel) < len(d.Q) {
		return d.Q[d.qsel]
	}
	return nil
}

func (d *VirtioMMIO) Write(off uintptr, w int, v uint64) {
	d.mu.Lock()
	q := d.cur()
	lo32 := func(p *uint64) { *p = *p&^0xffffffff | v&0xffffffff }
	hi32 := func(p *uint64) { *p = *p&0xffffffff | v<<32 }
	var notify = -1
	switch off {
	case 0x014:
		d.devSel = uint32(v)
	case 0x020:
		if d.drvSel == 0 {
			lo32(&d.Driver)
		} else {
			hi32(&d.Driver)
		}
	case 0x024:
		d.drvSel = uint32(v)
	case 0x030:
		d.qsel = uint32(v)
	case 0x038:
		if q != nil {
			q.Num = uint32(v)
		}
	case 0x044:
		if q != nil {
			q.Ready = v&1 != 0
		}
	case 0x050:
		notify = int(v)
	case 0x064:
		d.intStatus &^= uint32(v)
	case 0x070:
		s := uint32(v)
		if s == 0 {
			d.reset()
		} else {
			if s&8 != 0 && (d.RefuseFeatures || d.Driver&^d.Features != 0) {
				s &^= 8
			}
			d.status = s
		}
	case 0x080:
		if q != nil {
			lo32(&q.Desc)
		}
	case 0x084:
		if q != nil {
			hi32(&q.Desc)
		}
	case 0x090:
		if q != nil {
			lo32(&q.Avail)
		}
	case 0x094:
		if q != nil {
			hi32(&q.Avail)
		}
	case 0x0a0:
		if q != nil {
			lo32(&q.Used)
		}
	case 0x0a4:
		if q != nil {
			hi32(&q.Used)
		}
	}
	cb := d.OnNotify
	d.mu.Unlock()
	if notify >= 0 {
		d.Notifies.Add(1)
		if cb != nil {
			cb(notify)
		}
	}
}

func (d *VirtioMMIO) reset() {
	d.status, d.Driver, d.intStatus = 0, 0, 0
	for i := range d.Q {
		d.Q[i] = &DevQueue{d: d}
	}
}

// Status returns the device status register.
func (d *VirtioMMIO) Status() uint32 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status
}

func (d *VirtioMMIO) eventIdx() bool { return d.Driver&(1<<29) != 0 }

// DevSeg is one descriptor of a chain as the device sees it.
type DevSeg struct {
	Buf   []byte
	Write bool
}

// Chain is a buffer chain the driver made available.
type Chain struct {
	Head uint16
	Segs []DevSeg
}

// ErrBadDesc reports a malformed descriptor chain.
var ErrBadDesc = errors.New("devtest: bad descriptor")

func (q *DevQueue) w32(a uint64) *uint32 {
	b := q.d.P.Phys(a, 4)
	return (*uint32)(unsafe.Pointer(&b[0]))
}

// Pending reports how many chains are available and not yet popped.
func (q *DevQueue) Pending() int {
	idx := uint16(atomic.LoadUint32(q.w32(q.Avail)) >> 16)
	return int(idx - q.LastAvail)
}

// AvailFlags returns the available ring's flags.
func (q *DevQueue) AvailFlags() uint16 { return uint16(atomic.LoadUint32(q.w32(q.Avail))) }

// Pop takes the next available chain, following indirect tables. Like
// QEMU, a device that finds the ring empty asks (with EVENT_IDX, through
// avail_event) to be notified of the next buffer, then looks once more in
// case the driver added one meanwhile; while buffers remain it asks for
// nothing, so the driver need not notify.
func (q *DevQueue) Pop() (Chain, bool, error) {
	if q.Pending() == 0 {
		if q.d.eventIdx() {
			atomic.StoreUint32(q.w32(q.Used+4+8*uint64(q.Num)), uint32(q.LastAvail))
		}
		if q.Pending() == 0 {
			return Chain{}, false, nil
		}
	}
	p := q.d.P
	slot := q.Avail + 4 + 2*uint64(q.LastAvail%uint16(q.Num))
	head := le.Uint16(p.Phys(slot, 2))
	q.LastAvail++
	c := Chain{Head: head}
	table, n := q.Desc, uint64(q.Num)
	i := uint64(head)
	indirect := false
	for steps := 0; ; steps++ {
		if i >= n || steps > int(n) {
			return c, true, ErrBadDesc
		}
		d := p.Phys(table+16*i, 16)
		addr, ln, fl, next := le.Uint64(d), le.Uint32(d[8:]), le.Uint16(d[12:]), le.Uint16(d[14:])
		if fl&4 != 0 {
			if indirect || ln%16 != 0 || ln == 0 || p.Phys(addr, int(ln)) == nil {
				return c, true, ErrBadDesc
			}
			table, n, i, indirect = addr, uint64(ln/16), 0, true
			continue
		}
		buf := p.Phys(addr, int(ln))
		if buf == nil {
			return c, true, ErrBadDesc
		}
		c.Segs = append(c.Segs, DevSeg{Buf: buf, Write: fl&2 != 0})
		if fl&1 == 0 {
			return c, true, nil
		}
		i = uint64(next)
	}
}

// Push returns a chain to the driver through the used ring.
func (q *DevQueue) Push(head uint16, written uint32) {
	p := q.d.P
	e := q.Used + 4 + 8*uint64(q.UsedIdx%uint16(q.Num))
	le.PutUint32(p.Phys(e, 4), uint32(head))
	le.PutUint32(p.Phys(e+4, 4), written)
	q.UsedIdx++
	atomic.StoreUint32(q.w32(q.Used), uint32(q.UsedIdx)<<16)
}

// Signal interrupts the driver for this queue unless it asked not to be
// (NO_INTERRUPT, or with EVENT_IDX used_event not crossed). It reports
// whether it interrupted.
func (q *DevQueue) Signal() bool {
	old, new := q.signalled, q.UsedIdx
	if old == new {
		return false
	}
	var need bool
	if q.d.eventIdx() {
		ev := uint16(atomic.LoadUint32(q.w32(q.Avail + 4 + 2*uint64(q.Num))))
		need = new-ev-1 < new-old
	} else {
		need = q.AvailFlags()&1 == 0
	}
	q.signalled = new
	if !need {
		return false
	}
	q.d.Interrupts.Add(1)
	if q.d.raise != nil {
		q.d.raise(q.index())
		return true
	}
	q.d.mu.Lock()
	q.d.intStatus |= 1
	q.d.mu.Unlock()
	q.d.P.Raise(q.d.GSI)
	return true
}

func (q *DevQueue) index() int {
	q.d.mu.Lock()
	defer q.d.mu.Unlock()
	for i, x := range q.d.Q {
		if x == q {
			return i
		}
	}
	return -1
}
