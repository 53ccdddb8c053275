package vfs

import (
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Loc is a location in the mount tree: an inode as seen through a mount
// (Linux's struct path). The same inode may be visible at several
// locations (bind mounts).
type Loc struct {
	M  *Mount
	In Inode
}

// IsZero reports whether l names nothing.
func (l Loc) IsZero() bool { return l.M == nil }

// FS is a process's view of the filesystems (Linux's fs_struct with its
// mount namespace): the mount table, the root and working directories and
// the umask. Its path methods take the caller (for credentials), a
// starting directory (the dirfd of the *at system calls; the zero Loc
// means the working directory, AT_FDCWD) and a path.
type FS struct {
	NS    *Namespace
	root  atomic.Pointer[Loc]
	cwd   atomic.Pointer[Loc]
	umask atomic.Uint32
}

// NewFS returns a view of ns with root and working directory at its root
// and umask 022.
func NewFS(ns *Namespace) *FS {
	f := &FS{NS: ns}
	r := ns.Root()
	f.root.Store(&r)
	f.cwd.Store(&r)
	f.umask.Store(0o022)
	return f
}

// Umask sets the file mode creation mask and returns the previous one, as
// umask(2).
func (f *FS) Umask(mask uint32) uint32 { return f.umask.Swap(mask & 0o777) }

// Root returns the root directory.
func (f *FS) Root() Loc { return *f.root.Load() }

// Cwd returns the working directory.
func (f *FS) Cwd() Loc { return *f.cwd.Load() }

// walkMode says whether the final component of a path is followed when it
// is a symbolic link.
type walkMode int

const (
	// walkParent never follows the final component (mkdir, unlink, rmdir,
	// rename, link's new path, symlink): the operation acts on the name.
	walkParent walkMode = iota
	// walkNoFollow follows it only when the path has a trailing slash
	// (lstat, AT_SYMLINK_NOFOLLOW, O_NOFOLLOW).
	walkNoFollow
	// walkFollow always follows it (stat, open).
	walkFollow
)

// lastKind is the kind of the final component, as Linux's LAST_NORM,
// LAST_ROOT, LAST_DOT and LAST_DOTDOT.
type lastKind int

const (
	lastNorm lastKind = iota
	lastRoot
	lastDot
	lastDotDot
)

// RESOLVE_* flags of openat2(2).
const (
	RESOLVE_NO_XDEV       = 0x01
	RESOLVE_NO_MAGICLINKS = 0x02
	RESOLVE_NO_SYMLINKS   = 0x04
	RESOLVE_BENEATH       = 0x08
	RESOLVE_IN_ROOT       = 0x10
	RESOLVE_CACHED        = 0x20
	resolveAll            = 0x3f
)

// MagicLink is implemented by symbolic links whose target is an open file
// rather than a path (/proc/self/fd/N, /proc/self/exe, proc(5)): following
// one jumps to that file's location.
type MagicLink interface {
	MagicTarget(ctx Context, at Loc) (Loc, error)
}

// walkResult is the outcome of resolving a path.
type walkResult struct {
	kind   lastKind
	parent Loc    // directory holding name (kind == lastNorm)
	name   string // final component (kind == lastNorm)
	loc    Loc    // final location after crossing mounts; zero when missing
	under  Inode  // the final inode in parent before crossing mounts
	slash  bool   // the final component was followed by a slash
}

func (r *walkResult) exists() bool { return !r.loc.IsZero() }

// checkSlash reports ENOTDIR when a trailing slash names a non-directory.
func (r *walkResult) checkSlash() error {
	if r.slash && r.exists() && !isDir(r.loc.In) {
		return unix.ENOTDIR
	}
	return nil
}

// typer is implemented by inodes that tell their type without a full
// Stat (the type of an inode never changes): path walks ask it of every
// component.
type typer interface{ Type() uint32 }

func isDir(in Inode) bool { return typeOf(in) == S_IFDIR }

func typeOf(in Inode) uint32 {
	if t, ok := in.(typer); ok {
		return t.Type() & S_IFMT
	}
	return in.Stat().Mode & S_IFMT
}

// walker holds the state of one resolution.
type walker struct {
	fs     *FS
	ctx    Context
	root   Loc // "/" and the limit of ".."
	links  int
	rflags uint64
}

// cross moves l onto the root of whatever is mounted on it.
func (w *walker) cross(l Loc) (Loc, error) {
	ns := w.fs.NS
	ns.mu.RLock()
	defer ns.mu.RUnlock()
	for {
		m := ns.mountedAt(l.M, l.In)
		if m == nil {
			return l, nil
		}
		if w.rflags&RESOLVE_NO_XDEV != 0 {
			return l, unix.EXDEV
		}
		l = Loc{m, m.root}
	}
}

// dotdot returns the parent of the directory l, climbing out of mounts
// whose root l is; the walk's root is its own parent.
func (w *walker) dotdot(l Loc) (Loc, error) {
	for {
		if l == w.root {
			if w.rflags&RESOLVE_BENEATH != 0 {
				return l, unix.EXDEV
			}
			return l, nil
		}
		if l.In == l.M.root && l.M.parent != nil {
			if w.rflags&RESOLVE_NO_XDEV != 0 {
				return l, unix.EXDEV
			}
			l = Loc{l.M.parent, l.M.point}
			continue
		}
		p, _ := l.In.Parent()
		return w.cross(Loc{l.M, p})
	}
}

// followLink prepares the walk of the symlink at l, found in directory
// cur, with rest left to walk after it. It returns the directory to go on
// from and the path left: the link's target and rest, or, for a magic
// link, its target location with magic set and rest unchanged.
func (w *walker) followLink(l Loc, cur Loc, rest string) (next Loc, left string, magic bool, err error) {
	if w.links++; w.links > MaxSymlinks {
		return cur, "", false, unix.ELOOP
	}
	if w.rflags&RESOLVE_NO_SYMLINKS != 0 || l.M.flags&MS_NOSYMFOLLOW != 0 {
		return cur, "", false, unix.ELOOP
	}
	if ml, ok := l.In.(MagicLink); ok {
		if w.rflags&(RESOLVE_NO_MAGICLINKS|RESOLVE_BENEATH|RESOLVE_IN_ROOT) != 0 {
			return cur, "", false, unix.ELOOP
		}
		t, err := ml.MagicTarget(w.ctx, l)
		if err != nil {
			return cur, "", false, err
		}
		return t, rest, true, nil
	}
	target, err := l.In.Readlink(w.ctx)
	if err != nil {
		return cur, "", false, err
	}
	if target == "" {
		return cur, "", false, unix.ENOENT
	}
	if rest != "" {
		target += "/" + rest
	}
	return cur, target, false, nil
}

// walk resolves path from start following path_resolution(7): every
// directory on the way needs search permission, intermediate symlinks are
// always followed, the final one according to mode, at most MaxSymlinks in
// total (ELOOP), ".." of the root is the root, ".." of the root of a mount
// is ".." of its mount point, a directory with something mounted on it
// shows the mounted root, components longer than NameMax and paths of
// PathMax bytes or more give ENAMETOOLONG.
func (w *walker) walk(start Loc, path string, mode walkMode) (walkResult, error) {
	if path == "" {
		return walkResult{}, unix.ENOENT
	}
	if len(path) >= PathMax {
		return walkResult{}, unix.ENAMETOOLONG
	}
	cur := start
	rest := path
	for {
		if rest[0] == '/' {
			if w.rflags&RESOLVE_BENEATH != 0 {
				return walkResult{}, unix.EXDEV
			}
			cur = w.root
			rest = strings.TrimLeft(rest, "/")
			if rest == "" {
				return walkResult{kind: lastRoot, loc: cur, under: cur.In, parent: cur}, nil
			}
		}
		comp, slash := rest, false
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			comp, rest, slash = rest[:i], strings.TrimLeft(rest[i:], "/"), true
		} else {
			rest = ""
		}
		last := rest == ""
		if !isDir(cur.In) {
			return walkResult{}, unix.ENOTDIR
		}
		if err := cur.In.Permission(w.ctx, MayExec); err != nil {
			return walkResult{}, err
		}
		switch comp {
		case ".":
			if last {
				return walkResult{kind: lastDot, loc: cur, under: cur.In, parent: cur, slash: slash}, nil
			}
			continue
		case "..":
			var err error
			if cur, err = w.dotdot(cur); err != nil {
				return walkResult{}, err
			}
			if last {
				return walkResult{kind: lastDotDot, loc: cur, under: cur.In, parent: cur, slash: slash}, nil
			}
			continue
		}
		if len(comp) > NameMax {
			return walkResult{}, unix.ENAMETOOLONG
		}
		child, err := cur.In.Lookup(w.ctx, comp)
		if err != nil && err != unix.ENOENT {
			return walkResult{}, err
		}
		var cl Loc
		if child != nil {
			if cl, err = w.cross(Loc{cur.M, child}); err != nil {
				return walkResult{}, err
			}
		}
		isLink := child != nil && typeOf(cl.In) == S_IFLNK
		if last {
			if isLink && (mode == walkFollow || mode == walkNoFollow && slash) {
				next, r, magic, err := w.followLink(cl, cur, "")
				if err != nil {
					return walkResult{}, err
				}
				if magic {
					// The link names an open file: that is the result.
					return walkResult{kind: lastNorm, loc: next, under: next.In, parent: next, slash: slash}, nil
				}
				if slash {
					r += "/"
				}
				cur, rest = next, r
				continue
			}
			return walkResult{kind: lastNorm, parent: cur, name: comp, loc: cl, under: child, slash: slash}, nil
		}
		switch {
		case child == nil:
			return walkResult{}, unix.ENOENT
		case isLink:
			next, r, magic, err := w.followLink(cl, cur, rest)
			if err != nil {
				return walkResult{}, err
			}
			cur, rest = next, r
			if magic {
				cur, err = w.cross(cur)
				if err != nil {
					return walkResult{}, err
				}
			}
		case !isDir(cl.In):
			return walkResult{}, unix.ENOTDIR
		default:
			cur = cl
		}
	}
}

// newWalker starts a resolution for the caller ctx.
func (f *FS) newWalker(ctx Context, rflags uint64) *walker {
	return &walker{fs: f, ctx: ctx, root: f.Root(), rflags: rflags}
}

// base returns the directory a relative path starts from: dir, or the
// working directory for the zero Loc.
func (f *FS) base(dir Loc) Loc {
	if dir.IsZero() {
		return f.Cwd()
	}
	return dir
}

// resolve walks path from dir (zero: the working directory).
func (f *FS) resolve(ctx Context, dir Loc, path string, mode walkMode, rflags uint64) (walkResult, error) {
	w := f.newWalker(ctx, rflags)
	start := f.base(dir)
	if rflags&(RESOLVE_BENEATH|RESOLVE_IN_ROOT) != 0 {
		// ".." and absolute paths stop at (IN_ROOT) or may not leave
		// (BENEATH) the starting directory.
		w.root = start
	}
	return w.walk(start, path, mode)
}

// lookup resolves path to an existing location. With emptyPath, an empty
// path names dir itself (AT_EMPTY_PATH).
func (f *FS) lookup(ctx Context, dir Loc, path string, mode walkMode, emptyPath bool) (Loc, error) {
	if path == "" && emptyPath {
		return f.base(dir), nil
	}
	res, err := f.resolve(ctx, dir, path, mode, 0)
	if err != nil {
		return Loc{}, err
	}
	if !res.exists() {
		return Loc{}, unix.ENOENT
	}
	if err := res.checkSlash(); err != nil {
		return Loc{}, err
	}
	return res.loc, nil
}

// atFlags checks flags against the allowed AT_* bits and returns the walk
// mode and whether AT_EMPTY_PATH is set.
func atFlags(flags, allowed int) (walkMode, bool, error) {
	if flags&^allowed != 0 {
		return 0, false, unix.EINVAL
	}
	mode := walkFollow
	if flags&unix.AT_SYMLINK_NOFOLLOW != 0 {
		mode = walkNoFollow
	}
	return mode, flags&unix.AT_EMPTY_PATH != 0, nil
}

// Lookup resolves path relative to dir (zero: the working directory), as
// path_resolution(7). flags may hold AT_SYMLINK_NOFOLLOW (do not follow a
// final symlink) and AT_EMPTY_PATH (an empty path names dir).
func (f *FS) Lookup(ctx Context, dir Loc, path string, flags int) (Loc, error) {
	mode, empty, err := atFlags(flags, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH)
	if err != nil {
		return Loc{}, err
	}
	return f.lookup(ctx, dir, path, mode, empty)
}

// Chdir changes the working directory to path, as chdir(2): ENOTDIR for a
// non-directory, EACCES without search permission.
func (f *FS) Chdir(ctx Context, dir Loc, path string) error {
	l, err := f.lookup(ctx, dir, path, walkFollow, false)
	if err != nil {
		return err
	}
	return f.SetCwd(ctx, l)
}

// SetCwd makes the directory l the working directory, as fchdir(2).
func (f *FS) SetCwd(ctx Context, l Loc) error {
	if !isDir(l.In) {
		return unix.ENOTDIR
	}
	if err := l.In.Permission(ctx, MayExec); err != nil {
		return err
	}
	f.cwd.Store(&l)
	return nil
}

// Chroot makes the directory l the root directory, as chroot(2).
func (f *FS) Chroot(ctx Context, l Loc) error {
	if !isDir(l.In) {
		return unix.ENOTDIR
	}
	if err := l.In.Permission(ctx, MayExec); err != nil {
		return err
	}
	f.root.Store(&l)
	return nil
}

// Getcwd returns the absolute path of the working directory, as getcwd(3);
// ENOENT if it has been removed.
func (f *FS) Getcwd() (string, error) { return f.DirPath(f.Cwd()) }

// DirPath returns the absolute path of the directory l; ENOENT if it has
// been removed or its mount detached, ENOTDIR if it is not a directory.
func (f *FS) DirPath(l Loc) (string, error) {
	if !isDir(l.In) {
		return "", unix.ENOTDIR
	}
	root := f.Root()
	var parts []string
	for l != root {
		if l.M.dead {
			return "", unix.ENOENT
		}
		if l.In == l.M.root {
			if l.M.parent == nil {
				break
			}
			l = Loc{l.M.parent, l.M.point}
			continue
		}
		if l.In.Stat().Nlink == 0 {
			return "", unix.ENOENT
		}
		p, name := l.In.Parent()
		if p == l.In {
			break
		}
		parts = append(parts, name)
		l = Loc{l.M, p}
	}
	if len(parts) == 0 {
		return "/", nil
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(parts[i])
	}
	return b.String(), nil
}
