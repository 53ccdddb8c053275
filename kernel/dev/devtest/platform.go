// Package devtest provides a fake dev.Platform for host tests of drivers:
// "physical memory" is a Go byte slice, MMIO accesses are dispatched to
// device models, interrupts are counters that WaitVector blocks on, and a
// virtio-mmio device model (MMIODevice) consumes descriptors the way a
// hypervisor does.
package devtest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"

	"github.com/gosv/gosv/kernel/dev"
)

// MemBase is the guest-physical address of the fake RAM's first byte.
const MemBase = 0x100000

// Region is an MMIO device model.
type Region interface {
	Read(off uintptr, width int) uint64
	Write(off uintptr, width int, v uint64)
}

type mapping struct {
	phys, size uintptr
	r          Region
}

// Platform is a fake dev.Platform. Its zero value is not usable; call New.
type Platform struct {
	mu      sync.Mutex
	cond    *sync.Cond
	Mem     []byte
	next    int
	regions []mapping
	vectors [256]struct {
		used  bool
		count uint64
	}
	gsis    map[uint32]uint8
	Masked  map[uint32]bool
	Unmasks int // UnmaskIRQ calls
	level   map[uint32]bool
	pending map[uint32]bool
	Tables  map[string][]byte
	PCI     map[[3]uint8]PCIFunc
	nextVec uint8
}

// PCIFunc is a fake PCI function's configuration space.
type PCIFunc interface {
	ConfigRead32(off uint16) uint32
	ConfigWrite32(off uint16, v uint32)
}

// New returns a platform with memSize bytes of fake RAM.
func New(memSize int) *Platform {
	p := &Platform{
		Mem:     make([]byte, memSize),
		gsis:    map[uint32]uint8{},
		Masked:  map[uint32]bool{},
		level:   map[uint32]bool{},
		pending: map[uint32]bool{},
		Tables:  map[string][]byte{},
		PCI:     map[[3]uint8]PCIFunc{},
		nextVec: 0x30,
	}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// AddRegion places an MMIO device model at phys.
func (p *Platform) AddRegion(phys, size uintptr, r Region) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.regions = append(p.regions, mapping{phys, size, r})
}

// Phys returns the fake RAM at guest-physical address a, n bytes long, or
// nil when the range is outside RAM.
func (p *Platform) Phys(a uint64, n int) []byte {
	if a < MemBase || n < 0 || a-MemBase > uint64(len(p.Mem)) || uint64(len(p.Mem))-(a-MemBase) < uint64(n) {
		return nil
	}
	o := int(a - MemBase)
	return p.Mem[o : o+n : o+n]
}

func (p *Platform) AllocDMA(size int) (dev.DMA, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	size = (size + 4095) &^ 4095
	if size <= 0 || p.next+size > len(p.Mem) {
		return dev.DMA{}, errors.New("devtest: out of DMA memory")
	}
	o := p.next
	p.next += size
	return dev.DMA{Buf: p.Mem[o : o+size : o+size], Phys: MemBase + uint64(o)}, nil
}

// MapMMIO returns the physical address itself as the "virtual" one.
func (p *Platform) MapMMIO(phys, size uintptr) (uintptr, error) {
	if _, _, ok := p.find(phys); !ok {
		return 0, fmt.Errorf("devtest: no device at %#x", phys)
	}
	return phys, nil
}

func (p *Platform) find(a uintptr) (Region, uintptr, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, m := range p.regions {
		if a >= m.phys && a < m.phys+m.size {
			return m.r, a - m.phys, true
		}
	}
	return nil, 0, false
}

func (p *Platform) read(a uintptr, w int) uint64 {
	r, off, ok := p.find(a)
	if !ok {
		return 1<<(8*w) - 1
	}
	return r.Read(off, w)
}

func (p *Platform) write(a uintptr, w int, v uint64) {
	if r, off, ok := p.find(a); ok {
		r.Write(off, w, v)
	}
}

func (p *Platform) MMIORead8(a uintptr) uint8       { return uint8(p.read(a, 1)) }
func (p *Platform) MMIORead16(a uintptr) uint16     { return uint16(p.read(a, 2)) }
func (p *Platform) MMIORead32(a uintptr) uint32     { return uint32(p.read(a, 4)) }
func (p *Platform) MMIORead64(a uintptr) uint64     { return p.read(a, 8) }
func (p *Platform) MMIOWrite8(a uintptr, v uint8)   { p.write(a, 1, uint64(v)) }
func (p *Platform) MMIOWrite16(a uintptr, v uint16) { p.write(a, 2, uint64(v)) }
func (p *Platform) MMIOWrite32(a uintptr, v uint32) { p.write(a, 4, uint64(v)) }
func (p *Platform) MMIOWrite64(a uintptr, v uint64) { p.write(a, 8, v) }

func (p *Platform) PCIConfigRead32(bus, d, fn uint8, off uint16) uint32 {
	p.mu.Lock()
	f, ok := p.PCI[[3]uint8{bus, d, fn}]
	p.mu.Unlock()
	if !ok {
		return 0xffffffff
	}
	return f.ConfigRead32(off &^ 3)
}

func (p *Platform) PCIConfigWrite32(bus, d, fn uint8, off uint16, v uint32) {
	p.mu.Lock()
	f, ok := p.PCI[[3]uint8{bus, d, fn}]
	p.mu.Unlock()
	if ok {
		f.ConfigWrite32(off&^3, v)
	}
}

func (p *Platform) AllocVector() (uint8, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for v := int(p.nextVec); v < 0xf0; v++ {
		if !p.vectors[v].used {
			p.vectors[v].used = true
			return uint8(v), nil
		}
	}
	return 0, errors.New("devtest: no free vector")
}

// FreeVector releases v; a goroutine blocked in WaitVector(v) returns 0.
func (p *Platform) FreeVector(v uint8) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.vectors[v].used = false
	p.cond.Broadcast()
}

// Fire raises vector v once.
func (p *Platform) Fire(v uint8) {
	p.mu.Lock()
	p.vectors[v].count++
	p.mu.Unlock()
	p.cond.Broadcast()
}

// Raise asserts interrupt line gsi (delivered once to its routed vector).
// Like kernel/machine, a level-triggered line is masked when it fires and
// stays masked until the driver calls UnmaskIRQ; a Raise while it is
// masked is delivered at the unmask.
func (p *Platform) Raise(gsi uint32) {
	p.mu.Lock()
	v, ok := p.gsis[gsi]
	if ok && p.level[gsi] {
		if p.Masked[gsi] {
			p.pending[gsi] = true
			ok = false
		} else {
			p.Masked[gsi] = true
		}
	}
	p.mu.Unlock()
	if ok {
		p.Fire(v)
	}
}

func (p *Platform) WaitVector(v uint8) uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.vectors[v].count == 0 {
		if !p.vectors[v].used {
			return 0
		}
		p.cond.Wait()
	}
	n := p.vectors[v].count
	p.vectors[v].count = 0
	return n
}

func (p *Platform) RouteIRQ(gsi uint32, v uint8, level, activeLow bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gsis[gsi] = v
	p.level[gsi] = level
	p.Masked[gsi] = false
	return nil
}

func (p *Platform) MaskIRQ(gsi uint32) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.gsis[gsi]; !ok {
		return errors.New("devtest: GSI not routed")
	}
	p.Masked[gsi] = true
	return nil
}

func (p *Platform) UnmaskIRQ(gsi uint32) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.gsis[gsi]; !ok {
		return errors.New("devtest: GSI not routed")
	}
	p.Masked[gsi] = false
	p.Unmasks++
	if p.level[gsi] && p.pending[gsi] {
		p.pending[gsi] = false
		p.Masked[gsi] = true
		p.vectors[p.gsis[gsi]].count++
		p.cond.Broadcast()
	}
	return nil
}

// MSIMessage follows the x86 format: address 0xFEE00000 | APIC ID << 12,
// data = vector (fixed delivery, edge).
func (p *Platform) MSIMessage(v uint8, cpu int) (uint64, uint32) {
	return 0xfee00000 | uint64(cpu)<<12, uint32(v)
}

func (p *Platform) ACPITable(sig string) []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.Tables[sig]
}

var _ dev.Platform = (*Platform)(nil)

var le = binary.LittleEndian
