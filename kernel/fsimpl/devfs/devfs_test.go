package devfs_test

import (
	"bytes"
	"testing"

	"github.com/gosv/gosv/kernel/fsimpl/devfs"
	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

func TestDevices(t *testing.T) {
	var out bytes.Buffer
	d := devfs.New(out.Write)
	f := vfs.NewFS(vfs.NewNamespace(d, "devtmpfs", 0))
	ctx := vfs.RootContext
	for _, c := range []struct {
		name string
		mode uint32
		rdev uint64
	}{
		{"/null", unix.S_IFCHR | 0o666, vfs.Mkdev(1, 3)},
		{"/zero", unix.S_IFCHR | 0o666, vfs.Mkdev(1, 5)},
		{"/full", unix.S_IFCHR | 0o666, vfs.Mkdev(1, 7)},
		{"/random", unix.S_IFCHR | 0o666, vfs.Mkdev(1, 8)},
		{"/urandom", unix.S_IFCHR | 0o666, vfs.Mkdev(1, 9)},
		{"/tty", unix.S_IFCHR | 0o666, vfs.Mkdev(5, 0)},
		{"/console", unix.S_IFCHR | 0o600, vfs.Mkdev(5, 1)},
		{"/shm", unix.S_IFDIR | 0o1777, 0},
	} {
		st, err := f.Lstat(ctx, vfs.Loc{}, c.name)
		if err != nil || st.Mode != c.mode || st.Rdev != c.rdev || st.Dev != devfs.Dev {
			t.Errorf("%s: %+v %v", c.name, st, err)
		}
	}
	for link, want := range map[string]string{"/fd": "/proc/self/fd", "/stdin": "/proc/self/fd/0",
		"/stdout": "/proc/self/fd/1", "/stderr": "/proc/self/fd/2"} {
		if got, err := f.Readlink(ctx, vfs.Loc{}, link); err != nil || got != want {
			t.Errorf("%s -> %q %v", link, got, err)
		}
	}
	tty, _, err := f.Open(ctx, vfs.Loc{}, "/tty", unix.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	tty.Write([]byte("hello"))
	if out.String() != "hello" {
		t.Errorf("console got %q", out.String())
	}
	z, _, _ := f.Open(ctx, vfs.Loc{}, "/zero", unix.O_RDONLY, 0)
	buf := []byte{1, 2, 3}
	if n, _ := z.Read(buf); n != 3 || buf[0] != 0 {
		t.Errorf("zero read %d %v", n, buf)
	}
	full, _, _ := f.Open(ctx, vfs.Loc{}, "/full", unix.O_WRONLY, 0)
	if _, err := full.Write(buf); err != unix.ENOSPC {
		t.Errorf("write to full: %v", err)
	}
}
