package ext4

import (
	"errors"
	"syscall"
)

// Directory entry types (d_type of getdents64).
const (
	DT_UNKNOWN = 0
	DT_FIFO    = 1
	DT_CHR     = 2
	DT_DIR     = 4
	DT_BLK     = 6
	DT_REG     = 8
	DT_LNK     = 10
	DT_SOCK    = 12
)

// ftToDT maps ext4's dirent file_type to d_type.
var ftToDT = [8]uint8{DT_UNKNOWN, DT_REG, DT_DIR, DT_CHR, DT_BLK, DT_FIFO, DT_SOCK, DT_LNK}

// DirEntry is one entry of a directory.
type DirEntry struct {
	Name string
	Ino  uint32
	Type uint8 // DT_*
	// Off is the position of the entry after this one, as getdents64's
	// d_off: reading the directory again and skipping the entries whose
	// Off is <= a remembered Off resumes after that entry.
	Off int64
}

const (
	direntHead  = 8
	tailSize    = 12   // the metadata_csum tail of a leaf block
	tailFT      = 0xDE // its file_type marker
	maxNameLen  = 255
	dxRootCount = 0x20 // offset of the root's count/limit header
	dxNodeCount = 8    // offset of an interior node's count/limit header
)

// parseDirents calls fn for each used entry of a block (or inline region)
// of directory entries that starts at directory position base. fn returns
// false to stop early.
func (n *Inode) parseDirents(b []byte, base int64, fn func(DirEntry) bool) (bool, error) {
	ft := n.fs.incompat&incompatFiletype != 0
	for pos := 0; pos < len(b); {
		if pos+direntHead > len(b) {
			return false, corrupt(n.ino, "directory entry at %d truncated", base+int64(pos))
		}
		ino := le.Uint32(b[pos:])
		recLen := int(le.Uint16(b[pos+4:]))
		if n.fs.blockSize == 65536 && (recLen == 65535 || recLen == 0) {
			recLen = 65536
		}
		nameLen := int(b[pos+6])
		typ := uint8(DT_UNKNOWN)
		if ft {
			if t := b[pos+7]; t < 8 {
				typ = ftToDT[t]
			}
		} else {
			nameLen |= int(b[pos+7]) << 8
		}
		if recLen < direntHead+nameLen || recLen%4 != 0 || pos+recLen > len(b) || nameLen > maxNameLen {
			return false, corrupt(n.ino, "directory entry at %d: bad record length %d (name length %d)", base+int64(pos), recLen, nameLen)
		}
		if ino != 0 {
			if ino > n.fs.inodes {
				return false, corrupt(n.ino, "directory entry at %d: inode %d out of range", base+int64(pos), ino)
			}
			e := DirEntry{Name: string(b[pos+direntHead : pos+direntHead+nameLen]), Ino: ino, Type: typ, Off: base + int64(pos+recLen)}
			if nameLen == 0 {
				return false, corrupt(n.ino, "directory entry at %d: empty name", base+int64(pos))
			}
			if !fn(e) {
				return false, nil
			}
		}
		pos += recLen
	}
	return true, nil
}

// hasTail reports whether a directory block ends with a checksum tail.
func hasTail(b []byte) bool {
	t := b[len(b)-tailSize:]
	return le.Uint32(t) == 0 && le.Uint16(t[4:]) == tailSize && t[6] == 0 && t[7] == tailFT
}

// dirBlock reads logical block i of the directory and checks its
// checksum. leaf tells whether it holds entries (a leaf, whose usable part
// is returned without the tail) or is an htree node (returned whole).
func (n *Inode) dirBlock(i int64) (b []byte, leaf bool, err error) {
	bs := n.fs.blockSize
	b = make([]byte, bs)
	m, err := n.mapBlock(uint64(i), 1)
	if err != nil {
		return nil, false, err
	}
	if m.hole || m.unwritten {
		return nil, false, corrupt(n.ino, "hole at directory block %d", i)
	}
	if err := n.fs.readBlock(b, m.phys); err != nil {
		return nil, false, err
	}
	isNode := false
	if n.flag&flagIndex != 0 {
		if i == 0 {
			isNode = n.isDxRoot(b)
		} else {
			isNode = le.Uint32(b) == 0 && recLenIs(le.Uint16(b[4:]), bs)
		}
	}
	if !n.fs.csum {
		return b, !isNode, nil
	}
	if hasTail(b) {
		want := le.Uint32(b[bs-4:])
		if got := crc32c(n.seed, b[:bs-tailSize]); got != want {
			return nil, false, corrupt(n.ino, "directory block %d checksum mismatch (stored %#08x, computed %#08x)", i, want, got)
		}
		return b[:bs-tailSize], true, nil
	}
	if isNode {
		countOff := dxNodeCount
		if i == 0 {
			countOff = dxRootCount
		}
		if err := n.verifyDx(b, countOff, i); err != nil {
			return nil, false, err
		}
		return b, false, nil
	}
	return nil, false, corrupt(n.ino, "directory block %d has no checksum tail", i)
}

// recLenIs reports whether an on-disk rec_len means length bs (64 KiB
// does not fit 16 bits and is stored as 65535 or 0).
func recLenIs(raw uint16, bs int64) bool {
	if bs == 65536 {
		return raw == 65535 || raw == 0
	}
	return int64(raw) == bs
}

// isDxRoot reports whether block 0 of an indexed directory looks like an
// htree root (so that it is not read as a list of entries).
func (n *Inode) isDxRoot(b []byte) bool {
	return len(b) >= dxRootCount+8 && le.Uint32(b[0x18:]) == 0 && b[0x1D] == 8
}

// verifyDx checks the dx_tail checksum of an htree node.
func (n *Inode) verifyDx(b []byte, countOff int, i int64) error {
	limit := int(le.Uint16(b[countOff:]))
	count := int(le.Uint16(b[countOff+2:]))
	tail := countOff + 8*limit
	if count > limit || tail+8 > len(b) {
		return corrupt(n.ino, "htree block %d: count %d, limit %d invalid", i, count, limit)
	}
	c := crc32c(n.seed, b[:countOff+8*count])
	c = crc32c(c, b[tail:tail+4])
	c = crc32c(c, []byte{0, 0, 0, 0}) // the checksum field, as zero
	if want := le.Uint32(b[tail+4:]); c != want {
		return corrupt(n.ino, "htree block %d checksum mismatch (stored %#08x, computed %#08x)", i, want, c)
	}
	return nil
}

// dirBlocks is the number of blocks of a block directory, checked against
// the filesystem's size so that a bad i_size cannot make a long loop.
func (n *Inode) dirBlocks() (int64, error) {
	bs := n.fs.blockSize
	if n.size%bs != 0 || uint64(n.size/bs) > n.fs.blocks {
		return 0, corrupt(n.ino, "directory size %d invalid", n.size)
	}
	return n.size / bs, nil
}

// forEach calls fn on every entry of the directory in on-disk order,
// starting with the block that holds position from.
func (n *Inode) forEach(from int64, fn func(DirEntry) bool) error {
	if !n.IsDir() {
		return syscall.ENOTDIR
	}
	if n.flag&flagInlineData != 0 {
		data, err := n.inlineData()
		if err != nil {
			return err
		}
		if int64(len(data)) < n.size || n.size < iBlockLen {
			return corrupt(n.ino, "inline directory of %d bytes, size %d", len(data), n.size)
		}
		parent := le.Uint32(data)
		// "." and ".." are not stored: the first word is the parent.
		if !fn(DirEntry{Name: ".", Ino: n.ino, Type: DT_DIR, Off: 1}) {
			return nil
		}
		if !fn(DirEntry{Name: "..", Ino: parent, Type: DT_DIR, Off: 4}) {
			return nil
		}
		more, err := n.parseDirents(data[4:iBlockLen], 4, fn)
		if err != nil || !more {
			return err
		}
		_, err = n.parseDirents(data[iBlockLen:n.size], iBlockLen, fn)
		return err
	}
	nb, err := n.dirBlocks()
	if err != nil {
		return err
	}
	for i := from / n.fs.blockSize; i < nb; i++ {
		b, leaf, err := n.dirBlock(i)
		if err != nil {
			return err
		}
		if !leaf && i != 0 {
			continue
		}
		if !leaf {
			// The htree root still holds "." and "..".
			b = b[:dxRootCount]
			if le.Uint16(b[12+4:]) != uint16(n.fs.blockSize-12) {
				return corrupt(n.ino, "htree root: bad \"..\" entry")
			}
			b = b[:24]
			le.PutUint16(b[16:], 12)
		}
		more, err := n.parseDirents(b, i*n.fs.blockSize, fn)
		if err != nil || !more {
			return err
		}
	}
	return nil
}

// ReadDir returns the directory's entries in on-disk order, "." and ".."
// included.
func (n *Inode) ReadDir() ([]DirEntry, error) {
	var out []DirEntry
	err := n.forEach(0, func(e DirEntry) bool {
		out = append(out, e)
		return true
	})
	return out, err
}

// ReadDirAt calls fn on the directory's entries after position off (the
// Off of the last entry already seen, 0 for the start), in on-disk order,
// until fn returns false: what getdents64 needs to continue a listing
// without reading the directory from its start. The entries of a read-only
// filesystem never move, so positions stay valid.
func (n *Inode) ReadDirAt(off int64, fn func(DirEntry) bool) error {
	if off < 0 {
		return syscall.EINVAL
	}
	return n.forEach(off, func(e DirEntry) bool { return e.Off <= off || fn(e) })
}

// Parent returns the directory that holds this directory (through "..")
// and the name this one has there, as a VFS needs for getcwd; the root
// returns itself and "". ENOENT when the parent has no entry for it.
func (n *Inode) Parent() (*Inode, string, error) {
	if !n.IsDir() {
		return nil, "", syscall.ENOTDIR
	}
	pino, err := n.LookupIno("..")
	if err != nil {
		return nil, "", err
	}
	if pino == n.ino {
		return n, "", nil
	}
	p, err := n.fs.Inode(pino)
	if err != nil {
		return nil, "", err
	}
	if !p.IsDir() {
		return nil, "", corrupt(n.ino, "\"..\" is inode %d, not a directory", pino)
	}
	name := ""
	err = p.forEach(0, func(e DirEntry) bool {
		if e.Ino == n.ino && e.Name != "." && e.Name != ".." {
			name = e.Name
			return false
		}
		return true
	})
	if err != nil {
		return nil, "", err
	}
	if name == "" {
		return nil, "", syscall.ENOENT
	}
	return p, name, nil
}

// Lookup finds name in the directory and opens its inode: through the
// hash tree when the directory has one, else by reading it in order.
// Errors: syscall.ENOTDIR, syscall.ENOENT, syscall.ENAMETOOLONG or a
// *CorruptError.
func (n *Inode) Lookup(name string) (*Inode, error) {
	ino, err := n.LookupIno(name)
	if err != nil {
		return nil, err
	}
	return n.fs.Inode(ino)
}

// LookupIno finds name in the directory and returns its inode number.
func (n *Inode) LookupIno(name string) (uint32, error) {
	if !n.IsDir() {
		return 0, syscall.ENOTDIR
	}
	if len(name) > maxNameLen {
		return 0, syscall.ENAMETOOLONG
	}
	if name == "" {
		return 0, syscall.ENOENT
	}
	// "." and ".." are in the htree root, found at once by the linear
	// search.
	if name != "." && name != ".." && n.flag&flagIndex != 0 && n.flag&flagInlineData == 0 && n.fs.compat&compatDirIndex != 0 && n.size > n.fs.blockSize {
		ino, err := n.dxLookup(name)
		if !errors.Is(err, errBadDx) {
			return ino, err
		}
		// Like Linux, a hash tree it cannot follow falls back to a
		// linear search.
	}
	var found uint32
	err := n.forEach(0, func(e DirEntry) bool {
		if e.Name == name {
			found = e.Ino
			return false
		}
		return true
	})
	if err != nil {
		return 0, err
	}
	if found == 0 {
		return 0, syscall.ENOENT
	}
	return found, nil
}

var errBadDx = errors.New("ext4: unusable htree")

type dxLevel struct {
	b        []byte
	countOff int
	count    int
	idx      int
}

func (l *dxLevel) hash(i int) uint32 { return le.Uint32(l.b[l.countOff+8*i:]) }
func (l *dxLevel) block(i int) int64 {
	return int64(le.Uint32(l.b[l.countOff+8*i+4:]) & 0x0fffffff)
}

// dxNode reads an htree node (root or interior) and checks its header.
func (n *Inode) dxNode(i int64, countOff int) (*dxLevel, error) {
	b, leaf, err := n.dirBlock(i)
	if err != nil {
		return nil, err
	}
	if leaf {
		return nil, errBadDx
	}
	limit := int(le.Uint16(b[countOff:]))
	count := int(le.Uint16(b[countOff+2:]))
	want := (len(b) - countOff) / 8
	if n.fs.csum {
		want--
	}
	if limit != want || count == 0 || count > limit {
		return nil, errBadDx
	}
	return &dxLevel{b: b, countOff: countOff, count: count}, nil
}

// dxLookup walks the hash tree to the leaf that holds name's hash and
// searches it, and the following leaves while their hash continues (a
// collision chain, marked by the low bit of the next index hash).
func (n *Inode) dxLookup(name string) (uint32, error) {
	root, err := n.dxNode(0, dxRootCount)
	if err != nil {
		return 0, err
	}
	b := root.b
	ver := b[0x1C]
	levels := int(b[0x1E])
	maxLevels := 2
	if n.fs.incompat&incompatLargeDir != 0 {
		maxLevels = 3
	}
	if !n.isDxRoot(b) || levels >= maxLevels {
		return 0, errBadDx
	}
	if ver <= hashTea && n.fs.unsigned {
		ver += 3
	}
	hash, ok := n.fs.dirHash([]byte(name), ver)
	if !ok {
		return 0, errBadDx
	}
	nb, err := n.dirBlocks()
	if err != nil {
		return 0, err
	}
	// The last entry whose hash is <= hash (entry 0 covers from 0).
	byHash := func(l *dxLevel) int {
		i := 0
		for j := 1; j < l.count; j++ {
			if l.hash(j) > hash {
				break
			}
			i = j
		}
		return i
	}
	first := func(*dxLevel) int { return 0 }
	path := []*dxLevel{root}
	// down reads the interior nodes below path[d], choosing an entry in
	// each with pick, until path reaches the leaf index level.
	down := func(d int, pick func(*dxLevel) int) error {
		path = path[:d+1]
		for len(path) <= levels {
			l := path[len(path)-1]
			blk := l.block(l.idx)
			if blk <= 0 || blk >= nb {
				return errBadDx
			}
			child, err := n.dxNode(blk, dxNodeCount)
			if err != nil {
				return err
			}
			child.idx = pick(child)
			path = append(path, child)
		}
		return nil
	}
	root.idx = byHash(root)
	if err := down(0, byHash); err != nil {
		return 0, err
	}
	// At most every block once.
	for steps := int64(0); steps < nb; steps++ {
		last := path[len(path)-1]
		blk := last.block(last.idx)
		if blk <= 0 || blk >= nb {
			return 0, errBadDx
		}
		lb, leaf, err := n.dirBlock(blk)
		if err != nil {
			return 0, err
		}
		if !leaf {
			return 0, errBadDx
		}
		var found uint32
		if _, err := n.parseDirents(lb, blk*n.fs.blockSize, func(e DirEntry) bool {
			if e.Name == name {
				found = e.Ino
				return false
			}
			return true
		}); err != nil {
			return 0, err
		}
		if found != 0 {
			return found, nil
		}
		// The next leaf continues the chain only when its index entry
		// has the same hash with the collision bit set.
		d := len(path) - 1
		for d >= 0 && path[d].idx+1 >= path[d].count {
			d--
		}
		if d < 0 {
			return 0, syscall.ENOENT
		}
		next := path[d].hash(path[d].idx + 1)
		if next&1 == 0 || next&^1 != hash {
			return 0, syscall.ENOENT
		}
		path[d].idx++
		if err := down(d, first); err != nil {
			return 0, err
		}
	}
	return 0, errBadDx
}
