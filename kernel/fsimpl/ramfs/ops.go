package ramfs

import (
	"golang.org/x/sys/unix"
)

// Open opens (and with O_CREAT creates) the file at path relative to dir
// (nil: the working directory), as open(2)/openat(2).
//
// flags is the access mode O_RDONLY, O_WRONLY or O_RDWR or'ed with
// O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_DIRECTORY, O_NOFOLLOW, O_PATH,
// O_TMPFILE, O_NONBLOCK and others that are kept as status flags or ignored
// (O_CLOEXEC belongs to the descriptor table). mode is the permission of a
// created file, masked by the umask. Errors: ENOENT, EEXIST (O_CREAT|O_EXCL
// on an existing name, even a dangling symlink), EISDIR (writing a
// directory, O_CREAT on a directory or with a trailing slash), ENOTDIR
// (O_DIRECTORY on a non-directory), ELOOP (O_NOFOLLOW on a symlink, or too
// many symlinks), EACCES, ENXIO (device without driver, socket), EINVAL
// (O_CREAT|O_DIRECTORY, O_TMPFILE without write access).
//
// A FIFO opens without blocking as a placeholder whose Read and Write fail
// with ENXIO: the pipe layer serves FIFOs (fifo(7)) and can keep its state
// on the inode with Inode.LoadOrStoreAux.
func (fs *FS) Open(dir *Inode, path string, flags int, mode uint32) (*File, error) {
	if flags&unix.O_TMPFILE == unix.O_TMPFILE {
		return fs.openTmpfile(dir, path, flags, mode)
	}
	if flags&unix.O_PATH != 0 {
		flags &= unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	}
	creat := flags&unix.O_CREAT != 0
	if creat && flags&unix.O_DIRECTORY != 0 {
		return nil, unix.EINVAL
	}
	start, err := fs.base(dir)
	if err != nil {
		return nil, err
	}
	wm := walkFollow
	if flags&unix.O_NOFOLLOW != 0 {
		wm = walkNoFollow
	}
	if creat && flags&unix.O_EXCL != 0 {
		wm = walkParent
	}
	if creat {
		fs.mu.Lock()
		defer fs.mu.Unlock()
	} else {
		fs.mu.RLock()
		defer fs.mu.RUnlock()
	}
	res, err := fs.walk(start, path, wm)
	if err != nil {
		return nil, err
	}
	ino := res.ino
	acc := flags & unix.O_ACCMODE
	created := false
	if creat && res.slash {
		return nil, unix.EISDIR
	}
	if ino == nil {
		if !creat {
			return nil, unix.ENOENT
		}
		if err := fs.mayCreate(res.parent); err != nil {
			return nil, err
		}
		uid, gid, _ := fs.newOwner(res.parent)
		now := fs.now()
		ino = fs.newInode(S_IFREG, mode&0o7777&^fs.umask.Load(), uid, gid, now)
		fs.addLink(res.parent, res.name, ino, now)
		created = true
	} else {
		if creat && flags&unix.O_EXCL != 0 {
			return nil, unix.EEXIST
		}
		if err := res.checkSlash(); err != nil {
			return nil, err
		}
		if flags&unix.O_PATH != 0 {
			if flags&unix.O_DIRECTORY != 0 && ino.typ != S_IFDIR {
				return nil, unix.ENOTDIR
			}
			return newFile(fs, ino, flags), nil
		}
		switch ino.typ {
		case S_IFLNK:
			return nil, unix.ELOOP
		case S_IFDIR:
			if creat || acc != unix.O_RDONLY || flags&unix.O_TRUNC != 0 {
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
		if err := fs.permission(ino, mask); err != nil {
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
	}
	if flags&unix.O_TRUNC != 0 && ino.typ == S_IFREG && !created {
		ino.mu.Lock()
		err := ino.resizeLocked(0)
		now := fs.now()
		ino.mtime, ino.ctime = now, now
		ino.mu.Unlock()
		if err != nil {
			return nil, err
		}
	}
	return newFile(fs, ino, flags), nil
}

// openTmpfile creates an unnamed regular file in the directory path, as
// open(2) with O_TMPFILE.
func (fs *FS) openTmpfile(dir *Inode, path string, flags int, mode uint32) (*File, error) {
	acc := flags & unix.O_ACCMODE
	if acc != unix.O_WRONLY && acc != unix.O_RDWR || flags&unix.O_CREAT != 0 {
		return nil, unix.EINVAL
	}
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	d, err := fs.lookupLocked(dir, path, walkFollow, false)
	if err != nil {
		return nil, err
	}
	if d.typ != S_IFDIR {
		return nil, unix.ENOTDIR
	}
	if err := fs.mayCreate(d); err != nil {
		return nil, err
	}
	uid, gid, _ := fs.newOwner(d)
	ino := fs.newInode(S_IFREG, mode&0o7777&^fs.umask.Load(), uid, gid, fs.now())
	ino.linkable = flags&unix.O_EXCL == 0
	return newFile(fs, ino, flags&^unix.O_TMPFILE), nil
}

// create resolves path for the creation of a new name (mkdir, mknod,
// symlink, link): EEXIST if it exists (or is "/", "." or ".."), ENOENT for
// a trailing slash unless dir is set. fs.mu must be held for writing.
func (fs *FS) create(dir *Inode, path string, isDir bool) (walkResult, error) {
	start, err := fs.base(dir)
	if err != nil {
		return walkResult{}, err
	}
	res, err := fs.walk(start, path, walkParent)
	if err != nil {
		return res, err
	}
	if res.kind != lastNorm || res.ino != nil {
		return res, unix.EEXIST
	}
	if res.slash && !isDir {
		return res, unix.ENOENT
	}
	return res, fs.mayCreate(res.parent)
}

// Mkdir creates the directory path with permission mode&^umask (and
// S_ISVTX), as mkdir(2)/mkdirat(2). A directory created in a set-group-ID
// directory takes its group and its S_ISGID bit.
func (fs *FS) Mkdir(dir *Inode, path string, mode uint32) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	res, err := fs.create(dir, path, true)
	if err != nil {
		return err
	}
	uid, gid, sgid := fs.newOwner(res.parent)
	perm := mode & 0o1777 &^ fs.umask.Load()
	if sgid {
		perm |= S_ISGID
	}
	now := fs.now()
	fs.addLink(res.parent, res.name, fs.newInode(S_IFDIR, perm, uid, gid, now), now)
	return nil
}

// Mknod creates a regular file, FIFO, socket or device node, as
// mknod(2)/mknodat(2). The type comes from mode's S_IFMT bits (0 means a
// regular file); device nodes need uid 0 (EPERM) and carry rdev, and a
// character device opens only after Inode.SetDevice. Other types: EINVAL
// (EPERM for S_IFDIR, as Linux).
func (fs *FS) Mknod(dir *Inode, path string, mode uint32, rdev uint64) error {
	typ := mode & S_IFMT
	switch typ {
	case 0:
		typ = S_IFREG
	case S_IFREG, S_IFIFO, S_IFSOCK:
	case S_IFCHR, S_IFBLK:
		if fs.cred.Load().UID != 0 {
			return unix.EPERM
		}
	case S_IFDIR:
		return unix.EPERM
	default:
		return unix.EINVAL
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	res, err := fs.create(dir, path, false)
	if err != nil {
		return err
	}
	uid, gid, _ := fs.newOwner(res.parent)
	now := fs.now()
	ino := fs.newInode(typ, mode&0o7777&^fs.umask.Load(), uid, gid, now)
	if typ == S_IFCHR || typ == S_IFBLK {
		ino.rdev = rdev
	}
	fs.addLink(res.parent, res.name, ino, now)
	return nil
}

// Symlink creates the symbolic link linkpath with contents target, as
// symlink(2)/symlinkat(2): ENOENT for an empty target, ENAMETOOLONG for a
// target of PathMax bytes or more, EEXIST if linkpath exists.
func (fs *FS) Symlink(target string, dir *Inode, linkpath string) error {
	if target == "" {
		return unix.ENOENT
	}
	if len(target) >= PathMax {
		return unix.ENAMETOOLONG
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	res, err := fs.create(dir, linkpath, false)
	if err != nil {
		return err
	}
	uid, gid, _ := fs.newOwner(res.parent)
	now := fs.now()
	ino := fs.newInode(S_IFLNK, 0o777, uid, gid, now)
	ino.target = target
	fs.addLink(res.parent, res.name, ino, now)
	return nil
}

// Readlink returns the contents of the symbolic link path, as
// readlink(2)/readlinkat(2): EINVAL if it is not a symlink. An empty path
// names dir itself (a symlink opened with O_PATH|O_NOFOLLOW).
func (fs *FS) Readlink(dir *Inode, path string) (string, error) {
	fs.mu.RLock()
	ino, err := fs.lookupLocked(dir, path, walkNoFollow, dir != nil)
	fs.mu.RUnlock()
	if err != nil {
		return "", err
	}
	if ino.typ != S_IFLNK {
		if path == "" {
			return "", unix.ENOENT
		}
		return "", unix.EINVAL
	}
	fs.touchAtime(ino)
	return ino.target, nil
}

// Link creates newpath as a new name of the file oldpath, as
// link(2)/linkat(2). A final symlink in oldpath is followed only with
// AT_SYMLINK_FOLLOW; AT_EMPTY_PATH with an empty oldpath names olddir (this
// also gives a name to an O_TMPFILE file opened without O_EXCL).
// Errors: EPERM for a directory, EEXIST, ENOENT for a removed file, EXDEV
// across filesystems.
func (fs *FS) Link(olddir *Inode, oldpath string, newdir *Inode, newpath string, flags int) error {
	if flags&^(unix.AT_SYMLINK_FOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return unix.EINVAL
	}
	mode := walkNoFollow
	if flags&unix.AT_SYMLINK_FOLLOW != 0 {
		mode = walkFollow
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if olddir != nil && olddir.fs != fs || newdir != nil && newdir.fs != fs {
		return unix.EXDEV
	}
	old, err := fs.lookupLocked(olddir, oldpath, mode, flags&unix.AT_EMPTY_PATH != 0)
	if err != nil {
		return err
	}
	res, err := fs.create(newdir, newpath, false)
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
	fs.addLink(res.parent, res.name, old, fs.now())
	return nil
}

// Unlink removes the name path, as unlink(2) (unlinkat(2) without
// AT_REMOVEDIR): EISDIR for a directory, ENOTDIR for a non-directory named
// with a trailing slash, EPERM by the sticky-bit rule. The file lives on
// while it is open.
func (fs *FS) Unlink(dir *Inode, path string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	start, err := fs.base(dir)
	if err != nil {
		return err
	}
	res, err := fs.walk(start, path, walkParent)
	if err != nil {
		return err
	}
	if res.kind != lastNorm {
		return unix.EISDIR
	}
	if res.ino == nil {
		return unix.ENOENT
	}
	if res.ino.typ == S_IFDIR {
		return unix.EISDIR
	}
	if res.slash {
		return unix.ENOTDIR
	}
	if err := fs.mayDelete(res.parent, res.ino); err != nil {
		return err
	}
	fs.dropLink(res.parent, res.name, res.ino, fs.now())
	return nil
}

// Rmdir removes the empty directory path, as rmdir(2) (unlinkat(2) with
// AT_REMOVEDIR): ENOTEMPTY if it has entries (or the path ends in ".."),
// EINVAL for ".", EBUSY for "/", ENOTDIR for a non-directory.
func (fs *FS) Rmdir(dir *Inode, path string) error {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	start, err := fs.base(dir)
	if err != nil {
		return err
	}
	res, err := fs.walk(start, path, walkParent)
	if err != nil {
		return err
	}
	switch res.kind {
	case lastDot:
		return unix.EINVAL
	case lastDotDot:
		return unix.ENOTEMPTY
	case lastRoot:
		return unix.EBUSY
	}
	ino := res.ino
	if ino == nil {
		return unix.ENOENT
	}
	if ino.typ != S_IFDIR {
		return unix.ENOTDIR
	}
	if err := fs.mayDelete(res.parent, ino); err != nil {
		return err
	}
	if len(ino.dir.entries) != 0 {
		return unix.ENOTEMPTY
	}
	fs.dropLink(res.parent, res.name, ino, fs.now())
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

// Rename renames oldpath to newpath, as rename(2)/renameat2(2).
//
// An existing newpath is replaced atomically: a non-directory by a
// non-directory, an empty directory by a directory. flags may be
// RENAME_NOREPLACE (EEXIST if newpath exists) or RENAME_EXCHANGE (swap the
// two existing names); RENAME_WHITEOUT and other bits give EINVAL.
// Errors: EBUSY for "/", "." or ".." as a final component, EINVAL when
// moving a directory into itself, ENOTEMPTY for a non-empty target
// directory, EISDIR/ENOTDIR for a type mismatch (or a trailing slash on a
// non-directory), EXDEV across filesystems. Renaming a file onto another
// name of itself does nothing.
func (fs *FS) Rename(olddir *Inode, oldpath string, newdir *Inode, newpath string, flags uint) error {
	if flags&^(RENAME_NOREPLACE|RENAME_EXCHANGE) != 0 ||
		flags&RENAME_NOREPLACE != 0 && flags&RENAME_EXCHANGE != 0 {
		return unix.EINVAL
	}
	exchange := flags&RENAME_EXCHANGE != 0
	fs.mu.Lock()
	defer fs.mu.Unlock()
	ob, err := fs.base(olddir)
	if err != nil {
		return err
	}
	nb, err := fs.base(newdir)
	if err != nil {
		return err
	}
	o, err := fs.walk(ob, oldpath, walkParent)
	if err != nil {
		return err
	}
	n, err := fs.walk(nb, newpath, walkParent)
	if err != nil {
		return err
	}
	if o.kind != lastNorm {
		return unix.EBUSY
	}
	if n.kind != lastNorm {
		if flags&RENAME_NOREPLACE != 0 {
			return unix.EEXIST
		}
		return unix.EBUSY
	}
	src, dst := o.ino, n.ino
	if src == nil {
		return unix.ENOENT
	}
	if flags&RENAME_NOREPLACE != 0 && dst != nil {
		return unix.EEXIST
	}
	if exchange {
		if dst == nil {
			return unix.ENOENT
		}
		if n.slash && dst.typ != S_IFDIR {
			return unix.ENOTDIR
		}
	}
	if src.typ != S_IFDIR && (o.slash || n.slash) {
		return unix.ENOTDIR
	}
	// A directory cannot move below itself; a target directory that is an
	// ancestor of the source is not empty.
	if src.typ == S_IFDIR && fs.isAncestor(src, n.parent) {
		return unix.EINVAL
	}
	if dst != nil && dst.typ == S_IFDIR && fs.isAncestor(dst, o.parent) {
		if exchange {
			return unix.EINVAL
		}
		return unix.ENOTEMPTY
	}
	if src == dst {
		return nil
	}
	if err := fs.mayDelete(o.parent, src); err != nil {
		return err
	}
	if dst != nil {
		if err := fs.mayDelete(n.parent, dst); err != nil {
			return err
		}
	} else if err := fs.mayCreate(n.parent); err != nil {
		return err
	}
	// A directory moved to another parent needs write permission on itself
	// to update its ".." entry.
	if o.parent != n.parent {
		if src.typ == S_IFDIR {
			if err := fs.permission(src, mayWrite); err != nil {
				return err
			}
		}
		if exchange && dst.typ == S_IFDIR {
			if err := fs.permission(dst, mayWrite); err != nil {
				return err
			}
		}
	}
	now := fs.now()
	if exchange {
		o.parent.dir.entries[o.name].ino = dst
		n.parent.dir.entries[n.name].ino = src
		fs.reparent(src, o.parent, n.parent, n.name)
		fs.reparent(dst, n.parent, o.parent, o.name)
		for _, ino := range []*Inode{o.parent, n.parent, src, dst} {
			ino.mu.Lock()
			if ino == o.parent || ino == n.parent {
				ino.mtime = now
			}
			ino.ctime = now
			ino.mu.Unlock()
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
		fs.dropLink(n.parent, n.name, dst, now)
	}
	o.parent.dir.remove(o.name)
	n.parent.dir.add(n.name, src)
	o.parent.mu.Lock()
	o.parent.dsize -= dirEntrySize
	o.parent.mtime, o.parent.ctime = now, now
	o.parent.mu.Unlock()
	n.parent.mu.Lock()
	n.parent.dsize += dirEntrySize
	n.parent.mtime, n.parent.ctime = now, now
	n.parent.mu.Unlock()
	fs.reparent(src, o.parent, n.parent, n.name)
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

// lookupAttr resolves path for an attribute operation (chmod, chown,
// utimensat, access, stat).
func (fs *FS) lookupAttr(dir *Inode, path string, flags, allowed int) (*Inode, error) {
	mode, empty, err := atFlags(flags, allowed)
	if err != nil {
		return nil, err
	}
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	return fs.lookupLocked(dir, path, mode, empty)
}

// Chmod sets the permission bits (07777) of path, as chmod(2)/fchmodat(2)
// (AT_SYMLINK_NOFOLLOW on a symlink gives EOPNOTSUPP, as fchmodat2;
// AT_EMPTY_PATH with an empty path changes dir, as fchmod(2)). Only the
// owner or root may do it (EPERM); a non-root caller outside the file's
// group loses S_ISGID.
func (fs *FS) Chmod(dir *Inode, path string, mode uint32, flags int) error {
	ino, err := fs.lookupAttr(dir, path, flags, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH)
	if err != nil {
		return err
	}
	return fs.chmodInode(ino, mode)
}

func (fs *FS) chmodInode(ino *Inode, mode uint32) error {
	if ino.typ == S_IFLNK {
		return unix.EOPNOTSUPP
	}
	if !fs.isOwner(ino) {
		return unix.EPERM
	}
	c := fs.cred.Load()
	ino.mu.Lock()
	defer ino.mu.Unlock()
	mode &= 0o7777
	if c.UID != 0 && !c.inGroup(ino.gid) {
		mode &^= S_ISGID
	}
	ino.perm = mode
	ino.ctime = fs.now()
	return nil
}

// Chown changes the owner and group of path, as chown(2)/fchownat(2)
// (uid or gid -1: unchanged; AT_SYMLINK_NOFOLLOW changes a symlink itself,
// as lchown; AT_EMPTY_PATH, as fchown). Only root may change the owner;
// the owner may change the group to one of its groups (else EPERM). It
// clears S_ISUID, and S_ISGID when group-executable, of non-directories.
func (fs *FS) Chown(dir *Inode, path string, uid, gid int, flags int) error {
	ino, err := fs.lookupAttr(dir, path, flags, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH)
	if err != nil {
		return err
	}
	c := fs.cred.Load()
	ino.mu.Lock()
	defer ino.mu.Unlock()
	if c.UID != 0 {
		if uid != -1 && uint32(uid) != ino.uid {
			return unix.EPERM
		}
		if ino.uid != c.UID {
			return unix.EPERM
		}
		if gid != -1 && uint32(gid) != ino.gid && !c.inGroup(uint32(gid)) {
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

// Utimens sets the access and modification times of path, as
// utimensat(2): times nil sets both to now; a Nsec of UTIME_NOW or
// UTIME_OMIT sets that one to now or leaves it. Setting explicit times needs
// ownership or root (EPERM); setting them to now also allows write
// permission (EACCES otherwise). flags: AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH.
func (fs *FS) Utimens(dir *Inode, path string, times *[2]Timespec, flags int) error {
	ino, err := fs.lookupAttr(dir, path, flags, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH)
	if err != nil {
		return err
	}
	return fs.utimensInode(ino, times)
}

func (fs *FS) utimensInode(ino *Inode, times *[2]Timespec) error {
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
	if !fs.isOwner(ino) {
		if explicit {
			return unix.EPERM
		}
		if err := fs.permission(ino, mayWrite); err != nil {
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

// Access checks whether the caller may access path with mode (F_OK = 0, or
// an or of R_OK = 4, W_OK = 2, X_OK = 1), as access(2)/faccessat2(2).
// flags: AT_EACCESS (a no-op: real and effective ids are the same here),
// AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH. Root passes read and write checks,
// and execute checks when some execute bit is set or it is a directory.
func (fs *FS) Access(dir *Inode, path string, mode uint32, flags int) error {
	if mode&^7 != 0 {
		return unix.EINVAL
	}
	ino, err := fs.lookupAttr(dir, path, flags,
		unix.AT_EACCESS|unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH)
	if err != nil {
		return err
	}
	if mode == 0 {
		return nil
	}
	return fs.permission(ino, mode)
}

// Stat returns the attributes of path, as stat(2)/fstatat(2)/statx(2)
// (flags AT_SYMLINK_NOFOLLOW: lstat; AT_EMPTY_PATH: an empty path names
// dir, as fstat; AT_NO_AUTOMOUNT and the AT_STATX_* sync flags are
// accepted and ignored).
func (fs *FS) Stat(dir *Inode, path string, flags int) (Stat, error) {
	const atStatxSyncMask = 0x6000
	ino, err := fs.lookupAttr(dir, path, flags&^(unix.AT_NO_AUTOMOUNT|atStatxSyncMask),
		unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH)
	if err != nil {
		return Stat{}, err
	}
	return ino.Stat(), nil
}

// Lstat is Stat that does not follow a final symlink, as lstat(2).
func (fs *FS) Lstat(dir *Inode, path string) (Stat, error) {
	return fs.Stat(dir, path, unix.AT_SYMLINK_NOFOLLOW)
}

// Truncate sets the size of the regular file path, as truncate(2): EISDIR
// for a directory, EINVAL for other non-regular files or a negative size,
// EACCES without write permission, EFBIG beyond MaxFileSize.
func (fs *FS) Truncate(dir *Inode, path string, size int64) error {
	if size < 0 {
		return unix.EINVAL
	}
	fs.mu.RLock()
	ino, err := fs.lookupLocked(dir, path, walkFollow, false)
	fs.mu.RUnlock()
	if err != nil {
		return err
	}
	switch ino.typ {
	case S_IFREG:
	case S_IFDIR:
		return unix.EISDIR
	default:
		return unix.EINVAL
	}
	if err := fs.permission(ino, mayWrite); err != nil {
		return err
	}
	return fs.truncateInode(ino, size)
}

func (fs *FS) truncateInode(ino *Inode, size int64) error {
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
	need := !ino.mtime.before(ino.atime) || !ino.ctime.before(ino.atime) ||
		now.Sec-ino.atime.Sec >= 24*3600
	ino.mu.RUnlock()
	if !need {
		return
	}
	ino.mu.Lock()
	ino.atime = now
	ino.mu.Unlock()
}
