package machine

import (
	"os"
	"regexp"
	"testing"
	"unsafe"
)

// The trap frame layout is written twice: as the frame struct and as
// offsets in trap_amd64.s. AppContext copies the frame's register block.
func TestFrameLayout(t *testing.T) {
	var f frame
	for _, c := range []struct {
		name string
		got  uintptr
		want uintptr
	}{
		{"fpu", unsafe.Offsetof(f.fpu), 0},
		{"fs", unsafe.Offsetof(f.fs), 8},
		{"r15", unsafe.Offsetof(f.r15), 16},
		{"rax", unsafe.Offsetof(f.rax), 128},
		{"vector", unsafe.Offsetof(f.vector), 136},
		{"err", unsafe.Offsetof(f.err), 144},
		{"rip", unsafe.Offsetof(f.rip), 152},
		{"cs", unsafe.Offsetof(f.cs), 160},
		{"rflags", unsafe.Offsetof(f.rflags), 168},
		{"rsp", unsafe.Offsetof(f.rsp), 176},
		{"ss", unsafe.Offsetof(f.ss), 184},
		{"size", unsafe.Sizeof(f), frameWords * 8},
	} {
		if c.got != c.want {
			t.Errorf("frame.%s at %d, want %d", c.name, c.got, c.want)
		}
	}
	if (unsafe.Offsetof(f.ss)-unsafe.Offsetof(f.r15))/8+1 != ctxWords {
		t.Errorf("ctxWords = %d does not cover r15..ss", ctxWords)
	}
	var a AppContext
	if unsafe.Offsetof(a.RAX)-unsafe.Offsetof(a.R15) != unsafe.Offsetof(f.rax)-unsafe.Offsetof(f.r15) {
		t.Error("AppContext register block differs from frame's")
	}
	// The asm saves rax at 128(SP) and reads cs at 160(BX).
	src, err := os.ReadFile("trap_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	for _, re := range []string{`MOVQ AX, 128\(SP\)`, `TESTQ\s+\$3, 160\(BX\)`, `MOVQ R15, 16\(SP\)`} {
		if !regexp.MustCompile(re).Match(src) {
			t.Errorf("trap_amd64.s lacks %s", re)
		}
	}
}

// The 32-bit stub keeps its own copies of the physical layout.
func TestBootLayout(t *testing.T) {
	src, err := os.ReadFile("boot_amd64.s")
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]uint64{"PML4": bootPML4Phys, "PDPT_ID": bootPDPTIdent, "PDPT_DM": bootPDPTDirect, "PD0": bootPD0, "GDT32": bootGDTPhys, "STACK_TOP": bootStackTop, "DMAP": DirectMapBase} {
		re := regexp.MustCompile(`#define ` + name + `\s+0x([0-9a-fA-F]+)`)
		m := re.FindSubmatch(src)
		if m == nil {
			t.Errorf("boot_amd64.s does not define %s", name)
			continue
		}
		var got uint64
		for _, c := range string(m[1]) {
			got = got*16 + uint64(hexval(c))
		}
		if got != v {
			t.Errorf("boot_amd64.s %s = %#x, layout.go says %#x", name, got, v)
		}
	}
}

func hexval(c rune) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}
