package libs

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gosv/gosv/internal/host/initrd"
)

// Fixture tree for the RPATH/RUNPATH test (T is a temporary directory):
//
//	T/app/bin/prog          DT_RPATH $ORIGIN/../rlib; needs libr.so, libq.so
//	T/app/rlib/libr.so      DT_RUNPATH $ORIGIN/../lib; needs libx.so.1
//	T/app/rlib/libq.so      no search path; needs libdeep.so
//	T/app/rlib/libdeep.so   found through the RPATH of prog (inherited)
//	T/app/lib/libx.so.1 -> libx.so.1.2.3 (DT_SONAME libx.so.1)
func buildApp(t *testing.T) (root, prog string) {
	root = tempDir(t)
	src := filepath.Join(root, "src")
	app := filepath.Join(root, "app")
	mkdirs(t, src, app+"/bin", app+"/rlib", app+"/lib")
	writeFile(t, src+"/x.c", "int x(void) { return 1; }\n")
	writeFile(t, src+"/deep.c", "int deep(void) { return 2; }\n")
	writeFile(t, src+"/r.c", "int x(void); int r(void) { return x() + 1; }\n")
	writeFile(t, src+"/q.c", "int deep(void); int q(void) { return deep() + 1; }\n")
	writeFile(t, src+"/prog.c", "int r(void); int q(void); int main(void) { return r() + q() - 5; }\n")
	gcc(t, src, "-shared", "-fPIC", "-Wl,-soname,libx.so.1", "-o", app+"/lib/libx.so.1.2.3", "x.c")
	if err := os.Symlink("libx.so.1.2.3", app+"/lib/libx.so.1"); err != nil {
		t.Fatal(err)
	}
	gcc(t, src, "-shared", "-fPIC", soname(app+"/rlib/libdeep.so"), "-o", app+"/rlib/libdeep.so", "deep.c")
	gcc(t, src, "-shared", "-fPIC", soname(app+"/rlib/libr.so"), "-o", app+"/rlib/libr.so", "r.c",
		app+"/lib/libx.so.1", "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../lib")
	gcc(t, src, "-shared", "-fPIC", soname(app+"/rlib/libq.so"), "-o", app+"/rlib/libq.so", "q.c", app+"/rlib/libdeep.so")
	prog = app + "/bin/prog"
	gcc(t, src, "-o", prog, "prog.c", "-L"+app+"/rlib", "-lr", "-lq",
		"-Wl,-rpath-link,"+app+"/lib", "-Wl,--disable-new-dtags,-rpath,$ORIGIN/../rlib")
	return root, prog
}

// soname gives the linker flag that sets DT_SONAME to the file's name, so
// that users record that name in DT_NEEDED (not the path they linked).
func soname(path string) string { return "-Wl,-soname," + filepath.Base(path) }

func objectByName(t *testing.T, c *Closure, name string) *Object {
	t.Helper()
	for _, o := range c.Objects {
		if o.hasName(name) {
			return o
		}
	}
	t.Fatalf("no object %q in closure %v", name, c.Paths())
	return nil
}

func TestRPathRunPathOrigin(t *testing.T) {
	root, prog := buildApp(t)
	c := compareWithLdd(t, prog, Options{})
	app := root + "/app"

	if c.Main.Path != prog || c.Main.Source != SourceMain {
		t.Errorf("Main = %q (%s)", c.Main.Path, c.Main.Source)
	}
	if c.Interp == nil || c.Interp.Path != hostInterp {
		t.Fatalf("Interp = %+v", c.Interp)
	}
	r := objectByName(t, c, "libr.so")
	if r.Source != SourceRPath || r.Path != app+"/bin/../rlib/libr.so" || r.RealPath != app+"/rlib/libr.so" {
		t.Errorf("libr.so: %s %s real %s", r.Source, r.Path, r.RealPath)
	}
	if r.RunPath != "$ORIGIN/../lib" || r.RPath != "" {
		t.Errorf("libr.so: RPATH %q RUNPATH %q", r.RPath, r.RunPath)
	}
	x := objectByName(t, c, "libx.so.1")
	if x.Source != SourceRunPath || x.Loader != r {
		t.Errorf("libx.so.1: source %s loader %v", x.Source, x.Loader)
	}
	if want := app + "/bin/../rlib/../lib/libx.so.1"; x.Path != want {
		t.Errorf("libx.so.1 path %q, want %q", x.Path, want)
	}
	if x.RealPath != app+"/lib/libx.so.1.2.3" || x.Soname != "libx.so.1" {
		t.Errorf("libx.so.1: real %q soname %q", x.RealPath, x.Soname)
	}
	wantLink := Symlink{Path: app + "/lib/libx.so.1", Target: "libx.so.1.2.3"}
	if !reflect.DeepEqual(x.Links, []Symlink{wantLink}) {
		t.Errorf("libx.so.1 links %v, want %v", x.Links, []Symlink{wantLink})
	}
	if !reflect.DeepEqual(x.Dirs, []string{app + "/bin", app + "/rlib"}) {
		t.Errorf("libx.so.1 dirs %v", x.Dirs)
	}
	deep := objectByName(t, c, "libdeep.so")
	if deep.Source != SourceRPath || deep.Loader != objectByName(t, c, "libq.so") {
		t.Errorf("libdeep.so: source %s loader %v (want RPATH inherited from prog)", deep.Source, deep.Loader)
	}
	// libc needs ld-linux-x86-64.so.2: met by the interpreter's soname.
	if !c.Interp.hasName("ld-linux-x86-64.so.2") {
		t.Errorf("interpreter names %v lack its soname", c.Interp.Names)
	}
	n := 0
	for _, o := range c.Objects {
		if o == c.Interp {
			n++
		}
	}
	if n != 1 {
		t.Errorf("interpreter %d times in %v", n, c.Paths())
	}

	// The entries make every Path resolvable inside an image.
	checkEntries(t, c)

	// Started through a symlink elsewhere, the program still finds its
	// libraries: the kernel gives ld.so the real path, and so does Resolve.
	link := root + "/prog-link"
	if err := os.Symlink(prog, link); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(link).CombinedOutput(); err != nil {
		t.Fatalf("running %s: %v\n%s", link, err, out)
	}
	lc, err := Resolve(link, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if formatMap(closureMap(lc)) != formatMap(closureMap(c)) {
		t.Errorf("through a symlink:\n%swant:\n%s", formatMap(closureMap(lc)), formatMap(closureMap(c)))
	}
	if lc.Main.Path != link || lc.Main.RealPath != prog || !reflect.DeepEqual(lc.Main.Links, []Symlink{{link, prog}}) {
		t.Errorf("Main through a symlink: %+v", lc.Main)
	}
	// With $ORIGIN taken from the link's directory (what `ldd link` does),
	// libr.so is not found.
	if _, err := Resolve(link, Options{Origin: root}); err == nil {
		t.Errorf("Origin option ignored")
	}
}

// checkEntries materializes the closure's entries in a fake root and checks
// that each object's Path resolves there (symlinks followed inside the
// root) to a file with the host contents; it also writes the entries with
// initrd.Write.
func checkEntries(t *testing.T, c *Closure) {
	t.Helper()
	entries := Entries(append([]*Object{c.Main}, c.Objects...)...)
	if err := initrd.Write(&bytes.Buffer{}, entries); err != nil {
		t.Fatalf("initrd.Write: %v", err)
	}
	fake := t.TempDir()
	for _, e := range entries {
		p := filepath.Join(fake, e.GuestPath)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case e.Dir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case e.Symlink != "":
			if err := os.Symlink(e.Symlink, p); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.WriteFile(p, []byte("host:"+e.HostPath), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, o := range append([]*Object{c.Main}, c.Objects...) {
		got, err := resolveIn(fake, o.Path)
		if err != nil {
			t.Errorf("%s does not resolve in the image: %v", o.Path, err)
			continue
		}
		b, err := os.ReadFile(got)
		if err != nil {
			t.Errorf("%s: %v", o.Path, err)
			continue
		}
		if string(b) != "host:"+o.RealPath {
			t.Errorf("%s resolves to %q in the image, want contents of %s", o.Path, b, o.RealPath)
		}
	}
}

// resolveIn resolves the absolute path p inside root as if root were "/":
// absolute symlink targets restart at root.
func resolveIn(root, p string) (string, error) {
	todo := splitPath(p)
	cur := "" // relative to root
	for n := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case ".":
			continue
		case "..":
			cur = filepath.Dir("/" + cur)[1:]
			continue
		}
		next := filepath.Join(cur, c)
		fi, err := os.Lstat(filepath.Join(root, next))
		if err != nil {
			return "", err
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			if n++; n > 40 {
				return "", errors.New("too many symlinks")
			}
			target, err := os.Readlink(filepath.Join(root, next))
			if err != nil {
				return "", err
			}
			if strings.HasPrefix(target, "/") {
				cur = ""
			}
			todo = append(splitPath(target), todo...)
			continue
		}
		cur = next
	}
	return filepath.Join(root, cur), nil
}

// A library with DT_RUNPATH makes ld.so ignore every DT_RPATH for its own
// needs, including the executable's; DT_RUNPATH is not inherited.
func TestRunPathBlocksRPath(t *testing.T) {
	root := tempDir(t)
	b := root + "/b"
	mkdirs(t, b+"/bin", b+"/rlib")
	writeFile(t, b+"/only.c", "int only(void) { return 0; }\n")
	writeFile(t, b+"/r2.c", "int only(void); int r2(void) { return only(); }\n")
	writeFile(t, b+"/prog.c", "int r2(void); int main(void) { return r2(); }\n")
	gcc(t, b, "-shared", "-fPIC", soname(b+"/rlib/libonly.so"), "-o", b+"/rlib/libonly.so", "only.c")
	gcc(t, b, "-shared", "-fPIC", soname(b+"/rlib/libr2.so"), "-o", b+"/rlib/libr2.so", "r2.c", b+"/rlib/libonly.so",
		"-Wl,--enable-new-dtags,-rpath,/nonexistent/dir")
	prog := b + "/bin/prog2"
	gcc(t, b, "-o", prog, "prog.c", "-L"+b+"/rlib", "-lr2", "-Wl,-rpath-link,"+b+"/rlib",
		"-Wl,--disable-new-dtags,-rpath,$ORIGIN/../rlib")

	ldd, raw := runLdd(t, prog)
	if !reflect.DeepEqual(ldd.notFound, []string{"libonly.so"}) {
		t.Fatalf("ldd does not report libonly.so missing:\n%s", raw)
	}
	_, err := Resolve(prog, Options{})
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("Resolve: %v, want a NotFoundError", err)
	}
	want := "libonly.so (needed by " + b + "/bin/../rlib/libr2.so): not found in RUNPATH [/nonexistent/dir], ld.so.cache or default directories"
	if err.Error() != want {
		t.Errorf("error\n%s\nwant\n%s", err, want)
	}

	// LD_LIBRARY_PATH comes before RUNPATH and finds it.
	c := compareWithLdd(t, prog, Options{LibraryPath: b + "/rlib"}, "LD_LIBRARY_PATH="+b+"/rlib")
	if o := objectByName(t, c, "libonly.so"); o.Source != SourceLibraryPath {
		t.Errorf("libonly.so found through %s, want LD_LIBRARY_PATH", o.Source)
	}
	// libr2.so itself: through the executable's RPATH even though
	// LD_LIBRARY_PATH also has it (RPATH comes first).
	if o := objectByName(t, c, "libr2.so"); o.Source != SourceRPath {
		t.Errorf("libr2.so found through %s, want RPATH", o.Source)
	}
}

func TestRunPathNotInherited(t *testing.T) {
	root := tempDir(t)
	d := root + "/d"
	mkdirs(t, d)
	writeFile(t, d+"/z2.c", "int z2(void) { return 0; }\n")
	writeFile(t, d+"/y.c", "int z2(void); int y(void) { return z2(); }\n")
	writeFile(t, d+"/prog.c", "int y(void); int main(void) { return y(); }\n")
	gcc(t, d, "-shared", "-fPIC", soname(d+"/libz2.so"), "-o", d+"/libz2.so", "z2.c")
	gcc(t, d, "-shared", "-fPIC", soname(d+"/liby.so"), "-o", d+"/liby.so", "y.c", d+"/libz2.so")
	prog := d + "/prog3"
	gcc(t, d, "-o", prog, "prog.c", d+"/liby.so", "-Wl,-rpath-link,"+d, "-Wl,--enable-new-dtags,-rpath,"+d)

	ldd, raw := runLdd(t, prog)
	if !reflect.DeepEqual(ldd.notFound, []string{"libz2.so"}) {
		t.Fatalf("ldd does not report libz2.so missing:\n%s", raw)
	}
	_, err := Resolve(prog, Options{})
	want := "libz2.so (needed by " + d + "/liby.so): not found in ld.so.cache or default directories"
	if err == nil || err.Error() != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
}

func TestMissingLibrary(t *testing.T) {
	root := tempDir(t)
	mkdirs(t, root+"/gone")
	writeFile(t, root+"/m.c", "int m(void) { return 0; }\n")
	writeFile(t, root+"/prog.c", "int m(void); int main(void) { return m(); }\n")
	gcc(t, root, "-shared", "-fPIC", "-Wl,-soname,libmissing.so.1", "-o", root+"/gone/libmissing.so", "m.c")
	prog := root + "/prog"
	gcc(t, root, "-o", prog, "prog.c", root+"/gone/libmissing.so")
	if err := os.RemoveAll(root + "/gone"); err != nil {
		t.Fatal(err)
	}
	_, err := Resolve(prog, Options{})
	want := "libmissing.so.1 (needed by " + prog + "): not found in ld.so.cache or default directories"
	if err == nil || err.Error() != want {
		t.Fatalf("error\n%v\nwant\n%s", err, want)
	}
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.Name != "libmissing.so.1" || nf.NeededBy != prog {
		t.Errorf("NotFoundError = %+v", nf)
	}
	_, err = Resolve(prog, Options{NoCache: true, LibraryPath: "/nonexistent/a:/nonexistent/b"})
	want = "libmissing.so.1 (needed by " + prog + "): not found in LD_LIBRARY_PATH [/nonexistent/a /nonexistent/b] or default directories"
	if err == nil || err.Error() != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
}

// Names with a slash (here through a soname containing $ORIGIN), matching
// by DT_SONAME, and one file needed under two names.
func TestNamesAndIdentity(t *testing.T) {
	root := tempDir(t)
	d, e := root+"/d", root+"/e"
	mkdirs(t, d, e)
	writeFile(t, root+"/sm.c", "int sm(void) { return 2; }\n")
	writeFile(t, root+"/a.c", "int sm(void); int ns(void); int a(void) { return sm() + ns(); }\n")
	writeFile(t, root+"/b.c", "int ns(void); int b(void) { return ns(); }\n")
	writeFile(t, root+"/ns.c", "int ns(void) { return 0; }\n")
	writeFile(t, root+"/m.c", "int sm(void); int a(void); int b(void); int main(void) { return sm() + a() + b() - 4; }\n")
	// DT_NEEDED "$ORIGIN/../e/libsm.so.1" comes from a stub's soname.
	gcc(t, root, "-shared", "-fPIC", "-Wl,-soname,$ORIGIN/../e/libsm.so.1", "-o", d+"/stub.so", "sm.c")
	gcc(t, root, "-shared", "-fPIC", "-Wl,-soname,libsm.so.1", "-o", e+"/libsm.so.1", "sm.c")
	// libns has no soname: its users record the file name they linked.
	gcc(t, root, "-shared", "-fPIC", "-o", d+"/libns.so.1.0", "ns.c")
	if err := os.Symlink("libns.so.1.0", d+"/libns.so.1"); err != nil {
		t.Fatal(err)
	}
	runpath := "-Wl,--enable-new-dtags,-rpath,$ORIGIN"
	gcc(t, root, "-shared", "-fPIC", soname(d+"/liba.so"), "-o", d+"/liba.so", "a.c", e+"/libsm.so.1", "-L"+d, "-l:libns.so.1", runpath)
	gcc(t, root, "-shared", "-fPIC", soname(d+"/libb.so"), "-o", d+"/libb.so", "b.c", "-L"+d, "-l:libns.so.1.0", runpath)
	prog := d + "/prog"
	gcc(t, root, "-o", prog, "m.c", d+"/stub.so", "-L"+d, "-la", "-lb", "-Wl,-rpath-link,"+e, runpath)

	c := compareWithLdd(t, prog, Options{})
	sm := objectByName(t, c, "libsm.so.1")
	if sm.Source != SourcePath || sm.Path != d+"/../e/libsm.so.1" || sm.Name != d+"/../e/libsm.so.1" {
		t.Errorf("libsm: %s %q name %q", sm.Source, sm.Path, sm.Name)
	}
	if !sm.hasName("libsm.so.1") {
		t.Errorf("libsm names %v: soname not matched", sm.Names)
	}
	ns := objectByName(t, c, "libns.so.1")
	if !ns.hasName("libns.so.1.0") || ns.RealPath != d+"/libns.so.1.0" {
		t.Errorf("libns: names %v real %s", ns.Names, ns.RealPath)
	}
	count := 0
	for _, o := range c.Objects {
		if o.RealPath == d+"/libns.so.1.0" {
			count++
		}
	}
	if count != 1 {
		t.Errorf("libns.so.1.0 loaded %d times", count)
	}
	checkEntries(t, c)
}

func TestDynamicStringTokens(t *testing.T) {
	host := loaderHelp(t)
	if host.platform == "" {
		host.platform = DefaultPlatform
	}
	root := tempDir(t)
	l := root + "/l"
	libdir := l + "/lib/x86_64-linux-gnu"
	platdir := l + "/plat/" + host.platform
	mkdirs(t, l+"/bin", libdir, platdir)
	writeFile(t, l+"/a.c", "int la(void) { return 0; }\n")
	writeFile(t, l+"/b.c", "int pb(void) { return 0; }\n")
	writeFile(t, l+"/prog.c", "int la(void); int pb(void); int main(void) { return la() + pb(); }\n")
	gcc(t, l, "-shared", "-fPIC", soname(libdir+"/libla.so"), "-o", libdir+"/libla.so", "a.c")
	gcc(t, l, "-shared", "-fPIC", soname(platdir+"/libpb.so"), "-o", platdir+"/libpb.so", "b.c")
	prog := l + "/bin/prog"
	gcc(t, l, "-o", prog, "prog.c", libdir+"/libla.so", platdir+"/libpb.so",
		"-Wl,--enable-new-dtags,-rpath,$ORIGIN/../$LIB:${ORIGIN}/../plat/${PLATFORM}/")
	c := compareWithLdd(t, prog, Options{Platform: host.platform})
	if o := objectByName(t, c, "libla.so"); o.Path != l+"/bin/../lib/x86_64-linux-gnu/libla.so" {
		t.Errorf("$LIB: %s", o.Path)
	}
	if _, err := Resolve(prog, Options{Platform: "nosuchplatform"}); err == nil {
		t.Errorf("$PLATFORM not used")
	}
}

func TestHWCapsSubdirectories(t *testing.T) {
	host := loaderHelp(t)
	supported := false
	for _, h := range host.hwcaps {
		supported = supported || h == "x86-64-v2"
	}
	root := tempDir(t)
	h := root + "/h"
	sub := h + "/glibc-hwcaps/x86-64-v2"
	mkdirs(t, sub)
	writeFile(t, root+"/hw.c", "int hw(void) { return 0; }\n")
	writeFile(t, root+"/prog.c", "int hw(void); int main(void) { return hw(); }\n")
	gcc(t, root, "-shared", "-fPIC", soname(h+"/libhw.so"), "-o", h+"/libhw.so", "hw.c")
	gcc(t, root, "-shared", "-fPIC", soname(sub+"/libhw.so"), "-o", sub+"/libhw.so", "hw.c")
	prog := root + "/prog"
	gcc(t, root, "-o", prog, "prog.c", h+"/libhw.so")

	opt := Options{LibraryPath: h, HWCaps: X86_64HWCaps}
	if supported {
		compareWithLdd(t, prog, opt, "LD_LIBRARY_PATH="+h)
	}
	c, err := Resolve(prog, opt)
	if err != nil {
		t.Fatal(err)
	}
	if o := objectByName(t, c, "libhw.so"); o.Path != sub+"/libhw.so" {
		t.Errorf("with HWCaps: %s", o.Path)
	}
	c, err = Resolve(prog, Options{LibraryPath: h})
	if err != nil {
		t.Fatal(err)
	}
	if o := objectByName(t, c, "libhw.so"); o.Path != h+"/libhw.so" {
		t.Errorf("without HWCaps: %s", o.Path)
	}
}

// ld.so skips files of the wrong class or machine and fails on anything
// else that is not a loadable shared object.
func TestCandidateChecks(t *testing.T) {
	root := tempDir(t)
	w, g := root+"/w", root+"/g"
	mkdirs(t, w, g)
	writeFile(t, root+"/nx.c", "int nx(void) { return 0; }\n")
	writeFile(t, root+"/prog.c", "int nx(void); int main(void) { return nx(); }\n")
	gcc(t, root, "-shared", "-fPIC", soname(g+"/libnx.so"), "-o", g+"/libnx.so", "nx.c")
	prog := root + "/prog"
	gcc(t, root, "-o", prog, "prog.c", g+"/libnx.so")
	good, err := os.ReadFile(g + "/libnx.so")
	if err != nil {
		t.Fatal(err)
	}
	patched := func(off int, b byte) []byte {
		c := append([]byte(nil), good...)
		c[off] = b
		return c
	}
	opt := Options{LibraryPath: w + ":" + g}
	env := "LD_LIBRARY_PATH=" + w + ":" + g
	bad := w + "/libnx.so"

	for _, tc := range []struct {
		name    string
		content []byte
		dir     bool
		skip    bool   // ld.so goes on to g
		errText string // else: the error's end
	}{
		{name: "class32", content: patched(4, 1), skip: true},
		{name: "machine", content: patched(18, 3), skip: true},
		{name: "text", content: []byte("/* GNU ld script */\nOUTPUT_FORMAT(elf64-x86-64)\nGROUP ( /lib/x86_64-linux-gnu/libfoo.so.1 )\n"), errText: bad + ": invalid ELF header"},
		{name: "short", content: good[:10], errText: bad + ": file too short"},
		{name: "bigendian", content: patched(5, 2), errText: bad + ": ELF file data encoding not little-endian"},
		{name: "osabi", content: patched(7, 9), errText: bad + ": ELF file OS ABI invalid"},
		{name: "dir", dir: true, errText: bad + ": cannot read file data: is a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.RemoveAll(bad)
			if tc.dir {
				mkdirs(t, bad)
			} else if err := os.WriteFile(bad, tc.content, 0o755); err != nil {
				t.Fatal(err)
			}
			if tc.skip {
				c := compareWithLdd(t, prog, opt, env)
				if o := objectByName(t, c, "libnx.so"); o.Path != g+"/libnx.so" {
					t.Errorf("found %s", o.Path)
				}
				return
			}
			_, err := Resolve(prog, opt)
			if err == nil || !strings.HasSuffix(err.Error(), tc.errText) {
				t.Errorf("error %v, want ...%s", err, tc.errText)
			}
		})
	}

	// Only a wrong-class candidate: the NotFoundError names it.
	os.RemoveAll(bad)
	if err := os.WriteFile(bad, patched(4, 1), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = Resolve(prog, Options{LibraryPath: w})
	var nf *NotFoundError
	if !errors.As(err, &nf) || !reflect.DeepEqual(nf.OtherClass, []string{bad}) {
		t.Errorf("error %v, want not found with %s skipped", err, bad)
	}

	// An executable or a PIE is not loadable as a library.
	gcc(t, root, "-o", bad, "prog.c", g+"/libnx.so")
	_, err = Resolve(prog, opt)
	if err == nil || !strings.Contains(err.Error(), "cannot dynamically load position-independent executable") {
		t.Errorf("PIE as library: %v", err)
	}
	gcc(t, root, "-no-pie", "-o", bad, "prog.c", g+"/libnx.so")
	_, err = Resolve(prog, opt)
	if err == nil || !strings.Contains(err.Error(), "cannot dynamically load executable") {
		t.Errorf("executable as library: %v", err)
	}
}

func TestStaticProgram(t *testing.T) {
	root := tempDir(t)
	writeFile(t, root+"/s.c", "int main(void) { return 0; }\n")
	gcc(t, root, "-static", "-o", root+"/s", "s.c")
	c, err := Resolve(root+"/s", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Interp != nil || len(c.Objects) != 0 || c.Main.RealPath != root+"/s" {
		t.Errorf("static closure: %+v", c)
	}
	if len(c.Entries()) != 0 {
		t.Errorf("entries for a static program: %v", c.Entries())
	}
	if _, err := Resolve(root+"/s.c", Options{}); err == nil {
		t.Errorf("Resolve of a C source succeeded")
	}
	if _, err := Resolve(root+"/nonexistent", Options{}); err == nil {
		t.Errorf("Resolve of a missing file succeeded")
	}
}

func TestEntriesLayout(t *testing.T) {
	// A hand-made tree: a directory symlink, an absolute file symlink and
	// "..", as on a merged-/usr system.
	root := tempDir(t)
	mkdirs(t, root+"/usr/lib/multi", root+"/usr/lib64", root+"/opt/bin")
	writeFile(t, root+"/usr/lib/multi/ld.so", "x")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Symlink("usr/lib", root+"/lib"))
	must(os.Symlink("usr/lib64", root+"/lib64"))
	must(os.Symlink(root+"/lib/multi/ld.so", root+"/usr/lib64/ld.so"))
	real, links, dirs, err := walk(root + "/lib64/ld.so")
	must(err)
	if real != root+"/usr/lib/multi/ld.so" {
		t.Errorf("real %s", real)
	}
	wantLinks := []Symlink{
		{root + "/lib64", "usr/lib64"},
		{root + "/usr/lib64/ld.so", root + "/lib/multi/ld.so"},
		{root + "/lib", "usr/lib"},
	}
	if !reflect.DeepEqual(links, wantLinks) || len(dirs) != 0 {
		t.Errorf("links %v dirs %v", links, dirs)
	}
	real, _, dirs, err = walk(root + "/opt/bin/../../lib/multi/./ld.so")
	must(err)
	if real != root+"/usr/lib/multi/ld.so" || !reflect.DeepEqual(dirs, []string{root + "/opt/bin", root + "/opt"}) {
		t.Errorf("real %s dirs %v", real, dirs)
	}
	o := &Object{RealPath: real, Links: []Symlink{{root + "/lib", "usr/lib"}}, Dirs: dirs}
	var got []string
	for _, e := range Entries(o) {
		got = append(got, e.GuestPath)
	}
	// /opt/bin is needed (only ".." passes through it); /opt is its parent.
	want := []string{root + "/lib", root + "/opt/bin", root + "/usr/lib/multi/ld.so"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("entries %v, want %v", got, want)
	}
	if _, _, _, err := walk(root + "/usr/lib/multi/ld.so/x"); err == nil {
		t.Errorf("walk through a file succeeded")
	}
	must(os.Symlink("loop", root+"/loop"))
	if _, _, _, err := walk(root + "/loop"); err == nil {
		t.Errorf("walk of a symlink loop succeeded")
	}
}

func TestExpandDST(t *testing.T) {
	v := dstValues{origin: "/o", platform: "P", lib: "L"}
	for in, want := range map[string]string{
		"$ORIGIN/lib":              "/o/lib",
		"${ORIGIN}/../lib":         "/o/../lib",
		"$ORIGINX":                 "$ORIGINX",
		"$ORIGIN_":                 "$ORIGIN_",
		"$ORIGIN:$LIB:${PLATFORM}": "/o:L:P",
		"/x/$LIBS":                 "/x/$LIBS",
		"/a/$FOO/b":                "/a/$FOO/b",
		"${ORIGIN":                 "${ORIGIN",
		"$":                        "$",
		"no tokens":                "no tokens",
		"$PLATFORM.so":             "P.so",
	} {
		if got := expandDST(in, v); got != want {
			t.Errorf("expandDST(%q) = %q, want %q", in, got, want)
		}
	}
	got := searchDirs("$ORIGIN/a/:/b//::rel", ":", v, "/cwd")
	want := []string{"/o/a", "/b", "/cwd/.", "/cwd/rel"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("searchDirs = %q, want %q", got, want)
	}
	if got := searchDirs("", ":", v, "/cwd"); got != nil {
		t.Errorf("empty list gives %q", got)
	}
	if got := searchDirs("/", ":;", v, "/cwd"); !reflect.DeepEqual(got, []string{"/"}) {
		t.Errorf("root gives %q", got)
	}
}

// The default directories are those of the host's ld.so.
func TestDefaultsMatchHostLoader(t *testing.T) {
	host := loaderHelp(t)
	if !reflect.DeepEqual(host.systemDirs, DefaultDirs) {
		t.Errorf("ld.so --help system search path %v, DefaultDirs %v", host.systemDirs, DefaultDirs)
	}
	for _, h := range host.hwcaps {
		found := false
		for _, x := range X86_64HWCaps {
			found = found || x == h
		}
		if !found {
			t.Errorf("host hwcaps subdirectory %s not in X86_64HWCaps", h)
		}
	}
	t.Logf("host ld.so: dirs %v, hwcaps %v, AT_PLATFORM %q", host.systemDirs, host.hwcaps, host.platform)
}
