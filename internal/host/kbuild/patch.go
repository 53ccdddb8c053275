// Package kbuild builds the gosv kernel and turns the Go-linked ELF into an
// image that PVH loaders (QEMU -kernel, Xen, Cloud Hypervisor, Firecracker)
// can boot.
//
// The kernel is an ordinary GOOS=linux GOARCH=amd64 Go program linked with
// "-T 0x400000201000" (LinkAddress) so that its image sits inside the kernel
// window of the direct map, and with "-E <pvhEntry>" so that the entry point
// is the 32-bit PVH stub. Two things are missing from what the Go linker
// writes, and Patch adds them:
//
//   - physical load addresses: each segment's p_paddr becomes
//     p_vaddr - DirectMapBase (the image is loaded at physical 0x200000);
//   - the PVH entry note: the Go build-ID note (.note.go.buildid, the only
//     PT_NOTE segment the Go linker emits) is overwritten in place with the
//     Xen note XEN_ELFNOTE_PHYS32_ENTRY that carries the physical address of
//     the entry stub.
//
// CheckLevel0 is the guard of the machine layer (level 0): it disassembles the
// level-0 functions of the linked kernel and reports calls that could grow the
// stack, hit a GC write barrier, allocate or panic.
package kbuild

import (
	"debug/elf"
	"strings"
)

// Link-time and boot-time constants of the kernel image (docs/internals.md).
const (
	// LinkAddress is the text address given to the Go linker (-T). The
	// linker puts the ELF and program headers in the page below it, so the
	// first PT_LOAD starts at LinkAddress - 0x1000 = 0x4000_0020_0000, which
	// Patch maps to physical 0x200000.
	LinkAddress = 0x4000_0020_1000

	// DirectMapBase is the virtual address of physical address 0 in the
	// kernel's direct map (the start of the kernel window).
	DirectMapBase = 0x4000_0000_0000

	// DefaultEntrySymbol names the 32-bit PVH entry stub (an assembly
	// function, so its code is the ABI0 symbol; see PatchOptions).
	DefaultEntrySymbol = "github.com/gosv/gosv/kernel/machine.pvhEntry"

	// directMapWindow is the part of the direct map the image must fit in:
	// [DirectMapBase, DirectMapBase+1 GiB), physical [0, 1 GiB). It keeps
	// the physical entry address below 4 GiB as the 32-bit PVH entry needs.
	directMapWindow = 1 << 30
)

// Xen PVH entry note, from Xen's include/public/elfnote.h.
const (
	// xenElfnotePhys32Entry is XEN_ELFNOTE_PHYS32_ENTRY: the physical
	// address at which the loader starts the guest in 32-bit protected mode
	// with paging off (EBX = physical address of struct hvm_start_info).
	xenElfnotePhys32Entry = 18

	// pvhNoteSize is the size of the rewritten note: a 12-byte header
	// (namesz, descsz, type), the 4-byte name "Xen\0" and the 8-byte
	// descriptor.
	pvhNoteSize = 24

	// goBuildIDNoteType is the n_type of the Go linker's build-ID note
	// (ELF_NOTE_GOBUILDID_TAG in cmd/link), whose name is "Go\0\0".
	goBuildIDNoteType = 4
)

// PatchOptions parameterises Patch. The zero value selects the defaults.
type PatchOptions struct {
	// EntrySymbol is the .symtab name of the PVH entry function; empty
	// means DefaultEntrySymbol. When the symbol table also holds
	// EntrySymbol+".abi0", that symbol is used: the Go linker gives the
	// plain name to the ABIInternal wrapper of an assembly function (which
	// is 64-bit Go code) and renames the assembly body itself to ".abi0".
	// This is the same symbol the linker's -E flag resolves.
	EntrySymbol string

	// DirectMapBase is the virtual address that maps physical address 0;
	// zero means DirectMapBase (0x4000_0000_0000).
	DirectMapBase uint64
}

// Patch turns a Go-linked kernel ELF into a PVH-bootable one and returns the
// patched copy; raw is not modified. The output has the same length and
// layout as raw; only these fields change:
//
//   - every PT_LOAD, PT_PHDR and PT_NOTE program header: p_paddr =
//     p_vaddr - DirectMapBase. Each such segment, [p_vaddr, p_vaddr+p_memsz),
//     must lie inside [DirectMapBase, DirectMapBase+1 GiB).
//   - the note segment: the first PT_NOTE whose first note is the Go
//     build-ID note (n_namesz 4, name "Go\0\0", n_type 4), or a PVH note
//     written by an earlier Patch (so Patch is idempotent). Its file bytes
//     are zeroed and the first 24 replaced by the PVH note shown below; its
//     program header gets p_filesz = p_memsz = 24 and p_align = 4 (QEMU
//     finds the descriptor by aligning the name to p_align).
//   - the SHT_NOTE section header with the same file offset
//     (.note.go.buildid): sh_size = 24.
//
// The PVH note is one ELF note (gABI "Note Section" layout, 4-byte words,
// little-endian) of type XEN_ELFNOTE_PHYS32_ENTRY from Xen's
// include/public/elfnote.h:
//
//	offset  0: n_namesz = 4
//	offset  4: n_descsz = 8
//	offset  8: n_type   = 18 (XEN_ELFNOTE_PHYS32_ENTRY)
//	offset 12: name     = "Xen\0"
//	offset 16: desc     = physical entry address, uint64
//
// The physical entry address is the value of the entry symbol (see
// PatchOptions.EntrySymbol) minus DirectMapBase; the symbol must lie inside
// the file contents of an executable (PF_X) PT_LOAD segment. e_entry is left
// as the linker wrote it (the virtual address of the entry symbol).
//
// The Go build ID is lost (`go tool buildid` prints an empty ID; `go version`
// still works, it reads .go.buildinfo). The .note.gnu.build-id section, which
// the Go linker leaves outside every PT_NOTE, is kept.
//
// Errors start with "kernel ELF: " and say what is wrong. Patch never panics,
// whatever the input.
func Patch(raw []byte, opt PatchOptions) ([]byte, error) {
	entrySym := opt.EntrySymbol
	if entrySym == "" {
		entrySym = DefaultEntrySymbol
	}
	base := opt.DirectMapBase
	if base == 0 {
		base = DirectMapBase
	}
	if base > ^uint64(0)-directMapWindow {
		return nil, kerr("direct map base %#x too high", base)
	}
	f, err := parseELF(raw)
	if err != nil {
		return nil, err
	}
	out := append([]byte(nil), raw...)

	// (a) Physical addresses.
	nload := 0
	for i := range f.progs {
		p := &f.progs[i]
		switch p.typ {
		case elf.PT_LOAD:
			nload++
			if p.filesz > p.memsz {
				return nil, kerr("PT_LOAD segment %d: p_filesz %#x > p_memsz %#x", p.index, p.filesz, p.memsz)
			}
			if !rangeOK(p.off, p.filesz, len(raw)) {
				return nil, kerr("PT_LOAD segment %d: file range [%#x, +%#x) beyond end of file (%d bytes)", p.index, p.off, p.filesz, len(raw))
			}
		case elf.PT_PHDR, elf.PT_NOTE:
		default:
			continue
		}
		if p.vaddr < base || p.vaddr-base > directMapWindow || p.memsz > directMapWindow-(p.vaddr-base) {
			return nil, kerr("%v segment %d [%#x, +%#x) lies outside the direct map window [%#x, %#x)",
				p.typ, p.index, p.vaddr, p.memsz, base, base+directMapWindow)
		}
		p.paddr = p.vaddr - base
		le.PutUint64(out[p.hdrOff+phPaddr:], p.paddr)
	}
	if nload == 0 {
		return nil, kerr("no PT_LOAD segments")
	}
	if err := f.trimUnusedBSS(out); err != nil {
		return nil, err
	}

	// Entry symbol.
	phys, err := f.entryPhys(entrySym, base)
	if err != nil {
		return nil, err
	}

	// (b) The note.
	note, err := f.buildIDNote()
	if err != nil {
		return nil, err
	}
	n := out[note.off : note.off+note.filesz]
	clear(n)
	le.PutUint32(n[0:], 4)
	le.PutUint32(n[4:], 8)
	le.PutUint32(n[8:], xenElfnotePhys32Entry)
	copy(n[12:], "Xen\x00")
	le.PutUint64(n[16:], phys)
	le.PutUint64(out[note.hdrOff+phFilesz:], pvhNoteSize)
	le.PutUint64(out[note.hdrOff+phMemsz:], pvhNoteSize)
	le.PutUint64(out[note.hdrOff+phAlign:], 4)
	for i := range f.sects {
		s := &f.sects[i]
		if s.typ == elf.SHT_NOTE && s.off == note.off {
			le.PutUint64(out[s.hdrOff+shSize:], pvhNoteSize)
		}
	}
	return out, nil
}

// entryPhys finds the entry symbol (preferring name+".abi0") and returns its
// physical address.
func (f *elfFile) entryPhys(name string, base uint64) (uint64, error) {
	syms, err := f.symbols()
	if err != nil {
		return 0, kerr("cannot look up entry symbol %q: %s", name, strings.TrimPrefix(err.Error(), "kernel ELF: "))
	}
	var s *sym
	for _, want := range []string{name + ".abi0", name} {
		for i := range syms {
			if syms[i].name == want {
				s = &syms[i]
				break
			}
		}
		if s != nil {
			break
		}
	}
	if s == nil {
		return 0, kerr("entry symbol %q not found", name)
	}
	for _, p := range f.progs {
		if p.typ == elf.PT_LOAD && p.flags&elf.PF_X != 0 && s.value >= p.vaddr && s.value-p.vaddr < p.filesz {
			// p was checked against the window in Patch.
			return s.value - base, nil
		}
	}
	return 0, kerr("entry symbol %q at %#x is not in an executable PT_LOAD segment", s.name, s.value)
}

// buildIDNote returns the PT_NOTE segment to rewrite: the first one whose
// first note is the Go build-ID note or an already written PVH note.
func (f *elfFile) buildIDNote() (*prog, error) {
	found := false
	for i := range f.progs {
		p := &f.progs[i]
		if p.typ != elf.PT_NOTE {
			continue
		}
		found = true
		if !rangeOK(p.off, p.filesz, len(f.b)) {
			return nil, kerr("PT_NOTE segment %d: file range [%#x, +%#x) beyond end of file (%d bytes)", p.index, p.off, p.filesz, len(f.b))
		}
		n := f.b[p.off : p.off+p.filesz]
		if len(n) < 16 || le.Uint32(n[0:]) != 4 {
			continue
		}
		typ, name := le.Uint32(n[8:]), string(n[12:16])
		if !(typ == goBuildIDNoteType && name == "Go\x00\x00") && !(typ == xenElfnotePhys32Entry && name == "Xen\x00") {
			continue
		}
		if p.filesz < pvhNoteSize {
			return nil, kerr("PT_NOTE segment %d too small for the PVH note (%d bytes, need %d)", p.index, p.filesz, pvhNoteSize)
		}
		return p, nil
	}
	if !found {
		return nil, kerr("no PT_NOTE segment (the Go build-ID note) to rewrite into the PVH note")
	}
	return nil, kerr("no PT_NOTE segment holds the Go build-ID note (name \"Go\", type %d)", goBuildIDNoteType)
}

// UnusedBSSSymbols are zero-initialised variables that the kernel never
// touches and that would otherwise decide how much RAM the VM needs: Go
// 1.26 links crypto/internal/fips140/drbg.memory, a 32 MiB scratch buffer
// used only by the FIPS 140-3 entropy source, and gosv never enables FIPS
// mode. When such a symbol is the last thing in the writable PT_LOAD and
// lies wholly past its file contents, Patch shortens p_memsz to end where
// the symbol begins, so the loader neither zeroes nor reserves it. The
// kernel's frame allocator starts after p_memsz (machine.imageLoadedEnd),
// so the buffer's addresses are handed out as free memory: touching it
// would corrupt memory, and FIPS mode must stay off.
var UnusedBSSSymbols = []string{"crypto/internal/fips140/drbg.memory"}

func (f *elfFile) trimUnusedBSS(out []byte) error {
	syms, err := f.symbols()
	if err != nil {
		return nil // no symbol table: nothing to trim
	}
	for _, name := range UnusedBSSSymbols {
		for _, s := range syms {
			if s.name != name {
				continue
			}
			for i := range f.progs {
				p := &f.progs[i]
				if p.typ != elf.PT_LOAD || p.flags&elf.PF_W == 0 {
					continue
				}
				end := p.vaddr + p.memsz
				if s.value+s.size == end && s.value >= p.vaddr+p.filesz {
					p.memsz = s.value - p.vaddr
					le.PutUint64(out[p.hdrOff+phMemsz:], p.memsz)
				}
			}
		}
	}
	return nil
}
