// Package ramfs is gosv's in-memory root filesystem (OSv's RAMFS, Linux's
// initramfs/tmpfs) with the semantics of the Linux system calls that the
// syscall layer forwards to it.
//
// Path operations take a starting directory (the dirfd of the *at system
// calls; nil means the current working directory, AT_FDCWD) and a path, and
// resolve it as path_resolution(7) describes. Errors are
// golang.org/x/sys/unix Errno values, ready to be returned negated to the
// application. All methods are safe for concurrent use: application threads
// are goroutines.
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

	"golang.org/x/sys/unix"
)

// FS is an in-memory filesystem tree, with the per-process state that path
// resolution needs (working directory, credentials, umask).
type FS struct {
	mu   sync.RWMutex // guards the namespace
	root *Inode
	cwd  atomic.Pointer[Inode]

	lastIno atomic.Uint64
	dev     atomic.Uint64
	clock   atomic.Pointer[func() time.Time]
	cred    atomic.Pointer[Cred]
	umask   atomic.Uint32
	limit   atomic.Int64 // bytes of file data; 0 = unlimited
	used    atomic.Int64

	random  atomic.Pointer[func(p []byte) (int, error)]
	console atomic.Pointer[Device]
}

// Cred are the credentials used for permission checks and for the owner of
// new files (the filesystem uid/gid of credentials(7)). Uid 0 has the
// capabilities CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_CHOWN, CAP_FSETID and
// CAP_MKNOD.
type Cred struct {
	UID, GID uint32
	Groups   []uint32 // supplementary groups
}

func (c *Cred) inGroup(gid uint32) bool {
	if c.GID == gid {
		return true
	}
	for _, g := range c.Groups {
		if g == gid {
			return true
		}
	}
	return false
}

// DefaultDev is st_dev of the files of a new FS: an anonymous device
// (major 0) as for tmpfs.
var DefaultDev = Mkdev(0, 1)

// Mkdev encodes a device number as glibc's makedev(3) does (the 64-bit
// dev_t of struct stat).
func Mkdev(major, minor uint32) uint64 {
	ma, mi := uint64(major), uint64(minor)
	return (ma&0xfffff000)<<32 | (ma&0xfff)<<8 | (mi&0xffffff00)<<12 | mi&0xff
}

// Major and Minor decode a device number made by Mkdev (major(3), minor(3)).
func Major(dev uint64) uint32 { return uint32((dev>>32)&0xfffff000 | (dev>>8)&0xfff) }

// Minor returns the minor number of dev, see Major.
func Minor(dev uint64) uint32 { return uint32((dev>>12)&0xffffff00 | dev&0xff) }

// NewRoot creates a filesystem whose root "/" (mode 0755) holds /dev with the
// devices null, zero, full, random, urandom and console (mem(4), null(4),
// zero(4), full(4), random(4), console(4)), /dev/shm (1777), /tmp (1777),
// /proc and /etc. The clock is time.Now, the credentials are root's, the
// umask is 022 and there is no size limit.
func NewRoot() *FS {
	fs := &FS{}
	fs.dev.Store(DefaultDev)
	now := time.Now
	fs.clock.Store(&now)
	fs.cred.Store(&Cred{})
	fs.umask.Store(0o022)
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

	fs.root = fs.newInode(S_IFDIR, 0o755, 0, 0, fs.now())
	fs.root.dir.parent = fs.root
	fs.root.nlink = 2
	fs.cwd.Store(fs.root)

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
	mknod := func(name string, perm uint32, rdev uint64, d *Device) {
		n := fs.newInode(S_IFCHR, perm, 0, 0, now0)
		n.rdev = rdev
		n.SetDevice(d)
		fs.addLink(dev, name, n, now0)
	}
	zero := func(p []byte) (int, error) { clear(p); return len(p), nil }
	rnd := func(p []byte) (int, error) { return (*fs.random.Load())(p) }
	mknod("null", 0o666, Mkdev(1, 3), &Device{})
	mknod("zero", 0o666, Mkdev(1, 5), &Device{Read: zero})
	mknod("full", 0o666, Mkdev(1, 7), &Device{Read: zero,
		Write: func(p []byte) (int, error) { return 0, unix.ENOSPC }})
	mknod("random", 0o666, Mkdev(1, 8), &Device{Read: rnd})
	mknod("urandom", 0o666, Mkdev(1, 9), &Device{Read: rnd})
	mknod("console", 0o600, Mkdev(5, 1), &Device{
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
	})
	return fs
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

// SetCred sets the credentials used by later operations.
func (fs *FS) SetCred(c Cred) { fs.cred.Store(&c) }

// Cred returns the current credentials.
func (fs *FS) Cred() Cred { return *fs.cred.Load() }

// Umask sets the file mode creation mask and returns the previous one, as
// umask(2).
func (fs *FS) Umask(mask uint32) uint32 { return fs.umask.Swap(mask & 0o777) }

// SetDev sets st_dev reported for all files.
func (fs *FS) SetDev(dev uint64) { fs.dev.Store(dev) }

// SetLimit caps the memory used by file data (in bytes, counted in whole
// pages); writes beyond it fail with ENOSPC. 0 means no limit.
func (fs *FS) SetLimit(bytes int64) { fs.limit.Store(bytes) }

// Used returns the bytes of memory that file data occupies.
func (fs *FS) Used() int64 { return fs.used.Load() }

// Root returns the root directory.
func (fs *FS) Root() *Inode { return fs.root }

// Cwd returns the current working directory.
func (fs *FS) Cwd() *Inode { return fs.cwd.Load() }

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
	mayExec  = 1
	mayWrite = 2
	mayRead  = 4
)

// permission checks mask against the mode of ino for the current
// credentials, as the kernel's generic_permission (path_resolution(7),
// "Permissions").
func (fs *FS) permission(ino *Inode, mask uint32) error {
	c := fs.cred.Load()
	ino.mu.RLock()
	perm, uid, gid := ino.perm, ino.uid, ino.gid
	ino.mu.RUnlock()
	if c.UID == 0 {
		if mask&mayExec != 0 && ino.typ != S_IFDIR && perm&0o111 == 0 {
			return unix.EACCES
		}
		return nil
	}
	var bits uint32
	switch {
	case uid == c.UID:
		bits = perm >> 6
	case c.inGroup(gid):
		bits = perm >> 3
	default:
		bits = perm
	}
	if mask&^bits&7 != 0 {
		return unix.EACCES
	}
	return nil
}

// isOwner reports whether the caller owns ino or is root (CAP_FOWNER).
func (fs *FS) isOwner(ino *Inode) bool {
	c := fs.cred.Load()
	if c.UID == 0 {
		return true
	}
	ino.mu.RLock()
	defer ino.mu.RUnlock()
	return ino.uid == c.UID
}

// mayDelete checks that child may be removed from (or renamed out of) dir:
// write and search permission on dir, and the sticky-bit rule.
func (fs *FS) mayDelete(dir, child *Inode) error {
	if err := fs.permission(dir, mayWrite|mayExec); err != nil {
		return err
	}
	dir.mu.RLock()
	sticky := dir.perm&S_ISVTX != 0
	duid := dir.uid
	dir.mu.RUnlock()
	if !sticky {
		return nil
	}
	c := fs.cred.Load()
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
func (fs *FS) mayCreate(dir *Inode) error {
	dir.mu.RLock()
	dead := dir.nlink == 0
	dir.mu.RUnlock()
	if dead {
		return unix.ENOENT
	}
	return fs.permission(dir, mayWrite|mayExec)
}

// newOwner returns the uid and gid of a file created in dir, and whether it
// inherits the set-group-ID bit (directories in a setgid directory).
func (fs *FS) newOwner(dir *Inode) (uid, gid uint32, sgid bool) {
	c := fs.cred.Load()
	dir.mu.RLock()
	defer dir.mu.RUnlock()
	if dir.perm&S_ISGID != 0 {
		return c.UID, dir.gid, true
	}
	return c.UID, c.GID, false
}
