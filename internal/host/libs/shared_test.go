package libs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gosv/gosv/internal/host/initrd"
)

// ResolveShared follows a shared object's own search paths, as dlopen of
// the object by path does.
func TestResolveShared(t *testing.T) {
	root, _ := buildApp(t)
	libr := root + "/app/rlib/libr.so"
	c, err := ResolveShared(libr, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Interp != nil || c.Main.Path != libr || c.Main.Source != SourceMain {
		t.Errorf("main %+v, interp %v", c.Main, c.Interp)
	}
	// libr.so: RUNPATH $ORIGIN/../lib gives libx.so.1; then libc.so.6,
	// which needs the interpreter, found by name.
	x := objectByName(t, c, "libx.so.1")
	if x.Path != root+"/app/rlib/../lib/libx.so.1" || x.RealPath != root+"/app/lib/libx.so.1.2.3" || x.Source != SourceRunPath {
		t.Errorf("libx: %+v", x)
	}
	// A module that calls libc: libc.so.6, which needs the interpreter.
	writeFile(t, root+"/src/p.c", "#include <stdio.h>\nint x(void); int p(void) { return puts(\"p\") + x(); }\n")
	libp := root + "/app/rlib/libp.so"
	gcc(t, root+"/src", "-shared", "-fPIC", "-o", libp, "p.c", root+"/app/lib/libx.so.1", "-Wl,--disable-new-dtags,-rpath,$ORIGIN/../lib")
	cp, err := ResolveShared(libp, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if o := objectByName(t, cp, "libx.so.1"); o.Source != SourceRPath {
		t.Errorf("libx through %s", o.Source)
	}
	objectByName(t, cp, "libc.so.6")
	ld := objectByName(t, cp, "ld-linux-x86-64.so.2")
	if real, err := filepath.EvalSymlinks(hostInterp); err != nil || ld.RealPath != real {
		t.Errorf("interpreter found at %s (real %s), host's is %s (%v)", ld.Path, ld.RealPath, real, err)
	}
	for _, o := range c.Objects {
		if o == c.Main {
			t.Errorf("Objects include the object itself")
		}
	}
	// Against ldd of the library (ldd lists a shared object's needs too).
	got := map[string]string{}
	for _, o := range cp.Objects {
		got[o.Name] = o.RealPath
	}
	res, out := runLdd(t, libp)
	for name, p := range res.found {
		if strings.Contains(name, "ld-linux") {
			continue
		}
		real, _ := filepath.EvalSymlinks(p)
		if got[name] != real {
			t.Errorf("ldd: %s => %s (real %s); ResolveShared: %q\n%s", name, p, real, got[name], out)
		}
	}

	// Errors: a missing file, a file that is not ELF, a missing need.
	if _, err := ResolveShared(root+"/nonexistent.so", Options{}); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing: %v", err)
	}
	writeFile(t, root+"/text.so", "not elf\n")
	if _, err := ResolveShared(root+"/text.so", Options{}); err == nil {
		t.Errorf("text file: no error")
	}
	if err := os.Rename(root+"/app/lib", root+"/app/lib.gone"); err != nil {
		t.Fatal(err)
	}
	_, err = ResolveShared(libr, Options{})
	if err == nil || !strings.Contains(err.Error(), "libx.so.1 (needed by "+libr+")") {
		t.Errorf("missing need: %v", err)
	}
}

func TestPathEntries(t *testing.T) {
	root := tempDir(t)
	mkdirs(t, root+"/usr/share/perl/5.36.0", root+"/opt/bin")
	if err := os.Symlink("5.36.0", root+"/usr/share/perl/5.36"); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("usr/share", root+"/share"); err != nil {
		t.Fatal(err)
	}
	real, es, err := PathEntries(root + "/share/perl/5.36")
	if err != nil {
		t.Fatal(err)
	}
	want := []initrd.Entry{
		{GuestPath: root + "/share", Symlink: "usr/share"},
		{GuestPath: root + "/usr/share/perl/5.36", Symlink: "5.36.0"},
	}
	if real != root+"/usr/share/perl/5.36.0" || !reflect.DeepEqual(es, want) {
		t.Errorf("PathEntries = %s, %+v", real, es)
	}
	real, es, err = PathEntries(root + "/opt/bin/../../usr")
	want = []initrd.Entry{
		{GuestPath: root + "/opt/bin", HostPath: root + "/opt/bin", Dir: true},
		{GuestPath: root + "/opt", HostPath: root + "/opt", Dir: true},
	}
	if err != nil || real != root+"/usr" || !reflect.DeepEqual(es, want) {
		t.Errorf("PathEntries(..) = %s, %+v, %v", real, es, err)
	}
	if _, _, err := PathEntries(root + "/nonexistent"); err == nil || !strings.Contains(err.Error(), root+"/nonexistent: no such file") {
		t.Errorf("missing: %v", err)
	}
}
