package ramfs

import (
	"golang.org/x/sys/unix"

	"github.com/gosv/gosv/kernel/vfs"
)

// The operations of package vfs on inodes. The VFS has resolved the path,
// checked search permission on the way and the read-only mount flag; the
// name is a plain component. Each operation looks the name up again under
// fs.mu, so that it acts on the current state of the directory.

// Permission checks MayRead/MayWrite/MayExec access for c.
func (ino *Inode) Permission(ctx vfs.Context, mask uint32) error {
	return ino.fs.permission(ctx.Cred(), ino, mask)
}

// Parent returns the directory holding the directory ino and its name
// there; the root returns itself.
func (ino *Inode) Parent() (vfs.Inode, string) {
	if ino.dir == nil {
		return ino, ""
	}
	ino.fs.mu.RLock()
	defer ino.fs.mu.RUnlock()
	if ino.dir.parent == ino {
		return ino, ""
	}
	return ino.dir.parent, ino.dir.name
}

// Lookup returns the entry name of the directory ino.
func (ino *Inode) Lookup(ctx vfs.Context, name string) (vfs.Inode, error) {
	if ino.dir == nil {
		return nil, unix.ENOTDIR
	}
	ino.fs.mu.RLock()
	defer ino.fs.mu.RUnlock()
	if c := ino.dir.lookup(name); c != nil {
		return c, nil
	}
	return nil, unix.ENOENT
}

// Readlink returns the target of a symbolic link (EINVAL for others) and
// updates its access time.
func (ino *Inode) Readlink(ctx vfs.Context) (string, error) {
	if ino.typ != S_IFLNK {
		return "", unix.EINVAL
	}
	ino.fs.touchAtime(ino)
	return ino.target, nil
}

// Open opens the existing inode, as open(2) once the path is resolved: a
// symlink (without O_PATH) gives ELOOP, a directory EISDIR unless opened
// read-only, a non-directory ENOTDIR with O_DIRECTORY; permission checks;
// a character device needs a driver (ENXIO), block devices and sockets
// give ENXIO; O_TRUNC empties a regular file.
//
// A FIFO opens without blocking as a placeholder whose Read and Write fail
// with ENXIO: the pipe layer serves FIFOs (fifo(7)) and can keep its state
// on the inode with Inode.LoadOrStoreAux.
func (ino *Inode) Open(ctx vfs.Context, flags int) (vfs.File, error) {
	c := ctx.Cred()
	fs := ino.fs
	if flags&unix.O_PATH != 0 {
		if flags&unix.O_DIRECTORY != 0 && ino.typ != S_IFDIR {
			return nil, unix.ENOTDIR
		}
		return newFile(fs, ino, flags, c), nil
	}
	acc := flags & unix.O_ACCMODE
	switch ino.typ {
	case S_IFLNK:
		return nil, unix.ELOOP
	case S_IFDIR:
		if flags&unix.O_CREAT != 0 || acc != unix.O_RDONLY || flags&unix.O_TRUNC != 0 {
			return nil, unix.EISDIR
		}
	default:
		if flags&unix.O_DIRECTORY != 0 {
			return nil, unix.ENOTDIR
		}
	}
	var mask uint32
	switch acc {
	case unix.O_RDONLY:
		mask = mayRead
	case unix.O_WRONLY:
		mask = mayWrite
	default:
		mask = mayRead | mayWrite
	}
	if flags&unix.O_TRUNC != 0 {
		mask |= mayWrite
	}
	if err := fs.permission(c, ino, mask); err != nil {
		return nil, err
	}
	switch ino.typ {
	case S_IFCHR:
		if ino.dev.Load() == nil {
			return nil, unix.ENXIO
		}
	case S_IFBLK, S_IFSOCK:
		return nil, unix.ENXIO
	}
	if flags&unix.O_TRUNC != 0 && ino.typ == S_IFREG {
		ino.mu.Lock()
		err := ino.resizeLocked(0)
		now := fs.now()
		ino.mtime, ino.ctime = now, now
		ino.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	return newFile(fs, ino, flags, c), nil
}

// dirOf returns the directory state of ino for an operation on a name:
// ENOTDIR for a non-directory.
func (ino *Inode) checkDir() error {
	if ino.dir == nil {
		return unix.ENOTDIR
	}
	return nil
}

// Create creates the regular file name (mode: umask applied) and opens it.
func (ino *Inode) Create(ctx vfs.Context, name string, mode uint32, flags int) (vfs.File, error) {
	c := ctx.Cred()
	if err := ino.checkDir(); err != nil {
		return nil, err
	}
	fs := ino.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if ino.dir.lookup(name) != nil {
		return nil, unix.EEXIST
	}
	if err := fs.mayCreate(c, ino); err != nil {
		return nil, err
	}
	uid, gid, _ := fs.newOwner(c, ino)
	now := fs.now()
	child := fs.newInode(S_IFREG, mode&0o7777, uid, gid, now)
	fs.addLink(ino, name, child, now)
	return newFile(fs, child, flags, c), nil
}

// Tmpfile creates an unnamed regular file in the directory ino, as
// open(2) with O_TMPFILE; without O_EXCL, linkat(2) may give it a name.
func (ino *Inode) Tmpfile(ctx vfs.Context, mode uint32, flags int) (vfs.File, error) {
	c := ctx.Cred()
	if err := ino.checkDir(); err != nil {
		return nil, err
	}
	fs := ino.fs
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	if err := fs.mayCreate(c, ino); err != nil {
		return nil, err
	}
	uid, gid, _ := fs.newOwner(c, ino)
	child := fs.newInode(S_IFREG, mode&0o7777, uid, gid, fs.now())
	child.linkable = flags&unix.O_EXCL == 0
	return newFile(fs, child, flags, c), nil
}

// prepareCreate locks the namespace and checks that name may be created
// in ino; the caller unlocks fs.mu.
func (ino *Inode) prepareCreate(c *Cred, name string) error {
	if err := ino.checkDir(); err != nil {
		return err
	}
	ino.fs.mu.Lock()
	if ino.dir.lookup(name) != nil {
		return unix.EEXIST
	}
	return ino.fs.mayCreate(c, ino)
}

// Mkdir creates the directory name (mode: umask applied, S_ISVTX kept). A
// directory created in a set-group-ID directory takes its group and its
// S_ISGID bit.
func (ino *Inode) Mkdir(ctx vfs.Context, name string, mode uint32) error {
	c := ctx.Cred()
	fs := ino.fs
	err := ino.prepareCreate(c, name)
	if ino.dir != nil {
		defer fs.mu.Unlock()
	}
	if err != nil {
		return err
	}
	uid, gid, sgid := fs.newOwner(c, ino)
	perm := mode & 0o1777
	if sgid {
		perm |= S_ISGID
	}
	now := fs.now()
	fs.addLink(ino, name, fs.newInode(S_IFDIR, perm, uid, gid, now), now)
	return nil
}

// Mknod creates a regular file, FIFO, socket or device node name (the
// type in mode's S_IFMT bits, 0 for a regular file); a character device
// opens only after Inode.SetDevice.
func (ino *Inode) Mknod(ctx vfs.Context, name string, mode uint32, rdev uint64) error {
	c := ctx.Cred()
	typ := mode & S_IFMT
	switch typ {
	case 0:
		typ = S_IFREG
	case S_IFREG, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK:
	default:
		return unix.EINVAL
	}
	fs := ino.fs
	err := ino.prepareCreate(c, name)
	if ino.dir != nil {
		defer fs.mu.Unlock()
	}
	if err != nil {
		return err
	}
	uid, gid, _ := fs.newOwner(c, ino)
	now := fs.now()
	child := fs.newInode(typ, mode&0o7777, uid, gid, now)
	if typ == S_IFCHR || typ == S_IFBLK {
		child.rdev = rdev
	}
	fs.addLink(ino, name, child, now)
	return nil
}

// Symlink creates the symbolic link name with contents target.
func (ino *Inode) Symlink(ctx vfs.Context, name, target string) error {
	c := ctx.Cred()
	fs := ino.fs
	err := ino.prepareCreate(c, name)
	if ino.dir != nil {
		defer fs.mu.Unlock()
	}
	if err != nil {
		return err
	}
	uid, gid, _ := fs.newOwner(c, ino)
	now := fs.now()
	child := fs.newInode(S_IFLNK, 0o777, uid, gid, now)
	child.target = target
	fs.addLink(ino, name, child, now)
	return nil
}

// Link enters target under name: EPERM for a directory, ENOENT for a
// removed file (unless it is an O_TMPFILE file opened without O_EXCL),
// EXDEV for an inode of another filesystem.
func (ino *Inode) Link(ctx vfs.Context, name string, target vfs.Inode) error {
	c := ctx.Cred()
	old, ok := target.(*Inode)
	if !ok || old.fs != ino.fs {
		return unix.EXDEV
	}
	fs := ino.fs
	err := ino.prepareCreate(c, name)
	if ino.dir != nil {
		defer fs.mu.Unlock()
	}
	if err != nil {
		return err
	}
	if old.typ == S_IFDIR {
		return unix.EPERM
	}
	old.mu.Lock()
	dead := old.nlink == 0 && !old.linkable
	old.linkable = false
	old.mu.Unlock()
	if dead {
		return unix.ENOENT
	}
	fs.addLink(ino, name, old, fs.now())
	return nil
}

// Unlink removes the non-directory name: EISDIR for a directory, EPERM by
// the sticky-bit rule. The file lives on while it is open.
func (ino *Inode) Unlink(ctx vfs.Context, name string) error {
	c := ctx.Cred()
	if err := ino.checkDir(); err != nil {
		return err
	}
	fs := ino.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	child := ino.dir.lookup(name)
	if child == nil {
		return unix.ENOENT
	}
	if child.typ == S_IFDIR {
		return unix.EISDIR
	}
	if err := fs.mayDelete(c, ino, child); err != nil {
		return err
	}
	fs.dropLink(ino, name, child, fs.now())
	return nil
}

// Rmdir removes the empty directory name: ENOTEMPTY if it has entries,
// ENOTDIR for a non-directory.
func (ino *Inode) Rmdir(ctx vfs.Context, name string) error {
	c := ctx.Cred()
	if err := ino.checkDir(); err != nil {
		return err
	}
	fs := ino.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	child := ino.dir.lookup(name)
	if child == nil {
		return unix.ENOENT
	}
	if child.typ != S_IFDIR {
		return unix.ENOTDIR
	}
	if err := fs.mayDelete(c, ino, child); err != nil {
		return err
	}
	if len(child.dir.entries) != 0 {
		return unix.ENOTEMPTY
	}
	fs.dropLink(ino, name, child, fs.now())
	return nil
}

// Rename flags of renameat2(2).
const (
	RENAME_NOREPLACE = unix.RENAME_NOREPLACE
	RENAME_EXCHANGE  = unix.RENAME_EXCHANGE
	RENAME_WHITEOUT  = unix.RENAME_WHITEOUT
)

// isAncestor reports whether a is d or one of its ancestors. fs.mu held.
func (fs *FS) isAncestor(a, d *Inode) bool {
	for {
		if d == a {
			return true
		}
		if d == fs.root {
			return false
		}
		d = d.dir.parent
	}
}

// Rename moves oldName of the directory ino to newName of newDir, as
// rename(2)/renameat2(2) once the VFS has checked the shape of both paths
// (see vfs.FS.Rename): it replaces a non-directory by a non-directory, an
// empty directory by a directory; RENAME_NOREPLACE, RENAME_EXCHANGE.
// Errors: EINVAL when moving a directory into itself, ENOTEMPTY,
// EISDIR/ENOTDIR for a type mismatch, EXDEV across filesystems.
func (ino *Inode) Rename(ctx vfs.Context, oldName string, newDir vfs.Inode, newName string, flags uint) error {
	c := ctx.Cred()
	np, ok := newDir.(*Inode)
	if !ok || np.fs != ino.fs {
		return unix.EXDEV
	}
	if err := ino.checkDir(); err != nil {
		return err
	}
	if err := np.checkDir(); err != nil {
		return err
	}
	op := ino
	exchange := flags&RENAME_EXCHANGE != 0
	fs := ino.fs
	fs.mu.Lock()
	defer fs.mu.Unlock()
	src, dst := op.dir.lookup(oldName), np.dir.lookup(newName)
	if src == nil {
		return unix.ENOENT
	}
	if flags&RENAME_NOREPLACE != 0 && dst != nil {
		return unix.EEXIST
	}
	if exchange && dst == nil {
		return unix.ENOENT
	}
	// A directory cannot move below itself; a target directory that is an
	// ancestor of the source is not empty.
	if src.typ == S_IFDIR && fs.isAncestor(src, np) {
		return unix.EINVAL
	}
	if dst != nil && dst.typ == S_IFDIR && fs.isAncestor(dst, op) {
		if exchange {
			return unix.EINVAL
		}
		return unix.ENOTEMPTY
	}
	if src == dst {
		return nil
	}
	if err := fs.mayDelete(c, op, src); err != nil {
		return err
	}
	if dst != nil {
		if err := fs.mayDelete(c, np, dst); err != nil {
			return err
		}
	} else if err := fs.mayCreate(c, np); err != nil {
		return err
	}
	// A directory moved to another parent needs write permission on itself
	// to update its ".." entry.
	if op != np {
		if src.typ == S_IFDIR {
			if err := fs.permission(c, src, mayWrite); err != nil {
				return err
			}
		}
		if exchange && dst.typ == S_IFDIR {
			if err := fs.permission(c, dst, mayWrite); err != nil {
				return err
			}
		}
	}
	now := fs.now()
	if exchange {
		op.dir.entries[oldName].ino = dst
		np.dir.entries[newName].ino = src
		fs.reparent(src, op, np, newName)
		fs.reparent(dst, np, op, oldName)
		for _, in := range []*Inode{op, np, src, dst} {
			in.mu.Lock()
			if in == op || in == np {
				in.mtime = now
			}
			in.ctime = now
			in.mu.Unlock()
		}
		return nil
	}
	if dst != nil {
		if src.typ == S_IFDIR {
			if dst.typ != S_IFDIR {
				return unix.ENOTDIR
			}
			if len(dst.dir.entries) != 0 {
				return unix.ENOTEMPTY
			}
		} else if dst.typ == S_IFDIR {
			return unix.EISDIR
		}
		fs.dropLink(np, newName, dst, now)
	}
	op.dir.remove(oldName)
	np.dir.add(newName, src)
	op.mu.Lock()
	op.dsize -= dirEntrySize
	op.mtime, op.ctime = now, now
	op.mu.Unlock()
	np.mu.Lock()
	np.dsize += dirEntrySize
	np.mtime, np.ctime = now, now
	np.mu.Unlock()
	fs.reparent(src, op, np, newName)
	src.mu.Lock()
	src.ctime = now
	src.mu.Unlock()
	return nil
}

// reparent records that ino moved from directory from to directory to
// under name, fixing ".." and the link counts for directories.
func (fs *FS) reparent(ino, from, to *Inode, name string) {
	if ino.typ != S_IFDIR {
		return
	}
	ino.dir.name = name
	if from == to {
		return
	}
	ino.dir.parent = to
	from.mu.Lock()
	from.nlink--
	from.mu.Unlock()
	to.mu.Lock()
	to.nlink++
	to.mu.Unlock()
}

// Setattr changes the attributes a selects: chmod (owner or root, EPERM;
// a non-root caller outside the file's group loses S_ISGID), chown (only
// root changes the owner, the owner may change the group to one of its
// own; clears S_ISUID, and S_ISGID when group-executable, of
// non-directories), utimens (explicit times need ownership, EPERM; now
// also allows write permission, EACCES) and truncate (the caller checked
// write permission; EFBIG).
func (ino *Inode) Setattr(ctx vfs.Context, a vfs.Setattr) error {
	c := ctx.Cred()
	fs := ino.fs
	if a.Mode != nil {
		if err := fs.chmodInode(c, ino, *a.Mode); err != nil {
			return err
		}
	}
	if a.Chown {
		if err := fs.chownInode(c, ino, a.UID, a.GID); err != nil {
			return err
		}
	}
	if a.Times != nil || a.TimesNow {
		if err := fs.utimensInode(c, ino, a.Times); err != nil {
			return err
		}
	}
	if a.Size != nil {
		return fs.truncateInode(ino, *a.Size)
	}
	return nil
}

func (fs *FS) chmodInode(c *Cred, ino *Inode, mode uint32) error {
	if ino.typ == S_IFLNK {
		return unix.EOPNOTSUPP
	}
	if !fs.isOwner(c, ino) {
		return unix.EPERM
	}
	ino.mu.Lock()
	defer ino.mu.Unlock()
	mode &= 0o7777
	if c.UID != 0 && !c.InGroup(ino.gid) {
		mode &^= S_ISGID
	}
	ino.perm = mode
	ino.ctime = fs.now()
	return nil
}

func (fs *FS) chownInode(c *Cred, ino *Inode, uid, gid int) error {
	ino.mu.Lock()
	defer ino.mu.Unlock()
	if c.UID != 0 {
		if uid != -1 && uint32(uid) != ino.uid {
			return unix.EPERM
		}
		if ino.uid != c.UID {
			return unix.EPERM
		}
		if gid != -1 && uint32(gid) != ino.gid && !c.InGroup(uint32(gid)) {
			return unix.EPERM
		}
	}
	if uid != -1 {
		ino.uid = uint32(uid)
	}
	if gid != -1 {
		ino.gid = uint32(gid)
	}
	if ino.typ != S_IFDIR {
		ino.perm &^= S_ISUID
		if ino.perm&0o010 != 0 {
			ino.perm &^= S_ISGID
		}
	}
	ino.ctime = fs.now()
	return nil
}

// Special nanosecond values of utimensat(2).
const (
	UTIME_NOW  = unix.UTIME_NOW
	UTIME_OMIT = unix.UTIME_OMIT
)

func (fs *FS) utimensInode(c *Cred, ino *Inode, times *[2]Timespec) error {
	t := [2]Timespec{{Nsec: UTIME_NOW}, {Nsec: UTIME_NOW}}
	if times != nil {
		t = *times
	}
	explicit := false
	for _, ts := range t {
		switch {
		case ts.Nsec == UTIME_NOW, ts.Nsec == UTIME_OMIT:
		case ts.Nsec < 0 || ts.Nsec >= 1e9:
			return unix.EINVAL
		default:
			explicit = true
		}
	}
	if t[0].Nsec == UTIME_OMIT && t[1].Nsec == UTIME_OMIT {
		return nil
	}
	if !fs.isOwner(c, ino) {
		if explicit {
			return unix.EPERM
		}
		if err := fs.permission(c, ino, mayWrite); err != nil {
			return err
		}
	}
	now := fs.now()
	ino.mu.Lock()
	defer ino.mu.Unlock()
	for i, p := range []*Timespec{&ino.atime, &ino.mtime} {
		switch t[i].Nsec {
		case UTIME_OMIT:
		case UTIME_NOW:
			*p = now
		default:
			*p = t[i]
		}
	}
	ino.ctime = now
	return nil
}

func (fs *FS) truncateInode(ino *Inode, size int64) error {
	if ino.typ != S_IFREG {
		return unix.EINVAL
	}
	ino.mu.Lock()
	defer ino.mu.Unlock()
	if err := ino.resizeLocked(size); err != nil {
		return err
	}
	now := fs.now()
	ino.mtime, ino.ctime = now, now
	return nil
}

// touchAtime updates the access time the way the relatime mount option
// does: when it is older than mtime or ctime, or more than a day old.
func (fs *FS) touchAtime(ino *Inode) {
	now := fs.now()
	ino.mu.RLock()
	need := !ino.mtime.Before(ino.atime) || !ino.ctime.Before(ino.atime) ||
		now.Sec-ino.atime.Sec >= 24*3600
	ino.mu.RUnlock()
	if !need {
		return
	}
	ino.mu.Lock()
	ino.atime = now
	ino.mu.Unlock()
}
