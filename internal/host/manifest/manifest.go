// Package manifest reads OSv's manifest format (usr.manifest, read by
// OSv's scripts/manifest_common.py) that lists the files of an image, and
// expands it into initrd entries.
//
// One entry per line, "guest: host" (split at the first ": "):
//
//	# comment                          whole-line comments; blank lines
//	[manifest]                         section header (ignored)
//	/app/prog: build/prog              a file (host symlinks followed)
//	/usr/lib/x.so: &                   host path = guest path
//	/usr/lib/&/libz.so.1: /lib/x86_64-linux-gnu/&
//	                                   "&" stands for the rest of the guest
//	                                   path: guest /usr/lib/libz.so.1, host
//	                                   /lib/x86_64-linux-gnu/libz.so.1
//	/etc/mnttab: ->/proc/mounts        a symbolic link with that target
//	/lib/libfoo.so.1: !/usr/lib/libfoo.so.1
//	                                   "!": a host symlink stays a symlink
//	/data/**: testdata/**              a whole tree, recursively; files keep
//	                                   their relative paths
//	/opt/app/**: &                     the tree at the same path
//	/tmp: some/dir                     a host directory gives an empty
//	                                   directory (with its permissions)
//
// Guest paths are absolute. Relative host paths are relative to the
// manifest's directory with ParseFile, to the working directory otherwise.
// Only a trailing "/**" wildcard exists; OSv's %(name)s variables are not
// supported. A later line for the same guest path replaces an earlier one,
// as in OSv.
package manifest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gosv/gosv/internal/host/initrd"
)

// Entry is one manifest line.
type Entry struct {
	// Guest is the clean absolute guest path (for a tree, its directory).
	Guest string
	// Host is the host path (for a tree, its directory); "" for a symlink.
	Host string
	// Symlink is the target of a "guest: ->target" line.
	Symlink string
	// Tree marks a "guest/**: host/**" line: every file and directory under
	// Host, recursively, at the same relative path under Guest.
	Tree bool
	// NoFollow marks a "guest: !host" line: when Host is a symlink, the
	// guest gets the symlink (same target) instead of the file.
	NoFollow bool
	// File and Line tell where the entry was read (for errors).
	File string
	Line int
}

func (e *Entry) where() string {
	switch {
	case e.File != "" && e.Line > 0:
		return fmt.Sprintf("%s:%d: ", e.File, e.Line)
	case e.File != "":
		return e.File + ": "
	}
	return ""
}

// maxLine bounds a manifest line.
const maxLine = 1 << 20

// Parse reads a manifest; name is used in errors ("app.manifest:7: ...").
// Host paths are returned as written (after "&" substitution).
func Parse(r io.Reader, name string) ([]Entry, error) {
	br := bufio.NewReader(r)
	var out []Entry
	for lineNo := 1; ; lineNo++ {
		line, err := br.ReadString('\n')
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s:%d: %w", name, lineNo, err)
		}
		if line == "" && err == io.EOF {
			return out, nil
		}
		if len(line) > maxLine {
			return nil, fmt.Errorf("%s:%d: line too long", name, lineNo)
		}
		e, ok, perr := parseLine(line)
		if perr != nil {
			return nil, fmt.Errorf("%s:%d: %s", name, lineNo, perr)
		}
		if ok {
			e.File, e.Line = name, lineNo
			out = append(out, e)
		}
		if err == io.EOF {
			return out, nil
		}
	}
}

// ParseFile reads the manifest file at p. Relative host paths are made
// relative to the manifest's directory.
func ParseFile(p string) ([]Entry, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := Parse(f, p)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(p)
	for i := range entries {
		if h := entries[i].Host; h != "" && !filepath.IsAbs(h) {
			entries[i].Host = filepath.Join(dir, h)
		}
	}
	return entries, nil
}

// parseLine parses one line; ok is false for comments and blank lines.
func parseLine(line string) (Entry, bool, error) {
	line = strings.TrimRight(line, " \t\r\n")
	trimmed := strings.TrimLeft(line, " \t")
	if trimmed == "" || trimmed[0] == '#' || trimmed == "[manifest]" {
		return Entry{}, false, nil
	}
	if strings.IndexByte(line, 0) >= 0 {
		return Entry{}, false, errors.New("NUL byte in line")
	}
	guest, host, found := splitLine(trimmed)
	if !found {
		return Entry{}, false, errors.New("missing ':' between guest and host path")
	}
	if guest == "" {
		return Entry{}, false, errors.New("missing guest path before ':'")
	}
	if host == "" {
		return Entry{}, false, errors.New("missing host path after ':'")
	}
	if strings.Contains(guest, "%(") || strings.Contains(host, "%(") {
		return Entry{}, false, errors.New("variables such as %(name)s are not supported")
	}
	if !strings.HasPrefix(guest, "/") {
		return Entry{}, false, fmt.Errorf("guest path %q is not absolute", guest)
	}
	e := Entry{}

	// Symbolic link.
	if strings.HasPrefix(host, "->") {
		target := strings.TrimSpace(host[2:])
		if target == "" {
			return Entry{}, false, errors.New("missing symlink target after '->'")
		}
		if strings.Contains(guest, "*") || strings.Contains(guest, "/&/") {
			return Entry{}, false, errors.New("a symlink line takes a plain guest path")
		}
		e.Guest, e.Symlink = path.Clean(guest), target
		return e, true, nil
	}
	if strings.HasPrefix(host, "!") {
		e.NoFollow = true
		host = strings.TrimSpace(host[1:])
		if host == "" {
			return Entry{}, false, errors.New("missing host path after '!'")
		}
	}

	// "&": the rest of the guest path, or the whole guest path.
	switch {
	case strings.Contains(guest, "/&/"):
		prefix, suffix, _ := strings.Cut(guest, "/&/")
		if !strings.HasSuffix(host, "/&") {
			return Entry{}, false, errors.New("guest path has '/&/' but the host path does not end in '/&'")
		}
		if suffix == "" || strings.Contains(suffix, "&") || strings.Contains(suffix, "*") {
			return Entry{}, false, errors.New("bad path after '/&/' in the guest path")
		}
		guest = prefix + "/" + suffix
		host = strings.TrimSuffix(host, "&") + suffix
	case strings.HasSuffix(host, "/&"):
		return Entry{}, false, errors.New("host path ends in '/&' but the guest path has no '/&/'")
	case host == "&":
		host = guest
	}

	// "/**": a tree.
	gTree, hTree := strings.HasSuffix(guest, "/**"), strings.HasSuffix(host, "/**")
	if gTree || hTree {
		if !gTree || !hTree {
			return Entry{}, false, errors.New("a tree needs '/**' at the end of both guest and host paths")
		}
		if e.NoFollow {
			return Entry{}, false, errors.New("'!' does not apply to a tree")
		}
		guest, host = guest[:len(guest)-3], host[:len(host)-3]
		if host == "" {
			host = "/"
		}
		if guest == "" {
			guest = "/"
		}
		e.Tree = true
	}
	if strings.Contains(guest, "*") || strings.Contains(host, "*") {
		return Entry{}, false, errors.New("only a trailing '/**' wildcard is supported")
	}
	e.Guest, e.Host = path.Clean(guest), host
	return e, true, nil
}

// splitLine splits "guest: host" at the first ':' followed by a space or a
// tab, or at a final ':' (host missing).
func splitLine(s string) (guest, host string, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] != ':' {
			continue
		}
		if i+1 == len(s) {
			return strings.TrimSpace(s[:i]), "", true
		}
		if s[i+1] == ' ' || s[i+1] == '\t' {
			return strings.TrimSpace(s[:i]), strings.TrimSpace(s[i+1:]), true
		}
	}
	return "", "", false
}

// Expand turns manifest entries into initrd entries, reading the host file
// system: files (host symlinks followed, unless NoFollow), directories,
// symlinks and trees. Inside a tree, a symlink whose relative target stays
// in the tree is kept as a symlink; any other symlink is replaced by what
// it points to (a file, or a directory copied recursively); a dangling one
// is an error. A later entry for a guest path replaces an earlier one. The
// result is sorted by guest path. Errors name the manifest line.
func Expand(entries []Entry) ([]initrd.Entry, error) {
	out := map[string]initrd.Entry{}
	put := func(e initrd.Entry) { out[e.GuestPath] = e }
	for i := range entries {
		e := &entries[i]
		if e.Guest == "" || !strings.HasPrefix(e.Guest, "/") {
			return nil, fmt.Errorf("%sguest path %q is not absolute", e.where(), e.Guest)
		}
		guest := path.Clean(e.Guest)
		switch {
		case e.Symlink != "":
			put(initrd.Entry{GuestPath: guest, Symlink: e.Symlink})
		case e.Tree:
			if err := expandTree(e, guest, put); err != nil {
				return nil, err
			}
		default:
			if e.Host == "" {
				return nil, fmt.Errorf("%s%s: no host path", e.where(), guest)
			}
			if e.NoFollow {
				fi, err := os.Lstat(e.Host)
				if err != nil {
					return nil, fmt.Errorf("%s%s: %w", e.where(), e.Host, unwrap(err))
				}
				if fi.Mode()&fs.ModeSymlink != 0 {
					t, err := os.Readlink(e.Host)
					if err != nil {
						return nil, fmt.Errorf("%s%s: %w", e.where(), e.Host, unwrap(err))
					}
					put(initrd.Entry{GuestPath: guest, Symlink: t})
					continue
				}
			}
			fi, err := os.Stat(e.Host)
			if err != nil {
				return nil, fmt.Errorf("%s%s: %w", e.where(), e.Host, unwrap(err))
			}
			switch {
			case fi.IsDir():
				put(initrd.Entry{GuestPath: guest, HostPath: e.Host, Dir: true})
			case fi.Mode().IsRegular():
				if guest == "/" {
					return nil, fmt.Errorf("%s%s: the guest root must be a directory", e.where(), e.Host)
				}
				put(initrd.Entry{GuestPath: guest, HostPath: e.Host})
			default:
				return nil, fmt.Errorf("%s%s: not a regular file or directory (%v)", e.where(), e.Host, fi.Mode().Type())
			}
		}
	}
	keys := make([]string, 0, len(out))
	for k := range out {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	res := make([]initrd.Entry, 0, len(keys))
	for _, k := range keys {
		res = append(res, out[k])
	}
	return res, nil
}

// expandTree adds the tree of e under guest.
func expandTree(e *Entry, guest string, put func(initrd.Entry)) error {
	fi, err := os.Stat(e.Host)
	if err != nil {
		return fmt.Errorf("%s%s: %w", e.where(), e.Host, unwrap(err))
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s%s: not a directory", e.where(), e.Host)
	}
	put(initrd.Entry{GuestPath: guest, HostPath: e.Host, Dir: true})
	real, err := filepath.EvalSymlinks(e.Host)
	if err != nil {
		return fmt.Errorf("%s%s: %w", e.where(), e.Host, unwrap(err))
	}
	return walkTree(e, e.Host, "", guest, map[string]bool{real: true}, put)
}

// walkTree adds the contents of host directory dir (at rel, relative to the
// tree's root) under guest; active holds the real paths of the directories
// being walked, to stop symlink loops.
func walkTree(e *Entry, dir, rel, guest string, active map[string]bool, put func(initrd.Entry)) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("%s%s: %w", e.where(), dir, unwrap(err))
	}
	for _, de := range ents {
		hp := filepath.Join(dir, de.Name())
		r := path.Join(rel, de.Name())
		gp := path.Join(guest, r)
		switch t := de.Type(); {
		case t.IsDir():
			put(initrd.Entry{GuestPath: gp, HostPath: hp, Dir: true})
			if err := walkTree(e, hp, r, guest, active, put); err != nil {
				return err
			}
		case t.IsRegular():
			put(initrd.Entry{GuestPath: gp, HostPath: hp})
		case t&fs.ModeSymlink != 0:
			target, err := os.Readlink(hp)
			if err != nil {
				return fmt.Errorf("%s%s: %w", e.where(), hp, unwrap(err))
			}
			if inTree(r, target) {
				put(initrd.Entry{GuestPath: gp, Symlink: target})
				continue
			}
			fi, err := os.Stat(hp)
			if err != nil {
				return fmt.Errorf("%s%s: symlink to %s: %w", e.where(), hp, target, unwrap(err))
			}
			switch {
			case fi.Mode().IsRegular():
				put(initrd.Entry{GuestPath: gp, HostPath: hp})
			case fi.IsDir():
				realDir, err := filepath.EvalSymlinks(hp)
				if err != nil {
					return fmt.Errorf("%s%s: %w", e.where(), hp, unwrap(err))
				}
				if active[realDir] {
					return fmt.Errorf("%s%s: symlink loop (%s)", e.where(), hp, realDir)
				}
				put(initrd.Entry{GuestPath: gp, HostPath: hp, Dir: true})
				active[realDir] = true
				err = walkTree(e, hp, r, guest, active, put)
				delete(active, realDir)
				if err != nil {
					return err
				}
			default:
				return fmt.Errorf("%s%s: symlink to %v", e.where(), hp, fi.Mode().Type())
			}
		default:
			return fmt.Errorf("%s%s: not a regular file, directory or symlink (%v)", e.where(), hp, t)
		}
	}
	return nil
}

// inTree reports whether a symlink at rel (relative to the tree's root)
// with this target points inside the tree, textually.
func inTree(rel, target string) bool {
	if target == "" || strings.HasPrefix(target, "/") {
		return false
	}
	p := path.Join(path.Dir(rel), target)
	return p != ".." && !strings.HasPrefix(p, "../")
}

func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
