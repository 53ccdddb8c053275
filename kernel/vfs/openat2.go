package vfs

import (
	"encoding/binary"

	"golang.org/x/sys/unix"
)

// OpenHow is struct open_how of openat2(2).
type OpenHow struct {
	Flags   uint64
	Mode    uint64
	Resolve uint64
}

// Sizes of struct open_how: the first version, and the most openat2(2)
// reads (larger structures fail with E2BIG, as copy_struct_from_user's
// page limit).
const (
	OpenHowSizeVer0 = 24
	OpenHowSizeMax  = 4096
)

// validOpenFlags are the flags openat2(2) accepts (VALID_OPEN_FLAGS).
const validOpenFlags = unix.O_ACCMODE | unix.O_CREAT | unix.O_EXCL | unix.O_NOCTTY | unix.O_TRUNC |
	unix.O_APPEND | unix.O_NONBLOCK | unix.O_SYNC | unix.O_DSYNC | unix.O_ASYNC | unix.O_DIRECT |
	unix.O_LARGEFILE | unix.O_DIRECTORY | unix.O_NOFOLLOW | unix.O_NOATIME | unix.O_CLOEXEC |
	unix.O_PATH | unix.O_TMPFILE

// ParseOpenHow decodes the size bytes of a struct open_how copied from the
// application, with openat2(2)'s checks: EINVAL for a size below
// OpenHowSizeVer0, E2BIG for one above OpenHowSizeMax or for nonzero bytes
// past the fields this kernel knows; EINVAL for unknown open flags or
// resolve flags, flags outside 32 bits, a mode without O_CREAT or O_TMPFILE
// or with bits outside 07777, O_PATH with flags other than O_DIRECTORY,
// O_NOFOLLOW and O_CLOEXEC, O_TMPFILE without write access or with
// O_CREAT, RESOLVE_BENEATH with RESOLVE_IN_ROOT; EAGAIN for RESOLVE_CACHED
// with O_CREAT, O_TRUNC or O_TMPFILE.
func ParseOpenHow(b []byte) (OpenHow, error) {
	if len(b) < OpenHowSizeVer0 {
		return OpenHow{}, unix.EINVAL
	}
	if len(b) > OpenHowSizeMax {
		return OpenHow{}, unix.E2BIG
	}
	for _, c := range b[OpenHowSizeVer0:] {
		if c != 0 {
			return OpenHow{}, unix.E2BIG
		}
	}
	le := binary.LittleEndian
	h := OpenHow{Flags: le.Uint64(b[0:]), Mode: le.Uint64(b[8:]), Resolve: le.Uint64(b[16:])}
	return h, h.Check()
}

// Check applies openat2(2)'s checks to h (see ParseOpenHow).
func (h OpenHow) Check() error {
	if h.Flags>>32 != 0 || h.Flags&^uint64(validOpenFlags) != 0 {
		return unix.EINVAL
	}
	flags := int(h.Flags)
	if flags&unix.O_ACCMODE == unix.O_ACCMODE {
		return unix.EINVAL
	}
	creates := flags&unix.O_CREAT != 0 || flags&unix.O_TMPFILE == unix.O_TMPFILE
	if h.Mode&^0o7777 != 0 || h.Mode != 0 && !creates {
		return unix.EINVAL
	}
	if h.Resolve&^resolveAll != 0 {
		return unix.EINVAL
	}
	if h.Resolve&RESOLVE_BENEATH != 0 && h.Resolve&RESOLVE_IN_ROOT != 0 {
		return unix.EINVAL
	}
	if flags&unix.O_PATH != 0 && flags&^(unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_LARGEFILE) != 0 {
		return unix.EINVAL
	}
	if flags&unix.O_TMPFILE == unix.O_TMPFILE {
		acc := flags & unix.O_ACCMODE
		if acc != unix.O_WRONLY && acc != unix.O_RDWR || flags&unix.O_CREAT != 0 {
			return unix.EINVAL
		}
	} else if flags&unix.O_TMPFILE != 0 && flags&unix.O_DIRECTORY == 0 {
		// __O_TMPFILE without O_DIRECTORY.
		return unix.EINVAL
	}
	if h.Resolve&RESOLVE_CACHED != 0 && (creates || flags&unix.O_TRUNC != 0) {
		return unix.EAGAIN
	}
	return nil
}
