package procfs_test

import (
	"strings"
	"testing"

	"github.com/gosv/gosv/kernel/fsimpl/kernfs"
	"github.com/gosv/gosv/kernel/fsimpl/procfs"
	"github.com/gosv/gosv/kernel/fsimpl/ramfs"
	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

var ctx = vfs.RootContext

// /proc mounted on a root filesystem: its mount files tell the truth about
// the table, creations are ENOENT, statfs says PROC_SUPER_MAGIC.
func TestProcfs(t *testing.T) {
	root := ramfs.NewRoot()
	ns := vfs.NewNamespace(root, "tmpfs", 0)
	f := vfs.NewFS(ns)
	proc := procfs.New(procfs.Root{List: func(vfs.Context) []*kernfs.Node { return procfs.MountFiles(ns) }})
	if err := f.MountFilesystem(ctx, proc, "proc", "/proc", vfs.MS_NOSUID|vfs.MS_NODEV|vfs.MS_NOEXEC); err != nil {
		t.Fatal(err)
	}
	file, _, err := f.Open(ctx, vfs.Loc{}, "/proc/mounts", unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, _ := file.Read(buf)
	if got, want := string(buf[:n]), "tmpfs / tmpfs rw,relatime 0 0\nproc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"; got != want {
		t.Errorf("mounts:\n%s\nwant:\n%s", got, want)
	}
	file, _, _ = f.Open(ctx, vfs.Loc{}, "/proc/mountinfo", unix.O_RDONLY, 0)
	n, _ = file.Read(buf)
	if lines := strings.Split(string(buf[:n]), "\n"); len(lines) != 3 ||
		!strings.HasPrefix(lines[1], "22 21 0:22 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw") {
		t.Errorf("mountinfo:\n%s", buf[:n])
	}
	st, err := f.Stat(ctx, vfs.Loc{}, "/proc", 0)
	if err != nil || st.Dev != procfs.Dev || st.Ino != 1 || st.Mode != vfs.S_IFDIR|0o555 {
		t.Errorf("stat /proc %+v %v", st, err)
	}
	l, _ := f.Lookup(ctx, vfs.Loc{}, "/proc", 0)
	if s := f.Statfs(l); s.Type != unix.PROC_SUPER_MAGIC || s.Flags&(vfs.ST_NOSUID|vfs.ST_NOEXEC) != vfs.ST_NOSUID|vfs.ST_NOEXEC {
		t.Errorf("statfs %+v", s)
	}
	if _, _, err := f.Open(ctx, vfs.Loc{}, "/proc/new", unix.O_CREAT|unix.O_WRONLY, 0o644); err != unix.ENOENT {
		t.Errorf("create in /proc: %v", err)
	}
	if err := f.Mkdir(ctx, vfs.Loc{}, "/proc/d", 0o755); err != unix.ENOENT {
		t.Errorf("mkdir in /proc: %v", err)
	}
}
