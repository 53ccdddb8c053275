package image

// Saved images (gosv build, gosv run IMAGE); the format is described in
// the package documentation.

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gosv/gosv/internal/cmdline"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Names of an image's files.
const (
	MetaFile    = "gosv-image.json"
	CmdlineFile = "cmdline"
	KernelFile  = "kernel.elf"
	InitrdFile  = "initrd.cpio"
)

// FormatVersion is the version of the image format written by Save.
const FormatVersion = 1

// Meta is the contents of gosv-image.json.
type Meta struct {
	// Version is FormatVersion.
	Version int `json:"version"`
	// Memory and CPUs are the VM's defaults (gosv run's -m and -c
	// override them), e.g. "128M" and 1.
	Memory string `json:"memory"`
	CPUs   int    `json:"cpus"`
	// Net and Ports are the default network (gosv run's --net and -p, in
	// their syntax; one port per entry, ranges expanded).
	Net   string   `json:"net,omitempty"`
	Ports []string `json:"ports,omitempty"`
	// App is the guest path of the app's executable ("" without one).
	App string `json:"app,omitempty"`
	// Runtime names the language runtime whose files were added.
	Runtime string `json:"runtime,omitempty"`
	// Files and Bytes count the initrd's regular files and their bytes.
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// CreatedBy names the gosv that wrote the image ("gosv v0.1.0").
	CreatedBy string `json:"created_by,omitempty"`
}

// Saved is what Save writes: the host files of the kernel and the initrd,
// the kernel command line (quoted, one string) and the description.
type Saved struct {
	Kernel  string
	Initrd  string // "" for an image without files
	Cmdline string
	Meta    Meta
}

// SavesAsTar reports whether Save writes out as a tar archive: when out
// ends in ".tar" or names anything but an existing directory, and does not
// end in "/".
func SavesAsTar(out string) bool {
	if strings.HasSuffix(out, ".tar") {
		return true
	}
	if strings.HasSuffix(out, "/") {
		return false
	}
	fi, err := os.Stat(out)
	return err != nil || !fi.IsDir()
}

// Save writes the image s to out (see SavesAsTar): a directory is created
// if needed and may already hold an image, which is replaced, but nothing
// else; a tar file is replaced. Files are written under temporary names
// and renamed into place.
func Save(out string, s Saved) error {
	if out == "" {
		return errors.New("no output path")
	}
	if strings.ContainsRune(s.Cmdline, 0) {
		return errors.New("the kernel command line contains a NUL byte")
	}
	meta, err := json.MarshalIndent(s.Meta, "", "  ")
	if err != nil {
		return err
	}
	meta = append(meta, '\n')
	cmdline := []byte(s.Cmdline + "\n")
	if SavesAsTar(out) {
		return saveTar(out, meta, cmdline, s)
	}
	return saveDir(out, meta, cmdline, s)
}

func saveDir(dir string, meta, cmdline []byte, s Saved) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := checkDir(dir, s.Initrd); err != nil {
		return err
	}
	write := func(name string, src io.Reader, mode fs.FileMode) error {
		f, err := os.CreateTemp(dir, "."+name+".tmp-*")
		if err != nil {
			return err
		}
		_, err = io.Copy(f, src)
		if err == nil {
			err = f.Chmod(mode)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(f.Name(), filepath.Join(dir, name))
		}
		if err != nil {
			os.Remove(f.Name())
			return fmt.Errorf("writing %s: %w", filepath.Join(dir, name), err)
		}
		return nil
	}
	copyFile := func(name, host string, mode fs.FileMode) error {
		f, err := os.Open(host)
		if err != nil {
			return err
		}
		defer f.Close()
		return write(name, f, mode)
	}
	if err := copyFile(KernelFile, s.Kernel, 0o755); err != nil {
		return err
	}
	switch {
	case s.Initrd != "" && sameDir(filepath.Dir(s.Initrd), dir):
		// Build wrote it here: move it into place.
		if err := os.Chmod(s.Initrd, 0o644); err != nil {
			return err
		}
		if err := os.Rename(s.Initrd, filepath.Join(dir, InitrdFile)); err != nil {
			return err
		}
	case s.Initrd != "":
		if err := copyFile(InitrdFile, s.Initrd, 0o644); err != nil {
			return err
		}
	default:
		if err := os.Remove(filepath.Join(dir, InitrdFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	if err := write(CmdlineFile, strings.NewReader(string(cmdline)), 0o644); err != nil {
		return err
	}
	// The marker last: an interrupted save leaves no image that looks whole.
	return write(MetaFile, strings.NewReader(string(meta)), 0o644)
}

// CheckOutput reports a problem with out as the destination of Save
// before an image is built: a directory that is neither empty nor an image.
func CheckOutput(out string) error {
	if SavesAsTar(out) {
		if fi, err := os.Stat(out); err == nil && !fi.Mode().IsRegular() {
			return fmt.Errorf("%s: not a regular file", out)
		}
		return nil
	}
	return checkDir(out, "")
}

// checkDir refuses a directory that holds files (other than the file
// except) but no image.
func checkDir(dir, except string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if e.Name() == MetaFile {
			return nil
		}
	}
	for _, e := range ents {
		if except == "" || !sameDir(filepath.Dir(except), dir) || e.Name() != filepath.Base(except) {
			return fmt.Errorf("%s: the directory is not empty and holds no gosv image (no %s)", dir, MetaFile)
		}
	}
	return nil
}

// sameDir reports whether a and b name the same directory.
func sameDir(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

func saveTar(out string, meta, cmdline []byte, s Saved) (err error) {
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	tw := tar.NewWriter(f)
	hdr := func(name string, size int64, mode int64) *tar.Header {
		return &tar.Header{Name: name, Size: size, Mode: mode, ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
	}
	for _, m := range []struct {
		name string
		data []byte
	}{{MetaFile, meta}, {CmdlineFile, cmdline}} {
		if err := tw.WriteHeader(hdr(m.name, int64(len(m.data)), 0o644)); err != nil {
			return err
		}
		if _, err := tw.Write(m.data); err != nil {
			return err
		}
	}
	addFile := func(name, host string, mode int64) error {
		hf, err := os.Open(host)
		if err != nil {
			return err
		}
		defer hf.Close()
		fi, err := hf.Stat()
		if err != nil {
			return err
		}
		if err := tw.WriteHeader(hdr(name, fi.Size(), mode)); err != nil {
			return fmt.Errorf("%s: %w", host, err)
		}
		if _, err := io.CopyN(tw, hf, fi.Size()); err != nil {
			return fmt.Errorf("%s: %w", host, err)
		}
		return nil
	}
	if err := addFile(KernelFile, s.Kernel, 0o755); err != nil {
		return err
	}
	if s.Initrd != "" {
		if err := addFile(InitrdFile, s.Initrd, 0o644); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), out)
}

// IsSaved reports whether p is an image that Save wrote: a directory
// holding gosv-image.json, or a tar archive whose first member is
// gosv-image.json.
func IsSaved(p string) bool {
	fi, err := os.Stat(p)
	if err != nil {
		return false
	}
	if fi.IsDir() {
		mi, err := os.Stat(filepath.Join(p, MetaFile))
		return err == nil && mi.Mode().IsRegular()
	}
	if !fi.Mode().IsRegular() {
		return false
	}
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	h, err := tar.NewReader(f).Next()
	return err == nil && tarName(h.Name) == MetaFile
}

func tarName(n string) string { return strings.TrimPrefix(n, "./") }

// Loaded is an image read by Load.
type Loaded struct {
	Meta Meta
	// Kernel and Initrd are host files ("" Initrd: none); for a tar they
	// are temporary files that Close removes.
	Kernel, Initrd string
	// Cmdline is the contents of the cmdline file without its final
	// newline.
	Cmdline string
	tmp     string
}

// Close removes the temporary files of an image loaded from a tar.
func (l *Loaded) Close() error {
	if l == nil || l.tmp == "" {
		return nil
	}
	return os.RemoveAll(l.tmp)
}

// maxSmall bounds gosv-image.json and cmdline.
const maxSmall = 1 << 20

// Load reads the image at p (a directory or tar that IsSaved accepts). A
// tar's kernel and initrd are extracted into a new directory in tmpDir
// ("" for os.TempDir()); the caller calls Close.
func Load(p, tmpDir string) (*Loaded, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	l := &Loaded{}
	var meta, cmdline []byte
	if fi.IsDir() {
		if meta, err = readSmall(filepath.Join(p, MetaFile)); err != nil {
			return nil, err
		}
		if cmdline, err = readSmall(filepath.Join(p, CmdlineFile)); err != nil {
			return nil, err
		}
		l.Kernel = filepath.Join(p, KernelFile)
		if _, err := os.Stat(l.Kernel); err != nil {
			return nil, fmt.Errorf("image %s: %w", p, err)
		}
		l.Initrd = filepath.Join(p, InitrdFile)
		if _, err := os.Stat(l.Initrd); errors.Is(err, fs.ErrNotExist) {
			l.Initrd = ""
		} else if err != nil {
			return nil, fmt.Errorf("image %s: %w", p, err)
		}
	} else {
		if meta, cmdline, err = l.extract(p, tmpDir); err != nil {
			l.Close()
			return nil, err
		}
	}
	if err := json.Unmarshal(meta, &l.Meta); err != nil {
		l.Close()
		return nil, fmt.Errorf("image %s: %s: %w", p, MetaFile, err)
	}
	switch v := l.Meta.Version; {
	case v < 1:
		l.Close()
		return nil, fmt.Errorf("image %s: %s has no format version", p, MetaFile)
	case v > FormatVersion:
		l.Close()
		return nil, fmt.Errorf("image %s: format version %d is newer than this gosv reads (%d)", p, v, FormatVersion)
	}
	l.Cmdline = strings.TrimSuffix(string(cmdline), "\n")
	return l, nil
}

func readSmall(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSmall+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxSmall {
		return nil, fmt.Errorf("%s: larger than %d bytes", p, maxSmall)
	}
	return b, nil
}

// extract reads the tar p: the small files into memory, the kernel and
// the initrd into a temporary directory.
func (l *Loaded) extract(p, tmpDir string) (meta, cmdline []byte, err error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	l.tmp, err = os.MkdirTemp(tmpDir, "gosv-image-*")
	if err != nil {
		return nil, nil, err
	}
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("image %s: %w", p, err)
		}
		name := tarName(h.Name)
		if h.Typeflag != tar.TypeReg {
			continue
		}
		switch name {
		case MetaFile, CmdlineFile:
			if h.Size > maxSmall {
				return nil, nil, fmt.Errorf("image %s: %s: larger than %d bytes", p, name, maxSmall)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				return nil, nil, fmt.Errorf("image %s: %w", p, err)
			}
			if name == MetaFile {
				meta = b
			} else {
				cmdline = b
			}
		case KernelFile, InitrdFile:
			dst := filepath.Join(l.tmp, name)
			out, err := os.Create(dst)
			if err != nil {
				return nil, nil, err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return nil, nil, fmt.Errorf("image %s: extracting %s: %w", p, name, err)
			}
			if name == KernelFile {
				l.Kernel = dst
			} else {
				l.Initrd = dst
			}
		}
	}
	for _, m := range []struct {
		name string
		ok   bool
	}{{MetaFile, meta != nil}, {CmdlineFile, cmdline != nil}, {KernelFile, l.Kernel != ""}} {
		if !m.ok {
			return nil, nil, fmt.Errorf("image %s: no %s in the archive", p, m.name)
		}
	}
	return meta, cmdline, nil
}

// SplitCmdline splits a kernel command line into words as the gosv kernel
// does (cmdline.Split).
func SplitCmdline(s string) ([]string, error) { return cmdline.Split(s) }

// EditCmdline changes the words of a kernel command line (loader options,
// each starting with "--", up to a lone "--" or the first other word; then
// the app's path and arguments): first goes before the loader options,
// extra after them, and args, when replace is set, replaces the app's
// arguments. Replacing the arguments of a command line without an app is
// an error.
func EditCmdline(words, first, extra, args []string, replace bool) ([]string, error) {
	i := 0
	for i < len(words) && words[i] != "--" && strings.HasPrefix(words[i], "--") {
		i++
	}
	app := i
	if app < len(words) && words[app] == "--" {
		app++
	}
	if replace && app >= len(words) {
		return nil, errors.New("the image has no app whose arguments ARGS could replace")
	}
	out := append([]string{}, first...)
	out = append(out, words[:i]...)
	out = append(out, extra...)
	if !replace {
		return append(out, words[i:]...), nil
	}
	out = append(out, words[i:app+1]...)
	return append(out, args...), nil
}

// MemoryMiB is the default guest memory for an initrd of size bytes: 128
// MiB, or, when that is more, 64 MiB plus three times the initrd's size
// (the kernel holds the initrd and the unpacked files in memory, the files
// in its garbage-collected heap) rounded up to 64 MiB. A 36 MiB Python
// image gets 192 MiB; it boots in 128 MiB but not in 96.
func MemoryMiB(size int64) int {
	mib := 64 + 3*int((size+(1<<20)-1)>>20)
	mib = (mib + 63) &^ 63
	return max(mib, 128)
}
