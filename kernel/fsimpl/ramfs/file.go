package ramfs

import (
	"encoding/binary"
	"sync"

	"golang.org/x/sys/unix"
)

// File is an open file description (open(2)): an inode, a file offset and
// status flags. Its methods follow the system calls of the same names; like
// them, and unlike io.Reader, Read returns 0, nil at end of file.
type File struct {
	fs  *FS
	ino *Inode

	mu    sync.Mutex // guards off and flags
	off   int64
	flags int
}

func newFile(fs *FS, ino *Inode, flags int) *File {
	return &File{fs: fs, ino: ino, flags: flags &^ (unix.O_CREAT | unix.O_EXCL | unix.O_TRUNC | unix.O_NOCTTY | unix.O_CLOEXEC)}
}

// Inode returns the inode of the file.
func (f *File) Inode() *Inode { return f.ino }

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
		if ino.perm&(S_ISUID|S_ISGID) != 0 && f.fs.cred.Load().UID != 0 {
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
	var pos int64
	switch whence {
	case unix.SEEK_SET:
		pos = offset
	case unix.SEEK_CUR:
		pos = f.off + offset
		if offset > 0 && pos < f.off {
			return 0, unix.EOVERFLOW
		}
	case unix.SEEK_END, unix.SEEK_DATA, unix.SEEK_HOLE:
		if f.ino.typ == S_IFDIR {
			return 0, unix.EINVAL
		}
		size := f.ino.Size()
		switch whence {
		case unix.SEEK_END:
			pos = size + offset
			if offset > 0 && pos < size {
				return 0, unix.EOVERFLOW
			}
		case unix.SEEK_DATA:
			if offset >= size {
				return 0, unix.ENXIO
			}
			pos = offset
		default:
			if offset >= size {
				return 0, unix.ENXIO
			}
			pos = size
		}
	default:
		return 0, unix.EINVAL
	}
	if pos < 0 {
		return 0, unix.EINVAL
	}
	f.off = pos
	return pos, nil
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

// Chmod sets the permission bits of the file, as fchmod(2).
func (f *File) Chmod(mode uint32) error { return f.fs.chmodInode(f.ino, mode) }

// Utimens sets the times of the file, as futimens(3); see FS.Utimens.
func (f *File) Utimens(times *[2]Timespec) error { return f.fs.utimensInode(f.ino, times) }

// Dirent is one decoded directory entry.
type Dirent struct {
	Ino  uint64
	Off  int64 // offset of the next entry, for Seek
	Type uint8 // DT_* value
	Name string
}

// ReadDir fills buf with struct linux_dirent64 records, as getdents64(2):
//
//	struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
//
// each padded to 8 bytes, starting with "." and "..", from the file offset,
// which it advances (d_off of a record is the offset of the next one).
// It returns 0 at the end, EINVAL if buf cannot hold the next record,
// ENOTDIR for a non-directory, ENOENT for a removed directory.
func (f *File) ReadDir(buf []byte) (int, error) {
	return f.readDir(buf, 19, func(b []byte, d Dirent) {
		binary.LittleEndian.PutUint64(b[0:], d.Ino)
		binary.LittleEndian.PutUint64(b[8:], uint64(d.Off))
		binary.LittleEndian.PutUint16(b[16:], uint16(len(b)))
		b[18] = d.Type
		copy(b[19:], d.Name)
	})
}

// ReadDirLegacy is ReadDir in the format of getdents(2) on x86-64:
//
//	struct linux_dirent { u64 d_ino; u64 d_off; u16 d_reclen; char d_name[]; char pad; char d_type; }
//
// where d_type is the last byte of the record.
func (f *File) ReadDirLegacy(buf []byte) (int, error) {
	return f.readDir(buf, 18+1, func(b []byte, d Dirent) {
		binary.LittleEndian.PutUint64(b[0:], d.Ino)
		binary.LittleEndian.PutUint64(b[8:], uint64(d.Off))
		binary.LittleEndian.PutUint16(b[16:], uint16(len(b)))
		copy(b[18:], d.Name)
		b[len(b)-1] = d.Type
	})
}

// readDir emits entries from the file offset into buf with records of
// align8(fixed + len(name) + 1) bytes written by put (buf is zeroed).
func (f *File) readDir(buf []byte, fixed int, put func(b []byte, d Dirent)) (int, error) {
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
		reclen := (fixed + len(d.Name) + 1 + 7) &^ 7
		if n+reclen > len(buf) {
			return false
		}
		b := buf[n : n+reclen]
		clear(b)
		put(b, d)
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

// ParseDirents decodes records written by ReadDir (getdents64 format).
func ParseDirents(b []byte) ([]Dirent, error) {
	var out []Dirent
	for len(b) > 0 {
		if len(b) < 19 {
			return out, unix.EINVAL
		}
		reclen := int(binary.LittleEndian.Uint16(b[16:]))
		if reclen < 20 || reclen > len(b) {
			return out, unix.EINVAL
		}
		name := b[19:reclen]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		out = append(out, Dirent{
			Ino:  binary.LittleEndian.Uint64(b[0:]),
			Off:  int64(binary.LittleEndian.Uint64(b[8:])),
			Type: b[18],
			Name: string(name),
		})
		b = b[reclen:]
	}
	return out, nil
}
