package ext4

import (
	"io"
	"syscall"
)

// ReadAt reads len(p) bytes of the file's data from offset off, with the
// io.ReaderAt contract: fewer bytes only at the end of the file, with
// io.EOF. Holes and unwritten (preallocated) extents read as zeros. It
// works on regular files, directories and symbolic links alike.
func (n *Inode) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, syscall.EINVAL
	}
	switch n.mode & S_IFMT {
	case S_IFREG, S_IFDIR, S_IFLNK:
	default:
		return 0, syscall.EINVAL
	}
	if off >= n.size {
		return 0, io.EOF
	}
	want := len(p)
	if int64(want) > n.size-off {
		p = p[:n.size-off]
	}
	if n.flag&flagInlineData != 0 {
		data, err := n.inlineData()
		if err != nil {
			return 0, err
		}
		if int64(len(data)) < n.size {
			return 0, corrupt(n.ino, "inline data of %d bytes for a file of %d", len(data), n.size)
		}
		c := copy(p, data[off:])
		if c < want {
			return c, io.EOF
		}
		return c, nil
	}
	if n.flag&flagExtents == 0 && n.mode&S_IFMT == S_IFLNK && n.size < iBlockLen {
		c := copy(p, n.raw[iBlockOff+off:iBlockOff+n.size])
		if c < want {
			return c, io.EOF
		}
		return c, nil
	}
	f := n.fs
	bs := f.blockSize
	done := 0
	for done < len(p) {
		pos := off + int64(done)
		lblk := uint64(pos / bs)
		inBlk := pos % bs
		blocks := (uint64(inBlk) + uint64(len(p)-done) + uint64(bs) - 1) / uint64(bs)
		m, err := n.mapBlock(lblk, blocks)
		if err != nil {
			return done, err
		}
		if m.n == 0 {
			return done, corrupt(n.ino, "empty mapping at logical block %d", lblk)
		}
		chunk := int64(m.n)*bs - inBlk
		if chunk > int64(len(p)-done) {
			chunk = int64(len(p) - done)
		}
		dst := p[done : done+int(chunk)]
		if m.hole || m.unwritten {
			clear(dst)
		} else if _, err := f.dev.ReadAt(dst, int64(m.phys)*bs+inBlk); err != nil {
			return done, corrupt(n.ino, "reading block %d: %v", m.phys, err)
		}
		done += int(chunk)
	}
	if done < want {
		return done, io.EOF
	}
	return done, nil
}
