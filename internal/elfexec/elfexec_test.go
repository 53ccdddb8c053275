package elfexec

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
)

func inspectBytes(b []byte) (*Info, error) {
	return Inspect(bytes.NewReader(b), int64(len(b)))
}

// checkAgainstDebugELF compares info with what the standard library's
// debug/elf reads from the same bytes.
func checkAgainstDebugELF(t *testing.T, b []byte, info *Info) {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("debug/elf: %v", err)
	}
	if info.Entry != f.Entry {
		t.Errorf("Entry = %#x, debug/elf %#x", info.Entry, f.Entry)
	}
	if info.ELFType != uint16(f.Type) {
		t.Errorf("ELFType = %d, debug/elf %v", info.ELFType, f.Type)
	}
	if info.PHNum != uint16(len(f.Progs)) {
		t.Errorf("PHNum = %d, debug/elf %d", info.PHNum, len(f.Progs))
	}
	if info.PHOff != binary.LittleEndian.Uint64(b[32:]) || info.PHEntSize != PhdrSize {
		t.Errorf("PHOff/PHEntSize = %#x/%d", info.PHOff, info.PHEntSize)
	}
	var loads []Segment
	var interp string
	var phdr *elf.Prog
	var tls *elf.Prog
	execStack := false
	for i, p := range f.Progs {
		switch p.Type {
		case elf.PT_LOAD:
			if p.Memsz == 0 {
				continue
			}
			loads = append(loads, Segment{Index: i, Vaddr: p.Vaddr, Memsz: p.Memsz, Filesz: p.Filesz,
				Offset: p.Off, Align: p.Align, Flags: Flags(p.Flags & 7)})
		case elf.PT_INTERP:
			s := make([]byte, p.Filesz)
			p.ReadAt(s, 0)
			interp = strings.TrimRight(string(s), "\x00")
		case elf.PT_PHDR:
			phdr = p
		case elf.PT_TLS:
			tls = p
		case elf.PT_GNU_STACK:
			execStack = p.Flags&elf.PF_X != 0
		}
	}
	sort.Slice(loads, func(i, j int) bool { return loads[i].Vaddr < loads[j].Vaddr })
	if fmt.Sprint(loads) != fmt.Sprint(info.Segments) {
		t.Errorf("Segments = %v\ndebug/elf   %v", info.Segments, loads)
	}
	if info.Low != loads[0].Vaddr || info.High != loads[len(loads)-1].End() {
		t.Errorf("span [%#x, %#x), want [%#x, %#x)", info.Low, info.High, loads[0].Vaddr, loads[len(loads)-1].End())
	}
	if info.Interp != interp {
		t.Errorf("Interp = %q, debug/elf %q", info.Interp, interp)
	}
	wantType := Static
	switch {
	case interp != "":
		wantType = Dynamic
	case f.Type == elf.ET_DYN:
		wantType = StaticPIE
	}
	if info.Type != wantType {
		t.Errorf("Type = %v, want %v", info.Type, wantType)
	}
	if info.ExecStack != execStack {
		t.Errorf("ExecStack = %v, want %v", info.ExecStack, execStack)
	}
	if info.HasTLS != (tls != nil) || (tls != nil && (info.TLS.Vaddr != tls.Vaddr || info.TLS.Memsz != tls.Memsz || info.TLS.Filesz != tls.Filesz)) {
		t.Errorf("TLS = %v %+v, debug/elf %+v", info.HasTLS, info.TLS, tls)
	}
	// Program headers in memory: PT_PHDR, or the PT_LOAD containing them.
	if !info.HasPHdrVaddr {
		t.Fatalf("HasPHdrVaddr false")
	}
	if phdr != nil {
		if info.PHdrVaddr != phdr.Vaddr {
			t.Errorf("PHdrVaddr = %#x, PT_PHDR %#x", info.PHdrVaddr, phdr.Vaddr)
		}
	} else {
		// All test binaries put the headers in a first PT_LOAD at offset 0.
		if loads[0].Offset != 0 {
			t.Fatalf("first PT_LOAD at offset %#x", loads[0].Offset)
		}
		if want := loads[0].Vaddr + info.PHOff; info.PHdrVaddr != want {
			t.Errorf("PHdrVaddr = %#x, want %#x", info.PHdrVaddr, want)
		}
	}
	// The headers at PHdrVaddr are the ELF's own table.
	for _, s := range info.Segments {
		if info.PHdrVaddr >= s.Vaddr && info.PHdrVaddr < s.Vaddr+s.Filesz {
			off := s.Offset + (info.PHdrVaddr - s.Vaddr)
			if off != info.PHOff {
				t.Errorf("PHdrVaddr maps to file offset %#x, e_phoff %#x", off, info.PHOff)
			}
		}
	}
}

func TestInspectRealBinaries(t *testing.T) {
	tests := []struct {
		name    string
		typ     Type
		pie     bool
		interp  string // "" none, "*" any
		exec    bool   // executable stack
		wantErr string
	}{
		{name: "gcc-static", typ: Static},
		{name: "gcc-static-pie", typ: StaticPIE, pie: true},
		{name: "gcc-dynamic", typ: Dynamic, pie: true, interp: "/lib64/ld-linux-x86-64.so.2"},
		{name: "gcc-dynamic-nopie", typ: Dynamic, interp: "/lib64/ld-linux-x86-64.so.2"},
		{name: "gcc-execstack", typ: Static, exec: true},
		{name: "musl-static", typ: Static},
		{name: "musl-dynamic", typ: Dynamic, pie: true, interp: "/lib/ld-musl-x86_64.so.1"},
		{name: "go-static", typ: Static},
		{name: "gcc-shared", wantErr: "ET_DYN file without an entry point (a shared library, not an executable)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := readBinary(t, tc.name)
			info, err := inspectBytes(b)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.Type != tc.typ || info.PIE() != tc.pie || info.Interp != tc.interp || info.ExecStack != tc.exec {
				t.Errorf("got type %v pie %v interp %q execstack %v", info.Type, info.PIE(), info.Interp, info.ExecStack)
			}
			checkAgainstDebugELF(t, b, info)
			t.Logf("%s: %v entry %#x span [%#x,%#x) phdr %#x tls %v segs %d", tc.name, info.Type,
				info.Entry, info.Low, info.High, info.PHdrVaddr, info.HasTLS, len(info.Segments))
		})
	}
}

// TestInspectSystemInterpreters checks the host's dynamic loaders, which are
// ET_DYN files with an entry point and no PT_INTERP.
func TestInspectSystemInterpreters(t *testing.T) {
	for _, p := range []string{"/lib64/ld-linux-x86-64.so.2", "/lib/ld-musl-x86_64.so.1"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Logf("skip %s: %v", p, err)
			continue
		}
		info, err := inspectBytes(b)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if info.Type != StaticPIE {
			t.Errorf("%s: type %v", p, info.Type)
		}
		checkAgainstDebugELF(t, b, info)
	}
}

// Offsets of Elf64_Ehdr and Elf64_Phdr fields (gABI).
const (
	offType      = 16
	offMachine   = 18
	offVersion   = 20
	offEntry     = 24
	offPhoff     = 32
	offPhentsize = 54
	offPhnum     = 56

	phType   = 0
	phFlags  = 4
	phOffset = 8
	phVaddr  = 16
	phFilesz = 32
	phMemsz  = 40
	phAlign  = 48
)

var le = binary.LittleEndian

// phdr returns the bytes of program header i.
func phdr(b []byte, i int) []byte {
	off := int(le.Uint64(b[offPhoff:])) + i*PhdrSize
	return b[off : off+PhdrSize]
}

// findPhdr returns the index of the n-th (0-based) program header of type typ.
func findPhdr(t *testing.T, b []byte, typ uint32, n int) int {
	t.Helper()
	for i := 0; i < int(le.Uint16(b[offPhnum:])); i++ {
		if le.Uint32(phdr(b, i)[phType:]) == typ {
			if n == 0 {
				return i
			}
			n--
		}
	}
	t.Fatalf("no program header of type %d", typ)
	return -1
}

func TestInspectBroken(t *testing.T) {
	static := readBinary(t, "gcc-static")
	dynamic := readBinary(t, "gcc-dynamic")
	size := len(static)
	phoff := int(le.Uint64(static[offPhoff:]))
	phnum := int(le.Uint16(static[offPhnum:]))

	type tcase struct {
		name   string
		base   []byte
		mutate func(t *testing.T, b []byte) []byte
		want   string // exact error text
	}
	trunc := func(n int) func(*testing.T, []byte) []byte {
		return func(_ *testing.T, b []byte) []byte { return b[:n] }
	}
	// The last PT_LOAD holding file bytes: truncating inside it must be
	// reported against that segment.
	lastLoad := findPhdr(t, static, PT_LOAD, 3)
	lastOff := le.Uint64(phdr(static, lastLoad)[phOffset:])
	lastFilesz := le.Uint64(phdr(static, lastLoad)[phFilesz:])
	cut := int(lastOff) + 16

	tests := []tcase{
		{"empty", static, trunc(0), "not an ELF file"},
		{"magic only", static, trunc(3), "not an ELF file"},
		{"ident", static, trunc(16), "truncated: ELF header needs 64 bytes, file has 16"},
		{"header-1", static, trunc(63), "truncated: ELF header needs 64 bytes, file has 63"},
		{"header only", static, trunc(64), fmt.Sprintf("truncated: program header 0 lies past end of file (size 64)")},
		{"in phdr 3", static, trunc(phoff + 3*PhdrSize + 10),
			fmt.Sprintf("truncated: program header 3 lies past end of file (size %d)", phoff+3*PhdrSize+10)},
		{"last phdr", static, trunc(phoff + phnum*PhdrSize - 1),
			fmt.Sprintf("truncated: program header %d lies past end of file (size %d)", phnum-1, phoff+phnum*PhdrSize-1)},
		{"in last segment", static, trunc(cut),
			fmt.Sprintf("segment %d: file bytes [%#x, %#x) lie past end of file (size %d)", lastLoad, lastOff, lastOff+lastFilesz, cut)},
		{"not elf", static, func(_ *testing.T, b []byte) []byte { b[1] = 'X'; return b }, "not an ELF file"},
		{"script", nil, func(_ *testing.T, _ []byte) []byte { return []byte("#!/bin/sh\necho hi\n") }, "not an ELF file"},
		{"class32", static, func(_ *testing.T, b []byte) []byte { b[4] = 1; return b }, "not a 64-bit ELF (ELFCLASS32)"},
		{"class0", static, func(_ *testing.T, b []byte) []byte { b[4] = 0; return b }, "not a 64-bit ELF (class 0)"},
		{"big endian", static, func(_ *testing.T, b []byte) []byte { b[5] = 2; return b }, "not a little-endian ELF (ELFDATA2MSB)"},
		{"ident version", static, func(_ *testing.T, b []byte) []byte { b[6] = 2; return b }, "unsupported ELF version 2 in e_ident"},
		{"aarch64", static, func(_ *testing.T, b []byte) []byte { le.PutUint16(b[offMachine:], 183); return b },
			"not an x86-64 executable (machine EM_AARCH64)"},
		{"i386", static, func(_ *testing.T, b []byte) []byte { le.PutUint16(b[offMachine:], 3); return b },
			"not an x86-64 executable (machine EM_386)"},
		{"machine 9999", static, func(_ *testing.T, b []byte) []byte { le.PutUint16(b[offMachine:], 9999); return b },
			"not an x86-64 executable (machine 9999)"},
		{"ET_REL", static, func(_ *testing.T, b []byte) []byte { le.PutUint16(b[offType:], 1); return b },
			"not an executable (type ET_REL)"},
		{"ET_CORE", static, func(_ *testing.T, b []byte) []byte { le.PutUint16(b[offType:], 4); return b },
			"not an executable (type ET_CORE)"},
		{"e_version", static, func(_ *testing.T, b []byte) []byte { le.PutUint32(b[offVersion:], 0); return b },
			"unsupported ELF version 0 in e_version"},
		{"phnum 0", static, func(_ *testing.T, b []byte) []byte { le.PutUint16(b[offPhnum:], 0); return b },
			"no program headers"},
		{"PN_XNUM", static, func(_ *testing.T, b []byte) []byte { le.PutUint16(b[offPhnum:], 0xffff); return b },
			"extended program header numbering (PN_XNUM) not supported"},
		{"phentsize", static, func(_ *testing.T, b []byte) []byte { le.PutUint16(b[offPhentsize:], 32); return b },
			"program header entry size 32, want 56"},
		{"phoff huge", static, func(_ *testing.T, b []byte) []byte { le.PutUint64(b[offPhoff:], 1<<63); return b },
			fmt.Sprintf("truncated: program header 0 lies past end of file (size %d)", size)},
		{"phoff near end", static, func(_ *testing.T, b []byte) []byte { le.PutUint64(b[offPhoff:], uint64(size-2*PhdrSize-1)); return b },
			fmt.Sprintf("truncated: program header 2 lies past end of file (size %d)", size)},
		{"filesz > memsz", static, func(t *testing.T, b []byte) []byte {
			p := phdr(b, findPhdr(t, b, PT_LOAD, 2))
			le.PutUint64(p[phMemsz:], 0x1000)
			le.PutUint64(p[phFilesz:], 0x2000)
			return b
		}, fmt.Sprintf("segment %d: file size 0x2000 exceeds memory size 0x1000", findPhdr(t, static, PT_LOAD, 2))},
		{"offset past end", static, func(t *testing.T, b []byte) []byte {
			p := phdr(b, findPhdr(t, b, PT_LOAD, 1))
			le.PutUint64(p[phOffset:], 1<<63+0x1000)
			le.PutUint64(p[phVaddr:], 0x401000)
			return b
		}, fmt.Sprintf("segment %d: file bytes [0x8000000000001000, %#x) lie past end of file (size %d)",
			findPhdr(t, static, PT_LOAD, 1), uint64(1<<63+0x1000)+le.Uint64(phdr(static, findPhdr(t, static, PT_LOAD, 1))[phFilesz:]), size)},
		{"align not power of two", static, func(t *testing.T, b []byte) []byte {
			le.PutUint64(phdr(b, findPhdr(t, b, PT_LOAD, 1))[phAlign:], 0x3000)
			return b
		}, fmt.Sprintf("segment %d: alignment 0x3000 is not a power of two", findPhdr(t, static, PT_LOAD, 1))},
		{"offset/vaddr congruence", static, func(t *testing.T, b []byte) []byte {
			p := phdr(b, findPhdr(t, b, PT_LOAD, 1))
			le.PutUint64(p[phVaddr:], le.Uint64(p[phVaddr:])+8)
			return b
		}, fmt.Sprintf("segment %d: offset 0x1000 and address 0x401008 disagree modulo alignment 0x1000", findPhdr(t, static, PT_LOAD, 1))},
		{"address overflow", static, func(t *testing.T, b []byte) []byte {
			p := phdr(b, findPhdr(t, b, PT_LOAD, 3))
			le.PutUint64(p[phMemsz:], ^uint64(0)-0x1000)
			return b
		}, fmt.Sprintf("segment %d: address range %#x + %#x overflows", lastLoad, le.Uint64(phdr(static, lastLoad)[phVaddr:]), ^uint64(0)-0x1000)},
		{"past app limit", static, func(t *testing.T, b []byte) []byte {
			p := phdr(b, findPhdr(t, b, PT_LOAD, 3))
			le.PutUint64(p[phMemsz:], AppLimit)
			return b
		}, fmt.Sprintf("segment %d: [%#x, %#x) reaches past the app area limit 0x400000000000", lastLoad,
			le.Uint64(phdr(static, lastLoad)[phVaddr:]), le.Uint64(phdr(static, lastLoad)[phVaddr:])+AppLimit)},
		{"overlap", static, func(t *testing.T, b []byte) []byte {
			p := phdr(b, findPhdr(t, b, PT_LOAD, 0))
			le.PutUint64(p[phMemsz:], 0x1100)
			return b
		}, fmt.Sprintf("segment %d: [0x401000, %#x) overlaps segment %d [0x400000, 0x401100)",
			findPhdr(t, static, PT_LOAD, 1), 0x401000+le.Uint64(phdr(static, findPhdr(t, static, PT_LOAD, 1))[phMemsz:]), findPhdr(t, static, PT_LOAD, 0))},
		{"no PT_LOAD", static, func(t *testing.T, b []byte) []byte {
			for i := 0; i < phnum; i++ {
				if le.Uint32(phdr(b, i)[phType:]) == PT_LOAD {
					le.PutUint32(phdr(b, i)[phType:], PT_NOTE)
				}
			}
			return b
		}, "no loadable segments"},
		{"entry outside", static, func(_ *testing.T, b []byte) []byte { le.PutUint64(b[offEntry:], 0x10); return b },
			"entry point 0x10 lies outside every loadable segment"},
		{"dyn without entry", dynamic, func(_ *testing.T, b []byte) []byte { le.PutUint64(b[offEntry:], 0); return b },
			"ET_DYN file without an entry point (a shared library, not an executable)"},
		{"interp not NUL-terminated", dynamic, func(t *testing.T, b []byte) []byte {
			p := phdr(b, findPhdr(t, b, PT_INTERP, 0))
			b[le.Uint64(p[phOffset:])+le.Uint64(p[phFilesz:])-1] = 'x'
			return b
		}, "PT_INTERP: path is not NUL-terminated"},
		{"interp empty", dynamic, func(t *testing.T, b []byte) []byte {
			p := phdr(b, findPhdr(t, b, PT_INTERP, 0))
			b[le.Uint64(p[phOffset:])] = 0
			return b
		}, "PT_INTERP: empty path"},
		{"interp past end", dynamic, func(t *testing.T, b []byte) []byte {
			p := phdr(b, findPhdr(t, b, PT_INTERP, 0))
			le.PutUint64(p[phOffset:], uint64(len(b)-5))
			return b
		}, fmt.Sprintf("PT_INTERP: bytes [%#x, %#x) lie past end of file (size %d)", len(dynamic)-5, len(dynamic)-5+0x1c, len(dynamic))},
		{"interp too long", dynamic, func(t *testing.T, b []byte) []byte {
			le.PutUint64(phdr(b, findPhdr(t, b, PT_INTERP, 0))[phFilesz:], MaxInterpLen+1)
			return b
		}, "PT_INTERP: path size 4097 out of range [2, 4096]"},
		{"two interps", dynamic, func(t *testing.T, b []byte) []byte {
			i := findPhdr(t, b, PT_GNU_STACK, 0)
			copy(phdr(b, i), phdr(b, findPhdr(t, b, PT_INTERP, 0)))
			return b
		}, fmt.Sprintf("program header %d: second PT_INTERP (first is %d)", findPhdr(t, dynamic, PT_GNU_STACK, 0), findPhdr(t, dynamic, PT_INTERP, 0))},
		{"dyn span too large", dynamic, func(t *testing.T, b []byte) []byte {
			p := phdr(b, findPhdr(t, b, PT_LOAD, 3))
			le.PutUint64(p[phMemsz:], AppLimit)
			return b
		}, fmt.Sprintf("loadable span [0x0, %#x) does not fit in the app area (0x400000000000 bytes)",
			le.Uint64(phdr(dynamic, findPhdr(t, dynamic, PT_LOAD, 3))[phVaddr:])+AppLimit)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.mutate(t, bytes.Clone(tc.base))
			info, err := inspectBytes(b)
			if err == nil {
				t.Fatalf("no error, info %+v", info)
			}
			if err.Error() != tc.want {
				t.Fatalf("error\n got %q\nwant %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
			if tc.want == "not an ELF file" && !errors.Is(err, ErrNotELF) {
				t.Errorf("error is not ErrNotELF")
			}
		})
	}
}

// TestInspectTruncatedEverywhere cuts real binaries at many lengths: each
// prefix that cuts into the headers or a segment's file bytes is rejected
// with a single-line error; prefixes that keep every needed byte pass.
func TestInspectTruncatedEverywhere(t *testing.T) {
	for _, name := range []string{"gcc-static", "gcc-dynamic", "musl-static", "go-static"} {
		t.Run(name, func(t *testing.T) {
			b := readBinary(t, name)
			full, err := inspectBytes(b)
			if err != nil {
				t.Fatal(err)
			}
			need := int(full.PHOff) + int(full.PHNum)*PhdrSize
			for _, s := range full.Segments {
				if e := int(s.Offset + s.Filesz); e > need {
					need = e
				}
			}
			var cuts []int
			for n := 0; n < 512 && n <= len(b); n++ {
				cuts = append(cuts, n)
			}
			for n := 512; n <= len(b); n += len(b)/97 + 1 {
				cuts = append(cuts, n)
			}
			cuts = append(cuts, need-1, need, len(b))
			for _, n := range cuts {
				info, err := inspectBytes(b[:n])
				switch {
				case n < need && err == nil:
					t.Fatalf("cut at %d (need %d): accepted: %+v", n, need, info)
				case n >= need && err != nil:
					t.Fatalf("cut at %d (need %d): %v", n, need, err)
				case err != nil && strings.Contains(err.Error(), "\n"):
					t.Fatalf("multi-line error %q", err)
				}
			}
		})
	}
}

// shortReader claims more bytes than it has.
type shortReader struct{ b []byte }

func (r shortReader) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(r.b).ReadAt(p, off)
}

func TestInspectReadError(t *testing.T) {
	b := readBinary(t, "gcc-dynamic")
	_, err := Inspect(shortReader{b[:100]}, int64(len(b)))
	if err == nil || !strings.HasPrefix(err.Error(), "reading program headers: ") {
		t.Fatalf("err = %v", err)
	}
	if _, err := Inspect(bytes.NewReader(b), -1); err == nil {
		t.Fatal("negative size accepted")
	}
}

// minimalELF builds a tiny static executable by hand: one R+X PT_LOAD at
// 0x400000 holding the headers and a few bytes of code.
func minimalELF() []byte {
	b := make([]byte, EhdrSize+PhdrSize+16)
	copy(b, "\x7fELF\x02\x01\x01")
	le.PutUint16(b[offType:], ET_EXEC)
	le.PutUint16(b[offMachine:], EM_X86_64)
	le.PutUint32(b[offVersion:], 1)
	le.PutUint64(b[offEntry:], 0x400000+EhdrSize+PhdrSize)
	le.PutUint64(b[offPhoff:], EhdrSize)
	le.PutUint16(b[52:], EhdrSize)
	le.PutUint16(b[offPhentsize:], PhdrSize)
	le.PutUint16(b[offPhnum:], 1)
	p := b[EhdrSize:]
	le.PutUint32(p[phType:], PT_LOAD)
	le.PutUint32(p[phFlags:], uint32(FlagR|FlagX))
	le.PutUint64(p[phVaddr:], 0x400000)
	le.PutUint64(p[24:], 0x400000)
	le.PutUint64(p[phFilesz:], uint64(len(b)))
	le.PutUint64(p[phMemsz:], uint64(len(b))+0x2000)
	le.PutUint64(p[phAlign:], 0x1000)
	copy(b[EhdrSize+PhdrSize:], "\x31\xff\xb8\x3c\x00\x00\x00\x0f\x05") // exit(0)
	return b
}

func TestInspectMinimal(t *testing.T) {
	info, err := inspectBytes(minimalELF())
	if err != nil {
		t.Fatal(err)
	}
	if info.Type != Static || info.PHdrVaddr != 0x400040 || !info.HasPHdrVaddr || info.HasTLS || info.ExecStack ||
		len(info.Segments) != 1 || info.Segments[0].Flags.String() != "r-x" || info.High != 0x400000+0x78+16+0x2000 {
		t.Fatalf("info %+v", info)
	}
}

func FuzzInspect(f *testing.F) {
	f.Add(minimalELF())
	f.Add([]byte("\x7fELF"))
	f.Add([]byte("#!/bin/sh\n"))
	for _, name := range []string{"gcc-static", "gcc-dynamic", "musl-static", "go-static"} {
		buildOnce.Do(buildAll)
		if p, ok := builtBins[name]; ok {
			if b, err := os.ReadFile(p); err == nil {
				// The headers are what Inspect looks at; keep the seeds small.
				f.Add(b[:min(len(b), 4096)])
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		info, err := inspectBytes(b)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		// Invariants promised to the loader.
		if len(info.Segments) == 0 {
			t.Fatal("no segments")
		}
		var prevEnd uint64
		for k, s := range info.Segments {
			if s.Filesz > s.Memsz || s.Memsz == 0 || s.Offset+s.Filesz > uint64(len(b)) || s.Offset+s.Filesz < s.Offset ||
				s.Vaddr+s.Memsz < s.Vaddr || (k > 0 && s.Vaddr < prevEnd) {
				t.Fatalf("bad segment %d %+v", k, s)
			}
			if info.ELFType == ET_EXEC && s.End() > AppLimit {
				t.Fatalf("segment past limit %+v", s)
			}
			prevEnd = s.End()
		}
		if info.High-info.Low >= AppLimit {
			t.Fatalf("span too large")
		}
	})
}
