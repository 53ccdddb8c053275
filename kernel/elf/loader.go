// Package elf maps an ELF executable into the application's part of the
// address space and builds its initial process stack.
//
// It is a level-1 package (ordinary Go, unit-tested on the host): it reaches
// the address space only through the Memory interface and reads the file
// through io.ReaderAt. File format checks live in gosv/internal/elfexec.
//
// References: the ELF generic ABI (gABI) chapter 5 "Program Loading and
// Dynamic Linking"; the System V x86-64 psABI section 3.4 "Process
// Initialization" (3.4.1 "Initial Stack and Register State", and the
// "Auxiliary Vector" subsection, numbered 3.4.2 or 3.4.3 depending on the
// edition) and chapter 5 "Program Loading"; Linux's fs/binfmt_elf.c, whose
// observable behaviour is the reference.
package elf

import (
	"fmt"
	"io"

	"github.com/gosv/gosv/internal/elfexec"
)

// PageSize is the page size of every mapping the loader asks for.
const PageSize = elfexec.PageSize

// AppLimit is the first address above the application area (see
// docs/internals.md): nothing is ever mapped at or above it.
const AppLimit = elfexec.AppLimit

// Load bases for ET_DYN files (see ChooseBase). Both lie in the app area
// [0, AppLimit) and leave room below them for ET_EXEC programs (linked at
// 0x400000 by default) and their brk heap, and between them for the PIE's
// brk heap; the mmap area and the stack are placed by the kernel elsewhere.
const (
	// PIEBase is the base of PIE and static-PIE executables: two thirds of
	// the app area, the same fraction Linux uses for ELF_ET_DYN_BASE.
	PIEBase = 0x0000_2aaa_aaaa_a000
	// InterpBase is the base of the program interpreter (ld.so), 1 TiB
	// below AppLimit.
	InterpBase = 0x0000_3f00_0000_0000
	// MaxBaseAlign caps the p_align that ChooseBase honours; larger
	// alignments are honoured only up to this value.
	MaxBaseAlign = 1 << 30
)

// Prot are mapping protections; the values are Linux's PROT_READ,
// PROT_WRITE and PROT_EXEC.
type Prot uint8

const (
	ProtRead  Prot = 1
	ProtWrite Prot = 2
	ProtExec  Prot = 4
)

func (p Prot) String() string {
	b := []byte("---")
	if p&ProtRead != 0 {
		b[0] = 'r'
	}
	if p&ProtWrite != 0 {
		b[1] = 'w'
	}
	if p&ProtExec != 0 {
		b[2] = 'x'
	}
	return string(b)
}

// protOf converts ELF p_flags (PF_R=4, PF_W=2, PF_X=1) to Prot.
func protOf(f elfexec.Flags) Prot {
	var p Prot
	if f&elfexec.FlagR != 0 {
		p |= ProtRead
	}
	if f&elfexec.FlagW != 0 {
		p |= ProtWrite
	}
	if f&elfexec.FlagX != 0 {
		p |= ProtExec
	}
	return p
}

// Memory is the application's address space as the loader sees it. All
// addresses and lengths passed to Map and Protect are multiples of
// PageSize, non-zero, and lie below AppLimit.
type Memory interface {
	// Map creates an anonymous, zero-filled mapping of length bytes at the
	// fixed address addr with protection prot. The loader never maps a page
	// twice.
	Map(addr, length uint64, prot Prot) error
	// Protect changes the protection of mapped pages.
	Protect(addr, length uint64, prot Prot) error
	// Write copies b to addr. The loader writes only to pages it has mapped
	// with ProtRead|ProtWrite and not yet protected.
	Write(addr uint64, b []byte) error
}

// Mapping is one page-aligned range created by Load, with its final
// protection.
type Mapping struct {
	Addr, Length uint64
	Prot         Prot
}

func (m Mapping) String() string {
	return fmt.Sprintf("[%#x, %#x) %v", m.Addr, m.Addr+m.Length, m.Prot)
}

// Image describes a loaded executable. Addresses are run-time addresses
// (load bias applied).
type Image struct {
	Info *elfexec.Info

	Entry    uint64 // Base + e_entry: where the program (or ld.so) starts
	Base     uint64 // load bias: 0 for ET_EXEC, the base for ET_DYN
	PHdrAddr uint64 // program headers in memory (AT_PHDR); 0 if not loaded
	PHEnt    uint64 // e_phentsize (AT_PHENT), always 56
	PHNum    uint64 // e_phnum (AT_PHNUM)
	Interp   string // PT_INTERP path, "" for static programs

	// Start and End bound the mapped pages: [Start, End).
	Start, End uint64
	// BrkStart is the initial program break: End, i.e. the page-aligned end
	// of the highest segment.
	BrkStart uint64
	// Mappings lists the mapped ranges with their final protections, in
	// address order (adjacent ranges may share a protection).
	Mappings []Mapping
}

// ChooseBase returns the load base for a file: 0 for ET_EXEC (loaded at its
// link addresses), InterpBase for an ET_DYN program interpreter (interp
// true) and PIEBase for other ET_DYN files, each rounded up to the largest
// p_align of the file's PT_LOAD segments (at most MaxBaseAlign), as Linux
// does since 5.10 so that huge-page aligned segments stay aligned.
func ChooseBase(info *elfexec.Info, interp bool) uint64 {
	if !info.PIE() {
		return 0
	}
	base := uint64(PIEBase)
	if interp {
		base = InterpBase
	}
	align := info.MaxAlign
	if align < PageSize {
		align = PageSize
	}
	if align > MaxBaseAlign {
		align = MaxBaseAlign
	}
	return (base + align - 1) &^ (align - 1)
}

func pageDown(a uint64) uint64 { return a &^ (PageSize - 1) }
func pageUp(a uint64) uint64   { return (a + PageSize - 1) &^ (PageSize - 1) }

// run is a page range with the protection it ends up with.
type run struct {
	start, end uint64
	union      Prot // union of the flags of the segments touching the range
	anyWX      bool // one of those segments is itself W+X
	last       Prot // flags of the highest segment touching the range
}

func (r *run) final() Prot {
	if r.union&(ProtWrite|ProtExec) == ProtWrite|ProtExec && !r.anyWX {
		// Two segments with different rights share this page. Mapping it W+X
		// would hand the app a W+X page it did not ask for; Linux maps the
		// later segment over the earlier one, so do the same.
		return r.last
	}
	return r.union
}

func (r *run) add(p Prot) {
	r.union |= p
	r.anyWX = r.anyWX || p&(ProtWrite|ProtExec) == ProtWrite|ProtExec
	r.last = p
}

// Load checks the executable file (size bytes) with elfexec.Inspect and
// loads its PT_LOAD segments into mem (gABI 5 "Program Loading"):
//
//   - an ET_EXEC file is loaded at its link addresses and base is ignored;
//     an ET_DYN file is loaded at base+p_vaddr (base must be page-aligned,
//     see ChooseBase), and the whole image must stay below AppLimit;
//   - each segment occupies the pages [pageDown(v), pageUp(v+p_memsz)),
//     v = bias+p_vaddr. All pages are first mapped ProtRead|ProtWrite
//     (one Map per contiguous range), then the p_filesz file bytes at
//     p_offset are written at v. Every other byte of those pages stays zero:
//     the bss [v+p_filesz, v+p_memsz), the tail of the last page and the
//     head of the first page (Linux shows file bytes there; no program may
//     rely on them);
//   - finally each page gets the protection of its segment's p_flags
//     (PF_R, PF_W, PF_X -> ProtRead, ProtWrite, ProtExec). A page shared by
//     two segments gets the union of their rights, except that a page is
//     never made W+X unless a segment touching it is W+X in the file: then
//     the higher segment's rights win, as with Linux's overlapping mmaps.
//
// Load does not load the interpreter: when Image.Interp is set, the caller
// loads that file too (with base ChooseBase(info, true)) and starts it.
// On error the mappings made so far are left in place for the caller to
// discard with the rest of the address space.
func Load(mem Memory, file io.ReaderAt, size int64, base uint64) (*Image, error) {
	info, err := elfexec.Inspect(file, size)
	if err != nil {
		return nil, err
	}
	var bias uint64
	if info.PIE() {
		if base%PageSize != 0 {
			return nil, fmt.Errorf("load base %#x is not page-aligned", base)
		}
		bias = base
	}
	start := pageDown(bias + info.Low)
	end := pageUp(bias + info.High)
	if bias+info.Low < bias || bias+info.High < bias || end < bias+info.High || end > AppLimit {
		return nil, fmt.Errorf("image [%#x, %#x) at base %#x does not fit below %#x",
			info.Low, info.High, bias, uint64(AppLimit))
	}

	// Page ranges and their protections. Segments are sorted and disjoint,
	// so two consecutive ones share at most one page: the page holding the
	// end of the earlier and the start of the later one.
	var runs []run
	for _, s := range info.Segments {
		lo, hi := pageDown(bias+s.Vaddr), pageUp(bias+s.End())
		p := protOf(s.Flags)
		if n := len(runs); n > 0 && runs[n-1].end > lo {
			r := &runs[n-1]
			if r.end-r.start > PageSize {
				// Split the shared page off the previous range.
				shared := *r
				shared.start = lo
				r.end = lo
				runs = append(runs, shared)
				r = &runs[len(runs)-1]
			}
			r.add(p)
			lo += PageSize
			if lo >= hi {
				continue
			}
		}
		nr := run{start: lo, end: hi}
		nr.add(p)
		runs = append(runs, nr)
	}

	// Map contiguous ranges writable, once each.
	for i := 0; i < len(runs); {
		j := i + 1
		for j < len(runs) && runs[j].start == runs[j-1].end {
			j++
		}
		a, e := runs[i].start, runs[j-1].end
		if err := mem.Map(a, e-a, ProtRead|ProtWrite); err != nil {
			return nil, fmt.Errorf("mapping [%#x, %#x): %w", a, e, err)
		}
		i = j
	}

	// Copy the file bytes.
	var largest uint64
	for _, s := range info.Segments {
		largest = max(largest, s.Filesz)
	}
	buf := make([]byte, min(largest, 64<<10))
	for _, s := range info.Segments {
		for done := uint64(0); done < s.Filesz; {
			n := min(uint64(len(buf)), s.Filesz-done)
			k, err := file.ReadAt(buf[:n], int64(s.Offset+done))
			if uint64(k) != n {
				if err == nil || err == io.EOF {
					err = io.ErrUnexpectedEOF
				}
				return nil, fmt.Errorf("segment %d: reading file at %#x: %w", s.Index, s.Offset+done, err)
			}
			if err := mem.Write(bias+s.Vaddr+done, buf[:n]); err != nil {
				return nil, fmt.Errorf("segment %d: writing at %#x: %w", s.Index, bias+s.Vaddr+done, err)
			}
			done += n
		}
	}

	// Final protections, merging neighbours with equal rights.
	var maps []Mapping
	for _, r := range runs {
		p := r.final()
		if n := len(maps); n > 0 && maps[n-1].Prot == p && maps[n-1].Addr+maps[n-1].Length == r.start {
			maps[n-1].Length += r.end - r.start
			continue
		}
		maps = append(maps, Mapping{Addr: r.start, Length: r.end - r.start, Prot: p})
	}
	for _, m := range maps {
		if err := mem.Protect(m.Addr, m.Length, m.Prot); err != nil {
			return nil, fmt.Errorf("protecting [%#x, %#x) %v: %w", m.Addr, m.Addr+m.Length, m.Prot, err)
		}
	}

	img := &Image{
		Info:     info,
		Entry:    bias + info.Entry,
		Base:     bias,
		PHEnt:    uint64(info.PHEntSize),
		PHNum:    uint64(info.PHNum),
		Interp:   info.Interp,
		Start:    start,
		End:      end,
		BrkStart: end,
		Mappings: maps,
	}
	if info.HasPHdrVaddr {
		img.PHdrAddr = bias + info.PHdrVaddr
	}
	return img, nil
}
