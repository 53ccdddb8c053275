package elf

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// decodedStack is an initial process stack read back from its bytes.
type decodedStack struct {
	argc               uint64
	argv, envp         []string
	argvAddr, envpAddr []uint64
	auxv               []Aux // without the final AT_NULL
	tableEnd           uint64
}

// decodeStack parses image = [sp, top) the way a libc's start code does.
func decodeStack(t *testing.T, sp, top uint64, image []byte) decodedStack {
	t.Helper()
	if uint64(len(image)) != top-sp {
		t.Fatalf("image is %d bytes, [sp, top) is %d", len(image), top-sp)
	}
	word := func(addr uint64) uint64 {
		if addr < sp || addr+8 > top {
			t.Fatalf("word at %#x outside [%#x, %#x)", addr, sp, top)
		}
		return binary.LittleEndian.Uint64(image[addr-sp:])
	}
	str := func(addr uint64) string {
		if addr < sp || addr >= top {
			t.Fatalf("string at %#x outside [%#x, %#x)", addr, sp, top)
		}
		b := image[addr-sp:]
		n := bytes.IndexByte(b, 0)
		if n < 0 {
			t.Fatalf("string at %#x not NUL-terminated", addr)
		}
		return string(b[:n])
	}
	var d decodedStack
	a := sp
	d.argc = word(a)
	a += 8
	for i := uint64(0); i < d.argc; i++ {
		p := word(a)
		d.argvAddr = append(d.argvAddr, p)
		d.argv = append(d.argv, str(p))
		a += 8
	}
	if word(a) != 0 {
		t.Fatalf("argv not NULL-terminated")
	}
	a += 8
	for word(a) != 0 {
		p := word(a)
		d.envpAddr = append(d.envpAddr, p)
		d.envp = append(d.envp, str(p))
		a += 8
	}
	a += 8
	for {
		typ, val := word(a), word(a+8)
		a += 16
		if typ == AT_NULL {
			break
		}
		d.auxv = append(d.auxv, Aux{typ, val})
	}
	d.tableEnd = a
	return d
}

func auxTypes(aux []Aux) []uint64 {
	var ts []uint64
	for _, a := range aux {
		ts = append(ts, a.Type)
	}
	return ts
}

func auxVal(aux []Aux, typ uint64) (uint64, bool) {
	for _, a := range aux {
		if a.Type == typ {
			return a.Val, true
		}
	}
	return 0, false
}

// checkStack verifies everything BuildStack promises about its output.
func checkStack(t *testing.T, top uint64, argv, envp []string, auxIn []Aux, execfn, platform string, random [16]byte) decodedStack {
	t.Helper()
	sp, image, err := BuildStack(top, argv, envp, auxIn, execfn, platform, random)
	if err != nil {
		t.Fatal(err)
	}
	if sp%16 != 0 {
		t.Errorf("sp %#x not 16-byte aligned", sp)
	}
	d := decodeStack(t, sp, top, image)
	if d.argc != uint64(len(argv)) || !slices.Equal(d.argv, argv) && len(argv) > 0 {
		t.Errorf("argc %d argv %q, want %q", d.argc, d.argv, argv)
	}
	if !slices.Equal(d.envp, envp) && len(envp) > 0 || len(d.envp) != len(envp) {
		t.Errorf("envp %q, want %q", d.envp, envp)
	}
	// The auxv: input entries in order, with the three BuildStack owns
	// filled in (and appended if missing), AT_PLATFORM dropped when there is
	// no platform.
	var want []uint64
	for _, a := range auxIn {
		if a.Type == AT_NULL {
			break
		}
		if a.Type == AT_PLATFORM && platform == "" {
			continue
		}
		want = append(want, a.Type)
	}
	for _, typ := range []uint64{AT_RANDOM, AT_EXECFN, AT_PLATFORM} {
		if !slices.Contains(want, typ) && (typ != AT_PLATFORM || platform != "") {
			want = append(want, typ)
		}
	}
	if got := auxTypes(d.auxv); !slices.Equal(got, want) {
		t.Errorf("auxv types %v, want %v", got, want)
	}
	for _, a := range auxIn {
		if a.Type == AT_RANDOM || a.Type == AT_EXECFN || a.Type == AT_PLATFORM || a.Type == AT_NULL {
			continue
		}
		if v, _ := auxVal(d.auxv, a.Type); v != a.Val {
			t.Errorf("auxv type %d = %#x, want %#x", a.Type, v, a.Val)
		}
	}
	randAddr, _ := auxVal(d.auxv, AT_RANDOM)
	if randAddr < d.tableEnd || randAddr+16 > top || !bytes.Equal(image[randAddr-sp:][:16], random[:]) {
		t.Errorf("AT_RANDOM %#x: bytes %x, want %x", randAddr, image[randAddr-sp:][:16], random)
	}
	execAddr, _ := auxVal(d.auxv, AT_EXECFN)
	if got := string(image[execAddr-sp : top-sp-9]); got != execfn {
		t.Errorf("AT_EXECFN string %q, want %q ending 9 bytes below top", got, execfn)
	}
	if !bytes.Equal(image[top-sp-9:], make([]byte, 9)) {
		t.Errorf("top 9 bytes %x, want NUL + 8 zero bytes", image[top-sp-9:])
	}
	if platform != "" {
		pa, _ := auxVal(d.auxv, AT_PLATFORM)
		if pa < randAddr+16 || pa >= top || !bytes.HasPrefix(image[pa-sp:], append([]byte(platform), 0)) {
			t.Errorf("AT_PLATFORM %#x wrong", pa)
		}
		if len(d.argvAddr) > 0 && pa+uint64(len(platform))+1 > d.argvAddr[0] {
			t.Errorf("platform string overlaps argv strings")
		}
	}
	// Strings: argv then envp then execfn, contiguous, ascending.
	next := uint64(0)
	for i, a := range append(append([]uint64{}, d.argvAddr...), d.envpAddr...) {
		if i > 0 && a != next {
			t.Errorf("string %d at %#x, want %#x (contiguous)", i, a, next)
		}
		s := append(append([]string{}, d.argv...), d.envp...)[i]
		next = a + uint64(len(s)) + 1
	}
	if next != 0 && next != execAddr {
		t.Errorf("strings end at %#x, execfn at %#x", next, execAddr)
	}
	if len(d.argvAddr) > 0 && d.argvAddr[0] < randAddr+16 {
		t.Errorf("argv strings below the random bytes")
	}
	// No wasted space: the table ends less than 16 bytes below the random
	// bytes' 16-aligned block.
	if randAddr-d.tableEnd >= 16 {
		t.Errorf("%d bytes of padding between auxv and random bytes", randAddr-d.tableEnd)
	}
	return d
}

func TestBuildStack(t *testing.T) {
	img := &Image{Entry: 0x401000, PHdrAddr: 0x400040, PHEnt: 56, PHNum: 9}
	std := Auxv(img, 0x3f0000000000, 0x178bfbff, 2)
	random := [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}
	tests := []struct {
		name     string
		argv     []string
		envp     []string
		aux      []Aux
		execfn   string
		platform string
	}{
		{"no args", nil, nil, std, "/prog", "x86_64"},
		{"one arg", []string{"/bin/prog"}, nil, std, "/bin/prog", "x86_64"},
		{"args and env", []string{"prog", "-v", "", "arg with spaces"}, []string{"HOME=/", "PATH=/bin:/usr/bin", "E="}, std, "/usr/bin/prog", "x86_64"},
		{"odd sizes", []string{"a", "bb", "ccc"}, []string{"d"}, std, "/x", "x86_64"},
		{"even sizes", []string{"a", "bb"}, []string{"d", "ee"}, std, "", "x86_64"},
		{"unicode", []string{"prög", "日本語"}, []string{"LANG=ü"}, std, "/prög", "x86_64"},
		{"no platform", []string{"p"}, []string{"A=1"}, std, "/p", ""},
		{"bare auxv", []string{"p"}, []string{"A=1"}, nil, "/p", "x86_64"},
		{"bare auxv no platform", []string{"p"}, nil, nil, "/p", ""},
		{"auxv with AT_NULL", []string{"p"}, nil, append(Auxv(img, 0, 1, 0), Aux{AT_NULL, 0}), "/p", "x86_64"},
		{"long", []string{strings.Repeat("a", 5000), strings.Repeat("b", 3)}, []string{strings.Repeat("C", 70000)}, std, "/long", "x86_64"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, top := range []uint64{0x7fff_0000_0000, 0x3ff0_0000_1230} {
				checkStack(t, top, tc.argv, tc.envp, tc.aux, tc.execfn, tc.platform, random)
			}
		})
	}
	// Every argv/envp length combination up to 16 bytes keeps sp aligned.
	for n := 0; n < 6; n++ {
		for l := 0; l < 17; l++ {
			argv := make([]string, n)
			for i := range argv {
				argv[i] = strings.Repeat("x", l+i)
			}
			checkStack(t, 0x10000000, argv, argv[:n/2], std, strings.Repeat("e", l), "x86_64", random)
		}
	}
}

func TestBuildStackErrors(t *testing.T) {
	var r [16]byte
	for _, tc := range []struct {
		name   string
		top    uint64
		argv   []string
		envp   []string
		aux    []Aux
		execfn string
		want   string
	}{
		{"unaligned top", 0x1008, nil, nil, nil, "/p", "stack top 0x1008 is not 16-byte aligned"},
		{"NUL in argv", 0x100000, []string{"a", "b\x00c"}, nil, nil, "/p", "argv[1] contains a NUL byte"},
		{"NUL in envp", 0x100000, nil, []string{"A=\x00"}, nil, "/p", "envp[0] contains a NUL byte"},
		{"NUL in execfn", 0x100000, nil, nil, nil, "/p\x00", "execfn contains a NUL byte"},
		{"too long", 0x1000000, []string{strings.Repeat("x", MaxArgStrLen)}, nil, nil, "/p", "argv[0] is 131073 bytes long, more than 131072"},
		{"AT_NULL inside", 0x100000, nil, nil, []Aux{{AT_PAGESZ, 4096}, {AT_NULL, 0}, {AT_ENTRY, 1}}, "/p", "auxv[1] is AT_NULL before the end of the vector"},
		{"top too low", 0x100, []string{strings.Repeat("x", 300)}, nil, nil, "/p", "stack top too low for the arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := BuildStack(tc.top, tc.argv, tc.envp, tc.aux, tc.execfn, "x86_64", r)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

// nativeStack is what the auxdump program reports about the stack Linux
// gave it.
type nativeStack struct {
	argc       int
	spmod16    int
	argv, envp []string
	argvOff    []int64 // string address minus argv[0]'s
	envpOff    []int64
	auxv       []Aux
	execfn     string
	execfnOff  int64
	platform   string
	topOff     int64 // end of [stack] minus argv[0]; -1 if unknown
}

func parseNative(t *testing.T, out string) nativeStack {
	t.Helper()
	n := nativeStack{topOff: -1}
	atoi := func(s string) int64 {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("bad number %q in %q", s, out)
		}
		return v
	}
	for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		f := strings.SplitN(line, " ", 3)
		switch f[0] {
		case "argc":
			n.argc = int(atoi(f[1]))
		case "spmod16":
			n.spmod16 = int(atoi(f[1]))
		case "argv":
			n.argvOff = append(n.argvOff, atoi(f[1]))
			n.argv = append(n.argv, f[2])
		case "envp":
			n.envpOff = append(n.envpOff, atoi(f[1]))
			n.envp = append(n.envp, f[2])
		case "auxv":
			typ, _ := strconv.ParseUint(f[1], 10, 64)
			val, _ := strconv.ParseUint(f[2], 10, 64)
			n.auxv = append(n.auxv, Aux{typ, val})
		case "execfn":
			n.execfnOff = atoi(f[1])
			n.execfn = f[2]
		case "platform":
			n.platform = f[1]
		case "topoff":
			n.topOff = atoi(f[1])
		default:
			t.Fatalf("unexpected line %q", line)
		}
	}
	return n
}

// TestStackMatchesLinux runs a static program natively and compares the
// stack Linux built for it with the one Load+Auxv+BuildStack build for the
// same file and arguments: argc/argv/envp, the relative placement of the
// strings, and the auxv entries we produce (same order as Linux's, same
// values where they must agree).
func TestStackMatchesLinux(t *testing.T) {
	for _, name := range []string{"auxdump-gcc", "auxdump-musl"} {
		t.Run(name, func(t *testing.T) {
			path := testBinary(t, name)
			argv := []string{"auxdump-argv0", "one", "", "three with spaces", "ünïcödé", strings.Repeat("z", 29)}
			envp := []string{"A=1", "LONGER_VARIABLE=" + strings.Repeat("x", 37), "EMPTY="}
			cmd := exec.Command(path)
			cmd.Args = argv
			cmd.Env = envp
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("running %s natively: %v", path, err)
			}
			nat := parseNative(t, string(out))
			t.Logf("native auxv types: %v", auxTypes(nat.auxv))

			file, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			mem := newFakeMemory()
			img, err := Load(mem, bytes.NewReader(file), int64(len(file)), 0)
			if err != nil {
				t.Fatal(err)
			}
			hwcap, _ := auxVal(nat.auxv, AT_HWCAP)
			hwcap2, _ := auxVal(nat.auxv, AT_HWCAP2)
			var random [16]byte
			copy(random[:], "0123456789abcdef")
			const top = 0x3ff0_0000_0000
			sp, image, err := BuildStack(top, argv, envp, Auxv(img, 0, hwcap, hwcap2), path, Platform, random)
			if err != nil {
				t.Fatal(err)
			}
			ours := decodeStack(t, sp, top, image)

			if nat.argc != int(ours.argc) || !slices.Equal(nat.argv, ours.argv) || !slices.Equal(nat.envp, ours.envp) {
				t.Errorf("native argc %d argv %q envp %q\nours   argc %d argv %q envp %q",
					nat.argc, nat.argv, nat.envp, ours.argc, ours.argv, ours.envp)
			}
			if nat.spmod16 != 0 || sp%16 != 0 {
				t.Errorf("sp alignment: native %d, ours %d", nat.spmod16, sp%16)
			}
			// String placement relative to argv[0].
			base := ours.argvAddr[0]
			var argvOff, envpOff []int64
			for _, a := range ours.argvAddr {
				argvOff = append(argvOff, int64(a-base))
			}
			for _, a := range ours.envpAddr {
				envpOff = append(envpOff, int64(a-base))
			}
			if !slices.Equal(argvOff, nat.argvOff) || !slices.Equal(envpOff, nat.envpOff) {
				t.Errorf("string offsets: native argv %v envp %v, ours argv %v envp %v", nat.argvOff, nat.envpOff, argvOff, envpOff)
			}
			execAddr, _ := auxVal(ours.auxv, AT_EXECFN)
			if int64(execAddr-base) != nat.execfnOff || nat.execfn != path {
				t.Errorf("execfn: native %q at %d, ours %q at %d", nat.execfn, nat.execfnOff, path, int64(execAddr-base))
			}
			if nat.topOff >= 0 && int64(top-base) != nat.topOff {
				t.Errorf("stack top - argv[0]: native %d, ours %d", nat.topOff, int64(top-base))
			} else if nat.topOff < 0 {
				t.Logf("no [stack] in /proc/self/maps; top offset not compared")
			}
			if nat.platform != Platform {
				t.Errorf("native platform %q, ours %q", nat.platform, Platform)
			}

			// auxv: Linux's entries restricted to the types we produce, in
			// Linux's order, must be exactly ours.
			ourTypes := auxTypes(ours.auxv)
			var natTypes []uint64
			for _, a := range nat.auxv {
				if slices.Contains(ourTypes, a.Type) {
					natTypes = append(natTypes, a.Type)
				}
			}
			if !slices.Equal(natTypes, ourTypes) {
				t.Errorf("auxv order\nnative %v\nours   %v", natTypes, ourTypes)
			}
			for _, typ := range []uint64{AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY,
				AT_CLKTCK, AT_HWCAP, AT_HWCAP2, AT_SECURE} {
				nv, ok1 := auxVal(nat.auxv, typ)
				ov, ok2 := auxVal(ours.auxv, typ)
				if !ok1 || !ok2 || nv != ov {
					t.Errorf("auxv type %d: native %#x (%v), ours %#x (%v)", typ, nv, ok1, ov, ok2)
				}
			}
		})
	}
}
