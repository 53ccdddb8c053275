// Package image builds what the gosv kernel boots with to run one app: the
// initrd (a newc cpio archive, see package initrd) holding the executable
// and the files the user copies in, and the kernel command line.
//
// The executable is checked on the host before anything boots (Resolve):
// it must exist, be a regular file with execute permission, and be an
// x86-64 ELF executable that elfexec.Inspect accepts and that is statically
// linked. Problems are *ExecError values carrying the shell's exit status
// (127: no such file, 126: cannot be run).
//
// Nothing is read into memory whole: Inspect reads the ELF headers of the
// executable, and every file's contents are streamed once from the host
// file into the initrd file.
package image

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/gosv/gosv/internal/elfexec"
	"github.com/gosv/gosv/internal/host/initrd"
)

// Exit statuses of an *ExecError, as a POSIX shell uses them.
const (
	StatusNotFound      = 127 // the executable does not exist
	StatusNotExecutable = 126 // it exists but cannot be run
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

// ErrDynamic is the problem of an *ExecError for a dynamically linked
// executable (one with PT_INTERP), which gosv cannot run yet.
var ErrDynamic = errors.New("dynamic executables are not supported yet")

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
	// KernelArgs are kernel options put first on the command line.
	KernelArgs []string
	// Dir is where the initrd file is created; "" for os.TempDir().
	Dir string
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
	// GuestExe is its path in the guest: "/" + the base name of the path
	// the executable was found at, unless a Copy puts that same file
	// somewhere (then the first such place).
	GuestExe string
	// Info describes the executable (nil without one).
	Info *elfexec.Info
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
// removes the file (Image.Remove). Problems with the executable are
// *ExecError values; other errors (a bad Env entry, a missing copy source,
// two files for one guest path, a write failure) name the offending path.
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

	b := builder{taken: map[string]string{}, dirs: map[string]bool{}, exe: exeInfo}
	for _, c := range o.Copies {
		if err := b.addCopy(c); err != nil {
			return nil, err
		}
	}
	if im.HostExe != "" {
		im.GuestExe = b.exeGuest
		if im.GuestExe == "" {
			im.GuestExe = "/" + filepath.Base(im.HostExe)
			if err := b.add(initrd.Entry{GuestPath: im.GuestExe, HostPath: im.HostExe}, "the executable "+im.HostExe); err != nil {
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

	if len(b.entries) == 0 {
		return im, nil
	}
	f, err := os.CreateTemp(o.Dir, "gosv-initrd-*.cpio")
	if err != nil {
		return nil, fmt.Errorf("creating the initrd: %w", err)
	}
	w := bufio.NewWriterSize(f, bufferSize)
	err = initrd.Write(w, b.entries)
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
	im.Initrd = f.Name()
	return im, nil
}

// builder collects the initrd entries.
type builder struct {
	entries  []initrd.Entry
	taken    map[string]string // clean guest path -> what put a non-directory there
	dirs     map[string]bool   // clean guest paths of directory entries
	exe      fs.FileInfo       // the executable (nil without one)
	exeGuest string            // where a copy put the executable
}

// add appends e, refusing a second entry for a guest path unless both are
// directories (then the first one's mode counts).
func (b *builder) add(e initrd.Entry, from string) error {
	g := path.Clean("/" + e.GuestPath)
	if e.Dir && b.dirs[g] {
		return nil
	}
	if prev, ok := b.taken[g]; ok || b.dirs[g] {
		if !ok {
			prev = "a copied directory"
		}
		return fmt.Errorf("%s: guest path %s is already taken by %s", from, g, prev)
	}
	if e.Dir {
		b.dirs[g] = true
	} else {
		b.taken[g] = from
	}
	b.entries = append(b.entries, e)
	return nil
}

// isExe tells whether fi is the executable's file.
func (b *builder) isExe(fi fs.FileInfo) bool {
	return b.exe != nil && fi.Mode().IsRegular() && os.SameFile(fi, b.exe)
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
		if b.isExe(fi) && b.exeGuest == "" {
			b.exeGuest = guest
		}
		return b.add(initrd.Entry{GuestPath: guest, HostPath: c.HostPath}, from)
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
			if b.isExe(fi) && b.exeGuest == "" {
				b.exeGuest = g
			}
			e = initrd.Entry{GuestPath: g, HostPath: p}
		default:
			return fmt.Errorf("--copy %s: %s: not a regular file, directory or symbolic link (%s)", c, p, typeName(fi.Mode()))
		}
		return b.add(e, from)
	})
}

// copyErr names the copy and the host path in an error of the os package.
func copyErr(c Copy, hostPath string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("--copy %s: %s: %w", c, hostPath, err)
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
// dynamically linked (ErrDynamic) or without execute permission.
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
	case info.Type == elfexec.Dynamic:
		return fail(StatusNotExecutable, fmt.Errorf("dynamically linked (interpreter %s): %w", info.Interp, ErrDynamic))
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
