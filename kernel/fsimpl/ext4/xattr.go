package ext4

import (
	"syscall"
)

// Extended attributes live in the space after the inode's extra fields
// (in-inode) and in one external block that i_file_acl points to; a value
// may instead be the contents of an inode of its own (ea_inode).

const (
	xattrMagic      = 0xEA020000
	xattrEntryHead  = 16
	xattrBlockHead  = 32
	indexSystemData = 7
)

// xattrPrefixes maps e_name_index to the prefix of the attribute's name.
var xattrPrefixes = map[uint8]string{
	1: "user.",
	2: "system.posix_acl_access",
	3: "system.posix_acl_default",
	4: "trusted.",
	6: "security.",
	7: "system.",
	8: "system.richacl",
}

type xattr struct {
	index uint8
	name  string // without the prefix
	value []byte // nil when the value is in an inode
	inum  uint32
	size  uint32
}

func (x xattr) fullName() (string, bool) {
	p, ok := xattrPrefixes[x.index]
	return p + x.name, ok
}

// parseXattrs reads the entries starting at region[start:], whose value
// offsets count from region[base:].
func (n *Inode) parseXattrs(region []byte, start, base int, where string) ([]xattr, error) {
	var out []xattr
	off := start
	for off+4 <= len(region) && le.Uint32(region[off:]) != 0 {
		if off+xattrEntryHead > len(region) {
			return nil, corrupt(n.ino, "%s xattr entry at %d truncated", where, off)
		}
		e := region[off:]
		nameLen := int(e[0])
		x := xattr{index: e[1], inum: le.Uint32(e[4:]), size: le.Uint32(e[8:])}
		if off+xattrEntryHead+nameLen > len(region) {
			return nil, corrupt(n.ino, "%s xattr name at %d truncated", where, off)
		}
		x.name = string(e[xattrEntryHead : xattrEntryHead+nameLen])
		if x.inum == 0 {
			voff := base + int(le.Uint16(e[2:]))
			if int64(x.size) > int64(len(region)) || voff+int(x.size) > len(region) {
				return nil, corrupt(n.ino, "%s xattr %q value out of bounds", where, x.name)
			}
			x.value = region[voff : voff+int(x.size)]
		} else if n.fs.incompat&incompatEAInode == 0 {
			return nil, corrupt(n.ino, "%s xattr %q in an inode without the ea_inode feature", where, x.name)
		}
		out = append(out, x)
		off += (xattrEntryHead + nameLen + 3) &^ 3
	}
	return out, nil
}

// xattrs returns the inode's in-inode attributes followed by those of its
// external block.
func (n *Inode) xattrs() ([]xattr, error) {
	var all []xattr
	f := n.fs
	if f.inodeSize > goodOldInodeSize {
		region := n.raw[goodOldInodeSize+n.extraIsize():]
		if len(region) >= 4 && le.Uint32(region) == xattrMagic {
			xs, err := n.parseXattrs(region, 4, 4, "in-inode")
			if err != nil {
				return nil, err
			}
			all = append(all, xs...)
		}
	}
	blk := uint64(le.Uint32(n.raw[0x68:])) | uint64(le.Uint16(n.raw[0x76:]))<<32
	if blk != 0 {
		if blk <= f.firstData || blk >= f.blocks {
			return nil, corrupt(n.ino, "xattr block %d out of range", blk)
		}
		buf := make([]byte, f.blockSize)
		if err := f.readBlock(buf, blk); err != nil {
			return nil, err
		}
		if le.Uint32(buf) != xattrMagic || le.Uint32(buf[8:]) != 1 {
			return nil, corrupt(n.ino, "xattr block %d: bad header", blk)
		}
		if f.csum {
			var b [8]byte
			le.PutUint64(b[:], blk)
			c := crc32c(f.csumSeed, b[:])
			c = crc32c(c, buf[:0x10])
			c = crc32c(c, []byte{0, 0, 0, 0})
			c = crc32c(c, buf[0x14:])
			if want := le.Uint32(buf[0x10:]); c != want {
				return nil, corrupt(n.ino, "xattr block %d checksum mismatch (stored %#08x, computed %#08x)", blk, want, c)
			}
		}
		xs, err := n.parseXattrs(buf, xattrBlockHead, 0, "block")
		if err != nil {
			return nil, err
		}
		all = append(all, xs...)
	}
	return all, nil
}

// value returns an attribute's value, reading it from its inode when it
// has one.
func (n *Inode) xattrValue(x xattr) ([]byte, error) {
	if x.inum == 0 {
		return append([]byte(nil), x.value...), nil
	}
	vi, err := n.fs.Inode(x.inum)
	if err != nil {
		return nil, err
	}
	if vi.flag&flagEAInode == 0 || vi.size != int64(x.size) {
		return nil, corrupt(n.ino, "xattr %q: inode %d is not its value", x.name, x.inum)
	}
	buf := make([]byte, x.size)
	if _, err := vi.ReadAt(buf, 0); err != nil {
		return nil, err
	}
	return buf, nil
}

// Listxattr returns the names of the inode's extended attributes, in
// on-disk order (in-inode first). The inline data's system.data is not
// listed, as on Linux.
func (n *Inode) Listxattr() ([]string, error) {
	xs, err := n.xattrs()
	if err != nil {
		return nil, err
	}
	var names []string
	for _, x := range xs {
		if x.index == indexSystemData && x.name == "data" {
			continue
		}
		if name, ok := x.fullName(); ok {
			names = append(names, name)
		}
	}
	return names, nil
}

// Getxattr returns the value of the named attribute, syscall.ENODATA when
// the inode has none of that name. POSIX ACLs are converted from ext4's
// compact encoding to the system.posix_acl_* format of getxattr(2).
func (n *Inode) Getxattr(name string) ([]byte, error) {
	if name == "system.data" {
		return nil, syscall.ENODATA
	}
	xs, err := n.xattrs()
	if err != nil {
		return nil, err
	}
	for _, x := range xs {
		if full, ok := x.fullName(); ok && full == name {
			v, err := n.xattrValue(x)
			if err == nil && (x.index == 2 || x.index == 3) {
				v, err = n.aclToXattr(v)
			}
			return v, err
		}
	}
	return nil, syscall.ENODATA
}

// inlineData returns the inode's inline data: the 60 bytes of i_block
// followed by the value of system.data, cut to the file size.
func (n *Inode) inlineData() ([]byte, error) {
	xs, err := n.xattrs()
	if err != nil {
		return nil, err
	}
	data := append([]byte(nil), n.raw[iBlockOff:iBlockOff+iBlockLen]...)
	for _, x := range xs {
		if x.index == indexSystemData && x.name == "data" && x.inum == 0 {
			data = append(data, x.value...)
			break
		}
	}
	return data, nil
}

// ACL tags (acl(5)).
const (
	aclUserObj  = 0x01
	aclUser     = 0x02
	aclGroupObj = 0x04
	aclGroup    = 0x08
	aclMask     = 0x10
	aclOther    = 0x20
)

// aclToXattr converts an ACL from ext4's encoding (version 1; entries of 4
// bytes, or 8 with an id for named users and groups) to the one of the
// system.posix_acl_* attributes (version 2; 8-byte entries, id -1 when the
// tag has none).
func (n *Inode) aclToXattr(v []byte) ([]byte, error) {
	if len(v) < 4 || le.Uint32(v) != 1 {
		return nil, corrupt(n.ino, "ACL of %d bytes with a bad header", len(v))
	}
	out := make([]byte, 4, 4+2*len(v))
	le.PutUint32(out, 2)
	for p := 4; p < len(v); {
		if p+4 > len(v) {
			return nil, corrupt(n.ino, "ACL entry at %d truncated", p)
		}
		tag, perm := le.Uint16(v[p:]), le.Uint16(v[p+2:])
		id := uint32(0xFFFFFFFF)
		switch tag {
		case aclUserObj, aclGroupObj, aclMask, aclOther:
			p += 4
		case aclUser, aclGroup:
			if p+8 > len(v) {
				return nil, corrupt(n.ino, "ACL entry at %d truncated", p)
			}
			id = le.Uint32(v[p+4:])
			p += 8
		default:
			return nil, corrupt(n.ino, "ACL entry at %d: unknown tag %#x", p, tag)
		}
		var e [8]byte
		le.PutUint16(e[0:], tag)
		le.PutUint16(e[2:], perm)
		le.PutUint32(e[4:], id)
		out = append(out, e[:]...)
	}
	return out, nil
}
