package libs

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Limits on what is read from a shared object, so that a corrupt file gives
// an error instead of a huge allocation.
const (
	maxPhnum   = 1 << 16
	maxDynamic = 1 << 20 // bytes of PT_DYNAMIC
	maxStrtab  = 1 << 26 // bytes of DT_STRTAB
)

// dynInfo is what the resolver needs from an object's dynamic section
// (gABI 5 "Dynamic Section").
type dynInfo struct {
	typ      elf.Type
	needed   []string // DT_NEEDED, in order
	deps     []depRef // DT_NEEDED, DT_AUXILIARY and DT_FILTER, in order
	soname   string   // DT_SONAME
	rpath    string   // DT_RPATH (dropped when DT_RUNPATH is present, as ld.so does)
	runpath  string   // DT_RUNPATH
	hasRun   bool
	hasRpath bool
	flags1   uint64 // DT_FLAGS_1
	hasDyn   bool   // PT_DYNAMIC present
}

// depRef is an object that must be (or, for DT_AUXILIARY, may be) loaded
// with the one that names it.
type depRef struct {
	name     string
	optional bool // DT_AUXILIARY: ld.so ignores failures
}

// verifyError is a fatal error of ld.so's open_verify: the file exists but
// cannot be loaded, which ends the search with an error (ld.so does not try
// further directories).
type verifyError struct {
	path string
	msg  string
}

func (e *verifyError) Error() string { return e.path + ": " + e.msg }

// errOtherClass marks a file that ld.so skips silently: an ELF file of the
// other class (ELFCLASS32) or of another machine.
var errOtherClass = errors.New("wrong ELF class or machine")

// errAbsent marks a candidate that does not exist (or cannot be opened the
// way ld.so treats as "keep searching": ENOENT, ENOTDIR, EACCES).
var errAbsent = errors.New("not found")

// openVerify checks a candidate file the way glibc's open_verify
// (elf/dl-load.c) does, then reads its dynamic section. It returns
// errAbsent or errOtherClass for candidates ld.so skips, a *verifyError for
// files that make ld.so fail, and other errors for I/O trouble.
func openVerify(path string) (*dynInfo, *fileID, error) {
	f, err := os.Open(path)
	if err != nil {
		var errno syscall.Errno
		if errors.As(err, &errno) && (errno == syscall.ENOENT || errno == syscall.ENOTDIR || errno == syscall.EACCES || errno == syscall.ELOOP || errno == syscall.ENAMETOOLONG) {
			return nil, nil, errAbsent
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, errAbsent
		}
		return nil, nil, &verifyError{path, "cannot open: " + unwrapPath(err).Error()}
	}
	defer f.Close()
	id, err := statID(f)
	if err != nil {
		return nil, nil, &verifyError{path, "cannot stat: " + unwrapPath(err).Error()}
	}
	var eh [64]byte
	n, err := io.ReadFull(f, eh[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, nil, &verifyError{path, "cannot read file data: " + unwrapPath(err).Error()}
	}
	if n < len(eh) {
		return nil, nil, &verifyError{path, "file too short"}
	}
	if string(eh[:4]) != elf.ELFMAG {
		return nil, nil, &verifyError{path, "invalid ELF header"}
	}
	if elf.Class(eh[elf.EI_CLASS]) != elf.ELFCLASS64 {
		return nil, nil, errOtherClass
	}
	if elf.Data(eh[elf.EI_DATA]) != elf.ELFDATA2LSB {
		return nil, nil, &verifyError{path, "ELF file data encoding not little-endian"}
	}
	if elf.Version(eh[elf.EI_VERSION]) != elf.EV_CURRENT {
		return nil, nil, &verifyError{path, "ELF file version ident does not match current one"}
	}
	switch osabi := elf.OSABI(eh[elf.EI_OSABI]); {
	case osabi == elf.ELFOSABI_NONE && eh[elf.EI_ABIVERSION] != 0:
		return nil, nil, &verifyError{path, "ELF file ABI version invalid"}
	case osabi != elf.ELFOSABI_NONE && osabi != elf.ELFOSABI_LINUX:
		return nil, nil, &verifyError{path, "ELF file OS ABI invalid"}
	}
	for _, b := range eh[elf.EI_PAD:elf.EI_NIDENT] {
		if b != 0 {
			return nil, nil, &verifyError{path, "nonzero padding in e_ident"}
		}
	}
	var h elf.Header64
	if err := binary.Read(bytes.NewReader(eh[:]), binary.LittleEndian, &h); err != nil {
		return nil, nil, &verifyError{path, err.Error()}
	}
	if elf.Version(h.Version) != elf.EV_CURRENT {
		return nil, nil, &verifyError{path, "ELF file version does not match current one"}
	}
	if elf.Machine(h.Machine) != elf.EM_X86_64 {
		return nil, nil, errOtherClass
	}
	typ := elf.Type(h.Type)
	if typ != elf.ET_DYN && typ != elf.ET_EXEC {
		return nil, nil, &verifyError{path, "only ET_DYN and ET_EXEC can be loaded"}
	}
	if h.Phentsize != 56 {
		return nil, nil, &verifyError{path, "ELF file's phentsize not the expected size"}
	}
	d, err := readDynamic(f, &h)
	if err != nil {
		return nil, nil, &verifyError{path, err.Error()}
	}
	d.typ = typ
	return d, id, nil
}

// readDynamic reads the dynamic section through the program headers (as
// ld.so does; section headers may be stripped).
func readDynamic(r io.ReaderAt, h *elf.Header64) (*dynInfo, error) {
	phnum := int(h.Phnum)
	if phnum == 0xffff || phnum > maxPhnum {
		return nil, fmt.Errorf("unsupported program header count %d", phnum)
	}
	buf := make([]byte, phnum*56)
	if _, err := r.ReadAt(buf, int64(h.Phoff)); err != nil {
		return nil, fmt.Errorf("cannot read program headers: %v", unwrapPath(err))
	}
	progs := make([]elf.Prog64, phnum)
	if err := binary.Read(bytes.NewReader(buf), binary.LittleEndian, progs); err != nil {
		return nil, err
	}
	d := &dynInfo{}
	var dyn *elf.Prog64
	for i := range progs {
		if elf.ProgType(progs[i].Type) == elf.PT_DYNAMIC {
			dyn = &progs[i]
			break
		}
	}
	if dyn == nil {
		return d, nil
	}
	d.hasDyn = true
	size := dyn.Filesz
	if size > maxDynamic {
		return nil, fmt.Errorf("PT_DYNAMIC of %d bytes is too large", size)
	}
	raw := make([]byte, size)
	if _, err := r.ReadAt(raw, int64(dyn.Off)); err != nil {
		return nil, fmt.Errorf("cannot read dynamic section: %v", unwrapPath(err))
	}
	var (
		strtab, strsz                      uint64
		haveStrtab                         bool
		deps                               []dynRef
		soname, rpath, runpath             uint64
		haveSoname, haveRpath, haveRunpath bool
	)
	for off := 0; off+16 <= len(raw); off += 16 {
		tag := elf.DynTag(int64(binary.LittleEndian.Uint64(raw[off:])))
		val := binary.LittleEndian.Uint64(raw[off+8:])
		switch tag {
		case elf.DT_NULL:
			off = len(raw)
		case elf.DT_NEEDED, elf.DT_AUXILIARY, elf.DT_FILTER:
			deps = append(deps, dynRef{tag, val})
		case elf.DT_STRTAB:
			strtab, haveStrtab = val, true
		case elf.DT_STRSZ:
			strsz = val
		case elf.DT_SONAME:
			soname, haveSoname = val, true
		case elf.DT_RPATH:
			rpath, haveRpath = val, true
		case elf.DT_RUNPATH:
			runpath, haveRunpath = val, true
		case elf.DT_FLAGS_1:
			d.flags1 = val
		}
	}
	if len(deps) == 0 && !haveSoname && !haveRpath && !haveRunpath {
		return d, nil
	}
	if !haveStrtab {
		return nil, errors.New("dynamic section without DT_STRTAB")
	}
	// DT_STRTAB is an address: find the file bytes of the PT_LOAD holding it.
	var stroff uint64
	found := false
	for _, p := range progs {
		if elf.ProgType(p.Type) == elf.PT_LOAD && strtab >= p.Vaddr && strtab-p.Vaddr < p.Filesz {
			stroff = p.Off + (strtab - p.Vaddr)
			if avail := p.Filesz - (strtab - p.Vaddr); strsz == 0 || strsz > avail {
				strsz = avail
			}
			found = true
			break
		}
	}
	if !found {
		return nil, fmt.Errorf("DT_STRTAB address %#x is not in a loaded segment", strtab)
	}
	if strsz > maxStrtab {
		return nil, fmt.Errorf("string table of %d bytes is too large", strsz)
	}
	str := make([]byte, strsz)
	if _, err := r.ReadAt(str, int64(stroff)); err != nil {
		return nil, fmt.Errorf("cannot read string table: %v", unwrapPath(err))
	}
	get := func(off uint64) (string, error) {
		if off >= uint64(len(str)) {
			return "", fmt.Errorf("string offset %d outside the string table", off)
		}
		s := str[off:]
		for i, c := range s {
			if c == 0 {
				return string(s[:i]), nil
			}
		}
		return "", fmt.Errorf("unterminated string at offset %d", off)
	}
	for _, dr := range deps {
		name, err := get(dr.val)
		if err != nil {
			return nil, err
		}
		if dr.tag == elf.DT_NEEDED {
			d.needed = append(d.needed, name)
		}
		d.deps = append(d.deps, depRef{name: name, optional: dr.tag == elf.DT_AUXILIARY})
	}
	var err error
	if haveSoname {
		if d.soname, err = get(soname); err != nil {
			return nil, err
		}
	}
	if haveRunpath {
		if d.runpath, err = get(runpath); err != nil {
			return nil, err
		}
		d.hasRun = true
	}
	// get-dynamic-info.h: "If both RUNPATH and RPATH are given, the latter
	// is ignored."
	if haveRpath && !haveRunpath {
		if d.rpath, err = get(rpath); err != nil {
			return nil, err
		}
		d.hasRpath = true
	}
	return d, nil
}

type dynRef struct {
	tag elf.DynTag
	val uint64
}

// fileID identifies a file as ld.so's _dl_file_id_match_p does.
type fileID struct{ dev, ino uint64 }

func statID(f *os.File) (*fileID, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, errors.New("no device and inode numbers")
	}
	return &fileID{uint64(st.Dev), uint64(st.Ino)}, nil
}

// unwrapPath drops the *fs.PathError wrapper (the caller names the path).
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
