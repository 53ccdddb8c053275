package ramfs

import (
	"strings"

	"golang.org/x/sys/unix"
)

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

// walkResult is the outcome of resolving a path.
type walkResult struct {
	kind   lastKind
	parent *Inode // directory holding name (kind == lastNorm)
	name   string // final component (kind == lastNorm)
	ino    *Inode // final inode; nil when a lastNorm name does not exist
	slash  bool   // the final component was followed by a slash
}

// checkSlash reports ENOTDIR when a trailing slash names a non-directory.
func (r *walkResult) checkSlash() error {
	if r.slash && r.ino != nil && r.ino.typ != S_IFDIR {
		return unix.ENOTDIR
	}
	return nil
}

// base returns the directory a path is resolved from: dir, or the working
// directory when dir is nil. Absolute paths restart at the root in walk.
func (fs *FS) base(dir *Inode) (*Inode, error) {
	if dir == nil {
		return fs.cwd.Load(), nil
	}
	if dir.fs != fs {
		return nil, unix.EXDEV
	}
	return dir, nil
}

// walk resolves path from start following path_resolution(7): every
// directory on the way needs search permission, intermediate symlinks are
// always followed, the final one according to mode, at most MaxSymlinks in
// total (ELOOP), ".." of the root is the root, components longer than
// NameMax and paths of PathMax bytes or more give ENAMETOOLONG.
// fs.mu must be held (reading is enough).
func (fs *FS) walk(start *Inode, path string, mode walkMode) (walkResult, error) {
	if path == "" {
		return walkResult{}, unix.ENOENT
	}
	if len(path) >= PathMax {
		return walkResult{}, unix.ENAMETOOLONG
	}
	cur := start
	links := 0
	rest := path
	for {
		if rest[0] == '/' {
			cur = fs.root
			rest = strings.TrimLeft(rest, "/")
			if rest == "" {
				return walkResult{kind: lastRoot, ino: cur, parent: cur}, nil
			}
		}
		comp, slash := rest, false
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			comp, rest, slash = rest[:i], strings.TrimLeft(rest[i:], "/"), true
		} else {
			rest = ""
		}
		last := rest == ""
		if cur.typ != S_IFDIR {
			return walkResult{}, unix.ENOTDIR
		}
		if err := fs.permission(cur, mayExec); err != nil {
			return walkResult{}, err
		}
		switch comp {
		case ".":
			if last {
				return walkResult{kind: lastDot, ino: cur, parent: cur, slash: slash}, nil
			}
			continue
		case "..":
			cur = cur.dir.parent
			if last {
				return walkResult{kind: lastDotDot, ino: cur, parent: cur, slash: slash}, nil
			}
			continue
		}
		if len(comp) > NameMax {
			return walkResult{}, unix.ENAMETOOLONG
		}
		child := cur.dir.lookup(comp)
		if last {
			if child != nil && child.typ == S_IFLNK &&
				(mode == walkFollow || mode == walkNoFollow && slash) {
				if links++; links > MaxSymlinks {
					return walkResult{}, unix.ELOOP
				}
				rest = child.target
				if slash {
					rest += "/"
				}
				continue
			}
			return walkResult{kind: lastNorm, parent: cur, name: comp, ino: child, slash: slash}, nil
		}
		switch {
		case child == nil:
			return walkResult{}, unix.ENOENT
		case child.typ == S_IFLNK:
			if links++; links > MaxSymlinks {
				return walkResult{}, unix.ELOOP
			}
			rest = child.target + "/" + rest
		case child.typ != S_IFDIR:
			return walkResult{}, unix.ENOTDIR
		default:
			cur = child
		}
	}
}

// lookupLocked resolves path to an existing inode. With emptyPath, an empty
// path names dir itself (AT_EMPTY_PATH). fs.mu must be held.
func (fs *FS) lookupLocked(dir *Inode, path string, mode walkMode, emptyPath bool) (*Inode, error) {
	start, err := fs.base(dir)
	if err != nil {
		return nil, err
	}
	if path == "" && emptyPath {
		return start, nil
	}
	res, err := fs.walk(start, path, mode)
	if err != nil {
		return nil, err
	}
	if res.ino == nil {
		return nil, unix.ENOENT
	}
	if err := res.checkSlash(); err != nil {
		return nil, err
	}
	return res.ino, nil
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

// Lookup resolves path relative to dir (nil: the working directory) to an
// inode, as path_resolution(7). flags may hold AT_SYMLINK_NOFOLLOW (do not
// follow a final symlink) and AT_EMPTY_PATH (an empty path names dir).
func (fs *FS) Lookup(dir *Inode, path string, flags int) (*Inode, error) {
	mode, empty, err := atFlags(flags, unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH)
	if err != nil {
		return nil, err
	}
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	return fs.lookupLocked(dir, path, mode, empty)
}

// Chdir changes the working directory to path, as chdir(2): ENOTDIR for a
// non-directory, EACCES without search permission.
func (fs *FS) Chdir(dir *Inode, path string) error {
	fs.mu.RLock()
	ino, err := fs.lookupLocked(dir, path, walkFollow, false)
	fs.mu.RUnlock()
	if err != nil {
		return err
	}
	return fs.SetCwd(ino)
}

// SetCwd makes the directory ino the working directory, as fchdir(2).
func (fs *FS) SetCwd(ino *Inode) error {
	if ino.fs != fs {
		return unix.EXDEV
	}
	if ino.typ != S_IFDIR {
		return unix.ENOTDIR
	}
	if err := fs.permission(ino, mayExec); err != nil {
		return err
	}
	fs.cwd.Store(ino)
	return nil
}

// Getcwd returns the absolute path of the working directory, as getcwd(3);
// ENOENT if it has been removed.
func (fs *FS) Getcwd() (string, error) {
	return fs.DirPath(fs.cwd.Load())
}

// DirPath returns the absolute path of directory dir; ENOENT if it has been
// removed, ENOTDIR if it is not a directory.
func (fs *FS) DirPath(dir *Inode) (string, error) {
	if dir.typ != S_IFDIR {
		return "", unix.ENOTDIR
	}
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	var parts []string
	for d := dir; d != fs.root; d = d.dir.parent {
		d.mu.RLock()
		dead := d.nlink == 0
		d.mu.RUnlock()
		if dead {
			return "", unix.ENOENT
		}
		parts = append(parts, d.dir.name)
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
