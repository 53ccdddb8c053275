package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/gosv/gosv/internal/host/initrd"
	"github.com/gosv/gosv/internal/host/libs"
)

// The language runtime rules (see the package documentation): which files
// an interpreter loads besides its shared libraries, found from the real
// name of its executable, never by running it (the host may not be able
// to, and the image must not depend on the user's environment).

var (
	// pythonName matches the real name of a CPython 3 executable and
	// captures its version: "python3.11", "python3.12d".
	pythonName = regexp.MustCompile(`^python(3\.[0-9]+)`)
	// perlName matches "perl5.36.0" and captures "5.36".
	perlName = regexp.MustCompile(`^perl(5\.[0-9]+)(\.[0-9]+)?$`)
)

// Trees of Perl's library (Debian's layout; those that exist are added).
// "%s" stands for the version, 5.X.
var perlTrees = []string{
	"/usr/lib/x86_64-linux-gnu/perl-base",
	"/usr/lib/x86_64-linux-gnu/perl/%s",
	"/usr/share/perl/%s",
	"/usr/lib/x86_64-linux-gnu/perl5/%s",
	"/usr/share/perl5",
	"/etc/perl",
}

// pythonSkip lists the top-level directories of the Python standard
// library that are left out: the IDE, Tk, demos, the pip bootstrapper, and
// third-party packages; pythonSkipAnywhere the directories left out at any
// depth: byte-code caches and test suites.
var (
	pythonSkip         = map[string]bool{"idlelib": true, "tkinter": true, "turtledemo": true, "ensurepip": true, "site-packages": true, "dist-packages": true}
	pythonSkipAnywhere = map[string]bool{"__pycache__": true, "test": true, "tests": true}
	// pythonTestModule matches the extension modules of lib-dynload that
	// only the test suite uses.
	pythonTestModule = regexp.MustCompile(`^(_test|_xxtest|_ctypes_test|xxlimited)`)
)

// addRuntime adds the files of the language runtime that the executable
// is, if any.
func (b *builder) addRuntime(im *Image) error {
	real, err := filepath.EvalSymlinks(im.HostExe)
	if err != nil {
		return nil // Resolve opened it; nothing to add if it went away
	}
	if real, err = filepath.Abs(real); err != nil {
		return nil
	}
	base := filepath.Base(real)
	switch {
	case strings.HasPrefix(base, "python3"):
		return b.addPython(im, real)
	case base == "perl" || perlName.MatchString(base):
		return b.addPerl(im, real)
	}
	return nil
}

// sibling returns the first version captured by re from the name of a
// file in real's directory that is the same file as real ("" for none).
func sibling(real string, re *regexp.Regexp) string {
	if m := re.FindStringSubmatch(filepath.Base(real)); m != nil {
		return m[1]
	}
	fi, err := os.Stat(real)
	if err != nil {
		return ""
	}
	dir := filepath.Dir(real)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		m := re.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		if f2, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && os.SameFile(fi, f2) {
			return m[1]
		}
	}
	return ""
}

// addPython adds the standard library of the CPython executable real.
func (b *builder) addPython(im *Image, real string) error {
	ver := sibling(real, pythonName)
	if ver == "" {
		im.Notes = append(im.Notes, real+": no python3.X name: the standard library was not added")
		return nil
	}
	stdlib := filepath.Join(filepath.Dir(filepath.Dir(real)), "lib", "python"+ver)
	if _, err := os.Stat(filepath.Join(stdlib, "os.py")); err != nil {
		im.Notes = append(im.Notes, fmt.Sprintf("%s: no standard library at %s: not added", real, stdlib))
		return nil
	}
	im.Runtime = "python" + ver
	skip := func(rel string, dir bool) bool {
		name := path.Base(rel)
		if !dir {
			return path.Dir(rel) == "lib-dynload" && pythonTestModule.MatchString(name)
		}
		if pythonSkipAnywhere[name] {
			return true
		}
		return rel == name && (pythonSkip[name] || strings.HasPrefix(name, "config-"))
	}
	from := "the standard library of " + im.Runtime
	if err := b.addTree(stdlib, skip, func(string) {}, from); err != nil {
		return err
	}
	var mods []string
	if dynload, err := filepath.EvalSymlinks(filepath.Join(stdlib, "lib-dynload")); err == nil {
		ents, _ := os.ReadDir(dynload)
		for _, e := range ents {
			if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".so") && !pythonTestModule.MatchString(e.Name()) {
				mods = append(mods, filepath.Join(dynload, e.Name()))
			}
		}
	}
	return b.addModuleLibs(im, mods)
}

// addPerl adds the library trees of the perl executable real.
func (b *builder) addPerl(im *Image, real string) error {
	ver := sibling(real, perlName)
	if ver == "" {
		// perl without a perl5.X.Y beside it: the one version installed.
		dirs, _ := filepath.Glob("/usr/share/perl/5.*")
		seen := map[string]string{}
		for _, d := range dirs {
			if r, err := filepath.EvalSymlinks(d); err == nil {
				if m := perlName.FindStringSubmatch("perl" + filepath.Base(r)); m != nil {
					seen[r] = m[1]
				}
			}
		}
		if len(seen) == 1 {
			for _, v := range seen {
				ver = v
			}
		}
	}
	im.Runtime = "perl"
	if ver != "" {
		im.Runtime = "perl " + ver
	}
	skip := func(rel string, dir bool) bool {
		name := path.Base(rel)
		if dir {
			return name == "CORE" || name == "pod"
		}
		return strings.HasSuffix(name, ".pod")
	}
	from := "the library of " + im.Runtime
	var mods []string
	collect := func(p string) {
		if strings.HasSuffix(p, ".so") {
			mods = append(mods, p)
		}
	}
	for _, t := range perlTrees {
		if strings.Contains(t, "%s") {
			if ver == "" {
				continue
			}
			t = fmt.Sprintf(t, ver)
		}
		if _, err := os.Stat(t); err != nil {
			continue
		}
		if err := b.addTree(t, skip, collect, from); err != nil {
			return err
		}
	}
	return b.addModuleLibs(im, mods)
}

// addModuleLibs adds the shared libraries that the extension modules mods
// (shared objects a program dlopen()s) need. A module whose libraries
// cannot be found gets a note: it will fail to load in the guest, as on the
// host.
func (b *builder) addModuleLibs(im *Image, mods []string) error {
	sort.Strings(mods)
	for _, m := range mods {
		c, err := libs.ResolveShared(m, libs.Options{})
		if err != nil {
			im.Notes = append(im.Notes, fmt.Sprintf("%s: %v: its libraries were not added", m, err))
			continue
		}
		from := "a library of " + m
		for _, e := range c.Entries() {
			if err := b.add(e, from, srcAuto); err != nil {
				return err
			}
		}
		if c.NeedsCache() {
			if err := b.addHostFile(libs.DefaultCache, "the ld.so cache"); err != nil {
				return err
			}
		}
	}
	return nil
}

// addTree adds the host tree root at the same guest path: the symlinks on
// the way to it, then every directory, file and symlink under its real
// path, except those skip (given the path relative to the tree's root and
// whether it is a directory) rejects. A symlink stays a link; when it
// leads out of the tree, what it points to is added too (a file, or a
// directory as another tree). Other special files and dangling links'
// targets are left out. collect sees the host path of every regular file.
func (b *builder) addTree(root string, skip func(rel string, dir bool) bool, collect func(string), from string) error {
	done := map[string]bool{}
	todo := []string{root}
	for len(todo) > 0 {
		top := todo[0]
		todo = todo[1:]
		real, links, err := libs.PathEntries(top)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return fmt.Errorf("%s: %w", from, err)
		}
		for _, e := range links {
			if err := b.add(e, from, srcAuto); err != nil {
				return err
			}
		}
		if done[real] {
			continue
		}
		done[real] = true
		err = filepath.WalkDir(real, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("%s: %s: %w", from, p, unwrapPathErr(err))
			}
			rel, err := filepath.Rel(real, p)
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if rel != "." && skip(rel, d.IsDir()) {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			switch t := d.Type(); {
			case t.IsDir():
				return b.add(initrd.Entry{GuestPath: p, HostPath: p, Dir: true}, from, srcAuto)
			case t.IsRegular():
				collect(p)
				return b.add(initrd.Entry{GuestPath: p, HostPath: p}, from, srcAuto)
			case t&fs.ModeSymlink != 0:
				target, err := os.Readlink(p)
				if err != nil {
					return fmt.Errorf("%s: %s: %w", from, p, unwrapPathErr(err))
				}
				if err := b.add(initrd.Entry{GuestPath: p, Symlink: target}, from, srcAuto); err != nil {
					return err
				}
				dest, err := filepath.EvalSymlinks(p)
				if err != nil || dest == real || strings.HasPrefix(dest, real+"/") {
					return nil // dangling, or inside the tree
				}
				fi, err := os.Stat(dest)
				switch {
				case err != nil:
				case fi.Mode().IsRegular():
					collect(dest)
					return b.addHostFile(p, from)
				case fi.IsDir():
					todo = append(todo, p)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
