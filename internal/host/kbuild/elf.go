package kbuild

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// This file holds a small, bounds-checked reader for the parts of an ELF64
// little-endian file that Patch and CheckLevel0 need (layouts from the System V
// gABI, "Object Files" chapter). It keeps the byte offset of every header so
// the patcher can rewrite fields in place, and it never indexes the input
// without checking the range first, so malformed input yields an error, not a
// panic. debug/elf is used only for its constants.

const (
	ehdrSize = 64 // sizeof(Elf64_Ehdr)
	phdrSize = 56 // sizeof(Elf64_Phdr)
	shdrSize = 64 // sizeof(Elf64_Shdr)
	symSize  = 24 // sizeof(Elf64_Sym)

	pnXNum     = 0xffff // PN_XNUM: e_phnum overflow marker
	shnLoReser = 0xff00 // SHN_LORESERVE
	shnXIndex  = 0xffff // SHN_XINDEX
)

var le = binary.LittleEndian

// kerr builds the errors of this package: every message starts with
// "kernel ELF: " and says what is wrong with the input.
func kerr(format string, args ...any) error {
	return fmt.Errorf("kernel ELF: "+format, args...)
}

// prog is one Elf64_Phdr plus the file offset of the header itself.
type prog struct {
	index  int
	hdrOff uint64 // offset of this Elf64_Phdr in the file
	typ    elf.ProgType
	flags  elf.ProgFlag
	off    uint64 // p_offset
	vaddr  uint64 // p_vaddr
	paddr  uint64 // p_paddr
	filesz uint64 // p_filesz
	memsz  uint64 // p_memsz
	align  uint64 // p_align
}

// Offsets of the fields inside an Elf64_Phdr.
const (
	phType   = 0
	phFlags  = 4
	phOffset = 8
	phVaddr  = 16
	phPaddr  = 24
	phFilesz = 32
	phMemsz  = 40
	phAlign  = 48
)

// sect is one Elf64_Shdr plus the file offset of the header itself.
type sect struct {
	index   int
	hdrOff  uint64
	nameOff uint32
	name    string
	typ     elf.SectionType
	flags   elf.SectionFlag
	addr    uint64
	off     uint64
	size    uint64
	link    uint32
	info    uint32
	entsize uint64
}

// Offset of sh_size inside an Elf64_Shdr.
const shSize = 32

// sym is one Elf64_Sym with its name resolved.
type sym struct {
	name  string
	value uint64
	size  uint64
	typ   elf.SymType
	shndx uint16
}

// elfFile is a parsed ELF64 little-endian x86-64 ET_EXEC image.
type elfFile struct {
	b     []byte
	entry uint64 // e_entry
	phoff uint64 // e_phoff
	progs []prog
	sects []sect // empty when the file has no section header table
}

// rangeOK reports whether [off, off+n) lies inside a file of length size.
func rangeOK(off, n uint64, size int) bool {
	return off <= uint64(size) && n <= uint64(size)-off
}

// parseELF checks the ELF header and reads the program and section header
// tables.
func parseELF(b []byte) (*elfFile, error) {
	if len(b) < 4 || !bytes.Equal(b[:4], []byte(elf.ELFMAG)) {
		return nil, kerr("not an ELF file (bad magic)")
	}
	if len(b) <= elf.EI_CLASS {
		return nil, kerr("truncated ELF header (%d bytes, need %d)", len(b), ehdrSize)
	}
	if c := elf.Class(b[elf.EI_CLASS]); c != elf.ELFCLASS64 {
		return nil, kerr("not ELF64 (EI_CLASS is %v)", c)
	}
	if len(b) < ehdrSize {
		return nil, kerr("truncated ELF header (%d bytes, need %d)", len(b), ehdrSize)
	}
	if d := elf.Data(b[elf.EI_DATA]); d != elf.ELFDATA2LSB {
		return nil, kerr("not little-endian (EI_DATA is %v)", d)
	}
	if v := elf.Version(b[elf.EI_VERSION]); v != elf.EV_CURRENT {
		return nil, kerr("unknown ELF version %v in e_ident", v)
	}
	if t := elf.Type(le.Uint16(b[16:])); t != elf.ET_EXEC {
		return nil, kerr("file type is %v, want ET_EXEC (a statically linked executable)", t)
	}
	if m := elf.Machine(le.Uint16(b[18:])); m != elf.EM_X86_64 {
		return nil, kerr("machine is %v, want EM_X86_64", m)
	}
	f := &elfFile{b: b}
	f.entry = le.Uint64(b[24:])
	f.phoff = le.Uint64(b[32:])
	shoff := le.Uint64(b[40:])
	phentsize := le.Uint16(b[54:])
	phnum := uint64(le.Uint16(b[56:]))
	shentsize := le.Uint16(b[58:])
	shnum := uint64(le.Uint16(b[60:]))
	shstrndx := uint64(le.Uint16(b[62:]))

	// Program headers.
	if phnum == 0 {
		return nil, kerr("no program headers (e_phnum is 0)")
	}
	if phnum == pnXNum {
		return nil, kerr("extended program header numbering (e_phnum = PN_XNUM) is not supported")
	}
	if phentsize != phdrSize {
		return nil, kerr("e_phentsize is %d, want %d", phentsize, phdrSize)
	}
	if !rangeOK(f.phoff, phnum*phdrSize, len(b)) {
		return nil, kerr("truncated program header table (%d entries at offset %#x, file is %d bytes)", phnum, f.phoff, len(b))
	}
	for i := uint64(0); i < phnum; i++ {
		o := f.phoff + i*phdrSize
		h := b[o : o+phdrSize]
		f.progs = append(f.progs, prog{
			index:  int(i),
			hdrOff: o,
			typ:    elf.ProgType(le.Uint32(h[phType:])),
			flags:  elf.ProgFlag(le.Uint32(h[phFlags:])),
			off:    le.Uint64(h[phOffset:]),
			vaddr:  le.Uint64(h[phVaddr:]),
			paddr:  le.Uint64(h[phPaddr:]),
			filesz: le.Uint64(h[phFilesz:]),
			memsz:  le.Uint64(h[phMemsz:]),
			align:  le.Uint64(h[phAlign:]),
		})
	}

	// Section headers (optional).
	if shoff == 0 {
		return f, nil
	}
	if shentsize != shdrSize {
		return nil, kerr("e_shentsize is %d, want %d", shentsize, shdrSize)
	}
	if shnum == 0 || shstrndx == shnXIndex {
		// Extended section numbering (gABI): the real counts live in
		// section header 0 (sh_size and sh_link).
		if !rangeOK(shoff, shdrSize, len(b)) {
			return nil, kerr("truncated section header table (header 0 at offset %#x, file is %d bytes)", shoff, len(b))
		}
		if shnum == 0 {
			shnum = le.Uint64(b[shoff+shSize:])
		}
		if shstrndx == shnXIndex {
			shstrndx = uint64(le.Uint32(b[shoff+40:]))
		}
	}
	if shnum > uint64(len(b))/shdrSize || !rangeOK(shoff, shnum*shdrSize, len(b)) {
		return nil, kerr("truncated section header table (%d entries at offset %#x, file is %d bytes)", shnum, shoff, len(b))
	}
	for i := uint64(0); i < shnum; i++ {
		o := shoff + i*shdrSize
		h := b[o : o+shdrSize]
		f.sects = append(f.sects, sect{
			index:   int(i),
			hdrOff:  o,
			nameOff: le.Uint32(h[0:]),
			typ:     elf.SectionType(le.Uint32(h[4:])),
			flags:   elf.SectionFlag(le.Uint64(h[8:])),
			addr:    le.Uint64(h[16:]),
			off:     le.Uint64(h[24:]),
			size:    le.Uint64(h[shSize:]),
			link:    le.Uint32(h[40:]),
			info:    le.Uint32(h[44:]),
			entsize: le.Uint64(h[56:]),
		})
	}
	if shstrndx != uint64(elf.SHN_UNDEF) {
		if shstrndx >= shnum {
			return nil, kerr("section name table index %d out of range (%d sections)", shstrndx, shnum)
		}
		strs, err := f.sectData(&f.sects[shstrndx])
		if err != nil {
			return nil, err
		}
		for i := range f.sects {
			f.sects[i].name = cstring(strs, uint64(f.sects[i].nameOff))
		}
	}
	return f, nil
}

// sectData returns the file bytes of a section (none for SHT_NOBITS).
func (f *elfFile) sectData(s *sect) ([]byte, error) {
	if s.typ == elf.SHT_NOBITS {
		return nil, nil
	}
	if !rangeOK(s.off, s.size, len(f.b)) {
		return nil, kerr("section %d %q: contents [%#x, +%#x) beyond end of file (%d bytes)", s.index, s.name, s.off, s.size, len(f.b))
	}
	return f.b[s.off : s.off+s.size], nil
}

// cstring returns the NUL-terminated string at off in tab ("" if off is out
// of range; an unterminated tail is returned as is).
func cstring(tab []byte, off uint64) string {
	if off >= uint64(len(tab)) {
		return ""
	}
	s := tab[off:]
	if i := bytes.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return string(s)
}

// symbols reads .symtab (the section of type SHT_SYMTAB) and its string table.
func (f *elfFile) symbols() ([]sym, error) {
	var st *sect
	for i := range f.sects {
		if f.sects[i].typ == elf.SHT_SYMTAB {
			st = &f.sects[i]
			break
		}
	}
	if st == nil {
		return nil, kerr("no symbol table (no SHT_SYMTAB section; was the kernel linked with -s or stripped?)")
	}
	if st.entsize != symSize {
		return nil, kerr("symbol table entry size is %d, want %d", st.entsize, symSize)
	}
	data, err := f.sectData(st)
	if err != nil {
		return nil, err
	}
	if uint64(st.link) >= uint64(len(f.sects)) {
		return nil, kerr("symbol table string table index %d out of range (%d sections)", st.link, len(f.sects))
	}
	strs, err := f.sectData(&f.sects[st.link])
	if err != nil {
		return nil, err
	}
	n := len(data) / symSize
	syms := make([]sym, 0, n)
	for i := 1; i < n; i++ { // entry 0 is the reserved null symbol
		e := data[i*symSize : (i+1)*symSize]
		syms = append(syms, sym{
			name:  cstring(strs, uint64(le.Uint32(e[0:]))),
			typ:   elf.ST_TYPE(e[4]),
			shndx: le.Uint16(e[6:]),
			value: le.Uint64(e[8:]),
			size:  le.Uint64(e[16:]),
		})
	}
	return syms, nil
}
