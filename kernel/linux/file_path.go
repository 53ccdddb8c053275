package linux

import (
	"path"
	"strconv"
	"strings"

	fs "github.com/gosv/gosv/kernel/fsimpl/ramfs"
	"golang.org/x/sys/unix"
)

// Path arguments of the file syscalls. A path is resolved in one of three
// places: the root filesystem (kernel/fs), the synthetic /proc and /sys
// trees (procfs.go), which are looked at first, or an open file named by
// AT_EMPTY_PATH.

// readPath reads a path argument: EFAULT for a bad pointer, ENAMETOOLONG
// when it does not fit in PATH_MAX bytes with its NUL.
func (t *Task) readPath(addr uintptr) (string, error) {
	return t.ReadString(addr, fs.PathMax)
}

// pathTarget is where a path argument leads.
type pathTarget struct {
	dir   *fs.Inode // FS: the start directory (nil: the working directory)
	path  string    // FS: the path from dir ("" with AT_EMPTY_PATH: dir itself)
	proc  string    // non-empty: an absolute path in /proc or /sys
	file  File      // AT_EMPTY_PATH on a file outside the FS (pipe, console, /proc)
	empty bool      // AT_EMPTY_PATH with an empty path
}

// isProcPath and isVirtualPath report whether a clean absolute path is in
// /proc, or in /proc or /sys.
func isProcPath(p string) bool { return p == "/proc" || strings.HasPrefix(p, "/proc/") }

func isVirtualPath(p string) bool {
	return isProcPath(p) || p == "/sys" || strings.HasPrefix(p, "/sys/")
}

// virtualPath returns the /proc or /sys path that the absolute path p
// names, or "". /dev/fd, /dev/stdin, /dev/stdout and /dev/stderr are the
// usual aliases of /proc/self/fd. A trailing slash is kept.
func virtualPath(p string) string {
	c := path.Clean(p)
	switch {
	case c == "/dev/stdin":
		c = "/proc/self/fd/0"
	case c == "/dev/stdout":
		c = "/proc/self/fd/1"
	case c == "/dev/stderr":
		c = "/proc/self/fd/2"
	case c == "/dev/fd" || strings.HasPrefix(c, "/dev/fd/"):
		c = "/proc/self/fd" + c[len("/dev/fd"):]
	case !isVirtualPath(c):
		return ""
	}
	if strings.HasSuffix(p, "/") && c != "/" {
		c += "/"
	}
	return c
}

// resolveAt decodes the (dirfd, path) pair of an *at syscall. With
// emptyPath (AT_EMPTY_PATH) an empty path names dirfd itself; otherwise
// it is ENOENT. A relative path needs dirfd to be AT_FDCWD or a directory
// (EBADF, ENOTDIR).
func (t *Task) resolveAt(dirfd int, p string, emptyPath bool) (pathTarget, error) {
	if p == "" {
		if !emptyPath {
			return pathTarget{}, unix.ENOENT
		}
		if dirfd == unix.AT_FDCWD {
			return pathTarget{empty: true}, nil
		}
		f, err := t.P.FDs.Get(dirfd)
		if err != nil {
			return pathTarget{}, err
		}
		if ff, ok := f.(*fsFile); ok {
			return pathTarget{dir: ff.Inode(), empty: true}, nil
		}
		return pathTarget{file: f, empty: true}, nil
	}
	if p[0] == '/' {
		if v := virtualPath(p); v != "" {
			return pathTarget{proc: v}, nil
		}
		return pathTarget{path: p}, nil
	}
	if dirfd == unix.AT_FDCWD {
		if cwd, err := t.P.FS.Getcwd(); err == nil {
			if v := virtualPath(cwd + "/" + p); v != "" {
				return pathTarget{proc: v}, nil
			}
		}
		return pathTarget{path: p}, nil
	}
	f, err := t.P.FDs.Get(dirfd)
	if err != nil {
		return pathTarget{}, err
	}
	switch f := f.(type) {
	case *fsFile:
		return pathTarget{dir: f.Inode(), path: p}, nil
	case *procDir:
		return procRelative(f.path, p), nil
	case *procFile:
		if f.opath && f.mode&fs.S_IFMT == fs.S_IFDIR {
			return procRelative(f.path, p), nil
		}
	}
	return pathTarget{}, unix.ENOTDIR
}

// procRelative is the target of path p relative to the /proc or /sys
// directory dir.
func procRelative(dir, p string) pathTarget {
	if v := virtualPath(dir + "/" + p); v != "" {
		return pathTarget{proc: v}
	}
	return pathTarget{path: path.Clean(dir + "/" + p)}
}

// resolveArgs reads the path at addr and resolves it against dirfd.
func (t *Task) resolveArgs(dirfd uintptr, addr uintptr, emptyPath bool) (pathTarget, error) {
	p, err := t.readPath(addr)
	if err != nil {
		return pathTarget{}, err
	}
	return t.resolveAt(int(int32(dirfd)), p, emptyPath)
}

// fsLinkIntoProc follows the symbolic links of the FS path (dir, p) one
// component at a time and returns the /proc or /sys path it leads to, if
// any (/etc/mtab -> ../proc/self/mounts). It is tried when the FS fails
// with ENOENT or ENOTDIR, since the FS itself has an empty /proc. ".."
// is resolved lexically. A missing /etc/mtab is /proc/self/mounts.
func (t *Task) fsLinkIntoProc(dir *fs.Inode, p string, follow bool) (string, bool) {
	fsys := t.P.FS
	if !path.IsAbs(p) {
		d := dir
		if d == nil {
			d = fsys.Cwd()
		}
		s, err := fsys.DirPath(d)
		if err != nil {
			return "", false
		}
		p = s + "/" + p
	}
	slash := strings.HasSuffix(p, "/")
	if path.Clean(p) == "/etc/mtab" {
		if _, err := fsys.Lstat(nil, "/etc/mtab"); err == unix.ENOENT {
			// Every Linux system has it, as a link to /proc/self/mounts.
			return "/proc/self/mounts", true
		}
	}
	for hops := 0; hops <= fs.MaxSymlinks; hops++ {
		comps := strings.Split(strings.TrimPrefix(path.Clean(p), "/"), "/")
		cur := "/"
		moved := false
		for i, c := range comps {
			if c == "" {
				break
			}
			next := path.Join(cur, c)
			last := i == len(comps)-1
			st, err := fsys.Lstat(nil, next)
			if err != nil {
				return "", false
			}
			if st.Mode&fs.S_IFMT != fs.S_IFLNK || last && !follow && !slash {
				cur = next
				continue
			}
			target, err := fsys.Readlink(nil, next)
			if err != nil {
				return "", false
			}
			if !path.IsAbs(target) {
				target = path.Join(cur, target)
			}
			p = path.Join(append([]string{target}, comps[i+1:]...)...)
			if slash {
				p += "/"
			}
			if v := virtualPath(p); v != "" {
				return v, true
			}
			moved = true
			break
		}
		if !moved {
			return "", false
		}
	}
	return "", false
}

// canonicalPath returns the absolute path of the file ino that was opened
// at (dir, p): symbolic links resolved (the last one only with follow),
// as Linux's d_path reports it.
func canonicalPath(fsys *fs.FS, dir *fs.Inode, p string, ino *fs.Inode, follow bool) string {
	if ino.IsDir() {
		if s, err := fsys.DirPath(ino); err == nil {
			return s
		}
	}
	for hops := 0; hops <= fs.MaxSymlinks; hops++ {
		p = strings.TrimRight(p, "/")
		parent := dir
		if parent == nil {
			parent = fsys.Cwd()
		}
		name := p
		if i := strings.LastIndexByte(p, '/'); i >= 0 {
			dp := p[:i]
			if dp == "" {
				dp = "/"
			}
			var err error
			if parent, err = fsys.Lookup(dir, dp, 0); err != nil {
				break
			}
			name = p[i+1:]
		}
		pp, err := fsys.DirPath(parent)
		if err != nil {
			break
		}
		if follow {
			if st, err := fsys.Lstat(parent, name); err == nil && st.Mode&fs.S_IFMT == fs.S_IFLNK {
				target, err := fsys.Readlink(parent, name)
				if err != nil {
					break
				}
				dir, p = parent, target
				continue
			}
		}
		if ino.Type() == fs.S_IFREG {
			// An O_TMPFILE file is named after the directory it lives in.
			if st, err := fsys.Lstat(parent, name); err == nil && st.Ino != ino.Ino() {
				return path.Join(pp, name, "#"+strconv.FormatUint(ino.Ino(), 10))
			}
		}
		return path.Join(pp, name)
	}
	if path.IsAbs(p) {
		return path.Clean(p)
	}
	return p
}
