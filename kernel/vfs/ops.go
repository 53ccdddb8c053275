package vfs

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// Where tells where an opened file lives: its location and its absolute
// path as Linux's d_path reports it (/proc/self/fd, /proc/self/maps).
type Where struct {
	Loc  Loc
	Path string
}

// pathIn is the absolute path of name in the directory parent.
func (f *FS) pathIn(parent Loc, name string) string {
	d, err := f.DirPath(parent)
	if err != nil {
		d = "/"
	}
	if d == "/" {
		return "/" + name
	}
	return d + "/" + name
}

// whereOf is the Where of the final location of res.
func (f *FS) whereOf(res walkResult) Where {
	if isDir(res.loc.In) || res.kind != lastNorm || res.name == "" {
		if p, err := f.DirPath(res.loc); err == nil {
			return Where{res.loc, p}
		}
	}
	return Where{res.loc, f.pathIn(res.parent, res.name)}
}

func readOnly(m *Mount) error {
	if m.ReadOnly() {
		return unix.EROFS
	}
	return nil
}

// writesData reports whether opening with flags modifies a file of type
// typ: EROFS on a read-only mount (devices, FIFOs and sockets are not
// stored in the filesystem, so they may still be written).
func writesData(flags int, typ uint32) bool {
	if typ != S_IFREG && typ != S_IFDIR && typ != S_IFLNK {
		return false
	}
	return flags&unix.O_ACCMODE != unix.O_RDONLY || flags&unix.O_TRUNC != 0
}

// Open opens (and with O_CREAT creates) the file at path relative to dir
// (zero: the working directory), as open(2)/openat(2); see OpenHow for
// openat2(2)'s resolve flags.
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
// (O_CREAT|O_DIRECTORY, O_TMPFILE without write access), EROFS.
func (f *FS) Open(ctx Context, dir Loc, path string, flags int, mode uint32) (File, Where, error) {
	return f.OpenResolve(ctx, dir, path, flags, mode, 0)
}

// OpenResolve is Open with openat2(2)'s RESOLVE_* flags.
func (f *FS) OpenResolve(ctx Context, dir Loc, path string, flags int, mode uint32, rflags uint64) (File, Where, error) {
	if flags&unix.O_TMPFILE == unix.O_TMPFILE {
		return f.openTmpfile(ctx, dir, path, flags, mode, rflags)
	}
	if flags&unix.O_PATH != 0 {
		flags &= unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_CLOEXEC
	}
	creat := flags&unix.O_CREAT != 0
	if creat && flags&unix.O_DIRECTORY != 0 {
		return nil, Where{}, unix.EINVAL
	}
	wm := walkFollow
	if flags&unix.O_NOFOLLOW != 0 {
		wm = walkNoFollow
	}
	if creat && flags&unix.O_EXCL != 0 {
		wm = walkParent
	}
	for {
		res, err := f.resolve(ctx, dir, path, wm, rflags)
		if err != nil {
			return nil, Where{}, err
		}
		if creat && res.slash {
			return nil, Where{}, unix.EISDIR
		}
		if !res.exists() {
			if !creat {
				return nil, Where{}, unix.ENOENT
			}
			if err := readOnly(res.parent.M); err != nil {
				return nil, Where{}, err
			}
			file, err := res.parent.In.Create(ctx, res.name, mode&0o7777&^f.umask.Load(), flags)
			if err == unix.EEXIST && flags&unix.O_EXCL == 0 {
				continue // created meanwhile: open it
			}
			if err != nil {
				return nil, Where{}, err
			}
			return file, Where{Loc{res.parent.M, file.Inode()}, f.pathIn(res.parent, res.name)}, nil
		}
		if creat && flags&unix.O_EXCL != 0 {
			return nil, Where{}, unix.EEXIST
		}
		if err := res.checkSlash(); err != nil {
			return nil, Where{}, err
		}
		// Writing or truncating a regular file needs a writable mount
		// (EROFS); a directory or a symlink fails in Open first, with
		// EISDIR or ELOOP, as may_open does.
		if flags&unix.O_PATH == 0 && typeOf(res.loc.In) == S_IFREG && writesData(flags, S_IFREG) {
			if err := readOnly(res.loc.M); err != nil {
				return nil, Where{}, err
			}
		}
		file, err := res.loc.In.Open(ctx, flags)
		if err != nil {
			return nil, Where{}, err
		}
		return file, f.whereOf(res), nil
	}
}

// openTmpfile creates an unnamed regular file in the directory path, as
// open(2) with O_TMPFILE.
func (f *FS) openTmpfile(ctx Context, dir Loc, path string, flags int, mode uint32, rflags uint64) (File, Where, error) {
	acc := flags & unix.O_ACCMODE
	if acc != unix.O_WRONLY && acc != unix.O_RDWR || flags&unix.O_CREAT != 0 {
		return nil, Where{}, unix.EINVAL
	}
	res, err := f.resolve(ctx, dir, path, walkFollow, rflags)
	if err != nil {
		return nil, Where{}, err
	}
	if !res.exists() {
		return nil, Where{}, unix.ENOENT
	}
	d := res.loc
	if !isDir(d.In) {
		return nil, Where{}, unix.ENOTDIR
	}
	if err := readOnly(d.M); err != nil {
		return nil, Where{}, err
	}
	file, err := d.In.Tmpfile(ctx, mode&0o7777&^f.umask.Load(), flags&^unix.O_TMPFILE)
	if err != nil {
		return nil, Where{}, err
	}
	p, _ := f.DirPath(d)
	if p == "/" {
		p = ""
	}
	return file, Where{Loc{d.M, file.Inode()}, p + "/#" + strconv.FormatUint(file.Inode().Stat().Ino, 10)}, nil
}

// create resolves path for the creation of a new name (mkdir, mknod,
// symlink, link): EEXIST if it exists (or is "/", "." or ".."), ENOENT for
// a trailing slash unless isDir, EROFS on a read-only mount.
func (f *FS) create(ctx Context, dir Loc, path string, isDir bool) (walkResult, error) {
	res, err := f.resolve(ctx, dir, path, walkParent, 0)
	if err != nil {
		return res, err
	}
	if res.kind != lastNorm || res.exists() {
		return res, unix.EEXIST
	}
	if res.slash && !isDir {
		return res, unix.ENOENT
	}
	return res, readOnly(res.parent.M)
}

// Mkdir creates the directory path with permission mode&^umask (and
// S_ISVTX), as mkdir(2)/mkdirat(2).
func (f *FS) Mkdir(ctx Context, dir Loc, path string, mode uint32) error {
	res, err := f.create(ctx, dir, path, true)
	if err != nil {
		return err
	}
	return res.parent.In.Mkdir(ctx, res.name, mode&0o1777&^f.umask.Load())
}

// Mknod creates a regular file, FIFO, socket or device node, as
// mknod(2)/mknodat(2). The type comes from mode's S_IFMT bits (0 means a
// regular file); device nodes need uid 0 (EPERM). Other types: EINVAL
// (EPERM for S_IFDIR, as Linux).
func (f *FS) Mknod(ctx Context, dir Loc, path string, mode uint32, rdev uint64) error {
	c := ctx.Cred()
	switch mode & S_IFMT {
	case 0, S_IFREG, S_IFIFO, S_IFSOCK:
	case S_IFCHR, S_IFBLK:
		if c.UID != 0 {
			return unix.EPERM
		}
	case S_IFDIR:
		return unix.EPERM
	default:
		return unix.EINVAL
	}
	res, err := f.create(ctx, dir, path, false)
	if err != nil {
		return err
	}
	return res.parent.In.Mknod(ctx, res.name, mode&S_IFMT|mode&0o7777&^f.umask.Load(), rdev)
}

// Symlink creates the symbolic link linkpath with contents target, as
// symlink(2)/symlinkat(2): ENOENT for an empty target, ENAMETOOLONG for a
// target of PathMax bytes or more, EEXIST if linkpath exists.
func (f *FS) Symlink(ctx Context, target string, dir Loc, linkpath string) error {
	if target == "" {
		return unix.ENOENT
	}
	if len(target) >= PathMax {
		return unix.ENAMETOOLONG
	}
	res, err := f.create(ctx, dir, linkpath, false)
	if err != nil {
		return err
	}
	return res.parent.In.Symlink(ctx, res.name, target)
}

// Readlink returns the contents of the symbolic link path, as
// readlink(2)/readlinkat(2): EINVAL if it is not a symlink. An empty path
// names dir itself (a symlink opened with O_PATH|O_NOFOLLOW).
func (f *FS) Readlink(ctx Context, dir Loc, path string) (string, error) {
	l, err := f.lookup(ctx, dir, path, walkNoFollow, !dir.IsZero())
	if err != nil {
		return "", err
	}
	if typeOf(l.In) != S_IFLNK {
		if path == "" {
			return "", unix.ENOENT
		}
		return "", unix.EINVAL
	}
	return l.In.Readlink(ctx)
}

// Link creates newpath as a new name of the file oldpath, as
// link(2)/linkat(2). A final symlink in oldpath is followed only with
// AT_SYMLINK_FOLLOW; AT_EMPTY_PATH with an empty oldpath names olddir.
// Errors: EPERM for a directory, EEXIST, ENOENT for a removed file, EXDEV
// across mounts, EROFS.
func (f *FS) Link(ctx Context, olddir Loc, oldpath string, newdir Loc, newpath string, flags int) error {
	if flags&^(unix.AT_SYMLINK_FOLLOW|unix.AT_EMPTY_PATH) != 0 {
		return unix.EINVAL
	}
	mode := walkNoFollow
	if flags&unix.AT_SYMLINK_FOLLOW != 0 {
		mode = walkFollow
	}
	old, err := f.lookup(ctx, olddir, oldpath, mode, flags&unix.AT_EMPTY_PATH != 0)
	if err != nil {
		return err
	}
	res, err := f.resolve(ctx, newdir, newpath, walkParent, 0)
	if err != nil {
		return err
	}
	if res.kind != lastNorm || res.exists() {
		return unix.EEXIST
	}
	if res.slash {
		return unix.ENOENT
	}
	if old.M != res.parent.M {
		return unix.EXDEV
	}
	if err := readOnly(res.parent.M); err != nil {
		return err
	}
	if isDir(old.In) {
		return unix.EPERM
	}
	return res.parent.In.Link(ctx, res.name, old.In)
}

// isMountpoint reports whether something is mounted on in, as seen in
// mount m.
func (f *FS) isMountpoint(m *Mount, in Inode) bool {
	f.NS.mu.RLock()
	defer f.NS.mu.RUnlock()
	return f.NS.mountedAt(m, in) != nil
}

// Unlink removes the name path, as unlink(2) (unlinkat(2) without
// AT_REMOVEDIR): EISDIR for a directory, ENOTDIR for a non-directory named
// with a trailing slash, EBUSY for a mount point, EROFS.
func (f *FS) Unlink(ctx Context, dir Loc, path string) error {
	res, err := f.resolve(ctx, dir, path, walkParent, 0)
	if err != nil {
		return err
	}
	if res.kind != lastNorm {
		return unix.EISDIR
	}
	// The mount is checked before the name is looked up, as do_unlinkat.
	if err := readOnly(res.parent.M); err != nil {
		return err
	}
	if !res.exists() {
		return unix.ENOENT
	}
	if isDir(res.under) {
		return unix.EISDIR
	}
	if res.slash {
		return unix.ENOTDIR
	}
	if f.isMountpoint(res.parent.M, res.under) {
		return unix.EBUSY
	}
	return res.parent.In.Unlink(ctx, res.name)
}

// Rmdir removes the empty directory path, as rmdir(2) (unlinkat(2) with
// AT_REMOVEDIR): ENOTEMPTY if it has entries (or the path ends in ".."),
// EINVAL for ".", EBUSY for "/" or a mount point, ENOTDIR for a
// non-directory, EROFS.
func (f *FS) Rmdir(ctx Context, dir Loc, path string) error {
	res, err := f.resolve(ctx, dir, path, walkParent, 0)
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
	if err := readOnly(res.parent.M); err != nil {
		return err
	}
	if !res.exists() {
		return unix.ENOENT
	}
	if !isDir(res.under) {
		return unix.ENOTDIR
	}
	if f.isMountpoint(res.parent.M, res.under) {
		return unix.EBUSY
	}
	return res.parent.In.Rmdir(ctx, res.name)
}

// Rename renames oldpath to newpath, as rename(2)/renameat2(2).
//
// An existing newpath is replaced atomically: a non-directory by a
// non-directory, an empty directory by a directory. flags may be
// RENAME_NOREPLACE (EEXIST if newpath exists) or RENAME_EXCHANGE (swap the
// two existing names); RENAME_WHITEOUT and other bits give EINVAL.
// Errors: EBUSY for "/", "." or ".." as a final component or a mount
// point, EINVAL when moving a directory into itself, ENOTEMPTY for a
// non-empty target directory, EISDIR/ENOTDIR for a type mismatch (or a
// trailing slash on a non-directory), EXDEV across mounts, EROFS.
func (f *FS) Rename(ctx Context, olddir Loc, oldpath string, newdir Loc, newpath string, flags uint) error {
	if flags&^(RENAME_NOREPLACE|RENAME_EXCHANGE) != 0 ||
		flags&RENAME_NOREPLACE != 0 && flags&RENAME_EXCHANGE != 0 {
		return unix.EINVAL
	}
	exchange := flags&RENAME_EXCHANGE != 0
	o, err := f.resolve(ctx, olddir, oldpath, walkParent, 0)
	if err != nil {
		return err
	}
	n, err := f.resolve(ctx, newdir, newpath, walkParent, 0)
	if err != nil {
		return err
	}
	// Both names must be on one mount, a writable one, before they are
	// looked up (do_renameat2).
	if o.parent.M != n.parent.M {
		return unix.EXDEV
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
	if err := readOnly(o.parent.M); err != nil {
		return err
	}
	if !o.exists() {
		return unix.ENOENT
	}
	if flags&RENAME_NOREPLACE != 0 && n.exists() {
		return unix.EEXIST
	}
	if exchange {
		if !n.exists() {
			return unix.ENOENT
		}
		if n.slash && !isDir(n.under) {
			return unix.ENOTDIR
		}
	}
	if !isDir(o.under) && (o.slash || n.slash) {
		return unix.ENOTDIR
	}
	if f.isMountpoint(o.parent.M, o.under) || n.exists() && f.isMountpoint(n.parent.M, n.under) {
		return unix.EBUSY
	}
	return o.parent.In.Rename(ctx, o.name, n.parent.In, n.name, flags)
}

// lookupAttr resolves path for an attribute operation (chmod, chown,
// utimensat, access, stat).
func (f *FS) lookupAttr(ctx Context, dir Loc, path string, flags, allowed int) (Loc, error) {
	mode, empty, err := atFlags(flags, allowed)
	if err != nil {
		return Loc{}, err
	}
	return f.lookup(ctx, dir, path, mode, empty)
}

// setattr applies a to the location l, EROFS on a read-only mount.
func (f *FS) setattr(ctx Context, l Loc, a Setattr) error {
	if err := readOnly(l.M); err != nil {
		return err
	}
	return l.In.Setattr(ctx, a)
}

// Chmod sets the permission bits (07777) of path, as chmod(2)/fchmodat(2)
// (AT_SYMLINK_NOFOLLOW on a symlink gives EOPNOTSUPP, as fchmodat2;
// AT_EMPTY_PATH with an empty path changes dir, as fchmod(2)).
func (f *FS) Chmod(ctx Context, dir Loc, path string, mode uint32, flags int) error {
	l, err := f.lookupAttr(ctx, dir, path, flags, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH)
	if err != nil {
		return err
	}
	return f.ChmodLoc(ctx, l, mode)
}

// ChmodLoc is Chmod of a location (fchmod(2)).
func (f *FS) ChmodLoc(ctx Context, l Loc, mode uint32) error {
	if typeOf(l.In) == S_IFLNK {
		return unix.EOPNOTSUPP
	}
	return f.setattr(ctx, l, Setattr{Mode: &mode})
}

// Chown changes the owner and group of path, as chown(2)/fchownat(2)
// (uid or gid -1: unchanged; AT_SYMLINK_NOFOLLOW changes a symlink itself,
// as lchown; AT_EMPTY_PATH, as fchown).
func (f *FS) Chown(ctx Context, dir Loc, path string, uid, gid int, flags int) error {
	l, err := f.lookupAttr(ctx, dir, path, flags, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH)
	if err != nil {
		return err
	}
	return f.ChownLoc(ctx, l, uid, gid)
}

// ChownLoc is Chown of a location (fchown(2)).
func (f *FS) ChownLoc(ctx Context, l Loc, uid, gid int) error {
	return f.setattr(ctx, l, Setattr{UID: uid, GID: gid, Chown: true})
}

// Utimens sets the access and modification times of path, as
// utimensat(2): times nil sets both to now; a Nsec of UTIME_NOW or
// UTIME_OMIT sets that one to now or leaves it. flags:
// AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH.
func (f *FS) Utimens(ctx Context, dir Loc, path string, times *[2]Timespec, flags int) error {
	l, err := f.lookupAttr(ctx, dir, path, flags, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH)
	if err != nil {
		return err
	}
	return f.UtimensLoc(ctx, l, times)
}

// UtimensLoc is Utimens of a location (futimens(3)).
func (f *FS) UtimensLoc(ctx Context, l Loc, times *[2]Timespec) error {
	if times != nil {
		for _, ts := range times {
			if ts.Nsec != UTIME_NOW && ts.Nsec != UTIME_OMIT && (ts.Nsec < 0 || ts.Nsec >= 1e9) {
				return unix.EINVAL
			}
		}
		if times[0].Nsec == UTIME_OMIT && times[1].Nsec == UTIME_OMIT {
			return nil
		}
	}
	return f.setattr(ctx, l, Setattr{Times: times, TimesNow: times == nil})
}

// Access checks whether the caller may access path with mode (F_OK = 0, or
// an or of R_OK = 4, W_OK = 2, X_OK = 1), as access(2)/faccessat2(2).
// flags: AT_EACCESS (a no-op: real and effective ids are the same here),
// AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH. W_OK on a read-only mount gives
// EROFS for files stored there.
func (f *FS) Access(ctx Context, dir Loc, path string, mode uint32, flags int) error {
	if mode&^7 != 0 {
		return unix.EINVAL
	}
	l, err := f.lookupAttr(ctx, dir, path, flags,
		unix.AT_EACCESS|unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH)
	if err != nil {
		return err
	}
	if mode == 0 {
		return nil
	}
	if err := l.In.Permission(ctx, mode); err != nil {
		return err
	}
	// "SuS v2 requires we report a read only fs too" (do_faccessat).
	if mode&MayWrite != 0 && writesData(unix.O_WRONLY, typeOf(l.In)) {
		return readOnly(l.M)
	}
	return nil
}

// Stat returns the attributes of path, as stat(2)/fstatat(2)/statx(2)
// (flags AT_SYMLINK_NOFOLLOW: lstat; AT_EMPTY_PATH: an empty path names
// dir, as fstat; AT_NO_AUTOMOUNT and the AT_STATX_* sync flags are
// accepted and ignored).
func (f *FS) Stat(ctx Context, dir Loc, path string, flags int) (Stat, error) {
	const atStatxSyncMask = 0x6000
	l, err := f.lookupAttr(ctx, dir, path, flags&^(unix.AT_NO_AUTOMOUNT|atStatxSyncMask),
		unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH)
	if err != nil {
		return Stat{}, err
	}
	return l.In.Stat(), nil
}

// Lstat is Stat that does not follow a final symlink, as lstat(2).
func (f *FS) Lstat(ctx Context, dir Loc, path string) (Stat, error) {
	return f.Stat(ctx, dir, path, unix.AT_SYMLINK_NOFOLLOW)
}

// Truncate sets the size of the regular file path, as truncate(2): EISDIR
// for a directory, EINVAL for other non-regular files or a negative size,
// EACCES without write permission, EFBIG, EROFS.
func (f *FS) Truncate(ctx Context, dir Loc, path string, size int64) error {
	if size < 0 {
		return unix.EINVAL
	}
	l, err := f.lookup(ctx, dir, path, walkFollow, false)
	if err != nil {
		return err
	}
	switch typeOf(l.In) {
	case S_IFREG:
	case S_IFDIR:
		return unix.EISDIR
	default:
		return unix.EINVAL
	}
	if err := readOnly(l.M); err != nil {
		return err
	}
	if err := l.In.Permission(ctx, MayWrite); err != nil {
		return err
	}
	return l.In.Setattr(ctx, Setattr{Size: &size})
}

// Statfs describes the filesystem of the location l as statfs(2) does,
// with the mount's flags.
func (f *FS) Statfs(l Loc) Statfs {
	s := l.M.fs.Statfs()
	s.Flags |= ST_VALID
	fl := l.M.flags
	for _, b := range []struct{ ms, st uint64 }{{MS_RDONLY, ST_RDONLY}, {MS_NOSUID, ST_NOSUID},
		{MS_NODEV, ST_NODEV}, {MS_NOEXEC, ST_NOEXEC}} {
		if fl&b.ms != 0 {
			s.Flags |= b.st
		}
	}
	if fl&(MS_NOATIME|MS_STRICTATIME) == 0 {
		s.Flags |= ST_RELATIME
	}
	return s
}

// MountAt performs mount(2) with a target path resolved from dir and, for
// MS_BIND and MS_MOVE, a source path: ENOENT, ENOTDIR, ENODEV for an
// unknown type, EINVAL for a remount or a propagation change of something
// that is not a mount root, EBUSY when MS_MOVE moves the root mount.
func (f *FS) MountAt(ctx Context, source, target, fstype string, flags uint64, data string) error {
	if flags&MS_MGC_MSK == MS_MGC_VAL {
		flags &^= MS_MGC_MSK
	}
	tres, err := f.resolve(ctx, Loc{}, target, walkFollow, 0)
	if err != nil {
		return err
	}
	if !tres.exists() {
		return unix.ENOENT
	}
	if err := tres.checkSlash(); err != nil {
		return err
	}
	tl := tres.loc
	tpath := f.whereOf(tres).Path
	switch {
	case flags&MS_REMOUNT != 0:
		return f.NS.Remount(tl, flags, data)
	case flags&MS_BIND != 0:
		sres, err := f.resolve(ctx, Loc{}, source, walkFollow, 0)
		if err != nil {
			return err
		}
		if !sres.exists() {
			return unix.ENOENT
		}
		return f.NS.Bind(sres.loc, f.whereOf(sres).Path, tl, tpath, flags, flags&MS_REC != 0)
	case flags&propagationFlags != 0:
		return f.NS.SetPropagation(tl)
	case flags&MS_MOVE != 0:
		src, err := f.lookup(ctx, Loc{}, source, walkFollow, false)
		if err != nil {
			return err
		}
		return f.NS.Move(src, tl, tpath)
	}
	return f.NS.Mount(source, tl, tpath, fstype, flags, data)
}

// Umount performs umount2(2) on the mount at target: EINVAL if target is
// not a mount root or flags are bad, EBUSY for the root mount, a mount
// with mounts below it or holding the working directory (without
// MNT_DETACH).
func (f *FS) Umount(ctx Context, target string, flags int) error {
	if flags&^(MNT_FORCE|MNT_DETACH|MNT_EXPIRE|UMOUNT_NOFOLLOW) != 0 {
		return unix.EINVAL
	}
	mode := walkFollow
	if flags&UMOUNT_NOFOLLOW != 0 {
		mode = walkNoFollow
	}
	l, err := f.lookup(ctx, Loc{}, target, mode, false)
	if err != nil {
		return err
	}
	return f.NS.Umount(l, flags, func(m *Mount) bool {
		for _, c := range []Loc{f.Cwd(), f.Root()} {
			for mm := c.M; mm != nil; mm = mm.parent {
				if mm == m {
					return true
				}
			}
		}
		return false
	})
}

// MountFilesystem mounts fsys on the directory target (resolved from the
// root) with mount flags: the kernel's own mounts.
func (f *FS) MountFilesystem(ctx Context, fsys Filesystem, source, target string, flags uint64) error {
	res, err := f.resolve(ctx, Loc{}, target, walkFollow, 0)
	if err != nil {
		return err
	}
	if !res.exists() {
		return unix.ENOENT
	}
	return f.NS.MountFilesystem(fsys, source, res.loc, f.whereOf(res).Path, flags)
}
