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

// walk resolves path from start inside this filesystem, for unpacking an
// archive (the VFS resolves the application's paths): intermediate
// symlinks are always followed, the final one according to mode, at most
// MaxSymlinks in total (ELOOP), ".." of the root is the root, components
// longer than NameMax and paths of PathMax bytes or more give
// ENAMETOOLONG. fs.mu must be held (reading is enough).
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
