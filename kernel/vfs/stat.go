package vfs

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// Stat holds the attributes of a file, as stat(2) and statx(2) report them.
type Stat struct {
	Dev     uint64 // device of the filesystem (Mkdev encoding)
	Ino     uint64
	Nlink   uint64
	Mode    uint32 // S_IFMT type and 07777 permission bits
	UID     uint32
	GID     uint32
	Rdev    uint64 // device number of a device node (Mkdev encoding)
	Size    int64
	Blksize int64
	Blocks  int64 // 512-byte blocks
	Atime   Timespec
	Mtime   Timespec
	Ctime   Timespec
	Btime   Timespec // creation time (statx only)
}

// Byte offsets of the fields of the x86-64 struct stat (144 bytes), see
// stat(2) and the kernel's arch/x86/include/uapi/asm/stat.h.
const (
	SizeofStat       = 144
	statOffDev       = 0
	statOffIno       = 8
	statOffNlink     = 16
	statOffMode      = 24
	statOffUID       = 28
	statOffGID       = 32
	statOffRdev      = 40
	statOffSize      = 48
	statOffBlksize   = 56
	statOffBlocks    = 64
	statOffAtime     = 72
	statOffAtimeNsec = 80
	statOffMtime     = 88
	statOffMtimeNsec = 96
	statOffCtime     = 104
	statOffCtimeNsec = 112
)

// MarshalLinux encodes s as the x86-64 Linux struct stat of stat(2)
// (little-endian, 144 bytes, padding zeroed).
func (s Stat) MarshalLinux() [SizeofStat]byte {
	var b [SizeofStat]byte
	le := binary.LittleEndian
	le.PutUint64(b[statOffDev:], s.Dev)
	le.PutUint64(b[statOffIno:], s.Ino)
	le.PutUint64(b[statOffNlink:], s.Nlink)
	le.PutUint32(b[statOffMode:], s.Mode)
	le.PutUint32(b[statOffUID:], s.UID)
	le.PutUint32(b[statOffGID:], s.GID)
	le.PutUint64(b[statOffRdev:], s.Rdev)
	le.PutUint64(b[statOffSize:], uint64(s.Size))
	le.PutUint64(b[statOffBlksize:], uint64(s.Blksize))
	le.PutUint64(b[statOffBlocks:], uint64(s.Blocks))
	le.PutUint64(b[statOffAtime:], uint64(s.Atime.Sec))
	le.PutUint64(b[statOffAtimeNsec:], uint64(s.Atime.Nsec))
	le.PutUint64(b[statOffMtime:], uint64(s.Mtime.Sec))
	le.PutUint64(b[statOffMtimeNsec:], uint64(s.Mtime.Nsec))
	le.PutUint64(b[statOffCtime:], uint64(s.Ctime.Sec))
	le.PutUint64(b[statOffCtimeNsec:], uint64(s.Ctime.Nsec))
	return b
}

// Byte offsets of the fields of struct statx (256 bytes), see statx(2) and
// the kernel's include/uapi/linux/stat.h. A struct statx_timestamp is
// {s64 tv_sec; u32 tv_nsec; s32 reserved}.
const (
	SizeofStatx         = 256
	statxOffMask        = 0
	statxOffBlksize     = 4
	statxOffAttributes  = 8
	statxOffNlink       = 16
	statxOffUID         = 20
	statxOffGID         = 24
	statxOffMode        = 28
	statxOffIno         = 32
	statxOffSize        = 40
	statxOffBlocks      = 48
	statxOffAttrMask    = 56
	statxOffAtime       = 64
	statxOffBtime       = 80
	statxOffCtime       = 96
	statxOffMtime       = 112
	statxOffRdevMajor   = 128
	statxOffRdevMinor   = 132
	statxOffDevMajor    = 136
	statxOffDevMinor    = 140
	statxOffMntID       = 144
	statxOffDioMemAlign = 152
)

// StatxMask is the stx_mask this filesystem fills in: STATX_BASIC_STATS
// and STATX_BTIME.
const StatxMask = unix.STATX_BASIC_STATS | unix.STATX_BTIME

// MarshalStatx encodes s as struct statx of statx(2) (little-endian, 256
// bytes). stx_mask is StatxMask whatever the caller asked for, as the
// kernel may return more than requested; stx_attributes and
// stx_attributes_mask are 0; stx_mnt_id is 0 (not in the mask).
func (s Stat) MarshalStatx() [SizeofStatx]byte {
	var b [SizeofStatx]byte
	le := binary.LittleEndian
	le.PutUint32(b[statxOffMask:], StatxMask)
	le.PutUint32(b[statxOffBlksize:], uint32(s.Blksize))
	le.PutUint32(b[statxOffNlink:], uint32(s.Nlink))
	le.PutUint32(b[statxOffUID:], s.UID)
	le.PutUint32(b[statxOffGID:], s.GID)
	le.PutUint16(b[statxOffMode:], uint16(s.Mode))
	le.PutUint64(b[statxOffIno:], s.Ino)
	le.PutUint64(b[statxOffSize:], uint64(s.Size))
	le.PutUint64(b[statxOffBlocks:], uint64(s.Blocks))
	for _, t := range []struct {
		off int
		ts  Timespec
	}{{statxOffAtime, s.Atime}, {statxOffBtime, s.Btime}, {statxOffCtime, s.Ctime}, {statxOffMtime, s.Mtime}} {
		le.PutUint64(b[t.off:], uint64(t.ts.Sec))
		le.PutUint32(b[t.off+8:], uint32(t.ts.Nsec))
	}
	le.PutUint32(b[statxOffRdevMajor:], Major(s.Rdev))
	le.PutUint32(b[statxOffRdevMinor:], Minor(s.Rdev))
	le.PutUint32(b[statxOffDevMajor:], Major(s.Dev))
	le.PutUint32(b[statxOffDevMinor:], Minor(s.Dev))
	return b
}
