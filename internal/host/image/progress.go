package image

import (
	"io"
	"sort"
	"strconv"

	"github.com/gosv/gosv/internal/host/initrd"
)

// sortEntries sorts entries by guest path.
func sortEntries(es []initrd.Entry) {
	sort.Slice(es, func(i, j int) bool { return es[i].GuestPath < es[j].GuestPath })
}

// progressWriter passes the initrd through to w and follows the newc
// stream (cpio(5): a 110-byte ASCII header "070701" with the mode at
// offset 14, the file size at 54 and the name size at 94, each 8 hex
// digits; the name and the data each padded to 4 bytes) to count the
// regular files and their bytes as they are written.
type progressWriter struct {
	w        io.Writer
	fn       func(Progress)
	p        Progress
	hdr      [110]byte
	nhdr     int
	nameLeft int64 // bytes of the entry's name and its padding still to pass
	dataLeft int64 // bytes of its data
	padLeft  int64 // bytes of the data's padding
	isReg    bool
	end      bool // past the trailer, or not a newc stream
}

func newProgressWriter(w io.Writer, fn func(Progress), files int, bytes int64) *progressWriter {
	return &progressWriter{w: w, fn: fn, p: Progress{TotalFiles: files, TotalBytes: bytes}}
}

func (pw *progressWriter) Write(b []byte) (int, error) {
	n, err := pw.w.Write(b)
	if pw.fn != nil {
		pw.scan(b[:n])
		pw.fn(pw.p)
	}
	return n, err
}

// done reports the end.
func (pw *progressWriter) done() {
	if pw.fn != nil {
		pw.p.Done = true
		pw.fn(pw.p)
	}
}

func pad4(n int64) int64 { return (n + 3) &^ 3 }

func (pw *progressWriter) scan(b []byte) {
	for len(b) > 0 && !pw.end {
		switch {
		case pw.nameLeft > 0:
			n := min(int64(len(b)), pw.nameLeft)
			pw.nameLeft -= n
			b = b[n:]
		case pw.dataLeft > 0:
			n := min(int64(len(b)), pw.dataLeft)
			pw.dataLeft -= n
			b = b[n:]
			if pw.isReg {
				pw.p.Bytes += n
				if pw.dataLeft == 0 {
					pw.p.Files++
				}
			}
		case pw.padLeft > 0:
			n := min(int64(len(b)), pw.padLeft)
			pw.padLeft -= n
			b = b[n:]
		default:
			n := copy(pw.hdr[pw.nhdr:], b)
			pw.nhdr += n
			b = b[n:]
			if pw.nhdr < len(pw.hdr) {
				return
			}
			pw.nhdr = 0
			pw.header()
		}
	}
}

// header reads a complete header.
func (pw *progressWriter) header() {
	field := func(off int) (int64, bool) {
		v, err := strconv.ParseUint(string(pw.hdr[off:off+8]), 16, 32)
		return int64(v), err == nil
	}
	mode, ok1 := field(14)
	size, ok2 := field(54)
	nameSize, ok3 := field(94)
	if string(pw.hdr[:6]) != "070701" || !ok1 || !ok2 || !ok3 || mode == 0 {
		pw.end = true // the trailer (mode 0), or not newc
		return
	}
	pw.isReg = mode&0o170000 == 0o100000
	pw.nameLeft = pad4(int64(len(pw.hdr))+nameSize) - int64(len(pw.hdr))
	pw.dataLeft = size
	pw.padLeft = pad4(size) - size
	if pw.isReg && size == 0 {
		pw.p.Files++
	}
}
