// Package initrd writes the initial RAM filesystem that carries an
// application's files into the guest: a "newc" cpio archive (cpio(5), the
// Linux kernel's Documentation/driver-api/early-userspace/buffer-format.rst)
// that the kernel unpacks into its in-memory root filesystem.
package initrd

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/cavaliergopher/cpio"
)

// Entry is one file of the guest's root filesystem.
type Entry struct {
	// GuestPath is the absolute or root-relative path in the guest.
	GuestPath string
	// HostPath is the host file whose contents a regular file gets (symlinks
	// on the host are followed). For a directory it is optional and only
	// supplies the mode when Mode is 0.
	HostPath string
	// Mode holds the permission bits (fs.ModePerm, fs.ModeSetuid,
	// fs.ModeSetgid, fs.ModeSticky); type bits are ignored. 0 means: the
	// host file's permissions for a regular file (or a directory with a
	// HostPath), 0755 for a directory, 0777 for a symlink.
	Mode fs.FileMode
	// Symlink, when not empty, makes the entry a symbolic link with this
	// target.
	Symlink string
	// Dir makes the entry a directory.
	Dir bool
}

// maxSize is the largest file a newc header can describe.
const maxSize = 1<<32 - 1

// Write writes entries to w as a newc cpio archive, ending with the
// TRAILER!!! entry. Entries are sorted by guest path, and every parent
// directory that is not itself an entry is emitted once (mode 0755) before
// its first child, so a directory always precedes its contents. All owners
// are root and all mtimes 0, and inode numbers are assigned in order, so the
// same entries and host files always give the same bytes. File contents are
// streamed from the host files. Errors name the host path (or the guest
// path when there is no host file).
func Write(w io.Writer, entries []Entry) error {
	type item struct {
		name string // clean, relative, non-empty
		e    Entry
	}
	items := make([]item, 0, len(entries))
	seen := map[string]bool{}
	for _, e := range entries {
		name := cleanName(e.GuestPath)
		if strings.IndexByte(e.GuestPath, 0) >= 0 {
			return fmt.Errorf("initrd: %q: NUL in guest path", e.GuestPath)
		}
		if name == "" {
			if e.Dir {
				continue // the root exists in the guest
			}
			return fmt.Errorf("initrd: %q: the root must be a directory", e.GuestPath)
		}
		if len(name) >= 4095 {
			return fmt.Errorf("initrd: %s: guest path too long", e.GuestPath)
		}
		if seen[name] {
			return fmt.Errorf("initrd: %s: duplicate guest path", "/"+name)
		}
		seen[name] = true
		items = append(items, item{name, e})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].name < items[j].name })

	isDir := map[string]bool{} // emitted directories
	kind := map[string]string{}
	for _, it := range items {
		kind[it.name] = "file"
		if it.e.Dir {
			kind[it.name] = "dir"
		}
	}
	cw := cpio.NewWriter(w)
	var ino int64
	writeHeader := func(h *cpio.Header) error {
		ino++
		h.Inode = ino
		return cw.WriteHeader(h)
	}
	for _, it := range items {
		// Parents first, each once.
		for i := 0; i < len(it.name); i++ {
			if it.name[i] != '/' {
				continue
			}
			dir := it.name[:i]
			if isDir[dir] {
				continue
			}
			if kind[dir] == "file" {
				return fmt.Errorf("initrd: %s: parent %s is not a directory", "/"+it.name, "/"+dir)
			}
			if kind[dir] == "dir" {
				continue // an explicit entry, emitted earlier (sorted first)
			}
			if err := writeHeader(&cpio.Header{Name: dir, Mode: cpio.TypeDir | 0o755, Links: 2}); err != nil {
				return fmt.Errorf("initrd: writing %s: %w", "/"+dir, err)
			}
			isDir[dir] = true
		}
		if err := writeEntry(cw, writeHeader, it.name, it.e); err != nil {
			return err
		}
		if it.e.Dir {
			isDir[it.name] = true
		}
	}
	if err := cw.Close(); err != nil {
		return fmt.Errorf("initrd: writing trailer: %w", err)
	}
	return nil
}

// cleanName turns a guest path into an archive name: clean, without a
// leading slash, "" for the root.
func cleanName(p string) string {
	return strings.TrimPrefix(path.Clean("/"+p), "/")
}

func cpioPerm(m fs.FileMode) cpio.FileMode {
	p := cpio.FileMode(m.Perm())
	if m&fs.ModeSetuid != 0 {
		p |= cpio.ModeSetuid
	}
	if m&fs.ModeSetgid != 0 {
		p |= cpio.ModeSetgid
	}
	if m&fs.ModeSticky != 0 {
		p |= cpio.ModeSticky
	}
	return p
}

// hostErr names the host path in an error from the os package.
func hostErr(hostPath string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return fmt.Errorf("initrd: %s: %w", hostPath, err)
}

func writeEntry(cw *cpio.Writer, writeHeader func(*cpio.Header) error, name string, e Entry) error {
	guest := "/" + name
	wrap := func(err error) error { return fmt.Errorf("initrd: writing %s: %w", guest, err) }
	switch {
	case e.Dir:
		mode := cpioPerm(e.Mode)
		if e.Mode == 0 {
			mode = 0o755
			if e.HostPath != "" {
				fi, err := os.Stat(e.HostPath)
				if err != nil {
					return hostErr(e.HostPath, err)
				}
				if !fi.IsDir() {
					return fmt.Errorf("initrd: %s: not a directory", e.HostPath)
				}
				mode = cpioPerm(fi.Mode())
			}
		}
		if err := writeHeader(&cpio.Header{Name: name, Mode: cpio.TypeDir | mode, Links: 2}); err != nil {
			return wrap(err)
		}
		return nil
	case e.Symlink != "":
		mode := cpioPerm(e.Mode)
		if e.Mode == 0 {
			mode = 0o777
		}
		if len(e.Symlink) >= 4096 {
			return fmt.Errorf("initrd: %s: symlink target too long", guest)
		}
		h := &cpio.Header{Name: name, Mode: cpio.TypeSymlink | mode, Links: 1, Size: int64(len(e.Symlink))}
		if err := writeHeader(h); err != nil {
			return wrap(err)
		}
		if _, err := io.WriteString(cw, e.Symlink); err != nil {
			return wrap(err)
		}
		return nil
	}
	if e.HostPath == "" {
		return fmt.Errorf("initrd: %s: no host file", guest)
	}
	f, err := os.Open(e.HostPath)
	if err != nil {
		return hostErr(e.HostPath, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return hostErr(e.HostPath, err)
	}
	if fi.IsDir() {
		return fmt.Errorf("initrd: %s: is a directory", e.HostPath)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("initrd: %s: not a regular file (%v)", e.HostPath, fi.Mode().Type())
	}
	if fi.Size() > maxSize {
		return fmt.Errorf("initrd: %s: %d bytes is too large for a newc archive", e.HostPath, fi.Size())
	}
	mode := cpioPerm(e.Mode)
	if e.Mode == 0 {
		mode = cpioPerm(fi.Mode())
	}
	h := &cpio.Header{Name: name, Mode: cpio.TypeReg | mode, Links: 1, Size: fi.Size()}
	if err := writeHeader(h); err != nil {
		return wrap(err)
	}
	src := &errReader{r: f}
	n, err := io.CopyN(cw, src, fi.Size())
	switch {
	case src.err != nil && src.err != io.EOF:
		return hostErr(e.HostPath, src.err)
	case err == io.EOF:
		return fmt.Errorf("initrd: %s: file shrank while reading (%d of %d bytes)", e.HostPath, n, fi.Size())
	case err != nil:
		return wrap(err)
	}
	return nil
}

// errReader remembers the error of the reader, to tell read errors (of the
// host file) from write errors (of the archive) after io.Copy.
type errReader struct {
	r   io.Reader
	err error
}

func (r *errReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err != nil {
		r.err = err
	}
	return n, err
}
