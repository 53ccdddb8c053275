package elf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/gosv/gosv/internal/elfexec"
)

// fakeMemory is an address space made of a map of 4 KiB pages. It enforces
// the Memory contract strictly: aligned arguments, no double mapping,
// writes only to mapped writable pages, and it remembers every protection
// a page ever had.
type fakeMemory struct {
	pages   map[uint64]*fakePage
	calls   []string
	everWX  bool
	failMap bool
	maxSize uint64 // if non-zero, Map fails beyond this many bytes in total
	size    uint64
}

type fakePage struct {
	data [PageSize]byte
	prot Prot
}

func newFakeMemory() *fakeMemory { return &fakeMemory{pages: map[uint64]*fakePage{}} }

func (m *fakeMemory) checkRange(addr, length uint64) error {
	if addr%PageSize != 0 || length%PageSize != 0 || length == 0 {
		return fmt.Errorf("unaligned range %#x+%#x", addr, length)
	}
	if addr+length < addr || addr+length > AppLimit {
		return fmt.Errorf("range %#x+%#x outside the app area", addr, length)
	}
	return nil
}

func (m *fakeMemory) Map(addr, length uint64, prot Prot) error {
	m.calls = append(m.calls, fmt.Sprintf("map %#x %#x %v", addr, length, prot))
	if m.failMap {
		return errors.New("out of memory")
	}
	if err := m.checkRange(addr, length); err != nil {
		return err
	}
	if m.maxSize != 0 && m.size+length > m.maxSize {
		return errors.New("fake memory full")
	}
	m.size += length
	for a := addr; a < addr+length; a += PageSize {
		if m.pages[a] != nil {
			return fmt.Errorf("page %#x mapped twice", a)
		}
	}
	for a := addr; a < addr+length; a += PageSize {
		m.pages[a] = &fakePage{prot: prot}
	}
	m.everWX = m.everWX || prot&(ProtWrite|ProtExec) == ProtWrite|ProtExec
	return nil
}

func (m *fakeMemory) Protect(addr, length uint64, prot Prot) error {
	m.calls = append(m.calls, fmt.Sprintf("protect %#x %#x %v", addr, length, prot))
	if err := m.checkRange(addr, length); err != nil {
		return err
	}
	for a := addr; a < addr+length; a += PageSize {
		if m.pages[a] == nil {
			return fmt.Errorf("protect: page %#x not mapped", a)
		}
	}
	for a := addr; a < addr+length; a += PageSize {
		m.pages[a].prot = prot
	}
	m.everWX = m.everWX || prot&(ProtWrite|ProtExec) == ProtWrite|ProtExec
	return nil
}

func (m *fakeMemory) Write(addr uint64, b []byte) error {
	for len(b) > 0 {
		pg := m.pages[addr&^(PageSize-1)]
		if pg == nil {
			return fmt.Errorf("write: page %#x not mapped", addr&^(PageSize-1))
		}
		if pg.prot&ProtWrite == 0 {
			return fmt.Errorf("write: page %#x is %v", addr&^(PageSize-1), pg.prot)
		}
		n := copy(pg.data[addr%PageSize:], b)
		b = b[n:]
		addr += uint64(n)
	}
	return nil
}

// read returns n bytes at addr, failing the test on unmapped memory.
func (m *fakeMemory) read(t *testing.T, addr, n uint64) []byte {
	t.Helper()
	out := make([]byte, 0, n)
	for uint64(len(out)) < n {
		pg := m.pages[addr&^(PageSize-1)]
		if pg == nil {
			t.Fatalf("read: page %#x not mapped", addr&^(PageSize-1))
		}
		k := min(n-uint64(len(out)), PageSize-addr%PageSize)
		out = append(out, pg.data[addr%PageSize:addr%PageSize+k]...)
		addr += k
	}
	return out
}

func (m *fakeMemory) prot(addr uint64) (Prot, bool) {
	pg := m.pages[addr&^(PageSize-1)]
	if pg == nil {
		return 0, false
	}
	return pg.prot, true
}

// checkLoaded verifies a loaded image against its file: every segment's
// file bytes, zero bss and zero page remainders, the set of mapped pages,
// protections, the program headers at PHdrAddr, entry and brk.
//
// Synthetic files (synth true) have no program headers in memory and may put
// the entry point on a page that lost its execute right; those two checks are
// skipped for them.
func checkLoaded(t *testing.T, mem *fakeMemory, file []byte, img *Image, synth bool) {
	t.Helper()
	info := img.Info
	bias := img.Base
	// Which segment owns each byte of each page.
	owner := func(a uint64) *elfexec.Segment {
		for i := range info.Segments {
			s := &info.Segments[i]
			if a >= bias+s.Vaddr && a < bias+s.End() {
				return s
			}
		}
		return nil
	}
	wantPages := map[uint64][]elfexec.Segment{}
	for _, s := range info.Segments {
		for a := pageDown(bias + s.Vaddr); a < pageUp(bias+s.End()); a += PageSize {
			wantPages[a] = append(wantPages[a], s)
		}
	}
	if len(wantPages) != len(mem.pages) {
		t.Errorf("%d pages mapped, want %d", len(mem.pages), len(wantPages))
	}
	for a, segs := range wantPages {
		p, ok := mem.prot(a)
		if !ok {
			t.Fatalf("page %#x not mapped", a)
		}
		var union Prot
		wx := false
		for _, s := range segs {
			union |= protOf(s.Flags)
			wx = wx || protOf(s.Flags)&(ProtWrite|ProtExec) == ProtWrite|ProtExec
		}
		want := union
		if union&(ProtWrite|ProtExec) == ProtWrite|ProtExec && !wx {
			want = protOf(segs[len(segs)-1].Flags)
		}
		if p != want {
			t.Errorf("page %#x is %v, want %v", a, p, want)
		}
		if !wx && p&(ProtWrite|ProtExec) == ProtWrite|ProtExec {
			t.Errorf("page %#x is W+X", a)
		}
		// Byte contents of the page.
		got := mem.read(t, a, PageSize)
		for i := uint64(0); i < PageSize; i++ {
			var want byte
			if s := owner(a + i); s != nil {
				off := a + i - (bias + s.Vaddr)
				if off < s.Filesz {
					want = file[s.Offset+off]
				}
			}
			if got[i] != want {
				t.Fatalf("byte at %#x = %#x, want %#x", a+i, got[i], want)
			}
		}
	}
	if img.Entry != bias+info.Entry {
		t.Errorf("Entry %#x, want %#x", img.Entry, bias+info.Entry)
	}
	if p, _ := mem.prot(img.Entry); !synth && p&ProtExec == 0 {
		t.Errorf("entry %#x not on an executable page", img.Entry)
	}
	// The bytes at the entry point are the file's.
	s := owner(img.Entry)
	rel := img.Entry - bias - s.Vaddr
	if rel >= s.Filesz {
		t.Fatalf("entry %#x in the bss", img.Entry)
	}
	cn := min(32, s.Filesz-rel)
	off := s.Offset + rel
	if got := mem.read(t, img.Entry, cn); !bytes.Equal(got, file[off:off+cn]) {
		t.Errorf("code at entry %x, file %x", got, file[off:off+cn])
	}
	if synth {
		return
	}
	// The program headers are readable at PHdrAddr.
	tab := mem.read(t, img.PHdrAddr, img.PHEnt*img.PHNum)
	if !bytes.Equal(tab, file[info.PHOff:info.PHOff+uint64(len(tab))]) {
		t.Errorf("program headers at %#x differ from the file's", img.PHdrAddr)
	}
	if img.PHEnt != 56 || img.PHNum != uint64(binary.LittleEndian.Uint16(file[56:])) {
		t.Errorf("PHEnt %d PHNum %d", img.PHEnt, img.PHNum)
	}
	if img.BrkStart != pageUp(bias+info.High) || img.BrkStart%PageSize != 0 || img.End != img.BrkStart ||
		img.Start != pageDown(bias+info.Low) {
		t.Errorf("Start %#x End %#x BrkStart %#x for span [%#x, %#x) bias %#x", img.Start, img.End, img.BrkStart, info.Low, info.High, bias)
	}
	if img.Interp != info.Interp {
		t.Errorf("Interp %q", img.Interp)
	}
	// Mappings describe exactly the final state.
	var n uint64
	for _, m := range img.Mappings {
		for a := m.Addr; a < m.Addr+m.Length; a += PageSize {
			if p, _ := mem.prot(a); p != m.Prot {
				t.Errorf("Mappings says %#x is %v, memory has %v", a, m.Prot, p)
			}
			n++
		}
	}
	if n != uint64(len(mem.pages)) {
		t.Errorf("Mappings cover %d pages, %d mapped", n, len(mem.pages))
	}
}

func TestLoadRealBinaries(t *testing.T) {
	tests := []struct {
		name   string
		path   string // instead of a built binary
		interp bool
		pie    bool
		dyn    string
	}{
		{name: "gcc-static"},
		{name: "gcc-static-pie", pie: true},
		{name: "gcc-dynamic", pie: true, dyn: "/lib64/ld-linux-x86-64.so.2"},
		{name: "gcc-dynamic-nopie", dyn: "/lib64/ld-linux-x86-64.so.2"},
		{name: "musl-static"},
		{name: "musl-dynamic", pie: true, dyn: "/lib/ld-musl-x86_64.so.1"},
		{name: "go-static"},
		{name: "ld-linux", path: "/lib64/ld-linux-x86-64.so.2", interp: true, pie: true},
		{name: "ld-musl", path: "/lib/ld-musl-x86_64.so.1", interp: true, pie: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.path
			if path == "" {
				path = testBinary(t, tc.name)
			}
			file, err := os.ReadFile(path)
			if err != nil {
				t.Skip(err)
			}
			info, err := elfexec.Inspect(bytes.NewReader(file), int64(len(file)))
			if err != nil {
				t.Fatal(err)
			}
			base := ChooseBase(info, tc.interp)
			switch {
			case !tc.pie && base != 0:
				t.Fatalf("ChooseBase = %#x for ET_EXEC", base)
			case tc.pie && tc.interp && base != InterpBase:
				t.Fatalf("ChooseBase = %#x, want InterpBase", base)
			case tc.pie && !tc.interp && base != PIEBase:
				t.Fatalf("ChooseBase = %#x, want PIEBase", base)
			}
			mem := newFakeMemory()
			img, err := Load(mem, bytes.NewReader(file), int64(len(file)), base)
			if err != nil {
				t.Fatal(err)
			}
			if img.Base != base || img.Interp != tc.dyn {
				t.Errorf("Base %#x Interp %q", img.Base, img.Interp)
			}
			if mem.everWX {
				t.Errorf("a page was W+X at some point: %v", mem.calls)
			}
			checkLoaded(t, mem, file, img, false)
			t.Logf("entry %#x base %#x phdr %#x brk %#x mappings %v", img.Entry, img.Base, img.PHdrAddr, img.BrkStart, img.Mappings)
		})
	}
}

// synthSeg describes one PT_LOAD of a synthetic ELF.
type synthSeg struct {
	vaddr, filesz, memsz uint64
	flags                elfexec.Flags
}

// synthELF builds an x86-64 ELF of type etype whose PT_LOADs are segs; the
// file bytes of segment i are a pattern derived from i. The program
// headers are not part of any segment unless a segment covers offset 64.
func synthELF(etype uint16, entry uint64, segs []synthSeg) []byte {
	le := binary.LittleEndian
	hdr := make([]byte, 64+56*len(segs))
	copy(hdr, "\x7fELF\x02\x01\x01")
	le.PutUint16(hdr[16:], etype)
	le.PutUint16(hdr[18:], elfexec.EM_X86_64)
	le.PutUint32(hdr[20:], 1)
	le.PutUint64(hdr[24:], entry)
	le.PutUint64(hdr[32:], 64)
	le.PutUint16(hdr[52:], 64)
	le.PutUint16(hdr[54:], 56)
	le.PutUint16(hdr[56:], uint16(len(segs)))
	file := hdr
	for i, s := range segs {
		off := uint64(len(file))
		off += (s.vaddr%PageSize - off%PageSize + PageSize) % PageSize
		for uint64(len(file)) < off {
			file = append(file, 0xee) // filler that must never be loaded
		}
		for k := uint64(0); k < s.filesz; k++ {
			file = append(file, byte(i*37+int(k)%251+1))
		}
		ph := file[64+56*i:]
		le.PutUint32(ph[0:], elfexec.PT_LOAD)
		le.PutUint32(ph[4:], uint32(s.flags))
		le.PutUint64(ph[8:], off)
		le.PutUint64(ph[16:], s.vaddr)
		le.PutUint64(ph[24:], s.vaddr)
		le.PutUint64(ph[32:], s.filesz)
		le.PutUint64(ph[40:], s.memsz)
		le.PutUint64(ph[48:], PageSize)
	}
	return file
}

const (
	r   = elfexec.FlagR
	rw  = elfexec.FlagR | elfexec.FlagW
	rx  = elfexec.FlagR | elfexec.FlagX
	rwx = elfexec.FlagR | elfexec.FlagW | elfexec.FlagX
)

func TestLoadSharedPages(t *testing.T) {
	tests := []struct {
		name  string
		etype uint16
		base  uint64
		segs  []synthSeg
		want  []Mapping // final protections, relative to the load bias
	}{
		{
			name: "text and data share a page", etype: elfexec.ET_EXEC,
			segs: []synthSeg{{0x401000, 0x1800, 0x1800, rx}, {0x402800, 0x100, 0x3000, rw}},
			// The shared page 0x402000 would be rwx: the later (rw) segment wins.
			want: []Mapping{{0x401000, 0x1000, ProtRead | ProtExec}, {0x402000, 0x4000, ProtRead | ProtWrite}},
		},
		{
			name: "rodata and text share a page", etype: elfexec.ET_EXEC,
			segs: []synthSeg{{0x400000, 0x234, 0x234, r}, {0x400300, 0x2000, 0x2000, rx}},
			want: []Mapping{{0x400000, 0x3000, ProtRead | ProtExec}},
		},
		{
			name: "three segments in one page", etype: elfexec.ET_DYN, base: 0x10000000,
			segs: []synthSeg{{0x100, 0x10, 0x10, r}, {0x200, 0x10, 0x20, rx}, {0x400, 0x10, 0x1000, rw}},
			// Page 0 would be rwx: the highest segment (rw) wins.
			want: []Mapping{{0x10000000, 0x2000, ProtRead | ProtWrite}},
		},
		{
			name: "explicit rwx segment", etype: elfexec.ET_EXEC,
			segs: []synthSeg{{0x401000, 0x800, 0x800, rx}, {0x401800, 0x100, 0x2000, rwx}},
			want: []Mapping{{0x401000, 0x3000, ProtRead | ProtWrite | ProtExec}},
		},
		{
			name: "gap between segments", etype: elfexec.ET_DYN, base: 0x7000000,
			segs: []synthSeg{{0x0, 0x1234, 0x1234, rx}, {0x10010, 0x20, 0x20, r}},
			want: []Mapping{{0x7000000, 0x2000, ProtRead | ProtExec}, {0x7010000, 0x1000, ProtRead}},
		},
		{
			name: "bss-only segment", etype: elfexec.ET_EXEC,
			segs: []synthSeg{{0x400000, 0x100, 0x100, rx}, {0x600000, 0, 0x5000, rw}},
			want: []Mapping{{0x400000, 0x1000, ProtRead | ProtExec}, {0x600000, 0x5000, ProtRead | ProtWrite}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			entry := tc.segs[0].vaddr
			for _, s := range tc.segs {
				if s.flags&elfexec.FlagX != 0 {
					entry = s.vaddr + 4
					break
				}
			}
			file := synthELF(tc.etype, entry, tc.segs)
			mem := newFakeMemory()
			img, err := Load(mem, bytes.NewReader(file), int64(len(file)), tc.base)
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(img.Mappings) != fmt.Sprint(tc.want) {
				t.Errorf("Mappings %v\nwant     %v", img.Mappings, tc.want)
			}
			for _, c := range mem.calls {
				if strings.HasPrefix(c, "map") && !strings.HasSuffix(c, "rw-") {
					t.Errorf("%s: Map must be rw-", c)
				}
			}
			checkLoaded(t, mem, file, img, true)
		})
	}
}

// TestLoadCallOrder checks the Memory call sequence: Map (rw) every range,
// then writes, then Protect.
func TestLoadCallOrder(t *testing.T) {
	file := synthELF(elfexec.ET_EXEC, 0x401000, []synthSeg{{0x401000, 0x1800, 0x1800, rx}, {0x405800, 0x100, 0x3000, rw}})
	mem := newFakeMemory()
	if _, err := Load(mem, bytes.NewReader(file), int64(len(file)), 0); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"map 0x401000 0x2000 rw-", "map 0x405000 0x4000 rw-",
		"protect 0x401000 0x2000 r-x", "protect 0x405000 0x4000 rw-",
	}
	if fmt.Sprint(mem.calls) != fmt.Sprint(want) {
		t.Errorf("calls %q\nwant  %q", mem.calls, want)
	}
}

func TestLoadErrors(t *testing.T) {
	dyn := synthELF(elfexec.ET_DYN, 0x10, []synthSeg{{0, 0x100, 0x2000, rx}})
	exe := synthELF(elfexec.ET_EXEC, 0x400010, []synthSeg{{0x400000, 0x100, 0x2000, rx}})
	tests := []struct {
		name string
		file []byte
		base uint64
		fail bool
		want string
	}{
		{"unaligned base", dyn, 0x1234, false, "load base 0x1234 is not page-aligned"},
		{"base past limit", dyn, AppLimit - 0x1000, false, "image [0x0, 0x2000) at base 0x3ffffffff000 does not fit below 0x400000000000"},
		{"base overflow", dyn, ^uint64(0) &^ 0xfff, false, "image [0x0, 0x2000) at base 0xfffffffffffff000 does not fit below 0x400000000000"},
		{"map fails", exe, 0, true, "mapping [0x400000, 0x402000): out of memory"},
		{"not elf", []byte("#!/bin/sh\n"), 0, false, "not an ELF file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := newFakeMemory()
			mem.failMap = tc.fail
			_, err := Load(mem, bytes.NewReader(tc.file), int64(len(tc.file)), tc.base)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	// An ET_EXEC ignores base.
	mem := newFakeMemory()
	img, err := Load(mem, bytes.NewReader(exe), int64(len(exe)), 0x12345000)
	if err != nil || img.Base != 0 || img.Entry != 0x400010 {
		t.Fatalf("ET_EXEC with base: %v %+v", err, img)
	}
	// A shared library is refused.
	lib, err := os.ReadFile(testBinary(t, "gcc-shared"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(newFakeMemory(), bytes.NewReader(lib), int64(len(lib)), PIEBase); err == nil {
		t.Fatal("shared library loaded")
	}
}

func TestChooseBase(t *testing.T) {
	for _, tc := range []struct {
		pie    bool
		align  uint64
		interp bool
		want   uint64
	}{
		{false, 0x1000, false, 0},
		{true, 0x1000, false, PIEBase},
		{true, 0x1000, true, InterpBase},
		{true, 0x200000, false, 0x2aaa_aac0_0000},
		{true, 1 << 40, false, 0x2aaa_c000_0000},
		{true, 1 << 40, true, InterpBase},
	} {
		info := &elfexec.Info{ELFType: elfexec.ET_EXEC, MaxAlign: tc.align}
		if tc.pie {
			info.ELFType = elfexec.ET_DYN
		}
		if got := ChooseBase(info, tc.interp); got != tc.want {
			t.Errorf("ChooseBase(pie %v align %#x interp %v) = %#x, want %#x", tc.pie, tc.align, tc.interp, got, tc.want)
		}
	}
	if PIEBase%PageSize != 0 || InterpBase%PageSize != 0 || InterpBase >= AppLimit {
		t.Fatal("bad base constants")
	}
}

// FuzzLoad checks that Load never panics and keeps its promises to Memory
// (aligned ranges below AppLimit, no page mapped twice, writes only to
// writable pages — all enforced by fakeMemory) on arbitrary files.
func FuzzLoad(f *testing.F) {
	f.Add(synthELF(elfexec.ET_EXEC, 0x401004, []synthSeg{{0x401000, 0x1800, 0x1800, rx}, {0x402800, 0x100, 0x3000, rw}}), uint64(0))
	f.Add(synthELF(elfexec.ET_DYN, 0x204, []synthSeg{{0x100, 0x10, 0x10, r}, {0x200, 0x10, 0x20, rx}, {0x400, 0x10, 0x1000, rw}}), uint64(PIEBase))
	f.Add(synthELF(elfexec.ET_DYN, 0x10, []synthSeg{{0, 0x100, 0x2000, rx}}), uint64(AppLimit-0x1000))
	f.Fuzz(func(t *testing.T, file []byte, base uint64) {
		if len(file) > 1<<20 {
			return
		}
		mem := newFakeMemory()
		mem.maxSize = 1 << 20
		img, err := Load(mem, bytes.NewReader(file), int64(len(file)), base&^0xfff)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if img.End > AppLimit || img.Start >= img.End || img.BrkStart != img.End {
			t.Fatalf("image %+v", img)
		}
		wx := false
		for _, s := range img.Info.Segments {
			wx = wx || protOf(s.Flags)&(ProtWrite|ProtExec) == ProtWrite|ProtExec
		}
		if mem.everWX && !wx {
			t.Fatalf("W+X page without a W+X segment: %v", mem.calls)
		}
	})
}
