package libs

import (
	"fmt"
	"sort"

	"github.com/gosv/gosv/internal/host/initrd"
)

// Entries returns the initrd entries that make the closure's objects (Main
// excluded) exist in the guest at the paths ld.so opens: each real file at
// its real path, each symlink met on the way with its host target, and the
// directories left by "..". See Entries (the function) for the details.
func (c *Closure) Entries() []initrd.Entry {
	return Entries(c.Objects...)
}

// Entries returns the initrd entries for objs, sorted by guest path and
// without duplicates. A file's guest path is its RealPath and its host path
// the same; a symlink keeps its host target (relative or absolute), so
// /lib64/ld-linux-x86-64.so.2 on a merged-/usr host gives the links /lib64
// -> usr/lib64, /usr/lib64/ld-linux-x86-64.so.2 ->
// /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 and /lib -> usr/lib, and the
// file /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2. Every entry's
// parent directories are real directories on the host, so the entries never
// place a file under a symlink. Directories that are only passed through by
// ".." get a directory entry (host mode); other directories are left to
// initrd.Write, which creates parents.
func Entries(objs ...*Object) []initrd.Entry {
	byPath := map[string]initrd.Entry{}
	for _, o := range objs {
		if o == nil {
			continue
		}
		byPath[o.RealPath] = initrd.Entry{GuestPath: o.RealPath, HostPath: o.RealPath}
		for _, l := range o.Links {
			byPath[l.Path] = initrd.Entry{GuestPath: l.Path, Symlink: l.Target}
		}
	}
	var dirs []string
	for _, o := range objs {
		if o != nil {
			dirs = append(dirs, o.Dirs...)
		}
	}
	// Directories that are parents of other entries need no entry.
	implied := map[string]bool{}
	addParents := func(p string) {
		for d := dirOf(p); d != "/" && !implied[d]; d = dirOf(d) {
			implied[d] = true
		}
	}
	for p := range byPath {
		addParents(p)
	}
	for _, d := range dirs {
		addParents(d)
	}
	for _, d := range dirs {
		if _, ok := byPath[d]; !ok && !implied[d] {
			byPath[d] = initrd.Entry{GuestPath: d, HostPath: d, Dir: true}
		}
	}
	out := make([]initrd.Entry, 0, len(byPath))
	for _, p := range sortedKeys(byPath) {
		out = append(out, byPath[p])
	}
	return out
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// String describes the object in ldd's style: "name => path" or just the
// path when both are equal.
func (o *Object) String() string {
	if o.Name == o.Path {
		return o.Path
	}
	return o.Name + " => " + o.Path
}

// PathEntries resolves the absolute host path p as the kernel does and
// returns its real path and the entries that make p itself lead there in
// the guest: every symlink met on the way (with its host target) and the
// real directories that p leaves by "..". The real file or directory is
// not among the entries. For /usr/lib/x86_64-linux-gnu/perl/5.36 (a link
// to 5.36.0) it returns ".../perl/5.36.0" and the link.
func PathEntries(p string) (real string, entries []initrd.Entry, err error) {
	real, links, dirs, err := walk(p)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", p, unwrapPath(err))
	}
	for _, l := range links {
		entries = append(entries, initrd.Entry{GuestPath: l.Path, Symlink: l.Target})
	}
	for _, d := range dirs {
		entries = append(entries, initrd.Entry{GuestPath: d, HostPath: d, Dir: true})
	}
	return real, entries, nil
}
