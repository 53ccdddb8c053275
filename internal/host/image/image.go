// Package image builds what the gosv kernel boots with to run one app: the
// initrd (a newc cpio archive, see package initrd) holding the executable,
// the files it needs and the files the user adds, and the kernel command
// line; and it saves such an image to disk (Save) and loads it back (Load).
//
// # The executable
//
// The executable is checked on the host before anything boots (Resolve):
// it must exist, be a regular file with execute permission, and be an
// x86-64 ELF executable that elfexec.Inspect accepts. Problems are
// *ExecError values carrying the shell's exit status (127: no such file,
// 126: cannot be run).
//
// A static executable goes into the guest as /NAME (NAME: the last element
// of the path it was found at), unless a --copy or a manifest puts that
// same file somewhere, which is then its guest path.
//
// A dynamically linked executable (one with PT_INTERP) goes into the guest
// at its host path, with the files that the host's dynamic loader would
// load for it at startup (libs.Resolve with the default options; the host's
// LD_LIBRARY_PATH is not used): the interpreter and every DT_NEEDED
// library, each at the path ld.so opens, with the symbolic links on the
// way (such as /lib64 -> usr/lib64 on a merged-/usr host), and the host's
// /etc/ld.so.cache when a library is found only through it
// (libs.Closure.NeedsCache). The file itself is at its real path, so that
// $ORIGIN in its RPATH or RUNPATH means the same directory as on the host;
// when the user named it by an absolute path (or a bare name found in
// $PATH), that path, symbolic links included, also leads there, and it is
// the program's argv[0]; for a relative path, argv[0] is the real path. A
// library that cannot be found is an *ExecError (status 126) naming the
// library and the object that needs it.
//
// # Language runtimes
//
// Unless Options.NoAutoFiles is set, some interpreters get the files they
// load at startup (see rules.go for the exact lists), chosen from the real
// name of the executable (symbolic links resolved):
//
//   - python3.X (a real name starting with "python3"): the standard library
//     PREFIX/lib/python3.X, PREFIX being the parent of the executable's
//     directory (/usr for /usr/bin/python3.11), without __pycache__
//     directories, test suites (test/ and tests/ directories, and the
//     _test*, _xxtest*, _ctypes_test and xxlimited* modules of lib-dynload),
//     idlelib/,
//     tkinter/, turtledemo/, ensurepip/ and config-3.X-*/ (static library
//     and Makefile for building extensions); plus, for every extension
//     module under lib-dynload, the shared libraries it needs
//     (libs.ResolveShared). Site packages (/usr/lib/python3/dist-packages,
//     /usr/local/lib/python3.X) are not added.
//   - perl, perl5.X.Y: the library trees of Debian's perl that exist on the
//     host: /usr/lib/x86_64-linux-gnu/perl-base (what `perl -e 'use
//     strict; use warnings'` opens), /usr/lib/x86_64-linux-gnu/perl/5.X,
//     /usr/share/perl/5.X, /usr/lib/x86_64-linux-gnu/perl5/5.X,
//     /usr/share/perl5 and /etc/perl, without POD documentation and C
//     headers (CORE/); plus the shared libraries of every XS module (*.so)
//     in them.
//
// Symbolic links in these trees stay links; one that leads out of its tree
// also brings what it points to.
//
// # Guest paths
//
// Files come from four sources: --copy (Options.Copies), manifests
// (Options.Manifests, OSv's format, see package manifest), the executable,
// and what gosv adds for it (its libraries, the runtime files above). Two
// sources may put the same thing at a guest path (the same host file, the
// same symlink target, or two directories, whose contents merge): it is
// stored once. Otherwise a copy or manifest entry wins over an automatic
// one, and two different copies (or a copy and the static executable) for
// one path are an error. Within the manifests, a later line for a guest
// path replaces an earlier one, as in OSv. A file whose guest directory
// passes through a symbolic link of the image (a --copy to /lib/x on a
// merged-/usr host, where the image has /lib -> usr/lib) is stored under
// the link's target, where the guest finds it.
//
// Nothing is read into memory whole: Inspect reads the ELF headers of the
// executable, and every file's contents are streamed once from the host
// file into the initrd file.
//
// # Saved images
//
// Save writes an image (what `gosv build` makes and `gosv run IMAGE`
// boots) as a directory (when the output names an existing directory or
// ends in "/"), or else as a tar archive of the same files at its top
// level:
//
//	gosv-image.json  the marker and description (Meta), e.g. {"version": 1,
//	                 "memory": "128M", "cpus": 1, "app": "/hello",
//	                 "files": 1, "bytes": 871688, "created_by": "gosv v0.1"};
//	                 the first member of a tar, which is how IsSaved
//	                 recognises one
//	cmdline          the kernel command line as gosv run passes it to QEMU
//	                 (qemu.QuoteCmdline of the loader options, then the
//	                 app's guest path and arguments), then one "\n"
//	kernel.elf       the gosv kernel (a PVH ELF)
//	initrd.cpio      the initrd (newc cpio); absent when the image has no
//	                 files
//
// "memory" and "cpus" are the defaults of gosv run (its -m and -c
// override them); "version" is FormatVersion and a reader refuses a newer
// one; the other fields are informative. The files work without gosv:
// qemu-system-x86_64 -M microvm -kernel kernel.elf -initrd initrd.cpio
// -append "$(cat cmdline)", with the serial ports of docs/internals.md.
// The cmdline file may be edited by hand: gosv run uses it as it is unless
// its flags or ARGS change it (SplitCmdline, EditCmdline).
package image

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/gosv/gosv/internal/bootproto"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/gosv/gosv/internal/elfexec"
	"github.com/gosv/gosv/internal/host/initrd"
	"github.com/gosv/gosv/internal/host/libs"
	"github.com/gosv/gosv/internal/host/manifest"
)

// Exit statuses of an *ExecError, as a POSIX shell uses them.
const (
	StatusNotFound      = bootproto.ExitNotFound   // the executable does not exist
	StatusNotExecutable = bootproto.ExitCannotExec // it exists but cannot be run
)

// ExecError is a problem with the app's executable, found before the VM
// boots. Its message is one line, "PATH: problem".
type ExecError struct {
	// Path names the file: the path the user gave, or the file found for
	// it in $PATH.
	Path string
	// Status is StatusNotFound or StatusNotExecutable.
	Status int
	// Err is the problem, e.g. "no such file" or
	// "not an x86-64 executable (machine EM_AARCH64)".
	Err error
}

func (e *ExecError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *ExecError) Unwrap() error { return e.Err }

// bufferSize is the write buffer of the initrd file.
const bufferSize = 256 << 10

// Copy is one file or directory tree that goes into the image: the user's
// --copy HOST_PATH:GUEST_PATH.
type Copy struct {
	// HostPath is the host file or directory. When it is a symbolic link,
	// the link is followed (like `cp -H` and Docker's COPY); symbolic links
	// inside a copied directory are copied as links.
	HostPath string
	// GuestPath is the absolute path it gets in the guest. A directory's
	// contents go under GuestPath (GuestPath "/" merges them into the
	// root). For a file, a GuestPath ending in "/" names the directory the
	// file goes into, under its host name.
	GuestPath string
}

// ParseCopy parses "HOST_PATH:GUEST_PATH", split at the last colon (so a
// host path may contain colons, a guest path may not). Both halves must be
// non-empty and the guest path absolute.
func ParseCopy(s string) (Copy, error) {
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return Copy{}, fmt.Errorf("%q: want HOST_PATH:GUEST_PATH", s)
	}
	c := Copy{HostPath: s[:i], GuestPath: s[i+1:]}
	switch {
	case c.HostPath == "":
		return Copy{}, fmt.Errorf("%q: empty host path", s)
	case c.GuestPath == "":
		return Copy{}, fmt.Errorf("%q: empty guest path", s)
	case !path.IsAbs(c.GuestPath):
		return Copy{}, fmt.Errorf("%q: guest path %s is not absolute", s, c.GuestPath)
	}
	return c, nil
}

func (c Copy) String() string { return c.HostPath + ":" + c.GuestPath }

// Options describe one app image.
type Options struct {
	// Exe names the app's executable on the host: a path with a slash as
	// it is, a bare name through $PATH (exec.LookPath). Empty for an image
	// without an app (the kernel then runs only its loader options).
	Exe string
	// Args are the app's arguments after argv[0].
	Args []string
	// Env holds NAME=VALUE entries for the app's environment
	// (--env=NAME=VALUE on the kernel command line).
	Env []string
	// Cwd is the app's working directory in the guest; empty for the
	// kernel's default ("/").
	Cwd string
	// Copies are the files and trees to put into the image, in order.
	Copies []Copy
	// Manifests are manifest files (OSv's format: manifest.ParseFile,
	// then manifest.Expand over all of them, in order) whose entries go
	// into the image.
	Manifests []string
	// NoAutoFiles leaves out the language runtime files (the Python
	// standard library, Perl's modules) that are otherwise added for
	// those interpreters. The shared libraries of a dynamic executable are
	// always added.
	NoAutoFiles bool
	// KernelArgs are kernel options put first on the command line.
	KernelArgs []string
	// Dir is where the initrd file is created; "" for os.TempDir().
	Dir string
	// Progress, when not nil, is called while the initrd is written
	// (after each buffer of output) and once at the end with Done set.
	Progress func(Progress)
}

// Progress tells how far writing the initrd has come: regular files and
// bytes of their contents, of the totals.
type Progress struct {
	Files, TotalFiles int
	Bytes, TotalBytes int64
	Done              bool
}

// Image is a built app image.
type Image struct {
	// Initrd is the path of the initrd file; "" when there is nothing to
	// put in it (no executable, no copies). Remove deletes it.
	Initrd string
	// Cmdline is the kernel command line, one word per element (quote it
	// with qemu.QuoteCmdline): KernelArgs, then --env=NAME=VALUE for each
	// Env entry, --cwd=DIR when Cwd is set, then GuestExe and Args.
	Cmdline []string
	// HostExe is the host file of the executable ("" without one).
	HostExe string
	// GuestExe is its path in the guest, argv[0] (see the package
	// documentation).
	GuestExe string
	// Info describes the executable (nil without one).
	Info *elfexec.Info
	// Closure is what the dynamic loader loads for a dynamic executable
	// (nil for a static one).
	Closure *libs.Closure
	// Entries are the initrd's entries, sorted by guest path (parent
	// directories that initrd.Write adds are not listed).
	Entries []initrd.Entry
	// Files and Bytes count the regular files of the initrd and the bytes
	// of their contents.
	Files int
	Bytes int64
	// Runtime names the language runtime whose files were added
	// ("python3.11", "perl 5.36"), or "".
	Runtime string
	// Notes are remarks about files left out, e.g. an extension module
	// whose library is missing on the host.
	Notes []string
}

// Remove deletes the initrd file, if any.
func (im *Image) Remove() error {
	if im == nil || im.Initrd == "" {
		return nil
	}
	return os.Remove(im.Initrd)
}

// Build checks the executable (Resolve), collects the image's files, writes
// the initrd into a new file in o.Dir and returns the image; the caller
// removes the file (Image.Remove). Problems with the executable and its
// libraries are *ExecError values; other errors (a bad Env entry, a missing
// copy source, a bad manifest, two files for one guest path, a write
// failure) name the offending path.
func Build(o Options) (*Image, error) {
	for _, kv := range o.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, fmt.Errorf("environment entry %q: want NAME=VALUE", kv)
		}
	}
	im := &Image{}
	var exeInfo fs.FileInfo
	if o.Exe != "" {
		p, info, err := Resolve(o.Exe)
		if err != nil {
			return nil, err
		}
		if exeInfo, err = os.Stat(p); err != nil {
			return nil, &ExecError{Path: p, Status: StatusNotExecutable, Err: err}
		}
		im.HostExe, im.Info = p, info
	}

	b := newBuilder(exeInfo)
	for _, c := range o.Copies {
		if err := b.addCopy(c); err != nil {
			return nil, err
		}
	}
	if err := b.addManifests(o.Manifests); err != nil {
		return nil, err
	}
	if im.HostExe != "" {
		var err error
		if im.Info.Type == elfexec.Dynamic {
			err = b.addDynamic(im)
		} else {
			err = b.addStatic(im)
		}
		if err != nil {
			return nil, err
		}
		if !o.NoAutoFiles {
			if err := b.addRuntime(im); err != nil {
				return nil, err
			}
		}
	}

	im.Cmdline = append(im.Cmdline, o.KernelArgs...)
	for _, kv := range o.Env {
		im.Cmdline = append(im.Cmdline, "--env="+kv)
	}
	if o.Cwd != "" {
		im.Cmdline = append(im.Cmdline, "--cwd="+o.Cwd)
	}
	if im.GuestExe != "" {
		im.Cmdline = append(im.Cmdline, im.GuestExe)
		im.Cmdline = append(im.Cmdline, o.Args...)
	}

	entries, err := b.finish()
	if err != nil {
		return nil, err
	}
	im.Entries = entries
	if len(entries) == 0 {
		return im, nil
	}
	for _, e := range entries {
		if e.Dir || e.Symlink != "" {
			continue
		}
		fi, err := os.Stat(e.HostPath)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.HostPath, unwrapPathErr(err))
		}
		im.Files++
		im.Bytes += fi.Size()
	}
	f, err := os.CreateTemp(o.Dir, "gosv-initrd-*.cpio")
	if err != nil {
		return nil, fmt.Errorf("creating the initrd: %w", err)
	}
	pw := newProgressWriter(f, o.Progress, im.Files, im.Bytes)
	w := bufio.NewWriterSize(pw, bufferSize)
	err = initrd.Write(w, entries)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return nil, err
	}
	pw.done()
	im.Initrd = f.Name()
	return im, nil
}

// addStatic puts a static executable at /NAME, unless a copy or manifest
// already put its file somewhere.
func (b *builder) addStatic(im *Image) error {
	im.GuestExe = b.exeGuest
	if im.GuestExe != "" {
		return nil
	}
	im.GuestExe = "/" + filepath.Base(im.HostExe)
	return b.add(initrd.Entry{GuestPath: im.GuestExe, HostPath: im.HostExe}, "the executable "+im.HostExe, srcExe)
}

// addDynamic adds a dynamic executable at its host path with everything
// ld.so loads for it.
func (b *builder) addDynamic(im *Image) error {
	c, err := libs.Resolve(im.HostExe, libs.Options{})
	if err != nil {
		var nf *libs.NotFoundError
		if errors.As(err, &nf) {
			err = fmt.Errorf("shared library %w", err)
		}
		return &ExecError{Path: im.HostExe, Status: StatusNotExecutable, Err: err}
	}
	im.Closure = c
	from := "the executable " + im.HostExe
	// The user's absolute path (or the one $PATH gave) is argv[0]; it and
	// its symlinks exist in the guest. A relative path means nothing in
	// the guest: argv[0] is then the real path.
	im.GuestExe = c.Main.RealPath
	if filepath.IsAbs(im.HostExe) {
		im.GuestExe = im.HostExe
	}
	for _, e := range libs.Entries(c.Main) {
		if err := b.add(e, from, srcAuto); err != nil {
			return err
		}
	}
	from = "a library of " + im.HostExe
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
	return nil
}

// addHostFile adds the host file p at the same guest path, with the
// symlinks on the way.
func (b *builder) addHostFile(p, from string) error {
	real, links, err := libs.PathEntries(p)
	if err != nil {
		return fmt.Errorf("%s: %w", from, err)
	}
	for _, e := range links {
		if err := b.add(e, from, srcAuto); err != nil {
			return err
		}
	}
	return b.add(initrd.Entry{GuestPath: real, HostPath: real}, from, srcAuto)
}

// source ranks where an entry comes from.
type source int

const (
	srcUser source = iota // --copy or a manifest
	srcExe                // the static executable at /NAME
	srcAuto               // the dynamic executable, its libraries, runtime files
)

// item is one entry being collected.
type item struct {
	e    initrd.Entry
	from string // what added it, for errors
	src  source
}

// builder collects the initrd entries.
type builder struct {
	items    map[string]*item // clean guest path -> entry
	order    []string         // guest paths in the order they were added
	exe      fs.FileInfo      // the executable (nil without one)
	exeGuest string           // where a copy or manifest put the executable
}

func newBuilder(exe fs.FileInfo) *builder {
	return &builder{items: map[string]*item{}, exe: exe}
}

// add records e. A second entry for a guest path is dropped when it is
// the same thing (two directories, the same host file, the same symlink
// target) or when it is automatic and the first came from the user;
// anything else is an error.
func (b *builder) add(e initrd.Entry, from string, src source) error {
	g := path.Clean("/" + e.GuestPath)
	e.GuestPath = g
	prev, ok := b.items[g]
	if !ok {
		b.items[g] = &item{e: e, from: from, src: src}
		b.order = append(b.order, g)
		return nil
	}
	if sameEntry(prev.e, e) || prev.src == srcUser && src == srcAuto {
		return nil
	}
	if prev.src == srcAuto && src == srcUser {
		*prev = item{e: e, from: from, src: src}
		return nil
	}
	what := prev.from
	if prev.e.Dir {
		what = "a directory of " + prev.from
	}
	return fmt.Errorf("%s: guest path %s is already taken by %s", from, g, what)
}

// sameEntry reports whether a and b put the same thing at a guest path.
func sameEntry(a, b initrd.Entry) bool {
	switch {
	case a.Dir || b.Dir:
		return a.Dir && b.Dir
	case a.Symlink != "" || b.Symlink != "":
		return a.Symlink == b.Symlink
	case a.Mode != b.Mode:
		return false
	case a.HostPath == b.HostPath:
		return true
	}
	fa, err := os.Stat(a.HostPath)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b.HostPath)
	return err == nil && os.SameFile(fa, fb)
}

// finish moves entries whose guest directory passes through a symlink of
// the image to the link's target, and returns the entries sorted by guest
// path.
func (b *builder) finish() ([]initrd.Entry, error) {
	links := map[string]string{}
	for g, it := range b.items {
		if it.e.Symlink != "" {
			links[g] = it.e.Symlink
		}
	}
	if len(links) > 0 {
		moved := false
		for _, g := range b.order {
			if dir, ok := guestDir(path.Dir(g), links); ok && dir != path.Dir(g) {
				moved = true
				break
			}
		}
		if moved {
			nb := newBuilder(b.exe)
			// User entries first, so that they keep their precedence
			// when a moved automatic entry lands on them.
			for _, pass := range []bool{true, false} {
				for _, g := range b.order {
					it := b.items[g]
					if (it.src == srcUser) != pass {
						continue
					}
					e := it.e
					if dir, ok := guestDir(path.Dir(g), links); ok {
						e.GuestPath = path.Join(dir, path.Base(g))
					}
					if err := nb.add(e, it.from, it.src); err != nil {
						return nil, err
					}
				}
			}
			b = nb
		}
	}
	out := make([]initrd.Entry, 0, len(b.items))
	for _, g := range b.order {
		out = append(out, b.items[g].e)
	}
	sortEntries(out)
	return out, nil
}

// guestDir resolves the guest directory dir through the symlinks of the
// image (guest path -> target), as the guest kernel will; ok is false for
// a symlink loop.
func guestDir(dir string, links map[string]string) (string, bool) {
	todo := strings.Split(strings.Trim(dir, "/"), "/")
	cur := "/"
	for n := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, c)
		t, ok := links[next]
		if !ok {
			cur = next
			continue
		}
		if n++; n > 40 {
			return "", false
		}
		if strings.HasPrefix(t, "/") {
			cur = "/"
		}
		todo = append(strings.Split(strings.Trim(t, "/"), "/"), todo...)
	}
	return cur, true
}

// isExe tells whether fi is the executable's file.
func (b *builder) isExe(fi fs.FileInfo) bool {
	return b.exe != nil && fi.Mode().IsRegular() && os.SameFile(fi, b.exe)
}

// noteExe records guest path g as the executable's place when the user's
// entry e holds the executable's file.
func (b *builder) noteExe(g string, fi fs.FileInfo) {
	if b.exeGuest == "" && b.isExe(fi) {
		b.exeGuest = path.Clean(g)
	}
}

// addManifests adds the entries of the manifest files.
func (b *builder) addManifests(files []string) error {
	if len(files) == 0 {
		return nil
	}
	var all []manifest.Entry
	for _, f := range files {
		es, err := manifest.ParseFile(f)
		if err != nil {
			return fmt.Errorf("--manifest %s: %w", f, unwrapPathErr(err))
		}
		all = append(all, es...)
	}
	entries, err := manifest.Expand(all)
	if err != nil {
		return fmt.Errorf("--manifest: %w", err)
	}
	from := "--manifest " + strings.Join(files, ", ")
	for _, e := range entries {
		if !e.Dir && e.Symlink == "" && b.exe != nil {
			if fi, err := os.Stat(e.HostPath); err == nil {
				b.noteExe(e.GuestPath, fi)
			}
		}
		if err := b.add(e, from, srcUser); err != nil {
			return err
		}
	}
	return nil
}

// addCopy adds the file or tree of c.
func (b *builder) addCopy(c Copy) error {
	if c.HostPath == "" || !path.IsAbs(c.GuestPath) {
		return fmt.Errorf("--copy %s: want HOST_PATH:/GUEST_PATH", c)
	}
	fi, err := os.Stat(c.HostPath)
	if err != nil {
		return copyErr(c, c.HostPath, err)
	}
	from := "--copy " + c.String()
	guest := path.Clean(c.GuestPath)
	switch {
	case fi.Mode().IsRegular():
		if strings.HasSuffix(c.GuestPath, "/") {
			guest = path.Join(guest, filepath.Base(c.HostPath))
		}
		b.noteExe(guest, fi)
		return b.add(initrd.Entry{GuestPath: guest, HostPath: c.HostPath}, from, srcUser)
	case fi.IsDir():
	default:
		return fmt.Errorf("--copy %s: %s: not a regular file or directory (%s)", c, c.HostPath, typeName(fi.Mode()))
	}

	root, err := filepath.EvalSymlinks(c.HostPath)
	if err != nil {
		return copyErr(c, c.HostPath, err)
	}
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return copyErr(c, p, err)
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return copyErr(c, p, err)
		}
		g := path.Join(guest, filepath.ToSlash(rel))
		fi, err := d.Info()
		if err != nil {
			return copyErr(c, p, err)
		}
		var e initrd.Entry
		switch {
		case fi.IsDir():
			e = initrd.Entry{GuestPath: g, HostPath: p, Dir: true}
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return copyErr(c, p, err)
			}
			e = initrd.Entry{GuestPath: g, Symlink: target}
		case fi.Mode().IsRegular():
			b.noteExe(g, fi)
			e = initrd.Entry{GuestPath: g, HostPath: p}
		default:
			return fmt.Errorf("--copy %s: %s: not a regular file, directory or symbolic link (%s)", c, p, typeName(fi.Mode()))
		}
		return b.add(e, from, srcUser)
	})
}

// copyErr names the copy and the host path in an error of the os package.
func copyErr(c Copy, hostPath string, err error) error {
	return fmt.Errorf("--copy %s: %s: %w", c, hostPath, unwrapPathErr(err))
}

// unwrapPathErr strips the *fs.PathError around an error of the os
// package (its message names a path the caller names itself).
func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Resolve finds the executable name on the host and checks that gosv can
// run it: a name with a slash is used as it is, any other is looked up in
// $PATH like a shell does (exec.LookPath; a match relative to the current
// directory is accepted). It returns the path and the ELF description.
//
// Errors are *ExecError: StatusNotFound ("no such file", or "not found in
// $PATH" for a bare name) when the file does not exist, and
// StatusNotExecutable when it is a directory, not a regular file, not
// readable, not an ELF executable ("not an ELF executable", or "a script
// ..." for a "#!" file), an ELF file elfexec.Inspect rejects (its message),
// or without execute permission. A dynamically linked executable is
// accepted here; Build then resolves its libraries.
func Resolve(name string) (string, *elfexec.Info, error) {
	p := name
	if !strings.Contains(name, "/") {
		var err error
		p, err = exec.LookPath(name)
		if err != nil && !errors.Is(err, exec.ErrDot) {
			return "", nil, &ExecError{Path: name, Status: StatusNotFound, Err: errors.New("not found in $PATH")}
		}
	}
	fail := func(status int, err error) (string, *elfexec.Info, error) {
		return "", nil, &ExecError{Path: p, Status: status, Err: err}
	}
	// Stat first: opening a FIFO would block until a writer appears.
	if st, err := os.Stat(p); err == nil && !st.Mode().IsRegular() && !st.IsDir() {
		return fail(StatusNotExecutable, fmt.Errorf("not a regular file (%s)", typeName(st.Mode())))
	}
	f, err := os.Open(p)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		if errors.Is(err, fs.ErrNotExist) {
			return fail(StatusNotFound, errors.New("no such file"))
		}
		if errors.Is(err, syscall.EACCES) {
			err = errors.New("permission denied")
		}
		return fail(StatusNotExecutable, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fail(StatusNotExecutable, err)
	}
	if fi.IsDir() {
		return fail(StatusNotExecutable, errors.New("is a directory"))
	}
	if !fi.Mode().IsRegular() {
		return fail(StatusNotExecutable, fmt.Errorf("not a regular file (%s)", typeName(fi.Mode())))
	}
	info, err := elfexec.Inspect(f, fi.Size())
	switch {
	case errors.Is(err, elfexec.ErrNotELF):
		var magic [2]byte
		if n, _ := f.ReadAt(magic[:], 0); n == 2 && string(magic[:]) == "#!" {
			return fail(StatusNotExecutable, errors.New("a script (#!), not an ELF executable: scripts are not supported yet"))
		}
		return fail(StatusNotExecutable, errors.New("not an ELF executable"))
	case err != nil && strings.HasPrefix(err.Error(), "not "):
		return fail(StatusNotExecutable, err) // "not an x86-64 executable (...)" etc.
	case err != nil:
		return fail(StatusNotExecutable, fmt.Errorf("invalid ELF executable: %w", err))
	case fi.Mode().Perm()&0o111 == 0:
		return fail(StatusNotExecutable, errors.New("permission denied (no execute permission)"))
	}
	return p, info, nil
}

// typeName names the type of a special file.
func typeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "type " + m.Type().String()
}
