// Package ext4 reads ext4 filesystems (read-only): the superblock and its
// feature flags, group descriptors (32- and 64-byte), inodes, extent trees
// and the older block maps, inline data, linear and hashed-tree (htree)
// directories, symbolic links and extended attributes, verifying the
// metadata_csum checksums as it goes. The on-disk format is the one of the
// Linux kernel's Documentation/filesystems/ext4/ and e2fsprogs.
//
// The filesystem is read from a Device (any io.ReaderAt with a size, such
// as a virtio-blk disk or, in tests, an image file). Nothing is cached
// beyond the superblock and the group descriptors: a page cache above this
// package is expected to keep what is hot.
//
// Bad images give errors, never panics or endless loops: every structure
// read from the disk is checked against the superblock's geometry and the
// device size before it is followed, and every loop is bounded by such a
// size. Corruption is reported as a *CorruptError, which errors.Is treats
// as syscall.EIO; lookups of missing names give syscall.ENOENT and so on,
// so that a VFS adapter can pass errors on as errnos.
package ext4

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"syscall"
)

// Device is the disk the filesystem lives on.
type Device interface {
	io.ReaderAt
	// Size is the device's size in bytes.
	Size() int64
}

type readerAtDevice struct {
	io.ReaderAt
	size int64
}

func (d readerAtDevice) Size() int64 { return d.size }

// NewDevice makes a Device from a reader and its size in bytes (for
// example an *os.File and its length).
func NewDevice(r io.ReaderAt, size int64) Device { return readerAtDevice{r, size} }

// Magic is the superblock magic number, which is also statfs's f_type.
const Magic = 0xEF53

const (
	superblockOffset = 1024
	superblockSize   = 1024
	rootIno          = 2
	maxBlockSize     = 64 << 10
	maxIndirection   = 3
)

var le = binary.LittleEndian

// CorruptError is damage found on the disk: a bad magic number, a pointer
// out of range, a checksum that does not match. errors.Is(err, syscall.EIO)
// is true for it.
type CorruptError struct {
	Ino  uint32 // the inode concerned, 0 for filesystem metadata
	What string // what is wrong
}

func (e *CorruptError) Error() string {
	if e.Ino != 0 {
		return fmt.Sprintf("ext4: corrupt filesystem: inode %d: %s", e.Ino, e.What)
	}
	return "ext4: corrupt filesystem: " + e.What
}

// Is makes a CorruptError match syscall.EIO.
func (e *CorruptError) Is(target error) bool { return target == syscall.EIO }

func corrupt(ino uint32, format string, args ...any) error {
	return &CorruptError{Ino: ino, What: fmt.Sprintf(format, args...)}
}

// UnsupportedError refuses a filesystem this reader cannot read correctly,
// naming the reasons (for example the incompatible features it lacks).
// errors.Is(err, syscall.EINVAL) is true for it.
type UnsupportedError struct {
	Reason string
}

func (e *UnsupportedError) Error() string { return "ext4: unsupported filesystem: " + e.Reason }

// Is makes an UnsupportedError match syscall.EINVAL.
func (e *UnsupportedError) Is(target error) bool { return target == syscall.EINVAL }

// Feature flags (the superblock's s_feature_compat, s_feature_incompat and
// s_feature_ro_compat), named as e2fsprogs names them.
const (
	compatHasJournal = 0x4
	compatExtAttr    = 0x8
	compatDirIndex   = 0x20

	incompatCompression = 0x1
	incompatFiletype    = 0x2
	incompatRecover     = 0x4
	incompatJournalDev  = 0x8
	incompatMetaBG      = 0x10
	incompatExtents     = 0x40
	incompat64bit       = 0x80
	incompatMMP         = 0x100
	incompatFlexBG      = 0x200
	incompatEAInode     = 0x400
	incompatDirData     = 0x1000
	incompatCsumSeed    = 0x2000
	incompatLargeDir    = 0x4000
	incompatInlineData  = 0x8000
	incompatEncrypt     = 0x10000
	incompatCasefold    = 0x20000

	roCompatSparseSuper  = 0x1
	roCompatHugeFile     = 0x8
	roCompatGdtCsum      = 0x10
	roCompatMetadataCsum = 0x400
)

var incompatNames = []struct {
	bit  uint32
	name string
}{
	{incompatCompression, "compression"}, {incompatFiletype, "filetype"},
	{incompatRecover, "needs_recovery"}, {incompatJournalDev, "journal_dev"},
	{incompatMetaBG, "meta_bg"}, {incompatExtents, "extent"}, {incompat64bit, "64bit"},
	{incompatMMP, "mmp"}, {incompatFlexBG, "flex_bg"}, {incompatEAInode, "ea_inode"},
	{incompatDirData, "dirdata"}, {incompatCsumSeed, "metadata_csum_seed"},
	{incompatLargeDir, "large_dir"}, {incompatInlineData, "inline_data"},
	{incompatEncrypt, "encrypt"}, {incompatCasefold, "casefold"},
}

// supportedIncompat are the incompatible features this reader handles.
// needs_recovery is refused separately (the journal must be replayed
// first), and mmp only matters to writers.
const supportedIncompat = incompatFiletype | incompatMetaBG | incompatExtents | incompat64bit |
	incompatMMP | incompatFlexBG | incompatEAInode | incompatCsumSeed | incompatLargeDir |
	incompatInlineData

func featureNames(bits uint32) string {
	var names []string
	for _, f := range incompatNames {
		if bits&f.bit != 0 {
			names = append(names, f.name)
			bits &^= f.bit
		}
	}
	if bits != 0 {
		names = append(names, fmt.Sprintf("unknown(%#x)", bits))
	}
	return strings.Join(names, ", ")
}

// FS is an open ext4 filesystem. Its methods may be called from many
// goroutines at once.
type FS struct {
	dev       Device
	sb        []byte // the superblock, 1024 bytes
	blockSize int64
	blocks    uint64 // s_blocks_count
	firstData uint64 // s_first_data_block
	bpg       uint32 // blocks per group
	ipg       uint32 // inodes per group
	inodes    uint32 // s_inodes_count
	inodeSize int64
	groups    uint32
	descSize  int64
	compat    uint32
	incompat  uint32
	roCompat  uint32
	csum      bool   // metadata_csum
	csumSeed  uint32 // crc32c seed of every checksum
	hashSeed  [4]uint32
	hashVer   uint8 // s_def_hash_version
	unsigned  bool  // directory hashes treat names as unsigned chars
	gd        []groupDesc
}

type groupDesc struct {
	inodeTable uint64
	flags      uint16
}

const bgInodeUninit = 0x1

// Open reads and checks the superblock and the group descriptors of the
// filesystem on dev. It refuses filesystems with incompatible features
// it does not know (an *UnsupportedError naming them) and damaged ones
// (a *CorruptError).
func Open(dev Device) (*FS, error) {
	devSize := dev.Size()
	if devSize < superblockOffset+superblockSize {
		return nil, corrupt(0, "device of %d bytes is too small for a superblock", devSize)
	}
	sb := make([]byte, superblockSize)
	if _, err := dev.ReadAt(sb, superblockOffset); err != nil {
		return nil, fmt.Errorf("ext4: reading the superblock: %w", err)
	}
	if m := le.Uint16(sb[0x38:]); m != Magic {
		return nil, &UnsupportedError{Reason: fmt.Sprintf("no ext2/3/4 superblock (magic %#04x, want %#04x)", m, Magic)}
	}
	f := &FS{dev: dev, sb: sb}
	f.compat = le.Uint32(sb[0x5C:])
	f.incompat = le.Uint32(sb[0x60:])
	f.roCompat = le.Uint32(sb[0x64:])
	if le.Uint32(sb[0x4C:]) == 0 { // revision 0 has no feature flags
		f.compat, f.incompat, f.roCompat = 0, 0, 0
	}
	if bad := f.incompat &^ supportedIncompat; bad != 0 {
		return nil, &UnsupportedError{Reason: "incompatible features not supported: " + featureNames(bad)}
	}
	if f.incompat&incompatRecover != 0 {
		return nil, &UnsupportedError{Reason: "the journal needs recovery (run e2fsck)"}
	}
	f.csum = f.roCompat&roCompatMetadataCsum != 0
	if f.csum {
		if t := sb[0x175]; t != 1 {
			return nil, corrupt(0, "unknown checksum type %d", t)
		}
		want := le.Uint32(sb[0x3FC:])
		if got := crc32c(^uint32(0), sb[:0x3FC]); got != want {
			return nil, corrupt(0, "superblock checksum mismatch (stored %#08x, computed %#08x)", want, got)
		}
		if f.incompat&incompatCsumSeed != 0 {
			f.csumSeed = le.Uint32(sb[0x270:])
		} else {
			f.csumSeed = crc32c(^uint32(0), sb[0x68:0x78])
		}
	}

	logBS := le.Uint32(sb[0x18:])
	if logBS > 6 {
		return nil, corrupt(0, "block size 1024<<%d out of range", logBS)
	}
	f.blockSize = 1024 << logBS
	f.blocks = uint64(le.Uint32(sb[0x4:]))
	if f.incompat&incompat64bit != 0 {
		f.blocks |= uint64(le.Uint32(sb[0x150:])) << 32
	}
	f.firstData = uint64(le.Uint32(sb[0x14:]))
	f.bpg = le.Uint32(sb[0x20:])
	f.ipg = le.Uint32(sb[0x28:])
	f.inodes = le.Uint32(sb[0x0:])
	f.inodeSize = 128
	if le.Uint32(sb[0x4C:]) >= 1 {
		f.inodeSize = int64(le.Uint16(sb[0x58:]))
	}
	switch {
	case f.blocks == 0 || f.blocks > uint64(devSize)/uint64(f.blockSize):
		return nil, corrupt(0, "%d blocks of %d bytes do not fit the device of %d bytes", f.blocks, f.blockSize, devSize)
	case f.firstData >= f.blocks || (f.blockSize == 1024) != (f.firstData == 1):
		return nil, corrupt(0, "first data block %d invalid for block size %d", f.firstData, f.blockSize)
	case f.bpg < 8 || int64(f.bpg) > 8*f.blockSize:
		return nil, corrupt(0, "%d blocks per group out of range", f.bpg)
	case f.inodeSize < 128 || f.inodeSize > f.blockSize || f.inodeSize&(f.inodeSize-1) != 0:
		return nil, corrupt(0, "inode size %d invalid", f.inodeSize)
	case f.ipg == 0 || int64(f.ipg) > 8*f.blockSize:
		return nil, corrupt(0, "%d inodes per group out of range", f.ipg)
	}
	groups := (f.blocks - f.firstData + uint64(f.bpg) - 1) / uint64(f.bpg)
	if uint64(f.inodes) != groups*uint64(f.ipg) {
		return nil, corrupt(0, "%d inodes is not %d groups of %d", f.inodes, groups, f.ipg)
	}
	f.groups = uint32(groups)
	f.descSize = 32
	if f.incompat&incompat64bit != 0 {
		f.descSize = int64(le.Uint16(sb[0xFE:]))
		if f.descSize < 64 || f.descSize > 1024 || f.descSize&(f.descSize-1) != 0 {
			return nil, corrupt(0, "group descriptor size %d invalid", f.descSize)
		}
	}
	for i := range f.hashSeed {
		f.hashSeed[i] = le.Uint32(sb[0xEC+4*i:])
	}
	f.hashVer = sb[0xFC]
	f.unsigned = le.Uint32(sb[0x160:])&0x2 != 0
	if err := f.readGroupDescs(); err != nil {
		return nil, err
	}
	return f, nil
}

// groupHasSuper reports whether block group g holds a copy of the
// superblock (and so of the descriptors), following sparse_super.
func (f *FS) groupHasSuper(g uint64) bool {
	if g <= 1 || f.roCompat&roCompatSparseSuper == 0 {
		return true
	}
	if g&1 == 0 {
		return false
	}
	for _, p := range []uint64{3, 5, 7} {
		n := p
		for n < g {
			n *= p
		}
		if n == g {
			return true
		}
	}
	return false
}

func (f *FS) readGroupDescs() error {
	perBlock := uint64(f.blockSize / f.descSize)
	nblocks := (uint64(f.groups) + perBlock - 1) / perBlock
	firstMeta := uint64(le.Uint32(f.sb[0x104:]))
	f.gd = make([]groupDesc, f.groups)
	buf := make([]byte, f.blockSize)
	for i := uint64(0); i < nblocks; i++ {
		blk := f.firstData + 1 + i
		if f.incompat&incompatMetaBG != 0 && i >= firstMeta {
			g := i * perBlock
			blk = f.firstData + g*uint64(f.bpg)
			if f.groupHasSuper(g) {
				blk++
			}
		}
		if err := f.readBlock(buf, blk); err != nil {
			return fmt.Errorf("ext4: group descriptors: %w", err)
		}
		for j := uint64(0); j < perBlock && i*perBlock+j < uint64(f.groups); j++ {
			g := uint32(i*perBlock + j)
			d := buf[j*uint64(f.descSize) : (j+1)*uint64(f.descSize)]
			if f.csum {
				var gn [4]byte
				le.PutUint32(gn[:], g)
				c := crc32c(f.csumSeed, gn[:])
				c = crc32c(c, d[:0x1E])
				c = crc32c(c, []byte{0, 0})
				c = crc32c(c, d[0x20:])
				if want := le.Uint16(d[0x1E:]); uint16(c) != want {
					return corrupt(0, "group descriptor %d checksum mismatch (stored %#04x, computed %#04x)", g, want, uint16(c))
				}
			}
			if !f.csum && f.roCompat&roCompatGdtCsum != 0 {
				var gn [4]byte
				le.PutUint32(gn[:], g)
				c := crc16(0xFFFF, f.sb[0x68:0x78])
				c = crc16(c, gn[:])
				c = crc16(c, d[:0x1E])
				c = crc16(c, d[0x20:])
				if want := le.Uint16(d[0x1E:]); c != want {
					return corrupt(0, "group descriptor %d checksum (gdt_csum) mismatch (stored %#04x, computed %#04x)", g, want, c)
				}
			}
			it := uint64(le.Uint32(d[0x8:]))
			if f.descSize >= 64 {
				it |= uint64(le.Uint32(d[0x28:])) << 32
			}
			tableBlocks := (uint64(f.ipg)*uint64(f.inodeSize) + uint64(f.blockSize) - 1) / uint64(f.blockSize)
			if it <= f.firstData || it >= f.blocks || it+tableBlocks > f.blocks {
				return corrupt(0, "group %d: inode table at block %d out of range", g, it)
			}
			f.gd[g] = groupDesc{inodeTable: it, flags: le.Uint16(d[0x12:])}
		}
	}
	return nil
}

// readBlock reads block n into buf (len(buf) == block size), checking
// that n lies inside the filesystem.
func (f *FS) readBlock(buf []byte, n uint64) error {
	return f.readBlocks(buf, n)
}

// readBlocks reads len(buf) bytes starting at block n.
func (f *FS) readBlocks(buf []byte, n uint64) error {
	cnt := (uint64(len(buf)) + uint64(f.blockSize) - 1) / uint64(f.blockSize)
	if n >= f.blocks || cnt > f.blocks-n {
		return corrupt(0, "block %d out of range (filesystem has %d)", n, f.blocks)
	}
	if _, err := f.dev.ReadAt(buf, int64(n)*f.blockSize); err != nil {
		if err == io.EOF {
			return corrupt(0, "block %d beyond the end of the device", n)
		}
		return fmt.Errorf("ext4: reading block %d: %w", n, err)
	}
	return nil
}

// BlockSize is the filesystem's block size in bytes.
func (f *FS) BlockSize() int64 { return f.blockSize }

// UUID is the filesystem's UUID (s_uuid).
func (f *FS) UUID() [16]byte {
	var u [16]byte
	copy(u[:], f.sb[0x68:0x78])
	return u
}

// Label is the volume name (s_volume_name).
func (f *FS) Label() string {
	b := f.sb[0x78:0x88]
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// Statfs holds what statfs(2) reports for the filesystem.
type Statfs struct {
	Type    uint32 // Magic
	Bsize   int64  // block size
	Blocks  uint64 // data blocks (blocks minus metadata overhead)
	Bfree   uint64 // free blocks
	Bavail  uint64 // free blocks for unprivileged users
	Files   uint64 // inodes
	Ffree   uint64 // free inodes
	Fsid    [2]uint32
	Namelen int64
	Frsize  int64
}

// Statfs reports the filesystem's sizes from the superblock. Like Linux,
// it counts the metadata blocks (s_overhead_clusters when mke2fs stored
// it, else the inode tables, bitmaps and superblock copies) out of Blocks.
func (f *FS) Statfs() Statfs {
	sb := f.sb
	free := uint64(le.Uint32(sb[0xC:]))
	resv := uint64(le.Uint32(sb[0x8:]))
	if f.incompat&incompat64bit != 0 {
		free |= uint64(le.Uint32(sb[0x158:])) << 32
		resv |= uint64(le.Uint32(sb[0x154:])) << 32
	}
	overhead := uint64(le.Uint32(sb[0x248:]))
	if overhead == 0 {
		overhead = f.firstData
		itb := (uint64(f.ipg)*uint64(f.inodeSize) + uint64(f.blockSize) - 1) / uint64(f.blockSize)
		gdb := (uint64(f.groups)*uint64(f.descSize) + uint64(f.blockSize) - 1) / uint64(f.blockSize)
		for g := uint64(0); g < uint64(f.groups); g++ {
			overhead += 2 + itb
			if f.groupHasSuper(g) {
				overhead += 1 + gdb + uint64(le.Uint16(sb[0xCE:]))
			}
		}
	}
	if overhead > f.blocks {
		overhead = f.blocks
	}
	st := Statfs{
		Type:    Magic,
		Bsize:   f.blockSize,
		Frsize:  f.blockSize,
		Blocks:  f.blocks - overhead,
		Bfree:   free,
		Files:   uint64(f.inodes),
		Ffree:   uint64(le.Uint32(sb[0x10:])),
		Namelen: 255,
	}
	if free > resv {
		st.Bavail = free - resv
	}
	u := sb[0x68:0x78]
	st.Fsid[0] = le.Uint32(u[0:]) ^ le.Uint32(u[8:])
	st.Fsid[1] = le.Uint32(u[4:]) ^ le.Uint32(u[12:])
	return st
}
