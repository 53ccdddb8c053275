package linux

import (
	fs "github.com/gosv/gosv/kernel/fsimpl/ramfs"
	"golang.org/x/sys/unix"
)

// fsFile is a file of the root filesystem (kernel/fs) opened by the app:
// regular files, directories, device nodes, and O_PATH descriptors of any
// type. FIFOs are served by fifoFile (pipe.go).
type fsFile struct {
	f    *fs.File
	path string // absolute guest path when opened (/proc/self/fd, maps)
}

func (f *fsFile) Read(t *Task, p []byte) (int, error)       { return f.f.Read(p) }
func (f *fsFile) Write(t *Task, p []byte) (int, error)      { return f.f.Write(p) }
func (f *fsFile) Close() error                              { return f.f.Close() }
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

func (f *fsFile) statFS() (fs.Stat, error) { return f.f.Stat() }

// Path is the absolute guest path the file was opened at (used for
// /proc/self/maps and /proc/self/fd). It is not updated by renames.
func (f *fsFile) Path() string { return f.path }

// Inode is the file's inode: the directory of the *at syscalls' dirfd.
func (f *fsFile) Inode() *fs.Inode { return f.f.Inode() }

// SetFlags applies fcntl(F_SETFL) to the open file description.
func (f *fsFile) SetFlags(flags int) { f.f.SetFlags(flags) }

func (f *fsFile) isPath() bool { return f.f.Flags()&unix.O_PATH != 0 }

// Ioctl answers FIONREAD for regular files (bytes between the offset and
// the end, as Linux's file_ioctl); other requests are ENOTTY.
func (f *fsFile) Ioctl(t *Task, req, arg uintptr) (uintptr, error) {
	if req == fionread && f.f.Inode().Type() == fs.S_IFREG {
		off, err := f.f.Seek(0, unix.SEEK_CUR)
		if err != nil {
			return 0, err
		}
		n := max(f.f.Inode().Size()-off, 0)
		return 0, t.WriteU32(arg, uint32(min(n, 1<<31-1)))
	}
	return 0, unix.ENOTTY
}

// readHint bounds the kernel buffer of a read to what the file can return.
func (f *fsFile) readHint(n int) int {
	switch {
	case f.isPath() || f.f.Inode().IsDir():
		return 0 // the read fails
	case f.f.Inode().Type() != fs.S_IFREG:
		return n
	}
	off, err := f.f.Seek(0, unix.SEEK_CUR)
	if err != nil {
		return n
	}
	return int(min(int64(n), max(f.f.Inode().Size()-off, 0)+1))
}
