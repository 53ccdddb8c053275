package image

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cavaliergopher/cpio"

	"github.com/gosv/gosv/internal/host/libs"
)

// The Python rule on a made-up installation: PREFIX/bin/python3.9 (a link
// to it as python3) and PREFIX/lib/python3.9.
func TestPythonRuleSynthetic(t *testing.T) {
	prefix := realTempDir(t)
	exe := writeFile(t, filepath.Join(prefix, "bin", "python3.9"), makeELF(elfOpts{}), 0o755)
	if err := os.Symlink("python3.9", filepath.Join(prefix, "bin", "python3")); err != nil {
		t.Fatal(err)
	}
	lib := filepath.Join(prefix, "lib", "python3.9")
	outside := writeFile(t, filepath.Join(prefix, "etc", "sitecustomize.py"), []byte("# site\n"), 0o644)
	for name, data := range map[string]string{
		"os.py":                           "# os\n",
		"json/__init__.py":                "# json\n",
		"json/tests/test_json.py":         "# a test\n",
		"__pycache__/os.cpython-39.pyc":   "pyc",
		"json/__pycache__/x.pyc":          "pyc",
		"test/regrtest.py":                "# tests\n",
		"idlelib/idle.py":                 "# idle\n",
		"tkinter/__init__.py":             "# tk\n",
		"ensurepip/__init__.py":           "# pip\n",
		"site-packages/pkg/__init__.py":   "# third party\n",
		"config-3.9-x86_64-linux-gnu/lib": "static library",
		"lib-dynload/_testcapi.so":        "not even ELF",
		"lib-dynload/README":              "no module",
	} {
		writeFile(t, filepath.Join(lib, name), []byte(data), 0o644)
	}
	for link, target := range map[string]string{
		"sitecustomize.py": outside, // out of the tree: kept, and its target added
		"alias.py":         "os.py",
	} {
		if err := os.Symlink(target, filepath.Join(lib, link)); err != nil {
			t.Fatal(err)
		}
	}
	im, err := Build(Options{Exe: filepath.Join(prefix, "bin", "python3"), Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Remove()
	if im.Runtime != "python3.9" {
		t.Errorf("runtime %q", im.Runtime)
	}
	got, _ := readInitrd(t, im.Initrd)
	rel := func(p string) string { return strings.TrimPrefix(p, "/") }
	want := map[string]archived{
		rel(lib + "/os.py"):              {cpio.TypeReg | 0o644, "# os\n"},
		rel(lib + "/json/__init__.py"):   {cpio.TypeReg | 0o644, "# json\n"},
		rel(lib + "/alias.py"):           {cpio.TypeSymlink | 0o777, "os.py"},
		rel(lib + "/sitecustomize.py"):   {cpio.TypeSymlink | 0o777, outside},
		rel(outside):                     {cpio.TypeReg | 0o644, "# site\n"},
		rel(lib + "/lib-dynload/README"): {cpio.TypeReg | 0o644, "no module"},
		rel(lib + "/lib-dynload"):        {cpio.TypeDir | 0o755, ""},
		"python3":                        {cpio.TypeReg | 0o755, string(makeELF(elfOpts{}))},
	}
	for name, w := range want {
		if g, ok := got[name]; !ok || g != w {
			t.Errorf("%s: %o %q (present %v), want %o %q", name, g.mode, g.data, ok, w.mode, w.data)
		}
	}
	for name := range got {
		for _, bad := range []string{"__pycache__", "/test", "tests", "idlelib", "tkinter", "ensurepip", "site-packages", "config-3.9", "_testcapi"} {
			if strings.Contains(name, bad) {
				t.Errorf("%s is in the image", name)
			}
		}
	}
	// A static executable is at /NAME, as always.
	if im.GuestExe != "/python3" {
		t.Errorf("guest exe %s", im.GuestExe)
	}

	// --no-auto-files.
	im2, err := Build(Options{Exe: exe, NoAutoFiles: true, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer im2.Remove()
	if got, _ := readInitrd(t, im2.Initrd); len(got) != 1 || im2.Runtime != "" {
		t.Errorf("without auto files: runtime %q, %d entries", im2.Runtime, len(got))
	}

	// Not a standard layout: nothing added, a note says why.
	other := writeFile(t, filepath.Join(realTempDir(t), "python3-custom"), makeELF(elfOpts{}), 0o755)
	im3, err := Build(Options{Exe: other, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer im3.Remove()
	if len(im3.Entries) != 1 || len(im3.Notes) != 1 || !strings.Contains(im3.Notes[0], "no python3.X name") {
		t.Errorf("entries %v, notes %q", im3.Entries, im3.Notes)
	}
}

// The host's python3, when installed: the standard library, the
// libraries of its extension modules, nothing of the excluded parts.
func TestPythonRuleHost(t *testing.T) {
	const py = "/usr/bin/python3"
	real, err := filepath.EvalSymlinks(py)
	if err != nil {
		t.Skip("no /usr/bin/python3")
	}
	ver := strings.TrimPrefix(filepath.Base(real), "python")
	stdlib := filepath.Join(filepath.Dir(filepath.Dir(real)), "lib", "python"+ver)
	if _, err := os.Stat(stdlib + "/os.py"); err != nil {
		t.Skipf("no standard library at %s", stdlib)
	}
	im, err := Build(Options{Exe: py, Args: []string{"-c", "pass"}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Remove()
	if im.Runtime != "python"+ver || im.GuestExe != py {
		t.Errorf("runtime %q, guest exe %s", im.Runtime, im.GuestExe)
	}
	got, _ := readInitrd(t, im.Initrd)
	checkHostFile(t, got, py)
	for _, f := range []string{"os.py", "site.py", "encodings/__init__.py", "encodings/utf_8.py", "json/__init__.py"} {
		checkHostFile(t, got, filepath.Join(stdlib, f))
	}
	for name := range got {
		if strings.Contains(name, "/__pycache__") || strings.HasPrefix(name, strings.TrimPrefix(stdlib, "/")+"/test/") ||
			strings.Contains(name, "/idlelib/") || strings.Contains(name, "/config-3") || strings.Contains(name, "/_testcapi") {
			t.Errorf("%s is in the image", name)
		}
	}
	mods, _ := filepath.Glob(filepath.Join(stdlib, "lib-dynload", "*.so"))
	checked := 0
	for _, m := range mods {
		if pythonTestModule.MatchString(filepath.Base(m)) {
			continue
		}
		checkHostFile(t, got, m)
		c, err := libs.ResolveShared(m, libs.Options{})
		if err != nil {
			continue // a note, tested elsewhere
		}
		for _, o := range c.Objects {
			checkHostFile(t, got, o.Path)
			checked++
		}
	}
	t.Logf("%s: %d files, %d bytes; %d libraries of %d modules checked; notes %q", py, im.Files, im.Bytes, checked, len(mods), im.Notes)
}

// The host's perl, when installed: what `use strict; use warnings` loads.
func TestPerlRuleHost(t *testing.T) {
	const perl = "/usr/bin/perl"
	if _, err := os.Stat(perl); err != nil {
		t.Skip("no /usr/bin/perl")
	}
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/perl-base/strict.pm"); err != nil {
		t.Skip("not Debian's perl layout")
	}
	im, err := Build(Options{Exe: perl, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Remove()
	if !strings.HasPrefix(im.Runtime, "perl 5.") {
		t.Errorf("runtime %q", im.Runtime)
	}
	got, _ := readInitrd(t, im.Initrd)
	for _, f := range []string{"strict.pm", "warnings.pm", "Config.pm", "XSLoader.pm"} {
		checkHostFile(t, got, "/usr/lib/x86_64-linux-gnu/perl-base/"+f)
	}
	ver := strings.TrimPrefix(im.Runtime, "perl ")
	if _, err := os.Stat("/usr/share/perl/" + ver + "/Data/Dumper.pm"); err == nil {
		checkHostFile(t, got, "/usr/share/perl/"+ver+"/Data/Dumper.pm") // through the 5.X -> 5.X.Y link
	}
	for name := range got {
		if strings.HasSuffix(name, ".pod") || strings.Contains(name, "/CORE/") {
			t.Errorf("%s is in the image", name)
		}
	}
	t.Logf("%s: %d files, %d bytes; notes %q", perl, im.Files, im.Bytes, im.Notes)
}
