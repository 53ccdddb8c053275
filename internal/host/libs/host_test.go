package libs

import (
	"bytes"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Real programs of the host against ldd.
func TestHostProgramsMatchLdd(t *testing.T) {
	ran := 0
	for _, prog := range []string{"/usr/bin/hello", "/bin/ls", "/usr/bin/python3"} {
		if _, err := os.Stat(prog); err != nil {
			t.Logf("%s not installed", prog)
			continue
		}
		ran++
		t.Run(filepath.Base(prog), func(t *testing.T) {
			c := compareWithLdd(t, prog, Options{})
			if c.Interp == nil || c.Interp.Path != hostInterp {
				t.Errorf("interpreter %+v", c.Interp)
			}
			libc := objectByName(t, c, "libc.so.6")
			if libc.Source != SourceCache && libc.Source != SourceDefault {
				t.Errorf("libc.so.6 found through %s", libc.Source)
			}
			if c.NeedsCache() {
				t.Errorf("system libraries need the ld.so cache")
			}
			// With the cache off, the default directories give the same.
			nc, err := Resolve(prog, Options{NoCache: true})
			if err != nil {
				t.Fatal(err)
			}
			if formatMap(closureMap(nc)) != formatMap(closureMap(c)) {
				t.Errorf("without the cache:\n%swith:\n%s", formatMap(closureMap(nc)), formatMap(closureMap(c)))
			}
			checkEntries(t, c)
		})
	}
	if ran == 0 {
		t.Skip("no host program to compare")
	}
}

// Every dynamically linked glibc program in /usr/bin and /usr/sbin against
// ldd (skipped with -short).
func TestAllHostProgramsMatchLdd(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	needTool(t, "ldd")
	var progs []string
	for _, dir := range []string{"/usr/bin", "/usr/sbin"} {
		ents, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() || fi.Mode()&0o111 == 0 {
				continue
			}
			if interpOf(p) == hostInterp {
				progs = append(progs, p)
			}
		}
	}
	if len(progs) == 0 {
		t.Skip("no dynamically linked programs")
	}
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var mismatches []string
	for _, p := range progs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			msg := compareQuiet(p)
			if msg != "" {
				mu.Lock()
				mismatches = append(mismatches, msg)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Strings(mismatches)
	for _, m := range mismatches {
		t.Error(m)
	}
	t.Logf("%d programs compared, %d mismatches", len(progs), len(mismatches))
}

func interpOf(path string) string {
	f, err := elf.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return ""
			}
			return string(bytes.TrimRight(b, "\x00"))
		}
	}
	return ""
}

// compareQuiet is compareWithLdd without a *testing.T, for the sweep; it
// returns "" when Resolve agrees with ldd (or both fail). ldd runs on the
// real path: ld.so started as a command takes $ORIGIN from the path it is
// given, while the kernel's exec gives it the real path (/proc/self/exe),
// which is what Resolve uses (/usr/bin/java -> /etc/alternatives/java ->
// /usr/lib/jvm/.../bin/java has DT_RPATH $ORIGIN/../lib).
func compareQuiet(prog string) string {
	real, err := filepath.EvalSymlinks(prog)
	if err != nil {
		return prog + ": " + err.Error()
	}
	out, _ := exec.Command("ldd", real).CombinedOutput()
	want := map[string]string{}
	missing := false
	for _, line := range strings.Split(string(out), "\n") {
		if m := lddArrow.FindStringSubmatch(line); m != nil {
			if m[2] == "not found" {
				missing = true
			} else {
				want[m[1]] = m[2]
			}
		} else if m := lddPlain.FindStringSubmatch(line); m != nil && !strings.HasPrefix(m[1], "linux-vdso") {
			want[m[1]] = m[1]
		}
	}
	c, err := Resolve(prog, Options{})
	switch {
	case err != nil && missing:
		return ""
	case err != nil:
		return prog + ": " + err.Error()
	case missing:
		return prog + ": Resolve succeeded, ldd reports a missing library"
	}
	if got := formatMap(closureMap(c)); got != formatMap(want) {
		return prog + ": differs from ldd\ngot:\n" + got + "want:\n" + formatMap(want)
	}
	return ""
}

// The cache parser against `ldconfig -p` on the host's cache.
func TestHostCacheMatchesLdconfig(t *testing.T) {
	if _, err := os.Stat(DefaultCache); err != nil {
		t.Skip("no ld.so cache")
	}
	compareCacheWithLdconfig(t, DefaultCache)
}

func compareCacheWithLdconfig(t *testing.T, path string) *Cache {
	t.Helper()
	needTool(t, "ldconfig")
	c, err := ReadCache(path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ldconfig", "-p", "-C", path).Output()
	if err != nil {
		t.Skipf("ldconfig -p -C %s: %v", path, err)
	}
	var want, got []string
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "\t") {
			continue
		}
		// "\tname (libc6,x86-64[, hwcap: ...]) => path"
		name, rest, _ := strings.Cut(strings.TrimPrefix(line, "\t"), " (")
		desc, p, _ := strings.Cut(rest, ") => ")
		if strings.HasPrefix(desc, "libc6,x86-64") {
			hw := ""
			if _, h, ok := strings.Cut(desc, "hwcap: "); ok {
				hw = " " + strings.Trim(h, `"`)
			}
			want = append(want, name+hw+" => "+p)
		}
	}
	for _, e := range c.Entries {
		if e.Flags != CacheFlagsX86_64 {
			continue
		}
		hw := ""
		switch {
		case e.HWCapsSubdir != "":
			hw = " " + e.HWCapsSubdir
		case e.HWCap != 0:
			hw = " " + "0x" + strings.TrimLeft(strings.ToLower(hex16(e.HWCap)), "0")
		}
		got = append(got, e.Name+hw+" => "+e.Path)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("cache %s: parsed %d x86-64 entries, ldconfig -p lists %d\nfirst parsed: %v\nfirst listed: %v",
			path, len(got), len(want), head(got), head(want))
	}
	if len(got) == 0 {
		t.Errorf("cache %s: no x86-64 entries", path)
	}
	return c
}

func hex16(v uint64) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 16)
	for i := 15; i >= 0; i-- {
		b[i] = digits[v&15]
		v >>= 4
	}
	return string(b)
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

// A cache written by the host's ldconfig for a fixture directory with a
// glibc-hwcaps and a tls subdirectory, in the new and the compat format.
func TestFixtureCache(t *testing.T) {
	needTool(t, "ldconfig")
	root := tempDir(t)
	dir := root + "/cdir"
	mkdirs(t, dir+"/glibc-hwcaps/x86-64-v3", root+"/bin")
	writeFile(t, root+"/ct.c", "int ct(void) { return 0; }\n")
	writeFile(t, root+"/prog.c", "int ct(void); int main(void) { return ct(); }\n")
	gcc(t, root, "-shared", "-fPIC", "-Wl,-soname,libcachetest.so.1", "-o", dir+"/libcachetest.so.1", "ct.c")
	gcc(t, root, "-shared", "-fPIC", "-Wl,-soname,libcachetest.so.1", "-o", dir+"/glibc-hwcaps/x86-64-v3/libcachetest.so.1", "ct.c")
	prog := root + "/bin/prog"
	gcc(t, root, "-o", prog, "prog.c", dir+"/libcachetest.so.1")
	writeFile(t, root+"/ld.so.conf", dir+"\n")

	for _, format := range []string{"new", "compat"} {
		t.Run(format, func(t *testing.T) {
			cache := root + "/ld.so.cache." + format
			out, err := exec.Command("ldconfig", "-X", "-c", format, "-f", root+"/ld.so.conf", "-C", cache).CombinedOutput()
			if err != nil {
				t.Skipf("ldconfig: %v\n%s", err, out)
			}
			c := compareCacheWithLdconfig(t, cache)
			base := dir + "/libcachetest.so.1"
			if got := c.Lookup("libcachetest.so.1", nil); got != base {
				t.Errorf("Lookup without hwcaps = %q, want %q", got, base)
			}
			hw := dir + "/glibc-hwcaps/x86-64-v3/libcachetest.so.1"
			if format == "compat" {
				hw = base // the compat format has no glibc-hwcaps entries
			}
			if got := c.Lookup("libcachetest.so.1", X86_64HWCaps); got != hw {
				t.Errorf("Lookup with hwcaps = %q, want %q", got, hw)
			}
			if got := c.Lookup("libcachetest.so.1", []string{"x86-64-v2"}); got != base {
				t.Errorf("Lookup with x86-64-v2 only = %q, want %q", got, base)
			}
			if got := c.Lookup("libnosuch.so.9", nil); got != "" {
				t.Errorf("Lookup of a missing name = %q", got)
			}

			cl, err := Resolve(prog, Options{Cache: cache})
			if err != nil {
				t.Fatal(err)
			}
			if o := objectByName(t, cl, "libcachetest.so.1"); o.Source != SourceCache || o.Path != base || !o.NeedsCache {
				t.Errorf("libcachetest.so.1: %s %s NeedsCache %v", o.Source, o.Path, o.NeedsCache)
			}
			if !cl.NeedsCache() {
				t.Errorf("closure does not need the cache")
			}
			// With the fixture directory as a default directory, the cache
			// is not needed in the guest.
			cl, err = Resolve(prog, Options{Cache: cache, DefaultDirs: append([]string{dir}, DefaultDirs...)})
			if err != nil {
				t.Fatal(err)
			}
			if cl.NeedsCache() {
				t.Errorf("closure needs the cache with %s a default directory", dir)
			}
			if _, err := Resolve(prog, Options{Cache: cache, NoCache: true}); err == nil {
				t.Errorf("found without the cache")
			}
		})
	}
}

// Hand-made caches: the old format alone, and broken files.
func TestParseCacheSynthetic(t *testing.T) {
	le := func(b []byte, v uint32) []byte { return append(b, byte(v), byte(v>>8), byte(v>>16), byte(v>>24)) }
	// Old format: magic (padded to 12), nlibs, entries, strings.
	strs := "libold.so.1\x00/old/libold.so.1\x00libi386.so.1\x00/x/libi386.so.1\x00"
	b := append([]byte(cacheMagicOld), 0)
	b = le(b, 2)
	b = le(le(le(b, CacheFlagsX86_64), 0), 12)
	b = le(le(le(b, 0x0003), 28), 41) // a libc6 (i386) entry
	b = append(b, strs...)
	c, err := ParseCache(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Entries) != 2 || c.Lookup("libold.so.1", nil) != "/old/libold.so.1" {
		t.Errorf("old format: %+v", c.Entries)
	}
	if got := c.Lookup("libi386.so.1", nil); got != "" {
		t.Errorf("an i386 entry was used: %q", got)
	}
	for name, data := range map[string][]byte{
		"empty":     nil,
		"magic":     []byte("not a cache at all, really not"),
		"truncated": []byte(cacheMagicNew + "\x05\x00\x00\x00"),
		"count":     append(append([]byte(cacheMagicOld), 0), 0xff, 0xff, 0, 0),
		"string":    le(le(le(le(append([]byte(cacheMagicOld), 0), 1), CacheFlagsX86_64), 1000), 0),
	} {
		if _, err := ParseCache(data); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	// A missing cache is ignored by Resolve, as by ld.so.
	if _, err := ReadCache("/nonexistent/ld.so.cache"); err == nil {
		t.Errorf("ReadCache of a missing file succeeded")
	}
}
