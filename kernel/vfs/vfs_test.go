package vfs_test

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/gosv/gosv/kernel/fsimpl/kernfs"
	"github.com/gosv/gosv/kernel/fsimpl/ramfs"
	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

var ctx = vfs.RootContext

// newFS returns a root filesystem with /etc/hostname, /mnt, /mnt2 and
// /tmp, and tmpfs registered for mount(2).
func newFS(t *testing.T) *vfs.FS {
	t.Helper()
	root := ramfs.NewRoot()
	ns := vfs.NewNamespace(root, "rootfs", 0)
	ns.RegisterType("tmpfs", ramfs.NewTmpfs(64<<20))
	f := vfs.NewFS(ns)
	for _, d := range []string{"/mnt", "/mnt2"} {
		ok(t, f.Mkdir(ctx, vfs.Loc{}, d, 0o755))
	}
	write(t, f, "/etc/hostname", "gosv\n")
	return f
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func wantErr(t *testing.T, what string, err error, want unix.Errno) {
	t.Helper()
	var got unix.Errno
	if !errors.As(err, &got) || got != want {
		t.Errorf("%s: got %v, want %v", what, err, want)
	}
}

func write(t *testing.T, f *vfs.FS, path, data string) {
	t.Helper()
	file, _, err := f.Open(ctx, vfs.Loc{}, path, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, 0o644)
	ok(t, err)
	_, err = file.Write([]byte(data))
	ok(t, err)
	file.Close()
}

func read(t *testing.T, f *vfs.FS, path string) string {
	t.Helper()
	file, _, err := f.Open(ctx, vfs.Loc{}, path, unix.O_RDONLY, 0)
	ok(t, err)
	buf := make([]byte, 4096)
	n, err := file.Read(buf)
	ok(t, err)
	return string(buf[:n])
}

func TestMountCrossing(t *testing.T) {
	f := newFS(t)
	before, err := f.Stat(ctx, vfs.Loc{}, "/mnt", 0)
	ok(t, err)
	ok(t, f.MountAt(ctx, "none", "/mnt", "tmpfs", 0, "size=1m"))
	st, err := f.Stat(ctx, vfs.Loc{}, "/mnt", 0)
	ok(t, err)
	if st.Dev == before.Dev || st.Mode != unix.S_IFDIR|0o1777 {
		t.Errorf("mounted root: dev %#x (covered %#x) mode %o", st.Dev, before.Dev, st.Mode)
	}
	write(t, f, "/mnt/f", "hi")
	if s := read(t, f, "/mnt/./f"); s != "hi" {
		t.Errorf("read %q", s)
	}
	// ".." of the mounted root is the parent of the mount point.
	h, err := f.Stat(ctx, vfs.Loc{}, "/mnt/../etc/hostname", 0)
	ok(t, err)
	if h.Size != 5 {
		t.Errorf("/mnt/../etc/hostname size %d", h.Size)
	}
	ok(t, f.Mkdir(ctx, vfs.Loc{}, "/mnt/sub", 0o755))
	ok(t, f.Chdir(ctx, vfs.Loc{}, "/mnt/sub"))
	if cwd, _ := f.Getcwd(); cwd != "/mnt/sub" {
		t.Errorf("getcwd %q", cwd)
	}
	if s := read(t, f, "../f"); s != "hi" {
		t.Errorf("../f from /mnt/sub = %q", s)
	}
	if s := read(t, f, "../../etc/hostname"); s != "gosv\n" {
		t.Errorf("../../etc/hostname = %q", s)
	}
	wantErr(t, "umount busy cwd", f.Umount(ctx, "/mnt", 0), unix.EBUSY)
	ok(t, f.Chdir(ctx, vfs.Loc{}, "/"))
	// An open file keeps the mount busy until released.
	_, w, err := f.Open(ctx, vfs.Loc{}, "/mnt/f", unix.O_RDONLY, 0)
	ok(t, err)
	w.Loc.M.Hold()
	wantErr(t, "umount with an open file", f.Umount(ctx, "/mnt", 0), unix.EBUSY)
	w.Loc.M.Release()
	// Cross-mount link and rename are EXDEV, as is RESOLVE_NO_XDEV.
	wantErr(t, "link across mounts", f.Link(ctx, vfs.Loc{}, "/etc/hostname", vfs.Loc{}, "/mnt/h", 0), unix.EXDEV)
	wantErr(t, "rename across mounts", f.Rename(ctx, vfs.Loc{}, "/mnt/f", vfs.Loc{}, "/f", 0), unix.EXDEV)
	_, _, err = f.OpenResolve(ctx, vfs.Loc{}, "/mnt/f", unix.O_RDONLY, 0, vfs.RESOLVE_NO_XDEV)
	wantErr(t, "RESOLVE_NO_XDEV", err, unix.EXDEV)
	// The mount point cannot be removed or renamed while mounted.
	wantErr(t, "rmdir mount point", f.Rmdir(ctx, vfs.Loc{}, "/mnt"), unix.EBUSY)
	wantErr(t, "rename mount point", f.Rename(ctx, vfs.Loc{}, "/mnt", vfs.Loc{}, "/mnt3", 0), unix.EBUSY)
	// A mount below keeps /mnt busy unless detached.
	ok(t, f.MountAt(ctx, "none", "/mnt/sub", "tmpfs", 0, ""))
	wantErr(t, "umount with submount", f.Umount(ctx, "/mnt", 0), unix.EBUSY)
	ok(t, f.Umount(ctx, "/mnt", vfs.MNT_DETACH))
	if _, err := f.Stat(ctx, vfs.Loc{}, "/mnt/f", 0); !errors.Is(err, unix.ENOENT) {
		t.Errorf("file visible after umount: %v", err)
	}
	if m := string(f.NS.ProcMounts()); strings.Contains(m, "/mnt") {
		t.Errorf("mounts after umount:\n%s", m)
	}
}

func TestMountErrors(t *testing.T) {
	f := newFS(t)
	wantErr(t, "unknown type", f.MountAt(ctx, "none", "/mnt", "nosuchfs", 0, ""), unix.ENODEV)
	wantErr(t, "missing target", f.MountAt(ctx, "none", "/nowhere", "tmpfs", 0, ""), unix.ENOENT)
	wantErr(t, "file target", f.MountAt(ctx, "none", "/etc/hostname", "tmpfs", 0, ""), unix.ENOTDIR)
	wantErr(t, "bad option", f.MountAt(ctx, "none", "/mnt", "tmpfs", 0, "bogus"), unix.EINVAL)
	wantErr(t, "bad size", f.MountAt(ctx, "none", "/mnt", "tmpfs", 0, "size=12q"), unix.EINVAL)
	wantErr(t, "remount of no mount", f.MountAt(ctx, "", "/mnt", "", vfs.MS_REMOUNT, ""), unix.EINVAL)
	wantErr(t, "umount of no mount", f.Umount(ctx, "/mnt", 0), unix.EINVAL)
	wantErr(t, "umount root", f.Umount(ctx, "/", 0), unix.EBUSY)
	wantErr(t, "umount bad flags", f.Umount(ctx, "/mnt", 0x100), unix.EINVAL)
	wantErr(t, "umount missing", f.Umount(ctx, "/nowhere", 0), unix.ENOENT)
	ok(t, f.MountAt(ctx, "none", "/mnt", "tmpfs", vfs.MS_MGC_VAL|vfs.MS_NOSUID, "mode=755,uid=5"))
	wantErr(t, "propagation of no mount", f.MountAt(ctx, "", "/mnt2", "", vfs.MS_PRIVATE, ""), unix.EINVAL)
	ok(t, f.MountAt(ctx, "", "/mnt", "", vfs.MS_PRIVATE|vfs.MS_REC, ""))
	st, _ := f.Stat(ctx, vfs.Loc{}, "/mnt", 0)
	if st.Mode != unix.S_IFDIR|0o755 || st.UID != 5 {
		t.Errorf("mode= and uid= options: %+v", st)
	}
	if m := string(f.NS.ProcMounts()); !strings.Contains(m, "none /mnt tmpfs rw,nosuid,relatime,mode=755,uid=5 0 0\n") {
		t.Errorf("mounts:\n%s", m)
	}
}

func TestStackedMounts(t *testing.T) {
	f := newFS(t)
	ok(t, f.MountAt(ctx, "a", "/mnt", "tmpfs", 0, ""))
	write(t, f, "/mnt/a", "a")
	ok(t, f.MountAt(ctx, "b", "/mnt", "tmpfs", 0, ""))
	if _, err := f.Stat(ctx, vfs.Loc{}, "/mnt/a", 0); !errors.Is(err, unix.ENOENT) {
		t.Errorf("lower mount visible: %v", err)
	}
	ok(t, f.Umount(ctx, "/mnt", 0))
	if s := read(t, f, "/mnt/a"); s != "a" {
		t.Errorf("after unmounting the top: %q", s)
	}
}

func TestBindMount(t *testing.T) {
	f := newFS(t)
	ok(t, f.Mkdir(ctx, vfs.Loc{}, "/etc/sub", 0o755))
	ok(t, f.MountAt(ctx, "/etc", "/mnt", "", vfs.MS_BIND, ""))
	a, _ := f.Stat(ctx, vfs.Loc{}, "/etc/hostname", 0)
	b, _ := f.Stat(ctx, vfs.Loc{}, "/mnt/hostname", 0)
	if a.Ino != b.Ino || a.Dev != b.Dev {
		t.Errorf("bind mount shows another file: %+v %+v", a, b)
	}
	write(t, f, "/mnt/new", "x")
	if s := read(t, f, "/etc/new"); s != "x" {
		t.Errorf("write through bind mount: %q", s)
	}
	// ".." of the bind mount's root leaves through the mount point.
	ok(t, f.Chdir(ctx, vfs.Loc{}, "/mnt/sub"))
	if cwd, _ := f.Getcwd(); cwd != "/mnt/sub" {
		t.Errorf("getcwd in bind mount %q", cwd)
	}
	if _, err := f.Stat(ctx, vfs.Loc{}, "../../mnt2", 0); err != nil {
		t.Errorf("../../mnt2 from /mnt/sub: %v", err)
	}
	ok(t, f.Chdir(ctx, vfs.Loc{}, "/"))
	// A file bind-mounted on a file; a directory on a file is ENOTDIR.
	write(t, f, "/tmp/target", "old")
	ok(t, f.MountAt(ctx, "/etc/hostname", "/tmp/target", "", vfs.MS_BIND, ""))
	if s := read(t, f, "/tmp/target"); s != "gosv\n" {
		t.Errorf("file bind mount reads %q", s)
	}
	wantErr(t, "dir on file", f.MountAt(ctx, "/etc", "/tmp/target", "", vfs.MS_BIND, ""), unix.ENOTDIR)
	wantErr(t, "file on dir", f.MountAt(ctx, "/etc/hostname", "/mnt2", "", vfs.MS_BIND, ""), unix.EISDIR)
	mi := string(f.NS.ProcMountinfo())
	if !strings.Contains(mi, " /etc /mnt rw,relatime - tmpfs rootfs ") || !strings.Contains(mi, " /etc/hostname /tmp/target ") {
		t.Errorf("mountinfo:\n%s", mi)
	}
	// Read-only bind: EROFS through it, writable through the original.
	ok(t, f.MountAt(ctx, "", "/mnt", "", vfs.MS_REMOUNT|vfs.MS_BIND|vfs.MS_RDONLY, ""))
	_, _, err := f.Open(ctx, vfs.Loc{}, "/mnt/hostname", unix.O_WRONLY, 0)
	wantErr(t, "write via ro bind", err, unix.EROFS)
	write(t, f, "/etc/hostname", "still\n")
	// MS_BIND|MS_REC takes the mounts below along, and theirs.
	ok(t, f.Mkdir(ctx, vfs.Loc{}, "/etc/sub/deep", 0o755))
	ok(t, f.MountAt(ctx, "a", "/etc/sub", "tmpfs", 0, ""))
	ok(t, f.Mkdir(ctx, vfs.Loc{}, "/etc/sub/in", 0o755))
	ok(t, f.MountAt(ctx, "b", "/etc/sub/in", "tmpfs", 0, ""))
	write(t, f, "/etc/sub/in/g", "deep")
	ok(t, f.Mkdir(ctx, vfs.Loc{}, "/tmp/r", 0o755))
	ok(t, f.MountAt(ctx, "/etc", "/tmp/r", "", vfs.MS_BIND|vfs.MS_REC, ""))
	if s := read(t, f, "/tmp/r/sub/in/g"); s != "deep" {
		t.Errorf("recursive bind: %q", s)
	}
	if m := string(f.NS.ProcMounts()); !strings.Contains(m, "b /tmp/r/sub/in tmpfs") {
		t.Errorf("mounts after a recursive bind:\n%s", m)
	}
	ok(t, f.Umount(ctx, "/tmp/r", vfs.MNT_DETACH))
	ok(t, f.Umount(ctx, "/etc/sub", vfs.MNT_DETACH))
	// MS_MOVE moves the bind mount.
	ok(t, f.MountAt(ctx, "/mnt", "/mnt2", "", vfs.MS_MOVE, ""))
	if s := read(t, f, "/mnt2/hostname"); s != "still\n" {
		t.Errorf("after MS_MOVE: %q", s)
	}
	wantErr(t, "old place after move", f.Umount(ctx, "/mnt", 0), unix.EINVAL)
	ok(t, f.Umount(ctx, "/mnt2", 0))
}

func TestReadOnlyMount(t *testing.T) {
	f := newFS(t)
	ok(t, f.MountAt(ctx, "none", "/mnt", "tmpfs", 0, ""))
	write(t, f, "/mnt/f", "data")
	ok(t, f.Mkdir(ctx, vfs.Loc{}, "/mnt/d", 0o755))
	ok(t, f.MountAt(ctx, "", "/mnt", "", vfs.MS_REMOUNT|vfs.MS_RDONLY, ""))
	l, err := f.Lookup(ctx, vfs.Loc{}, "/mnt", 0)
	ok(t, err)
	if s := f.Statfs(l); s.Flags&vfs.ST_RDONLY == 0 || s.Type != unix.TMPFS_MAGIC {
		t.Errorf("statfs %+v", s)
	}
	if s := read(t, f, "/mnt/f"); s != "data" {
		t.Errorf("read on ro mount %q", s)
	}
	open := func(path string, flags int) error {
		_, _, err := f.Open(ctx, vfs.Loc{}, path, flags, 0o644)
		return err
	}
	wantErr(t, "open for writing", open("/mnt/f", unix.O_WRONLY), unix.EROFS)
	wantErr(t, "O_TRUNC", open("/mnt/f", unix.O_RDONLY|unix.O_TRUNC), unix.EROFS)
	wantErr(t, "create", open("/mnt/g", unix.O_WRONLY|unix.O_CREAT), unix.EROFS)
	wantErr(t, "directory for writing", open("/mnt/d", unix.O_WRONLY), unix.EISDIR)
	wantErr(t, "O_CREAT|O_EXCL on existing", open("/mnt/f", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL), unix.EEXIST)
	wantErr(t, "O_TMPFILE", open("/mnt", unix.O_WRONLY|unix.O_TMPFILE), unix.EROFS)
	wantErr(t, "mkdir", f.Mkdir(ctx, vfs.Loc{}, "/mnt/e", 0o755), unix.EROFS)
	wantErr(t, "mkdir existing", f.Mkdir(ctx, vfs.Loc{}, "/mnt/d", 0o755), unix.EEXIST)
	wantErr(t, "mknod", f.Mknod(ctx, vfs.Loc{}, "/mnt/p", unix.S_IFIFO|0o644, 0), unix.EROFS)
	wantErr(t, "symlink", f.Symlink(ctx, "x", vfs.Loc{}, "/mnt/l"), unix.EROFS)
	wantErr(t, "unlink", f.Unlink(ctx, vfs.Loc{}, "/mnt/f"), unix.EROFS)
	wantErr(t, "unlink missing", f.Unlink(ctx, vfs.Loc{}, "/mnt/none"), unix.EROFS)
	wantErr(t, "rmdir", f.Rmdir(ctx, vfs.Loc{}, "/mnt/d"), unix.EROFS)
	wantErr(t, "rename", f.Rename(ctx, vfs.Loc{}, "/mnt/f", vfs.Loc{}, "/mnt/g", 0), unix.EROFS)
	wantErr(t, "chmod", f.Chmod(ctx, vfs.Loc{}, "/mnt/f", 0o600, 0), unix.EROFS)
	wantErr(t, "chown", f.Chown(ctx, vfs.Loc{}, "/mnt/f", 1, 1, 0), unix.EROFS)
	wantErr(t, "utimens", f.Utimens(ctx, vfs.Loc{}, "/mnt/f", nil, 0), unix.EROFS)
	wantErr(t, "truncate", f.Truncate(ctx, vfs.Loc{}, "/mnt/f", 0), unix.EROFS)
	wantErr(t, "access W_OK", f.Access(ctx, vfs.Loc{}, "/mnt/f", unix.W_OK, 0), unix.EROFS)
	ok(t, f.Access(ctx, vfs.Loc{}, "/mnt/f", unix.R_OK, 0))
	if !strings.Contains(string(f.NS.ProcMounts()), "none /mnt tmpfs ro,relatime 0 0\n") {
		t.Errorf("mounts:\n%s", f.NS.ProcMounts())
	}
	ok(t, f.MountAt(ctx, "", "/mnt", "", vfs.MS_REMOUNT, ""))
	ok(t, open("/mnt/f", unix.O_WRONLY))
	// A remount may change tmpfs's size, not below what is used.
	ok(t, f.MountAt(ctx, "", "/mnt", "", vfs.MS_REMOUNT, "size=1m"))
	if s := f.Statfs(l); s.Blocks != 256 || s.Flags&vfs.ST_RDONLY != 0 {
		t.Errorf("statfs after remount %+v", s)
	}
	if !strings.Contains(string(f.NS.ProcMounts()), "none /mnt tmpfs rw,relatime,size=1024k 0 0\n") {
		t.Errorf("mounts:\n%s", f.NS.ProcMounts())
	}
	write(t, f, "/mnt/big", strings.Repeat("x", 3*4096))
	wantErr(t, "shrink below use", f.MountAt(ctx, "", "/mnt", "", vfs.MS_REMOUNT, "size=8k"), unix.EBUSY)
	wantErr(t, "bad remount option", f.MountAt(ctx, "", "/mnt", "", vfs.MS_REMOUNT, "bogus"), unix.EINVAL)
}

func TestSymlinkLimit(t *testing.T) {
	f := newFS(t)
	// l0 -> /etc/hostname, l1 -> l0, ..., l40 -> l39: l39 needs 40
	// links, l40 needs 41.
	ok(t, f.Symlink(ctx, "/etc/hostname", vfs.Loc{}, "/tmp/l0"))
	for i := 1; i <= 40; i++ {
		ok(t, f.Symlink(ctx, "l"+itoa(i-1), vfs.Loc{}, "/tmp/l"+itoa(i)))
	}
	if s := read(t, f, "/tmp/l39"); s != "gosv\n" {
		t.Errorf("40 links: %q", s)
	}
	_, _, err := f.Open(ctx, vfs.Loc{}, "/tmp/l40", unix.O_RDONLY, 0)
	wantErr(t, "41 links", err, unix.ELOOP)
	ok(t, f.Symlink(ctx, "self", vfs.Loc{}, "/tmp/self"))
	_, err = f.Stat(ctx, vfs.Loc{}, "/tmp/self", 0)
	wantErr(t, "self loop", err, unix.ELOOP)
	if st, err := f.Lstat(ctx, vfs.Loc{}, "/tmp/self"); err != nil || st.Mode&unix.S_IFMT != unix.S_IFLNK {
		t.Errorf("lstat of a loop: %v", err)
	}
	// O_NOFOLLOW, trailing slashes, AT_EMPTY_PATH.
	_, _, err = f.Open(ctx, vfs.Loc{}, "/tmp/l0", unix.O_RDONLY|unix.O_NOFOLLOW, 0)
	wantErr(t, "O_NOFOLLOW", err, unix.ELOOP)
	_, _, err = f.Open(ctx, vfs.Loc{}, "/etc/hostname/", unix.O_RDONLY, 0)
	wantErr(t, "trailing slash on a file", err, unix.ENOTDIR)
	ok(t, f.Symlink(ctx, "/etc", vfs.Loc{}, "/tmp/etc"))
	if st, err := f.Stat(ctx, vfs.Loc{}, "/tmp/etc/", unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		t.Errorf("trailing slash follows the link: %v %o", err, st.Mode)
	}
	etc, err := f.Lookup(ctx, vfs.Loc{}, "/etc", 0)
	ok(t, err)
	if st, err := f.Stat(ctx, etc, "", unix.AT_EMPTY_PATH); err != nil || st.Mode&unix.S_IFMT != unix.S_IFDIR {
		t.Errorf("AT_EMPTY_PATH: %v", err)
	}
	_, err = f.Stat(ctx, etc, "", 0)
	wantErr(t, "empty path", err, unix.ENOENT)
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func TestOpenat2Resolve(t *testing.T) {
	f := newFS(t)
	ok(t, f.Mkdir(ctx, vfs.Loc{}, "/tmp/jail", 0o755))
	ok(t, f.Mkdir(ctx, vfs.Loc{}, "/tmp/jail/d", 0o755))
	write(t, f, "/tmp/jail/d/f", "in")
	write(t, f, "/tmp/jail/hostname", "fake")
	ok(t, f.Symlink(ctx, "/etc/hostname", vfs.Loc{}, "/tmp/jail/abs"))
	ok(t, f.Symlink(ctx, "../hostname", vfs.Loc{}, "/tmp/jail/d/up"))
	ok(t, f.Symlink(ctx, "../../..", vfs.Loc{}, "/tmp/jail/d/out"))
	jail, err := f.Lookup(ctx, vfs.Loc{}, "/tmp/jail", 0)
	ok(t, err)
	open := func(path string, resolve uint64) (string, error) {
		file, _, err := f.OpenResolve(ctx, jail, path, unix.O_RDONLY, 0, resolve)
		if err != nil {
			return "", err
		}
		buf := make([]byte, 100)
		n, _ := file.Read(buf)
		return string(buf[:n]), nil
	}
	for _, c := range []struct {
		path    string
		resolve uint64
		want    string
		err     unix.Errno
	}{
		{"d/f", vfs.RESOLVE_BENEATH, "in", 0},
		{"d/up", vfs.RESOLVE_BENEATH, "fake", 0},
		{"d/../hostname", vfs.RESOLVE_BENEATH, "fake", 0},
		{"../jail/d/f", vfs.RESOLVE_BENEATH, "", unix.EXDEV},
		{"/etc/hostname", vfs.RESOLVE_BENEATH, "", unix.EXDEV},
		{"abs", vfs.RESOLVE_BENEATH, "", unix.EXDEV},
		{"d/out/etc/hostname", vfs.RESOLVE_BENEATH, "", unix.EXDEV},
		// RESOLVE_IN_ROOT: "/" and ".." stop at the starting directory.
		{"abs", vfs.RESOLVE_IN_ROOT, "", unix.ENOENT},
		{"/hostname", vfs.RESOLVE_IN_ROOT, "fake", 0},
		{"d/out/hostname", vfs.RESOLVE_IN_ROOT, "fake", 0},
		{"../../../d/f", vfs.RESOLVE_IN_ROOT, "in", 0},
		{"d/up", vfs.RESOLVE_NO_SYMLINKS, "", unix.ELOOP},
		{"abs", 0, "gosv\n", 0},
		{"d/out/etc/hostname", 0, "gosv\n", 0},
	} {
		got, err := open(c.path, c.resolve)
		if c.err != 0 {
			wantErr(t, c.path, err, c.err)
		} else if err != nil || got != c.want {
			t.Errorf("%s (resolve %#x) = %q, %v; want %q", c.path, c.resolve, got, err, c.want)
		}
	}
}

func openHow(flags, mode, resolve uint64, size int) []byte {
	b := make([]byte, max(size, 24))
	binary.LittleEndian.PutUint64(b[0:], flags)
	binary.LittleEndian.PutUint64(b[8:], mode)
	binary.LittleEndian.PutUint64(b[16:], resolve)
	return b[:size]
}

func TestParseOpenHow(t *testing.T) {
	for _, c := range []struct {
		b    []byte
		want unix.Errno
	}{
		{openHow(unix.O_RDONLY, 0, 0, 24), 0},
		{openHow(unix.O_RDONLY, 0, vfs.RESOLVE_BENEATH, 32), 0},
		{openHow(unix.O_CREAT|unix.O_WRONLY, 0o644, 0, 24), 0},
		{openHow(unix.O_RDONLY, 0, 0, 16), unix.EINVAL},
		{append(openHow(unix.O_RDONLY, 0, 0, 24), 1), unix.E2BIG},
		{openHow(unix.O_RDONLY, 0, 0, 4097), unix.E2BIG},
		{openHow(1<<40, 0, 0, 24), unix.EINVAL},
		{openHow(0x4, 0, 0, 24), unix.EINVAL}, // not an open flag
		{openHow(unix.O_RDONLY, 0o644, 0, 24), unix.EINVAL},
		{openHow(unix.O_CREAT, 0o10000, 0, 24), unix.EINVAL},
		{openHow(unix.O_RDONLY, 0, 0x40, 24), unix.EINVAL},
		{openHow(unix.O_RDONLY, 0, vfs.RESOLVE_BENEATH|vfs.RESOLVE_IN_ROOT, 24), unix.EINVAL},
		{openHow(unix.O_PATH|unix.O_RDWR, 0, 0, 24), unix.EINVAL},
		{openHow(unix.O_TMPFILE|unix.O_RDONLY, 0, 0, 24), unix.EINVAL},
		{openHow(unix.O_CREAT, 0, vfs.RESOLVE_CACHED, 24), unix.EAGAIN},
		{openHow(unix.O_ACCMODE, 0, 0, 24), unix.EINVAL},
	} {
		_, err := vfs.ParseOpenHow(c.b)
		if c.want == 0 && err != nil || c.want != 0 && err != c.want {
			t.Errorf("open_how % x: %v, want %v", c.b[:24], err, c.want)
		}
	}
}

// FuzzParseOpenHow: any bytes give a clean errno or a structure that
// passes the checks again.
func FuzzParseOpenHow(f *testing.F) {
	f.Add(openHow(unix.O_RDONLY, 0, 0, 24))
	f.Add(openHow(unix.O_CREAT|unix.O_RDWR, 0o600, vfs.RESOLVE_IN_ROOT, 40))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := vfs.ParseOpenHow(b)
		if err != nil {
			if _, ok := err.(unix.Errno); !ok {
				t.Fatalf("error %v is not an errno", err)
			}
			return
		}
		if h.Check() != nil || len(b) < 24 {
			t.Fatalf("accepted %+v", h)
		}
	})
}

// FuzzResolve walks arbitrary paths, with every resolve flag, in a tree
// with mounts and symlinks: no panic, only errnos.
func FuzzResolve(f *testing.F) {
	f.Add("/mnt/../etc/./hostname", uint64(0), 0)
	f.Add("a/b/../../c//", uint64(vfs.RESOLVE_BENEATH), unix.O_CREAT|unix.O_WRONLY)
	f.Add("/tmp/loop/x", uint64(vfs.RESOLVE_IN_ROOT), unix.O_RDONLY|unix.O_DIRECTORY)
	f.Add("/k/etc/hostname", uint64(0), unix.O_RDONLY)
	f.Add("../k/mnt/../k/up/m/", uint64(vfs.RESOLVE_NO_MAGICLINKS), unix.O_PATH)
	f.Fuzz(func(t *testing.T, path string, resolve uint64, flags int) {
		fsys := newFS(t)
		ok(t, fsys.MountAt(ctx, "none", "/mnt", "tmpfs", 0, ""))
		fsys.Symlink(ctx, "loop", vfs.Loc{}, "/tmp/loop")
		fsys.Symlink(ctx, "/mnt", vfs.Loc{}, "/tmp/m")
		// A kernfs with a magic link to /etc and one to the mount.
		ok(t, fsys.Mkdir(ctx, vfs.Loc{}, "/k", 0o555))
		magic := func(path string) *kernfs.Node {
			return &kernfs.Node{Name: path[1:], Mode: vfs.S_IFLNK | 0o777,
				Link: func(vfs.Context) (string, error) { return path, nil },
				Magic: func(c vfs.Context, at vfs.Loc) (vfs.Loc, error) {
					return fsys.Lookup(c, vfs.Loc{}, path, 0)
				}}
		}
		kroot := kernfs.Dir("", 0o555, func(vfs.Context) []*kernfs.Node {
			return []*kernfs.Node{magic("/etc"), magic("/mnt"), kernfs.SymlinkTo("up", "../tmp"),
				kernfs.Dir("d", 0o555, func(vfs.Context) []*kernfs.Node { return []*kernfs.Node{kernfs.Text("f", "x")} })}
		})
		ok(t, fsys.MountFilesystem(ctx, kernfs.New("k", 1, 1, kernfs.Errors{Create: unix.EPERM, CreateOpen: unix.EACCES}, kroot), "k", "/k", 0))
		h := vfs.OpenHow{Flags: uint64(uint32(flags)), Resolve: resolve}
		if h.Check() != nil {
			return
		}
		tmp, err := fsys.Lookup(ctx, vfs.Loc{}, "/tmp", 0)
		ok(t, err)
		file, _, err := fsys.OpenResolve(ctx, tmp, path, flags, 0, resolve)
		if err != nil {
			if _, ok := err.(unix.Errno); !ok {
				t.Fatalf("error %v is not an errno", err)
			}
			return
		}
		file.Close()
	})
}

func TestSeek(t *testing.T) {
	for _, c := range []struct {
		cur, size, off int64
		whence         int
		dir            bool
		want           int64
		err            unix.Errno
	}{
		{0, 10, 3, unix.SEEK_SET, false, 3, 0},
		{5, 10, -2, unix.SEEK_CUR, false, 3, 0},
		{5, 10, -2, unix.SEEK_END, false, 8, 0},
		{0, 10, 4, unix.SEEK_DATA, false, 4, 0},
		{0, 10, 4, unix.SEEK_HOLE, false, 10, 0},
		{0, 10, 10, unix.SEEK_DATA, false, 0, unix.ENXIO},
		{0, 10, -1, unix.SEEK_SET, false, 0, unix.EINVAL},
		{0, 10, 0, 7, false, 0, unix.EINVAL},
		{0, 10, 0, unix.SEEK_END, true, 0, unix.EINVAL},
		{1, 10, 1<<63 - 1, unix.SEEK_CUR, false, 0, unix.EOVERFLOW},
	} {
		got, err := vfs.Seek(c.cur, c.size, c.off, c.whence, c.dir)
		if c.err != 0 && err != c.err || c.err == 0 && (err != nil || got != c.want) {
			t.Errorf("Seek(%+v) = %d, %v", c, got, err)
		}
	}
}

func TestDirents(t *testing.T) {
	ents := []vfs.Dirent{{Ino: 1, Off: 1, Type: unix.DT_DIR, Name: "."}, {Ino: 7, Off: 2, Type: unix.DT_REG, Name: "a-longer-name"}}
	buf := make([]byte, 64)
	n, k := vfs.EncodeDirents(buf, ents, false)
	if k != 2 || n != 24+40 {
		t.Fatalf("encoded %d entries in %d bytes", k, n)
	}
	got, err := vfs.ParseDirents(buf[:n])
	if err != nil || len(got) != 2 || got[1] != ents[1] {
		t.Errorf("parsed %+v, %v", got, err)
	}
	if _, k := vfs.EncodeDirents(buf[:30], ents, false); k != 1 {
		t.Errorf("a 30-byte buffer holds %d entries", k)
	}
	// getdents(2): d_type is the last byte of the record.
	n, _ = vfs.EncodeDirents(buf, ents[1:], true)
	if n != 40 || buf[n-1] != unix.DT_REG || string(buf[18:31]) != "a-longer-name" {
		t.Errorf("legacy record % x", buf[:n])
	}
}

// A recursive bind whose target lies inside the tree it copies copies
// that tree once (it used to copy its own copy without end and run the
// kernel out of memory).
func TestRecursiveBindIntoItself(t *testing.T) {
	f := newFS(t)
	ctx := vfs.RootContext
	f.Mkdir(ctx, vfs.Loc{}, "/mnt", 0o755)
	ok(t, f.MountAt(ctx, "none", "/mnt", "tmpfs", 0, ""))
	ok(t, f.Mkdir(ctx, vfs.Loc{}, "/mnt/x", 0o755))
	ok(t, f.MountAt(ctx, "/", "/mnt/x", "", vfs.MS_BIND|vfs.MS_REC, ""))
	ok(t, f.MountAt(ctx, "/mnt", "/mnt/x/mnt", "", vfs.MS_BIND|vfs.MS_REC, ""))
	if n := strings.Count(string(f.NS.ProcMounts()), "\n"); n > 10 {
		t.Errorf("%d mounts after two recursive binds into themselves:\n%s", n, f.NS.ProcMounts())
	}
}
