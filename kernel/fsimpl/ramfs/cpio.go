package ramfs

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/cavaliergopher/cpio"
	"golang.org/x/sys/unix"
)

// UnpackCPIO unpacks a "newc" (070701, or 070702 with checksums) cpio
// archive into the filesystem, as the Linux kernel unpacks an initramfs
// (Documentation/driver-api/early-userspace/buffer-format.rst, cpio(5)).
//
// Names are relative to the root ("./" and "/" prefixes are dropped, ".."
// cannot climb above the root); missing parent directories are created
// (mode 0755). Regular files, directories, symlinks, FIFOs, sockets and
// device nodes keep the archive's permission bits, owner and mtime; no
// umask applies. Regular files whose header repeats an inode number (with
// nlink >= 2) become hard links of the first, the data coming with any of
// them (GNU cpio puts it on the last). An existing name is replaced, except
// that an existing directory is kept (and takes the new attributes) and an
// existing device node of the same type is kept. Directory mtimes are set
// after all entries. Concatenated archives (separated by NUL padding) are
// all unpacked; the "." entry is ignored and each archive must end with the
// "TRAILER!!!" entry. Errors name the entry and the byte offset.
func (fs *FS) UnpackCPIO(r io.Reader) error {
	u := &unpacker{fs: fs, rec: &recorder{r: bufio.NewReaderSize(r, 64<<10)}, links: map[linkKey]*Inode{}}
	err := u.run()
	now := fs.now()
	fs.mu.Lock()
	for _, d := range u.dirTimes {
		d.ino.mu.Lock()
		d.ino.mtime = d.mtime
		d.ino.atime = d.mtime
		d.ino.ctime = now
		d.ino.mu.Unlock()
	}
	fs.mu.Unlock()
	return err
}

// recorder counts the bytes read and, while on, keeps the tail of them so
// that the raw header of the last entry can be recovered (the cpio package
// does not expose device numbers).
type recorder struct {
	r   *bufio.Reader
	off int64
	on  bool
	buf []byte
}

const recordMax = 32 << 10

func (rc *recorder) Read(p []byte) (int, error) {
	n, err := rc.r.Read(p)
	rc.off += int64(n)
	if rc.on && n > 0 {
		rc.buf = append(rc.buf, p[:n]...)
		if len(rc.buf) > recordMax {
			rc.buf = append(rc.buf[:0], rc.buf[len(rc.buf)-recordMax/2:]...)
		}
	}
	return n, err
}

type linkKey struct {
	ino          int64
	major, minor uint32
}

type dirTime struct {
	ino   *Inode
	mtime Timespec
}

type unpacker struct {
	fs       *FS
	rec      *recorder
	links    map[linkKey]*Inode
	dirTimes []dirTime
	last     string // name of the last entry read, for errors
	count    int
}

func (u *unpacker) where() string {
	if u.last == "" {
		return "at the first entry"
	}
	return fmt.Sprintf("after entry %q", u.last)
}

func (u *unpacker) run() error {
	for {
		cr := cpio.NewReader(u.rec)
		pad := int64(0) // padding after the previous entry's data
		for {
			start := u.rec.off + pad // where the next header begins
			u.rec.buf = u.rec.buf[:0]
			u.rec.on = true
			hdr, err := cr.Next()
			u.rec.on = false
			if err == io.EOF {
				if bytes.HasSuffix(u.rec.buf, []byte("TRAILER!!!\x00")) {
					break
				}
				if u.count == 0 && u.rec.off == 0 {
					return nil // empty input: no archive at all
				}
				return fmt.Errorf("cpio: archive truncated at byte %d %s: no TRAILER!!! entry", start, u.where())
			}
			if err != nil {
				if err == io.ErrUnexpectedEOF {
					err = fmt.Errorf("truncated header: %w", err)
				}
				return fmt.Errorf("cpio: corrupt archive at byte %d %s: %w", start, u.where(), err)
			}
			u.last = hdr.Name
			u.count++
			start = u.rec.off - int64(headerLen(hdr))
			pad = (4 - (hdr.Size+int64(len(hdr.Linkname)))%4) % 4
			raw := u.rawHeader(hdr)
			if err := u.entry(cr, hdr, raw); err != nil {
				return fmt.Errorf("cpio: entry %q (at byte %d): %w", hdr.Name, start, err)
			}
			// Drain data the entry did not consume (e.g. device nodes).
			if _, err := io.Copy(io.Discard, cr); err != nil {
				return fmt.Errorf("cpio: entry %q (at byte %d): %w", hdr.Name, start, err)
			}
		}
		// Skip the NUL padding after a trailer; more data is another archive.
		for {
			b, err := u.rec.r.ReadByte()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return fmt.Errorf("cpio: reading at byte %d: %w", u.rec.off, err)
			}
			if b != 0 {
				u.rec.r.UnreadByte()
				break
			}
			u.rec.off++
		}
	}
}

// headerLen is the length of the header of hdr as read by the cpio package:
// fixed part, name, padding and, for a symlink, its target.
func headerLen(hdr *cpio.Header) int {
	nameLen := len(hdr.Name) + 1
	return 110 + nameLen + (4-(110+nameLen)%4)%4 + len(hdr.Linkname)
}

// rawHeader returns the 110-byte header of the entry just read, or nil.
func (u *unpacker) rawHeader(hdr *cpio.Header) []byte {
	n := headerLen(hdr)
	b := u.rec.buf
	if len(b) < n {
		return nil
	}
	raw := b[len(b)-n:][:110]
	if !bytes.HasPrefix(raw, []byte("07070")) {
		return nil
	}
	return raw
}

func rawField(raw []byte, off int) uint32 {
	if raw == nil {
		return 0
	}
	v, _ := strconv.ParseUint(string(raw[off:off+8]), 16, 32)
	return uint32(v)
}

// entry creates one archive entry.
func (u *unpacker) entry(cr *cpio.Reader, hdr *cpio.Header, raw []byte) error {
	name := strings.TrimPrefix(path.Clean("/"+hdr.Name), "/")
	if name == "" {
		return nil // "." (or "/"): the root itself
	}
	fs := u.fs
	typ := uint32(hdr.Mode) & S_IFMT
	perm := uint32(hdr.Mode) & 0o7777
	mtime := Timespec{Sec: hdr.ModTime.Unix()}
	uid, gid := uint32(hdr.Uid), uint32(hdr.Guid)
	switch typ {
	case S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK:
	default:
		return fmt.Errorf("unknown file type in mode %#o", uint32(hdr.Mode))
	}
	if typ != S_IFREG && typ != S_IFDIR && typ != S_IFLNK && hdr.Size != 0 {
		return fmt.Errorf("%#o node with %d bytes of data", typ, hdr.Size)
	}

	fs.mu.Lock()
	locked := true
	defer func() {
		if locked {
			fs.mu.Unlock()
		}
	}()
	parent, base, err := u.parentDir(name)
	if err != nil {
		return err
	}
	now := fs.now()
	existing := parent.dir.lookup(base)
	setAttrs := func(ino *Inode) {
		ino.mu.Lock()
		ino.perm, ino.uid, ino.gid = perm, uid, gid
		ino.atime, ino.mtime, ino.ctime = mtime, mtime, now
		ino.mu.Unlock()
	}

	// Hard links: a regular file repeating an inode number seen before.
	var key linkKey
	hardlink := typ == S_IFREG && hdr.Links >= 2
	if hardlink {
		key = linkKey{hdr.Inode, rawField(raw, 62), rawField(raw, 70)}
		if target := u.links[key]; target != nil {
			if existing != target {
				if err := u.remove(parent, base, existing, now); err != nil {
					return err
				}
				fs.addLink(parent, base, target, now)
			}
			if hdr.Size > 0 {
				fs.mu.Unlock()
				locked = false
				return u.fill(target, cr, hdr.Size, mtime)
			}
			return nil
		}
	}

	switch typ {
	case S_IFDIR:
		if existing != nil && existing.typ == S_IFDIR {
			setAttrs(existing)
			u.dirTimes = append(u.dirTimes, dirTime{existing, mtime})
			return nil
		}
	case S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK:
		if existing != nil && existing.typ == typ {
			setAttrs(existing)
			return nil
		}
	}
	if err := u.remove(parent, base, existing, now); err != nil {
		return err
	}
	ino := fs.newInode(typ, perm, uid, gid, mtime)
	ino.ctime = now
	switch typ {
	case S_IFDIR:
		u.dirTimes = append(u.dirTimes, dirTime{ino, mtime})
	case S_IFLNK:
		if hdr.Linkname == "" {
			return errors.New("empty symlink target")
		}
		ino.target = hdr.Linkname
	case S_IFCHR, S_IFBLK:
		ino.rdev = Mkdev(rawField(raw, 78), rawField(raw, 86))
	}
	fs.addLink(parent, base, ino, now)
	ino.mu.Lock()
	ino.ctime, ino.btime = now, now
	ino.mu.Unlock()
	if hardlink {
		u.links[key] = ino
	}
	if typ == S_IFREG && hdr.Size > 0 {
		fs.mu.Unlock()
		locked = false
		return u.fill(ino, cr, hdr.Size, mtime)
	}
	return nil
}

// fill reads size bytes of file data into the regular file ino.
func (u *unpacker) fill(ino *Inode, cr *cpio.Reader, size int64, mtime Timespec) error {
	ino.mu.Lock()
	defer ino.mu.Unlock()
	if err := ino.resizeLocked(0); err != nil {
		return err
	}
	if err := ino.resizeLocked(size); err != nil {
		return fmt.Errorf("%d bytes of data: %w", size, err)
	}
	n, err := io.ReadFull(cr, ino.data)
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return fmt.Errorf("truncated data (%d of %d bytes): %w", n, size, io.ErrUnexpectedEOF)
		}
		return err
	}
	ino.mtime, ino.atime = mtime, mtime
	return nil
}

// remove clears the name base in parent for a new entry: non-directories
// are unlinked, empty directories removed. fs.mu is held.
func (u *unpacker) remove(parent *Inode, base string, existing *Inode, now Timespec) error {
	if existing == nil {
		return nil
	}
	if existing.typ == S_IFDIR && len(existing.dir.entries) != 0 {
		return fmt.Errorf("cannot replace non-empty directory: %w", unix.ENOTEMPTY)
	}
	u.fs.dropLink(parent, base, existing, now)
	return nil
}

// parentDir returns the directory that holds name (a clean relative path)
// and its last component, creating missing directories. Symlinks on the way
// are followed, as when the kernel unpacks an initramfs. fs.mu is held.
func (u *unpacker) parentDir(name string) (*Inode, string, error) {
	dir, base := path.Split(name)
	if len(base) > NameMax {
		return nil, "", unix.ENAMETOOLONG
	}
	if dir == "" {
		return u.fs.root, base, nil
	}
	fs := u.fs
	res, err := fs.walk(fs.root, "/"+dir, walkFollow)
	if err == nil && res.ino != nil && res.ino.typ == S_IFDIR {
		return res.ino, base, nil
	}
	// Create the missing directories one by one.
	cur := fs.root
	for _, comp := range strings.Split(strings.TrimSuffix(dir, "/"), "/") {
		res, err := fs.walk(cur, comp, walkFollow)
		if err != nil {
			return nil, "", err
		}
		switch {
		case res.ino == nil:
			now := fs.now()
			d := fs.newInode(S_IFDIR, 0o755, 0, 0, now)
			fs.addLink(res.parent, res.name, d, now)
			cur = d
		case res.ino.typ != S_IFDIR:
			return nil, "", fmt.Errorf("parent %q: %w", comp, unix.ENOTDIR)
		default:
			cur = res.ino
		}
	}
	return cur, base, nil
}
