package ramfs

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

// testClock is a settable clock that advances one second per Tick.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) tick() Timespec {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return TimespecOf(c.t)
}

// testFS is a root filesystem seen through the VFS: the path operations
// of the tests below go through kernel/vfs's resolution to this
// package's per-inode operations.
type testFS struct {
	*FS
	v   *vfs.FS
	ctx *vfs.CredContext
}

func newTestFS(t *testing.T) (*testFS, *testClock) {
	t.Helper()
	clk := &testClock{t: time.Unix(1_700_000_000, 123)}
	fs := NewRoot()
	fs.SetClock(clk.now)
	return &testFS{fs, vfs.NewFS(vfs.NewNamespace(fs, "tmpfs", 0)), &vfs.CredContext{}}, clk
}

// at converts a directory of the tests (nil: the working directory) to a
// location in the root mount.
func (t *testFS) at(dir vfs.Inode) vfs.Loc {
	if dir == nil {
		return vfs.Loc{}
	}
	return vfs.Loc{M: t.v.Root().M, In: dir}
}

func (t *testFS) Open(dir vfs.Inode, path string, flags int, mode uint32) (*File, error) {
	f, _, err := t.v.Open(t.ctx, t.at(dir), path, flags, mode)
	if err != nil {
		return nil, err
	}
	return f.(*File), nil
}

func (t *testFS) Lookup(dir vfs.Inode, path string, flags int) (*Inode, error) {
	l, err := t.v.Lookup(t.ctx, t.at(dir), path, flags)
	if err != nil {
		return nil, err
	}
	return l.In.(*Inode), nil
}

func (t *testFS) Mkdir(dir vfs.Inode, path string, mode uint32) error {
	return t.v.Mkdir(t.ctx, t.at(dir), path, mode)
}
func (t *testFS) Mknod(dir vfs.Inode, path string, mode uint32, rdev uint64) error {
	return t.v.Mknod(t.ctx, t.at(dir), path, mode, rdev)
}
func (t *testFS) Symlink(target string, dir vfs.Inode, path string) error {
	return t.v.Symlink(t.ctx, target, t.at(dir), path)
}
func (t *testFS) Readlink(dir vfs.Inode, path string) (string, error) {
	return t.v.Readlink(t.ctx, t.at(dir), path)
}
func (t *testFS) Link(od vfs.Inode, op string, nd vfs.Inode, np string, flags int) error {
	return t.v.Link(t.ctx, t.at(od), op, t.at(nd), np, flags)
}
func (t *testFS) Unlink(dir vfs.Inode, path string) error { return t.v.Unlink(t.ctx, t.at(dir), path) }
func (t *testFS) Rmdir(dir vfs.Inode, path string) error  { return t.v.Rmdir(t.ctx, t.at(dir), path) }
func (t *testFS) Rename(od vfs.Inode, op string, nd vfs.Inode, np string, flags uint) error {
	return t.v.Rename(t.ctx, t.at(od), op, t.at(nd), np, flags)
}
func (t *testFS) Chmod(dir vfs.Inode, path string, mode uint32, flags int) error {
	return t.v.Chmod(t.ctx, t.at(dir), path, mode, flags)
}
func (t *testFS) Chown(dir vfs.Inode, path string, uid, gid, flags int) error {
	return t.v.Chown(t.ctx, t.at(dir), path, uid, gid, flags)
}
func (t *testFS) Utimens(dir vfs.Inode, path string, times *[2]Timespec, flags int) error {
	return t.v.Utimens(t.ctx, t.at(dir), path, times, flags)
}
func (t *testFS) Access(dir vfs.Inode, path string, mode uint32, flags int) error {
	return t.v.Access(t.ctx, t.at(dir), path, mode, flags)
}
func (t *testFS) Stat(dir vfs.Inode, path string, flags int) (Stat, error) {
	return t.v.Stat(t.ctx, t.at(dir), path, flags)
}
func (t *testFS) Lstat(dir vfs.Inode, path string) (Stat, error) {
	return t.v.Lstat(t.ctx, t.at(dir), path)
}
func (t *testFS) Truncate(dir vfs.Inode, path string, size int64) error {
	return t.v.Truncate(t.ctx, t.at(dir), path, size)
}
func (t *testFS) Chdir(dir vfs.Inode, path string) error { return t.v.Chdir(t.ctx, t.at(dir), path) }
func (t *testFS) SetCwd(ino vfs.Inode) error             { return t.v.SetCwd(t.ctx, t.at(ino)) }
func (t *testFS) Getcwd() (string, error)                { return t.v.Getcwd() }
func (t *testFS) Umask(m uint32) uint32                  { return t.v.Umask(m) }
func (t *testFS) SetCred(c Cred)                         { t.ctx.C = c }
func (t *testFS) Cred() Cred                             { return t.ctx.C }
func (t *testFS) Root() *Inode                           { return t.FS.root }

// Chmod and Utimens of an open file, as fchmod(2) and futimens(3).
func (f *File) Chmod(mode uint32) error {
	return f.fs.chmodInode(f.cred, f.ino, mode)
}
func (f *File) Utimens(times *[2]Timespec) error {
	return f.fs.utimensInode(f.cred, f.ino, times)
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
}

func wantErrno(t *testing.T, what string, err error, want unix.Errno) {
	t.Helper()
	var got unix.Errno
	if !errors.As(err, &got) || got != want {
		t.Errorf("%s: got error %v, want %v (%d)", what, err, want.Error(), int(want))
	}
}

func writeFile(t *testing.T, fs *testFS, path, data string) {
	t.Helper()
	f, err := fs.Open(nil, path, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC, 0o644)
	ok(t, err)
	n, err := f.Write([]byte(data))
	ok(t, err)
	if n != len(data) {
		t.Fatalf("short write %d", n)
	}
}

func readFile(t *testing.T, fs *testFS, path string) string {
	t.Helper()
	f, err := fs.Open(nil, path, unix.O_RDONLY, 0)
	ok(t, err)
	var out []byte
	buf := make([]byte, 1000)
	for {
		n, err := f.Read(buf)
		ok(t, err)
		if n == 0 {
			return string(out)
		}
		out = append(out, buf[:n]...)
	}
}

func lstat(t *testing.T, fs *testFS, path string) Stat {
	t.Helper()
	st, err := fs.Lstat(nil, path)
	ok(t, err)
	return st
}

// readAllDir reads a directory with getdents64 in chunks of bufSize bytes.
func readAllDir(t *testing.T, f *File, bufSize int) []Dirent {
	t.Helper()
	var all []Dirent
	buf := make([]byte, bufSize)
	for {
		n, err := f.ReadDir(buf)
		ok(t, err)
		if n == 0 {
			return all
		}
		ds, err := ParseDirents(buf[:n])
		ok(t, err)
		all = append(all, ds...)
	}
}
