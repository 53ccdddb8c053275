package kernfs_test

import (
	"testing"

	"github.com/gosv/gosv/kernel/fsimpl/kernfs"
	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

var ctx = vfs.RootContext

func newTree() *vfs.FS {
	n := 0
	counter := kernfs.Reg("counter", 0o444, func(vfs.Context) []byte { n++; return []byte{byte('0' + n)} })
	var written []byte
	sink := &kernfs.Node{Name: "sink", Mode: vfs.S_IFREG | 0o644,
		Data:  func(vfs.Context) []byte { return written },
		Write: func(_ vfs.Context, b []byte) (int, error) { written = append(written, b...); return len(b), nil }}
	root := kernfs.Dir("", 0o555, func(vfs.Context) []*kernfs.Node {
		return []*kernfs.Node{counter, sink, kernfs.Text("ro", "x"), kernfs.SymlinkTo("link", "ro"),
			kernfs.Dir("sub", 0o555, func(vfs.Context) []*kernfs.Node { return []*kernfs.Node{kernfs.Text("f", "in sub")} })}
	})
	fs := kernfs.New("testfs", 0x1234, vfs.Mkdev(0, 99), kernfs.Errors{Create: unix.EPERM, CreateOpen: unix.EACCES}, root)
	return vfs.NewFS(vfs.NewNamespace(fs, "test", 0))
}

func TestKernfs(t *testing.T) {
	f := newTree()
	read := func(path string) string {
		file, _, err := f.Open(ctx, vfs.Loc{}, path, unix.O_RDONLY, 0)
		if err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		buf := make([]byte, 100)
		n, _ := file.Read(buf)
		return string(buf[:n])
	}
	// Each open takes a new snapshot.
	if a, b := read("/counter"), read("/counter"); a != "1" || b != "2" {
		t.Errorf("snapshots %q %q", a, b)
	}
	if s := read("/link"); s != "x" {
		t.Errorf("through the link: %q", s)
	}
	if s := read("/sub/../sub/f"); s != "in sub" {
		t.Errorf("sub/f %q", s)
	}
	w, _, err := f.Open(ctx, vfs.Loc{}, "/sink", unix.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := w.Write([]byte("abc")); n != 3 || err != nil || read("/sink") != "abc" {
		t.Errorf("write to sink: %d %v", n, err)
	}
	if _, err := w.Read(make([]byte, 1)); err != unix.EBADF {
		t.Errorf("read of a write-only file: %v", err)
	}
	ro, _, _ := f.Open(ctx, vfs.Loc{}, "/ro", unix.O_RDWR, 0)
	if _, err := ro.Write([]byte("y")); err != unix.EINVAL {
		t.Errorf("write without a write operation: %v", err)
	}
	// Stat: size 0, stable inode numbers from the path, the root is 1.
	st, err := f.Stat(ctx, vfs.Loc{}, "/sub/f", 0)
	if err != nil || st.Size != 0 || st.Ino != kernfs.Ino("/sub/f") || st.Dev != vfs.Mkdev(0, 99) || st.Mode != vfs.S_IFREG|0o444 {
		t.Errorf("stat /sub/f %+v %v", st, err)
	}
	if st, _ := f.Stat(ctx, vfs.Loc{}, "/", 0); st.Ino != 1 || st.Nlink != 2 {
		t.Errorf("stat / %+v", st)
	}
	if kernfs.Ino("/a") == kernfs.Ino("/b") {
		t.Error("inode numbers collide")
	}
	// Errors of the operations kernfs does not have.
	_, _, err = f.Open(ctx, vfs.Loc{}, "/new", unix.O_CREAT|unix.O_WRONLY, 0o644)
	if err != unix.EACCES {
		t.Errorf("create: %v", err)
	}
	for what, err := range map[string]error{
		"mkdir":    f.Mkdir(ctx, vfs.Loc{}, "/d", 0o755),
		"unlink":   f.Unlink(ctx, vfs.Loc{}, "/ro"),
		"rename":   f.Rename(ctx, vfs.Loc{}, "/ro", vfs.Loc{}, "/ro2", 0),
		"chmod":    f.Chmod(ctx, vfs.Loc{}, "/ro", 0o600, 0),
		"truncate": f.Truncate(ctx, vfs.Loc{}, "/sink", 0),
	} {
		want := unix.EPERM
		if what == "truncate" {
			want = unix.EACCES
		}
		if err != want {
			t.Errorf("%s: %v, want %v", what, err, want)
		}
	}
	_, _, err = f.Open(ctx, vfs.Loc{}, "/sub", unix.O_RDWR, 0)
	if err != unix.EISDIR {
		t.Errorf("open dir for writing: %v", err)
	}
	_, _, err = f.Open(ctx, vfs.Loc{}, "/ro", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != unix.ENOTDIR {
		t.Errorf("O_DIRECTORY on a file: %v", err)
	}
	// Listing.
	d, _, err := f.Open(ctx, vfs.Loc{}, "/", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := d.ReadDir(buf)
	ents, _ := vfs.ParseDirents(buf[:n])
	if err != nil || len(ents) != 7 || ents[0].Name != "." || ents[1].Ino != 2 || ents[5].Name != "link" || ents[5].Type != unix.DT_LNK {
		t.Errorf("listing %+v %v", ents, err)
	}
	if n, _ := d.ReadDir(buf); n != 0 {
		t.Errorf("second read %d", n)
	}
}
