package initrd

import (
	"bytes"
	"errors"
	"io"
	iofs "io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cavaliergopher/cpio"
	"golang.org/x/sys/unix"

	kfs "github.com/gosv/gosv/kernel/fsimpl/ramfs"
	"github.com/gosv/gosv/kernel/vfs"
)

// makeTree builds a host directory tree with directories of several modes,
// an executable, a set-user-ID file, an empty file, a binary file spanning
// pages, and symlinks (relative, absolute, dangling, to a directory).
// guestFS is the guest's root filesystem as the kernel sees it through its
// VFS, with the path calls the checks below use.
type guestFS struct {
	*kfs.FS
	v *vfs.FS
}

func newGuestFS() *guestFS {
	g := kfs.NewRoot()
	return &guestFS{g, vfs.NewFS(vfs.NewNamespace(g, "tmpfs", 0))}
}

func (g *guestFS) Lstat(_ any, p string) (vfs.Stat, error) {
	return g.v.Lstat(vfs.RootContext, vfs.Loc{}, p)
}

func (g *guestFS) Stat(_ any, p string, flags int) (vfs.Stat, error) {
	return g.v.Stat(vfs.RootContext, vfs.Loc{}, p, flags)
}

func (g *guestFS) Open(_ any, p string, flags int, mode uint32) (vfs.File, error) {
	f, _, err := g.v.Open(vfs.RootContext, vfs.Loc{}, p, flags, mode)
	return f, err
}

func (g *guestFS) Readlink(_ any, p string) (string, error) {
	return g.v.Readlink(vfs.RootContext, vfs.Loc{}, p)
}

func (g *guestFS) Access(_ any, p string, mode uint32, flags int) error {
	return g.v.Access(vfs.RootContext, vfs.Loc{}, p, mode, flags)
}

func makeTree(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	mkdir := func(p string, mode os.FileMode) {
		if err := os.MkdirAll(filepath.Join(root, p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(root, p), mode); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p string, data []byte, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(root, p), data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(filepath.Join(root, p), mode); err != nil {
			t.Fatal(err)
		}
	}
	symlink := func(target, p string) {
		if err := os.Symlink(target, filepath.Join(root, p)); err != nil {
			t.Fatal(err)
		}
	}
	mkdir("bin", 0o755)
	mkdir("etc", 0o750)
	mkdir("usr/lib/x86_64-linux-gnu", 0o755)
	mkdir("var/empty", 0o700)
	mkdir("tmp2", 0o755|os.ModeSticky)
	big := make([]byte, 3*4096+123)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	write("bin/app", append([]byte("\x7fELF\x02\x01\x01"), big...), 0o755)
	write("bin/su", []byte("#!/bin/sh\n"), 0o755|os.ModeSetuid)
	write("etc/hostname", []byte("gosv\n"), 0o644)
	write("etc/secret", []byte("s3cret"), 0o600)
	write("etc/empty", nil, 0o444)
	write("usr/lib/x86_64-linux-gnu/libc.so.6", bytes.Repeat([]byte("libc"), 5000), 0o644)
	symlink("app", "bin/sh")
	symlink("usr/lib", "lib")
	symlink("/usr/lib/x86_64-linux-gnu/libc.so.6", "usr/lib/libc.so")
	symlink("../nowhere", "etc/dangling")
	return root
}

// entriesOf lists a host tree as initrd entries: directories with their
// host mode, files with Mode 0 (the host's), symlinks with their target.
func entriesOf(t *testing.T, root string) []Entry {
	t.Helper()
	var es []Entry
	err := filepath.WalkDir(root, func(p string, d iofs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		e := Entry{GuestPath: "/" + filepath.ToSlash(rel)}
		switch {
		case fi.IsDir():
			e.Dir, e.Mode = true, fi.Mode()
		case fi.Mode()&os.ModeSymlink != 0:
			e.Symlink, err = os.Readlink(p)
		default:
			e.HostPath = p
		}
		es = append(es, e)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// compareTree checks that every file of the host tree under root exists in
// the guest filesystem under guestDir with the same type, permissions,
// size, contents or target; with owners, also uid/gid, nlink and mtime.
func compareTree(t *testing.T, root string, g *guestFS, guestDir string, owners bool) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(root, func(p string, d iofs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		n++
		rel, _ := filepath.Rel(root, p)
		gp := guestDir + "/" + filepath.ToSlash(rel)
		hi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		hs := hi.Sys().(*syscall.Stat_t)
		gs, err := g.Lstat(nil, gp)
		if err != nil {
			t.Errorf("%s: %v", gp, err)
			return nil
		}
		if gs.Mode != hs.Mode {
			t.Errorf("%s: mode %#o, host %#o", gp, gs.Mode, hs.Mode)
		}
		switch hs.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			want, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			f, err := g.Open(nil, gp, unix.O_RDONLY, 0)
			if err != nil {
				t.Errorf("%s: open: %v", gp, err)
				return nil
			}
			got := make([]byte, len(want)+1)
			k, _ := f.Read(got)
			if !bytes.Equal(got[:k], want) {
				t.Errorf("%s: contents differ (%d bytes, host %d)", gp, k, len(want))
			}
			if gs.Size != hs.Size {
				t.Errorf("%s: size %d, host %d", gp, gs.Size, hs.Size)
			}
		case unix.S_IFLNK:
			want, _ := os.Readlink(p)
			got, err := g.Readlink(nil, gp)
			if got != want || err != nil {
				t.Errorf("%s: target %q (%v), host %q", gp, got, err, want)
			}
			if gs.Size != hs.Size {
				t.Errorf("%s: size %d, host %d", gp, gs.Size, hs.Size)
			}
		}
		if owners {
			if gs.UID != hs.Uid || gs.GID != hs.Gid {
				t.Errorf("%s: owner %d:%d, host %d:%d", gp, gs.UID, gs.GID, hs.Uid, hs.Gid)
			}
			if gs.Mtime.Sec != hs.Mtim.Sec {
				t.Errorf("%s: mtime %d, host %d", gp, gs.Mtime.Sec, hs.Mtim.Sec)
			}
			if hs.Mode&unix.S_IFMT != unix.S_IFDIR && gs.Nlink != uint64(hs.Nlink) {
				t.Errorf("%s: nlink %d, host %d", gp, gs.Nlink, hs.Nlink)
			}
		} else if gs.UID != 0 || gs.GID != 0 || gs.Mtime.Sec != 0 && hs.Mode&unix.S_IFMT != unix.S_IFDIR {
			t.Errorf("%s: owner %d:%d mtime %d, want root and 0", gp, gs.UID, gs.GID, gs.Mtime.Sec)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 10 {
		t.Fatalf("only %d files compared", n)
	}
}

func TestRoundTrip(t *testing.T) {
	root := makeTree(t)
	var buf bytes.Buffer
	if err := Write(&buf, entriesOf(t, root)); err != nil {
		t.Fatal(err)
	}
	g := newGuestFS()
	if err := g.UnpackCPIO(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	compareTree(t, root, g, "", false)
	if st, _ := g.Lstat(nil, "/bin/app"); st.Mtime.Sec != 0 {
		t.Errorf("mtime %d, want 0", st.Mtime.Sec)
	}
	// The executable runs through the symlinks as the loader would open it.
	f, err := g.Open(nil, "/bin/sh", unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	magic := make([]byte, 4)
	if _, err := f.Read(magic); err != nil || string(magic) != "\x7fELF" {
		t.Errorf("read via symlink %q %v", magic, err)
	}
	if err := g.Access(nil, "/bin/sh", unix.X_OK, 0); err != nil {
		t.Errorf("access X_OK: %v", err)
	}
	if err := g.Access(nil, "/etc/hostname", unix.X_OK, 0); err == nil {
		t.Errorf("non-executable file passes X_OK")
	}
	if st, _ := g.Stat(nil, "/lib/libc.so", 0); st.Size != 20000 {
		t.Errorf("absolute symlink through directory symlink: size %d", st.Size)
	}
}

// Same entries (in any order) and host files give the same bytes.
func TestDeterministic(t *testing.T) {
	root := makeTree(t)
	es := entriesOf(t, root)
	var a, b bytes.Buffer
	if err := Write(&a, es); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	r.Shuffle(len(es), func(i, j int) { es[i], es[j] = es[j], es[i] })
	// Touching the host files changes nothing either.
	os.Chtimes(filepath.Join(root, "bin/app"), time0(), time0())
	if err := Write(&b, es); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("archives differ (%d and %d bytes)", a.Len(), b.Len())
	}
}

// Parent directories come first, once each, and explicit directory
// entries supply their mode.
func TestParentsAndOrder(t *testing.T) {
	dir := t.TempDir()
	host := filepath.Join(dir, "f")
	os.WriteFile(host, []byte("x"), 0o644)
	es := []Entry{
		{GuestPath: "/usr/lib/b.so", HostPath: host},
		{GuestPath: "usr/bin/tool", HostPath: host, Mode: 0o700},
		{GuestPath: "/usr/lib/a.so", HostPath: host},
		{GuestPath: "/usr/", Dir: true, Mode: 0o711},
		{GuestPath: "/opt/link", Symlink: "../usr"},
		{GuestPath: "/", Dir: true},
	}
	var buf bytes.Buffer
	if err := Write(&buf, es); err != nil {
		t.Fatal(err)
	}
	type rec struct {
		name string
		mode cpio.FileMode
	}
	var got []rec
	r := cpio.NewReader(&buf)
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(time0()) || h.Uid != 0 || h.Guid != 0 {
			t.Errorf("%s: mtime %v owner %d:%d", h.Name, h.ModTime, h.Uid, h.Guid)
		}
		got = append(got, rec{h.Name, h.Mode})
	}
	want := []rec{
		{"opt", cpio.TypeDir | 0o755},
		{"opt/link", cpio.TypeSymlink | 0o777},
		{"usr", cpio.TypeDir | 0o711},
		{"usr/bin", cpio.TypeDir | 0o755},
		{"usr/bin/tool", cpio.TypeReg | 0o700},
		{"usr/lib", cpio.TypeDir | 0o755},
		{"usr/lib/a.so", cpio.TypeReg | 0o644},
		{"usr/lib/b.so", cpio.TypeReg | 0o644},
	}
	if len(got) != len(want) {
		t.Fatalf("entries %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %s %v, want %s %v", i, got[i].name, got[i].mode, want[i].name, want[i].mode)
		}
	}
}

func TestErrors(t *testing.T) {
	dir := t.TempDir()
	host := filepath.Join(dir, "f")
	os.WriteFile(host, []byte("x"), 0o644)
	missing := filepath.Join(dir, "x", "y")
	for _, c := range []struct {
		es   []Entry
		want string
	}{
		{[]Entry{{GuestPath: "/a", HostPath: missing}}, "initrd: " + missing + ": no such file or directory"},
		{[]Entry{{GuestPath: "/a", HostPath: dir}}, "initrd: " + dir + ": is a directory"},
		{[]Entry{{GuestPath: "/d", Dir: true, HostPath: missing}}, "initrd: " + missing + ": no such file or directory"},
		{[]Entry{{GuestPath: "/a", HostPath: host}, {GuestPath: "a", HostPath: host}}, "initrd: /a: duplicate guest path"},
		{[]Entry{{GuestPath: "/a", HostPath: host}, {GuestPath: "/a/b", HostPath: host}}, "initrd: /a/b: parent /a is not a directory"},
		{[]Entry{{GuestPath: "/", HostPath: host}}, "the root must be a directory"},
		{[]Entry{{GuestPath: "/a"}}, "initrd: /a: no host file"},
		{[]Entry{{GuestPath: "/dev/null", HostPath: "/dev/null"}}, "initrd: /dev/null: not a regular file"},
	} {
		err := Write(io.Discard, c.es)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
	err := Write(io.Discard, []Entry{{GuestPath: "/a", HostPath: missing}})
	if !errors.Is(err, iofs.ErrNotExist) || err.Error() != "initrd: "+missing+": no such file or directory" {
		t.Errorf("missing host file: %v", err)
	}
	// A failing archive writer is reported as such, not as a host error.
	err = Write(failWriter{}, []Entry{{GuestPath: "/a", HostPath: host}})
	if err == nil || !strings.Contains(err.Error(), "initrd: writing /a") {
		t.Errorf("write error: %v", err)
	}
}

func time0() time.Time { return time.Unix(0, 0) }

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// File contents are streamed, not read into memory.
func TestStreaming(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	const size = 64 << 20
	if err := f.Truncate(size); err != nil { // sparse: cheap on the host
		t.Fatal(err)
	}
	f.Close()
	var cw countWriter
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := Write(&cw, []Entry{{GuestPath: "/big", HostPath: p}}); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if cw.n < size {
		t.Errorf("wrote %d bytes", cw.n)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("allocated %d bytes to write a %d-byte file", alloc, size)
	}
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

func needCPIO(t *testing.T) string {
	p, err := exec.LookPath("cpio")
	if err != nil {
		t.Skip("cpio not installed (apt-get install -y cpio)")
	}
	return p
}

// An archive made by GNU cpio (with "." entries, "./" names, real owners
// and mtimes, and hard links) unpacks to the same tree.
func TestSystemCPIOArchive(t *testing.T) {
	cpioBin := needCPIO(t)
	root := makeTree(t)
	if err := os.Link(filepath.Join(root, "etc/hostname"), filepath.Join(root, "etc/hostname2")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(root, "etc/hostname"), filepath.Join(root, "bin/hostname3")); err != nil {
		t.Fatal(err)
	}
	var names []string
	filepath.WalkDir(root, func(p string, d iofs.DirEntry, err error) error {
		rel, _ := filepath.Rel(root, p)
		names = append(names, "./"+filepath.ToSlash(rel))
		return err
	})
	sort.Strings(names)
	cmd := exec.Command(cpioBin, "-o", "-H", "newc", "--quiet")
	cmd.Dir = root
	cmd.Stdin = strings.NewReader(strings.Join(names, "\n") + "\n")
	archive, err := cmd.Output()
	if err != nil {
		t.Fatalf("cpio -o: %v", err)
	}
	g := newGuestFS()
	if err := g.UnpackCPIO(bytes.NewReader(archive)); err != nil {
		t.Fatal(err)
	}
	compareTree(t, root, g, "", true)
	a, _ := g.Lstat(nil, "/etc/hostname")
	b, _ := g.Lstat(nil, "/bin/hostname3")
	if a.Ino != b.Ino || a.Nlink != 3 {
		t.Errorf("hard links: ino %d/%d nlink %d", a.Ino, b.Ino, a.Nlink)
	}
}

// GNU cpio extracts our archive to the same tree.
func TestSystemCPIOExtract(t *testing.T) {
	cpioBin := needCPIO(t)
	root := makeTree(t)
	var buf bytes.Buffer
	if err := Write(&buf, entriesOf(t, root)); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	cmd := exec.Command(cpioBin, "-i", "-d", "-m", "--quiet", "--no-absolute-filenames")
	cmd.Dir = out
	cmd.Stdin = &buf
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio -i: %v: %s", err, msg)
	}
	n := 0
	filepath.WalkDir(root, func(p string, d iofs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		n++
		rel, _ := filepath.Rel(root, p)
		q := filepath.Join(out, rel)
		hi, _ := os.Lstat(p)
		oi, err := os.Lstat(q)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		if hi.Mode() != oi.Mode() {
			t.Errorf("%s: mode %v, host %v", rel, oi.Mode(), hi.Mode())
		}
		switch {
		case hi.Mode().IsRegular():
			a, _ := os.ReadFile(p)
			b, _ := os.ReadFile(q)
			if !bytes.Equal(a, b) {
				t.Errorf("%s: contents differ", rel)
			}
			if oi.ModTime().Unix() != 0 {
				t.Errorf("%s: mtime %v", rel, oi.ModTime())
			}
		case hi.Mode()&os.ModeSymlink != 0:
			a, _ := os.Readlink(p)
			b, _ := os.Readlink(q)
			if a != b {
				t.Errorf("%s: target %q, host %q", rel, b, a)
			}
		}
		return nil
	})
	if n < 10 {
		t.Fatalf("only %d files compared", n)
	}
}
