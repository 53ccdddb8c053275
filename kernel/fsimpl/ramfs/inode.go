package ramfs

import (
	"runtime"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

// File type bits and limits, see package vfs.
const (
	S_IFMT   = vfs.S_IFMT
	S_IFSOCK = vfs.S_IFSOCK
	S_IFLNK  = vfs.S_IFLNK
	S_IFREG  = vfs.S_IFREG
	S_IFBLK  = vfs.S_IFBLK
	S_IFDIR  = vfs.S_IFDIR
	S_IFCHR  = vfs.S_IFCHR
	S_IFIFO  = vfs.S_IFIFO

	S_ISUID = vfs.S_ISUID
	S_ISGID = vfs.S_ISGID
	S_ISVTX = vfs.S_ISVTX

	PathMax     = vfs.PathMax
	NameMax     = vfs.NameMax
	MaxSymlinks = vfs.MaxSymlinks
)

const (
	pageSize = 4096
	// MaxFileSize is the largest size of a regular file (EFBIG beyond).
	MaxFileSize = 1 << 40
	// dirEntrySize is the size a directory reports per entry (tmpfs's
	// BOGO_DIRENT_SIZE), so that st_size of a directory is (entries+2)*20.
	dirEntrySize = 20
)

// Timespec and Stat are vfs's.
type (
	Timespec = vfs.Timespec
	Stat     = vfs.Stat
	Dirent   = vfs.Dirent
)

// TimespecOf converts a time.Time to a Timespec.
var TimespecOf = vfs.TimespecOf

// ParseDirents decodes getdents64 records, see vfs.ParseDirents.
var ParseDirents = vfs.ParseDirents

// Device holds the hooks of a character device inode. The hooks are called
// without any filesystem lock held, so they may block.
type Device struct {
	// Read fills p; nil means the device reads as end of file (/dev/null).
	Read func(p []byte) (int, error)
	// Write consumes p; nil means writes are discarded and succeed.
	Write func(p []byte) (int, error)
	// NoSeek makes lseek, pread and pwrite fail with ESPIPE (terminals).
	// Otherwise lseek succeeds and returns 0, as for /dev/null.
	NoSeek bool
}

// Inode is a file of the filesystem: regular file, directory, symbolic link,
// device node, FIFO or socket. Its type never changes.
type Inode struct {
	fs  *FS
	ino uint64
	typ uint32 // S_IFMT bits, immutable
	// target is the symlink body, immutable.
	target string

	mu                         sync.RWMutex // guards the fields below
	perm                       uint32       // 07777 bits
	uid, gid                   uint32
	nlink                      uint32
	rdev                       uint64
	atime, mtime, ctime, btime Timespec
	data                       []byte // regular file contents; len is the size
	dsize                      int64  // directory size, see dirEntrySize
	aux                        any
	linkable                   bool          // O_TMPFILE without O_EXCL, not yet linked
	mem                        *atomic.Int64 // bytes charged, see charge

	dev atomic.Pointer[Device]

	// dir is the state of a directory; its contents are guarded by fs.mu.
	dir *dirState
}

type dirState struct {
	entries map[string]*dirent
	order   []*dirent // sorted by cookie
	next    int64     // next cookie
	parent  *Inode    // ".."; the root is its own parent
	name    string    // name in parent
}

type dirent struct {
	name   string
	ino    *Inode
	cookie int64
}

// firstCookie is the directory offset of the first real entry; offsets 0
// and 1 are "." and "..".
const firstCookie = 2

// Ino returns the inode number.
func (ino *Inode) Ino() uint64 { return ino.ino }

// Type returns the S_IFMT bits of the inode.
func (ino *Inode) Type() uint32 { return ino.typ }

// Mode returns the type and permission bits (st_mode).
func (ino *Inode) Mode() uint32 {
	ino.mu.RLock()
	defer ino.mu.RUnlock()
	return ino.typ | ino.perm
}

// IsDir reports whether the inode is a directory.
func (ino *Inode) IsDir() bool { return ino.typ == S_IFDIR }

// Size returns the size of the file in bytes (st_size).
func (ino *Inode) Size() int64 {
	ino.mu.RLock()
	defer ino.mu.RUnlock()
	return ino.sizeLocked()
}

func (ino *Inode) sizeLocked() int64 {
	switch ino.typ {
	case S_IFREG:
		return int64(len(ino.data))
	case S_IFDIR:
		return ino.dsize
	case S_IFLNK:
		return int64(len(ino.target))
	}
	return 0
}

// Stat returns the attributes of the inode, as stat(2) reports them.
func (ino *Inode) Stat() Stat {
	ino.mu.RLock()
	defer ino.mu.RUnlock()
	size := ino.sizeLocked()
	var blocks int64
	if ino.typ == S_IFREG {
		blocks = roundUp(size, pageSize) / 512
	}
	return Stat{
		Dev:     ino.fs.dev.Load(),
		Ino:     ino.ino,
		Nlink:   uint64(ino.nlink),
		Mode:    ino.typ | ino.perm,
		UID:     ino.uid,
		GID:     ino.gid,
		Rdev:    ino.rdev,
		Size:    size,
		Blksize: pageSize,
		Blocks:  blocks,
		Atime:   ino.atime,
		Mtime:   ino.mtime,
		Ctime:   ino.ctime,
		Btime:   ino.btime,
	}
}

// SetDevice installs the hooks of a character device inode (nil removes
// them: opening the device then fails with ENXIO, as for a device number
// without a driver, see open(2)).
func (ino *Inode) SetDevice(d *Device) { ino.dev.Store(d) }

// Aux returns the value attached with LoadOrStoreAux, or nil.
func (ino *Inode) Aux() any {
	ino.mu.RLock()
	defer ino.mu.RUnlock()
	return ino.aux
}

// LoadOrStoreAux attaches v to the inode unless a value is already attached,
// and returns the attached value. Layers above the filesystem use it to keep
// per-inode state, e.g. the pipe behind a FIFO (fifo(7)).
func (ino *Inode) LoadOrStoreAux(v any) any {
	ino.mu.Lock()
	defer ino.mu.Unlock()
	if ino.aux == nil {
		ino.aux = v
	}
	return ino.aux
}

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }

// readAt copies file data at off into p. ino.mu must be held (read).
func (ino *Inode) readAtLocked(p []byte, off int64) int {
	if off >= int64(len(ino.data)) {
		return 0
	}
	return copy(p, ino.data[off:])
}

// resizeLocked sets the size of a regular file to n bytes, zero-filling any
// extension. ino.mu must be held.
func (ino *Inode) resizeLocked(n int64) error {
	if n < 0 {
		return unix.EINVAL
	}
	if n > MaxFileSize {
		return unix.EFBIG
	}
	old := int64(len(ino.data))
	oldCap := int64(cap(ino.data))
	switch {
	case n == 0:
		ino.charge(-oldCap)
		ino.data = nil
		return nil
	case n <= oldCap && (n >= old || n >= oldCap/2 || oldCap <= pageSize):
		if n > old {
			clear(ino.data[old:n])
		}
		ino.data = ino.data[:n]
		return nil
	case n < old:
		// Shrink the buffer to give memory back.
		nc := roundUp(n, pageSize)
		buf := make([]byte, n, nc)
		copy(buf, ino.data)
		ino.charge(nc - oldCap)
		ino.data = buf
		return nil
	}
	// Grow: in whole pages, geometrically so that appends are amortised.
	want := oldCap * 2
	if oldCap >= 1<<20 {
		want = oldCap + oldCap/4
	}
	want = max(want, n)
	nc := roundUp(want, pageSize)
	if err := ino.charge(nc - oldCap); err != nil {
		nc = roundUp(n, pageSize)
		if err := ino.charge(nc - oldCap); err != nil {
			return err
		}
	}
	buf := make([]byte, n, nc)
	copy(buf, ino.data)
	ino.data = buf
	return nil
}

// charge accounts delta bytes of file memory to the filesystem (ENOSPC
// beyond its limit) and to the inode, whose charge is given back when the
// inode is garbage collected (removed and no longer open).
func (ino *Inode) charge(delta int64) error {
	if err := ino.fs.reserve(delta); err != nil {
		return err
	}
	if ino.mem == nil {
		ino.mem = new(atomic.Int64)
		fs := ino.fs
		runtime.AddCleanup(ino, func(m *atomic.Int64) { fs.reserve(-m.Load()) }, ino.mem)
	}
	ino.mem.Add(delta)
	return nil
}

// writeAtLocked writes p at off, growing the file. ino.mu must be held.
func (ino *Inode) writeAtLocked(p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	end := off + int64(len(p))
	if off < 0 || end < off {
		return 0, unix.EINVAL
	}
	if end > MaxFileSize {
		return 0, unix.EFBIG
	}
	if end > int64(len(ino.data)) {
		if err := ino.resizeLocked(end); err != nil {
			return 0, err
		}
	}
	return copy(ino.data[off:], p), nil
}

// Directory entries. fs.mu must be held for writing (add/remove) or at least
// reading (lookup).

func (d *dirState) lookup(name string) *Inode {
	if e := d.entries[name]; e != nil {
		return e.ino
	}
	return nil
}

func (d *dirState) add(name string, child *Inode) {
	e := &dirent{name: name, ino: child, cookie: d.next}
	d.next++
	d.entries[name] = e
	d.order = append(d.order, e)
}

func (d *dirState) remove(name string) {
	e := d.entries[name]
	if e == nil {
		return
	}
	delete(d.entries, name)
	i := sort.Search(len(d.order), func(i int) bool { return d.order[i].cookie >= e.cookie })
	copy(d.order[i:], d.order[i+1:])
	d.order[len(d.order)-1] = nil
	d.order = d.order[:len(d.order)-1]
}

// after returns the index of the first entry whose cookie is >= pos.
func (d *dirState) after(pos int64) int {
	return sort.Search(len(d.order), func(i int) bool { return d.order[i].cookie >= pos })
}

func dtype(typ uint32) uint8 { return vfs.DirentType(typ) }
