package libs

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

// dstValues are the values of ld.so's dynamic string tokens (ld.so(8)
// "Dynamic string tokens") for one object.
type dstValues struct {
	origin   string // directory of the object
	platform string
	lib      string
}

// isDST reports the length of the token ref at s (just after the '$'),
// braced or not, as glibc's is_dst: an unbraced token must not be followed
// by an identifier character.
func isDST(s, ref string) int {
	if strings.HasPrefix(s, "{"+ref+"}") {
		return len(ref) + 2
	}
	if !strings.HasPrefix(s, ref) {
		return 0
	}
	if len(s) > len(ref) {
		c := s[len(ref)]
		if c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			return 0
		}
	}
	return len(ref)
}

// expandDST replaces $ORIGIN, $PLATFORM and $LIB (and their ${...} forms)
// in s. Unknown tokens stay as they are, as in glibc's _dl_dst_substitute.
func expandDST(s string, v dstValues) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		rest := s[i+1:]
		if n := isDST(rest, "ORIGIN"); n > 0 {
			b.WriteString(v.origin)
			i += n
		} else if n := isDST(rest, "PLATFORM"); n > 0 {
			b.WriteString(v.platform)
			i += n
		} else if n := isDST(rest, "LIB"); n > 0 {
			b.WriteString(v.lib)
			i += n
		} else {
			b.WriteByte('$')
		}
	}
	return b.String()
}

// searchDirs turns an RPATH, RUNPATH or LD_LIBRARY_PATH value into
// directories the way glibc's fillin_rpath does: tokens are expanded first,
// then the list is split at the separators; trailing slashes are removed
// (except for "/"); an empty element means the current directory. Relative
// directories are made absolute against cwd (textually, so that paths look
// like the ones ld.so prints).
func searchDirs(list, seps string, v dstValues, cwd string) []string {
	if list == "" {
		return nil // glibc's decompose_rpath ignores empty lists
	}
	expanded := expandDST(list, v)
	var dirs []string
	start := 0
	for i := 0; i <= len(expanded); i++ {
		if i == len(expanded) || strings.IndexByte(seps, expanded[i]) >= 0 {
			dirs = append(dirs, cleanDir(expanded[start:i], cwd))
			start = i + 1
		}
	}
	return dedup(dirs)
}

func cleanDir(d, cwd string) string {
	if d == "" {
		d = "."
	}
	for len(d) > 1 && d[len(d)-1] == '/' {
		d = d[:len(d)-1]
	}
	if d[0] != '/' {
		d = joinPath(cwd, d)
	}
	return d
}

func dedup(list []string) []string {
	seen := map[string]bool{}
	out := list[:0]
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// joinPath joins dir and name with one slash, without cleaning (ld.so opens
// "dir/name" as built from the search path).
func joinPath(dir, name string) string {
	if strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}

// dirOf returns the directory part of an absolute path without cleaning it,
// as glibc computes l_origin ("/a/b/../c/x.so" -> "/a/b/../c"; "/x" -> "/").
func dirOf(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// Symlink is a symbolic link met while resolving a path: Path (absolute,
// its parent free of symlinks) holds Target, exactly as read on the host.
type Symlink struct {
	Path   string
	Target string
}

// maxSymlinks is Linux's limit on symlinks followed in one lookup (ELOOP).
const maxSymlinks = 40

// walk resolves the absolute path p component by component as the kernel
// does (".." after a symlink goes up from the link's target). It returns
// the real path, the symlinks met, and the real directories from which ".."
// was taken: those must exist in the guest even when nothing else is put in
// them. The final component must exist (any type).
func walk(p string) (real string, links []Symlink, dirs []string, err error) {
	if !strings.HasPrefix(p, "/") {
		return "", nil, nil, fmt.Errorf("%s: not an absolute path", p)
	}
	todo := splitPath(p)
	cur := "/"
	n := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case ".":
			continue
		case "..":
			if cur != "/" {
				dirs = append(dirs, cur)
				cur = dirOf(cur)
			}
			continue
		}
		next := joinPath(cur, c)
		fi, err := os.Lstat(next)
		if err != nil {
			return "", nil, nil, err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			n++
			if n > maxSymlinks {
				return "", nil, nil, &fs.PathError{Op: "resolve", Path: p, Err: syscall.ELOOP}
			}
			t, err := os.Readlink(next)
			if err != nil {
				return "", nil, nil, err
			}
			links = append(links, Symlink{Path: next, Target: t})
			if strings.HasPrefix(t, "/") {
				cur = "/"
			}
			todo = append(splitPath(t), todo...)
			continue
		}
		if len(todo) > 0 && !fi.IsDir() {
			return "", nil, nil, &fs.PathError{Op: "resolve", Path: next, Err: syscall.ENOTDIR}
		}
		cur = next
	}
	return cur, links, dirs, nil
}

func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}
