package task

import (
	"encoding/binary"
	"sort"
	"sync"

	"github.com/gosv/gosv/kernel/machine"

	"golang.org/x/sys/unix"
)

var Le = binary.LittleEndian

const PageSize = 4096

// App address-space layout (below machine.AppLimit, the start of the
// kernel window): non-PIE executables at their link address, PIE
// executables at elf.PIEBase, the interpreter at elf.InterpBase; mmap allocates top
// down from MmapTop; the main thread's stack ends at StackTop.
const (
	AppLimit  = machine.AppLimit
	StackTop  = 0x3fff_ff00_0000
	StackSize = 8 << 20 // RLIMIT_STACK
	MmapTop   = 0x3e00_0000_0000
	MmapMin   = 0x0000_1000_0000
)

func PageUp(a uintptr) uintptr   { return (a + PageSize - 1) &^ (PageSize - 1) }
func PageDown(a uintptr) uintptr { return a &^ (PageSize - 1) }

// VMA is one mapping of the app (a line of /proc/self/maps).
type VMA struct {
	Start, End uintptr
	Prot       int    // PROT_* bits
	Flags      int    // MAP_* bits
	Name       string // "[heap]", "[stack]", a file path, or ""
	Offset     int64
}

// MM is the app's memory map: VMAs, the program break, and the pager that
// backs them with demand-zero pages.
type MM struct {
	Mu       sync.Mutex
	Pager    Pager
	mem      Mem
	Vmas     []VMA // sorted by Start, non-overlapping
	BrkStart uintptr
	brk      uintptr
	Futexes  *futexTable // futex waiters by address (futex.go)
}

// NewMM returns an empty memory map.
func NewMM(p Pager, mem Mem) *MM { return &MM{Pager: p, mem: mem, Futexes: newFutexTable()} }

// VMAs returns a copy of the mappings, sorted.
func (m *MM) VMAs() []VMA {
	m.Mu.Lock()
	defer m.Mu.Unlock()
	return append([]VMA(nil), m.Vmas...)
}

// SetBrk sets the initial program break (page-aligned end of the executable).
func (m *MM) SetBrk(a uintptr) {
	m.Mu.Lock()
	m.BrkStart, m.brk = PageUp(a), PageUp(a)
	m.Mu.Unlock()
}

// removeLocked cuts [start, end) out of the VMA list.
func (m *MM) removeLocked(start, end uintptr) {
	var out []VMA
	for _, v := range m.Vmas {
		if v.End <= start || v.Start >= end {
			out = append(out, v)
			continue
		}
		if v.Start < start {
			l := v
			l.End = start
			out = append(out, l)
		}
		if v.End > end {
			r := v
			if r.Offset != 0 || r.Name != "" {
				r.Offset += int64(end - v.Start)
			}
			r.Start = end
			out = append(out, r)
		}
	}
	m.Vmas = out
}

func (m *MM) insertLocked(v VMA) {
	m.removeLocked(v.Start, v.End)
	m.Vmas = append(m.Vmas, v)
	sort.Slice(m.Vmas, func(i, j int) bool { return m.Vmas[i].Start < m.Vmas[j].Start })
}

func (m *MM) overlapsLocked(start, end uintptr) bool {
	for _, v := range m.Vmas {
		if v.Start < end && start < v.End {
			return true
		}
	}
	return false
}

// findFreeLocked returns the highest free range of n bytes below top.
func (m *MM) findFreeLocked(n, top uintptr) (uintptr, bool) {
	end := top
	for i := len(m.Vmas) - 1; i >= -1; i-- {
		lo := uintptr(MmapMin)
		if i >= 0 {
			lo = m.Vmas[i].End
		}
		if i >= 0 && m.Vmas[i].Start >= end {
			continue
		}
		if lo < end && end-lo >= n {
			return end - n, true
		}
		if i >= 0 && m.Vmas[i].Start < end {
			end = m.Vmas[i].Start
		}
	}
	return 0, false
}

// Map creates an anonymous mapping (mmap(2) without a file). With fixed
// the range [addr, addr+n) replaces what was there; otherwise addr is a
// hint. Returns the address. Errors: EINVAL (bad alignment or length),
// ENOMEM (no room), EEXIST (MAP_FIXED_NOREPLACE over a mapping).
func (m *MM) Map(addr, n uintptr, prot, flags int, name string) (uintptr, error) {
	if n == 0 {
		return 0, unix.EINVAL
	}
	n = PageUp(n)
	if n == 0 || n > AppLimit {
		return 0, unix.ENOMEM
	}
	m.Mu.Lock()
	defer m.Mu.Unlock()
	fixed := flags&(unix.MAP_FIXED|unix.MAP_FIXED_NOREPLACE) != 0
	switch {
	case fixed:
		if addr%PageSize != 0 {
			return 0, unix.EINVAL
		}
		if addr+n < addr || addr+n > AppLimit {
			return 0, unix.ENOMEM
		}
		if flags&unix.MAP_FIXED_NOREPLACE != 0 && m.overlapsLocked(addr, addr+n) {
			return 0, unix.EEXIST
		}
	case addr != 0 && PageDown(addr) >= MmapMin && PageDown(addr)+n <= AppLimit && PageDown(addr)+n > PageDown(addr) && !m.overlapsLocked(PageDown(addr), PageDown(addr)+n):
		addr = PageDown(addr)
	default:
		a, ok := m.findFreeLocked(n, MmapTop)
		if !ok {
			return 0, unix.ENOMEM
		}
		addr = a
	}
	if err := m.Pager.Map(addr, n, prot); err != nil {
		return 0, err
	}
	m.insertLocked(VMA{Start: addr, End: addr + n, Prot: prot, Flags: flags, Name: name})
	return addr, nil
}

// Unmap removes [addr, addr+n) (munmap(2)); EINVAL for a misaligned addr.
func (m *MM) Unmap(addr, n uintptr) error {
	if addr%PageSize != 0 || n == 0 || addr+n < addr || addr+n > AppLimit {
		return unix.EINVAL
	}
	n = PageUp(n)
	m.Mu.Lock()
	defer m.Mu.Unlock()
	if err := m.Pager.Unmap(addr, n); err != nil {
		return err
	}
	m.removeLocked(addr, addr+n)
	return nil
}

// Protect changes protections (mprotect(2)); ENOMEM when part of the range
// is not mapped, EINVAL for a misaligned addr.
func (m *MM) Protect(addr, n uintptr, prot int) error {
	if addr%PageSize != 0 || addr+n < addr {
		return unix.EINVAL
	}
	n = PageUp(n)
	m.Mu.Lock()
	defer m.Mu.Unlock()
	// Every page must be mapped.
	for a := addr; a < addr+n; {
		found := false
		for _, v := range m.Vmas {
			if v.Start <= a && a < v.End {
				a = v.End
				found = true
				break
			}
		}
		if !found {
			return unix.ENOMEM
		}
	}
	if err := m.Pager.Protect(addr, n, prot); err != nil {
		return err
	}
	var parts []VMA
	for _, v := range m.Vmas {
		if v.Start < addr+n && addr < v.End {
			p := v
			p.Start, p.End = max(v.Start, addr), min(v.End, addr+n)
			p.Prot = prot
			parts = append(parts, p)
		}
	}
	for _, p := range parts {
		m.insertLocked(p)
	}
	return nil
}

// Brk moves the program break (brk(2)): it returns the new break, or the
// old one when addr is 0, below the start, or cannot be mapped.
func (m *MM) Brk(addr uintptr) uintptr {
	m.Mu.Lock()
	defer m.Mu.Unlock()
	if addr < m.BrkStart || addr > m.BrkStart+(1<<40) {
		return m.brk
	}
	oldTop, newTop := PageUp(m.brk), PageUp(addr)
	switch {
	case newTop > oldTop:
		if m.overlapsLocked(oldTop, newTop) {
			return m.brk
		}
		if err := m.Pager.Map(oldTop, newTop-oldTop, unix.PROT_READ|unix.PROT_WRITE); err != nil {
			return m.brk
		}
		m.insertLocked(VMA{Start: m.BrkStart, End: newTop, Prot: unix.PROT_READ | unix.PROT_WRITE, Name: "[heap]"})
	case newTop < oldTop:
		if err := m.Pager.Unmap(newTop, oldTop-newTop); err != nil {
			return m.brk
		}
		m.removeLocked(newTop, oldTop)
	}
	m.brk = addr
	return m.brk
}

// Remap implements mremap(2) for anonymous memory: shrink in place, grow in
// place when the pages after are free, else move (with MREMAP_MAYMOVE) by
// copying. Errors: EINVAL, ENOMEM, EFAULT (old range not mapped).
func (m *MM) Remap(old, oldN, newN uintptr, flags int, newAddr uintptr) (uintptr, error) {
	if old%PageSize != 0 || newN == 0 {
		return 0, unix.EINVAL
	}
	oldN, newN = PageUp(oldN), PageUp(newN)
	m.Mu.Lock()
	var vma *VMA
	for i := range m.Vmas {
		if m.Vmas[i].Start <= old && old < m.Vmas[i].End {
			vma = &m.Vmas[i]
			break
		}
	}
	if vma == nil || old+oldN > vma.End {
		m.Mu.Unlock()
		return 0, unix.EFAULT
	}
	prot, flagsV, name := vma.Prot, vma.Flags, vma.Name
	if flags&unix.MREMAP_FIXED == 0 {
		if newN <= oldN {
			if newN < oldN {
				m.Pager.Unmap(old+newN, oldN-newN)
				m.removeLocked(old+newN, old+oldN)
			}
			m.Mu.Unlock()
			return old, nil
		}
		if !m.overlapsLocked(old+oldN, old+newN) && old+newN <= AppLimit {
			if err := m.Pager.Map(old+oldN, newN-oldN, prot); err == nil {
				m.insertLocked(VMA{Start: old + oldN, End: old + newN, Prot: prot, Flags: flagsV, Name: name})
				m.Mu.Unlock()
				return old, nil
			}
		}
		if flags&unix.MREMAP_MAYMOVE == 0 {
			m.Mu.Unlock()
			return 0, unix.ENOMEM
		}
	}
	m.Mu.Unlock()
	mapFlags := unix.MAP_PRIVATE | unix.MAP_ANONYMOUS
	if flags&unix.MREMAP_FIXED != 0 {
		mapFlags |= unix.MAP_FIXED
	}
	dst, err := m.Map(newAddr, newN, prot|unix.PROT_READ|unix.PROT_WRITE, mapFlags, name)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 64<<10)
	for off := uintptr(0); off < min(oldN, newN); off += uintptr(len(buf)) {
		k := min(uintptr(len(buf)), min(oldN, newN)-off)
		if err := m.mem.CopyIn(buf[:k], old+off); err == nil {
			m.mem.CopyOut(dst+off, buf[:k])
		}
	}
	if prot&unix.PROT_WRITE == 0 || prot&unix.PROT_READ == 0 {
		m.Protect(dst, newN, prot)
	}
	m.Unmap(old, oldN)
	return dst, nil
}
