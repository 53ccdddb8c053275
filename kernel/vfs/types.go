package vfs

import (
	"time"

	"golang.org/x/sys/unix"
)

// File type bits of a mode (the S_IFMT part of Linux st_mode), see inode(7).
const (
	S_IFMT   = 0o170000
	S_IFSOCK = 0o140000
	S_IFLNK  = 0o120000
	S_IFREG  = 0o100000
	S_IFBLK  = 0o060000
	S_IFDIR  = 0o040000
	S_IFCHR  = 0o020000
	S_IFIFO  = 0o010000

	S_ISUID = 0o4000
	S_ISGID = 0o2000
	S_ISVTX = 0o1000
)

// Limits of path resolution, see path_resolution(7) and limits.h.
const (
	PathMax     = 4096 // PATH_MAX, including the terminating NUL
	NameMax     = 255  // NAME_MAX
	MaxSymlinks = 40   // symlinks followed in one resolution before ELOOP
)

// Permission masks of Inode.Permission (MAY_EXEC, MAY_WRITE, MAY_READ).
const (
	MayExec  = 1
	MayWrite = 2
	MayRead  = 4
)

// Timespec is a time as Linux struct timespec: seconds and nanoseconds since
// the Unix epoch.
type Timespec struct {
	Sec  int64
	Nsec int64
}

// TimespecOf converts t to a Timespec.
func TimespecOf(t time.Time) Timespec {
	return Timespec{Sec: t.Unix(), Nsec: int64(t.Nanosecond())}
}

// Time converts ts to a time.Time.
func (ts Timespec) Time() time.Time { return time.Unix(ts.Sec, ts.Nsec) }

// Before reports whether ts is earlier than o.
func (ts Timespec) Before(o Timespec) bool {
	return ts.Sec < o.Sec || ts.Sec == o.Sec && ts.Nsec < o.Nsec
}

// Special nanosecond values of utimensat(2).
const (
	UTIME_NOW  = unix.UTIME_NOW
	UTIME_OMIT = unix.UTIME_OMIT
)

// Rename flags of renameat2(2).
const (
	RENAME_NOREPLACE = unix.RENAME_NOREPLACE
	RENAME_EXCHANGE  = unix.RENAME_EXCHANGE
	RENAME_WHITEOUT  = unix.RENAME_WHITEOUT
)

// Mkdev encodes a device number as glibc's makedev(3) does (the 64-bit
// dev_t of struct stat).
func Mkdev(major, minor uint32) uint64 {
	ma, mi := uint64(major), uint64(minor)
	return (ma&0xfffff000)<<32 | (ma&0xfff)<<8 | (mi&0xffffff00)<<12 | mi&0xff
}

// Major and Minor decode a device number made by Mkdev (major(3), minor(3)).
func Major(dev uint64) uint32 { return uint32((dev>>32)&0xfffff000 | (dev>>8)&0xfff) }

// Minor returns the minor number of dev, see Major.
func Minor(dev uint64) uint32 { return uint32((dev>>12)&0xffffff00 | dev&0xff) }

// Cred are the credentials used for permission checks and for the owner of
// new files (the filesystem uid/gid of credentials(7)). Uid 0 has the
// capabilities CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_CHOWN, CAP_FSETID and
// CAP_MKNOD.
type Cred struct {
	UID, GID uint32
	Groups   []uint32 // supplementary groups
}

// InGroup reports whether gid is the primary or a supplementary group.
func (c *Cred) InGroup(gid uint32) bool {
	if c.GID == gid {
		return true
	}
	for _, g := range c.Groups {
		if g == gid {
			return true
		}
	}
	return false
}

// GenericPermission checks mask (MayRead|MayWrite|MayExec) against a file
// of mode, uid and gid for c, as the kernel's generic_permission
// (path_resolution(7), "Permissions"): root passes everything except
// execution of a non-directory without any execute bit.
func GenericPermission(c *Cred, mode, uid, gid, mask uint32) error {
	if c.UID == 0 {
		if mask&MayExec != 0 && mode&S_IFMT != S_IFDIR && mode&0o111 == 0 {
			return unix.EACCES
		}
		return nil
	}
	var bits uint32
	switch {
	case uid == c.UID:
		bits = mode >> 6
	case c.InGroup(gid):
		bits = mode >> 3
	default:
		bits = mode
	}
	if mask&^bits&7 != 0 {
		return unix.EACCES
	}
	return nil
}

// DirentType is the d_type of a directory entry for the S_IFMT bits typ.
func DirentType(typ uint32) uint8 {
	switch typ & S_IFMT {
	case S_IFREG:
		return unix.DT_REG
	case S_IFDIR:
		return unix.DT_DIR
	case S_IFLNK:
		return unix.DT_LNK
	case S_IFCHR:
		return unix.DT_CHR
	case S_IFBLK:
		return unix.DT_BLK
	case S_IFIFO:
		return unix.DT_FIFO
	case S_IFSOCK:
		return unix.DT_SOCK
	}
	return unix.DT_UNKNOWN
}
