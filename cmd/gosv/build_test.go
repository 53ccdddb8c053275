package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cavaliergopher/cpio"

	"github.com/gosv/gosv/internal/host/image"
	"github.com/gosv/gosv/internal/host/libs"
)

// readMeta reads gosv-image.json of a directory image.
func readMeta(t *testing.T, dir string) image.Meta {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, image.MetaFile))
	if err != nil {
		t.Fatal(err)
	}
	var m image.Meta
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBuildDirectory(t *testing.T) {
	h := setup(t, false, fakeELF, nil)
	exe := writeExe(t, "hello")
	data := t.TempDir()
	if err := os.WriteFile(filepath.Join(data, "f.txt"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "img") + "/"
	code, stdout, stderr := run(t, "build", "-o", out, "-m", "512M", "-c", "2", "--kernel-arg", "--verbose",
		"-e", "A=1", "--cwd", "/data", "--copy", data+":/data", exe, "a b", "-x")
	if code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("code %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if h.calls != 0 {
		t.Errorf("build started a VM")
	}
	ents, _ := os.ReadDir(out)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want := []string{"cmdline", "gosv-image.json", "initrd.cpio", "kernel.elf"}; !slices.Equal(names, want) {
		t.Errorf("image files %q, want %q", names, want)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "kernel.elf")); !bytes.Equal(b, fakeELF) {
		t.Errorf("kernel.elf %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "cmdline")); string(b) != `--verbose --env=A=1 --cwd=/data /hello "a b" -x`+"\n" {
		t.Errorf("cmdline %q", b)
	}
	m := readMeta(t, out)
	if m.Version != 1 || m.Memory != "512M" || m.CPUs != 2 || m.App != "/hello" || m.Files != 2 || m.CreatedBy != "gosv "+version {
		t.Errorf("meta %+v", m)
	}
	files, _ := readInitrd(filepath.Join(out, "initrd.cpio"))
	if files["hello"] != string(staticELF()) || files["data/f.txt"] != "data" {
		t.Errorf("initrd %q", files)
	}

	// Building again replaces the image; defaults: 128M, 1 CPU.
	if code, _, stderr := run(t, "build", "-o", out, "--kernel-arg=--selftest"); code != 0 {
		t.Fatalf("rebuild: code %d, stderr %q", code, stderr)
	}
	if m := readMeta(t, out); m.Memory != "128M" || m.CPUs != 1 || m.App != "" || m.Files != 0 {
		t.Errorf("rebuilt meta %+v", m)
	}
	if _, err := os.Stat(filepath.Join(out, "initrd.cpio")); !os.IsNotExist(err) {
		t.Errorf("initrd.cpio of an image without files: %v", err)
	}
	if left, _ := os.ReadDir(filepath.Dir(filepath.Clean(out))); len(left) != 1 {
		t.Errorf("left files next to the image: %v", left)
	}
}

func TestBuildTar(t *testing.T) {
	setup(t, false, fakeELF, nil)
	exe := writeExe(t, "hello")
	dir := t.TempDir()
	for _, name := range []string{"hello.tar", "hello-image"} {
		out := filepath.Join(dir, name)
		if code, _, stderr := run(t, "build", "-o", out, exe, "x"); code != 0 {
			t.Fatalf("code %d, stderr %q", code, stderr)
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(f)
		got := map[string]string{}
		var names []string
		for {
			hd, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(tr)
			got[hd.Name] = string(b)
			names = append(names, hd.Name)
		}
		f.Close()
		if names[0] != "gosv-image.json" || len(names) != 4 {
			t.Errorf("%s: members %q", name, names)
		}
		if got["cmdline"] != "/hello x\n" || got["kernel.elf"] != string(fakeELF) || !strings.Contains(got["gosv-image.json"], `"version": 1`) {
			t.Errorf("%s: %q", name, got)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("left files next to the images: %v", ents)
	}
}

func TestBuildErrors(t *testing.T) {
	exe := writeExe(t, "app")
	busy := t.TempDir()
	os.WriteFile(filepath.Join(busy, "x"), nil, 0o644)
	out := filepath.Join(t.TempDir(), "img.tar")
	cases := []struct {
		args   []string
		status int
		want   string
	}{
		{[]string{"build", exe}, 125, "-o PATH is required (see 'gosv build --help')"},
		{[]string{"build", "-o", busy, exe}, 125, busy + ": the directory is not empty and holds no gosv image"},
		{[]string{"build", "-o", out, "/nonexistent/prog"}, 127, "/nonexistent/prog: no such file"},
		{[]string{"build", "-o", out, "-m", "0", exe}, 125, "--memory: invalid memory size"},
		{[]string{"build", "-o", out, "--manifest", "/nonexistent/m", exe}, 125, "--manifest /nonexistent/m: no such file or directory"},
		{[]string{"build", "-o", out, "--kernel", "/nonexistent/k", exe}, 125, "--kernel: stat /nonexistent/k"},
	}
	for _, c := range cases {
		setup(t, false, fakeELF, nil)
		code, stdout, stderr := run(t, c.args...)
		if code != c.status || stdout != "" || !strings.HasPrefix(stderr, "gosv: ") || !strings.Contains(stderr, c.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%q: code %d, stdout %q, stderr %q; want %d and %q", c.args, code, stdout, stderr, c.status, c.want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed build wrote %s", out)
	}
	// A directory made for a failed build is removed.
	newDir := filepath.Join(t.TempDir(), "new", "img") + "/"
	if code, _, _ := run(t, "build", "-o", newDir, "/nonexistent/prog"); code != 127 {
		t.Errorf("code %d", code)
	}
	if _, err := os.Stat(newDir); !os.IsNotExist(err) {
		t.Errorf("a failed build left %s: %v", newDir, err)
	}
}

func TestBuildManifestFlag(t *testing.T) {
	setup(t, false, fakeELF, nil)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "conf"), []byte("k=v\n"), 0o644)
	m := filepath.Join(dir, "app.manifest")
	os.WriteFile(m, []byte("/etc/app.conf: conf\n/etc/mtab: ->/proc/mounts\n"), 0o644)
	out := filepath.Join(t.TempDir(), "img") + "/"
	if code, _, stderr := run(t, "build", "-o", out, "--manifest", m, writeExe(t, "app")); code != 0 {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	files, modes := readInitrd(filepath.Join(out, "initrd.cpio"))
	if files["etc/app.conf"] != "k=v\n" || files["etc/mtab"] != "/proc/mounts" || modes["etc/mtab"] != cpio.TypeSymlink|0o777 || files["app"] == "" {
		t.Errorf("initrd %q", files)
	}
}

// gccProg compiles a small dynamic C program; the test is skipped
// without gcc.
func gccProg(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	src := filepath.Join(dir, "prog.c")
	os.WriteFile(src, []byte("#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n"), 0o644)
	prog := filepath.Join(dir, "prog")
	if out, err := exec.Command("gcc", "-o", prog, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	return prog
}

// follow resolves a guest path through the symlinks of an initrd.
func follow(files map[string]string, modes map[string]cpio.FileMode, p string) (string, bool) {
	todo := strings.Split(strings.Trim(p, "/"), "/")
	cur := ""
	for n := 0; len(todo) > 0 && n < 40; {
		c := todo[0]
		todo = todo[1:]
		if c == "" || c == "." {
			continue
		}
		if c == ".." {
			cur = strings.TrimPrefix(filepath.Dir("/"+cur), "/")
			continue
		}
		next := strings.TrimPrefix(cur+"/"+c, "/")
		if _, ok := files[next]; !ok {
			return "", false
		}
		if modes[next]&^cpio.ModePerm == cpio.TypeSymlink {
			n++
			if strings.HasPrefix(files[next], "/") {
				cur = ""
			}
			todo = append(strings.Split(strings.Trim(files[next], "/"), "/"), todo...)
			continue
		}
		cur = next
	}
	return files[cur], modes[cur]&^cpio.ModePerm == cpio.TypeReg
}

func TestBuildAndRunDynamic(t *testing.T) {
	h := setup(t, false, fakeELF, nil)
	prog := gccProg(t)
	c, err := libs.Resolve(prog, libs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	check := func(files map[string]string, modes map[string]cpio.FileMode) {
		t.Helper()
		for _, p := range append([]string{prog, c.Interp.Path}, c.Paths()...) {
			want, _ := os.ReadFile(p)
			if got, ok := follow(files, modes, p); !ok || got != string(want) {
				t.Errorf("%s: regular %v, %d bytes; want %d bytes", p, ok, len(got), len(want))
			}
		}
	}
	// gosv run: everything in the initrd, argv[0] the program's path.
	if code, _, stderr := run(t, "run", prog, "x"); code != 0 {
		t.Fatalf("run: code %d, stderr %q", code, stderr)
	}
	if h.cfg.Cmdline != prog+" x" {
		t.Errorf("cmdline %q", h.cfg.Cmdline)
	}
	check(h.initrd, h.modes)
	// gosv build: the same image.
	out := filepath.Join(t.TempDir(), "img") + "/"
	if code, _, stderr := run(t, "build", "-o", out, prog, "x"); code != 0 {
		t.Fatalf("build: code %d, stderr %q", code, stderr)
	}
	files, modes := readInitrd(filepath.Join(out, "initrd.cpio"))
	check(files, modes)
	if m := readMeta(t, out); m.App != prog || m.Files != len(c.Objects)+1 {
		t.Errorf("meta %+v", m)
	}
}

func TestRunMissingLibrary(t *testing.T) {
	h := setup(t, false, fakeELF, nil)
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed")
	}
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	os.WriteFile(filepath.Join(dir, "l.c"), []byte("int l(void) { return 0; }\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "p.c"), []byte("int l(void); int main(void) { return l(); }\n"), 0o644)
	for _, args := range [][]string{
		{"-shared", "-fPIC", "-o", "libl.so", "l.c"},
		{"-o", "p", "p.c", "-L.", "-ll"},
	} {
		cmd := exec.Command("gcc", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gcc: %v\n%s", err, out)
		}
	}
	prog := filepath.Join(dir, "p")
	code, _, stderr := run(t, "run", prog)
	want := "gosv: " + prog + ": shared library libl.so (needed by " + prog + "): not found in ld.so.cache or default directories\n"
	if code != 126 || stderr != want || h.calls != 0 {
		t.Errorf("code %d, stderr %q, VM started %d times; want 126, %q", code, stderr, h.calls, want)
	}
	code, _, stderr = run(t, "build", "-o", filepath.Join(dir, "x.tar"), prog)
	if code != 126 || stderr != want {
		t.Errorf("build: code %d, stderr %q", code, stderr)
	}
}

func TestRunImage(t *testing.T) {
	h := setup(t, false, fakeELF, nil)
	exe := writeExe(t, "hello")
	dir := t.TempDir()
	img := filepath.Join(dir, "img") + "/"
	tarImg := filepath.Join(dir, "img.tar")
	for _, out := range []string{img, tarImg} {
		if code, _, stderr := run(t, "build", "-o", out, "-m", "256M", "-c", "2", "--kernel-arg=--verbose", "-e", "A=1", exe, "a b"); code != 0 {
			t.Fatalf("build: code %d, stderr %q", code, stderr)
		}
	}
	// As built.
	if code, _, stderr := run(t, "run", img); code != 0 {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	c := h.cfg
	if c.Kernel != filepath.Join(img, "kernel.elf") || c.Initrd != filepath.Join(img, "initrd.cpio") ||
		c.Cmdline != `--verbose --env=A=1 /hello "a b"` || c.MemoryMiB != 256 || c.CPUs != 2 {
		t.Errorf("config %+v", c)
	}
	if h.initrd["hello"] != string(staticELF()) {
		t.Errorf("initrd %q", h.initrd)
	}
	// Flags override the defaults; ARGS replace the app's; --env, --cwd
	// and --kernel-arg are added.
	code, _, stderr := run(t, "run", "-m", "1G", "-c", "3", "--kernel-arg", "--strace", "-e", "B=2", "--cwd", "/w", img, "x", "--y")
	if code != 0 {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	if c := h.cfg; c.MemoryMiB != 1024 || c.CPUs != 3 || c.Cmdline != "--strace --verbose --env=A=1 --env=B=2 --cwd=/w /hello x --y" {
		t.Errorf("config %+v", c)
	}
	// A tar image: extracted for the run, removed after.
	h.status = 7
	if code, _, stderr := run(t, "run", tarImg, "z"); code != 7 || stderr != "" {
		t.Fatalf("tar: code %d, stderr %q", code, stderr)
	}
	if c := h.cfg; c.Cmdline != "--verbose --env=A=1 /hello z" || c.MemoryMiB != 256 || h.initrd["hello"] != string(staticELF()) || !bytes.Equal(h.kernelData, fakeELF) {
		t.Errorf("tar: config %+v, initrd %q", c, h.initrd)
	}
	for _, f := range []string{h.cfg.Kernel, h.cfg.Initrd} {
		if _, err := os.Stat(f); !os.IsNotExist(err) {
			t.Errorf("%s not removed after the run (%v)", f, err)
		}
	}
	// A relative name of an image in the working directory.
	t.Chdir(dir)
	h.status = 0
	if code, _, stderr := run(t, "run", "img.tar"); code != 0 || h.cfg.Cmdline != `--verbose --env=A=1 /hello "a b"` {
		t.Errorf("relative: code %d, stderr %q, cmdline %q", code, stderr, h.cfg.Cmdline)
	}
	// --kernel replaces the image's kernel.
	k := filepath.Join(dir, "other.elf")
	os.WriteFile(k, []byte("\x7fELF other"), 0o644)
	if code, _, _ := run(t, "run", "--kernel", k, img); code != 0 || h.cfg.Kernel != k {
		t.Errorf("--kernel: code %d, kernel %s", code, h.cfg.Kernel)
	}
	// What would change the files is refused.
	h.calls = 0
	for _, flag := range [][]string{{"--copy", exe + ":/x"}, {"--manifest", "m"}, {"--no-auto-files"}} {
		code, _, stderr := run(t, append(append([]string{"run"}, flag...), img)...)
		if code != 125 || !strings.Contains(stderr, flag[0]+" cannot change the image") || h.calls != 0 {
			t.Errorf("%q: code %d, stderr %q", flag, code, stderr)
		}
	}
	// An image without an app takes no ARGS.
	bare := filepath.Join(dir, "bare") + "/"
	run(t, "build", "-o", bare, "--kernel-arg=--selftest")
	if code, _, stderr := run(t, "run", bare); code != 0 || h.cfg.Cmdline != "--selftest" || h.cfg.Initrd != "" {
		t.Errorf("bare: code %d, stderr %q, config %+v", code, stderr, h.cfg)
	}
	if code, _, stderr := run(t, "run", bare, "x"); code != 125 || !strings.Contains(stderr, "has no app") {
		t.Errorf("bare with ARGS: code %d, stderr %q", code, stderr)
	}
}

// The memory default follows the size of the initrd.
func TestRunMemoryDefault(t *testing.T) {
	h := setup(t, false, fakeELF, nil)
	big := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(big, make([]byte, 40<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := run(t, "run", "--copy", big+":/big", writeExe(t, "app")); code != 0 {
		t.Fatalf("code %d, stderr %q", code, stderr)
	}
	if h.cfg.MemoryMiB != image.MemoryMiB(40<<20+1000) {
		t.Errorf("memory %d MiB", h.cfg.MemoryMiB)
	}
}

// Progress: nothing when stderr is not a terminal; on a terminal, a line
// once the build has taken a while, erased or replaced at the end.
func TestProgressLine(t *testing.T) {
	var buf bytes.Buffer
	if p := newProgress(&buf, "packing"); p != nil {
		t.Fatal("progress on a buffer")
	}
	var nilp *progressLine
	nilp.finish("x") // no-op
	if nilp.callback() != nil {
		t.Error("callback of no display")
	}

	old := isTerminal
	t.Cleanup(func() { isTerminal = old })
	isTerminal = func(io.Writer) bool { return true }
	now := time.Unix(1000, 0)
	p := newProgress(&buf, "packing")
	p.start, p.now = now, func() time.Time { return now }
	p.update(image.Progress{Files: 1, TotalFiles: 10, Bytes: 1 << 20, TotalBytes: 10 << 20})
	if buf.Len() != 0 {
		t.Fatalf("shown before the delay: %q", buf.String())
	}
	now = now.Add(progressDelay)
	p.update(image.Progress{Files: 2, TotalFiles: 10, Bytes: 2 << 20, TotalBytes: 10 << 20})
	if want := "\rgosv: packing: 2/10 files, 2.0/10.0 MiB\x1b[K"; buf.String() != want {
		t.Fatalf("line %q, want %q", buf.String(), want)
	}
	buf.Reset()
	now = now.Add(progressEvery / 2)
	p.update(image.Progress{Files: 3, TotalFiles: 10, Bytes: 3 << 20, TotalBytes: 10 << 20})
	if buf.Len() != 0 {
		t.Errorf("updated too often: %q", buf.String())
	}
	p.update(image.Progress{Files: 10, TotalFiles: 10, Bytes: 10 << 20, TotalBytes: 10 << 20, Done: true})
	if !strings.Contains(buf.String(), "10/10 files") {
		t.Errorf("final update %q", buf.String())
	}
	buf.Reset()
	p.finish("wrote img: 10 files")
	if buf.String() != "\rgosv: wrote img: 10 files\x1b[K\n" {
		t.Errorf("finish %q", buf.String())
	}
	buf.Reset()
	p.finish("")
	if buf.String() != "\r\x1b[K" {
		t.Errorf("erase %q", buf.String())
	}
}

func TestBuildHelp(t *testing.T) {
	code, stdout, _ := run(t, "build", "--help")
	for _, s := range []string{"gosv-image.json", "initrd.cpio", "kernel.elf", "cmdline", "--manifest", "-o, --output", "python3.X", "perl"} {
		if code != 0 || !strings.Contains(stdout, s) {
			t.Errorf("build --help lacks %q", s)
		}
	}
}

// -p and --net given to build are the image's default network; run's own
// -p or --net replace it.
func TestBuildRecordsNetwork(t *testing.T) {
	h := setup(t, false, fakeELF, nil)
	exe := writeExe(t, "server")
	img := filepath.Join(t.TempDir(), "img") + "/"
	if code, _, stderr := run(t, "build", "-o", img, "-p", "8080:8080", "-p", "127.0.0.1:5353:53/udp", exe); code != 0 {
		t.Fatalf("build: code %d, stderr %q", code, stderr)
	}
	b, err := os.ReadFile(filepath.Join(img, "gosv-image.json"))
	if err != nil || !strings.Contains(string(b), `"ports": [
    "8080:8080/tcp",
    "127.0.0.1:5353:53/udp"
  ]`) {
		t.Fatalf("gosv-image.json: %s (%v)", b, err)
	}
	ports := func() (s []string) {
		for _, p := range h.cfg.Net.Ports {
			s = append(s, p.String())
		}
		return s
	}
	if code, _, stderr := run(t, "run", img); code != 0 || !slices.Equal(ports(), []string{"8080:8080/tcp", "127.0.0.1:5353:53/udp"}) {
		t.Fatalf("run image: code %d, stderr %q, net %+v", code, stderr, h.cfg.Net)
	}
	if code, _, _ := run(t, "run", "-p", "9090:80", img); code != 0 || !slices.Equal(ports(), []string{"9090:80/tcp"}) {
		t.Fatalf("run -p image: net %+v", h.cfg.Net)
	}
	if code, _, _ := run(t, "run", "--net", "none", img); code != 0 || h.cfg.Net.Mode != "none" || len(h.cfg.Net.Ports) != 0 {
		t.Fatalf("run --net none image: net %+v", h.cfg.Net)
	}
	if code, _, stderr := run(t, "build", "-o", img, "-p", "bad", exe); code != 125 || !strings.Contains(stderr, "gosv: -p bad:") {
		t.Fatalf("build -p bad: code %d, stderr %q", code, stderr)
	}
}
