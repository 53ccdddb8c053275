// Package elfexec checks that a file is an x86-64 Linux executable that the
// gosv kernel can run, and describes what must be loaded.
//
// It implements the parts of the ELF generic ABI (gABI, "System V
// Application Binary Interface", chapters 4 "Object Files" and 5 "Program
// Loading and Dynamic Linking") and of the System V x86-64 psABI (chapter 4
// "Object Files", chapter 5 "Program Loading") that matter for executing a
// program: the ELF header, the program header table and its PT_LOAD,
// PT_INTERP, PT_PHDR, PT_TLS and PT_GNU_STACK entries. Section headers are
// never read: execution does not need them.
//
// The package uses the standard library only and makes no OS calls: the
// host tool and the kernel (gosv/kernel/elf) both import it.
package elfexec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// AppLimit is the first address above the application area: app mappings
// live in [0, AppLimit); [AppLimit, 0x8000_0000_0000) is the kernel window
// (docs/internals.md).
const AppLimit = 0x4000_0000_0000

// PageSize is the x86-64 base page size (psABI 5.1 "Program Loading": the
// system page size is 4 KiB).
const PageSize = 4096

// Sizes fixed by the gABI for ELFCLASS64 (Elf64_Ehdr and Elf64_Phdr).
const (
	EhdrSize = 64 // sizeof(Elf64_Ehdr)
	PhdrSize = 56 // sizeof(Elf64_Phdr)
)

// ELF header constants (gABI 4 "ELF Header") used here.
const (
	ET_EXEC = 2 // executable file
	ET_DYN  = 3 // shared object file (PIE executables, static-PIE, ld.so)

	EM_X86_64 = 62

	PN_XNUM = 0xffff // e_phnum escape for extended numbering
)

// Program header types (gABI 5 "Program Header"; PT_GNU_* are GNU
// extensions documented in the Linux Standard Base).
const (
	PT_NULL      = 0
	PT_LOAD      = 1
	PT_DYNAMIC   = 2
	PT_INTERP    = 3
	PT_NOTE      = 4
	PT_SHLIB     = 5
	PT_PHDR      = 6
	PT_TLS       = 7
	PT_GNU_STACK = 0x6474e551
)

// MaxInterpLen bounds the PT_INTERP path, NUL included (Linux: PATH_MAX).
const MaxInterpLen = 4096

// ErrNotELF is returned (unwrapped) when the file does not start with the
// ELF magic "\x7fELF". Callers use it to fall back to other formats such as
// "#!" scripts.
var ErrNotELF = errors.New("not an ELF file")

// Type is the kind of executable, which decides how it is started.
type Type int

const (
	// Static is an ET_EXEC file without PT_INTERP: loaded at its link
	// addresses, entered at e_entry.
	Static Type = iota + 1
	// StaticPIE is an ET_DYN file without PT_INTERP: loaded at a base chosen
	// by the kernel, entered at base+e_entry; it relocates itself. The
	// dynamic loader (ld.so) itself is of this type.
	StaticPIE
	// Dynamic is a file with PT_INTERP (ET_EXEC or ET_DYN): the kernel also
	// loads the interpreter and enters it.
	Dynamic
)

func (t Type) String() string {
	switch t {
	case Static:
		return "static"
	case StaticPIE:
		return "static-pie"
	case Dynamic:
		return "dynamic"
	}
	return fmt.Sprintf("Type(%d)", int(t))
}

// Flags are segment permissions, with the bit values of the ELF p_flags
// field (gABI 5 "Segment Permissions").
type Flags uint32

const (
	FlagX Flags = 1 // PF_X
	FlagW Flags = 2 // PF_W
	FlagR Flags = 4 // PF_R
)

func (f Flags) String() string {
	b := []byte("---")
	if f&FlagR != 0 {
		b[0] = 'r'
	}
	if f&FlagW != 0 {
		b[1] = 'w'
	}
	if f&FlagX != 0 {
		b[2] = 'x'
	}
	return string(b)
}

// Segment is one PT_LOAD (or PT_TLS) program header. Addresses are link
// addresses: for ET_DYN files the load bias is added by the loader.
//
// Memory [Vaddr, Vaddr+Memsz) holds file bytes [Offset, Offset+Filesz)
// followed by Memsz-Filesz zero bytes (the bss), per gABI 5 "Program
// Header".
type Segment struct {
	Index  int    // index in the program header table
	Vaddr  uint64 // p_vaddr
	Memsz  uint64 // p_memsz
	Filesz uint64 // p_filesz (<= Memsz)
	Offset uint64 // p_offset
	Align  uint64 // p_align (0 or a power of two)
	Flags  Flags  // p_flags & (PF_R|PF_W|PF_X)
}

// End returns Vaddr+Memsz, the first address after the segment.
func (s Segment) End() uint64 { return s.Vaddr + s.Memsz }

// Info describes a validated executable.
type Info struct {
	Type    Type
	ELFType uint16 // e_type: ET_EXEC or ET_DYN
	Entry   uint64 // e_entry (a link address; add the load bias for ET_DYN)

	// Segments are the non-empty PT_LOAD entries sorted by Vaddr (gABI
	// requires that order; it is not trusted), their memory ranges pairwise
	// disjoint. PT_LOAD entries with p_memsz 0 are checked and dropped.
	Segments []Segment

	PHOff     uint64 // e_phoff: file offset of the program header table
	PHEntSize uint16 // e_phentsize (always PhdrSize)
	PHNum     uint16 // e_phnum

	// PHdrVaddr is the link address of the program header table in memory,
	// for AT_PHDR: p_vaddr of PT_PHDR when present, else computed from the
	// first PT_LOAD whose file bytes contain [e_phoff, e_phoff+e_phnum*56).
	// HasPHdrVaddr is false when neither exists (the table is not loaded).
	PHdrVaddr    uint64
	HasPHdrVaddr bool

	// Interp is the PT_INTERP path without its NUL ("" when absent).
	Interp string

	// Low is the lowest p_vaddr and High the highest p_vaddr+p_memsz over
	// the non-empty PT_LOAD segments (not page-rounded).
	Low, High uint64
	// MaxAlign is the largest p_align of the PT_LOAD segments (at least
	// PageSize).
	MaxAlign uint64

	// ExecStack is true when PT_GNU_STACK asks for an executable stack
	// (PF_X). Without PT_GNU_STACK the x86-64 default is a non-executable
	// stack.
	ExecStack bool

	// HasTLS tells whether there is a PT_TLS segment; TLS describes it.
	HasTLS bool
	TLS    Segment
}

// PIE tells whether the file is ET_DYN, i.e. loaded at a chosen base.
func (i *Info) PIE() bool { return i.ELFType == ET_DYN }

var machineNames = map[uint16]string{
	0: "EM_NONE", 2: "EM_SPARC", 3: "EM_386", 8: "EM_MIPS", 20: "EM_PPC",
	21: "EM_PPC64", 22: "EM_S390", 40: "EM_ARM", 43: "EM_SPARCV9",
	50: "EM_IA_64", 62: "EM_X86_64", 183: "EM_AARCH64", 243: "EM_RISCV",
	247: "EM_BPF", 258: "EM_LOONGARCH",
}

func machineName(m uint16) string {
	if n, ok := machineNames[m]; ok {
		return n
	}
	return fmt.Sprintf("%d", m)
}

var typeNames = map[uint16]string{0: "ET_NONE", 1: "ET_REL", 2: "ET_EXEC", 3: "ET_DYN", 4: "ET_CORE"}

func typeName(t uint16) string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("%#x", t)
}

// readFull reads len(b) bytes at off, treating a short read as an error.
func readFull(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}

// Inspect reads and validates the ELF header and program header table of
// the size-byte file r. It checks, in this order:
//
//   - e_ident (gABI 4 "ELF Identification"): magic "\x7fELF", ELFCLASS64,
//     ELFDATA2LSB, EV_CURRENT; e_ident[EI_OSABI] is not checked (Linux does
//     not either);
//   - e_machine EM_X86_64 and e_type ET_EXEC or ET_DYN (psABI 4.1); an
//     ET_DYN file must have a non-zero e_entry (a shared library without one
//     is not runnable);
//   - e_phentsize == 56, 0 < e_phnum < PN_XNUM, the whole table inside the
//     file;
//   - for every PT_LOAD: p_filesz <= p_memsz; [p_offset, p_offset+p_filesz)
//     inside the file; p_align 0, 1 or a power of two, and
//     p_offset % p_align == p_vaddr % p_align when p_align > 1 (gABI 5
//     "Program Header"); p_vaddr+p_memsz does not overflow; no two PT_LOAD
//     byte ranges overlap; for ET_EXEC every segment lies below AppLimit, and
//     for ET_DYN the span High-Low is below AppLimit;
//   - at least one PT_LOAD with p_memsz > 0, and e_entry inside one of them;
//   - at most one PT_INTERP, its bytes inside the file, at most
//     MaxInterpLen long, NUL-terminated, with a non-empty path before the
//     first NUL.
//
// Errors are single lines without the file name, e.g.
// "not an x86-64 executable (machine EM_AARCH64)". A file without the ELF
// magic yields ErrNotELF. Read errors from r are wrapped.
func Inspect(r io.ReaderAt, size int64) (*Info, error) {
	if size < 0 {
		return nil, fmt.Errorf("invalid file size %d", size)
	}
	var eh [EhdrSize]byte
	n := int64(len(eh))
	if size < n {
		n = size
	}
	if err := readFull(r, eh[:n], 0); err != nil {
		return nil, fmt.Errorf("reading ELF header: %w", err)
	}
	if n < 4 || string(eh[:4]) != "\x7fELF" {
		return nil, ErrNotELF
	}
	if n < 7 {
		return nil, fmt.Errorf("truncated: ELF header needs %d bytes, file has %d", EhdrSize, size)
	}
	switch eh[4] { // EI_CLASS
	case 2: // ELFCLASS64
	case 1:
		return nil, errors.New("not a 64-bit ELF (ELFCLASS32)")
	default:
		return nil, fmt.Errorf("not a 64-bit ELF (class %d)", eh[4])
	}
	switch eh[5] { // EI_DATA
	case 1: // ELFDATA2LSB
	case 2:
		return nil, errors.New("not a little-endian ELF (ELFDATA2MSB)")
	default:
		return nil, fmt.Errorf("not a little-endian ELF (data encoding %d)", eh[5])
	}
	if eh[6] != 1 { // EI_VERSION
		return nil, fmt.Errorf("unsupported ELF version %d in e_ident", eh[6])
	}
	if n < EhdrSize {
		return nil, fmt.Errorf("truncated: ELF header needs %d bytes, file has %d", EhdrSize, size)
	}
	le := binary.LittleEndian
	etype := le.Uint16(eh[16:])
	machine := le.Uint16(eh[18:])
	version := le.Uint32(eh[20:])
	entry := le.Uint64(eh[24:])
	phoff := le.Uint64(eh[32:])
	phentsize := le.Uint16(eh[54:])
	phnum := le.Uint16(eh[56:])

	if machine != EM_X86_64 {
		return nil, fmt.Errorf("not an x86-64 executable (machine %s)", machineName(machine))
	}
	if etype != ET_EXEC && etype != ET_DYN {
		return nil, fmt.Errorf("not an executable (type %s)", typeName(etype))
	}
	if version != 1 {
		return nil, fmt.Errorf("unsupported ELF version %d in e_version", version)
	}
	if etype == ET_DYN && entry == 0 {
		return nil, errors.New("ET_DYN file without an entry point (a shared library, not an executable)")
	}
	if phnum == 0 {
		return nil, errors.New("no program headers")
	}
	if phnum == PN_XNUM {
		return nil, errors.New("extended program header numbering (PN_XNUM) not supported")
	}
	if phentsize != PhdrSize {
		return nil, fmt.Errorf("program header entry size %d, want %d", phentsize, PhdrSize)
	}
	if phoff > uint64(size) || uint64(size)-phoff < uint64(phnum)*PhdrSize {
		i := uint64(0)
		if phoff <= uint64(size) {
			i = (uint64(size) - phoff) / PhdrSize
		}
		return nil, fmt.Errorf("truncated: program header %d lies past end of file (size %d)", i, size)
	}

	table := make([]byte, int(phnum)*PhdrSize)
	if err := readFull(r, table, int64(phoff)); err != nil {
		return nil, fmt.Errorf("reading program headers: %w", err)
	}

	info := &Info{
		ELFType:   etype,
		Entry:     entry,
		PHOff:     phoff,
		PHEntSize: phentsize,
		PHNum:     phnum,
		MaxAlign:  PageSize,
	}
	interpIndex := -1
	var interpOff, interpSize uint64
	for i := 0; i < int(phnum); i++ {
		ph := table[i*PhdrSize : (i+1)*PhdrSize]
		ptype := le.Uint32(ph[0:])
		flags := Flags(le.Uint32(ph[4:])) & (FlagR | FlagW | FlagX)
		off := le.Uint64(ph[8:])
		vaddr := le.Uint64(ph[16:])
		filesz := le.Uint64(ph[32:])
		memsz := le.Uint64(ph[40:])
		align := le.Uint64(ph[48:])
		seg := Segment{Index: i, Vaddr: vaddr, Memsz: memsz, Filesz: filesz, Offset: off, Align: align, Flags: flags}

		switch ptype {
		case PT_LOAD:
			if filesz > memsz {
				return nil, fmt.Errorf("segment %d: file size %#x exceeds memory size %#x", i, filesz, memsz)
			}
			if off > uint64(size) || uint64(size)-off < filesz {
				return nil, fmt.Errorf("segment %d: file bytes [%#x, %#x) lie past end of file (size %d)", i, off, off+filesz, size)
			}
			if align&(align-1) != 0 {
				return nil, fmt.Errorf("segment %d: alignment %#x is not a power of two", i, align)
			}
			if align > 1 && off%align != vaddr%align {
				return nil, fmt.Errorf("segment %d: offset %#x and address %#x disagree modulo alignment %#x", i, off, vaddr, align)
			}
			if vaddr+memsz < vaddr {
				return nil, fmt.Errorf("segment %d: address range %#x + %#x overflows", i, vaddr, memsz)
			}
			if etype == ET_EXEC && vaddr+memsz > AppLimit {
				return nil, fmt.Errorf("segment %d: [%#x, %#x) reaches past the app area limit %#x", i, vaddr, vaddr+memsz, uint64(AppLimit))
			}
			if align > info.MaxAlign {
				info.MaxAlign = align
			}
			if memsz != 0 { // an empty PT_LOAD maps nothing
				info.Segments = append(info.Segments, seg)
			}
		case PT_INTERP:
			if interpIndex >= 0 {
				return nil, fmt.Errorf("program header %d: second PT_INTERP (first is %d)", i, interpIndex)
			}
			if off > uint64(size) || uint64(size)-off < filesz {
				return nil, fmt.Errorf("PT_INTERP: bytes [%#x, %#x) lie past end of file (size %d)", off, off+filesz, size)
			}
			if filesz < 2 || filesz > MaxInterpLen {
				return nil, fmt.Errorf("PT_INTERP: path size %d out of range [2, %d]", filesz, MaxInterpLen)
			}
			interpIndex, interpOff, interpSize = i, off, filesz
		case PT_PHDR:
			if !info.HasPHdrVaddr {
				info.PHdrVaddr, info.HasPHdrVaddr = vaddr, true
			}
		case PT_TLS:
			if !info.HasTLS {
				info.HasTLS, info.TLS = true, seg
			}
		case PT_GNU_STACK:
			info.ExecStack = flags&FlagX != 0
		}
	}
	if len(info.Segments) == 0 {
		return nil, errors.New("no loadable segments")
	}

	segs := info.Segments
	sort.SliceStable(segs, func(a, b int) bool { return segs[a].Vaddr < segs[b].Vaddr })
	info.Low, info.High = segs[0].Vaddr, segs[0].End()
	last := 0 // index in segs of the segment ending at info.High
	for k := 1; k < len(segs); k++ {
		if segs[k].Vaddr < info.High {
			p := segs[last]
			return nil, fmt.Errorf("segment %d: [%#x, %#x) overlaps segment %d [%#x, %#x)",
				segs[k].Index, segs[k].Vaddr, segs[k].End(), p.Index, p.Vaddr, p.End())
		}
		if segs[k].End() > info.High {
			info.High, last = segs[k].End(), k
		}
	}
	if etype == ET_DYN && info.High-info.Low >= AppLimit {
		return nil, fmt.Errorf("loadable span [%#x, %#x) does not fit in the app area (%#x bytes)", info.Low, info.High, uint64(AppLimit))
	}

	inside := false
	for _, s := range segs {
		if entry >= s.Vaddr && entry < s.End() {
			inside = true
			break
		}
	}
	if !inside {
		return nil, fmt.Errorf("entry point %#x lies outside every loadable segment", entry)
	}

	if !info.HasPHdrVaddr {
		tableEnd := phoff + uint64(phnum)*PhdrSize
		for _, s := range segs {
			if phoff >= s.Offset && tableEnd <= s.Offset+s.Filesz {
				info.PHdrVaddr, info.HasPHdrVaddr = s.Vaddr+(phoff-s.Offset), true
				break
			}
		}
	}

	info.Type = Static
	if etype == ET_DYN {
		info.Type = StaticPIE
	}
	if interpIndex >= 0 {
		info.Type = Dynamic
		b := make([]byte, interpSize)
		if err := readFull(r, b, int64(interpOff)); err != nil {
			return nil, fmt.Errorf("reading PT_INTERP: %w", err)
		}
		if b[len(b)-1] != 0 {
			return nil, errors.New("PT_INTERP: path is not NUL-terminated")
		}
		path, _, _ := strings.Cut(string(b), "\x00")
		if path == "" {
			return nil, errors.New("PT_INTERP: empty path")
		}
		info.Interp = path
	}
	return info, nil
}
