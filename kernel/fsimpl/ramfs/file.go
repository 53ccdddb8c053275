package ramfs

import (
	"sync"

	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

// File is an open file description (open(2)): an inode, a file offset and
// status flags. Its methods follow the system calls of the same names; like
// them, and unlike io.Reader, Read returns 0, nil at end of file.
type File struct {
	vfs.AlwaysReady
	fs  *FS
	ino *Inode

	cred *Cred // the opener's credentials (a write by non-root clears set-user-ID)

	mu    sync.Mutex // guards off and flags
	off   int64
	flags int
}

func newFile(fs *FS, ino *Inode, flags int, c *Cred) *File {
	return &File{fs: fs, ino: ino, cred: c, flags: flags &^ (unix.O_CREAT | unix.O_EXCL | unix.O_TRUNC | unix.O_NOCTTY | unix.O_CLOEXEC)}
}

// Inode returns the inode of the file (vfs.File).
func (f *File) Inode() vfs.Inode { return f.ino }

// RamInode returns the inode of the file.
func (f *File) RamInode() *Inode { return f.ino }

// Flags returns the access mode and status flags, as fcntl(2) F_GETFL.
func (f *File) Flags() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.flags
}

// settableFlags are the status flags fcntl(2) F_SETFL may change on Linux.
const settableFlags = unix.O_APPEND | unix.O_NONBLOCK | unix.O_ASYNC | unix.O_DIRECT | unix.O_NOATIME

// SetFlags changes the status flags O_APPEND, O_NONBLOCK, O_ASYNC, O_DIRECT
// and O_NOATIME, ignoring the others, as fcntl(2) F_SETFL.
func (f *File) SetFlags(flags int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.flags = f.flags&^settableFlags | flags&settableFlags
}

func (f *File) isPath() bool { return f.flags&unix.O_PATH != 0 }

func (f *File) readable() bool {
	acc := f.flags & unix.O_ACCMODE
	return !f.isPath() && (acc == unix.O_RDONLY || acc == unix.O_RDWR)
}

func (f *File) writable() bool {
	acc := f.flags & unix.O_ACCMODE
	return !f.isPath() && (acc == unix.O_WRONLY || acc == unix.O_RDWR)
}

// Close releases the file, as close(2). The inode lives on while something
// references it.
func (f *File) Close() error { return nil }

// Read reads from the file offset and advances it, as read(2): EBADF if
// not open for reading, EISDIR for a directory, 0 at end of file.
func (f *File) Read(p []byte) (int, error) {
	if !f.readable() {
		return 0, unix.EBADF
	}
	switch f.ino.typ {
	case S_IFREG:
		f.mu.Lock()
		defer f.mu.Unlock()
		n := f.readAt(p, f.off)
		f.off += int64(n)
		return n, nil
	case S_IFCHR:
		return f.devRead(p)
	case S_IFDIR:
		return 0, unix.EISDIR
	}
	return 0, unix.ENXIO
}

// Pread reads at off without using or changing the file offset, as
// pread(2): EINVAL for a negative offset, ESPIPE for FIFOs and terminals.
func (f *File) Pread(p []byte, off int64) (int, error) {
	if !f.readable() {
		return 0, unix.EBADF
	}
	if off < 0 {
		return 0, unix.EINVAL
	}
	switch f.ino.typ {
	case S_IFREG:
		return f.readAt(p, off), nil
	case S_IFCHR:
		if d := f.ino.dev.Load(); d != nil && d.NoSeek {
			return 0, unix.ESPIPE
		}
		return f.devRead(p)
	case S_IFDIR:
		return 0, unix.EISDIR
	case S_IFIFO:
		return 0, unix.ESPIPE
	}
	return 0, unix.ENXIO
}

func (f *File) readAt(p []byte, off int64) int {
	f.ino.mu.RLock()
	n := f.ino.readAtLocked(p, off)
	f.ino.mu.RUnlock()
	if f.flags&unix.O_NOATIME == 0 {
		f.fs.touchAtime(f.ino)
	}
	return n
}

func (f *File) devRead(p []byte) (int, error) {
	d := f.ino.dev.Load()
	if d == nil {
		return 0, unix.ENXIO
	}
	if d.Read == nil {
		return 0, nil
	}
	return d.Read(p)
}

func (f *File) devWrite(p []byte) (int, error) {
	d := f.ino.dev.Load()
	if d == nil {
		return 0, unix.ENXIO
	}
	if d.Write == nil {
		return len(p), nil
	}
	return d.Write(p)
}

// Write writes at the file offset (at the end with O_APPEND) and advances
// it, as write(2): EBADF if not open for writing, EFBIG beyond MaxFileSize,
// ENOSPC beyond the filesystem's limit.
func (f *File) Write(p []byte) (int, error) {
	if !f.writable() {
		return 0, unix.EBADF
	}
	switch f.ino.typ {
	case S_IFREG:
		f.mu.Lock()
		defer f.mu.Unlock()
		n, off, err := f.writeAt(p, f.off, f.flags&unix.O_APPEND != 0)
		if n > 0 {
			f.off = off + int64(n)
		}
		return n, err
	case S_IFCHR:
		return f.devWrite(p)
	}
	return 0, unix.ENXIO
}

// Pwrite writes at off without using or changing the file offset, as
// pwrite(2) (with O_APPEND it appends, as Linux does).
func (f *File) Pwrite(p []byte, off int64) (int, error) {
	if !f.writable() {
		return 0, unix.EBADF
	}
	if off < 0 {
		return 0, unix.EINVAL
	}
	switch f.ino.typ {
	case S_IFREG:
		n, _, err := f.writeAt(p, off, f.Flags()&unix.O_APPEND != 0)
		return n, err
	case S_IFCHR:
		if d := f.ino.dev.Load(); d != nil && d.NoSeek {
			return 0, unix.ESPIPE
		}
		return f.devWrite(p)
	case S_IFIFO:
		return 0, unix.ESPIPE
	}
	return 0, unix.ENXIO
}

// writeAt writes p at off (or at the end) and returns the count and the
// offset written at.
func (f *File) writeAt(p []byte, off int64, appendMode bool) (int, int64, error) {
	ino := f.ino
	ino.mu.Lock()
	defer ino.mu.Unlock()
	if appendMode {
		off = int64(len(ino.data))
	}
	if len(p) == 0 {
		return 0, off, nil
	}
	n, err := ino.writeAtLocked(p, off)
	if n > 0 {
		now := f.fs.now()
		ino.mtime, ino.ctime = now, now
		// A write by an unprivileged caller clears set-user-ID and
		// set-group-ID (when group-executable), see write(2).
		if ino.perm&(S_ISUID|S_ISGID) != 0 && f.cred != nil && f.cred.UID != 0 {
			ino.perm &^= S_ISUID
			if ino.perm&0o010 != 0 {
				ino.perm &^= S_ISGID
			}
		}
	}
	return n, off, err
}

// Seek sets the file offset, as lseek(2), with whence SEEK_SET, SEEK_CUR,
// SEEK_END, SEEK_DATA or SEEK_HOLE (the file has no holes): EINVAL for a
// bad whence or a negative result, ENXIO for SEEK_DATA/SEEK_HOLE at or past
// the end, ESPIPE for FIFOs and terminals. Directories accept SEEK_SET and
// SEEK_CUR with offsets returned by ReadDir (d_off); devices like /dev/null
// always seek to 0.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	if f.isPath() {
		return 0, unix.EBADF
	}
	switch f.ino.typ {
	case S_IFCHR:
		if d := f.ino.dev.Load(); d != nil && d.NoSeek {
			return 0, unix.ESPIPE
		}
		return 0, nil
	case S_IFIFO, S_IFSOCK:
		return 0, unix.ESPIPE
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	pos, err := vfs.Seek(f.off, f.ino.Size(), offset, whence, f.ino.typ == S_IFDIR)
	if err != nil {
		return 0, err
	}
	f.off = pos
	return pos, nil
}

// Ioctl answers FIONREAD for regular files (the bytes between the offset
// and the end, as Linux's file_ioctl); other requests are ENOTTY.
func (f *File) Ioctl(ctx vfs.Context, req, arg uintptr) (uintptr, error) {
	if req != fionread || f.ino.typ != S_IFREG || f.isPath() {
		return 0, unix.ENOTTY
	}
	f.mu.Lock()
	off := f.off
	f.mu.Unlock()
	n := uint32(min(max(f.ino.Size()-off, 0), 1<<31-1))
	b := []byte{byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24)}
	return 0, ctx.CopyOut(arg, b)
}

// Stat returns the attributes of the file, as fstat(2).
func (f *File) Stat() (Stat, error) { return f.ino.Stat(), nil }

// Truncate sets the size of the file, as ftruncate(2): EINVAL unless it is
// a regular file open for writing or the size is negative.
func (f *File) Truncate(size int64) error {
	if f.isPath() {
		return unix.EBADF
	}
	if !f.writable() || f.ino.typ != S_IFREG || size < 0 {
		return unix.EINVAL
	}
	return f.fs.truncateInode(f.ino, size)
}

// ReadDir fills buf with struct linux_dirent64 records, as getdents64(2):
//
//	struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
//
// each padded to 8 bytes, starting with "." and "..", from the file offset,
// which it advances (d_off of a record is the offset of the next one).
// It returns 0 at the end, EINVAL if buf cannot hold the next record,
// ENOTDIR for a non-directory, ENOENT for a removed directory.
func (f *File) ReadDir(buf []byte) (int, error) { return f.readDir(buf, false) }

// ReadDirLegacy is ReadDir in the format of getdents(2) on x86-64:
//
//	struct linux_dirent { u64 d_ino; u64 d_off; u16 d_reclen; char d_name[]; char pad; char d_type; }
//
// where d_type is the last byte of the record.
func (f *File) ReadDirLegacy(buf []byte) (int, error) { return f.readDir(buf, true) }

// readDir emits entries from the file offset into buf in the format of
// getdents64(2), or getdents(2) with legacy.
func (f *File) readDir(buf []byte, legacy bool) (int, error) {
	if f.isPath() {
		return 0, unix.EBADF
	}
	dir := f.ino
	if dir.typ != S_IFDIR {
		return 0, unix.ENOTDIR
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	fs := f.fs
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	dir.mu.RLock()
	dead := dir.nlink == 0
	dir.mu.RUnlock()
	if dead {
		return 0, unix.ENOENT
	}
	n := 0
	pos := f.off
	emit := func(d Dirent) bool {
		reclen := vfs.DirentSize(d.Name, legacy)
		if n+reclen > len(buf) {
			return false
		}
		vfs.PutDirent(buf[n:n+reclen], d, legacy)
		n += reclen
		pos = d.Off
		return true
	}
	full := false
	if pos == 0 {
		full = !emit(Dirent{Ino: dir.ino, Off: 1, Type: unix.DT_DIR, Name: "."})
	}
	if !full && pos == 1 {
		full = !emit(Dirent{Ino: dir.dir.parent.ino, Off: firstCookie, Type: unix.DT_DIR, Name: ".."})
	}
	if !full {
		order := dir.dir.order
		for i := dir.dir.after(pos); i < len(order); i++ {
			e := order[i]
			if !emit(Dirent{Ino: e.ino.ino, Off: e.cookie + 1, Type: dtype(e.ino.typ), Name: e.name}) {
				full = true
				break
			}
		}
	}
	if full && n == 0 {
		return 0, unix.EINVAL
	}
	f.off = pos
	if f.flags&unix.O_NOATIME == 0 {
		fs.touchAtime(dir)
	}
	return n, nil
}

// fionread is FIONREAD (TIOCINQ), ioctl_tty(2).
const fionread = unix.TIOCINQ
