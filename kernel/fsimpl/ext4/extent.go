package ext4

// Mapping logical blocks of a file to disk blocks: through the extent tree
// (inodes with the extents flag) or through the block map of ext2/3
// (twelve direct pointers and single, double and triple indirect blocks).

const (
	extentMagic    = 0xF30A
	maxExtentDepth = 5 // Linux's EXT4_MAX_EXTENT_DEPTH
	initMaxLen     = 32768
	maxLogical     = 1 << 32 // logical block numbers are 32 bits
)

// mapping is the result of looking up a logical block: a run of n blocks
// starting at disk block phys (0 for a hole), which read as zeros when
// hole or unwritten is set.
type mapping struct {
	phys      uint64
	n         uint64
	hole      bool
	unwritten bool
}

// mapBlock maps logical block lblk of the file. The run never reaches past
// limit (the number of logical blocks the caller wants, at least 1).
func (n *Inode) mapBlock(lblk, limit uint64) (mapping, error) {
	if lblk >= maxLogical {
		return mapping{n: limit, hole: true}, nil
	}
	if n.flag&flagExtents != 0 {
		return n.mapExtent(lblk, limit)
	}
	return n.mapIndirect(lblk, limit)
}

// extentHeader checks the 12-byte header at the start of node (the inode's
// i_block or an extent block) and returns its entry count and depth.
func (n *Inode) extentHeader(node []byte, wantDepth int) (entries, depth int, err error) {
	if le.Uint16(node[0:]) != extentMagic {
		return 0, 0, corrupt(n.ino, "extent header: bad magic %#04x", le.Uint16(node[0:]))
	}
	entries = int(le.Uint16(node[2:]))
	max := int(le.Uint16(node[4:]))
	depth = int(le.Uint16(node[6:]))
	if max*12+12 > len(node) || entries > max {
		return 0, 0, corrupt(n.ino, "extent header: %d of %d entries do not fit %d bytes", entries, max, len(node))
	}
	if depth > maxExtentDepth || (wantDepth >= 0 && depth != wantDepth) {
		return 0, 0, corrupt(n.ino, "extent header: depth %d invalid", depth)
	}
	return entries, depth, nil
}

func (n *Inode) mapExtent(lblk, limit uint64) (mapping, error) {
	f := n.fs
	node := n.raw[iBlockOff : iBlockOff+iBlockLen]
	entries, depth, err := n.extentHeader(node, -1)
	if err != nil {
		return mapping{}, err
	}
	var buf []byte
	// next is the first logical block after lblk that a later entry of
	// some level covers; a hole reaches up to it.
	next := uint64(maxLogical)
	for {
		// The last entry whose first block is <= lblk.
		i := -1
		for j := 0; j < entries; j++ {
			start := uint64(le.Uint32(node[12+12*j:]))
			if start > lblk {
				if start < next {
					next = start
				}
				break
			}
			i = j
		}
		if depth == 0 {
			if i >= 0 {
				e := node[12+12*i:]
				start := uint64(le.Uint32(e[0:]))
				length := uint64(le.Uint16(e[4:]))
				unwritten := false
				if length > initMaxLen {
					length -= initMaxLen
					unwritten = true
				}
				if lblk < start+length {
					phys := uint64(le.Uint16(e[6:]))<<32 | uint64(le.Uint32(e[8:]))
					run := start + length - lblk
					if run > limit {
						run = limit
					}
					p := phys + (lblk - start)
					if phys <= f.firstData || p >= f.blocks || run > f.blocks-p {
						return mapping{}, corrupt(n.ino, "extent at logical block %d points to block %d, out of range", start, phys)
					}
					return mapping{phys: p, n: run, unwritten: unwritten}, nil
				}
			}
			run := next - lblk
			if run > limit {
				run = limit
			}
			return mapping{n: run, hole: true}, nil
		}
		if i < 0 {
			run := next - lblk
			if run > limit {
				run = limit
			}
			return mapping{n: run, hole: true}, nil
		}
		e := node[12+12*i:]
		child := uint64(le.Uint16(e[8:]))<<32 | uint64(le.Uint32(e[4:]))
		if child <= f.firstData || child >= f.blocks {
			return mapping{}, corrupt(n.ino, "extent index points to block %d, out of range", child)
		}
		if buf == nil {
			buf = make([]byte, f.blockSize)
		}
		if err := f.readBlock(buf, child); err != nil {
			return mapping{}, err
		}
		wantDepth := depth - 1
		entries, depth, err = n.extentHeader(buf, wantDepth)
		if err != nil {
			return mapping{}, err
		}
		if f.csum {
			max := int(le.Uint16(buf[4:]))
			tail := 12 + 12*max
			if tail+4 > len(buf) {
				return mapping{}, corrupt(n.ino, "extent block %d has no room for its checksum", child)
			}
			want := le.Uint32(buf[tail:])
			if got := crc32c(n.seed, buf[:tail]); got != want {
				return mapping{}, corrupt(n.ino, "extent block %d checksum mismatch (stored %#08x, computed %#08x)", child, want, got)
			}
		}
		node = buf
	}
}

// mapIndirect maps through the block map of i_block: entries 0-11 point to
// data blocks, 12 to a block of pointers, 13 to a block of pointers to
// such blocks, 14 one level deeper. A zero pointer is a hole.
func (n *Inode) mapIndirect(lblk, limit uint64) (mapping, error) {
	f := n.fs
	per := uint64(f.blockSize / 4)
	ib := n.raw[iBlockOff : iBlockOff+iBlockLen]
	// Find which tree lblk is in and its index inside.
	var ptr uint64
	var levels int
	var idx uint64 // index of lblk inside the chosen tree
	var span uint64
	switch {
	case lblk < 12:
		ptr, levels, idx, span = uint64(le.Uint32(ib[4*lblk:])), 0, 0, 12-lblk
	case lblk-12 < per:
		ptr, levels, idx = uint64(le.Uint32(ib[48:])), 1, lblk-12
		span = per - idx
	case lblk-12-per < per*per:
		ptr, levels, idx = uint64(le.Uint32(ib[52:])), 2, lblk-12-per
		span = per*per - idx
	default:
		idx = lblk - 12 - per - per*per
		if idx >= per*per*per {
			return mapping{n: limit, hole: true}, nil
		}
		ptr, levels = uint64(le.Uint32(ib[56:])), 3
		span = per*per*per - idx
	}
	var buf []byte
	for l := levels; ; l-- {
		if ptr == 0 {
			// A hole reaches to the end of the subtree, or of the limit.
			run := span
			if run > limit {
				run = limit
			}
			return mapping{n: run, hole: true}, nil
		}
		if ptr <= f.firstData || ptr >= f.blocks {
			return mapping{}, corrupt(n.ino, "block map points to block %d, out of range", ptr)
		}
		if l == 0 {
			// One block at a time: block-mapped files are rare on
			// ext4, so runs are not merged.
			return mapping{phys: ptr, n: 1}, nil
		}
		if buf == nil {
			buf = make([]byte, f.blockSize)
		}
		if err := f.readBlock(buf, ptr); err != nil {
			return mapping{}, err
		}
		sub := uint64(1)
		for k := 1; k < l; k++ {
			sub *= per
		}
		i := idx / sub
		idx %= sub
		span = sub - idx
		ptr = uint64(le.Uint32(buf[4*i:]))
	}
}
