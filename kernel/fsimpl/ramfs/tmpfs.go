package ramfs

import (
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

// nextDev numbers the anonymous devices (major 0) of tmpfs instances;
// minors below 32 are left to the root filesystem and the kernel's other
// pseudo filesystems.
var nextDev atomic.Uint32

func init() { nextDev.Store(32) }

// TmpfsOptions are the options of a tmpfs mount (tmpfs(5)).
type TmpfsOptions struct {
	Size     int64  // bytes; 0: no limit
	Mode     uint32 // permission of the root directory
	UID, GID uint32
}

// ParseTmpfsOptions parses the data string of mount(2) for tmpfs:
// size=N[k|m|g|t|%] (% of memBytes), mode=octal, uid=, gid=, and
// nr_inodes, nr_blocks, huge, mpol, inode32, inode64, noswap, which are
// accepted and ignored (nr_blocks sets the size in pages). Unknown or
// malformed options give EINVAL.
func ParseTmpfsOptions(data string, memBytes int64) (TmpfsOptions, error) {
	o := TmpfsOptions{Mode: 0o1777}
	for _, opt := range strings.Split(data, ",") {
		if opt == "" {
			continue
		}
		key, val, hasVal := strings.Cut(opt, "=")
		switch key {
		case "size", "nr_blocks":
			if !hasVal {
				return o, unix.EINVAL
			}
			n, err := parseSize(val, memBytes)
			if err != nil {
				return o, err
			}
			if key == "nr_blocks" {
				n *= pageSize
			}
			o.Size = roundUp(n, pageSize)
		case "mode":
			m, err := strconv.ParseUint(val, 8, 32)
			if err != nil || m > 0o7777 {
				return o, unix.EINVAL
			}
			o.Mode = uint32(m)
		case "uid", "gid":
			n, err := strconv.ParseUint(val, 10, 32)
			if err != nil {
				return o, unix.EINVAL
			}
			if key == "uid" {
				o.UID = uint32(n)
			} else {
				o.GID = uint32(n)
			}
		case "nr_inodes", "huge", "mpol":
			if !hasVal {
				return o, unix.EINVAL
			}
		case "inode32", "inode64", "noswap", "rw", "ro", "defaults":
		default:
			return o, unix.EINVAL
		}
	}
	return o, nil
}

// parseSize parses a size with an optional k, m, g, t or p suffix, or a
// percentage of mem.
func parseSize(s string, mem int64) (int64, error) {
	if s == "" {
		return 0, unix.EINVAL
	}
	mul := int64(1)
	switch s[len(s)-1] {
	case 'k', 'K':
		mul = 1 << 10
	case 'm', 'M':
		mul = 1 << 20
	case 'g', 'G':
		mul = 1 << 30
	case 't', 'T':
		mul = 1 << 40
	case 'p', 'P':
		mul = 1 << 50
	case '%':
		n, err := strconv.ParseUint(s[:len(s)-1], 10, 32)
		if err != nil || n > 100 {
			return 0, unix.EINVAL
		}
		return mem / 100 * int64(n), nil
	}
	if mul != 1 {
		s = s[:len(s)-1]
	}
	n, err := strconv.ParseUint(s, 0, 63)
	if err != nil || int64(n) > (1<<62)/mul {
		return 0, unix.EINVAL
	}
	return int64(n) * mul, nil
}

// NewTmpfs returns the vfs.FSType of tmpfs: each mount is a new empty
// filesystem whose size defaults to half of memBytes (as tmpfs's), with
// its own anonymous device number.
func NewTmpfs(memBytes int64) vfs.FSType {
	return func(source string, flags uint64, data string) (vfs.Filesystem, error) {
		o, err := ParseTmpfsOptions(data, memBytes)
		if err != nil {
			return nil, err
		}
		fs := New("tmpfs", o.Mode)
		fs.SetDev(Mkdev(0, nextDev.Add(1)))
		fs.tmpfsMem = memBytes
		fs.root.uid, fs.root.gid = o.UID, o.GID
		fs.applyTmpfs(o, TmpfsOptions{Mode: 0o1777})
		return fs, nil
	}
}

// applyTmpfs sets the size limit and the /proc/mounts options of a tmpfs
// from o; fields of o left at their zero value keep those of old.
func (fs *FS) applyTmpfs(o, old TmpfsOptions) {
	if o.Size == 0 {
		o.Size = old.Size
	}
	size := o.Size
	if size == 0 {
		size = roundUp(fs.tmpfsMem/2, pageSize)
	}
	fs.SetLimit(size)
	fs.tmpfsOpts = o
	// /proc/mounts shows the options that differ from the defaults, as
	// shmem_show_options does.
	var opts []string
	if o.Size != 0 {
		opts = append(opts, fmt.Sprintf("size=%dk", size>>10))
	}
	if o.Mode != 0o1777 {
		opts = append(opts, fmt.Sprintf("mode=%o", o.Mode))
	}
	if o.UID != 0 {
		opts = append(opts, fmt.Sprintf("uid=%d", o.UID))
	}
	if o.GID != 0 {
		opts = append(opts, fmt.Sprintf("gid=%d", o.GID))
	}
	fs.SetOptions(strings.Join(opts, ","))
}

// Remount applies the options of mount(2) with MS_REMOUNT to a tmpfs: a
// new size= (EBUSY below what is in use, as shmem_reconfigure); the root
// directory's mode, uid and gid are not changed by a remount.
func (fs *FS) Remount(flags uint64, data string) error {
	if fs.typ != "tmpfs" || fs.tmpfsMem == 0 {
		return nil
	}
	o, err := ParseTmpfsOptions(data, fs.tmpfsMem)
	if err != nil {
		return err
	}
	if o.Size != 0 && o.Size < fs.Used() {
		return unix.EBUSY
	}
	old := fs.tmpfsOpts
	o.Mode, o.UID, o.GID = old.Mode, old.UID, old.GID
	fs.applyTmpfs(o, old)
	return nil
}
