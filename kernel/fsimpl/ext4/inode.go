package ext4

import (
	"syscall"
)

// File type bits of i_mode (the S_IFMT bits of stat(2)).
const (
	S_IFMT   = 0xF000
	S_IFSOCK = 0xC000
	S_IFLNK  = 0xA000
	S_IFREG  = 0x8000
	S_IFBLK  = 0x6000
	S_IFDIR  = 0x4000
	S_IFCHR  = 0x2000
	S_IFIFO  = 0x1000
)

// Inode flags (i_flags) the reader looks at.
const (
	flagIndex      = 0x1000     // EXT4_INDEX_FL: hashed directory
	flagHugeFile   = 0x40000    // i_blocks counts filesystem blocks
	flagExtents    = 0x80000    // i_block holds an extent tree
	flagEAInode    = 0x200000   // the inode holds an xattr value
	flagInlineData = 0x10000000 // the data is in i_block and system.data
)

const (
	goodOldInodeSize = 128
	iBlockOff        = 0x28
	iBlockLen        = 60
)

// Inode is one file of the filesystem, read from the inode table (and
// checksum-verified) when it is opened. It is immutable, like the
// filesystem.
type Inode struct {
	fs   *FS
	ino  uint32
	raw  []byte // the on-disk inode, inode size bytes
	mode uint16
	size int64
	flag uint32
	seed uint32 // crc32c seed of this inode's metadata blocks
}

// Timespec is a time as seconds and nanoseconds since the Unix epoch.
type Timespec struct {
	Sec  int64
	Nsec int64
}

// Stat holds an inode's attributes, as stat(2) and statx(2) report them.
type Stat struct {
	Ino        uint64
	Mode       uint32 // S_IFMT type bits and 07777 permission bits
	Nlink      uint32
	UID, GID   uint32
	Size       int64
	Blocks     int64 // 512-byte units, as st_blocks
	Blksize    int64 // the filesystem's block size
	RdevMajor  uint32
	RdevMinor  uint32
	Atime      Timespec
	Mtime      Timespec
	Ctime      Timespec
	Btime      Timespec // creation time (i_crtime); zero when the inode has no room for it
	Generation uint32
	Flags      uint32 // i_flags (FS_IOC_GETFLAGS)
}

// Root opens the root directory (inode 2).
func (f *FS) Root() (*Inode, error) { return f.Inode(rootIno) }

// Inode opens inode number ino. An inode number out of range, an inode
// that is not in use and an inode with a bad checksum are *CorruptError.
func (f *FS) Inode(ino uint32) (*Inode, error) {
	if ino == 0 || ino > f.inodes {
		return nil, corrupt(0, "inode number %d out of range (1-%d)", ino, f.inodes)
	}
	g := (ino - 1) / f.ipg
	idx := int64((ino - 1) % f.ipg)
	gd := f.gd[g]
	if gd.flags&bgInodeUninit != 0 && f.roCompat&(roCompatGdtCsum|roCompatMetadataCsum) != 0 {
		return nil, corrupt(ino, "not in use (its group's inode table is uninitialised)")
	}
	off := int64(gd.inodeTable)*f.blockSize + idx*f.inodeSize
	raw := make([]byte, f.inodeSize)
	if _, err := f.dev.ReadAt(raw, off); err != nil {
		return nil, corrupt(ino, "reading the inode: %v", err)
	}
	n := &Inode{fs: f, ino: ino, raw: raw}
	n.mode = le.Uint16(raw[0:])
	n.flag = le.Uint32(raw[0x20:])
	n.size = int64(uint64(le.Uint32(raw[0x4:])) | uint64(le.Uint32(raw[0x6C:]))<<32)
	if n.size < 0 {
		return nil, corrupt(ino, "size %#x out of range", uint64(n.size))
	}
	extra := n.extraIsize()
	if f.inodeSize > goodOldInodeSize && (extra&3 != 0 || int64(goodOldInodeSize+extra) > f.inodeSize) {
		return nil, corrupt(ino, "i_extra_isize %d invalid", extra)
	}
	if f.csum {
		var b [4]byte
		le.PutUint32(b[:], ino)
		c := crc32c(f.csumSeed, b[:])
		c = crc32c(c, raw[0x64:0x68]) // i_generation
		n.seed = c
		if err := n.verify(); err != nil {
			return nil, err
		}
	}
	if le.Uint16(raw[0x1A:]) == 0 && n.mode == 0 {
		return nil, corrupt(ino, "not in use")
	}
	switch n.mode & S_IFMT {
	case S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK:
	default:
		return nil, corrupt(ino, "unknown file type in mode %#o", n.mode)
	}
	if n.flag&flagInlineData != 0 && f.incompat&incompatInlineData == 0 {
		return nil, corrupt(ino, "inline data flag without the inline_data feature")
	}
	if n.flag&flagExtents != 0 && n.flag&flagInlineData != 0 {
		return nil, corrupt(ino, "both the extent and the inline data flags")
	}
	return n, nil
}

func (n *Inode) extraIsize() int {
	if n.fs.inodeSize <= goodOldInodeSize {
		return 0
	}
	return int(le.Uint16(n.raw[0x80:]))
}

// verify checks the inode's metadata_csum checksum: the low 16 bits in
// l_i_checksum_lo, the high ones in i_checksum_hi when the inode has room.
func (n *Inode) verify() error {
	raw := n.raw
	zero := []byte{0, 0}
	c := crc32c(n.seed, raw[:0x7C])
	c = crc32c(c, zero)
	c = crc32c(c, raw[0x7E:goodOldInodeSize])
	want := uint32(le.Uint16(raw[0x7C:]))
	mask := uint32(0xFFFF)
	if len(raw) > goodOldInodeSize {
		c = crc32c(c, raw[goodOldInodeSize:0x82])
		off := 0x82
		if n.extraIsize() >= 4 {
			c = crc32c(c, zero)
			off += 2
			want |= uint32(le.Uint16(raw[0x82:])) << 16
			mask = 0xFFFFFFFF
		}
		c = crc32c(c, raw[off:])
	}
	if c&mask != want {
		return corrupt(n.ino, "inode checksum mismatch (stored %#x, computed %#x)", want, c&mask)
	}
	return nil
}

// Ino is the inode number.
func (n *Inode) Ino() uint32 { return n.ino }

// Mode is i_mode: the S_IFMT type and the permission bits.
func (n *Inode) Mode() uint32 { return uint32(n.mode) }

// Size is the file's size in bytes.
func (n *Inode) Size() int64 { return n.size }

// IsDir reports whether the inode is a directory.
func (n *Inode) IsDir() bool { return n.mode&S_IFMT == S_IFDIR }

// FS is the filesystem the inode belongs to.
func (n *Inode) FS() *FS { return n.fs }

// hasExtra reports whether the inode's extra fields reach past offset end.
func (n *Inode) hasExtra(end int) bool { return goodOldInodeSize+n.extraIsize() >= end }

// time decodes a timestamp: 32 signed seconds, and in the extra field (when
// the inode has room for it) two epoch bits extending the seconds and 30
// bits of nanoseconds.
func (n *Inode) time(off, extraOff int) Timespec {
	ts := Timespec{Sec: int64(int32(le.Uint32(n.raw[off:])))}
	if extraOff != 0 && n.hasExtra(extraOff+4) {
		x := le.Uint32(n.raw[extraOff:])
		ts.Sec += int64(x&3) << 32
		ts.Nsec = int64(x >> 2)
		if ts.Nsec > 999999999 {
			ts.Nsec = 0
		}
	}
	return ts
}

// Stat returns the inode's attributes.
func (n *Inode) Stat() Stat {
	raw := n.raw
	f := n.fs
	st := Stat{
		Ino:        uint64(n.ino),
		Mode:       uint32(n.mode),
		Nlink:      uint32(le.Uint16(raw[0x1A:])),
		UID:        uint32(le.Uint16(raw[0x2:])) | uint32(le.Uint16(raw[0x78:]))<<16,
		GID:        uint32(le.Uint16(raw[0x18:])) | uint32(le.Uint16(raw[0x7A:]))<<16,
		Size:       n.size,
		Blksize:    f.blockSize,
		Atime:      n.time(0x8, 0x8C),
		Ctime:      n.time(0xC, 0x84),
		Mtime:      n.time(0x10, 0x88),
		Generation: le.Uint32(raw[0x64:]),
		Flags:      n.flag,
	}
	if n.hasExtra(0x98) {
		st.Btime = n.time(0x90, 0x94)
	}
	blocks := uint64(le.Uint32(raw[0x1C:]))
	if f.roCompat&roCompatHugeFile != 0 {
		blocks |= uint64(le.Uint16(raw[0x74:])) << 32
		if n.flag&flagHugeFile != 0 {
			blocks *= uint64(f.blockSize / 512)
		}
	}
	st.Blocks = int64(blocks)
	switch n.mode & S_IFMT {
	case S_IFCHR, S_IFBLK:
		if old := le.Uint32(raw[iBlockOff:]); old != 0 {
			st.RdevMajor, st.RdevMinor = (old>>8)&0xFF, old&0xFF
		} else {
			d := le.Uint32(raw[iBlockOff+4:])
			st.RdevMajor = (d & 0xFFF00) >> 8
			st.RdevMinor = d&0xFF | (d>>12)&0xFFF00
		}
	}
	return st
}

// Readlink returns the target of a symbolic link: kept in i_block for a
// fast symlink, in the file's data (a block or inline data) otherwise.
func (n *Inode) Readlink() (string, error) {
	if n.mode&S_IFMT != S_IFLNK {
		return "", syscall.EINVAL
	}
	if n.size == 0 || n.size >= 4096 {
		return "", corrupt(n.ino, "symlink length %d out of range", n.size)
	}
	if n.flag&(flagExtents|flagInlineData) == 0 && n.size < iBlockLen {
		return string(n.raw[iBlockOff : iBlockOff+n.size]), nil
	}
	buf := make([]byte, n.size)
	if _, err := n.ReadAt(buf, 0); err != nil {
		return "", err
	}
	return string(buf), nil
}
