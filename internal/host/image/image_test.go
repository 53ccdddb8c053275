package image

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/cavaliergopher/cpio"

	"github.com/gosv/gosv/internal/elfexec"
)

// elfOpts shape a synthetic ELF executable.
type elfOpts struct {
	machine uint16 // 0: EM_X86_64
	interp  string // PT_INTERP path; "" for a static executable
	body    int    // extra bytes after the headers
}

// makeELF returns a minimal x86-64 ET_EXEC file: the ELF header, a PT_LOAD
// covering the whole file at 0x400000 with the entry point inside it, and
// optionally a PT_INTERP.
func makeELF(o elfOpts) []byte {
	le := binary.LittleEndian
	phnum := 1
	if o.interp != "" {
		phnum = 2
	}
	hdrs := elfexec.EhdrSize + phnum*elfexec.PhdrSize
	b := make([]byte, hdrs, hdrs+len(o.interp)+1+o.body)
	if o.interp != "" {
		b = append(b, o.interp...)
		b = append(b, 0)
	}
	for i := range o.body {
		b = append(b, byte(i*7))
	}
	b = append(b, 0xf4) // hlt: the entry point
	machine := o.machine
	if machine == 0 {
		machine = elfexec.EM_X86_64
	}
	const base = 0x400000
	copy(b, "\x7fELF\x02\x01\x01")
	le.PutUint16(b[16:], elfexec.ET_EXEC)
	le.PutUint16(b[18:], machine)
	le.PutUint32(b[20:], 1)
	le.PutUint64(b[24:], base+uint64(len(b)-1)) // e_entry: the hlt
	le.PutUint64(b[32:], elfexec.EhdrSize)      // e_phoff
	le.PutUint16(b[52:], elfexec.EhdrSize)
	le.PutUint16(b[54:], elfexec.PhdrSize)
	le.PutUint16(b[56:], uint16(phnum))
	ph := func(i int, typ, flags uint32, off, vaddr, size, align uint64) {
		p := b[elfexec.EhdrSize+i*elfexec.PhdrSize:]
		le.PutUint32(p[0:], typ)
		le.PutUint32(p[4:], flags)
		le.PutUint64(p[8:], off)
		le.PutUint64(p[16:], vaddr)
		le.PutUint64(p[24:], vaddr)
		le.PutUint64(p[32:], size)
		le.PutUint64(p[40:], size)
		le.PutUint64(p[48:], align)
	}
	ph(0, elfexec.PT_LOAD, 5, 0, base, uint64(len(b)), 0x1000)
	if o.interp != "" {
		ph(1, elfexec.PT_INTERP, 4, uint64(hdrs), base+uint64(hdrs), uint64(len(o.interp)+1), 1)
	}
	return b
}

func writeFile(t *testing.T, p string, data []byte, mode os.FileMode) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// archived is one entry read back from an initrd.
type archived struct {
	mode cpio.FileMode
	data string // contents, or the symlink target
}

// readInitrd reads the archive back with an independent cpio reader and
// returns its entries by name, checking the order (a directory before its
// contents) and the trailer.
func readInitrd(t *testing.T, p string) (map[string]archived, []string) {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := cpio.NewReader(f)
	got := map[string]archived{}
	var names []string
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("reading %s: %v", p, err)
		}
		if dir := filepath.Dir(h.Name); dir != "." {
			if e, ok := got[dir]; !ok || !e.mode.IsDir() {
				t.Errorf("%s comes before its directory %s", h.Name, dir)
			}
		}
		data, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if h.Mode&^cpio.ModePerm == cpio.TypeSymlink {
			data = []byte(h.Linkname)
		}
		if h.Uid != 0 || h.Guid != 0 {
			t.Errorf("%s: owner %d:%d", h.Name, h.Uid, h.Guid)
		}
		got[h.Name] = archived{h.Mode, string(data)}
		names = append(names, h.Name)
	}
	return got, names
}

func TestBuildStatic(t *testing.T) {
	dir := t.TempDir()
	exe := writeFile(t, filepath.Join(dir, "bin", "hello"), makeELF(elfOpts{body: 5000}), 0o751)
	out := t.TempDir()
	im, err := Build(Options{
		Exe: exe, Args: []string{"a b", ""}, Env: []string{"A=1", "B=x y=z"}, Cwd: "/tmp",
		KernelArgs: []string{"--verbose"}, Dir: out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if im.HostExe != exe || im.GuestExe != "/hello" || im.Info == nil || im.Info.Type != elfexec.Static {
		t.Errorf("image %+v", im)
	}
	want := []string{"--verbose", "--env=A=1", "--env=B=x y=z", "--cwd=/tmp", "/hello", "a b", ""}
	if !slices.Equal(im.Cmdline, want) {
		t.Errorf("cmdline %q, want %q", im.Cmdline, want)
	}
	if filepath.Dir(im.Initrd) != out {
		t.Errorf("initrd %s not in %s", im.Initrd, out)
	}
	got, names := readInitrd(t, im.Initrd)
	if !slices.Equal(names, []string{"hello"}) {
		t.Errorf("names %q", names)
	}
	data, _ := os.ReadFile(exe)
	if e := got["hello"]; e.mode != cpio.TypeReg|0o751 || e.data != string(data) {
		t.Errorf("hello: mode %o, %d bytes; want %o, %d bytes", e.mode, len(e.data), cpio.TypeReg|0o751, len(data))
	}
	if err := im.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(im.Initrd); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("initrd not removed: %v", err)
	}
}

// A bare name is looked up in $PATH; the guest path keeps the name the
// file was found under (a symlink is not resolved: multi-call binaries
// such as busybox dispatch on argv[0]), the contents are the target's.
func TestBuildLookPathAndSymlink(t *testing.T) {
	dir := t.TempDir()
	elf := makeELF(elfOpts{})
	writeFile(t, filepath.Join(dir, "real", "busybox"), elf, 0o755)
	if err := os.Symlink("real/busybox", filepath.Join(dir, "sh")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", "/nonexistent:"+dir)
	im, err := Build(Options{Exe: "sh", Args: []string{"-c", "echo hi"}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Remove()
	if im.HostExe != filepath.Join(dir, "sh") || im.GuestExe != "/sh" {
		t.Errorf("host %s guest %s", im.HostExe, im.GuestExe)
	}
	if want := []string{"/sh", "-c", "echo hi"}; !slices.Equal(im.Cmdline, want) {
		t.Errorf("cmdline %q", im.Cmdline)
	}
	got, _ := readInitrd(t, im.Initrd)
	if e := got["sh"]; e.mode != cpio.TypeReg|0o755 || e.data != string(elf) {
		t.Errorf("sh: mode %o, %d bytes", e.mode, len(e.data))
	}
}

func TestBuildCopies(t *testing.T) {
	host := t.TempDir()
	elf := makeELF(elfOpts{body: 100})
	// A tree with modes, an empty directory, symlinks of every kind, and
	// the executable inside it.
	writeFile(t, filepath.Join(host, "app", "bin", "server"), elf, 0o755)
	writeFile(t, filepath.Join(host, "app", "etc", "conf"), []byte("k=v\n"), 0o640)
	writeFile(t, filepath.Join(host, "app", "lib", "libx.so.1"), []byte("lib"), 0o644)
	if err := os.MkdirAll(filepath.Join(host, "app", "var", "empty"), 0o700); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(host, "app", "var"), 0o755)
	os.Chmod(filepath.Join(host, "app", "etc"), 0o750)
	for link, target := range map[string]string{
		"app/lib/libx.so":  "libx.so.1",
		"app/bin/abs":      "/usr/bin/env",
		"app/bin/dangling": "../nowhere",
		"app/libdir":       "lib",
	} {
		if err := os.Symlink(target, filepath.Join(host, link)); err != nil {
			t.Fatal(err)
		}
	}
	// A symlink to the tree: followed at the top level.
	if err := os.Symlink("app", filepath.Join(host, "applink")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(host, "hosts"), []byte("127.0.0.1 localhost\n"), 0o644)
	writeFile(t, filepath.Join(host, "motd"), []byte("hi\n"), 0o600)
	writeFile(t, filepath.Join(host, "root", "README"), []byte("root file\n"), 0o644)

	im, err := Build(Options{
		Exe: filepath.Join(host, "app", "bin", "server"),
		Copies: []Copy{
			{filepath.Join(host, "applink"), "/opt/app"},
			{filepath.Join(host, "hosts"), "/etc/hosts"},
			{filepath.Join(host, "motd"), "/etc/"},
			{filepath.Join(host, "root"), "/"},
		},
		Dir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Remove()
	// The executable is where the copy of its tree put it, and only there.
	if im.GuestExe != "/opt/app/bin/server" || im.Cmdline[0] != "/opt/app/bin/server" {
		t.Errorf("guest exe %s, cmdline %q", im.GuestExe, im.Cmdline)
	}
	got, _ := readInitrd(t, im.Initrd)
	want := map[string]archived{
		"opt":                   {cpio.TypeDir | 0o755, ""},
		"opt/app":               {cpio.TypeDir | 0o755, ""},
		"opt/app/bin":           {cpio.TypeDir | 0o755, ""},
		"opt/app/bin/server":    {cpio.TypeReg | 0o755, string(elf)},
		"opt/app/bin/abs":       {cpio.TypeSymlink | 0o777, "/usr/bin/env"},
		"opt/app/bin/dangling":  {cpio.TypeSymlink | 0o777, "../nowhere"},
		"opt/app/etc":           {cpio.TypeDir | 0o750, ""},
		"opt/app/etc/conf":      {cpio.TypeReg | 0o640, "k=v\n"},
		"opt/app/lib":           {cpio.TypeDir | 0o755, ""},
		"opt/app/lib/libx.so.1": {cpio.TypeReg | 0o644, "lib"},
		"opt/app/lib/libx.so":   {cpio.TypeSymlink | 0o777, "libx.so.1"},
		"opt/app/libdir":        {cpio.TypeSymlink | 0o777, "lib"},
		"opt/app/var":           {cpio.TypeDir | 0o755, ""},
		"opt/app/var/empty":     {cpio.TypeDir | 0o700, ""},
		"etc":                   {cpio.TypeDir | 0o755, ""},
		"etc/hosts":             {cpio.TypeReg | 0o644, "127.0.0.1 localhost\n"},
		"etc/motd":              {cpio.TypeReg | 0o600, "hi\n"},
		"README":                {cpio.TypeReg | 0o644, "root file\n"},
	}
	for name, w := range want {
		g, ok := got[name]
		if !ok {
			t.Errorf("%s missing", name)
			continue
		}
		if g != w {
			t.Errorf("%s: mode %o %q, want %o %q", name, g.mode, g.data, w.mode, w.data)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("unexpected entry %s", name)
		}
	}
}

// A copy of the executable's own file decides its guest path.
func TestBuildExeCopiedExplicitly(t *testing.T) {
	dir := t.TempDir()
	exe := writeFile(t, filepath.Join(dir, "hello"), makeELF(elfOpts{}), 0o755)
	im, err := Build(Options{Exe: exe, Args: []string{"x"}, Copies: []Copy{{exe, "/usr/bin/hi"}}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Remove()
	if want := []string{"/usr/bin/hi", "x"}; im.GuestExe != "/usr/bin/hi" || !slices.Equal(im.Cmdline, want) {
		t.Errorf("guest %s, cmdline %q", im.GuestExe, im.Cmdline)
	}
	_, names := readInitrd(t, im.Initrd)
	if want := []string{"usr", "usr/bin", "usr/bin/hi"}; !slices.Equal(names, want) {
		t.Errorf("names %q, want %q", names, want)
	}
}

func TestBuildNoExe(t *testing.T) {
	im, err := Build(Options{KernelArgs: []string{"--selftest"}, Env: []string{"A=B"}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if im.Initrd != "" || im.GuestExe != "" || !slices.Equal(im.Cmdline, []string{"--selftest", "--env=A=B"}) {
		t.Errorf("image %+v", im)
	}
	if err := im.Remove(); err != nil {
		t.Error(err)
	}
}

// A large file is streamed: building the image allocates far less than
// the file's size, and the contents arrive intact.
func TestBuildLargeFileStreamed(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 64 MiB")
	}
	dir := t.TempDir()
	const size = 64 << 20
	exe := writeFile(t, filepath.Join(dir, "big"), makeELF(elfOpts{body: 4096}), 0o755)
	f, err := os.OpenFile(exe, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	h := sha256.New()
	data, _ := os.ReadFile(exe)
	h.Write(data)
	for n := len(data); n < size; n += len(chunk) {
		f.Write(chunk)
		h.Write(chunk)
	}
	f.Close()
	want := h.Sum(nil)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	im, err := Build(Options{Exe: exe, Dir: t.TempDir()})
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	defer im.Remove()
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
		t.Errorf("Build allocated %d MiB for a %d MiB file", alloc>>20, size>>20)
	}
	rf, err := os.Open(im.Initrd)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	r := cpio.NewReader(rf)
	hdr, err := r.Next()
	if err != nil || hdr.Name != "big" {
		t.Fatalf("first entry %v, %v", hdr, err)
	}
	h.Reset()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h.Sum(nil), want) {
		t.Error("contents differ")
	}
}

func TestResolveErrors(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("PATH", dir)
	text := writeFile(t, filepath.Join(dir, "notes.txt"), []byte("just some text\n"), 0o755)
	script := writeFile(t, filepath.Join(dir, "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755)
	empty := writeFile(t, filepath.Join(dir, "empty"), nil, 0o755)
	elf := makeELF(elfOpts{})
	truncated := writeFile(t, filepath.Join(dir, "truncated"), elf[:40], 0o755)
	shortPH := writeFile(t, filepath.Join(dir, "short-ph"), elf[:elfexec.EhdrSize+10], 0o755)
	arm := writeFile(t, filepath.Join(dir, "arm"), makeELF(elfOpts{machine: 183}), 0o755)
	dyn := writeFile(t, filepath.Join(dir, "dyn"), makeELF(elfOpts{interp: "/nonexistent/ld.so"}), 0o755)
	noexec := writeFile(t, filepath.Join(dir, "noexec"), elf, 0o644)
	bad := make([]byte, len(elf))
	copy(bad, elf)
	binary.LittleEndian.PutUint64(bad[24:], 0x10) // entry outside the segment
	badEntry := writeFile(t, filepath.Join(dir, "bad-entry"), bad, 0o755)
	if err := os.Symlink("nowhere", filepath.Join(dir, "dangling")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		status int
		msg    string // the whole message
	}{
		{filepath.Join(dir, "missing"), 127, filepath.Join(dir, "missing") + ": no such file"},
		{"missing", 127, "missing: not found in $PATH"},
		{filepath.Join(dir, "dangling"), 127, filepath.Join(dir, "dangling") + ": no such file"},
		{filepath.Join(dir, "notes.txt", "x"), 126, filepath.Join(dir, "notes.txt", "x") + ": not a directory"},
		{dir, 126, dir + ": is a directory"},
		{"/dev/null", 126, "/dev/null: not a regular file (a character device)"},
		{text, 126, text + ": not an ELF executable"},
		{"notes.txt", 126, text + ": not an ELF executable"},
		{script, 126, script + ": a script (#!), not an ELF executable: scripts are not supported yet"},
		{empty, 126, empty + ": not an ELF executable"},
		{truncated, 126, truncated + ": invalid ELF executable: truncated: ELF header needs 64 bytes, file has 40"},
		{shortPH, 126, shortPH + ": invalid ELF executable: truncated: program header 0 lies past end of file (size 74)"},
		{arm, 126, arm + ": not an x86-64 executable (machine EM_AARCH64)"},
		{dyn, 126, dyn + ": interpreter /nonexistent/ld.so (PT_INTERP of " + dyn + "): no such file"},
		{noexec, 126, noexec + ": permission denied (no execute permission)"},
		{badEntry, 126, badEntry + ": invalid ELF executable: entry point 0x10 lies outside every loadable segment"},
	}
	for _, c := range cases {
		_, err := Build(Options{Exe: c.name, Dir: t.TempDir()})
		var ee *ExecError
		if !errors.As(err, &ee) {
			t.Errorf("%s: error %v, want an *ExecError", c.name, err)
			continue
		}
		if ee.Status != c.status || err.Error() != c.msg {
			t.Errorf("%s: %d %q\n want %d %q", c.name, ee.Status, err, c.status, c.msg)
		}
	}
	if p, info, err := Resolve(dyn); err != nil || p != dyn || info.Type != elfexec.Dynamic {
		t.Errorf("Resolve(dynamic) = %q, %v, %v", p, info, err)
	}
	if os.Geteuid() != 0 {
		unreadable := writeFile(t, filepath.Join(dir, "unreadable"), elf, 0o111)
		_, err := Build(Options{Exe: unreadable})
		if err == nil || err.Error() != unreadable+": permission denied" {
			t.Errorf("unreadable: %v", err)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	dir := t.TempDir()
	exe := writeFile(t, filepath.Join(dir, "hello"), makeELF(elfOpts{}), 0o755)
	other := writeFile(t, filepath.Join(dir, "other"), []byte("other"), 0o644)
	writeFile(t, filepath.Join(dir, "tree", "hello"), []byte("not the exe"), 0o644)
	writeFile(t, filepath.Join(dir, "tree2", "x"), []byte("x"), 0o644)
	writeFile(t, filepath.Join(dir, "fifotree", "a"), []byte("a"), 0o644)
	if err := syscall.Mkfifo(filepath.Join(dir, "fifotree", "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		o    Options
		msg  string
	}{
		{"missing copy", Options{Exe: exe, Copies: []Copy{{filepath.Join(dir, "nope"), "/x"}}},
			"--copy " + dir + "/nope:/x: " + dir + "/nope: no such file or directory"},
		{"relative guest", Options{Copies: []Copy{{other, "x"}}}, "want HOST_PATH:/GUEST_PATH"},
		{"special file", Options{Copies: []Copy{{"/dev/null", "/dev/null"}}}, "/dev/null: not a regular file or directory"},
		{"exe clashes with a copy", Options{Exe: exe, Copies: []Copy{{other, "/hello"}}},
			"the executable " + exe + ": guest path /hello is already taken by --copy " + other + ":/hello"},
		{"tree clashes with the exe", Options{Exe: exe, Copies: []Copy{{filepath.Join(dir, "tree"), "/"}}},
			"the executable " + exe + ": guest path /hello is already taken by --copy " + dir + "/tree:/"},
		{"two files", Options{Copies: []Copy{{other, "/a"}, {exe, "/a"}}},
			"--copy " + exe + ":/a: guest path /a is already taken by --copy " + other + ":/a"},
		{"file over a directory", Options{Copies: []Copy{{filepath.Join(dir, "tree2"), "/t"}, {other, "/t"}}},
			"guest path /t is already taken by a directory of --copy " + dir + "/tree2:/t"},
		{"file as parent", Options{Copies: []Copy{{other, "/t"}, {filepath.Join(dir, "tree2"), "/t/sub"}}},
			"parent /t is not a directory"},
		{"fifo in a tree", Options{Copies: []Copy{{filepath.Join(dir, "fifotree"), "/f"}}},
			dir + "/fifotree/fifo: not a regular file, directory or symbolic link (a named pipe)"},
		{"bad env", Options{Env: []string{"NOVALUE"}}, `environment entry "NOVALUE": want NAME=VALUE`},
		{"empty env name", Options{Env: []string{"=x"}}, `environment entry "=x": want NAME=VALUE`},
	}
	for _, c := range cases {
		out := t.TempDir()
		c.o.Dir = out
		im, err := Build(c.o)
		if err == nil {
			im.Remove()
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: %q\n want it to contain %q", c.name, err, c.msg)
		}
		if left, _ := os.ReadDir(out); len(left) != 0 {
			t.Errorf("%s: left %d files behind", c.name, len(left))
		}
	}
	// Two directories may share a guest directory: their contents merge.
	im, err := Build(Options{Copies: []Copy{{filepath.Join(dir, "tree"), "/m"}, {filepath.Join(dir, "tree2"), "/m"}}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer im.Remove()
	got, _ := readInitrd(t, im.Initrd)
	if got["m/hello"].data != "not the exe" || got["m/x"].data != "x" {
		t.Errorf("merged tree: %v", got)
	}
}

func TestParseCopy(t *testing.T) {
	cases := []struct {
		in   string
		want Copy
		err  string
	}{
		{"a:/b", Copy{"a", "/b"}, ""},
		{"/x/y:/", Copy{"/x/y", "/"}, ""},
		{"c:d:/e", Copy{"c:d", "/e"}, ""},
		{"a", Copy{}, `"a": want HOST_PATH:GUEST_PATH`},
		{":/b", Copy{}, `":/b": empty host path`},
		{"a:", Copy{}, `"a:": empty guest path`},
		{"a:b", Copy{}, `"a:b": guest path b is not absolute`},
	}
	for _, c := range cases {
		got, err := ParseCopy(c.in)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("ParseCopy(%q) = %v, %v; want error %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseCopy(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}
