package image

import (
	"errors"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cavaliergopher/cpio"

	"github.com/gosv/gosv/internal/host/libs"
)

// gcc compiles src (C source text) with args into dir/name and returns the
// path; the test is skipped without gcc.
func gcc(t *testing.T, dir, name, src string, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	c := filepath.Join(dir, name+".c")
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	cmd := exec.Command("gcc", append([]string{"-o", out, c}, args...)...)
	cmd.Dir = dir
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return out
}

// realTempDir is a temporary directory without symlinks in its path.
func realTempDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

const helloC = "#include <stdio.h>\nint main(int argc, char **argv) { printf(\"hello %s\\n\", argv[0]); return 0; }\n"

// lookup resolves the guest path p inside the archive as the guest kernel
// would (following the archive's symlinks) and returns the final name.
func lookup(t *testing.T, got map[string]archived, p string) (string, archived) {
	t.Helper()
	todo := strings.Split(strings.Trim(p, "/"), "/")
	cur := ""
	for n := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = strings.TrimPrefix(path.Dir("/"+cur), "/")
			continue
		}
		next := strings.TrimPrefix(path.Join(cur, c), "/")
		e, ok := got[next]
		if !ok {
			t.Fatalf("%s: %s is not in the initrd", p, next)
		}
		if e.mode&^cpio.ModePerm != cpio.TypeSymlink {
			cur = next
			continue
		}
		if n++; n > 40 {
			t.Fatalf("%s: symlink loop", p)
		}
		if strings.HasPrefix(e.data, "/") {
			cur = ""
		}
		todo = append(strings.Split(strings.Trim(e.data, "/"), "/"), todo...)
	}
	return cur, got[cur]
}

// checkHostFile checks that guest path p leads to a regular file with the
// contents of the host file of the same path.
func checkHostFile(t *testing.T, got map[string]archived, p string) {
	t.Helper()
	_, e := lookup(t, got, p)
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if e.mode&^cpio.ModePerm != cpio.TypeReg || e.data != string(want) {
		t.Errorf("%s: mode %o, %d bytes; want a regular file of %d bytes", p, e.mode, len(e.data), len(want))
	}
}

func TestBuildDynamic(t *testing.T) {
	dir := realTempDir(t)
	prog := gcc(t, dir, "prog", helloC)
	im, err := Build(Options{Exe: prog, Args: []string{"x"}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Remove()
	if im.GuestExe != prog || !slices.Equal(im.Cmdline, []string{prog, "x"}) || im.Closure == nil {
		t.Errorf("guest exe %s, cmdline %q", im.GuestExe, im.Cmdline)
	}
	got, _ := readInitrd(t, im.Initrd)
	checkHostFile(t, got, prog)
	// The interpreter by its PT_INTERP path and every library by the path
	// ld.so opens, through the same symlinks as on the host.
	c, err := libs.Resolve(prog, libs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkHostFile(t, got, c.Interp.Path)
	var sawLibc bool
	for _, o := range c.Objects {
		checkHostFile(t, got, o.Path)
		sawLibc = sawLibc || o.Soname == "libc.so.6"
	}
	if !sawLibc {
		t.Errorf("no libc.so.6 in %v", c.Paths())
	}
	// Host symlinks stay symlinks with their targets.
	for _, o := range append([]*libs.Object{c.Main}, c.Objects...) {
		for _, l := range o.Links {
			name := strings.TrimPrefix(l.Path, "/")
			if e := got[name]; e.mode != cpio.TypeSymlink|0o777 || e.data != l.Target {
				t.Errorf("%s: %o %q, want a symlink to %s", l.Path, e.mode, e.data, l.Target)
			}
		}
	}
	if fi, err := os.Lstat("/lib64"); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		target, _ := os.Readlink("/lib64")
		if e := got["lib64"]; e.data != target {
			t.Errorf("/lib64: %q, want a symlink to %s", e.data, target)
		}
	}
	if _, ok := got["etc/ld.so.cache"]; ok != c.NeedsCache() {
		t.Errorf("ld.so.cache in the image: %v, needed: %v", ok, c.NeedsCache())
	}
	if im.Files != len(c.Objects)+1 {
		t.Errorf("%d files, want %d", im.Files, len(c.Objects)+1)
	}
}

// argv[0] of a dynamic executable: the absolute path given (its symlinks
// in the image), else the real path; $ORIGIN libraries come along.
func TestBuildDynamicPaths(t *testing.T) {
	dir := realTempDir(t)
	lib := gcc(t, dir, "libanswer.so", "int answer(void) { return 42; }\n", "-shared", "-fPIC")
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	prog := gcc(t, dir, "bin/prog", "int answer(void); int main(void) { return answer(); }\n",
		lib, "-Wl,-rpath,$ORIGIN/..")
	if err := os.Symlink("bin", filepath.Join(dir, "links")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("prog", filepath.Join(dir, "bin", "alias")); err != nil {
		t.Fatal(err)
	}

	viaLinks := filepath.Join(dir, "links", "alias")
	im, err := Build(Options{Exe: viaLinks, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Remove()
	if im.GuestExe != viaLinks || im.Cmdline[0] != viaLinks {
		t.Errorf("guest exe %s, want %s", im.GuestExe, viaLinks)
	}
	got, _ := readInitrd(t, im.Initrd)
	if name, _ := lookup(t, got, viaLinks); "/"+name != prog {
		t.Errorf("%s leads to /%s in the guest, want %s", viaLinks, name, prog)
	}
	checkHostFile(t, got, viaLinks)
	checkHostFile(t, got, filepath.Join(dir, "bin/../libanswer.so"))

	// A relative path: argv[0] is the real path.
	t.Chdir(dir)
	im2, err := Build(Options{Exe: "./links/alias", Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer im2.Remove()
	if im2.GuestExe != prog {
		t.Errorf("relative: guest exe %s, want %s", im2.GuestExe, prog)
	}
	got, _ = readInitrd(t, im2.Initrd)
	checkHostFile(t, got, prog)
}

func TestBuildMissingLibrary(t *testing.T) {
	dir := realTempDir(t)
	gone := filepath.Join(dir, "gone")
	if err := os.Mkdir(gone, 0o755); err != nil {
		t.Fatal(err)
	}
	lib := gcc(t, gone, "libgone.so", "int gone(void) { return 1; }\n", "-shared", "-fPIC", "-Wl,-soname,libgone.so.1")
	prog := gcc(t, dir, "prog", "int gone(void); int main(void) { return gone(); }\n", lib)
	if err := os.RemoveAll(gone); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	_, err := Build(Options{Exe: prog, Dir: out})
	var ee *ExecError
	if !errors.As(err, &ee) || ee.Status != StatusNotExecutable {
		t.Fatalf("error %v, want an *ExecError with status 126", err)
	}
	want := prog + ": shared library libgone.so.1 (needed by " + prog + "): not found in ld.so.cache or default directories"
	if err.Error() != want {
		t.Errorf("error\n%s\nwant\n%s", err, want)
	}
	var nf *libs.NotFoundError
	if !errors.As(err, &nf) || nf.Name != "libgone.so.1" {
		t.Errorf("not a *libs.NotFoundError: %#v", err)
	}
	if left, _ := os.ReadDir(out); len(left) != 0 {
		t.Errorf("left %d files behind", len(left))
	}
}

// The same file from two sources is stored once; a user's file wins over
// an automatic one; a file copied under a symlinked directory of the image
// lands at the link's target.
func TestBuildDedupAndPrecedence(t *testing.T) {
	dir := realTempDir(t)
	prog := gcc(t, dir, "prog", helloC)
	c, err := libs.Resolve(prog, libs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var libc *libs.Object
	for _, o := range c.Objects {
		if o.Soname == "libc.so.6" {
			libc = o
		}
	}
	mine := writeFile(t, filepath.Join(dir, "fake-libc"), []byte("mine"), 0o644)
	note := writeFile(t, filepath.Join(dir, "note.txt"), []byte("note"), 0o644)
	copies := []Copy{
		{prog, prog},                           // the executable, where it goes anyway
		{c.Interp.RealPath, c.Interp.RealPath}, // the interpreter too
		{mine, libc.RealPath},                  // a replacement libc
	}
	libDir := filepath.Dir(libc.Path) // /lib/x86_64-linux-gnu: a symlinked /lib on merged-/usr
	copies = append(copies, Copy{note, libDir + "/note.txt"})
	im, err := Build(Options{Exe: prog, Copies: copies, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Remove()
	got, _ := readInitrd(t, im.Initrd)
	if _, e := lookup(t, got, libc.Path); e.data != "mine" {
		t.Errorf("libc: %d bytes, want the user's file", len(e.data))
	}
	name, e := lookup(t, got, libDir+"/note.txt")
	if e.data != "note" {
		t.Errorf("note.txt: %q", e.data)
	}
	realDir, _ := filepath.EvalSymlinks(libDir)
	if "/"+name != realDir+"/note.txt" {
		t.Errorf("note.txt stored at /%s, want %s/note.txt", name, realDir)
	}
}

func TestBuildManifest(t *testing.T) {
	dir := realTempDir(t)
	exe := writeFile(t, filepath.Join(dir, "bin", "hello"), makeELF(elfOpts{}), 0o755)
	writeFile(t, filepath.Join(dir, "data", "a.txt"), []byte("a"), 0o644)
	writeFile(t, filepath.Join(dir, "data", "sub", "b.txt"), []byte("b"), 0o600)
	writeFile(t, filepath.Join(dir, "conf"), []byte("k=v\n"), 0o644)
	m1 := writeFile(t, filepath.Join(dir, "one.manifest"), []byte(
		"[manifest]\n/app/hello: bin/hello\n/data/**: data/**\n/etc/app.conf: conf\n/etc/mtab: ->/proc/mounts\n"), 0o644)
	// A later manifest replaces a line of an earlier one.
	m2 := writeFile(t, filepath.Join(dir, "two.manifest"), []byte("/etc/app.conf: data/a.txt\n"), 0o644)
	im, err := Build(Options{Exe: exe, Manifests: []string{m1, m2}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Remove()
	// The manifest put the executable at /app/hello: that is its guest path.
	if im.GuestExe != "/app/hello" {
		t.Errorf("guest exe %s", im.GuestExe)
	}
	got, _ := readInitrd(t, im.Initrd)
	want := map[string]archived{
		"app":            {cpio.TypeDir | 0o755, ""},
		"app/hello":      {cpio.TypeReg | 0o755, string(makeELF(elfOpts{}))},
		"data":           {cpio.TypeDir | 0o755, ""},
		"data/a.txt":     {cpio.TypeReg | 0o644, "a"},
		"data/sub":       {cpio.TypeDir | 0o755, ""},
		"data/sub/b.txt": {cpio.TypeReg | 0o600, "b"},
		"etc":            {cpio.TypeDir | 0o755, ""},
		"etc/app.conf":   {cpio.TypeReg | 0o644, "a"},
		"etc/mtab":       {cpio.TypeSymlink | 0o777, "/proc/mounts"},
	}
	if len(got) != len(want) {
		t.Errorf("initrd has %d entries, want %d: %v", len(got), len(want), got)
	}
	for name, w := range want {
		if g := got[name]; g != w {
			t.Errorf("%s: %o %q, want %o %q", name, g.mode, g.data, w.mode, w.data)
		}
	}

	// Errors name the manifest; a manifest and a copy may not disagree.
	bad := writeFile(t, filepath.Join(dir, "bad.manifest"), []byte("/x: nonexistent\n"), 0o644)
	if _, err := Build(Options{Manifests: []string{bad}, Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "bad.manifest:1: "+dir+"/nonexistent: no such file") {
		t.Errorf("bad manifest: %v", err)
	}
	if _, err := Build(Options{Manifests: []string{filepath.Join(dir, "none.manifest")}, Dir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "--manifest "+dir+"/none.manifest: no such file") {
		t.Errorf("missing manifest: %v", err)
	}
	_, err = Build(Options{Manifests: []string{m1}, Copies: []Copy{{filepath.Join(dir, "data", "a.txt"), "/etc/app.conf"}}, Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "guest path /etc/app.conf is already taken by --copy") {
		t.Errorf("copy vs manifest: %v", err)
	}
}
