package kbuild

import (
	"bytes"
	"encoding/binary"
)

// A hand-made ELF64 x86-64 ET_EXEC with the same shape as a Go-linked kernel
// (PHDR, NOTE with a Go build-ID note, one RX PT_LOAD from offset 0,
// GNU_STACK; .note.go.buildid, .text, .symtab, .strtab, .shstrtab). It is
// small enough to be a fuzz seed.

const (
	synBase     = uint64(DirectMapBase)
	synLoad     = synBase + 0x200000 // vaddr of file offset 0
	synPhoff    = 0x40
	synPhnum    = 4
	synNoteOff  = 0x120
	synNoteSize = 48 // 12-byte header, "Go\0\0", 32-byte build ID
	synTextOff  = 0x160
	synTextEnd  = 0x1c0

	synEntryOff = synTextOff // machine.pvhEntry.abi0
	synBadOff   = 0x190      // machine.bad
	synLeafOff  = 0x180      // machine.leaf
)

const synPkg = "github.com/gosv/gosv/kernel/machine."

type synSym struct {
	name       string
	off, size  uint64 // file offset (= vaddr - synLoad) and size
	typ, shndx uint8
}

var synSyms = []synSym{
	{synPkg + "pvhEntry.abi0", 0x160, 3, 2, 2},
	{synPkg + "pvhEntry", 0x170, 6, 2, 2},
	{synPkg + "leaf", synLeafOff, 5, 2, 2},
	{synPkg + "bad", synBadOff, 20, 2, 2},
	{"runtime.morestack_noctxt.abi0", 0x1b0, 1, 2, 2},
	{"runtime.gcWriteBarrier2", 0x1b1, 1, 2, 2},
	{"runtime.newobject", 0x1b2, 1, 2, 2},
	{"runtime.panicIndex", 0x1b3, 1, 2, 2},
	{"runtime.buildVersion", 0x5000, 8, 1, 2}, // an STT_OBJECT outside every segment
}

func synthELF() []byte {
	b := make([]byte, synTextEnd)
	w := binary.LittleEndian
	// ELF header.
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = 2, 1, 1 // ELFCLASS64, ELFDATA2LSB, EV_CURRENT
	w.PutUint16(b[16:], 2)     // ET_EXEC
	w.PutUint16(b[18:], 62)    // EM_X86_64
	w.PutUint32(b[20:], 1)
	w.PutUint64(b[24:], synLoad+synEntryOff)
	w.PutUint64(b[32:], synPhoff)
	w.PutUint16(b[52:], 64)
	w.PutUint16(b[54:], 56)
	w.PutUint16(b[56:], synPhnum)
	w.PutUint16(b[58:], 64)
	// Program headers.
	ph := func(i int, typ, flags uint32, off, vaddr, size, align uint64) {
		h := b[synPhoff+56*i:]
		w.PutUint32(h[0:], typ)
		w.PutUint32(h[4:], flags)
		w.PutUint64(h[8:], off)
		w.PutUint64(h[16:], vaddr)
		w.PutUint64(h[24:], vaddr)
		w.PutUint64(h[32:], size)
		w.PutUint64(h[40:], size)
		w.PutUint64(h[48:], align)
	}
	ph(0, 6, 4, synPhoff, synLoad+synPhoff, 56*synPhnum, 0x1000) // PT_PHDR
	ph(1, 4, 4, synNoteOff, synLoad+synNoteOff, synNoteSize, 4)  // PT_NOTE
	ph(2, 1, 5, 0, synLoad, synTextEnd, 0x1000)                  // PT_LOAD R+X
	ph(3, 0x6474e551, 6, 0, 0, 0, 8)                             // PT_GNU_STACK
	// Go build-ID note.
	n := b[synNoteOff:]
	w.PutUint32(n[0:], 4)
	w.PutUint32(n[4:], 32)
	w.PutUint32(n[8:], 4)
	copy(n[12:], "Go\x00\x00")
	copy(n[16:], "0123456789abcdef0123456789abcdef")
	// Code.
	code := func(off int, bs ...byte) { copy(b[off:], bs) }
	rel := func(from, to int) []byte { // rel32 of a 5-byte CALL/JMP at from
		var r [4]byte
		w.PutUint32(r[:], uint32(int32(to-(from+5))))
		return r[:]
	}
	code(0x160, 0xf4, 0xeb, 0xfd)                                            // HLT; JMP .-1
	code(0x170, append(append([]byte{0xe8}, rel(0x170, 0x160)...), 0xc3)...) // CALL pvhEntry.abi0; RET
	code(synLeafOff, 0x48, 0x8d, 0x04, 0x37, 0xc3)                           // LEAQ (DI)(SI*1), AX; RET
	code(synBadOff+0, append([]byte{0xe8}, rel(synBadOff+0, 0x1b0)...)...)
	code(synBadOff+5, append([]byte{0xe8}, rel(synBadOff+5, 0x1b1)...)...)
	code(synBadOff+10, append([]byte{0xe8}, rel(synBadOff+10, 0x1b2)...)...)
	code(synBadOff+15, append([]byte{0xe9}, rel(synBadOff+15, 0x1b3)...)...)
	code(0x1b0, 0xc3, 0xc3, 0xc3, 0xc3)

	// Non-loaded sections: .symtab, .strtab, .shstrtab, section headers.
	var strtab bytes.Buffer
	strtab.WriteByte(0)
	symtab := make([]byte, 24) // null symbol
	for _, s := range synSyms {
		e := make([]byte, 24)
		w.PutUint32(e[0:], uint32(strtab.Len()))
		strtab.WriteString(s.name)
		strtab.WriteByte(0)
		e[4] = 0x10 | s.typ // STB_GLOBAL
		w.PutUint16(e[6:], uint16(s.shndx))
		w.PutUint64(e[8:], synLoad+s.off)
		w.PutUint64(e[16:], s.size)
		symtab = append(symtab, e...)
	}
	shstr := []byte("\x00.note.go.buildid\x00.text\x00.symtab\x00.strtab\x00.shstrtab\x00")
	name := func(s string) uint32 { return uint32(bytes.Index(shstr, []byte("\x00"+s+"\x00")) + 1) }

	symOff := uint64(len(b))
	b = append(b, symtab...)
	strOff := uint64(len(b))
	b = append(b, strtab.Bytes()...)
	shstrOff := uint64(len(b))
	b = append(b, shstr...)
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	shoff := uint64(len(b))
	sh := func(name, typ uint32, flags, addr, off, size uint64, link, info uint32, align, entsize uint64) {
		h := make([]byte, 64)
		w.PutUint32(h[0:], name)
		w.PutUint32(h[4:], typ)
		w.PutUint64(h[8:], flags)
		w.PutUint64(h[16:], addr)
		w.PutUint64(h[24:], off)
		w.PutUint64(h[32:], size)
		w.PutUint32(h[40:], link)
		w.PutUint32(h[44:], info)
		w.PutUint64(h[48:], align)
		w.PutUint64(h[56:], entsize)
		b = append(b, h...)
	}
	sh(0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
	sh(name(".note.go.buildid"), 7, 2, synLoad+synNoteOff, synNoteOff, synNoteSize, 0, 0, 4, 0)
	sh(name(".text"), 1, 6, synLoad+synTextOff, synTextOff, synTextEnd-synTextOff, 0, 0, 16, 0)
	sh(name(".symtab"), 2, 0, 0, symOff, uint64(len(symtab)), 4, 1, 8, 24)
	sh(name(".strtab"), 3, 0, 0, strOff, uint64(strtab.Len()), 0, 0, 1, 0)
	sh(name(".shstrtab"), 3, 0, 0, shstrOff, uint64(len(shstr)), 0, 0, 1, 0)
	w.PutUint64(b[40:], shoff)
	w.PutUint16(b[60:], 6)
	w.PutUint16(b[62:], 5)
	return b
}
