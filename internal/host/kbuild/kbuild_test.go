package kbuild

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/arch/x86/x86asm"
)

// A miniature kernel module: same module path and entry symbol as the real
// kernel, a level-0 package with one clean function and a few that break the
// level-0 rules, and an assembly PVH entry that reaches the Go runtime (so
// the linker keeps it, as in the real kernel).
var testModule = map[string]string{
	"go.mod": "module github.com/gosv/gosv\n\ngo 1.26\n",
	"kernel/main.go": `package main

import "github.com/gosv/gosv/kernel/machine"

func main() {
	println(machine.Leaf(1, 2), machine.Alloc(3) != nil, machine.Deep(4), machine.Index([]int{1}, 0))
}
`,
	"kernel/machine/machine.go": `package machine

func pvhEntry()

type T struct {
	p   *int
	buf [64]byte
}

var sink *T

// Leaf is what level-0 code should look like.
//
//go:nosplit
//go:noinline
func Leaf(a, b uintptr) uintptr { return a*3 + b }

// Alloc allocates, stores a pointer to a global (write barrier) and has a
// stack check.
//
//go:noinline
func Alloc(n int) *T {
	t := &T{}
	t.buf[0] = byte(n)
	sink = t
	return t
}

// Deep has a big frame and a stack check.
//
//go:noinline
func Deep(n int) int {
	var buf [512]byte
	buf[n&511] = byte(n)
	if n == 0 {
		return int(buf[3])
	}
	return Deep(n-1) + int(buf[n&255])
}

// Index has a bounds check.
//
//go:noinline
//go:nosplit
func Index(s []int, i int) int { return s[i] }
`,
	"kernel/machine/entry_amd64.s": `#include "textflag.h"

// Entered in 32-bit protected mode: these encodings mean the same there.
// Writes 0x2a to isa-debug-exit, so QEMU exits with status 0x2a<<1|1 = 85.
TEXT ·pvhEntry(SB),NOSPLIT|NOFRAME,$0
	MOVL $0xf4, DX
	MOVL $0x2a, AX
	BYTE $0xef // OUTL: out %eax, (%dx)
	HLT
	JMP _rt0_amd64_linux(SB)
`,
}

const testPkg = "github.com/gosv/gosv/kernel/machine."

func writeTestModule(t testing.TB) string {
	dir := t.TempDir()
	for name, text := range testModule {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

var raw struct {
	once sync.Once
	data []byte
	err  error
}

// rawKernel returns the unpatched test kernel, linked as Build links it.
func rawKernel(t *testing.T) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a Go program")
	}
	raw.once.Do(func() {
		dir, err := os.MkdirTemp("", "kbuild-test-")
		if err != nil {
			raw.err = err
			return
		}
		defer os.RemoveAll(dir)
		for name, text := range testModule {
			p := filepath.Join(dir, filepath.FromSlash(name))
			os.MkdirAll(filepath.Dir(p), 0o755)
			if raw.err = os.WriteFile(p, []byte(text), 0o644); raw.err != nil {
				return
			}
		}
		out := filepath.Join(dir, "kernel.elf")
		cmd := exec.Command("go", "build", "-o", out, "-ldflags=-T 0x400000201000 -E "+DefaultEntrySymbol, "./kernel")
		cmd.Dir = dir
		cmd.Env = append(kernelEnv(os.Environ()), "GOWORK=off")
		if msg, err := cmd.CombinedOutput(); err != nil {
			raw.err = &buildError{err, string(msg)}
			return
		}
		raw.data, raw.err = os.ReadFile(out)
	})
	if raw.err != nil {
		t.Fatal(raw.err)
	}
	return raw.data
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return "go build: " + e.err.Error() + "\n" + e.out }

func symValue(t *testing.T, f *elf.File, name string) uint64 {
	t.Helper()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range syms {
		if s.Name == name {
			return s.Value
		}
	}
	t.Fatalf("symbol %q not in test kernel", name)
	return 0
}

// TestGoLinkedShape pins down the facts about Go-linked ELF files that Patch
// relies on.
func TestGoLinkedShape(t *testing.T) {
	in := rawKernel(t)
	f, err := elf.NewFile(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var types []elf.ProgType
	for _, p := range f.Progs {
		types = append(types, p.Type)
	}
	want := []elf.ProgType{elf.PT_PHDR, elf.PT_NOTE, elf.PT_LOAD, elf.PT_LOAD, elf.PT_LOAD, elf.PT_GNU_STACK}
	if !equal(types, want) {
		t.Errorf("program headers %v, want %v", types, want)
	}
	note := f.Progs[1]
	if note.Filesz != 0x64 || note.Align != 4 {
		t.Errorf("PT_NOTE filesz %#x align %d, want 0x64 and 4", note.Filesz, note.Align)
	}
	if s := f.Section(".note.go.buildid"); s == nil || s.Offset != note.Off || s.Size != 0x64 {
		t.Errorf(".note.go.buildid section %+v does not match the PT_NOTE", s)
	}
	if f.Progs[2].Vaddr != LinkAddress-0x1000 || f.Progs[2].Off != 0 || f.Progs[2].Flags != elf.PF_R|elf.PF_X {
		t.Errorf("first PT_LOAD at vaddr %#x offset %#x flags %v, want %#x 0 R+X", f.Progs[2].Vaddr, f.Progs[2].Off, f.Progs[2].Flags, LinkAddress-0x1000)
	}
	if s := f.Section(".text"); s == nil || s.Addr != LinkAddress {
		t.Errorf(".text at %#x, want %#x", s.Addr, uint64(LinkAddress))
	}
	// -E resolves the ABI0 symbol; the plain name is the ABIInternal wrapper.
	abi0 := symValue(t, f, DefaultEntrySymbol+".abi0")
	wrapper := symValue(t, f, DefaultEntrySymbol)
	if f.Entry != abi0 || wrapper == abi0 {
		t.Errorf("e_entry %#x, %s.abi0 at %#x, %s at %#x", f.Entry, DefaultEntrySymbol, abi0, DefaultEntrySymbol, wrapper)
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPatchGoLinked(t *testing.T) {
	in := rawKernel(t)
	orig := append([]byte(nil), in...)
	out, err := Patch(in, PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(in, orig) {
		t.Fatal("Patch modified its input")
	}
	if len(out) != len(in) {
		t.Fatalf("output is %d bytes, input %d", len(out), len(in))
	}
	f, err := elf.NewFile(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("debug/elf rejects the patched file: %v", err)
	}
	entryVirt := symValue(t, f, DefaultEntrySymbol+".abi0")
	if f.Entry != entryVirt {
		t.Errorf("e_entry changed: %#x, want %#x", f.Entry, entryVirt)
	}
	wantPhys := entryVirt - DirectMapBase

	var loads []*elf.Prog
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_LOAD:
			loads = append(loads, p)
			fallthrough
		case elf.PT_PHDR, elf.PT_NOTE:
			if p.Paddr != p.Vaddr-DirectMapBase {
				t.Errorf("%v vaddr %#x paddr %#x, want %#x", p.Type, p.Vaddr, p.Paddr, p.Vaddr-DirectMapBase)
			}
		case elf.PT_GNU_STACK:
			if p.Paddr != 0 {
				t.Errorf("PT_GNU_STACK paddr %#x changed", p.Paddr)
			}
		}
	}
	if len(loads) != 3 || loads[0].Paddr != 0x200000 || f.Progs[0].Paddr != 0x200040 {
		t.Errorf("first PT_LOAD paddr %#x, PT_PHDR paddr %#x; want 0x200000 and 0x200040", loads[0].Paddr, f.Progs[0].Paddr)
	}

	note := f.Progs[1]
	if note.Type != elf.PT_NOTE || note.Filesz != 24 || note.Memsz != 24 || note.Align != 4 {
		t.Fatalf("PT_NOTE %+v, want filesz=memsz=24 align=4", note.ProgHeader)
	}
	want := []byte{
		4, 0, 0, 0, // namesz
		8, 0, 0, 0, // descsz
		18, 0, 0, 0, // XEN_ELFNOTE_PHYS32_ENTRY
		'X', 'e', 'n', 0,
	}
	want = binary.LittleEndian.AppendUint64(want, wantPhys)
	if got := out[note.Off : note.Off+24]; !bytes.Equal(got, want) {
		t.Errorf("note bytes\n got % x\nwant % x", got, want)
	}
	if rest := out[note.Off+24 : note.Off+0x64]; !bytes.Equal(rest, make([]byte, len(rest))) {
		t.Errorf("rest of the old build-ID note not cleared: % x", rest)
	}
	if wantPhys < 0x201000 || wantPhys >= 0x200000+loads[0].Filesz {
		t.Errorf("physical entry %#x outside the text segment", wantPhys)
	}
	sec := f.Section(".note.go.buildid")
	if sec == nil || sec.Size != 24 {
		t.Fatalf(".note.go.buildid section %+v, want size 24", sec)
	}
	if data, err := sec.Data(); err != nil || !bytes.Equal(data, want) {
		t.Errorf(".note.go.buildid data % x, %v", data, err)
	}

	// Nothing else changed: the only differing bytes are in the program
	// header table, the note and the note section's sh_size.
	shdr := func(name string) uint64 {
		for i, s := range f.Sections {
			if s.Name == name {
				return binary.LittleEndian.Uint64(out[40:]) + uint64(i)*64
			}
		}
		return 0
	}
	allowed := [][2]uint64{
		{64, 64 + uint64(len(f.Progs))*56},
		{note.Off, note.Off + 0x64},
		{shdr(".note.go.buildid") + 32, shdr(".note.go.buildid") + 40},
	}
	for i := range out {
		if out[i] == in[i] {
			continue
		}
		ok := false
		for _, r := range allowed {
			ok = ok || (uint64(i) >= r[0] && uint64(i) < r[1])
		}
		if !ok {
			t.Fatalf("byte %#x changed (%#x -> %#x)", i, in[i], out[i])
		}
	}

	// Idempotent.
	again, err := Patch(out, PatchOptions{})
	if err != nil || !bytes.Equal(again, out) {
		t.Errorf("second Patch: err %v, same output %v", err, bytes.Equal(again, out))
	}
}

func TestPatchSynthetic(t *testing.T) {
	out, err := Patch(synthELF(), PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	wantPaddr := []uint64{0x200040, 0x200120, 0x200000, 0}
	for i, p := range f.Progs {
		if p.Paddr != wantPaddr[i] {
			t.Errorf("prog %d (%v) paddr %#x, want %#x", i, p.Type, p.Paddr, wantPaddr[i])
		}
	}
	want := "\x04\x00\x00\x00\x08\x00\x00\x00\x12\x00\x00\x00Xen\x00\x60\x01\x20\x00\x00\x00\x00\x00"
	if got := string(out[synNoteOff : synNoteOff+24]); got != want {
		t.Errorf("note % x, want % x", got, want)
	}
	if f.Entry != synLoad+synEntryOff {
		t.Errorf("e_entry %#x changed", f.Entry)
	}

	// An explicit entry symbol without an .abi0 twin, and another base.
	out, err = Patch(synthELF(), PatchOptions{EntrySymbol: synPkg + "leaf", DirectMapBase: synBase - 0x1000_0000})
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.LittleEndian.Uint64(out[synNoteOff+16:]); got != 0x1000_0000+0x200000+synLeafOff {
		t.Errorf("entry %#x", got)
	}
	if got := binary.LittleEndian.Uint64(out[synPhoff+2*56+24:]); got != 0x1020_0000 {
		t.Errorf("PT_LOAD paddr %#x", got)
	}
}

func TestPatchErrors(t *testing.T) {
	syn := synthELF()
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), syn...)) }
	le := binary.LittleEndian
	phdr := func(i, field int) int { return synPhoff + 56*i + field }
	tests := []struct {
		name string
		in   []byte
		opt  PatchOptions
		want string
	}{
		{"empty", nil, PatchOptions{}, "kernel ELF: not an ELF file (bad magic)"},
		{"text", []byte("#!/bin/sh\necho hi\n"), PatchOptions{}, "kernel ELF: not an ELF file (bad magic)"},
		{"ELF32", mod(func(b []byte) []byte { b[4] = 1; return b }), PatchOptions{}, "kernel ELF: not ELF64 (EI_CLASS is ELFCLASS32)"},
		{"big-endian", mod(func(b []byte) []byte { b[5] = 2; return b }), PatchOptions{}, "kernel ELF: not little-endian (EI_DATA is ELFDATA2MSB)"},
		{"aarch64", mod(func(b []byte) []byte { le.PutUint16(b[18:], 183); return b }), PatchOptions{}, "kernel ELF: machine is EM_AARCH64, want EM_X86_64"},
		{"PIE", mod(func(b []byte) []byte { le.PutUint16(b[16:], 3); return b }), PatchOptions{}, "kernel ELF: file type is ET_DYN, want ET_EXEC"},
		{"truncated header", syn[:40], PatchOptions{}, "kernel ELF: truncated ELF header (40 bytes, need 64)"},
		{"truncated phdrs", syn[:synPhoff+56*2+10], PatchOptions{}, "kernel ELF: truncated program header table (4 entries at offset 0x40, file is 186 bytes)"},
		{"no phdrs", mod(func(b []byte) []byte { le.PutUint16(b[56:], 0); return b }), PatchOptions{}, "kernel ELF: no program headers"},
		{"bad phentsize", mod(func(b []byte) []byte { le.PutUint16(b[54:], 32); return b }), PatchOptions{}, "kernel ELF: e_phentsize is 32, want 56"},
		{"truncated shdrs", syn[:len(syn)-10], PatchOptions{}, "kernel ELF: truncated section header table (6 entries at offset"},
		{"missing symbol", syn, PatchOptions{EntrySymbol: "main.nope"}, `kernel ELF: entry symbol "main.nope" not found`},
		{"symbol outside text", syn, PatchOptions{EntrySymbol: "runtime.buildVersion"}, `kernel ELF: entry symbol "runtime.buildVersion" at 0x400000205000 is not in an executable PT_LOAD segment`},
		{"symbol in non-exec segment", mod(func(b []byte) []byte { le.PutUint32(b[phdr(2, 4):], 4); return b }), PatchOptions{}, `is not in an executable PT_LOAD segment`},
		{"segment below window", syn, PatchOptions{DirectMapBase: synLoad + 0x1000}, "kernel ELF: PT_PHDR segment 0 [0x400000200040, +0xe0) lies outside the direct map window [0x400000201000, 0x400040201000)"},
		{"segment above window", mod(func(b []byte) []byte { le.PutUint64(b[phdr(2, 40):], 1<<30); return b }), PatchOptions{}, "kernel ELF: PT_LOAD segment 2 [0x400000200000, +0x40000000) lies outside the direct map window [0x400000000000, 0x400040000000)"},
		{"load beyond file", mod(func(b []byte) []byte {
			le.PutUint64(b[phdr(2, 32):], 1<<20)
			le.PutUint64(b[phdr(2, 40):], 1<<20)
			return b
		}), PatchOptions{}, "kernel ELF: PT_LOAD segment 2: file range [0x0, +0x100000) beyond end of file"},
		{"filesz > memsz", mod(func(b []byte) []byte { le.PutUint64(b[phdr(2, 40):], 0x10); return b }), PatchOptions{}, "kernel ELF: PT_LOAD segment 2: p_filesz 0x1c0 > p_memsz 0x10"},
		{"no PT_LOAD", mod(func(b []byte) []byte { le.PutUint32(b[phdr(2, 0):], 0x6474e551); return b }), PatchOptions{}, "kernel ELF: no PT_LOAD segments"},
		{"no PT_NOTE", mod(func(b []byte) []byte { le.PutUint32(b[phdr(1, 0):], 0x6474e551); return b }), PatchOptions{}, "kernel ELF: no PT_NOTE segment"},
		{"foreign note", mod(func(b []byte) []byte { copy(b[synNoteOff+12:], "GNU\x00"); return b }), PatchOptions{}, `kernel ELF: no PT_NOTE segment holds the Go build-ID note (name "Go", type 4)`},
		{"small note", mod(func(b []byte) []byte { le.PutUint64(b[phdr(1, 32):], 20); return b }), PatchOptions{}, "kernel ELF: PT_NOTE segment 1 too small for the PVH note (20 bytes, need 24)"},
		{"stripped", mod(func(b []byte) []byte { le.PutUint64(b[40:], 0); le.PutUint16(b[60:], 0); return b }), PatchOptions{}, `kernel ELF: cannot look up entry symbol "github.com/gosv/gosv/kernel/machine.pvhEntry": no symbol table`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := Patch(tc.in, tc.opt)
			if err == nil {
				t.Fatalf("no error (output %d bytes)", len(out))
			}
			if !strings.HasPrefix(err.Error(), "kernel ELF: ") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want %q", err, tc.want)
			}
		})
	}

	// The same checks on the real Go-linked file.
	if testing.Short() {
		return
	}
	in := rawKernel(t)
	for _, tc := range []struct {
		name string
		in   []byte
		opt  PatchOptions
		want string
	}{
		{"truncated", in[:64+56*3], PatchOptions{}, "kernel ELF: truncated program header table (6 entries at offset 0x40, file is 232 bytes)"},
		{"missing symbol", in, PatchOptions{EntrySymbol: "main.pvhEntry"}, `kernel ELF: entry symbol "main.pvhEntry" not found`},
		{"data symbol", in, PatchOptions{EntrySymbol: testPkg + "sink"}, `kernel ELF: entry symbol "github.com/gosv/gosv/kernel/machine.sink" at 0x4000`},
		{"other window", in, PatchOptions{DirectMapBase: 0x7000_0000_0000}, "kernel ELF: PT_PHDR segment 0 [0x400000200040, +0x150) lies outside the direct map window [0x700000000000, 0x700040000000)"},
	} {
		if _, err := Patch(tc.in, tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Go program")
	}
	t.Setenv("GOWORK", "off")
	t.Setenv("GOOS", "windows") // must be overridden
	dir := writeTestModule(t)
	outDir := t.TempDir()
	out := filepath.Join(outDir, "kernel.elf")
	if err := os.WriteFile(out, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if err := Build(context.Background(), BuildOptions{Dir: dir, Out: out, Stderr: &stderr}); err != nil {
		t.Fatalf("Build: %v\n%s", err, stderr.String())
	}
	img, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	f, err := elf.NewFile(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	n := f.Progs[1]
	if n.Type != elf.PT_NOTE || n.Filesz != 24 || string(img[n.Off+12:n.Off+16]) != "Xen\x00" ||
		binary.LittleEndian.Uint64(img[n.Off+16:]) != f.Entry-DirectMapBase {
		t.Errorf("note % x, e_entry %#x", img[n.Off:n.Off+24], f.Entry)
	}
	if st, err := os.Stat(out); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("output mode %v, %v", st.Mode(), err)
	}
	if ents, _ := os.ReadDir(outDir); len(ents) != 1 {
		t.Errorf("temporary files left in output directory: %v", ents)
	}

	// The image boots: QEMU's PVH loader finds the note, loads the
	// segments at p_paddr and enters the stub in 32-bit mode.
	if qemu, err := exec.LookPath("qemu-system-x86_64"); err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, qemu, "-M", "microvm", "-m", "64", "-nodefaults", "-nographic",
			"-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-kernel", out)
		msg, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 85 {
			t.Errorf("qemu: %v (want exit status 85)\n%s", err, msg)
		}
	} else {
		t.Log("qemu-system-x86_64 not found; not booting the image")
	}

	// A compile error: Out untouched, error names the package, compiler
	// output included when Stderr is nil.
	os.WriteFile(filepath.Join(dir, "kernel/machine/bad.go"), []byte("package machine\nfunc Bad() { undefinedThing() }\n"), 0o644)
	err = Build(context.Background(), BuildOptions{Dir: dir, Out: out})
	if err == nil || !strings.Contains(err.Error(), "kbuild: go build ./kernel: exit status 1") || !strings.Contains(err.Error(), "undefinedThing") {
		t.Errorf("Build with a compile error: %v", err)
	}
	if again, _ := os.ReadFile(out); !bytes.Equal(again, img) {
		t.Error("failed Build changed the output file")
	}
	if err := Build(context.Background(), BuildOptions{Dir: dir}); err == nil {
		t.Error("Build without Out succeeded")
	}
}

func TestCheckLevel0GoLinked(t *testing.T) {
	in := rawKernel(t)
	f, err := elf.NewFile(bytes.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	syms, _ := f.Symbols()
	symAt := map[uint64]string{}
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC {
			symAt[s.Value] = s.Name
		}
	}
	text := f.Section(".text")
	textData, _ := text.Data()

	for _, img := range [][]byte{in, mustPatch(t, in)} {
		vs, err := CheckLevel0(img, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string][]string{} // function -> "reason target-prefix"
		for _, v := range vs {
			// The instruction at Addr really branches to Target.
			inst, err := x86asm.Decode(textData[v.Addr-text.Addr:], 64)
			if err != nil {
				t.Fatalf("%v: %v", v, err)
			}
			rel, ok := inst.Args[0].(x86asm.Rel)
			target := v.Addr + uint64(inst.Len) + uint64(int64(rel))
			if !ok || symAt[target] != v.Target || symValue(t, f, v.Function)+v.Offset != v.Addr {
				t.Errorf("%v: instruction %v branches to %s", v, inst, symAt[target])
			}
			short := strings.TrimPrefix(v.Function, testPkg)
			got[short] = append(got[short], v.Reason+" "+v.Target)
		}
		t.Logf("violations: %v", vs)
		if len(got["Leaf"]) != 0 || len(got["pvhEntry"]) != 0 || len(got["pvhEntry.abi0"]) != 0 {
			t.Errorf("clean functions reported: %v", got)
		}
		expect := map[string][]string{
			"Alloc": {"allocation runtime.newobject", "write barrier runtime.gcWriteBarrier", "stack growth runtime.morestack_noctxt.abi0"},
			"Deep":  {"stack growth runtime.morestack_noctxt.abi0"},
			"Index": {"panic runtime.panic"},
		}
		for fn, wants := range expect {
			if len(got[fn]) != len(wants) {
				t.Errorf("%s: violations %q, want %d", fn, got[fn], len(wants))
				continue
			}
			for i, w := range wants {
				if !strings.HasPrefix(got[fn][i], w) {
					t.Errorf("%s: violation %d is %q, want %q...", fn, i, got[fn][i], w)
				}
			}
		}
	}

	// Explicit prefixes; a prefix that matches nothing is an error.
	vs, err := CheckLevel0(in, []string{testPkg + "Leaf", testPkg + "Index"})
	if err != nil || len(vs) != 1 || vs[0].Function != testPkg+"Index" {
		t.Errorf("Leaf+Index: %v, %v", vs, err)
	}
	if _, err := CheckLevel0(in, []string{"github.com/gosv/gosv/kernel/machnie."}); err == nil ||
		!strings.Contains(err.Error(), "kernel ELF: no function symbols match the level-0 prefixes") {
		t.Errorf("misspelt prefix: %v", err)
	}
	// The runtime itself has plenty: sanity-check the matcher on it.
	vs, err = CheckLevel0(in, []string{"runtime.newobject"})
	if err != nil || len(vs) == 0 {
		t.Errorf("runtime.newobject: %v, %v", vs, err)
	}
}

func mustPatch(t *testing.T, in []byte) []byte {
	out, err := Patch(in, PatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCheckLevel0Synthetic(t *testing.T) {
	vs, err := CheckLevel0(synthELF(), nil)
	if err != nil {
		t.Fatal(err)
	}
	bad := synPkg + "bad"
	want := []Violation{
		{bad, 0, synLoad + synBadOff, "runtime.morestack_noctxt.abi0", "stack growth"},
		{bad, 5, synLoad + synBadOff + 5, "runtime.gcWriteBarrier2", "write barrier"},
		{bad, 10, synLoad + synBadOff + 10, "runtime.newobject", "allocation"},
		{bad, 15, synLoad + synBadOff + 15, "runtime.panicIndex", "panic"},
	}
	if !equal(vs, want) {
		t.Errorf("violations\n got %v\nwant %v", vs, want)
	}
	if s := want[0].String(); s != "github.com/gosv/gosv/kernel/machine.bad+0x0 (0x400000200190): calls runtime.morestack_noctxt.abi0 (stack growth)" {
		t.Errorf("String() = %q", s)
	}
	for _, in := range [][]byte{nil, synthELF()[:100]} {
		if _, err := CheckLevel0(in, nil); err == nil || !strings.HasPrefix(err.Error(), "kernel ELF: ") {
			t.Errorf("CheckLevel0(%d bytes): %v", len(in), err)
		}
	}
}

func TestForbiddenReason(t *testing.T) {
	for name, want := range map[string]string{
		"runtime.morestack":                           "stack growth",
		"runtime.morestack_noctxt.abi0":               "stack growth",
		"runtime.gcWriteBarrier1":                     "write barrier",
		"runtime.mallocgcSmallNoscan":                 "allocation",
		"runtime.newobject":                           "allocation",
		"runtime.growslice":                           "allocation",
		"runtime.panicBounds":                         "panic",
		"runtime.gopanic":                             "panic",
		"runtime.newobjectx":                          "",
		"runtime.memmove":                             "",
		"runtime.nanotime1":                           "",
		"github.com/gosv/gosv/kernel/machine.panicky": "",
	} {
		if got := forbiddenReason(name); got != want {
			t.Errorf("forbiddenReason(%q) = %q, want %q", name, got, want)
		}
	}
}
