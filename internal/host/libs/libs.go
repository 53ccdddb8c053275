// Package libs finds the files a dynamically linked program needs at run
// time, the way glibc's dynamic loader on the host (ld.so(8)) finds them:
// the program interpreter named by PT_INTERP, then every DT_NEEDED object,
// recursively. The gosv kernel runs the real glibc ld.so in the guest, so
// the host tool puts each of these files into the image at the path ld.so
// opens (the guest path equals the host path), together with the symbolic
// links on the way.
//
// Search order for a needed name without a slash (glibc 2.36,
// elf/dl-load.c _dl_map_object):
//
//  1. DT_RPATH of the object that needs it, then of the object that loaded
//     that one, and so on up to the executable — only when the needing
//     object has no DT_RUNPATH (and an object's DT_RPATH is ignored when it
//     also has DT_RUNPATH);
//  2. LD_LIBRARY_PATH (Options.LibraryPath);
//  3. DT_RUNPATH of the needing object only (not inherited);
//  4. the ld.so cache (/etc/ld.so.cache), unless the needing object has
//     DF_1_NODEFLIB and the cached file is in a default directory;
//  5. the default directories, unless the needing object has DF_1_NODEFLIB.
//
// In every directory of a list, the glibc-hwcaps subdirectories of
// Options.HWCaps are tried before the directory itself. A candidate of the
// wrong ELF class or machine is skipped silently; any other unloadable
// candidate (not ELF, a directory, an executable) is an error, as it makes
// ld.so fail. A needed name that matches a name or the DT_SONAME of an
// object already loaded, or a found file that is already loaded (same
// device and inode), reuses that object: this is how libc.so.6's need for
// "ld-linux-x86-64.so.2" is met by the interpreter.
//
// The dynamic string tokens $ORIGIN, $LIB and $PLATFORM (and ${...}) are
// expanded in DT_NEEDED, DT_RPATH, DT_RUNPATH and LD_LIBRARY_PATH. $ORIGIN
// of the executable is the directory of its real path (the kernel's
// /proc/self/exe); of a library, the directory of the path it was opened
// by.
//
// ResolveShared does the same for a shared object that a program loads
// with dlopen(3) (a Python extension module, a Perl XS module), and
// PathEntries gives the symlinks that lead to any host path.
package libs

import (
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gosv/gosv/internal/elfexec"
)

// Values of this Debian's glibc 2.36 ld.so for x86-64 (see `ld.so --help`
// and LD_DEBUG=libs).
const (
	// DefaultLib is the expansion of $LIB: Debian builds glibc with the
	// multiarch slibdir /lib/x86_64-linux-gnu, so $LIB is
	// "lib/x86_64-linux-gnu" (not "lib64").
	DefaultLib = "lib/x86_64-linux-gnu"
	// DefaultPlatform is the expansion of $PLATFORM: the kernel's
	// AT_PLATFORM on x86-64. (glibc replaces it with "haswell" or
	// "xeon_phi" on Intel CPUs with the matching features; the guest's
	// CPU is not known here.)
	DefaultPlatform = "x86_64"
)

// DefaultDirs are ld.so's system search directories ("system search path"
// in `ld.so --help`), in order. /lib64 and /usr/lib64 are not among them on
// Debian: only the interpreter lives there.
var DefaultDirs = []string{"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib", "/usr/lib"}

// X86_64HWCaps are the glibc-hwcaps subdirectories of x86-64, highest
// priority first; ld.so searches those the CPU supports.
var X86_64HWCaps = []string{"x86-64-v4", "x86-64-v3", "x86-64-v2"}

// DF_1 flags (gABI DT_FLAGS_1) that change loading.
const (
	df1NoDefLib = 0x00000800 // DF_1_NODEFLIB
	df1PIE      = 0x08000000 // DF_1_PIE
)

// Options change how Resolve searches. The zero value searches like the
// host's ld.so with no LD_LIBRARY_PATH.
type Options struct {
	// LibraryPath is the value of LD_LIBRARY_PATH: directories separated by
	// ':' or ';', dynamic string tokens allowed (expanded for the
	// executable). The guest must get the same LD_LIBRARY_PATH.
	LibraryPath string
	// Cache is the ld.so cache to read; "" means DefaultCache. A missing or
	// invalid cache is ignored, as ld.so does.
	Cache string
	// NoCache skips the ld.so cache (ld.so --inhibit-cache).
	NoCache bool
	// DefaultDirs replaces the default directories (nil: DefaultDirs).
	DefaultDirs []string
	// HWCaps lists the glibc-hwcaps subdirectory names to try in each
	// search directory (and to accept from the cache), highest priority
	// first, e.g. X86_64HWCaps. nil tries none: the plain directories hold
	// the baseline x86-64 builds, which run on any guest CPU, while a
	// subdirectory build needs CPU features the guest may lack.
	HWCaps []string
	// Platform is the value of $PLATFORM ("": DefaultPlatform).
	Platform string
	// Lib is the value of $LIB ("": DefaultLib).
	Lib string
	// Origin is $ORIGIN for the executable ("": the directory of its real
	// path, which is what the kernel's /proc/self/exe gives ld.so).
	Origin string
	// Cwd resolves relative paths (an empty search path element, a
	// relative PT_INTERP or DT_NEEDED path); "": the process's directory.
	Cwd string
}

// Source tells how an object was found.
type Source string

const (
	SourceMain        Source = "main"            // the executable itself
	SourceInterp      Source = "PT_INTERP"       // the program interpreter
	SourcePath        Source = "path"            // a DT_NEEDED name with a slash
	SourceRPath       Source = "RPATH"           // DT_RPATH of the needing object or its loaders
	SourceLibraryPath Source = "LD_LIBRARY_PATH" // Options.LibraryPath
	SourceRunPath     Source = "RUNPATH"         // DT_RUNPATH of the needing object
	SourceCache       Source = "ld.so.cache"     // the ld.so cache
	SourceDefault     Source = "default"         // a default directory
)

// Object is one ELF file of the closure.
type Object struct {
	// Name is the name the object was first asked for: the DT_NEEDED
	// string (after token expansion), the PT_INTERP path, or for the
	// executable the path given to Resolve.
	Name string
	// Names are all names that resolved to this object, in order (Name
	// first); a DT_SONAME matched by a later DT_NEEDED is added.
	Names []string
	// Path is the absolute path ld.so opens, as it builds it (not cleaned:
	// "/opt/app/bin/../lib/libx.so.1" for RUNPATH $ORIGIN/../lib). The
	// guest path is the same.
	Path string
	// RealPath is Path with every symlink and ".." resolved: the host file
	// whose contents the guest gets, at this same guest path.
	RealPath string
	// Links are the symbolic links met while resolving Path, in order;
	// each must exist in the guest (with the same target) for Path to
	// resolve there. Directory links such as /lib -> usr/lib on a
	// merged-/usr system are included.
	Links []Symlink
	// Dirs are real directories that Path passes through only to leave
	// them by ".." (e.g. /opt/app/bin above); they must exist in the guest.
	Dirs []string
	// Soname is DT_SONAME ("" when absent).
	Soname string
	// Needed are the DT_NEEDED entries, in order.
	Needed []string
	// RPath and RunPath are DT_RPATH and DT_RUNPATH, unexpanded (RPath is
	// "" when RunPath is present: ld.so ignores it then).
	RPath, RunPath string
	// Source tells how it was found.
	Source Source
	// Loader is the object whose DT_NEEDED first loaded this one (nil for
	// the executable and the interpreter).
	Loader *Object
	// Deps are the objects that satisfy Needed (and filtees), in order.
	Deps []*Object
	// NeedsCache is set for an object found through the ld.so cache at a
	// path the default directories would not give (another directory, as
	// /usr/local/lib or one from /etc/ld.so.conf.d, or another file name):
	// ld.so in the guest finds it only with the same cache, so the image
	// must carry the host's ld.so cache at /etc/ld.so.cache.
	NeedsCache bool

	dyn    *dynInfo
	id     *fileID
	origin string
}

// Closure is everything ld.so loads at startup for a program.
type Closure struct {
	// Main is the executable.
	Main *Object
	// Interp is the PT_INTERP interpreter, nil for a static program.
	Interp *Object
	// Objects are the interpreter and all libraries, in ld.so's load
	// order (breadth first; the interpreter where first needed, else
	// last) — the order `ldd` prints them. Main is not included.
	Objects []*Object
}

// NotFoundError is returned when a needed object cannot be found.
type NotFoundError struct {
	Name     string   // the needed name
	NeededBy string   // Path of the object that needs it
	Searched []string // where it was looked for, e.g. "RUNPATH [/opt/lib]"
	// OtherClass lists candidates skipped because they are of another ELF
	// class or machine.
	OtherClass []string
}

func (e *NotFoundError) Error() string {
	var where string
	switch n := len(e.Searched); n {
	case 0:
		where = "not found (no search path)"
	case 1:
		where = "not found in " + e.Searched[0]
	default:
		where = "not found in " + strings.Join(e.Searched[:n-1], ", ") + " or " + e.Searched[n-1]
	}
	if strings.Contains(e.Name, "/") {
		where = "not found"
	}
	s := fmt.Sprintf("%s (needed by %s): %s", e.Name, e.NeededBy, where)
	if len(e.OtherClass) > 0 {
		s += " (skipped, wrong ELF class or machine: " + strings.Join(e.OtherClass, " ") + ")"
	}
	return s
}

type resolver struct {
	opt      Options
	cwd      string
	cache    *Cache
	llp      []string // LD_LIBRARY_PATH directories
	subdirs  []string // "glibc-hwcaps/NAME/" prefixes, then ""
	defaults []string
	main     *Object
	loaded   []*Object // every object ld.so knows, main first
}

// newResolver applies the defaults of opt.
func newResolver(opt Options) (*resolver, error) {
	r := &resolver{opt: opt}
	if r.opt.Platform == "" {
		r.opt.Platform = DefaultPlatform
	}
	if r.opt.Lib == "" {
		r.opt.Lib = DefaultLib
	}
	r.defaults = DefaultDirs
	if opt.DefaultDirs != nil {
		r.defaults = nil
		for _, d := range opt.DefaultDirs {
			r.defaults = append(r.defaults, cleanDir(d, "/"))
		}
	}
	for _, h := range opt.HWCaps {
		r.subdirs = append(r.subdirs, "glibc-hwcaps/"+h+"/")
	}
	r.subdirs = append(r.subdirs, "")
	r.cwd = opt.Cwd
	if r.cwd == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		r.cwd = wd
	}
	return r, nil
}

// searchSetup reads LD_LIBRARY_PATH (expanded for main) and the ld.so
// cache, once the main object is known.
func (r *resolver) searchSetup(main *Object) {
	r.main = main
	r.llp = searchDirs(r.opt.LibraryPath, ":;", r.dst(main), r.cwd)
	if !r.opt.NoCache {
		name := r.opt.Cache
		if name == "" {
			name = DefaultCache
		}
		r.cache, _ = ReadCache(name) // ld.so ignores a missing or bad cache
	}
}

// Resolve finds the interpreter and all shared libraries that exe needs.
// A statically linked exe gives a closure with only Main.
func Resolve(exe string, opt Options) (*Closure, error) {
	r, err := newResolver(opt)
	if err != nil {
		return nil, err
	}
	path := exe
	if !strings.HasPrefix(path, "/") {
		path = filepath.Join(r.cwd, path)
	}
	main, interpPath, err := r.openMain(exe, path)
	if err != nil {
		return nil, err
	}
	r.main = main
	c := &Closure{Main: main}
	if interpPath == "" {
		return c, nil
	}
	r.searchSetup(main)

	ip := interpPath
	if !strings.HasPrefix(ip, "/") {
		ip = joinPath(r.cwd, ip)
	}
	d, id, err := openVerify(ip)
	switch {
	case errors.Is(err, errAbsent):
		return nil, fmt.Errorf("interpreter %s (PT_INTERP of %s): no such file", interpPath, main.Path)
	case errors.Is(err, errOtherClass):
		return nil, fmt.Errorf("interpreter %s (PT_INTERP of %s): not an x86-64 ELF64 file", interpPath, main.Path)
	case err != nil:
		return nil, fmt.Errorf("interpreter %s (PT_INTERP of %s): %w", interpPath, main.Path, err)
	}
	interp, err := newObject(interpPath, ip, SourceInterp, nil, d, id)
	if err != nil {
		return nil, err
	}
	c.Interp = interp
	r.loaded = []*Object{main, interp}

	queue, err := r.deps(main)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(queue, interp) {
		queue = append(queue, interp)
	}
	c.Objects = queue[1:]
	return c, nil
}

// deps loads the dependencies of main breadth-first, as
// _dl_map_object_deps, and returns main followed by every object it
// loaded, in load order.
func (r *resolver) deps(main *Object) ([]*Object, error) {
	queue := []*Object{main}
	queued := map[*Object]bool{main: true}
	for i := 0; i < len(queue); i++ {
		o := queue[i]
		for _, dep := range o.dyn.deps {
			n, err := r.load(dep.name, o)
			if err != nil {
				if dep.optional {
					continue // DT_AUXILIARY: errors are ignored
				}
				return nil, err
			}
			o.Deps = append(o.Deps, n)
			if !queued[n] {
				queued[n] = true
				queue = append(queue, n)
			}
		}
	}
	return queue, nil
}

// ResolveShared finds the shared libraries that the shared object lib
// needs when a program loads it at run time with dlopen(3) by path, as
// Python loads its extension modules and Perl its XS modules: lib's
// DT_NEEDED objects, recursively, searched as Resolve searches (DT_RPATH of
// lib and of the objects it loads, LD_LIBRARY_PATH, DT_RUNPATH, the ld.so
// cache, the default directories). Main is lib itself (Source SourceMain,
// $ORIGIN its directory), Interp is nil, and Objects are the libraries in
// load order; libc.so.6's need for the interpreter is met by the file the
// search finds (the same file under another path, on a merged-/usr host).
//
// What a running program changes is not known here: the DT_RPATH of the
// program that calls dlopen is not searched, and a library the program has
// already loaded is not reused by its soname. For system modules, which
// find everything in the cache and the default directories, the result is
// the same.
func ResolveShared(lib string, opt Options) (*Closure, error) {
	r, err := newResolver(opt)
	if err != nil {
		return nil, err
	}
	p := lib
	if !strings.HasPrefix(p, "/") {
		p = filepath.Join(r.cwd, p)
	}
	d, id, err := openVerify(p)
	switch {
	case errors.Is(err, errAbsent):
		return nil, fmt.Errorf("%s: no such file", lib)
	case errors.Is(err, errOtherClass):
		return nil, fmt.Errorf("%s: not an x86-64 ELF64 file", lib)
	case err != nil:
		return nil, err
	case !d.hasDyn:
		return nil, fmt.Errorf("%s: object file has no dynamic section", lib)
	}
	main, err := newObject(lib, p, SourceMain, nil, d, id)
	if err != nil {
		return nil, err
	}
	r.searchSetup(main)
	r.loaded = []*Object{main}
	queue, err := r.deps(main)
	if err != nil {
		return nil, err
	}
	return &Closure{Main: main, Objects: queue[1:]}, nil
}

// openMain reads the executable: elfexec's checks (those of the gosv
// kernel), then its dynamic section.
func (r *resolver) openMain(name, path string) (*Object, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, "", err
	}
	if !fi.Mode().IsRegular() {
		return nil, "", fmt.Errorf("%s: not a regular file", name)
	}
	info, err := elfexec.Inspect(f, fi.Size())
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	var h elf.Header64
	if err := binary.Read(io.NewSectionReader(f, 0, 64), binary.LittleEndian, &h); err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	d, err := readDynamic(f, &h)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	d.typ = elf.Type(h.Type)
	main, err := newObject(name, path, SourceMain, nil, d, nil)
	if err != nil {
		return nil, "", err
	}
	main.Names = nil // ld.so's main map has no name to match
	main.origin = r.opt.Origin
	if main.origin == "" {
		main.origin = dirOf(main.RealPath)
	}
	return main, info.Interp, nil
}

func newObject(name, path string, src Source, loader *Object, d *dynInfo, id *fileID) (*Object, error) {
	real, links, dirs, err := walk(path)
	if err != nil {
		return nil, fmt.Errorf("%s: resolving symlinks: %w", path, unwrapPath(err))
	}
	o := &Object{
		Name:     name,
		Path:     path,
		RealPath: real,
		Links:    links,
		Dirs:     dirs,
		Soname:   d.soname,
		Needed:   d.needed,
		RPath:    d.rpath,
		RunPath:  d.runpath,
		Source:   src,
		Loader:   loader,
		dyn:      d,
		id:       id,
		origin:   dirOf(path),
	}
	o.addName(name)
	o.addName(path)
	return o, nil
}

func (o *Object) addName(n string) {
	for _, x := range o.Names {
		if x == n {
			return
		}
	}
	o.Names = append(o.Names, n)
}

func (o *Object) hasName(n string) bool {
	for _, x := range o.Names {
		if x == n {
			return true
		}
	}
	return false
}

func (r *resolver) dst(o *Object) dstValues {
	return dstValues{origin: o.origin, platform: r.opt.Platform, lib: r.opt.Lib}
}

// load returns the object for a name needed by loader, as _dl_map_object.
func (r *resolver) load(name string, loader *Object) (*Object, error) {
	name = expandDST(name, r.dst(loader))
	for _, o := range r.loaded {
		if o.hasName(name) {
			return o, nil
		}
		if o.Soname != "" && o.Soname == name {
			o.addName(name)
			return o, nil
		}
	}
	nf := &NotFoundError{Name: name, NeededBy: loader.Path}
	if strings.Contains(name, "/") {
		p := name
		if !strings.HasPrefix(p, "/") {
			p = joinPath(r.cwd, p)
		}
		d, id, err := openVerify(p)
		switch {
		case errors.Is(err, errOtherClass):
			nf.OtherClass = append(nf.OtherClass, p)
			return nil, nf
		case errors.Is(err, errAbsent):
			return nil, nf
		case err != nil:
			return nil, fmt.Errorf("%s (needed by %s): %w", name, loader.Path, err)
		}
		return r.add(name, p, SourcePath, loader, d, id)
	}

	try := func(dirs []string, src Source) (*Object, bool, error) {
		for _, dir := range dirs {
			for _, sub := range r.subdirs {
				p := joinPath(dir, sub+name)
				d, id, err := openVerify(p)
				switch {
				case errors.Is(err, errAbsent):
					continue
				case errors.Is(err, errOtherClass):
					nf.OtherClass = append(nf.OtherClass, p)
					continue
				case err != nil:
					return nil, true, fmt.Errorf("%s (needed by %s): %w", name, loader.Path, err)
				}
				o, err := r.add(name, p, src, loader, d, id)
				return o, true, err
			}
		}
		return nil, false, nil
	}

	// 1. DT_RPATH of the loader chain, unless the loader has DT_RUNPATH.
	if !loader.dyn.hasRun {
		didMain := false
		for l := loader; l != nil; l = l.Loader {
			if !l.dyn.hasRpath {
				continue
			}
			dirs := searchDirs(l.dyn.rpath, ":", r.dst(l), r.cwd)
			nf.Searched = append(nf.Searched, fmt.Sprintf("RPATH of %s %v", l.Path, dirs))
			if o, done, err := try(dirs, SourceRPath); done {
				return o, err
			}
			didMain = didMain || l == r.main
		}
		if m := r.main; !didMain && m.dyn.hasRpath {
			dirs := searchDirs(m.dyn.rpath, ":", r.dst(m), r.cwd)
			nf.Searched = append(nf.Searched, fmt.Sprintf("RPATH of %s %v", m.Path, dirs))
			if o, done, err := try(dirs, SourceRPath); done {
				return o, err
			}
		}
	}
	// 2. LD_LIBRARY_PATH.
	if len(r.llp) > 0 {
		nf.Searched = append(nf.Searched, fmt.Sprintf("LD_LIBRARY_PATH %v", r.llp))
		if o, done, err := try(r.llp, SourceLibraryPath); done {
			return o, err
		}
	}
	// 3. DT_RUNPATH of the loader only.
	if loader.dyn.hasRun {
		dirs := searchDirs(loader.dyn.runpath, ":", r.dst(loader), r.cwd)
		nf.Searched = append(nf.Searched, fmt.Sprintf("RUNPATH %v", dirs))
		if o, done, err := try(dirs, SourceRunPath); done {
			return o, err
		}
	}
	nodeflib := loader.dyn.flags1&df1NoDefLib != 0
	// 4. The ld.so cache.
	if !r.opt.NoCache {
		nf.Searched = append(nf.Searched, "ld.so.cache")
		if p := r.cache.Lookup(name, r.opt.HWCaps); p != "" && !(nodeflib && r.inDefaultDir(p)) {
			d, id, err := openVerify(p)
			switch {
			case errors.Is(err, errAbsent):
			case errors.Is(err, errOtherClass):
				nf.OtherClass = append(nf.OtherClass, p)
			case err != nil:
				return nil, fmt.Errorf("%s (needed by %s): %w", name, loader.Path, err)
			default:
				o, err := r.add(name, p, SourceCache, loader, d, id)
				if err == nil && o.Source == SourceCache && !r.defaultCandidate(name, p) {
					o.NeedsCache = true
				}
				return o, err
			}
		}
	}
	// 5. The default directories.
	if !nodeflib {
		nf.Searched = append(nf.Searched, "default directories")
		if o, done, err := try(r.defaults, SourceDefault); done {
			return o, err
		}
	}
	return nil, nf
}

// defaultCandidate reports whether p is a path the default directory search
// for name tries (dir/name or dir/glibc-hwcaps/X/name).
func (r *resolver) defaultCandidate(name, p string) bool {
	for _, d := range r.defaults {
		for _, sub := range r.subdirs {
			if p == joinPath(d, sub+name) {
				return true
			}
		}
	}
	return false
}

func (r *resolver) inDefaultDir(p string) bool {
	for _, d := range r.defaults {
		if strings.HasPrefix(p, strings.TrimSuffix(d, "/")+"/") {
			return true
		}
	}
	return false
}

// add registers a found file, unless it is already loaded under another
// name (same file), as _dl_map_object_from_fd.
func (r *resolver) add(name, path string, src Source, loader *Object, d *dynInfo, id *fileID) (*Object, error) {
	for _, o := range r.loaded {
		if o.id != nil && id != nil && *o.id == *id {
			o.addName(name)
			return o, nil
		}
	}
	fail := func(msg string) error {
		return fmt.Errorf("%s (needed by %s): %s: %s", name, loader.Path, path, msg)
	}
	switch {
	case d.typ == elf.ET_EXEC:
		return nil, fail("cannot dynamically load executable")
	case d.flags1&df1PIE != 0:
		return nil, fail("cannot dynamically load position-independent executable")
	case !d.hasDyn:
		return nil, fail("object file has no dynamic section")
	}
	o, err := newObject(name, path, src, loader, d, id)
	if err != nil {
		return nil, err
	}
	r.loaded = append(r.loaded, o)
	return o, nil
}

// NeedsCache reports whether some object was found only through the ld.so
// cache (Object.NeedsCache): the guest then needs the host's ld.so cache.
func (c *Closure) NeedsCache() bool {
	for _, o := range c.Objects {
		if o.NeedsCache {
			return true
		}
	}
	return false
}

// Paths returns the Path of every object of the closure (Main excluded),
// in load order.
func (c *Closure) Paths() []string {
	var out []string
	for _, o := range c.Objects {
		out = append(out, o.Path)
	}
	return out
}
