package vdso

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite vdso.so from vdso.c")

// TestImageUpToDate rebuilds the vDSO with gcc and checks that the
// committed vdso.so is the same (-update rewrites it).
func TestImageUpToDate(t *testing.T) {
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("no gcc")
	}
	dir := t.TempDir()
	for _, f := range []string{"vdso.c", "vdso.lds"} {
		b, err := os.ReadFile(filepath.Join("src", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("gcc", GCCArgs...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	built, err := os.ReadFile(filepath.Join(dir, "vdso.so"))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("vdso.so", built, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(built, image) {
		t.Fatalf("vdso.so is stale (%d bytes, rebuilt %d): run go generate ./kernel/vdso", len(image), len(built))
	}
}

// TestExports checks the symbols and versions that glibc, musl and Go look
// up, and that the image is one read+execute segment at address 0 without
// relocations.
func TestExports(t *testing.T) {
	f, err := elf.NewFile(bytes.NewReader(image))
	if err != nil {
		t.Fatal(err)
	}
	if f.Type != elf.ET_DYN || f.Machine != elf.EM_X86_64 {
		t.Fatalf("type %v machine %v", f.Type, f.Machine)
	}
	loads := 0
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			loads++
			if p.Vaddr != 0 || p.Off != 0 || p.Flags != elf.PF_R|elf.PF_X || p.Memsz != p.Filesz {
				t.Errorf("PT_LOAD %+v", p.ProgHeader)
			}
		}
	}
	if loads != 1 {
		t.Errorf("%d PT_LOAD segments, want 1", loads)
	}
	syms, err := f.DynamicSymbols()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC {
			got[s.Name] = s.Version
		}
	}
	for _, name := range []string{"__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time", "__vdso_getcpu", "__vdso_clock_getres"} {
		if v, ok := got[name]; !ok || v != "LINUX_2.6" {
			t.Errorf("%s: version %q (present %v), want LINUX_2.6", name, v, ok)
		}
	}
	for _, tag := range []elf.DynTag{elf.DT_HASH, elf.DT_GNU_HASH, elf.DT_VERDEF, elf.DT_VERSYM} {
		if v, _ := f.DynValue(tag); len(v) == 0 {
			t.Errorf("no %v", tag)
		}
	}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_RELA || s.Type == elf.SHT_REL {
			t.Errorf("relocation section %s", s.Name)
		}
	}
}

func TestImagePatch(t *testing.T) {
	p := Params{BootTSC: 0x1122334455667788, Mult: 0x1_0000_0000, WallBootNs: -5, RDTSCP: true}
	b, err := Image(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != Size() || vvarOffset%64 != 0 {
		t.Fatalf("len %d offset %d", len(b), vvarOffset)
	}
	v := b[vvarOffset:]
	le := binary.LittleEndian
	if le.Uint64(v[8:]) != p.BootTSC || le.Uint64(v[16:]) != p.Mult || int64(le.Uint64(v[24:])) != p.WallBootNs || le.Uint64(v[32:]) != 1 {
		t.Errorf("patched vvar % x", v[:40])
	}
	if !bytes.Equal(b[:vvarOffset], image[:vvarOffset]) || !bytes.Equal(b[vvarOffset+40:], image[vvarOffset+40:]) {
		t.Error("bytes outside vvar changed")
	}
	if bytes.Contains(b, magic) == false {
		t.Error("magic overwritten")
	}
}
