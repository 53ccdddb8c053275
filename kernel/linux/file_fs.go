package linux

import (
	"github.com/gosv/gosv/kernel/task"
	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

// fsFile is a file of a mounted filesystem (kernel/vfs) opened by the app:
// regular files, directories, device nodes, /proc and /sys files, and
// O_PATH descriptors of any type. FIFOs are served by fifoFile (pipe.go).
type fsFile struct {
	f    vfs.File
	loc  vfs.Loc // where it was opened: the directory of the *at syscalls' dirfd
	path string  // absolute guest path when opened (/proc/self/fd, maps)
}

// locFile is implemented by open files that have a place in the mount
// tree (fsFile, fifoFile): a dirfd, the target of /proc/self/fd/N.
type locFile interface {
	location() vfs.Loc
}

func (f *fsFile) location() vfs.Loc { return f.loc }

func (f *fsFile) Read(t *task.Task, p []byte) (int, error)  { return f.f.Read(p) }
func (f *fsFile) Write(t *task.Task, p []byte) (int, error) { return f.f.Write(p) }
func (f *fsFile) Close() error {
	f.loc.M.Release()
	return f.f.Close()
}
func (f *fsFile) Seek(off int64, whence int) (int64, error) { return f.f.Seek(off, whence) }
func (f *fsFile) Pread(p []byte, off int64) (int, error)    { return f.f.Pread(p, off) }
func (f *fsFile) Pwrite(p []byte, off int64) (int, error)   { return f.f.Pwrite(p, off) }
func (f *fsFile) ReadDir(p []byte) (int, error)             { return f.f.ReadDir(p) }

// ReadDirLegacy fills p in the format of getdents(2).
func (f *fsFile) ReadDirLegacy(p []byte) (int, error) { return f.f.ReadDirLegacy(p) }

func (f *fsFile) Stat() (unix.Stat_t, error) {
	st, err := f.f.Stat()
	return toStatT(st), err
}

func (f *fsFile) statFS() (vfs.Stat, error) { return f.f.Stat() }

// Path is the absolute guest path the file was opened at (used for
// /proc/self/maps and /proc/self/fd). It is not updated by renames.
func (f *fsFile) Path() string { return f.path }

// SetFlags applies fcntl(F_SETFL) to the open file description.
func (f *fsFile) SetFlags(flags int) { f.f.SetFlags(flags) }

func (f *fsFile) isPath() bool { return f.f.Flags()&unix.O_PATH != 0 }

// typ is the S_IFMT type of the file.
func (f *fsFile) typ() uint32 { return f.f.Inode().Stat().Mode & vfs.S_IFMT }

// size is st_size of the file.
func (f *fsFile) size() int64 { return f.f.Inode().Stat().Size }

// Ioctl passes the request to the filesystem's file.
func (f *fsFile) Ioctl(t *task.Task, req, arg uintptr) (uintptr, error) {
	return f.f.Ioctl(t, req, arg)
}

// snapshot reports whether the file reads from a snapshot taken at open
// (kernfs) rather than its st_size.
func (f *fsFile) snapshot() bool {
	_, ok := f.f.(interface{ ReadHint(int) int })
	return ok
}

// readHint bounds the kernel buffer of a read to what the file can return.
func (f *fsFile) readHint(n int) int {
	if h, ok := f.f.(interface{ ReadHint(int) int }); ok {
		return h.ReadHint(n)
	}
	switch {
	case f.isPath() || f.typ() == vfs.S_IFDIR:
		return 0 // the read fails
	case f.typ() != vfs.S_IFREG:
		return n
	}
	off, err := f.f.Seek(0, unix.SEEK_CUR)
	if err != nil {
		return n
	}
	return int(min(int64(n), max(f.size()-off, 0)+1))
}

// anonInode stands for an open file without a place in the mount tree
// (a pipe, the console) when /proc/self/fd/N leads to it: stat reports the
// file, open opens it again (reopen).
type anonInode struct{ f task.File }

func (a *anonInode) Stat() vfs.Stat {
	st, _, _ := statOf(a.f)
	return st
}
func (a *anonInode) Permission(ctx vfs.Context, mask uint32) error { return nil }
func (a *anonInode) Parent() (vfs.Inode, string)                   { return a, "" }
func (a *anonInode) Lookup(ctx vfs.Context, name string) (vfs.Inode, error) {
	return nil, unix.ENOTDIR
}
func (a *anonInode) Readlink(ctx vfs.Context) (string, error) { return "", unix.EINVAL }
func (a *anonInode) Open(ctx vfs.Context, flags int) (vfs.File, error) {
	if flags&unix.O_PATH != 0 {
		return nil, unix.ENXIO
	}
	f, err := reopen(a.f, flags)
	if err != nil {
		return nil, err
	}
	return &reopened{f: f, in: a}, nil
}
func (a *anonInode) Create(ctx vfs.Context, name string, mode uint32, flags int) (vfs.File, error) {
	return nil, unix.ENOTDIR
}
func (a *anonInode) Tmpfile(ctx vfs.Context, mode uint32, flags int) (vfs.File, error) {
	return nil, unix.ENOTDIR
}
func (a *anonInode) Mkdir(ctx vfs.Context, name string, mode uint32) error { return unix.ENOTDIR }
func (a *anonInode) Mknod(ctx vfs.Context, name string, mode uint32, rdev uint64) error {
	return unix.ENOTDIR
}
func (a *anonInode) Symlink(ctx vfs.Context, name, target string) error { return unix.ENOTDIR }
func (a *anonInode) Link(ctx vfs.Context, name string, target vfs.Inode) error {
	return unix.ENOTDIR
}
func (a *anonInode) Unlink(ctx vfs.Context, name string) error { return unix.ENOTDIR }
func (a *anonInode) Rmdir(ctx vfs.Context, name string) error  { return unix.ENOTDIR }
func (a *anonInode) Rename(ctx vfs.Context, o string, d vfs.Inode, n string, flags uint) error {
	return unix.ENOTDIR
}
func (a *anonInode) Setattr(ctx vfs.Context, s vfs.Setattr) error { return nil }

// reopened carries a File opened again through anonInode out of the VFS;
// openat unwraps it.
type reopened struct {
	vfs.File
	f  task.File
	in *anonInode
}

func (r *reopened) Inode() vfs.Inode { return r.in }
func (r *reopened) Close() error     { return r.f.Close() }

// Close closes the pipe end and releases the FIFO's mount.
func (f *fifoFile) Close() error {
	f.loc.M.Release()
	return f.pipeEnd.Close()
}
