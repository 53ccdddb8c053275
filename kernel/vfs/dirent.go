package vfs

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// Dirent is one directory entry as getdents64(2) reports it.
type Dirent struct {
	Ino  uint64
	Off  int64 // offset of the next entry, for Seek
	Type uint8 // DT_* value
	Name string
}

// DirentSize is the record length of an entry named name in the format of
// getdents64(2) or, with legacy, getdents(2): the fixed part, the name and
// its NUL (and d_type after it for the legacy format), padded to 8 bytes.
func DirentSize(name string, legacy bool) int {
	fixed := 19
	if legacy {
		fixed = 18 + 1 // name, then NUL, then d_type in the last byte
	}
	return (fixed + len(name) + 1 + 7) &^ 7
}

// PutDirent writes d into b (of DirentSize bytes, zeroed here) as
//
//	struct linux_dirent64 { u64 d_ino; s64 d_off; u16 d_reclen; u8 d_type; char d_name[]; }
//
// or, with legacy, as the x86-64 struct of getdents(2):
//
//	struct linux_dirent { u64 d_ino; u64 d_off; u16 d_reclen; char d_name[]; char pad; char d_type; }
func PutDirent(b []byte, d Dirent, legacy bool) {
	clear(b)
	le := binary.LittleEndian
	le.PutUint64(b[0:], d.Ino)
	le.PutUint64(b[8:], uint64(d.Off))
	le.PutUint16(b[16:], uint16(len(b)))
	if legacy {
		copy(b[18:], d.Name)
		b[len(b)-1] = d.Type
	} else {
		b[18] = d.Type
		copy(b[19:], d.Name)
	}
}

// EncodeDirents writes as many of ents as fit in buf and returns the bytes
// used and the number of entries written. A caller that wrote none while
// entries remain returns EINVAL, as getdents64(2) does for a buffer too
// small for the next record.
func EncodeDirents(buf []byte, ents []Dirent, legacy bool) (n, k int) {
	for _, e := range ents {
		reclen := DirentSize(e.Name, legacy)
		if n+reclen > len(buf) {
			break
		}
		PutDirent(buf[n:n+reclen], e, legacy)
		n += reclen
		k++
	}
	return n, k
}

// ParseDirents decodes records in the getdents64 format.
func ParseDirents(b []byte) ([]Dirent, error) {
	var out []Dirent
	for len(b) > 0 {
		if len(b) < 19 {
			return out, unix.EINVAL
		}
		reclen := int(binary.LittleEndian.Uint16(b[16:]))
		if reclen < 20 || reclen > len(b) {
			return out, unix.EINVAL
		}
		name := b[19:reclen]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		out = append(out, Dirent{
			Ino:  binary.LittleEndian.Uint64(b[0:]),
			Off:  int64(binary.LittleEndian.Uint64(b[8:])),
			Type: b[18],
			Name: string(name),
		})
		b = b[reclen:]
	}
	return out, nil
}

// Seek computes the new file offset of lseek(2) from the current offset
// cur and the file size: SEEK_SET, SEEK_CUR, SEEK_END, and SEEK_DATA and
// SEEK_HOLE for a file without holes (ENXIO at or past the end). EINVAL
// for a bad whence or a negative result, EOVERFLOW when it overflows. A
// directory (dir) accepts only SEEK_SET and SEEK_CUR.
func Seek(cur, size, offset int64, whence int, dir bool) (int64, error) {
	var pos int64
	switch whence {
	case unix.SEEK_SET:
		pos = offset
	case unix.SEEK_CUR:
		pos = cur + offset
		if offset > 0 && pos < cur {
			return 0, unix.EOVERFLOW
		}
	case unix.SEEK_END, unix.SEEK_DATA, unix.SEEK_HOLE:
		if dir {
			return 0, unix.EINVAL
		}
		switch whence {
		case unix.SEEK_END:
			pos = size + offset
			if offset > 0 && pos < size {
				return 0, unix.EOVERFLOW
			}
		case unix.SEEK_DATA:
			if offset >= size {
				return 0, unix.ENXIO
			}
			pos = offset
		default:
			if offset >= size {
				return 0, unix.ENXIO
			}
			pos = size
		}
	default:
		return 0, unix.EINVAL
	}
	if pos < 0 {
		return 0, unix.EINVAL
	}
	return pos, nil
}
