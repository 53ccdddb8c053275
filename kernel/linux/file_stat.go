package linux

import (
	"github.com/gosv/gosv/kernel/task"
	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

// fsStater is implemented by files that know their VFS attributes (with
// the creation time statx reports).
type fsStater interface {
	statFS() (vfs.Stat, error)
}

// anonDev is st_dev of files that live in no filesystem of the app
// (pipes, anonymous inodes).
var anonDev = vfs.Mkdev(0, 13)

func toStatT(s vfs.Stat) unix.Stat_t {
	return unix.Stat_t{
		Dev: s.Dev, Ino: s.Ino, Nlink: s.Nlink, Mode: s.Mode, Uid: s.UID, Gid: s.GID,
		Rdev: s.Rdev, Size: s.Size, Blksize: s.Blksize, Blocks: s.Blocks,
		Atim: unix.Timespec{Sec: s.Atime.Sec, Nsec: s.Atime.Nsec},
		Mtim: unix.Timespec{Sec: s.Mtime.Sec, Nsec: s.Mtime.Nsec},
		Ctim: unix.Timespec{Sec: s.Ctime.Sec, Nsec: s.Ctime.Nsec},
	}
}

func fromStatT(s unix.Stat_t) vfs.Stat {
	return vfs.Stat{
		Dev: s.Dev, Ino: s.Ino, Nlink: s.Nlink, Mode: s.Mode, UID: s.Uid, GID: s.Gid,
		Rdev: s.Rdev, Size: s.Size, Blksize: s.Blksize, Blocks: s.Blocks,
		Atime: vfs.Timespec{Sec: s.Atim.Sec, Nsec: s.Atim.Nsec},
		Mtime: vfs.Timespec{Sec: s.Mtim.Sec, Nsec: s.Mtim.Nsec},
		Ctime: vfs.Timespec{Sec: s.Ctim.Sec, Nsec: s.Ctim.Nsec},
	}
}

// statOf returns the attributes of an open file; hasBtime says whether
// Btime is meaningful (statx's STATX_BTIME). A file with no Stat method
// looks like an anonymous inode (mode 0600, no type), as eventfd does.
func statOf(f task.File) (st vfs.Stat, hasBtime bool, err error) {
	switch s := f.(type) {
	case fsStater:
		st, err = s.statFS()
		return st, err == nil && st.Btime != (vfs.Timespec{}), err
	case task.Stater:
		ut, err := s.Stat()
		return fromStatT(ut), false, err
	}
	return vfs.Stat{Dev: anonDev, Mode: 0o600, Nlink: 1, Blksize: task.PageSize}, false, nil
}

// statfsOf answers fstatfs(2) for an open file: the statfs of its mount,
// or that of pipefs for files outside the mount tree.
func statfsOf(p *task.Process, f task.File) vfs.Statfs {
	if lf, ok := f.(locFile); ok {
		return p.FS.Statfs(lf.location())
	}
	// pipefs, anon_inodefs and devpts all report a small fixed block size.
	return vfs.Statfs{Type: 0x50495045, Bsize: task.PageSize, Namelen: vfs.NameMax, Frsize: task.PageSize, Flags: vfs.ST_VALID}
}
