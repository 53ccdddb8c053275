package linux

import (
	fs "github.com/gosv/gosv/kernel/fsimpl/ramfs"
	"golang.org/x/sys/unix"
)

// fsStater is implemented by files that know their kernel/fs attributes
// (with the creation time statx reports).
type fsStater interface {
	statFS() (fs.Stat, error)
}

// anonDev is st_dev of files that live in no filesystem of the app
// (pipes, anonymous inodes); procDev and sysDev are those of /proc and /sys.
var (
	anonDev = fs.Mkdev(0, 13)
	procDev = fs.Mkdev(0, 22)
	sysDev  = fs.Mkdev(0, 23)
)

func toStatT(s fs.Stat) unix.Stat_t {
	return unix.Stat_t{
		Dev: s.Dev, Ino: s.Ino, Nlink: s.Nlink, Mode: s.Mode, Uid: s.UID, Gid: s.GID,
		Rdev: s.Rdev, Size: s.Size, Blksize: s.Blksize, Blocks: s.Blocks,
		Atim: unix.Timespec{Sec: s.Atime.Sec, Nsec: s.Atime.Nsec},
		Mtim: unix.Timespec{Sec: s.Mtime.Sec, Nsec: s.Mtime.Nsec},
		Ctim: unix.Timespec{Sec: s.Ctime.Sec, Nsec: s.Ctime.Nsec},
	}
}

func fromStatT(s unix.Stat_t) fs.Stat {
	return fs.Stat{
		Dev: s.Dev, Ino: s.Ino, Nlink: s.Nlink, Mode: s.Mode, UID: s.Uid, GID: s.Gid,
		Rdev: s.Rdev, Size: s.Size, Blksize: s.Blksize, Blocks: s.Blocks,
		Atime: fs.Timespec{Sec: s.Atim.Sec, Nsec: s.Atim.Nsec},
		Mtime: fs.Timespec{Sec: s.Mtim.Sec, Nsec: s.Mtim.Nsec},
		Ctime: fs.Timespec{Sec: s.Ctim.Sec, Nsec: s.Ctim.Nsec},
	}
}

// statOf returns the attributes of an open file; hasBtime says whether
// Btime is meaningful (statx's STATX_BTIME). A file with no Stat method
// looks like an anonymous inode (mode 0600, no type), as eventfd does.
func statOf(f File) (st fs.Stat, hasBtime bool, err error) {
	switch s := f.(type) {
	case fsStater:
		st, err = s.statFS()
		return st, err == nil && st.Btime != (fs.Timespec{}), err
	case Stater:
		ut, err := s.Stat()
		return fromStatT(ut), false, err
	}
	return fs.Stat{Dev: anonDev, Mode: 0o600, Nlink: 1, Blksize: pageSize}, false, nil
}

// statfs(2) flags (f_flags) and magic numbers.
const (
	stValid    = 0x20
	stNosuid   = 0x2
	stNodev    = 0x4
	stNoexec   = 0x8
	stRelatime = 0x1000
)

// statfsInfo is struct statfs of statfs(2) (x86-64, 120 bytes).
type statfsInfo struct {
	Type, Bsize, Blocks, Bfree, Bavail, Files, Ffree uint64
	Fsid                                             [2]int32
	Namelen, Frsize, Flags                           uint64
}

func (s statfsInfo) marshal() []byte {
	b := make([]byte, 120)
	for i, v := range []uint64{s.Type, s.Bsize, s.Blocks, s.Bfree, s.Bavail, s.Files, s.Ffree} {
		le.PutUint64(b[8*i:], v)
	}
	le.PutUint32(b[56:], uint32(s.Fsid[0]))
	le.PutUint32(b[60:], uint32(s.Fsid[1]))
	le.PutUint64(b[64:], s.Namelen)
	le.PutUint64(b[72:], s.Frsize)
	le.PutUint64(b[80:], s.Flags)
	return b
}

// tmpfsStatfs describes the root filesystem as a tmpfs of its default
// size, half of the memory.
func (p *Process) tmpfsStatfs() statfsInfo {
	total := MemInfo().Total / 2 / pageSize
	used := uint64(p.FS.Used()) / pageSize
	free := total - min(used, total)
	return statfsInfo{
		Type: unix.TMPFS_MAGIC, Bsize: pageSize, Blocks: total, Bfree: free, Bavail: free,
		Files: total, Ffree: free, Namelen: fs.NameMax, Frsize: pageSize,
		Flags: stValid | stRelatime,
	}
}

func virtualStatfs(proc bool) statfsInfo {
	s := statfsInfo{Type: unix.SYSFS_MAGIC, Bsize: pageSize, Namelen: fs.NameMax, Frsize: pageSize,
		Flags: stValid | stNosuid | stNodev | stNoexec | stRelatime}
	if proc {
		s.Type = unix.PROC_SUPER_MAGIC
	}
	return s
}

// statfsOf answers fstatfs(2) for an open file.
func (p *Process) statfsOf(f File) statfsInfo {
	switch f := f.(type) {
	case *fsFile:
		return p.tmpfsStatfs()
	case *fifoFile:
		return p.tmpfsStatfs()
	case *procFile:
		return virtualStatfs(isProcPath(f.path))
	case *procDir:
		return virtualStatfs(isProcPath(f.path))
	}
	// pipefs, anon_inodefs and devpts all report a small fixed block size.
	return statfsInfo{Type: 0x50495045, Bsize: pageSize, Namelen: fs.NameMax, Frsize: pageSize, Flags: stValid}
}
