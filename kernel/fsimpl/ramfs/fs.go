// Package ramfs is gosv's in-memory filesystem (OSv's RAMFS, Linux's
// initramfs/tmpfs): the root filesystem unpacked from the initrd, and the
// tmpfs instances mount(2) creates. It implements the vfs.Filesystem and
// vfs.Inode interfaces; kernel/vfs resolves paths and calls the per-name
// operations here.
//
// Errors are golang.org/x/sys/unix Errno values, ready to be returned
// negated to the application. All methods are safe for concurrent use:
// application threads are goroutines.
//
// Locking: FS.mu guards the namespace (directory contents and parent links);
// each Inode's mu guards its attributes and data; File.mu guards the file
// offset. The order is File.mu, then FS.mu, then Inode.mu. Device hooks are
// called with no lock held.
package ramfs

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

// FS is an in-memory filesystem tree (a superblock).
type FS struct {
	mu   sync.RWMutex // guards the namespace
	root *Inode

	lastIno atomic.Uint64
	dev     atomic.Uint64
	clock   atomic.Pointer[func() time.Time]
	limit   atomic.Int64 // bytes of file data; 0 = unlimited
	used    atomic.Int64
	typ     string // "tmpfs", "ramfs" or "rootfs"
	opts    atomic.Pointer[string]

	// tmpfs instances (NewTmpfs): the memory size their default size is
	// half of, and their options (changed by Remount, under the mount
	// table's lock).
	tmpfsMem  int64
	tmpfsOpts TmpfsOptions

	random  atomic.Pointer[func(p []byte) (int, error)]
	console atomic.Pointer[Device]
}

// Cred are the credentials of permission checks, see vfs.Cred.
type Cred = vfs.Cred

// DefaultDev is st_dev of the files of a new FS: an anonymous device
// (major 0) as for tmpfs.
var DefaultDev = Mkdev(0, 1)

// Mkdev, Major and Minor encode and decode device numbers, see vfs.Mkdev.
var (
	Mkdev = vfs.Mkdev
	Major = vfs.Major
	Minor = vfs.Minor
)

// New creates an empty filesystem of type typ ("tmpfs") whose root
// directory has permission perm, with st_dev DefaultDev, the clock
// time.Now, no size limit, and a ChaCha8 generator seeded from
// math/rand/v2 as the random source of AddStandardDevices.
func New(typ string, perm uint32) *FS {
	fs := &FS{typ: typ}
	fs.dev.Store(DefaultDev)
	now := time.Now
	fs.clock.Store(&now)
	empty := ""
	fs.opts.Store(&empty)
	seed := [32]byte{}
	for i := range 4 {
		v := rand.Uint64()
		for j := range 8 {
			seed[i*8+j] = byte(v >> (8 * j))
		}
	}
	var rmu sync.Mutex
	src := rand.NewChaCha8(seed)
	defRandom := func(p []byte) (int, error) {
		rmu.Lock()
		defer rmu.Unlock()
		return src.Read(p)
	}
	fs.random.Store(&defRandom)
	fs.console.Store(&Device{NoSeek: true})
	fs.root = fs.newInode(S_IFDIR, perm, 0, 0, fs.now())
	fs.root.dir.parent = fs.root
	fs.root.nlink = 2
	return fs
}

// NewRoot creates a filesystem whose root "/" (mode 0755) holds /dev with the
// devices null, zero, full, random, urandom and console (mem(4), null(4),
// zero(4), full(4), random(4), console(4)), /dev/shm (1777), /tmp (1777),
// /proc and /etc: an initramfs before the image is unpacked into it (the
// kernel mounts its own /dev, /proc and /sys over these). The clock is
// time.Now and there is no size limit.
func NewRoot() *FS {
	fs := New("tmpfs", 0o755)

	fs.mu.Lock()
	defer fs.mu.Unlock()
	now0 := fs.now()
	mkdir := func(parent *Inode, name string, perm uint32) *Inode {
		d := fs.newInode(S_IFDIR, perm, 0, 0, now0)
		fs.addLink(parent, name, d, now0)
		return d
	}
	dev := mkdir(fs.root, "dev", 0o755)
	mkdir(dev, "shm", 0o1777)
	mkdir(fs.root, "tmp", 0o1777)
	mkdir(fs.root, "proc", 0o555)
	mkdir(fs.root, "etc", 0o755)
	fs.addStandardDevices(dev, now0)
	return fs
}

// AddStandardDevices creates in the directory dir the character devices
// null, zero, full, random, urandom (mem(4), null(4), zero(4), full(4),
// random(4)) and console (console(4), served by the hooks of SetConsole).
func (fs *FS) AddStandardDevices(dir *Inode) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.addStandardDevices(dir, fs.now())
}

// AddDevice creates the character device name in dir with permission
// perm, device number rdev and hooks d. It replaces nothing: EEXIST.
func (fs *FS) AddDevice(dir *Inode, name string, perm uint32, rdev uint64, d *Device) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if dir.dir == nil {
		return unix.ENOTDIR
	}
	if dir.dir.lookup(name) != nil {
		return unix.EEXIST
	}
	fs.mknodDevice(dir, name, perm, rdev, d, fs.now())
	return nil
}

// ConsoleDevice returns the hooks of the console: those of SetConsole,
// looked up at each call.
func (fs *FS) ConsoleDevice() *Device {
	return &Device{
		Read: func(p []byte) (int, error) {
			if r := fs.console.Load().Read; r != nil {
				return r(p)
			}
			return 0, nil
		},
		Write: func(p []byte) (int, error) {
			if w := fs.console.Load().Write; w != nil {
				return w(p)
			}
			return len(p), nil
		},
		NoSeek: true,
	}
}

func (fs *FS) mknodDevice(dir *Inode, name string, perm uint32, rdev uint64, d *Device, now Timespec) {
	n := fs.newInode(S_IFCHR, perm, 0, 0, now)
	n.rdev = rdev
	n.SetDevice(d)
	fs.addLink(dir, name, n, now)
}

// addStandardDevices: see AddStandardDevices. fs.mu held.
func (fs *FS) addStandardDevices(dev *Inode, now Timespec) {
	mknod := func(name string, perm uint32, rdev uint64, d *Device) {
		fs.mknodDevice(dev, name, perm, rdev, d, now)
	}
	zero := func(p []byte) (int, error) { clear(p); return len(p), nil }
	rnd := func(p []byte) (int, error) { return (*fs.random.Load())(p) }
	mknod("null", 0o666, Mkdev(1, 3), &Device{})
	mknod("zero", 0o666, Mkdev(1, 5), &Device{Read: zero})
	mknod("full", 0o666, Mkdev(1, 7), &Device{Read: zero,
		Write: func(p []byte) (int, error) { return 0, unix.ENOSPC }})
	mknod("random", 0o666, Mkdev(1, 8), &Device{Read: rnd})
	mknod("urandom", 0o666, Mkdev(1, 9), &Device{Read: rnd})
	mknod("console", 0o600, Mkdev(5, 1), fs.ConsoleDevice())
}

// SetClock sets the source of file timestamps (atime, mtime, ctime, btime).
func (fs *FS) SetClock(now func() time.Time) { fs.clock.Store(&now) }

func (fs *FS) now() Timespec { return TimespecOf((*fs.clock.Load())()) }

// SetRandomSource sets the source of the bytes read from /dev/random and
// /dev/urandom. The default is a ChaCha8 generator seeded from math/rand/v2.
func (fs *FS) SetRandomSource(read func(p []byte) (int, error)) { fs.random.Store(&read) }

// SetConsole sets the hooks of /dev/console: write receives what the
// application writes, read (may be nil: end of file) supplies its input.
func (fs *FS) SetConsole(write, read func(p []byte) (int, error)) {
	fs.console.Store(&Device{Write: write, Read: read, NoSeek: true})
}

// SetDev sets st_dev reported for all files.
func (fs *FS) SetDev(dev uint64) { fs.dev.Store(dev) }

// SetLimit caps the memory used by file data (in bytes, counted in whole
// pages); writes beyond it fail with ENOSPC. 0 means no limit.
func (fs *FS) SetLimit(bytes int64) { fs.limit.Store(bytes) }

// Used returns the bytes of memory that file data occupies.
func (fs *FS) Used() int64 { return fs.used.Load() }

// RootInode returns the root directory.
func (fs *FS) RootInode() *Inode { return fs.root }

// Root returns the root directory (vfs.Filesystem).
func (fs *FS) Root() vfs.Inode { return fs.root }

// Type returns the filesystem type shown in /proc/mounts.
func (fs *FS) Type() string { return fs.typ }

// Options returns the options shown in /proc/mounts.
func (fs *FS) Options() string { return *fs.opts.Load() }

// SetOptions sets the options shown in /proc/mounts ("size=1024k").
func (fs *FS) SetOptions(o string) { fs.opts.Store(&o) }

// Statfs describes the filesystem as statfs(2) does: TMPFS_MAGIC, 4 KiB
// blocks, the size limit (or the default given by DefaultBlocks when
// there is none) as the block and inode counts.
func (fs *FS) Statfs() vfs.Statfs {
	total := uint64(fs.limit.Load()) / pageSize
	if total == 0 {
		total = DefaultBlocks()
	}
	used := uint64(fs.used.Load()) / pageSize
	free := total - min(used, total)
	return vfs.Statfs{
		Type: unix.TMPFS_MAGIC, Bsize: pageSize, Blocks: total, Bfree: free, Bavail: free,
		Files: total, Ffree: free, Namelen: NameMax, Frsize: pageSize,
	}
}

// DefaultBlocks is the block count statfs(2) reports for a filesystem
// without a size limit; the kernel sets it to half of the memory, as
// tmpfs's default size.
var DefaultBlocks = func() uint64 { return 1 << 18 }

func (fs *FS) reserve(n int64) error {
	if n <= 0 {
		fs.used.Add(n)
		return nil
	}
	for {
		u := fs.used.Load()
		if l := fs.limit.Load(); l > 0 && u+n > l {
			return unix.ENOSPC
		}
		if fs.used.CompareAndSwap(u, u+n) {
			return nil
		}
	}
}

// newInode allocates an inode with nlink 0, or 1 for a directory (its "."
// entry); addLink counts the entry in the parent.
func (fs *FS) newInode(typ, perm, uid, gid uint32, now Timespec) *Inode {
	ino := &Inode{
		fs:    fs,
		ino:   fs.lastIno.Add(1) + 1, // the root is inode 2, as on ext2
		typ:   typ,
		perm:  perm & 0o7777,
		uid:   uid,
		gid:   gid,
		atime: now, mtime: now, ctime: now, btime: now,
	}
	if typ == S_IFDIR {
		ino.dir = &dirState{entries: map[string]*dirent{}, next: firstCookie}
		ino.dsize = 2 * dirEntrySize
		ino.nlink = 1 // "."; the parent's entry adds one
	}
	return ino
}

// addLink enters child into parent under name and counts the link.
// fs.mu must be held for writing.
func (fs *FS) addLink(parent *Inode, name string, child *Inode, now Timespec) {
	parent.dir.add(name, child)
	parent.mu.Lock()
	parent.dsize += dirEntrySize
	if child.typ == S_IFDIR {
		parent.nlink++
	}
	parent.mtime, parent.ctime = now, now
	parent.mu.Unlock()
	if child.typ == S_IFDIR {
		child.dir.parent = parent
		child.dir.name = name
	}
	child.mu.Lock()
	child.nlink++
	child.ctime = now
	child.mu.Unlock()
}

// dropLink removes the entry name (naming child) from parent and uncounts
// the link; a removed directory gets nlink 0. fs.mu must be held for
// writing.
func (fs *FS) dropLink(parent *Inode, name string, child *Inode, now Timespec) {
	parent.dir.remove(name)
	parent.mu.Lock()
	parent.dsize -= dirEntrySize
	if child.typ == S_IFDIR {
		parent.nlink--
	}
	parent.mtime, parent.ctime = now, now
	parent.mu.Unlock()
	child.mu.Lock()
	if child.typ == S_IFDIR {
		child.nlink = 0
	} else {
		child.nlink--
	}
	child.ctime = now
	child.mu.Unlock()
}

// Permission masks for permission.
const (
	mayExec  = vfs.MayExec
	mayWrite = vfs.MayWrite
	mayRead  = vfs.MayRead
)

// permission checks mask against the mode of ino for c, as the kernel's
// generic_permission (path_resolution(7), "Permissions").
func (fs *FS) permission(c *Cred, ino *Inode, mask uint32) error {
	ino.mu.RLock()
	perm, uid, gid := ino.perm, ino.uid, ino.gid
	ino.mu.RUnlock()
	return vfs.GenericPermission(c, ino.typ|perm, uid, gid, mask)
}

// isOwner reports whether c owns ino or is root (CAP_FOWNER).
func (fs *FS) isOwner(c *Cred, ino *Inode) bool {
	if c.UID == 0 {
		return true
	}
	ino.mu.RLock()
	defer ino.mu.RUnlock()
	return ino.uid == c.UID
}

// mayDelete checks that child may be removed from (or renamed out of) dir:
// write and search permission on dir, and the sticky-bit rule.
func (fs *FS) mayDelete(c *Cred, dir, child *Inode) error {
	if err := fs.permission(c, dir, mayWrite|mayExec); err != nil {
		return err
	}
	dir.mu.RLock()
	sticky := dir.perm&S_ISVTX != 0
	duid := dir.uid
	dir.mu.RUnlock()
	if !sticky {
		return nil
	}
	if c.UID == 0 || c.UID == duid {
		return nil
	}
	child.mu.RLock()
	defer child.mu.RUnlock()
	if child.uid == c.UID {
		return nil
	}
	return unix.EPERM
}

// mayCreate checks that an entry may be created in dir.
func (fs *FS) mayCreate(c *Cred, dir *Inode) error {
	dir.mu.RLock()
	dead := dir.nlink == 0
	dir.mu.RUnlock()
	if dead {
		return unix.ENOENT
	}
	return fs.permission(c, dir, mayWrite|mayExec)
}

// newOwner returns the uid and gid of a file created in dir by c, and
// whether it inherits the set-group-ID bit (directories in a setgid
// directory).
func (fs *FS) newOwner(c *Cred, dir *Inode) (uid, gid uint32, sgid bool) {
	dir.mu.RLock()
	defer dir.mu.RUnlock()
	if dir.perm&S_ISGID != 0 {
		return c.UID, dir.gid, true
	}
	return c.UID, c.GID, false
}
