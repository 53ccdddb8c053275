// Package ext4img makes the read-only root disk image of an app: an ext4
// filesystem holding the same files as the initrd (the []initrd.Entry list
// package image builds), written with e2fsprogs' mke2fs -d and finished
// with debugfs and e2fsck, reproducibly: the same entries and host files
// give the same bytes.
//
// What makes it reproducible:
//   - mke2fs reads its settings from a profile written here (not the
//     host's /etc/mke2fs.conf): 4 KiB blocks, 256-byte inodes, the
//     features of Debian 12's ext4 without the journal and resize inode
//     (the disk is read-only);
//   - the UUID (-U) and the directory hash seed (-E hash_seed) are fixed,
//     and root_owner=0:0;
//   - E2FSPROGS_FAKE_TIME and E2FSCK_TIME pin the clock of mke2fs, debugfs
//     and e2fsck (superblock times, lost+found, the root);
//   - mke2fs copies owners and times from the staging directory, whose
//     ctimes cannot be set, so debugfs then sets every file's owner to
//     root:root and all its times to the fixed time;
//   - e2fsck -fD then indexes the large directories (dir_index htrees).
//
// mke2fs 1.47 adds the files of the staging directory in name order, so
// the order in which they were created does not matter.
package ext4img

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/gosv/gosv/internal/host/initrd"
)

// DefaultUUID is the filesystem UUID (and hash seed) of images made
// without Options.UUID.
const DefaultUUID = "9a1f0c3e-6b2d-4e57-8c41-0d5b7e2a9f10"

// DefaultTime is the time every inode, and the superblock, gets by
// default: the Unix epoch plus one second (e2fsprogs reads a fake time of
// 0 as "not set").
const DefaultTime = 1

// Options tune the image.
type Options struct {
	// UUID is the filesystem UUID, also used as the directory hash seed;
	// "" for DefaultUUID.
	UUID string
	// Label is the volume name (at most 16 bytes).
	Label string
	// Time is the timestamp (seconds since the epoch, > 0) of every inode
	// and of the superblock; 0 for $SOURCE_DATE_EPOCH when set, else
	// DefaultTime.
	Time int64
	// Size is the image size in bytes, rounded up to 1 MiB; 0 computes
	// one from the files with some room to spare.
	Size int64
	// TempDir holds the staging directory; "" for os.TempDir().
	TempDir string
}

// tool finds an e2fsprogs program in $PATH or /usr/sbin and /sbin (not in
// a user's $PATH on Debian).
func tool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("ext4img: %s not found: install e2fsprogs", name)
}

// profile is the mke2fs.conf the images are made with.
const profile = `[defaults]
	base_features = sparse_super,large_file,filetype,dir_index,ext_attr
	blocksize = 4096
	inode_size = 256
	inode_ratio = 16384

[fs_types]
	ext4 = {
		features = extent,64bit,flex_bg,huge_file,dir_nlink,extra_isize,metadata_csum
	}
`

const (
	blockSize = 4096
	inodeSize = 256
	mib       = 1 << 20
)

// Write makes the image file path from entries (as initrd.Write takes
// them: parents that are not entries are made mode 0755, a symlink's
// target is stored as it is, a regular file's contents come from its host
// file). The file is replaced if it exists.
func Write(imgPath string, entries []initrd.Entry, o Options) error {
	for _, t := range []string{"mke2fs", "debugfs", "e2fsck"} {
		if _, err := tool(t); err != nil {
			return err
		}
	}
	if o.UUID == "" {
		o.UUID = DefaultUUID
	}
	if o.Time == 0 {
		o.Time = DefaultTime
		if s := os.Getenv("SOURCE_DATE_EPOCH"); s != "" {
			t, err := strconv.ParseInt(s, 10, 64)
			if err != nil || t <= 0 {
				return fmt.Errorf("ext4img: SOURCE_DATE_EPOCH=%q is not a positive number of seconds", s)
			}
			o.Time = t
		}
	}
	if o.Time <= 0 || o.Time > 1<<32-1 {
		return fmt.Errorf("ext4img: time %d out of range", o.Time)
	}
	if len(o.Label) > 16 {
		return fmt.Errorf("ext4img: label %q longer than 16 bytes", o.Label)
	}
	work, err := os.MkdirTemp(o.TempDir, "gosv-ext4img-")
	if err != nil {
		return fmt.Errorf("ext4img: %w", err)
	}
	defer os.RemoveAll(work)
	stage := filepath.Join(work, "root")
	st, err := stageTree(stage, entries)
	if err != nil {
		return err
	}
	conf := filepath.Join(work, "mke2fs.conf")
	if err := os.WriteFile(conf, []byte(profile), 0o644); err != nil {
		return fmt.Errorf("ext4img: %w", err)
	}
	env := append(os.Environ(),
		"MKE2FS_CONFIG="+conf,
		"E2FSPROGS_FAKE_TIME="+strconv.FormatInt(o.Time, 10),
		"E2FSCK_TIME="+strconv.FormatInt(o.Time, 10),
		"E2FSCK_CONFIG=/dev/null",
		"LC_ALL=C", "TZ=UTC")

	inodes := st.inodes + 64
	size := o.Size
	if size == 0 {
		size = st.estimate(inodes)
	}
	size = (size + mib - 1) / mib * mib
	for attempt := 0; ; attempt++ {
		err = mkfs(imgPath, stage, size, inodes, o, env)
		if err == nil {
			break
		}
		// A computed size that turns out too small grows; a given one
		// does not.
		if o.Size != 0 || attempt == 3 || !errors.Is(err, errNoSpace) {
			os.Remove(imgPath)
			return err
		}
		size = (size*3/2 + mib - 1) / mib * mib
	}
	if err := fixup(imgPath, work, st.paths, o.Time, env); err != nil {
		os.Remove(imgPath)
		return err
	}
	return nil
}

var errNoSpace = errors.New("ext4img: image too small")

func mkfs(imgPath, stage string, size int64, inodes int, o Options, env []string) error {
	mke2fs, _ := tool("mke2fs")
	if err := os.Remove(imgPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("ext4img: %w", err)
	}
	args := []string{"-q", "-F", "-t", "ext4", "-T", "default",
		"-b", strconv.Itoa(blockSize), "-I", strconv.Itoa(inodeSize),
		"-N", strconv.Itoa(inodes), "-m", "0",
		"-O", "^has_journal,^resize_inode",
		"-U", o.UUID,
		"-E", "hash_seed=" + o.UUID + ",root_owner=0:0,nodiscard,lazy_itable_init=0",
		"-d", stage,
	}
	if o.Label != "" {
		args = append(args, "-L", o.Label)
	}
	args = append(args, imgPath, strconv.FormatInt(size/1024, 10)+"k")
	cmd := exec.Command(mke2fs, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if strings.Contains(msg, "Could not allocate block") || strings.Contains(msg, "No space left") ||
			strings.Contains(msg, "Could not allocate inode") || strings.Contains(msg, "Insufficient space") {
			return fmt.Errorf("%w: %s", errNoSpace, msg)
		}
		return fmt.Errorf("ext4img: mke2fs: %v: %s", err, msg)
	}
	return nil
}

// fixup sets owners and times with debugfs, then indexes directories and
// checks the result with e2fsck.
func fixup(imgPath, work string, paths []string, t int64, env []string) error {
	var b strings.Builder
	ts := strconv.FormatInt(t, 10)
	for _, p := range paths {
		q := quote(p)
		for _, f := range []string{"uid 0", "gid 0",
			"atime @" + ts, "mtime @" + ts, "ctime @" + ts, "crtime @" + ts,
			"atime_extra 0", "mtime_extra 0", "ctime_extra 0", "crtime_extra 0"} {
			fmt.Fprintf(&b, "sif %s %s\n", q, f)
		}
	}
	cmdFile := filepath.Join(work, "debugfs.cmd")
	if err := os.WriteFile(cmdFile, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("ext4img: %w", err)
	}
	debugfs, _ := tool("debugfs")
	cmd := exec.Command(debugfs, "-w", "-f", cmdFile, imgPath)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("ext4img: debugfs: %v: %s", err, strings.TrimSpace(string(out)))
	}
	// debugfs reports a failed command on its output, not in its status.
	for _, l := range strings.Split(string(out), "\n") {
		if l != "" && !strings.HasPrefix(l, "debugfs") {
			return fmt.Errorf("ext4img: debugfs: %s", l)
		}
	}
	e2fsck, _ := tool("e2fsck")
	cmd = exec.Command(e2fsck, "-fyD", imgPath)
	cmd.Env = env
	out, err = cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 1) { // 1: modified (indexed)
		return fmt.Errorf("ext4img: e2fsck -fyD: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// quote makes a debugfs argument of a path: in double quotes, a quote
// doubled.
func quote(p string) string {
	return `"` + strings.ReplaceAll(p, `"`, `""`) + `"`
}

type staged struct {
	paths  []string // guest paths of every inode, "/" first
	inodes int
	bytes  int64 // data blocks, in bytes
	dirs   int64 // bytes of directory entries
}

// estimate guesses an image size that holds the staged tree: data and
// directory blocks, inode tables, bitmaps and group descriptors, plus a
// tenth and 4 MiB to spare.
func (s *staged) estimate(inodes int) int64 {
	data := s.bytes + (s.dirs/blockSize+int64(s.inodes))*blockSize/4
	meta := int64(inodes)*inodeSize + data/(blockSize*8)*2*blockSize
	return data + meta + data/10 + 4*mib
}

// stageTree materialises entries under dir with their modes, as initrd
// would lay them out, and returns the guest paths (parents first).
func stageTree(dir string, entries []initrd.Entry) (*staged, error) {
	type item struct {
		name string
		e    initrd.Entry
	}
	items := make([]item, 0, len(entries))
	seen := map[string]bool{}
	for _, e := range entries {
		if strings.ContainsAny(e.GuestPath, "\x00\n\r") {
			return nil, fmt.Errorf("ext4img: %q: control characters in a guest path are not supported", e.GuestPath)
		}
		name := strings.TrimPrefix(path.Clean("/"+e.GuestPath), "/")
		if name == "" {
			if e.Dir {
				continue
			}
			return nil, fmt.Errorf("ext4img: %q: the root must be a directory", e.GuestPath)
		}
		if seen[name] {
			return nil, fmt.Errorf("ext4img: /%s: duplicate guest path", name)
		}
		seen[name] = true
		items = append(items, item{name, e})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].name < items[j].name })
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ext4img: %w", err)
	}
	st := &staged{paths: []string{"/"}, inodes: 1}
	made := map[string]bool{"": true}
	var dirModes []func() error // applied last: a read-only directory must still be filled
	addName := func(name string) {
		st.paths = append(st.paths, "/"+name)
		st.inodes++
		st.dirs += int64(8+len(path.Base(name))+3) &^ 3
	}
	mkdirs := func(name string) error {
		for i := 0; i < len(name); i++ {
			if name[i] != '/' || made[name[:i]] {
				continue
			}
			d := name[:i]
			if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
				return fmt.Errorf("ext4img: /%s: parent %s: %w", name, "/"+d, err)
			}
			made[d] = true
			addName(d)
		}
		return nil
	}
	for _, it := range items {
		if err := mkdirs(it.name); err != nil {
			return nil, err
		}
		p := filepath.Join(dir, it.name)
		e := it.e
		switch {
		case e.Dir:
			mode := e.Mode
			if mode == 0 {
				mode = 0o755
				if e.HostPath != "" {
					fi, err := os.Stat(e.HostPath)
					if err != nil {
						return nil, fmt.Errorf("ext4img: %w", err)
					}
					mode = fi.Mode()
				}
			}
			if made[it.name] {
				return nil, fmt.Errorf("ext4img: /%s: directory listed after its contents", it.name)
			}
			if err := os.Mkdir(p, 0o755); err != nil {
				return nil, fmt.Errorf("ext4img: /%s: %w", it.name, err)
			}
			made[it.name] = true
			addName(it.name)
			dirModes = append(dirModes, func() error { return chmod(p, mode) })
		case e.Symlink != "":
			if err := os.Symlink(e.Symlink, p); err != nil {
				return nil, fmt.Errorf("ext4img: /%s: %w", it.name, err)
			}
			addName(it.name)
			if len(e.Symlink) >= 60 {
				st.bytes += blockSize
			}
		default:
			if e.HostPath == "" {
				return nil, fmt.Errorf("ext4img: /%s: no host file", it.name)
			}
			n, err := copyFile(p, e.HostPath, e.Mode)
			if err != nil {
				return nil, err
			}
			addName(it.name)
			st.bytes += (n + blockSize - 1) / blockSize * blockSize
		}
	}
	for i := len(dirModes) - 1; i >= 0; i-- {
		if err := dirModes[i](); err != nil {
			return nil, err
		}
	}
	return st, nil
}

// chmod sets permission and setuid/setgid/sticky bits.
func chmod(p string, m fs.FileMode) error {
	if err := os.Chmod(p, m&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
		return fmt.Errorf("ext4img: %w", err)
	}
	return nil
}

// copyFile copies the regular host file src to dst with the given mode
// (the host file's when 0) and returns its size.
func copyFile(dst, src string, mode fs.FileMode) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, fmt.Errorf("ext4img: %w", err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return 0, fmt.Errorf("ext4img: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("ext4img: %s: not a regular file", src)
	}
	if mode == 0 {
		mode = fi.Mode()
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("ext4img: %w", err)
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("ext4img: copying %s: %w", src, err)
	}
	if n != fi.Size() {
		return 0, fmt.Errorf("ext4img: %s: changed while copying", src)
	}
	return n, chmod(dst, mode)
}

// Check runs e2fsck -fn on an image and returns its report as the error
// when it finds anything wrong.
func Check(imgPath string) error {
	e2fsck, err := tool("e2fsck")
	if err != nil {
		return err
	}
	cmd := exec.Command(e2fsck, "-fn", imgPath)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("ext4img: e2fsck -fn %s: %v\n%s", imgPath, err, out.String())
	}
	return nil
}
