package ramfs

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestNewRootLayout(t *testing.T) {
	fs, _ := newTestFS(t)
	for _, c := range []struct {
		path string
		mode uint32
		rdev uint64
	}{
		{"/", S_IFDIR | 0o755, 0},
		{"/dev", S_IFDIR | 0o755, 0},
		{"/dev/shm", S_IFDIR | 0o1777, 0},
		{"/tmp", S_IFDIR | 0o1777, 0},
		{"/proc", S_IFDIR | 0o555, 0},
		{"/etc", S_IFDIR | 0o755, 0},
		{"/dev/null", S_IFCHR | 0o666, Mkdev(1, 3)},
		{"/dev/zero", S_IFCHR | 0o666, Mkdev(1, 5)},
		{"/dev/full", S_IFCHR | 0o666, Mkdev(1, 7)},
		{"/dev/random", S_IFCHR | 0o666, Mkdev(1, 8)},
		{"/dev/urandom", S_IFCHR | 0o666, Mkdev(1, 9)},
		{"/dev/console", S_IFCHR | 0o600, Mkdev(5, 1)},
	} {
		st := lstat(t, fs, c.path)
		if st.Mode != c.mode || st.Rdev != c.rdev || st.UID != 0 || st.GID != 0 {
			t.Errorf("%s: mode %#o rdev %#x, want %#o %#x", c.path, st.Mode, st.Rdev, c.mode, c.rdev)
		}
	}
	root := lstat(t, fs, "/")
	if root.Ino != 2 || root.Nlink != 2+4 { // dev tmp proc etc
		t.Errorf("root ino %d nlink %d", root.Ino, root.Nlink)
	}
	if d := lstat(t, fs, "/dev"); d.Nlink != 3 {
		t.Errorf("/dev nlink %d, want 3", d.Nlink)
	}
	if st := lstat(t, fs, "/dev/.."); st.Ino != root.Ino {
		t.Errorf("/dev/.. is not /")
	}
	// The Mkdev encoding is glibc's.
	if got, want := Mkdev(0x12345, 0x6789a), unix.Mkdev(0x12345, 0x6789a); got != want {
		t.Errorf("Mkdev %#x, want %#x", got, want)
	}
	if Major(unix.Mkdev(0x12345, 0x6789a)) != 0x12345 || Minor(unix.Mkdev(0x12345, 0x6789a)) != 0x6789a {
		t.Errorf("Major/Minor do not invert Mkdev")
	}
}

func TestDevices(t *testing.T) {
	fs, _ := newTestFS(t)
	open := func(p string, flags int) *File {
		f, err := fs.Open(nil, p, flags, 0)
		ok(t, err)
		return f
	}
	buf := []byte("xxxxxxxx")
	null := open("/dev/null", unix.O_RDWR)
	if n, err := null.Read(buf); n != 0 || err != nil {
		t.Errorf("read /dev/null = %d, %v", n, err)
	}
	if n, err := null.Write(buf); n != len(buf) || err != nil {
		t.Errorf("write /dev/null = %d, %v", n, err)
	}
	if off, err := null.Seek(100, unix.SEEK_SET); off != 0 || err != nil {
		t.Errorf("lseek /dev/null = %d, %v", off, err)
	}
	zero := open("/dev/zero", unix.O_RDONLY)
	if n, err := zero.Read(buf); n != len(buf) || err != nil || !bytes.Equal(buf, make([]byte, 8)) {
		t.Errorf("read /dev/zero = %d, %v, %q", n, err, buf)
	}
	full := open("/dev/full", unix.O_WRONLY)
	_, err := full.Write(buf)
	wantErrno(t, "write /dev/full", err, unix.ENOSPC)

	fs.SetRandomSource(func(p []byte) (int, error) {
		for i := range p {
			p[i] = byte(i + 1)
		}
		return len(p), nil
	})
	ur := open("/dev/urandom", unix.O_RDONLY)
	if n, err := ur.Read(buf); n != 8 || err != nil || buf[0] != 1 || buf[7] != 8 {
		t.Errorf("read /dev/urandom = %d, %v, %v", n, err, buf)
	}

	var console bytes.Buffer
	fs.SetConsole(func(p []byte) (int, error) { return console.Write(p) }, nil)
	con := open("/dev/console", unix.O_RDWR)
	if n, err := con.Write([]byte("hello\n")); n != 6 || err != nil {
		t.Errorf("write console = %d, %v", n, err)
	}
	if console.String() != "hello\n" {
		t.Errorf("console got %q", console.String())
	}
	_, err = con.Seek(0, unix.SEEK_SET)
	wantErrno(t, "lseek console", err, unix.ESPIPE)
	_, err = con.Pwrite([]byte("x"), 0)
	wantErrno(t, "pwrite console", err, unix.ESPIPE)
	if n, err := con.Read(buf); n != 0 || err != nil {
		t.Errorf("read console without hook = %d, %v", n, err)
	}

	// A device node without a driver opens with ENXIO until it gets hooks.
	ok(t, fs.Mknod(nil, "/dev/mydev", S_IFCHR|0o600, Mkdev(10, 200)))
	_, err = fs.Open(nil, "/dev/mydev", unix.O_RDONLY, 0)
	wantErrno(t, "open driverless device", err, unix.ENXIO)
	ino, err := fs.Lookup(nil, "/dev/mydev", 0)
	ok(t, err)
	ino.SetDevice(&Device{Read: func(p []byte) (int, error) { return copy(p, "dev"), nil }})
	if n, err := open("/dev/mydev", unix.O_RDONLY).Read(buf); n != 3 || err != nil || string(buf[:3]) != "dev" {
		t.Errorf("read hooked device = %d, %v", n, err)
	}
	// FIFOs and sockets are placeholders.
	ok(t, fs.Mknod(nil, "/tmp/fifo", S_IFIFO|0o644, 0))
	ok(t, fs.Mknod(nil, "/tmp/sock", S_IFSOCK|0o644, 0))
	if st := lstat(t, fs, "/tmp/fifo"); st.Mode != S_IFIFO|0o644 {
		t.Errorf("fifo mode %#o", st.Mode)
	}
	_, err = fs.Open(nil, "/tmp/sock", unix.O_RDONLY, 0)
	wantErrno(t, "open socket", err, unix.ENXIO)
	fifo := open("/tmp/fifo", unix.O_RDONLY|unix.O_NONBLOCK)
	_, err = fifo.Read(buf)
	wantErrno(t, "read fifo placeholder", err, unix.ENXIO)
	_, err = fifo.Seek(0, unix.SEEK_SET)
	wantErrno(t, "lseek fifo", err, unix.ESPIPE)
	if a := fifo.RamInode().LoadOrStoreAux("pipe"); a != "pipe" || fifo.RamInode().LoadOrStoreAux("other") != "pipe" {
		t.Errorf("LoadOrStoreAux = %v", a)
	}
	wantErrno(t, "mknod dir", fs.Mknod(nil, "/tmp/d", S_IFDIR|0o755, 0), unix.EPERM)
	wantErrno(t, "mknod bad type", fs.Mknod(nil, "/tmp/d", 0o170000|0o755, 0), unix.EINVAL)
	ok(t, fs.Mknod(nil, "/tmp/reg", 0o600, 0))
	if st := lstat(t, fs, "/tmp/reg"); st.Mode != S_IFREG|0o600 {
		t.Errorf("mknod regular mode %#o", st.Mode)
	}
	fs.SetCred(Cred{UID: 1000, GID: 1000})
	wantErrno(t, "mknod char as user", fs.Mknod(nil, "/tmp/c", S_IFCHR|0o600, 0), unix.EPERM)
}

func TestOpenFlags(t *testing.T) {
	fs, _ := newTestFS(t)
	_, err := fs.Open(nil, "/tmp/missing", unix.O_RDONLY, 0)
	wantErrno(t, "open missing", err, unix.ENOENT)
	_, err = fs.Open(nil, "/nodir/x", unix.O_RDWR|unix.O_CREAT, 0o644)
	wantErrno(t, "create in missing dir", err, unix.ENOENT)

	f, err := fs.Open(nil, "/tmp/a", unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o666)
	ok(t, err)
	if st, _ := f.Stat(); st.Mode != S_IFREG|0o644 || st.Nlink != 1 || st.Size != 0 {
		t.Errorf("created file: mode %#o nlink %d size %d (umask 022)", st.Mode, st.Nlink, st.Size)
	}
	_, err = fs.Open(nil, "/tmp/a", unix.O_RDWR|unix.O_CREAT|unix.O_EXCL, 0o666)
	wantErrno(t, "O_EXCL on existing", err, unix.EEXIST)
	_, err = fs.Open(nil, "/tmp", unix.O_RDONLY|unix.O_CREAT|unix.O_EXCL, 0o666)
	wantErrno(t, "O_EXCL on existing dir", err, unix.EEXIST)
	_, err = f.Write([]byte("hello"))
	ok(t, err)

	// O_CREAT without O_EXCL opens the existing file, O_TRUNC empties it.
	g, err := fs.Open(nil, "/tmp/a", unix.O_RDWR|unix.O_CREAT, 0o600)
	ok(t, err)
	if st, _ := g.Stat(); st.Size != 5 || st.Mode&0o777 != 0o644 {
		t.Errorf("reopen changed the file: %+v", st)
	}
	_, err = fs.Open(nil, "/tmp/a", unix.O_WRONLY|unix.O_TRUNC, 0)
	ok(t, err)
	if st := lstat(t, fs, "/tmp/a"); st.Size != 0 {
		t.Errorf("O_TRUNC left size %d", st.Size)
	}

	// Directories.
	_, err = fs.Open(nil, "/tmp", unix.O_WRONLY, 0)
	wantErrno(t, "write-open dir", err, unix.EISDIR)
	_, err = fs.Open(nil, "/tmp", unix.O_RDWR, 0)
	wantErrno(t, "rdwr-open dir", err, unix.EISDIR)
	_, err = fs.Open(nil, "/tmp", unix.O_RDONLY|unix.O_CREAT, 0o644)
	wantErrno(t, "O_CREAT on dir", err, unix.EISDIR)
	_, err = fs.Open(nil, "/tmp", unix.O_RDONLY|unix.O_TRUNC, 0)
	wantErrno(t, "O_TRUNC on dir", err, unix.EISDIR)
	_, err = fs.Open(nil, "/tmp/new/", unix.O_RDWR|unix.O_CREAT, 0o644)
	wantErrno(t, "O_CREAT with trailing slash", err, unix.EISDIR)
	_, err = fs.Open(nil, "/tmp/a", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	wantErrno(t, "O_DIRECTORY on file", err, unix.ENOTDIR)
	_, err = fs.Open(nil, "/tmp/a/", unix.O_RDONLY, 0)
	wantErrno(t, "file with trailing slash", err, unix.ENOTDIR)
	_, err = fs.Open(nil, "/tmp/b", unix.O_RDWR|unix.O_CREAT|unix.O_DIRECTORY, 0o644)
	wantErrno(t, "O_CREAT|O_DIRECTORY", err, unix.EINVAL)
	d, err := fs.Open(nil, "/tmp/", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	ok(t, err)
	_, err = d.Read(make([]byte, 10))
	wantErrno(t, "read dir", err, unix.EISDIR)

	// Access modes.
	ro, err := fs.Open(nil, "/tmp/a", unix.O_RDONLY, 0)
	ok(t, err)
	_, err = ro.Write([]byte("x"))
	wantErrno(t, "write O_RDONLY", err, unix.EBADF)
	_, err = ro.Pwrite([]byte("x"), 0)
	wantErrno(t, "pwrite O_RDONLY", err, unix.EBADF)
	wo, err := fs.Open(nil, "/tmp/a", unix.O_WRONLY, 0)
	ok(t, err)
	_, err = wo.Read(make([]byte, 1))
	wantErrno(t, "read O_WRONLY", err, unix.EBADF)
	_, err = wo.Pread(make([]byte, 1), 0)
	wantErrno(t, "pread O_WRONLY", err, unix.EBADF)

	// Symlinks: followed, except with O_NOFOLLOW; O_CREAT creates the
	// target of a dangling link, O_CREAT|O_EXCL refuses it.
	ok(t, fs.Symlink("a", nil, "/tmp/link"))
	ok(t, fs.Symlink("/tmp/target", nil, "/tmp/dangling"))
	if got := readFile(t, fs, "/tmp/link"); got != "" {
		t.Errorf("read through link: %q", got)
	}
	_, err = fs.Open(nil, "/tmp/link", unix.O_RDONLY|unix.O_NOFOLLOW, 0)
	wantErrno(t, "O_NOFOLLOW on symlink", err, unix.ELOOP)
	_, err = fs.Open(nil, "/tmp/dangling", unix.O_RDONLY, 0)
	wantErrno(t, "open dangling", err, unix.ENOENT)
	_, err = fs.Open(nil, "/tmp/dangling", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL, 0o644)
	wantErrno(t, "O_CREAT|O_EXCL dangling", err, unix.EEXIST)
	_, err = fs.Open(nil, "/tmp/dangling", unix.O_WRONLY|unix.O_CREAT|unix.O_NOFOLLOW, 0o644)
	wantErrno(t, "O_CREAT|O_NOFOLLOW dangling", err, unix.ELOOP)
	_, err = fs.Open(nil, "/tmp/dangling", unix.O_WRONLY|unix.O_CREAT, 0o640)
	ok(t, err)
	if st := lstat(t, fs, "/tmp/target"); st.Mode != S_IFREG|0o640 {
		t.Errorf("created link target mode %#o", st.Mode)
	}

	// O_PATH opens anything for stat and as a dirfd, without I/O.
	p, err := fs.Open(nil, "/tmp/link", unix.O_PATH|unix.O_NOFOLLOW, 0)
	ok(t, err)
	if st, _ := p.Stat(); st.Mode&S_IFMT != S_IFLNK {
		t.Errorf("O_PATH|O_NOFOLLOW stat mode %#o", st.Mode)
	}
	if tgt, err := fs.Readlink(p.Inode(), ""); tgt != "a" || err != nil {
		t.Errorf("readlinkat(O_PATH fd, \"\") = %q, %v", tgt, err)
	}
	_, err = p.Read(make([]byte, 1))
	wantErrno(t, "read O_PATH", err, unix.EBADF)
	_, err = p.Seek(0, unix.SEEK_SET)
	wantErrno(t, "lseek O_PATH", err, unix.EBADF)
	_, err = fs.Open(nil, "/tmp/a", unix.O_PATH|unix.O_DIRECTORY, 0)
	wantErrno(t, "O_PATH|O_DIRECTORY on file", err, unix.ENOTDIR)

	// umask.
	old := fs.Umask(0o077)
	if old != 0o022 {
		t.Errorf("umask was %#o", old)
	}
	_, err = fs.Open(nil, "/tmp/private", unix.O_WRONLY|unix.O_CREAT, 0o666)
	ok(t, err)
	if st := lstat(t, fs, "/tmp/private"); st.Mode != S_IFREG|0o600 {
		t.Errorf("umask 077 gave %#o", st.Mode)
	}

	// O_TMPFILE: an unnamed file that linkat(AT_EMPTY_PATH) can name.
	_, err = fs.Open(nil, "/tmp", unix.O_TMPFILE|unix.O_RDONLY, 0o600)
	wantErrno(t, "O_TMPFILE read-only", err, unix.EINVAL)
	tf, err := fs.Open(nil, "/tmp", unix.O_TMPFILE|unix.O_RDWR, 0o600)
	ok(t, err)
	_, err = tf.Write([]byte("tmp"))
	ok(t, err)
	if st, _ := tf.Stat(); st.Nlink != 0 || st.Mode != S_IFREG|0o600 {
		t.Errorf("O_TMPFILE stat %+v", st)
	}
	ok(t, fs.Link(tf.Inode(), "", nil, "/tmp/named", unix.AT_EMPTY_PATH))
	if got := readFile(t, fs, "/tmp/named"); got != "tmp" {
		t.Errorf("linked tmpfile reads %q", got)
	}
	if tf.Flags()&unix.O_ACCMODE != unix.O_RDWR || tf.Flags()&unix.O_DIRECTORY != 0 {
		t.Errorf("O_TMPFILE flags %#x", tf.Flags())
	}
}

func TestReadWriteSeek(t *testing.T) {
	fs, clk := newTestFS(t)
	f, err := fs.Open(nil, "/tmp/f", unix.O_RDWR|unix.O_CREAT, 0o644)
	ok(t, err)
	if n, err := f.Write([]byte("hello, world")); n != 12 || err != nil {
		t.Fatalf("write = %d, %v", n, err)
	}
	if off, _ := f.Seek(0, unix.SEEK_CUR); off != 12 {
		t.Errorf("offset after write %d", off)
	}
	buf := make([]byte, 5)
	if n, _ := f.Read(buf); n != 0 {
		t.Errorf("read at EOF = %d", n)
	}
	if off, err := f.Seek(-5, unix.SEEK_END); off != 7 || err != nil {
		t.Errorf("SEEK_END = %d, %v", off, err)
	}
	if n, _ := f.Read(buf); n != 5 || string(buf) != "world" {
		t.Errorf("read %q", buf[:n])
	}
	if off, _ := f.Seek(-12, unix.SEEK_CUR); off != 0 {
		t.Errorf("SEEK_CUR = %d", off)
	}
	_, err = f.Seek(-1, unix.SEEK_SET)
	wantErrno(t, "negative SEEK_SET", err, unix.EINVAL)
	_, err = f.Seek(-13, unix.SEEK_END)
	wantErrno(t, "negative SEEK_END", err, unix.EINVAL)
	_, err = f.Seek(0, 7)
	wantErrno(t, "bad whence", err, unix.EINVAL)
	if off, err := f.Seek(3, unix.SEEK_DATA); off != 3 || err != nil {
		t.Errorf("SEEK_DATA = %d, %v", off, err)
	}
	if off, err := f.Seek(3, unix.SEEK_HOLE); off != 12 || err != nil {
		t.Errorf("SEEK_HOLE = %d, %v", off, err)
	}
	_, err = f.Seek(12, unix.SEEK_DATA)
	wantErrno(t, "SEEK_DATA at EOF", err, unix.ENXIO)

	// pread/pwrite leave the offset alone.
	f.Seek(2, unix.SEEK_SET)
	if n, err := f.Pread(buf, 7); n != 5 || err != nil || string(buf) != "world" {
		t.Errorf("pread = %d %v %q", n, err, buf)
	}
	if n, err := f.Pread(buf, 100); n != 0 || err != nil {
		t.Errorf("pread past EOF = %d, %v", n, err)
	}
	_, err = f.Pread(buf, -1)
	wantErrno(t, "pread negative", err, unix.EINVAL)
	if n, err := f.Pwrite([]byte("W"), 7); n != 1 || err != nil {
		t.Errorf("pwrite = %d, %v", n, err)
	}
	if off, _ := f.Seek(0, unix.SEEK_CUR); off != 2 {
		t.Errorf("pread/pwrite moved the offset to %d", off)
	}
	if got := readFile(t, fs, "/tmp/f"); got != "hello, World" {
		t.Errorf("content %q", got)
	}

	// Writing past the end leaves a zero-filled gap, across pages.
	_, err = f.Pwrite([]byte("end"), 3*pageSize+10)
	ok(t, err)
	st, _ := f.Stat()
	if st.Size != 3*pageSize+13 || st.Blocks != 4*pageSize/512 || st.Blksize != pageSize {
		t.Errorf("size %d blocks %d blksize %d", st.Size, st.Blocks, st.Blksize)
	}
	data := readFile(t, fs, "/tmp/f")
	if data[:12] != "hello, World" || strings.Trim(data[12:3*pageSize+10], "\x00") != "" || data[3*pageSize+10:] != "end" {
		t.Errorf("sparse content wrong")
	}

	// Truncate shrinks, and a later extension reads zeros, not old data.
	ok(t, f.Truncate(5))
	ok(t, f.Truncate(10))
	if got := readFile(t, fs, "/tmp/f"); got != "hello\x00\x00\x00\x00\x00" {
		t.Errorf("after truncate %q", got)
	}
	wantErrno(t, "ftruncate negative", f.Truncate(-1), unix.EINVAL)
	wantErrno(t, "ftruncate too big", f.Truncate(MaxFileSize+1), unix.EFBIG)
	ro, _ := fs.Open(nil, "/tmp/f", unix.O_RDONLY, 0)
	wantErrno(t, "ftruncate read-only", ro.Truncate(0), unix.EINVAL)
	ok(t, fs.Truncate(nil, "/tmp/f", 2))
	if got := readFile(t, fs, "/tmp/f"); got != "he" {
		t.Errorf("truncate(2) gave %q", got)
	}
	wantErrno(t, "truncate dir", fs.Truncate(nil, "/tmp", 0), unix.EISDIR)
	wantErrno(t, "truncate device", fs.Truncate(nil, "/dev/null", 0), unix.EINVAL)
	wantErrno(t, "truncate negative", fs.Truncate(nil, "/tmp/f", -1), unix.EINVAL)

	// O_APPEND: write and pwrite go to the end.
	a, err := fs.Open(nil, "/tmp/f", unix.O_WRONLY|unix.O_APPEND, 0)
	ok(t, err)
	a.Write([]byte("12"))
	a.Pwrite([]byte("34"), 0)
	if got := readFile(t, fs, "/tmp/f"); got != "he1234" {
		t.Errorf("append gave %q", got)
	}
	if off, _ := a.Seek(0, unix.SEEK_CUR); off != 4 {
		t.Errorf("append offset %d", off)
	}
	a.SetFlags(0)
	a.Seek(0, unix.SEEK_SET)
	a.Write([]byte("HE"))
	if got := readFile(t, fs, "/tmp/f"); got != "HE1234" {
		t.Errorf("after clearing O_APPEND %q", got)
	}

	// Timestamps: a write updates mtime and ctime, a read atime (relatime).
	before := lstat(t, fs, "/tmp/f")
	now := clk.tick()
	a.Write([]byte("x"))
	after := lstat(t, fs, "/tmp/f")
	if after.Mtime != now || after.Ctime != now || after.Atime != before.Atime {
		t.Errorf("write times: %+v (now %v)", after, now)
	}
	now = clk.tick()
	readFile(t, fs, "/tmp/f")
	if st := lstat(t, fs, "/tmp/f"); st.Atime != now || st.Mtime == now {
		t.Errorf("read times: %+v (now %v)", st, now)
	}
	clk.tick()
	readFile(t, fs, "/tmp/f")
	if st := lstat(t, fs, "/tmp/f"); st.Atime != now {
		t.Errorf("relatime updated atime again")
	}
	// Zero-length writes change nothing.
	clk.tick()
	a.Write(nil)
	if st := lstat(t, fs, "/tmp/f"); st.Mtime != after.Mtime {
		t.Errorf("empty write changed mtime")
	}
}

func TestLimits(t *testing.T) {
	fs, _ := newTestFS(t)
	fs.SetLimit(3 * pageSize)
	f, err := fs.Open(nil, "/tmp/f", unix.O_RDWR|unix.O_CREAT, 0o644)
	ok(t, err)
	_, err = f.Pwrite([]byte("x"), 2*pageSize)
	ok(t, err)
	_, err = f.Pwrite([]byte("x"), 3*pageSize)
	wantErrno(t, "write beyond limit", err, unix.ENOSPC)
	_, err = f.Pwrite([]byte("x"), MaxFileSize)
	wantErrno(t, "write beyond MaxFileSize", err, unix.EFBIG)
	if fs.Used() != 3*pageSize {
		t.Errorf("used %d", fs.Used())
	}
	ok(t, f.Truncate(0))
	if fs.Used() != 0 {
		t.Errorf("used %d after truncate", fs.Used())
	}
	// Appends grow geometrically but stay within the limit.
	fs.SetLimit(0)
	for i := 0; i < 1000; i++ {
		f.Write(bytes.Repeat([]byte{byte(i)}, 1000))
	}
	st, _ := f.Stat()
	if st.Size != 1_000_000 || fs.Used() < st.Size || fs.Used()%pageSize != 0 {
		t.Errorf("size %d used %d", st.Size, fs.Used())
	}
	got := make([]byte, 1000)
	f.Pread(got, 999_000)
	if got[0] != byte(999%256) || got[999] != byte(999%256) {
		t.Errorf("content after appends")
	}
}

// The memory of a removed file is given back once nothing references it.
func TestRemovedFileMemory(t *testing.T) {
	fs, _ := newTestFS(t)
	fs.SetLimit(1 << 20)
	func() {
		f, err := fs.Open(nil, "/tmp/big", unix.O_RDWR|unix.O_CREAT, 0o644)
		ok(t, err)
		_, err = f.Pwrite([]byte("x"), 1<<20-1)
		ok(t, err)
		ok(t, fs.Unlink(nil, "/tmp/big"))
		if fs.Used() != 1<<20 {
			t.Errorf("used %d while open", fs.Used())
		}
	}()
	for i := 0; i < 100 && fs.Used() != 0; i++ {
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	if fs.Used() != 0 {
		t.Fatalf("used %d after the file is gone", fs.Used())
	}
	writeFile(t, fs, "/tmp/again", strings.Repeat("y", 1<<20))
}

func TestPathResolution(t *testing.T) {
	fs, _ := newTestFS(t)
	ok(t, fs.Mkdir(nil, "/a", 0o755))
	ok(t, fs.Mkdir(nil, "/a/b", 0o755))
	writeFile(t, fs, "/a/b/f", "data")
	ino := func(p string) uint64 { return lstat(t, fs, p).Ino }
	fIno := ino("/a/b/f")
	for _, p := range []string{"/a/b/f", "//a///b//f", "/a/./b/./f", "/a/b/../b/f", "/../../a/b/f", "/./a/../a/b/f"} {
		if st, err := fs.Stat(nil, p, 0); err != nil || st.Ino != fIno {
			t.Errorf("stat %q = %v, %v", p, st.Ino, err)
		}
	}
	if ino("/..") != ino("/") || ino("/a/b/..") != ino("/a") || ino("/a/b/.") != ino("/a/b") || ino("/a/b/") != ino("/a/b") {
		t.Errorf("dot and dotdot")
	}
	// Relative to a directory inode and to the working directory.
	a, err := fs.Lookup(nil, "/a", 0)
	ok(t, err)
	if st, err := fs.Stat(a, "b/f", 0); err != nil || st.Ino != fIno {
		t.Errorf("relative to dir: %v", err)
	}
	if st, err := fs.Stat(a, "/a/b/f", 0); err != nil || st.Ino != fIno {
		t.Errorf("absolute with dir: %v", err)
	}
	if st, err := fs.Stat(a, "", unix.AT_EMPTY_PATH); err != nil || st.Ino != a.Ino() {
		t.Errorf("AT_EMPTY_PATH: %v", err)
	}
	_, err = fs.Stat(a, "", 0)
	wantErrno(t, "empty path", err, unix.ENOENT)
	_, err = fs.Stat(nil, "/a", 0x8000000)
	wantErrno(t, "bad flags", err, unix.EINVAL)
	ok(t, fs.Chdir(nil, "/a/b"))
	if cwd, err := fs.Getcwd(); cwd != "/a/b" || err != nil {
		t.Errorf("getcwd = %q, %v", cwd, err)
	}
	if got := readFile(t, fs, "f"); got != "data" {
		t.Errorf("read relative to cwd: %q", got)
	}
	if st, err := fs.Stat(nil, "../../a/b/f", 0); err != nil || st.Ino != fIno {
		t.Errorf("relative dotdot: %v", err)
	}
	wantErrno(t, "chdir to file", fs.Chdir(nil, "f"), unix.ENOTDIR)
	f, _ := fs.Lookup(nil, "f", 0)
	wantErrno(t, "fchdir to file", fs.SetCwd(f), unix.ENOTDIR)
	ok(t, fs.SetCwd(fs.Root()))
	if cwd, _ := fs.Getcwd(); cwd != "/" {
		t.Errorf("getcwd at root %q", cwd)
	}
	_, err = fs.Stat(f, "x", 0)
	wantErrno(t, "file as dirfd", err, unix.ENOTDIR)

	// Errors on the way.
	_, err = fs.Stat(nil, "/a/b/f/x", 0)
	wantErrno(t, "file as directory", err, unix.ENOTDIR)
	_, err = fs.Stat(nil, "/a/b/f/", 0)
	wantErrno(t, "trailing slash on file", err, unix.ENOTDIR)
	_, err = fs.Stat(nil, "/a/nope/f", 0)
	wantErrno(t, "missing intermediate", err, unix.ENOENT)
	_, err = fs.Stat(nil, "", 0)
	wantErrno(t, "empty", err, unix.ENOENT)
	long := strings.Repeat("x", NameMax+1)
	_, err = fs.Stat(nil, "/a/"+long, 0)
	wantErrno(t, "long component", err, unix.ENAMETOOLONG)
	wantErrno(t, "mkdir long component", fs.Mkdir(nil, "/"+long, 0o755), unix.ENAMETOOLONG)
	ok(t, fs.Mkdir(nil, "/"+long[1:], 0o755))
	_, err = fs.Stat(nil, "/"+strings.Repeat("a/", PathMax/2), 0)
	wantErrno(t, "long path", err, unix.ENAMETOOLONG)

	// Symlinks.
	ok(t, fs.Symlink("b", a, "rel"))     // /a/rel -> b
	ok(t, fs.Symlink("/a/b", a, "abs"))  // /a/abs -> /a/b
	ok(t, fs.Symlink("rel/f", a, "ind")) // /a/ind -> rel/f
	ok(t, fs.Symlink("../rel/", nil, "/a/b/up"))
	for _, p := range []string{"/a/rel/f", "/a/abs/f", "/a/ind", "/a/b/up/f", "/a/b/up/up/up/f"} {
		if st, err := fs.Stat(nil, p, 0); err != nil || st.Ino != fIno {
			t.Errorf("stat %q via symlinks = %v", p, err)
		}
	}
	if st, err := fs.Stat(nil, "/a/ind", unix.AT_SYMLINK_NOFOLLOW); err != nil || st.Mode != S_IFLNK|0o777 || st.Size != 5 {
		t.Errorf("lstat symlink: %+v, %v", st, err)
	}
	// A trailing slash follows even for lstat.
	if st := lstat(t, fs, "/a/rel/"); st.Ino != ino("/a/b") {
		t.Errorf("lstat link/ did not follow")
	}
	if ino, err := fs.Lookup(nil, "/a/rel", unix.AT_SYMLINK_NOFOLLOW); err != nil || ino.Type() != S_IFLNK {
		t.Errorf("Lookup nofollow: %v", err)
	}
	// Loops and the limit of 40.
	ok(t, fs.Symlink("loop2", nil, "/tmp/loop1"))
	ok(t, fs.Symlink("loop1", nil, "/tmp/loop2"))
	_, err = fs.Stat(nil, "/tmp/loop1", 0)
	wantErrno(t, "symlink loop", err, unix.ELOOP)
	_, err = fs.Stat(nil, "/tmp/loop1/x", 0)
	wantErrno(t, "symlink loop in the middle", err, unix.ELOOP)
	if _, err := fs.Stat(nil, "/tmp/loop1", unix.AT_SYMLINK_NOFOLLOW); err != nil {
		t.Errorf("lstat of a looping link: %v", err)
	}
	writeFile(t, fs, "/tmp/l0", "end")
	for i := 1; i <= MaxSymlinks+1; i++ {
		ok(t, fs.Symlink(fmt.Sprintf("l%d", i-1), nil, fmt.Sprintf("/tmp/l%d", i)))
	}
	if got := readFile(t, fs, fmt.Sprintf("/tmp/l%d", MaxSymlinks)); got != "end" {
		t.Errorf("%d links: %q", MaxSymlinks, got)
	}
	_, err = fs.Stat(nil, fmt.Sprintf("/tmp/l%d", MaxSymlinks+1), 0)
	wantErrno(t, "41 links", err, unix.ELOOP)
}

func TestMkdirRmdir(t *testing.T) {
	fs, clk := newTestFS(t)
	now := clk.tick()
	ok(t, fs.Mkdir(nil, "/tmp/d", 0o777))
	st := lstat(t, fs, "/tmp/d")
	if st.Mode != S_IFDIR|0o755 || st.Nlink != 2 || st.Size != 2*dirEntrySize || st.Mtime != now {
		t.Errorf("new dir: %+v", st)
	}
	if p := lstat(t, fs, "/tmp"); p.Nlink != 3 || p.Mtime != now || p.Ctime != now {
		t.Errorf("parent: %+v", p)
	}
	ok(t, fs.Mkdir(nil, "/tmp/d/sub/", 0o700)) // trailing slash is fine
	ok(t, fs.Mkdir(nil, "/tmp/sticky", 0o1777))
	if st := lstat(t, fs, "/tmp/sticky"); st.Mode != S_IFDIR|0o1755 {
		t.Errorf("sticky dir mode %#o", st.Mode)
	}
	wantErrno(t, "mkdir existing", fs.Mkdir(nil, "/tmp/d", 0o755), unix.EEXIST)
	wantErrno(t, "mkdir /", fs.Mkdir(nil, "/", 0o755), unix.EEXIST)
	wantErrno(t, "mkdir .", fs.Mkdir(nil, "/tmp/.", 0o755), unix.EEXIST)
	wantErrno(t, "mkdir ..", fs.Mkdir(nil, "/tmp/d/..", 0o755), unix.EEXIST)
	wantErrno(t, "mkdir missing parent", fs.Mkdir(nil, "/tmp/x/y", 0o755), unix.ENOENT)
	ok(t, fs.Symlink("nowhere", nil, "/tmp/dl"))
	wantErrno(t, "mkdir on dangling symlink", fs.Mkdir(nil, "/tmp/dl", 0o755), unix.EEXIST)
	writeFile(t, fs, "/tmp/file", "")
	wantErrno(t, "mkdir under file", fs.Mkdir(nil, "/tmp/file/x", 0o755), unix.ENOTDIR)

	wantErrno(t, "rmdir non-empty", fs.Rmdir(nil, "/tmp/d"), unix.ENOTEMPTY)
	wantErrno(t, "rmdir .", fs.Rmdir(nil, "/tmp/d/sub/."), unix.EINVAL)
	wantErrno(t, "rmdir ..", fs.Rmdir(nil, "/tmp/d/sub/.."), unix.ENOTEMPTY)
	wantErrno(t, "rmdir /", fs.Rmdir(nil, "/"), unix.EBUSY)
	wantErrno(t, "rmdir file", fs.Rmdir(nil, "/tmp/file"), unix.ENOTDIR)
	wantErrno(t, "rmdir missing", fs.Rmdir(nil, "/tmp/nope"), unix.ENOENT)
	ok(t, fs.Symlink("d/sub", nil, "/tmp/subl"))
	wantErrno(t, "rmdir symlink", fs.Rmdir(nil, "/tmp/subl"), unix.ENOTDIR)
	wantErrno(t, "rmdir symlink/", fs.Rmdir(nil, "/tmp/subl/"), unix.ENOTDIR)

	// Remove the working directory: getcwd and creating in it fail, the
	// directory reads as removed.
	ok(t, fs.Chdir(nil, "/tmp/d/sub"))
	dir, err := fs.Open(nil, ".", unix.O_RDONLY, 0)
	ok(t, err)
	ok(t, fs.Rmdir(nil, "/tmp/d/sub/"))
	if st := lstat(t, fs, "/tmp/d"); st.Nlink != 2 {
		t.Errorf("parent nlink %d after rmdir", st.Nlink)
	}
	if st, _ := dir.Stat(); st.Nlink != 0 {
		t.Errorf("removed dir nlink %d", st.Nlink)
	}
	_, err = fs.Getcwd()
	wantErrno(t, "getcwd of removed dir", err, unix.ENOENT)
	_, err = fs.Open(nil, "new", unix.O_WRONLY|unix.O_CREAT, 0o644)
	wantErrno(t, "create in removed dir", err, unix.ENOENT)
	wantErrno(t, "mkdir in removed dir", fs.Mkdir(nil, "new", 0o755), unix.ENOENT)
	_, err = dir.ReadDir(make([]byte, 1024))
	wantErrno(t, "getdents of removed dir", err, unix.ENOENT)
	if st, err := fs.Stat(nil, "..", 0); err != nil || st.Ino != lstat(t, fs, "/tmp/d").Ino {
		t.Errorf(".. of removed dir: %v", err)
	}
	ok(t, fs.Chdir(nil, "/"))

	// Set-group-ID directories hand their group down.
	ok(t, fs.Mkdir(nil, "/tmp/g", 0o2775))
	if st := lstat(t, fs, "/tmp/g"); st.Mode != S_IFDIR|0o755 {
		t.Errorf("mkdir kept S_ISGID or ignored umask: %#o", st.Mode)
	}
	ok(t, fs.Chown(nil, "/tmp/g", 0, 50, 0))
	ok(t, fs.Chmod(nil, "/tmp/g", 0o2775, 0))
	fs.SetCred(Cred{UID: 1000, GID: 1000, Groups: []uint32{50}})
	ok(t, fs.Mkdir(nil, "/tmp/g/sub", 0o755))
	writeFile(t, fs, "/tmp/g/file", "")
	if st := lstat(t, fs, "/tmp/g/sub"); st.GID != 50 || st.UID != 1000 || st.Mode != S_IFDIR|S_ISGID|0o755 {
		t.Errorf("setgid inheritance dir: %+v", st)
	}
	if st := lstat(t, fs, "/tmp/g/file"); st.GID != 50 || st.Mode&S_ISGID != 0 {
		t.Errorf("setgid inheritance file: %+v", st)
	}
}

func TestUnlinkLink(t *testing.T) {
	fs, clk := newTestFS(t)
	writeFile(t, fs, "/tmp/f", "content")
	f, err := fs.Open(nil, "/tmp/f", unix.O_RDWR, 0)
	ok(t, err)
	now := clk.tick()
	ok(t, fs.Link(nil, "/tmp/f", nil, "/tmp/g", 0))
	if a, b := lstat(t, fs, "/tmp/f"), lstat(t, fs, "/tmp/g"); a.Ino != b.Ino || a.Nlink != 2 || a.Ctime != now {
		t.Errorf("link: %+v %+v", a, b)
	}
	wantErrno(t, "link onto existing", fs.Link(nil, "/tmp/f", nil, "/tmp/g", 0), unix.EEXIST)
	wantErrno(t, "link dir", fs.Link(nil, "/tmp", nil, "/tmp2", 0), unix.EPERM)
	wantErrno(t, "link missing", fs.Link(nil, "/tmp/none", nil, "/tmp/h", 0), unix.ENOENT)
	wantErrno(t, "link to missing dir", fs.Link(nil, "/tmp/f", nil, "/tmp/none/h", 0), unix.ENOENT)
	wantErrno(t, "link to trailing slash", fs.Link(nil, "/tmp/f", nil, "/tmp/h/", 0), unix.ENOENT)
	wantErrno(t, "link bad flags", fs.Link(nil, "/tmp/f", nil, "/tmp/h", 1), unix.EINVAL)
	// Without AT_SYMLINK_FOLLOW the link itself gets a new name.
	ok(t, fs.Symlink("f", nil, "/tmp/s"))
	ok(t, fs.Link(nil, "/tmp/s", nil, "/tmp/s2", 0))
	ok(t, fs.Link(nil, "/tmp/s", nil, "/tmp/f3", unix.AT_SYMLINK_FOLLOW))
	if st := lstat(t, fs, "/tmp/s2"); st.Mode&S_IFMT != S_IFLNK || st.Nlink != 2 {
		t.Errorf("link of symlink: %+v", st)
	}
	if st := lstat(t, fs, "/tmp/f3"); st.Ino != lstat(t, fs, "/tmp/f").Ino || st.Nlink != 3 {
		t.Errorf("AT_SYMLINK_FOLLOW link: %+v", st)
	}
	wantErrno(t, "link to other fs", fs.Link(nil, "/tmp/f", NewRoot().Root(), "x", 0), unix.EXDEV)

	// unlink
	wantErrno(t, "unlink dir", fs.Unlink(nil, "/tmp"), unix.EISDIR)
	wantErrno(t, "unlink dir/", fs.Unlink(nil, "/tmp/"), unix.EISDIR)
	wantErrno(t, "unlink file/", fs.Unlink(nil, "/tmp/f/"), unix.ENOTDIR)
	wantErrno(t, "unlink missing", fs.Unlink(nil, "/tmp/none"), unix.ENOENT)
	wantErrno(t, "unlink .", fs.Unlink(nil, "/tmp/."), unix.EISDIR)
	wantErrno(t, "unlink /", fs.Unlink(nil, "/"), unix.EISDIR)
	ok(t, fs.Unlink(nil, "/tmp/s")) // the symlink, not its target
	if _, err := fs.Stat(nil, "/tmp/f", 0); err != nil {
		t.Errorf("unlinking a symlink removed its target")
	}
	now = clk.tick()
	for _, p := range []string{"/tmp/f", "/tmp/g", "/tmp/f3"} {
		ok(t, fs.Unlink(nil, p))
	}
	_, err = fs.Stat(nil, "/tmp/f", 0)
	wantErrno(t, "stat unlinked", err, unix.ENOENT)
	// The open file lives on with nlink 0.
	st, _ := f.Stat()
	if st.Nlink != 0 || st.Ctime != now {
		t.Errorf("unlinked open file: %+v", st)
	}
	f.Write([]byte("!"))
	buf := make([]byte, 20)
	if n, _ := f.Pread(buf, 0); string(buf[:n]) != "!ontent" {
		t.Errorf("unlinked file reads %q", buf[:n])
	}
	if p := lstat(t, fs, "/tmp"); p.Mtime != now {
		t.Errorf("unlink did not touch the parent")
	}
	// It cannot get a name again (it was not O_TMPFILE).
	wantErrno(t, "link unlinked", fs.Link(f.Inode(), "", nil, "/tmp/back", unix.AT_EMPTY_PATH), unix.ENOENT)
}

func TestRename(t *testing.T) {
	fs, clk := newTestFS(t)
	mk := func(p string) { ok(t, fs.Mkdir(nil, p, 0o755)) }
	mk("/r")
	mk("/r/d1")
	mk("/r/d1/sub")
	mk("/r/d2")
	writeFile(t, fs, "/r/f1", "one")
	writeFile(t, fs, "/r/f2", "two")
	ino := func(p string) uint64 { return lstat(t, fs, p).Ino }

	// Plain rename, and replacing a file.
	i1 := ino("/r/f1")
	now := clk.tick()
	ok(t, fs.Rename(nil, "/r/f1", nil, "/r/g1", 0))
	if ino("/r/g1") != i1 || lstat(t, fs, "/r/g1").Ctime != now || lstat(t, fs, "/r").Mtime != now {
		t.Errorf("rename")
	}
	f2, _ := fs.Open(nil, "/r/f2", unix.O_RDONLY, 0)
	ok(t, fs.Rename(nil, "/r/g1", nil, "/r/f2", 0))
	if readFile(t, fs, "/r/f2") != "one" {
		t.Errorf("replace")
	}
	if st, _ := f2.Stat(); st.Nlink != 0 {
		t.Errorf("replaced file nlink %d", st.Nlink)
	}
	_, err := fs.Stat(nil, "/r/g1", 0)
	wantErrno(t, "old name", err, unix.ENOENT)

	// Hard links to the same file: nothing happens.
	ok(t, fs.Link(nil, "/r/f2", nil, "/r/h", 0))
	ok(t, fs.Rename(nil, "/r/f2", nil, "/r/h", 0))
	if lstat(t, fs, "/r/f2").Nlink != 2 {
		t.Errorf("rename onto own hard link changed something")
	}
	ok(t, fs.Rename(nil, "/r/h", nil, "/r/h", 0))

	// Moving directories: link counts and "..".
	ok(t, fs.Rename(nil, "/r/d1/sub", nil, "/r/d2/sub2", 0))
	if lstat(t, fs, "/r/d1").Nlink != 2 || lstat(t, fs, "/r/d2").Nlink != 3 {
		t.Errorf("nlink after moving a dir")
	}
	if ino("/r/d2/sub2/..") != ino("/r/d2") {
		t.Errorf(".. not updated")
	}
	ok(t, fs.Chdir(nil, "/r/d2/sub2"))
	if cwd, _ := fs.Getcwd(); cwd != "/r/d2/sub2" {
		t.Errorf("getcwd after move %q", cwd)
	}
	ok(t, fs.Rename(nil, "/r/d2", nil, "/r/d3", 0))
	if cwd, _ := fs.Getcwd(); cwd != "/r/d3/sub2" {
		t.Errorf("getcwd after parent rename %q", cwd)
	}
	ok(t, fs.Chdir(nil, "/"))
	// Replacing an empty directory; not a non-empty one.
	ok(t, fs.Rename(nil, "/r/d3", nil, "/r/d1", 0))
	if lstat(t, fs, "/r").Nlink != 3 || lstat(t, fs, "/r/d1/sub2/..").Ino != ino("/r/d1") {
		t.Errorf("replace empty dir")
	}
	mk("/r/e")
	mk("/r/full")
	mk("/r/full/x")
	wantErrno(t, "onto non-empty dir", fs.Rename(nil, "/r/e", nil, "/r/full", 0), unix.ENOTEMPTY)
	wantErrno(t, "dir onto file", fs.Rename(nil, "/r/e", nil, "/r/f2", 0), unix.ENOTDIR)
	wantErrno(t, "file onto dir", fs.Rename(nil, "/r/f2", nil, "/r/e", 0), unix.EISDIR)
	wantErrno(t, "dir into itself", fs.Rename(nil, "/r/full", nil, "/r/full/x/y", 0), unix.EINVAL)
	wantErrno(t, "dir onto itself/child", fs.Rename(nil, "/r/full", nil, "/r/full/new", 0), unix.EINVAL)
	wantErrno(t, "onto an ancestor", fs.Rename(nil, "/r/full/x", nil, "/r", 0), unix.ENOTEMPTY)
	wantErrno(t, "missing source", fs.Rename(nil, "/r/none", nil, "/r/x", 0), unix.ENOENT)
	wantErrno(t, "missing target dir", fs.Rename(nil, "/r/f2", nil, "/r/none/x", 0), unix.ENOENT)
	wantErrno(t, "source .", fs.Rename(nil, "/r/e/.", nil, "/r/x", 0), unix.EBUSY)
	wantErrno(t, "target ..", fs.Rename(nil, "/r/e", nil, "/r/full/..", 0), unix.EBUSY)
	wantErrno(t, "root", fs.Rename(nil, "/", nil, "/x", 0), unix.EBUSY)
	wantErrno(t, "file/ source", fs.Rename(nil, "/r/f2/", nil, "/r/x", 0), unix.ENOTDIR)
	wantErrno(t, "file to x/", fs.Rename(nil, "/r/f2", nil, "/r/x/", 0), unix.ENOTDIR)
	ok(t, fs.Rename(nil, "/r/e/", nil, "/r/e2/", 0)) // dirs may have slashes
	wantErrno(t, "bad flags", fs.Rename(nil, "/r/f2", nil, "/r/x", 8), unix.EINVAL)
	wantErrno(t, "whiteout", fs.Rename(nil, "/r/f2", nil, "/r/x", RENAME_WHITEOUT), unix.EINVAL)
	wantErrno(t, "noreplace|exchange", fs.Rename(nil, "/r/f2", nil, "/r/x", RENAME_NOREPLACE|RENAME_EXCHANGE), unix.EINVAL)
	wantErrno(t, "other fs", fs.Rename(nil, "/r/f2", NewRoot().Root(), "x", 0), unix.EXDEV)

	// A symlink is renamed, not its target.
	ok(t, fs.Symlink("f2", nil, "/r/sl"))
	ok(t, fs.Rename(nil, "/r/sl", nil, "/r/sl2", 0))
	if tgt, _ := fs.Readlink(nil, "/r/sl2"); tgt != "f2" {
		t.Errorf("renamed symlink %q", tgt)
	}

	// RENAME_NOREPLACE.
	writeFile(t, fs, "/r/n1", "n1")
	writeFile(t, fs, "/r/n2", "n2")
	wantErrno(t, "noreplace existing", fs.Rename(nil, "/r/n1", nil, "/r/n2", RENAME_NOREPLACE), unix.EEXIST)
	ok(t, fs.Rename(nil, "/r/n1", nil, "/r/n3", RENAME_NOREPLACE))

	// RENAME_EXCHANGE, including a file with a directory in another dir.
	ok(t, fs.Rename(nil, "/r/n2", nil, "/r/n3", RENAME_EXCHANGE))
	if readFile(t, fs, "/r/n2") != "n1" || readFile(t, fs, "/r/n3") != "n2" {
		t.Errorf("exchange files")
	}
	wantErrno(t, "exchange missing", fs.Rename(nil, "/r/n2", nil, "/r/n4", RENAME_EXCHANGE), unix.ENOENT)
	mk("/r/xd")
	mk("/r/xd/inner")
	rNlink, fullNlink := lstat(t, fs, "/r").Nlink, lstat(t, fs, "/r/full").Nlink
	ok(t, fs.Rename(nil, "/r/n2", nil, "/r/full/x", RENAME_EXCHANGE))
	if lstat(t, fs, "/r/n2").Mode&S_IFMT != S_IFDIR || readFile(t, fs, "/r/full/x") != "n1" {
		t.Errorf("exchange file and dir")
	}
	if lstat(t, fs, "/r").Nlink != rNlink+1 || lstat(t, fs, "/r/full").Nlink != fullNlink-1 || ino("/r/n2/..") != ino("/r") {
		t.Errorf("exchange link counts")
	}
	wantErrno(t, "exchange with descendant", fs.Rename(nil, "/r/xd", nil, "/r/xd/inner", RENAME_EXCHANGE), unix.EINVAL)
	wantErrno(t, "exchange with ancestor", fs.Rename(nil, "/r/xd/inner", nil, "/r/xd", RENAME_EXCHANGE), unix.EINVAL)

	// Directory size follows the entries.
	sz := lstat(t, fs, "/r/xd").Size
	writeFile(t, fs, "/r/xd/f", "")
	if lstat(t, fs, "/r/xd").Size != sz+dirEntrySize {
		t.Errorf("dir size")
	}
	ok(t, fs.Rename(nil, "/r/xd/f", nil, "/r/moved", 0))
	if lstat(t, fs, "/r/xd").Size != sz {
		t.Errorf("dir size after move")
	}
}

func TestSymlinkReadlink(t *testing.T) {
	fs, _ := newTestFS(t)
	ok(t, fs.Symlink("some/where", nil, "/tmp/l"))
	if tgt, err := fs.Readlink(nil, "/tmp/l"); tgt != "some/where" || err != nil {
		t.Errorf("readlink = %q, %v", tgt, err)
	}
	st := lstat(t, fs, "/tmp/l")
	if st.Mode != S_IFLNK|0o777 || st.Size != int64(len("some/where")) || st.Nlink != 1 {
		t.Errorf("symlink stat %+v", st)
	}
	_, err := fs.Readlink(nil, "/tmp")
	wantErrno(t, "readlink dir", err, unix.EINVAL)
	_, err = fs.Readlink(nil, "/tmp/none")
	wantErrno(t, "readlink missing", err, unix.ENOENT)
	wantErrno(t, "empty target", fs.Symlink("", nil, "/tmp/e"), unix.ENOENT)
	wantErrno(t, "long target", fs.Symlink(strings.Repeat("x", PathMax), nil, "/tmp/e"), unix.ENAMETOOLONG)
	wantErrno(t, "existing", fs.Symlink("x", nil, "/tmp/l"), unix.EEXIST)
	wantErrno(t, "existing dir", fs.Symlink("x", nil, "/tmp"), unix.EEXIST)
	wantErrno(t, "trailing slash", fs.Symlink("x", nil, "/tmp/new/"), unix.ENOENT)
	ok(t, fs.Mkdir(nil, "/tmp/dir", 0o755))
	ok(t, fs.Symlink("dir", nil, "/tmp/dl"))
	_, err = fs.Readlink(nil, "/tmp/dl/")
	wantErrno(t, "readlink link/", err, unix.EINVAL)
	dir, _ := fs.Lookup(nil, "/tmp", 0)
	if tgt, err := fs.Readlink(dir, "dl"); tgt != "dir" || err != nil {
		t.Errorf("readlinkat = %q %v", tgt, err)
	}
	_, err = fs.Readlink(dir, "")
	wantErrno(t, "readlinkat dir \"\"", err, unix.ENOENT)
}

func TestPermissions(t *testing.T) {
	fs, clk := newTestFS(t)
	writeFile(t, fs, "/tmp/secret", "s")
	ok(t, fs.Chmod(nil, "/tmp/secret", 0o600, 0))
	writeFile(t, fs, "/tmp/script", "#!")
	ok(t, fs.Chmod(nil, "/tmp/script", 0o744, 0))
	writeFile(t, fs, "/tmp/plain", "")
	ok(t, fs.Mkdir(nil, "/tmp/closed", 0o700))
	writeFile(t, fs, "/tmp/closed/f", "")

	// Root: read and write always, execute only with some x bit.
	ok(t, fs.Access(nil, "/tmp/secret", unix.R_OK|unix.W_OK, 0))
	wantErrno(t, "root X_OK without x", fs.Access(nil, "/tmp/plain", unix.X_OK, 0), unix.EACCES)
	ok(t, fs.Access(nil, "/tmp/script", unix.X_OK, 0))
	ok(t, fs.Access(nil, "/tmp/closed", unix.X_OK, 0))
	wantErrno(t, "access missing", fs.Access(nil, "/tmp/none", unix.F_OK, 0), unix.ENOENT)
	wantErrno(t, "access bad mode", fs.Access(nil, "/tmp", 8, 0), unix.EINVAL)
	wantErrno(t, "access bad flags", fs.Access(nil, "/tmp", 0, 1), unix.EINVAL)
	ok(t, fs.Access(nil, "/tmp", unix.R_OK, unix.AT_EACCESS))

	// An ordinary user.
	fs.SetCred(Cred{UID: 1000, GID: 1000})
	if c := fs.Cred(); c.UID != 1000 {
		t.Errorf("Cred %+v", c)
	}
	wantErrno(t, "user R_OK", fs.Access(nil, "/tmp/secret", unix.R_OK, 0), unix.EACCES)
	ok(t, fs.Access(nil, "/tmp/script", unix.R_OK, 0))
	wantErrno(t, "user X_OK on 0744", fs.Access(nil, "/tmp/script", unix.X_OK, 0), unix.EACCES)
	_, err := fs.Open(nil, "/tmp/secret", unix.O_RDONLY, 0)
	wantErrno(t, "user open 0600", err, unix.EACCES)
	_, err = fs.Open(nil, "/tmp/plain", unix.O_WRONLY, 0)
	wantErrno(t, "user write 0644", err, unix.EACCES)
	_, err = fs.Open(nil, "/tmp/plain", unix.O_RDONLY|unix.O_TRUNC, 0)
	wantErrno(t, "user O_TRUNC 0644", err, unix.EACCES)
	_, err = fs.Open(nil, "/tmp/closed/f", unix.O_RDONLY, 0)
	wantErrno(t, "search permission", err, unix.EACCES)
	wantErrno(t, "chdir without x", fs.Chdir(nil, "/tmp/closed"), unix.EACCES)
	wantErrno(t, "create in /", fs.Mkdir(nil, "/mine", 0o755), unix.EACCES)
	wantErrno(t, "chmod not owner", fs.Chmod(nil, "/tmp/plain", 0o777, 0), unix.EPERM)
	wantErrno(t, "chown not root", fs.Chown(nil, "/tmp/plain", 1000, -1, 0), unix.EPERM)
	wantErrno(t, "utimens not owner", fs.Utimens(nil, "/tmp/plain", &[2]Timespec{{Sec: 1}, {Sec: 2}}, 0), unix.EPERM)
	wantErrno(t, "utimens now without write", fs.Utimens(nil, "/tmp/plain", nil, 0), unix.EACCES)
	wantErrno(t, "truncate without write", fs.Truncate(nil, "/tmp/plain", 0), unix.EACCES)

	// Own files in sticky /tmp: others may not remove them.
	writeFile(t, fs, "/tmp/mine", "m")
	st := lstat(t, fs, "/tmp/mine")
	if st.UID != 1000 || st.GID != 1000 {
		t.Errorf("owner of new file %d:%d", st.UID, st.GID)
	}
	ok(t, fs.Chmod(nil, "/tmp/mine", 0o4755, 0))
	if st := lstat(t, fs, "/tmp/mine"); st.Mode != S_IFREG|0o4755 {
		t.Errorf("chmod by owner %#o", st.Mode)
	}
	// A write by a non-root user clears set-user-ID.
	f, err := fs.Open(nil, "/tmp/mine", unix.O_WRONLY, 0)
	ok(t, err)
	f.Write([]byte("x"))
	if st := lstat(t, fs, "/tmp/mine"); st.Mode != S_IFREG|0o755 {
		t.Errorf("write kept setuid: %#o", st.Mode)
	}
	wantErrno(t, "chgrp to foreign group", fs.Chown(nil, "/tmp/mine", -1, 7, 0), unix.EPERM)
	wantErrno(t, "unlink other's file in sticky dir", fs.Unlink(nil, "/tmp/plain"), unix.EPERM)
	wantErrno(t, "rename other's file in sticky dir", fs.Rename(nil, "/tmp/plain", nil, "/tmp/p2", 0), unix.EPERM)
	ok(t, fs.Rename(nil, "/tmp/mine", nil, "/tmp/mine2", 0))
	ok(t, fs.Unlink(nil, "/tmp/mine2"))

	// Back to root: chown, chmod, and their effect on set-ID bits.
	fs.SetCred(Cred{})
	now := clk.tick()
	ok(t, fs.Chmod(nil, "/tmp/script", 0o6755, 0))
	ok(t, fs.Chown(nil, "/tmp/script", 1000, 1000, 0))
	st = lstat(t, fs, "/tmp/script")
	if st.UID != 1000 || st.GID != 1000 || st.Mode != S_IFREG|0o755 || st.Ctime != now || st.Mtime == now {
		t.Errorf("chown: %+v", st)
	}
	ok(t, fs.Chown(nil, "/tmp/script", -1, 5, 0))
	if st := lstat(t, fs, "/tmp/script"); st.UID != 1000 || st.GID != 5 {
		t.Errorf("chown -1: %+v", st)
	}
	ok(t, fs.Symlink("script", nil, "/tmp/sl"))
	ok(t, fs.Chown(nil, "/tmp/sl", 7, 7, unix.AT_SYMLINK_NOFOLLOW))
	if st := lstat(t, fs, "/tmp/sl"); st.UID != 7 || lstat(t, fs, "/tmp/script").UID != 1000 {
		t.Errorf("lchown")
	}
	wantErrno(t, "chmod symlink nofollow", fs.Chmod(nil, "/tmp/sl", 0o700, unix.AT_SYMLINK_NOFOLLOW), unix.EOPNOTSUPP)
	ok(t, fs.Chmod(nil, "/tmp/sl", 0o700, 0)) // follows
	if st := lstat(t, fs, "/tmp/script"); st.Mode != S_IFREG|0o700 {
		t.Errorf("chmod through symlink %#o", st.Mode)
	}
	d, _ := fs.Open(nil, "/tmp/script", unix.O_RDONLY, 0)
	ok(t, d.Chmod(0o711))
	ok(t, fs.Chmod(d.Inode(), "", 0o751, unix.AT_EMPTY_PATH))
	if st := lstat(t, fs, "/tmp/script"); st.Mode != S_IFREG|0o751 {
		t.Errorf("fchmod %#o", st.Mode)
	}
	wantErrno(t, "chmod bad flags", fs.Chmod(nil, "/tmp/script", 0, 0x1), unix.EINVAL)
}

func TestUtimens(t *testing.T) {
	fs, clk := newTestFS(t)
	writeFile(t, fs, "/tmp/f", "x")
	now := clk.tick()
	ok(t, fs.Utimens(nil, "/tmp/f", &[2]Timespec{{Sec: 10, Nsec: 1}, {Sec: 20, Nsec: 2}}, 0))
	st := lstat(t, fs, "/tmp/f")
	if st.Atime != (Timespec{Sec: 10, Nsec: 1}) || st.Mtime != (Timespec{Sec: 20, Nsec: 2}) || st.Ctime != now {
		t.Errorf("utimens: %+v", st)
	}
	now = clk.tick()
	ok(t, fs.Utimens(nil, "/tmp/f", &[2]Timespec{{Nsec: UTIME_OMIT}, {Nsec: UTIME_NOW}}, 0))
	st = lstat(t, fs, "/tmp/f")
	if st.Atime != (Timespec{Sec: 10, Nsec: 1}) || st.Mtime != now {
		t.Errorf("UTIME_OMIT/UTIME_NOW: %+v", st)
	}
	ok(t, fs.Utimens(nil, "/tmp/f", nil, 0))
	wantErrno(t, "bad nsec", fs.Utimens(nil, "/tmp/f", &[2]Timespec{{Nsec: 1e9}, {}}, 0), unix.EINVAL)
	ok(t, fs.Symlink("f", nil, "/tmp/l"))
	ok(t, fs.Utimens(nil, "/tmp/l", &[2]Timespec{{Sec: 5}, {Sec: 6}}, unix.AT_SYMLINK_NOFOLLOW))
	if lstat(t, fs, "/tmp/l").Mtime.Sec != 6 || lstat(t, fs, "/tmp/f").Mtime.Sec == 6 {
		t.Errorf("utimens nofollow")
	}
	f, _ := fs.Open(nil, "/tmp/f", unix.O_RDONLY, 0)
	ok(t, f.Utimens(&[2]Timespec{{Sec: 1}, {Sec: 2}}))
	if lstat(t, fs, "/tmp/f").Mtime.Sec != 2 {
		t.Errorf("futimens")
	}
	// Creation times: btime is set once.
	if st := lstat(t, fs, "/tmp/f"); st.Btime.Sec != 1_700_000_000 {
		t.Errorf("btime %+v", st.Btime)
	}
}

func TestReadDir(t *testing.T) {
	fs, _ := newTestFS(t)
	ok(t, fs.Mkdir(nil, "/d", 0o755))
	want := map[string]uint8{".": unix.DT_DIR, "..": unix.DT_DIR}
	for i := 0; i < 100; i++ {
		name := fmt.Sprintf("file-%03d-%s", i, strings.Repeat("n", i%13))
		writeFile(t, fs, "/d/"+name, "")
		want[name] = unix.DT_REG
	}
	ok(t, fs.Mkdir(nil, "/d/sub", 0o755))
	ok(t, fs.Symlink("x", nil, "/d/link"))
	ok(t, fs.Mknod(nil, "/d/fifo", S_IFIFO|0o644, 0))
	want["sub"], want["link"], want["fifo"] = unix.DT_DIR, unix.DT_LNK, unix.DT_FIFO

	for _, bufSize := range []int{48, 100, 4096} {
		f, err := fs.Open(nil, "/d", unix.O_RDONLY|unix.O_DIRECTORY, 0)
		ok(t, err)
		ents := readAllDir(t, f, bufSize)
		if len(ents) != len(want) {
			t.Fatalf("bufsize %d: %d entries, want %d", bufSize, len(ents), len(want))
		}
		if ents[0].Name != "." || ents[1].Name != ".." || ents[0].Ino != lstat(t, fs, "/d").Ino || ents[1].Ino != 2 {
			t.Errorf("dot entries %+v %+v", ents[0], ents[1])
		}
		seen := map[string]bool{}
		for _, e := range ents {
			if seen[e.Name] {
				t.Errorf("duplicate %q", e.Name)
			}
			seen[e.Name] = true
			if want[e.Name] != e.Type {
				t.Errorf("%q: type %d, want %d", e.Name, e.Type, want[e.Name])
			}
			if e.Name != "." && e.Name != ".." && lstat(t, fs, "/d/"+e.Name).Ino != e.Ino {
				t.Errorf("%q: d_ino %d", e.Name, e.Ino)
			}
		}
	}

	// Record layout: 8-byte aligned reclen, NUL-terminated name.
	f, _ := fs.Open(nil, "/d", unix.O_RDONLY, 0)
	buf := make([]byte, 4096)
	n, err := f.ReadDir(buf)
	ok(t, err)
	for off := 0; off < n; {
		reclen := int(buf[off+16]) | int(buf[off+17])<<8
		name := buf[off+19 : off+reclen]
		nul := bytes.IndexByte(name, 0)
		if reclen%8 != 0 || nul < 0 || reclen != (19+nul+1+7)&^7 {
			t.Fatalf("bad record at %d: reclen %d name %q", off, reclen, name)
		}
		off += reclen
	}

	// Resuming at a d_off (telldir/seekdir), and entries changing between
	// calls: removed ones are skipped, the rest is not repeated.
	f, _ = fs.Open(nil, "/d", unix.O_RDONLY, 0)
	small := make([]byte, 200)
	n, _ = f.ReadDir(small)
	first, _ := ParseDirents(small[:n])
	resume := first[len(first)-1].Off
	rest := readAllDir(t, f, 4096)
	if _, err := f.Seek(resume, unix.SEEK_SET); err != nil {
		t.Fatal(err)
	}
	again := readAllDir(t, f, 4096)
	if len(again) != len(rest) || again[0] != rest[0] {
		t.Errorf("seekdir to %d: %d entries vs %d", resume, len(again), len(rest))
	}
	ok(t, fs.Unlink(nil, "/d/"+rest[0].Name))
	writeFile(t, fs, "/d/late", "")
	f.Seek(resume, unix.SEEK_SET)
	after := readAllDir(t, f, 4096)
	if len(after) != len(rest) || after[0] != rest[1] || after[len(after)-1].Name != "late" {
		t.Errorf("after changes: %d entries", len(after))
	}
	if _, err := f.Seek(0, unix.SEEK_END); err == nil {
		t.Errorf("SEEK_END on a directory succeeded")
	}
	f.Seek(0, unix.SEEK_SET)
	_, err = f.ReadDir(make([]byte, 20))
	wantErrno(t, "tiny buffer", err, unix.EINVAL)
	if n, err := f.ReadDir(make([]byte, 24)); n != 24 || err != nil {
		t.Errorf("exact buffer for \".\": %d, %v", n, err)
	}
	file, _ := fs.Open(nil, "/d/late", unix.O_RDONLY, 0)
	_, err = file.ReadDir(buf)
	wantErrno(t, "getdents on file", err, unix.ENOTDIR)

	// The legacy getdents format.
	f.Seek(0, unix.SEEK_SET)
	n, err = f.ReadDirLegacy(buf)
	ok(t, err)
	var names []string
	for off := 0; off < n; {
		reclen := int(buf[off+16]) | int(buf[off+17])<<8
		name := buf[off+18 : off+reclen]
		names = append(names, string(name[:bytes.IndexByte(name, 0)]))
		typ := buf[off+reclen-1]
		if names[len(names)-1] == "sub" && typ != unix.DT_DIR || names[len(names)-1] == "late" && typ != unix.DT_REG {
			t.Errorf("legacy d_type of %s: %d", names[len(names)-1], typ)
		}
		if reclen%8 != 0 {
			t.Errorf("legacy reclen %d", reclen)
		}
		off += reclen
	}
	if names[0] != "." || names[1] != ".." || len(names) != len(want) {
		t.Errorf("legacy names %v", names[:3])
	}
}

func TestConcurrency(t *testing.T) {
	fs, _ := newTestFS(t)
	ok(t, fs.Mkdir(nil, "/c", 0o777))
	shared, err := fs.Open(nil, "/c/shared", unix.O_RDWR|unix.O_CREAT|unix.O_APPEND, 0o644)
	ok(t, err)
	var wg sync.WaitGroup
	const workers, rounds = 8, 200
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			dir := fmt.Sprintf("/c/w%d", w)
			if err := fs.Mkdir(nil, dir, 0o755); err != nil {
				t.Error(err)
				return
			}
			for i := 0; i < rounds; i++ {
				p := fmt.Sprintf("%s/f%d", dir, i)
				f, err := fs.Open(nil, p, unix.O_RDWR|unix.O_CREAT, 0o644)
				if err != nil {
					t.Error(err)
					return
				}
				f.Write([]byte(p))
				shared.Write([]byte("0123456789"))
				if err := fs.Rename(nil, p, nil, p+"r", 0); err != nil {
					t.Error(err)
				}
				if _, err := fs.Stat(nil, p+"r", 0); err != nil {
					t.Error(err)
				}
				d, _ := fs.Open(nil, "/c", unix.O_RDONLY, 0)
				d.ReadDir(make([]byte, 512))
				if i%2 == 0 {
					fs.Unlink(nil, p+"r")
				}
			}
		}(w)
	}
	wg.Wait()
	st, _ := shared.Stat()
	if st.Size != workers*rounds*10 {
		t.Errorf("shared size %d", st.Size)
	}
	data := make([]byte, st.Size)
	shared.Pread(data, 0)
	if !bytes.Equal(data, bytes.Repeat([]byte("0123456789"), workers*rounds)) {
		t.Errorf("interleaved appends")
	}
	for w := 0; w < workers; w++ {
		d, _ := fs.Open(nil, fmt.Sprintf("/c/w%d", w), unix.O_RDONLY, 0)
		if n := len(readAllDir(t, d, 1024)); n != rounds/2+2 {
			t.Errorf("worker %d: %d entries", w, n)
		}
	}
}

// Stat of an inode reports what the filesystem holds.
func TestInodeStat(t *testing.T) {
	fs, _ := newTestFS(t)
	writeFile(t, fs, "/tmp/f", "12345")
	st := lstat(t, fs, "/tmp/f")
	if st.Dev != DefaultDev || st.Size != 5 || st.Blocks != 8 || st.Blksize != 4096 || st.Nlink != 1 {
		t.Errorf("stat %+v", st)
	}
	fs.SetDev(Mkdev(0, 42))
	if st := lstat(t, fs, "/tmp/f"); st.Dev != Mkdev(0, 42) {
		t.Errorf("SetDev")
	}
	if st := lstat(t, fs, "/dev/null"); st.Size != 0 || st.Blocks != 0 {
		t.Errorf("device %+v", st)
	}
}
