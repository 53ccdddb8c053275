package linux

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/gosv/gosv/kernel/task"
	"github.com/gosv/gosv/kernel/vfs"
	"golang.org/x/sys/unix"
)

// fx is a test process with a bump allocator over 1 MiB of app memory.
type fx struct {
	t    *testing.T
	p    *task.Process
	task *task.Task
	out  *bytes.Buffer
	base uintptr
	next uintptr
}

const fxMem = 1 << 20

func newFx(t *testing.T) *fx {
	t.Helper()
	p, task0, out, _ := newTestProcess(t)
	base, err := p.MM.Map(0, fxMem, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS, "")
	if err != nil {
		t.Fatal(err)
	}
	return &fx{t: t, p: p, task: task0, out: out, base: base, next: base}
}

// alloc returns n zeroed bytes of app memory.
func (f *fx) alloc(n int) uintptr {
	f.t.Helper()
	a := f.next
	f.next += uintptr(n+15) &^ 15
	if f.next > f.base+fxMem {
		f.t.Fatal("fx: out of app memory")
	}
	f.put(a, make([]byte, n))
	return a
}

// str puts a NUL-terminated string in app memory.
func (f *fx) str(s string) uintptr {
	a := f.alloc(len(s) + 1)
	f.put(a, []byte(s))
	return a
}

func (f *fx) put(addr uintptr, b []byte) {
	f.t.Helper()
	if err := f.task.CopyOut(addr, b); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fx) get(addr uintptr, n int) []byte {
	f.t.Helper()
	b := make([]byte, n)
	if err := f.task.CopyIn(b, addr); err != nil {
		f.t.Fatal(err)
	}
	return b
}

func (f *fx) call(nr int, args ...uintptr) int64 { return call(f.task, nr, args...) }

// ok runs a syscall that must succeed.
func (f *fx) ok(nr int, args ...uintptr) int64 {
	f.t.Helper()
	r := f.call(nr, args...)
	if r < 0 && r > -4096 {
		f.t.Fatalf("%s(%#x) = %v", SyscallName(uintptr(nr)), args, unix.Errno(-r))
	}
	return r
}

// fails runs a syscall that must fail with want.
func (f *fx) fails(want unix.Errno, nr int, args ...uintptr) {
	f.t.Helper()
	if r := f.call(nr, args...); r != -int64(want) {
		got := "success"
		if r < 0 {
			got = unix.Errno(-r).Error()
		}
		f.t.Errorf("%s(%#x) = %d (%s), want %v", SyscallName(uintptr(nr)), args, r, got, want)
	}
}

func (f *fx) open(path string, flags int, mode uint32) uintptr {
	f.t.Helper()
	return uintptr(f.ok(unix.SYS_OPENAT, atFDCWD, f.str(path), uintptr(flags), uintptr(mode)))
}

func (f *fx) write(fd uintptr, s string) {
	f.t.Helper()
	if n := f.ok(unix.SYS_WRITE, fd, f.str(s), uintptr(len(s))); n != int64(len(s)) {
		f.t.Fatalf("write = %d, want %d", n, len(s))
	}
}

// read reads up to n bytes from fd.
func (f *fx) read(fd uintptr, n int) string {
	f.t.Helper()
	buf := f.alloc(n)
	k := f.ok(unix.SYS_READ, fd, buf, uintptr(n))
	return string(f.get(buf, int(k)))
}

func (f *fx) readFile(path string) string {
	f.t.Helper()
	fd := f.open(path, unix.O_RDONLY, 0)
	defer f.ok(unix.SYS_CLOSE, fd)
	var s strings.Builder
	for {
		b := f.read(fd, 4096)
		if b == "" {
			return s.String()
		}
		s.WriteString(b)
	}
}

func (f *fx) readlink(path string) string {
	f.t.Helper()
	buf := f.alloc(4096)
	n := f.ok(unix.SYS_READLINK, f.str(path), buf, 4096)
	return string(f.get(buf, int(n)))
}

// stat decodes the struct stat of newfstatat(dirfd, path, flags).
func (f *fx) statAt(dirfd uintptr, path string, flags int) unix.Stat_t {
	f.t.Helper()
	buf := f.alloc(vfs.SizeofStat)
	f.ok(unix.SYS_NEWFSTATAT, dirfd, f.str(path), buf, uintptr(flags))
	return decodeStat(f.get(buf, vfs.SizeofStat))
}

func (f *fx) stat(path string) unix.Stat_t  { return f.statAt(atFDCWD, path, 0) }
func (f *fx) lstat(path string) unix.Stat_t { return f.statAt(atFDCWD, path, unix.AT_SYMLINK_NOFOLLOW) }

func (f *fx) fstat(fd uintptr) unix.Stat_t {
	f.t.Helper()
	buf := f.alloc(vfs.SizeofStat)
	f.ok(unix.SYS_FSTAT, fd, buf)
	return decodeStat(f.get(buf, vfs.SizeofStat))
}

func decodeStat(b []byte) unix.Stat_t {
	var st unix.Stat_t
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&st)), unsafe.Sizeof(st)), b)
	return st
}

func errnoOf(r int64) unix.Errno {
	if r < 0 {
		return unix.Errno(-r)
	}
	return 0
}

func TestStructSizes(t *testing.T) {
	if unsafe.Sizeof(unix.Stat_t{}) != vfs.SizeofStat || unsafe.Sizeof(unix.Statx_t{}) != vfs.SizeofStatx ||
		unsafe.Sizeof(unix.Statfs_t{}) != 120 {
		t.Fatal("struct sizes differ from the x86-64 ABI")
	}
}

func TestOpenReadWriteSeek(t *testing.T) {
	f := newFx(t)
	fd := f.open("/tmp/a", unix.O_CREAT|unix.O_RDWR, 0o666)
	if fd != 3 {
		t.Errorf("first open = fd %d, want 3", fd)
	}
	f.write(fd, "hello")
	if r := f.ok(unix.SYS_LSEEK, fd, 0, unix.SEEK_CUR); r != 5 {
		t.Errorf("lseek(SEEK_CUR) = %d, want 5", r)
	}
	if r := f.ok(unix.SYS_LSEEK, fd, 0, unix.SEEK_SET); r != 0 {
		t.Errorf("lseek(0, SEEK_SET) = %d", r)
	}
	if s := f.read(fd, 100); s != "hello" {
		t.Errorf("read = %q", s)
	}
	if s := f.read(fd, 100); s != "" {
		t.Errorf("read at EOF = %q", s)
	}
	buf := f.alloc(16)
	if n := f.ok(unix.SYS_PREAD64, fd, buf, 16, 1); n != 4 || string(f.get(buf, 4)) != "ello" {
		t.Errorf("pread64 at 1 = %d %q", n, f.get(buf, 4))
	}
	if n := f.ok(unix.SYS_PWRITE64, fd, f.str(" world"), 6, 5); n != 6 {
		t.Errorf("pwrite64 = %d", n)
	}
	if r := f.ok(unix.SYS_LSEEK, fd, ^uintptr(1), unix.SEEK_END); r != 9 {
		t.Errorf("lseek(-2, SEEK_END) = %d, want 9", r)
	}
	if s := f.read(fd, 100); s != "ld" {
		t.Errorf("read after SEEK_END = %q", s)
	}
	f.fails(unix.EINVAL, unix.SYS_LSEEK, fd, 0, 7)
	f.fails(unix.EINVAL, unix.SYS_LSEEK, fd, ^uintptr(100), unix.SEEK_SET)
	f.fails(unix.EINVAL, unix.SYS_PREAD64, fd, buf, 1, ^uintptr(0))
	f.ok(unix.SYS_LSEEK, fd, 0, unix.SEEK_SET)
	f.fails(unix.EFAULT, unix.SYS_READ, fd, 0x10, 4)
	st := f.fstat(fd)
	if st.Size != 11 || st.Mode != unix.S_IFREG|0o644 || st.Nlink != 1 {
		t.Errorf("fstat: size %d mode %o nlink %d, want 11, 100644 (umask 022), 1", st.Size, st.Mode, st.Nlink)
	}
	f.ok(unix.SYS_CLOSE, fd)
	f.fails(unix.EBADF, unix.SYS_CLOSE, fd)
	f.fails(unix.EBADF, unix.SYS_READ, fd, buf, 1)
	f.fails(unix.EBADF, unix.SYS_LSEEK, fd, 0, 0)
	if s := f.readFile("/tmp/a"); s != "hello world" {
		t.Errorf("contents = %q", s)
	}

	// Legacy open and creat.
	fd = uintptr(f.ok(unix.SYS_CREAT, f.str("/tmp/c"), 0o600))
	f.write(fd, "x")
	f.fails(unix.EBADF, unix.SYS_READ, fd, buf, 1) // creat opens O_WRONLY
	fd2 := uintptr(f.ok(unix.SYS_OPEN, f.str("/tmp/c"), unix.O_RDONLY))
	if s := f.read(fd2, 10); s != "x" {
		t.Errorf("read of creat'ed file = %q", s)
	}
	f.fails(unix.EBADF, unix.SYS_WRITE, fd2, buf, 1)
	if st := f.stat("/tmp/c"); st.Mode != unix.S_IFREG|0o600 {
		t.Errorf("creat mode = %o", st.Mode)
	}
}

func TestOpenErrors(t *testing.T) {
	f := newFx(t)
	f.open("/tmp/file", unix.O_CREAT|unix.O_WRONLY, 0o644)
	f.ok(unix.SYS_SYMLINK, f.str("/tmp/file"), f.str("/tmp/link"))
	open := func(want unix.Errno, path string, flags int) {
		t.Helper()
		f.fails(want, unix.SYS_OPENAT, atFDCWD, f.str(path), uintptr(flags), 0o644)
	}
	open(unix.ENOENT, "/tmp/missing", unix.O_RDONLY)
	open(unix.ENOENT, "/nodir/x", unix.O_CREAT|unix.O_RDWR)
	open(unix.ENOENT, "", unix.O_RDONLY)
	open(unix.EEXIST, "/tmp/file", unix.O_CREAT|unix.O_EXCL|unix.O_RDWR)
	open(unix.EEXIST, "/tmp/link", unix.O_CREAT|unix.O_EXCL|unix.O_RDWR)
	open(unix.EISDIR, "/tmp", unix.O_WRONLY)
	open(unix.EISDIR, "/tmp", unix.O_RDWR)
	open(unix.ENOTDIR, "/tmp/file", unix.O_DIRECTORY)
	open(unix.ENOTDIR, "/tmp/file/x", unix.O_RDONLY)
	open(unix.ELOOP, "/tmp/link", unix.O_NOFOLLOW)
	open(unix.EINVAL, "/tmp/new", unix.O_CREAT|unix.O_DIRECTORY)
	open(unix.ENAMETOOLONG, "/tmp/"+strings.Repeat("x", 256), unix.O_RDONLY)
	open(unix.ENAMETOOLONG, strings.Repeat("/x", 2048), unix.O_RDONLY)
	f.fails(unix.EFAULT, unix.SYS_OPENAT, atFDCWD, 0, 0)
	f.fails(unix.EFAULT, unix.SYS_OPEN, 0x1000, 0)
	f.fails(unix.EBADF, unix.SYS_OPENAT, 55, f.str("rel"), 0)
	fd := f.open("/tmp/file", unix.O_RDONLY, 0)
	f.fails(unix.ENOTDIR, unix.SYS_OPENAT, fd, f.str("rel"), 0)
	// An absolute path ignores dirfd, even a bad one.
	if r := f.call(unix.SYS_OPENAT, 55, f.str("/tmp/file"), 0); r < 0 {
		t.Errorf("openat(bad dirfd, absolute) = %v", errnoOf(r))
	}
	// EMFILE when the table is full, before the file is created.
	for {
		if r := f.call(unix.SYS_DUP, 0); r < 0 {
			if r != -int64(unix.EMFILE) {
				t.Fatalf("dup = %v", unix.Errno(-r))
			}
			break
		}
	}
	open(unix.EMFILE, "/tmp/new", unix.O_CREAT|unix.O_RDWR)
	f.fails(unix.ENOENT, unix.SYS_ACCESS, f.str("/tmp/new"), 0)
	f.fails(unix.EMFILE, unix.SYS_PIPE2, f.alloc(8), 0)
	f.ok(unix.SYS_CLOSE_RANGE, 5, ^uintptr(0), 0)
	// A path of PATH_MAX-1 bytes is read in full (then fails in the FS).
	long := "/" + strings.Repeat("a/", 2046) + "bc"
	if len(long) != vfs.PathMax-1 {
		t.Fatal(len(long))
	}
	open(unix.ENOENT, long, unix.O_RDONLY)
}

func TestOpenFlags(t *testing.T) {
	f := newFx(t)
	fd := f.open("/tmp/ap", unix.O_CREAT|unix.O_RDWR|unix.O_APPEND|unix.O_CLOEXEC, 0o644)
	f.write(fd, "abc")
	f.ok(unix.SYS_LSEEK, fd, 0, unix.SEEK_SET)
	f.write(fd, "def")
	if s := f.readFile("/tmp/ap"); s != "abcdef" {
		t.Errorf("O_APPEND: %q", s)
	}
	if fl := f.ok(unix.SYS_FCNTL, fd, unix.F_GETFL); fl != unix.O_RDWR|unix.O_APPEND|oLargeFile {
		t.Errorf("F_GETFL = %#o, want %#o", fl, unix.O_RDWR|unix.O_APPEND|oLargeFile)
	}
	if fd := f.ok(unix.SYS_FCNTL, fd, unix.F_GETFD); fd != unix.FD_CLOEXEC {
		t.Errorf("F_GETFD of O_CLOEXEC = %d", fd)
	}
	f.ok(unix.SYS_FCNTL, fd, unix.F_SETFD, 0)
	if fd := f.ok(unix.SYS_FCNTL, fd, unix.F_GETFD); fd != 0 {
		t.Errorf("F_GETFD after F_SETFD 0 = %d", fd)
	}
	// F_SETFL clears O_APPEND (and ignores the access mode).
	f.ok(unix.SYS_FCNTL, fd, unix.F_SETFL, unix.O_WRONLY|unix.O_NONBLOCK)
	if fl := f.ok(unix.SYS_FCNTL, fd, unix.F_GETFL); fl != unix.O_RDWR|unix.O_NONBLOCK|oLargeFile {
		t.Errorf("F_GETFL after F_SETFL = %#o", fl)
	}
	f.ok(unix.SYS_LSEEK, fd, 0, unix.SEEK_SET)
	f.write(fd, "X")
	if s := f.readFile("/tmp/ap"); s != "Xbcdef" {
		t.Errorf("write after clearing O_APPEND: %q", s)
	}
	// O_TRUNC empties the file.
	f.open("/tmp/ap", unix.O_WRONLY|unix.O_TRUNC, 0)
	if st := f.stat("/tmp/ap"); st.Size != 0 {
		t.Errorf("O_TRUNC left size %d", st.Size)
	}
	// O_PATH: no I/O, but fstat and dirfd use work.
	pfd := f.open("/tmp", unix.O_PATH|unix.O_DIRECTORY, 0)
	f.fails(unix.EBADF, unix.SYS_READ, pfd, f.alloc(8), 8)
	if fl := f.ok(unix.SYS_FCNTL, pfd, unix.F_GETFL); fl != unix.O_PATH|unix.O_DIRECTORY {
		t.Errorf("F_GETFL of O_PATH = %#o", fl)
	}
	if st := f.fstat(pfd); st.Mode&unix.S_IFMT != unix.S_IFDIR {
		t.Errorf("fstat of O_PATH dir: mode %o", st.Mode)
	}
	f.fails(unix.EBADF, unix.SYS_FCNTL, pfd, unix.F_SETFL, 0)
	if r := f.ok(unix.SYS_OPENAT, pfd, f.str("ap"), unix.O_RDONLY); r < 0 {
		t.Error("openat relative to an O_PATH dirfd failed")
	}
}

func TestDirfdRelative(t *testing.T) {
	f := newFx(t)
	f.ok(unix.SYS_MKDIRAT, atFDCWD, f.str("/tmp/d"), 0o755)
	dfd := f.open("/tmp/d", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	fd := uintptr(f.ok(unix.SYS_OPENAT, dfd, f.str("f"), unix.O_CREAT|unix.O_RDWR, 0o640))
	f.write(fd, "data")
	if st := f.statAt(dfd, "f", 0); st.Size != 4 || st.Mode != unix.S_IFREG|0o640 {
		t.Errorf("fstatat(dirfd, f): size %d mode %o", st.Size, st.Mode)
	}
	// AT_EMPTY_PATH names dirfd itself; without it an empty path is ENOENT.
	if st := f.statAt(dfd, "", unix.AT_EMPTY_PATH); st.Mode&unix.S_IFMT != unix.S_IFDIR {
		t.Errorf("fstatat(dirfd, \"\", AT_EMPTY_PATH) mode %o", st.Mode)
	}
	if st := f.statAt(fd, "", unix.AT_EMPTY_PATH); st.Size != 4 {
		t.Errorf("fstatat(file fd, AT_EMPTY_PATH) size %d", st.Size)
	}
	f.fails(unix.ENOENT, unix.SYS_NEWFSTATAT, dfd, f.str(""), f.alloc(vfs.SizeofStat), 0)
	f.fails(unix.EINVAL, unix.SYS_NEWFSTATAT, dfd, f.str("f"), f.alloc(vfs.SizeofStat), 0x8000)
	// Relative paths with AT_FDCWD follow the working directory.
	f.ok(unix.SYS_CHDIR, f.str("/tmp/d"))
	if st := f.stat("f"); st.Size != 4 {
		t.Errorf("stat(\"f\") in /tmp/d: size %d", st.Size)
	}
	f.ok(unix.SYS_MKDIRAT, dfd, f.str("sub"), 0o700)
	f.ok(unix.SYS_RENAMEAT, dfd, f.str("f"), dfd, f.str("sub/g"))
	f.ok(unix.SYS_LINKAT, dfd, f.str("sub/g"), dfd, f.str("h"), 0)
	if st := f.stat("/tmp/d/h"); st.Nlink != 2 {
		t.Errorf("linkat: nlink %d", st.Nlink)
	}
	f.ok(unix.SYS_SYMLINKAT, f.str("sub/g"), dfd, f.str("s"))
	if s := f.readlink("/tmp/d/s"); s != "sub/g" {
		t.Errorf("symlinkat target %q", s)
	}
	f.ok(unix.SYS_UNLINKAT, dfd, f.str("s"), 0)
	f.ok(unix.SYS_UNLINKAT, dfd, f.str("h"), 0)
	f.ok(unix.SYS_UNLINKAT, dfd, f.str("sub/g"), 0)
	f.ok(unix.SYS_UNLINKAT, dfd, f.str("sub"), unix.AT_REMOVEDIR)
	f.fails(unix.ENOENT, unix.SYS_UNLINKAT, dfd, f.str("sub"), unix.AT_REMOVEDIR)
}

func TestStatEncoding(t *testing.T) {
	f := newFx(t)
	fd := f.open("/tmp/s", unix.O_CREAT|unix.O_WRONLY, 0o640)
	f.write(fd, strings.Repeat("z", 5000))
	want, err := f.p.FS.Stat(vfs.RootContext, vfs.Loc{}, "/tmp/s", 0)
	if err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]unix.Stat_t{"stat": f.stat("/tmp/s"), "fstat": f.fstat(fd), "lstat": f.lstat("/tmp/s")} {
		if st.Dev != want.Dev || st.Ino != want.Ino || st.Nlink != 1 || st.Mode != unix.S_IFREG|0o640 ||
			st.Uid != 0 || st.Gid != 0 || st.Size != 5000 || st.Blksize != 4096 || st.Blocks != 16 ||
			st.Mtim.Sec != want.Mtime.Sec || st.Mtim.Nsec != want.Mtime.Nsec ||
			st.Atim.Sec != want.Atime.Sec || st.Ctim.Nsec != want.Ctime.Nsec {
			t.Errorf("%s = %+v, want %+v", name, st, want)
		}
	}
	// Old-style stat and lstat of a symlink.
	f.ok(unix.SYS_SYMLINK, f.str("s"), f.str("/tmp/l"))
	buf := f.alloc(vfs.SizeofStat)
	f.ok(unix.SYS_LSTAT, f.str("/tmp/l"), buf)
	if st := decodeStat(f.get(buf, vfs.SizeofStat)); st.Mode != unix.S_IFLNK|0o777 || st.Size != 1 {
		t.Errorf("lstat(symlink): mode %o size %d", st.Mode, st.Size)
	}
	f.ok(unix.SYS_STAT, f.str("/tmp/l"), buf)
	if st := decodeStat(f.get(buf, vfs.SizeofStat)); st.Ino != want.Ino {
		t.Errorf("stat(symlink) ino %d, want %d", st.Ino, want.Ino)
	}
	f.fails(unix.ENOENT, unix.SYS_STAT, f.str("/tmp/none"), buf)
	f.fails(unix.EFAULT, unix.SYS_STAT, f.str("/tmp/s"), 0x10)
	f.fails(unix.ENOTDIR, unix.SYS_STAT, f.str("/tmp/s/"), buf)
	// The console is a character device.
	if st := f.fstat(1); st.Mode&unix.S_IFMT != unix.S_IFCHR {
		t.Errorf("fstat(1) mode %o", st.Mode)
	}
	// /dev/null through the FS.
	if st := f.stat("/dev/null"); st.Mode != unix.S_IFCHR|0o666 || st.Rdev != unix.Mkdev(1, 3) {
		t.Errorf("stat /dev/null: mode %o rdev %#x", st.Mode, st.Rdev)
	}
}

func TestStatx(t *testing.T) {
	f := newFx(t)
	fd := f.open("/tmp/x", unix.O_CREAT|unix.O_WRONLY, 0o600)
	f.write(fd, "12345")
	want, _ := f.p.FS.Stat(vfs.RootContext, vfs.Loc{}, "/tmp/x", 0)
	buf := f.alloc(vfs.SizeofStatx)
	statx := func(dirfd uintptr, path string, flags int) unix.Statx_t {
		t.Helper()
		f.ok(unix.SYS_STATX, dirfd, f.str(path), uintptr(flags), unix.STATX_ALL, buf)
		var sx unix.Statx_t
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&sx)), unsafe.Sizeof(sx)), f.get(buf, vfs.SizeofStatx))
		return sx
	}
	sx := statx(atFDCWD, "/tmp/x", 0)
	if sx.Mask&unix.STATX_BASIC_STATS != unix.STATX_BASIC_STATS || sx.Mask&unix.STATX_BTIME == 0 ||
		sx.Size != 5 || sx.Mode != unix.S_IFREG|0o600 || sx.Ino != want.Ino || sx.Nlink != 1 ||
		sx.Btime.Sec != want.Btime.Sec || sx.Mtime.Nsec != uint32(want.Mtime.Nsec) ||
		sx.Dev_major != vfs.Major(want.Dev) || sx.Dev_minor != vfs.Minor(want.Dev) {
		t.Errorf("statx = %+v, want %+v", sx, want)
	}
	if sx := statx(fd, "", unix.AT_EMPTY_PATH); sx.Size != 5 {
		t.Errorf("statx(fd, AT_EMPTY_PATH) size %d", sx.Size)
	}
	// A pipe has no birth time.
	fds := f.alloc(8)
	f.ok(unix.SYS_PIPE2, fds, 0)
	rfd := uintptr(le.Uint32(f.get(fds, 4)))
	if sx := statx(rfd, "", unix.AT_EMPTY_PATH); sx.Mask != unix.STATX_BASIC_STATS || sx.Mode&unix.S_IFMT != unix.S_IFIFO {
		t.Errorf("statx(pipe): mask %#x mode %o", sx.Mask, sx.Mode)
	}
	f.fails(unix.EINVAL, unix.SYS_STATX, atFDCWD, f.str("/tmp/x"), 0, unix.STATX__RESERVED, buf)
	f.fails(unix.EINVAL, unix.SYS_STATX, atFDCWD, f.str("/tmp/x"), 0x6000, unix.STATX_ALL, buf)
	f.fails(unix.ENOENT, unix.SYS_STATX, atFDCWD, f.str("/tmp/none"), 0, unix.STATX_ALL, buf)
	f.fails(unix.EFAULT, unix.SYS_STATX, atFDCWD, f.str("/tmp/x"), 0, unix.STATX_ALL, 0x10)
}

// parseDirents64 decodes getdents64 records, checking their layout.
func parseDirents64(t *testing.T, b []byte) []vfs.Dirent {
	t.Helper()
	ds, err := vfs.ParseDirents(b)
	if err != nil {
		t.Fatalf("bad getdents64 records: %v", err)
	}
	for len(b) > 0 {
		if rl := le.Uint16(b[16:]); rl%8 != 0 {
			t.Fatalf("d_reclen %d not a multiple of 8", rl)
		}
		b = b[le.Uint16(b[16:]):]
	}
	return ds
}

func TestGetdents(t *testing.T) {
	f := newFx(t)
	f.ok(unix.SYS_MKDIR, f.str("/tmp/g"), 0o755)
	for _, n := range []string{"a", "bb", "ccc"} {
		f.open("/tmp/g/"+n, unix.O_CREAT|unix.O_WRONLY, 0o644)
	}
	f.ok(unix.SYS_MKDIR, f.str("/tmp/g/sub"), 0o755)
	f.ok(unix.SYS_SYMLINK, f.str("a"), f.str("/tmp/g/ln"))
	dfd := f.open("/tmp/g", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	buf := f.alloc(4096)
	n := f.ok(unix.SYS_GETDENTS64, dfd, buf, 4096)
	ds := parseDirents64(t, f.get(buf, int(n)))
	got := map[string]uint8{}
	var names []string
	for _, d := range ds {
		got[d.Name] = d.Type
		names = append(names, d.Name)
	}
	want := map[string]uint8{".": unix.DT_DIR, "..": unix.DT_DIR, "a": unix.DT_REG, "bb": unix.DT_REG,
		"ccc": unix.DT_REG, "sub": unix.DT_DIR, "ln": unix.DT_LNK}
	if len(got) != len(want) || names[0] != "." || names[1] != ".." {
		t.Errorf("entries %v", names)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("entry %q type %d, want %d", k, got[k], v)
		}
	}
	sta := f.stat("/tmp/g/a")
	for _, d := range ds {
		if d.Name == "a" && d.Ino != sta.Ino {
			t.Errorf("d_ino of a = %d, want %d", d.Ino, sta.Ino)
		}
	}
	if n := f.ok(unix.SYS_GETDENTS64, dfd, buf, 4096); n != 0 {
		t.Errorf("getdents64 at end = %d", n)
	}
	// Rewind; a buffer too small for one record is EINVAL; one record at a time.
	f.ok(unix.SYS_LSEEK, dfd, 0, unix.SEEK_SET)
	f.fails(unix.EINVAL, unix.SYS_GETDENTS64, dfd, buf, 10)
	if n := f.ok(unix.SYS_GETDENTS64, dfd, buf, 24); n != 24 {
		t.Errorf("getdents64 of \".\" = %d bytes", n)
	}
	// The d_off of a record seeks to the next one.
	n = f.ok(unix.SYS_GETDENTS64, dfd, buf, 4096)
	ds = parseDirents64(t, f.get(buf, int(n)))
	if ds[0].Name != ".." {
		t.Fatalf("after \".\": %q", ds[0].Name)
	}
	f.ok(unix.SYS_LSEEK, dfd, uintptr(ds[0].Off), unix.SEEK_SET)
	n = f.ok(unix.SYS_GETDENTS64, dfd, buf, 4096)
	if ds2 := parseDirents64(t, f.get(buf, int(n))); len(ds2) != len(ds)-1 || ds2[0].Name != ds[1].Name {
		t.Errorf("seek to d_off: %v", ds2)
	}
	// getdents: d_type in the last byte of the record.
	f.ok(unix.SYS_LSEEK, dfd, 0, unix.SEEK_SET)
	n = f.ok(unix.SYS_GETDENTS, dfd, buf, 4096)
	b := f.get(buf, int(n))
	var legacy []string
	for len(b) > 0 {
		rl := int(le.Uint16(b[16:]))
		name := string(b[18 : 18+bytes.IndexByte(b[18:], 0)])
		if typ := b[rl-1]; typ != want[name] {
			t.Errorf("getdents: %q type %d", name, typ)
		}
		legacy = append(legacy, name)
		b = b[rl:]
	}
	if len(legacy) != len(want) {
		t.Errorf("getdents entries %v", legacy)
	}
	fd := f.open("/tmp/g/a", unix.O_RDONLY, 0)
	f.fails(unix.ENOTDIR, unix.SYS_GETDENTS64, fd, buf, 4096)
	f.fails(unix.EBADF, unix.SYS_GETDENTS64, 99, buf, 4096)
	f.fails(unix.ENOTDIR, unix.SYS_GETDENTS64, 1, buf, 4096)
	f.ok(unix.SYS_LSEEK, dfd, 0, unix.SEEK_SET)
	f.fails(unix.EFAULT, unix.SYS_GETDENTS64, dfd, 0x10, 4096)
	f.fails(unix.EISDIR, unix.SYS_READ, dfd, buf, 10)
}

func TestReadvWritev(t *testing.T) {
	f := newFx(t)
	fd := f.open("/tmp/v", unix.O_CREAT|unix.O_RDWR, 0o644)
	iov := func(parts ...uintptr) uintptr {
		a := f.alloc(8 * len(parts))
		b := make([]byte, 8*len(parts))
		for i, p := range parts {
			le.PutUint64(b[8*i:], uint64(p))
		}
		f.put(a, b)
		return a
	}
	w := iov(f.str("abc"), 3, 0, 0, f.str("defg"), 4)
	if n := f.ok(unix.SYS_WRITEV, fd, w, 3); n != 7 {
		t.Errorf("writev = %d", n)
	}
	if n := f.ok(unix.SYS_PWRITEV, fd, iov(f.str("XY"), 2), 1, 1); n != 2 {
		t.Errorf("pwritev = %d", n)
	}
	b1, b2 := f.alloc(4), f.alloc(16)
	f.ok(unix.SYS_LSEEK, fd, 0, unix.SEEK_SET)
	r := iov(b1, 4, b2, 16)
	if n := f.ok(unix.SYS_READV, fd, r, 2); n != 7 || string(f.get(b1, 4)) != "aXYd" || string(f.get(b2, 3)) != "efg" {
		t.Errorf("readv = %d %q %q", n, f.get(b1, 4), f.get(b2, 3))
	}
	if n := f.ok(unix.SYS_PREADV, fd, iov(b1, 2, b2, 2), 2, 3); n != 4 || string(f.get(b1, 2)) != "de" || string(f.get(b2, 2)) != "fg" {
		t.Errorf("preadv = %d", n)
	}
	// preadv2 with offset -1 reads at the file offset.
	f.ok(unix.SYS_LSEEK, fd, 5, unix.SEEK_SET)
	if n := f.ok(unix.SYS_PREADV2, fd, iov(b1, 4), 1, ^uintptr(0), 0, 0); n != 2 || string(f.get(b1, 2)) != "fg" {
		t.Errorf("preadv2(-1) = %d %q", n, f.get(b1, 2))
	}
	f.fails(unix.EINVAL, unix.SYS_READV, fd, r, 1025)
	f.fails(unix.EINVAL, unix.SYS_WRITEV, fd, iov(f.str("a"), 1<<63), 1)
	f.fails(unix.EFAULT, unix.SYS_READV, fd, 0x10, 1)
	f.fails(unix.EFAULT, unix.SYS_WRITEV, fd, iov(0x10, 5), 1)
	f.fails(unix.EINVAL, unix.SYS_PREADV, fd, r, 2, ^uintptr(0))
	f.fails(unix.ESPIPE, unix.SYS_PREADV, 0, r, 2, 0)
	f.fails(unix.ESPIPE, unix.SYS_PWRITE64, 1, b1, 1, 0)
}

func TestNamespaceOps(t *testing.T) {
	f := newFx(t)
	mk := func(p string) { f.open(p, unix.O_CREAT|unix.O_WRONLY, 0o644) }
	f.ok(unix.SYS_MKDIR, f.str("/tmp/n"), 0o777)
	if st := f.stat("/tmp/n"); st.Mode != unix.S_IFDIR|0o755 {
		t.Errorf("mkdir mode %o, want 040755 (umask 022)", st.Mode)
	}
	f.fails(unix.EEXIST, unix.SYS_MKDIR, f.str("/tmp/n"), 0o777)
	f.fails(unix.ENOENT, unix.SYS_MKDIR, f.str("/tmp/none/x"), 0o777)
	mk("/tmp/n/f")
	f.fails(unix.ENOTEMPTY, unix.SYS_RMDIR, f.str("/tmp/n"))
	f.fails(unix.ENOTDIR, unix.SYS_RMDIR, f.str("/tmp/n/f"))
	f.fails(unix.EISDIR, unix.SYS_UNLINK, f.str("/tmp/n"))
	f.fails(unix.EINVAL, unix.SYS_RMDIR, f.str("/tmp/n/."))
	f.fails(unix.EINVAL, unix.SYS_UNLINKAT, atFDCWD, f.str("/tmp/n/f"), 0x1)
	// rename, renameat2 flags.
	mk("/tmp/n/g")
	f.ok(unix.SYS_RENAME, f.str("/tmp/n/f"), f.str("/tmp/n/h"))
	f.fails(unix.ENOENT, unix.SYS_STAT, f.str("/tmp/n/f"), f.alloc(vfs.SizeofStat))
	f.fails(unix.EEXIST, unix.SYS_RENAMEAT2, atFDCWD, f.str("/tmp/n/h"), atFDCWD, f.str("/tmp/n/g"), unix.RENAME_NOREPLACE)
	hIno, gIno := f.stat("/tmp/n/h").Ino, f.stat("/tmp/n/g").Ino
	f.ok(unix.SYS_RENAMEAT2, atFDCWD, f.str("/tmp/n/h"), atFDCWD, f.str("/tmp/n/g"), unix.RENAME_EXCHANGE)
	if f.stat("/tmp/n/h").Ino != gIno || f.stat("/tmp/n/g").Ino != hIno {
		t.Error("RENAME_EXCHANGE did not swap")
	}
	f.fails(unix.EINVAL, unix.SYS_RENAMEAT2, atFDCWD, f.str("/tmp/n/h"), atFDCWD, f.str("/tmp/n/g"), 0x80)
	f.fails(unix.EINVAL, unix.SYS_RENAME, f.str("/tmp/n"), f.str("/tmp/n/sub"))
	f.fails(unix.EXDEV, unix.SYS_RENAME, f.str("/tmp/n/g"), f.str("/proc/self/x"))
	f.fails(unix.ENOTEMPTY, unix.SYS_RENAME, f.str("/tmp/n/g"), f.str("/tmp")) // an ancestor
	f.ok(unix.SYS_MKDIR, f.str("/tmp/n/dd"), 0o755)
	f.fails(unix.EISDIR, unix.SYS_RENAME, f.str("/tmp/n/g"), f.str("/tmp/n/dd"))
	f.fails(unix.ENOTDIR, unix.SYS_RENAME, f.str("/tmp/n/dd"), f.str("/tmp/n/g"))
	// link and symlink.
	f.ok(unix.SYS_LINK, f.str("/tmp/n/g"), f.str("/tmp/n/g2"))
	if st := f.stat("/tmp/n/g2"); st.Nlink != 2 || st.Ino != f.stat("/tmp/n/g").Ino {
		t.Errorf("link: nlink %d", st.Nlink)
	}
	f.fails(unix.EEXIST, unix.SYS_LINK, f.str("/tmp/n/g"), f.str("/tmp/n/g2"))
	f.fails(unix.EPERM, unix.SYS_LINK, f.str("/tmp/n"), f.str("/tmp/n2"))
	f.fails(unix.EINVAL, unix.SYS_LINKAT, atFDCWD, f.str("/tmp/n/g"), atFDCWD, f.str("/tmp/n/g3"), 0x1)
	f.ok(unix.SYS_SYMLINK, f.str("g"), f.str("/tmp/n/sl"))
	f.fails(unix.EEXIST, unix.SYS_SYMLINK, f.str("g"), f.str("/tmp/n/sl"))
	f.fails(unix.ENOENT, unix.SYS_SYMLINK, f.str(""), f.str("/tmp/n/sl2"))
	// linkat(AT_SYMLINK_FOLLOW) links the target; without it the link.
	f.ok(unix.SYS_LINKAT, atFDCWD, f.str("/tmp/n/sl"), atFDCWD, f.str("/tmp/n/hl"), unix.AT_SYMLINK_FOLLOW)
	if f.lstat("/tmp/n/hl").Mode&unix.S_IFMT != unix.S_IFREG {
		t.Error("linkat(AT_SYMLINK_FOLLOW) linked the symlink")
	}
	f.ok(unix.SYS_LINKAT, atFDCWD, f.str("/tmp/n/sl"), atFDCWD, f.str("/tmp/n/hl2"), 0)
	if f.lstat("/tmp/n/hl2").Mode&unix.S_IFMT != unix.S_IFLNK {
		t.Error("linkat(0) followed the symlink")
	}
	// AT_EMPTY_PATH links an open file.
	fd := f.open("/tmp/n/g", unix.O_RDONLY, 0)
	f.ok(unix.SYS_LINKAT, fd, f.str(""), atFDCWD, f.str("/tmp/n/viafd"), unix.AT_EMPTY_PATH)
	if f.stat("/tmp/n/viafd").Ino != f.stat("/tmp/n/g").Ino {
		t.Error("linkat(AT_EMPTY_PATH)")
	}
	// readlink.
	buf := f.alloc(64)
	if n := f.ok(unix.SYS_READLINK, f.str("/tmp/n/sl"), buf, 64); n != 1 || string(f.get(buf, 1)) != "g" {
		t.Errorf("readlink = %d %q", n, f.get(buf, 1))
	}
	f.ok(unix.SYS_SYMLINK, f.str("/a/long/target"), f.str("/tmp/n/long"))
	if n := f.ok(unix.SYS_READLINKAT, atFDCWD, f.str("/tmp/n/long"), buf, 4); n != 4 || string(f.get(buf, 4)) != "/a/l" {
		t.Errorf("readlink truncated = %d %q", n, f.get(buf, 4))
	}
	f.fails(unix.EINVAL, unix.SYS_READLINK, f.str("/tmp/n/g"), buf, 64)
	f.fails(unix.EINVAL, unix.SYS_READLINK, f.str("/tmp/n/sl"), buf, 0)
	f.fails(unix.ENOENT, unix.SYS_READLINK, f.str("/tmp/n/none"), buf, 64)
	f.fails(unix.ENOENT, unix.SYS_READLINKAT, atFDCWD, f.str(""), buf, 64)
	// mknod: FIFOs and regular files; devices are EPERM.
	f.ok(unix.SYS_MKNOD, f.str("/tmp/n/fifo"), unix.S_IFIFO|0o600, 0)
	if st := f.stat("/tmp/n/fifo"); st.Mode != unix.S_IFIFO|0o600 {
		t.Errorf("mknod fifo mode %o", st.Mode)
	}
	f.ok(unix.SYS_MKNODAT, atFDCWD, f.str("/tmp/n/reg"), 0o644, 0)
	if st := f.stat("/tmp/n/reg"); st.Mode != unix.S_IFREG|0o644 {
		t.Errorf("mknod regular mode %o", st.Mode)
	}
	f.fails(unix.EPERM, unix.SYS_MKNOD, f.str("/tmp/n/dev"), unix.S_IFCHR|0o600, uintptr(unix.Mkdev(1, 3)))
	f.fails(unix.EINVAL, unix.SYS_MKNOD, f.str("/tmp/n/bad"), 0o170000, 0)
	f.fails(unix.EEXIST, unix.SYS_MKNOD, f.str("/tmp/n/reg"), 0o644, 0)
	f.fails(unix.ENOENT, unix.SYS_MKDIR, f.str("/proc/newdir"), 0o755)
	f.fails(unix.EPERM, unix.SYS_MKDIR, f.str("/sys/newdir"), 0o755)
	f.fails(unix.EEXIST, unix.SYS_MKDIR, f.str("/proc/self"), 0o755)
	f.fails(unix.EPERM, unix.SYS_UNLINK, f.str("/proc/self/maps"))
	f.fails(unix.ENOENT, unix.SYS_UNLINK, f.str("/proc/none"))
}

func TestAttributes(t *testing.T) {
	f := newFx(t)
	fd := f.open("/tmp/at", unix.O_CREAT|unix.O_RDWR, 0o644)
	// access / faccessat / faccessat2.
	f.ok(unix.SYS_ACCESS, f.str("/tmp/at"), unix.F_OK)
	f.ok(unix.SYS_ACCESS, f.str("/tmp/at"), unix.R_OK|unix.W_OK)
	f.fails(unix.EACCES, unix.SYS_ACCESS, f.str("/tmp/at"), unix.X_OK)
	f.fails(unix.ENOENT, unix.SYS_ACCESS, f.str("/tmp/none"), unix.F_OK)
	f.fails(unix.EINVAL, unix.SYS_ACCESS, f.str("/tmp/at"), 8)
	f.ok(unix.SYS_FACCESSAT, atFDCWD, f.str("/tmp/at"), unix.R_OK)
	f.ok(unix.SYS_FACCESSAT2, fd, f.str(""), unix.W_OK, unix.AT_EMPTY_PATH)
	f.fails(unix.EINVAL, unix.SYS_FACCESSAT2, atFDCWD, f.str("/tmp/at"), 0, 0x1)
	f.ok(unix.SYS_ACCESS, f.str("/proc/self/maps"), unix.R_OK)
	// chmod family.
	f.ok(unix.SYS_CHMOD, f.str("/tmp/at"), 0o755)
	if st := f.fstat(fd); st.Mode != unix.S_IFREG|0o755 {
		t.Errorf("chmod: mode %o", st.Mode)
	}
	f.ok(unix.SYS_ACCESS, f.str("/tmp/at"), unix.X_OK)
	f.ok(unix.SYS_FCHMOD, fd, 0o4600)
	if st := f.stat("/tmp/at"); st.Mode != unix.S_IFREG|0o4600 {
		t.Errorf("fchmod: mode %o", st.Mode)
	}
	f.ok(unix.SYS_FCHMODAT, atFDCWD, f.str("/tmp/at"), 0o640)
	if st := f.stat("/tmp/at"); st.Mode != unix.S_IFREG|0o640 {
		t.Errorf("fchmodat: mode %o", st.Mode)
	}
	f.fails(unix.ENOENT, unix.SYS_CHMOD, f.str("/tmp/none"), 0o644)
	f.fails(unix.EBADF, unix.SYS_FCHMOD, 77, 0o644)
	// chown family: accepted and recorded.
	f.ok(unix.SYS_CHOWN, f.str("/tmp/at"), 1000, 100)
	if st := f.stat("/tmp/at"); st.Uid != 1000 || st.Gid != 100 {
		t.Errorf("chown: %d:%d", st.Uid, st.Gid)
	}
	f.ok(unix.SYS_FCHOWN, fd, ^uintptr(0), 200)
	if st := f.stat("/tmp/at"); st.Uid != 1000 || st.Gid != 200 {
		t.Errorf("fchown(-1, 200): %d:%d", st.Uid, st.Gid)
	}
	f.ok(unix.SYS_FCHOWNAT, atFDCWD, f.str("/tmp/at"), 0, 0, 0)
	f.ok(unix.SYS_LCHOWN, f.str("/tmp/at"), 0, 0)
	f.fails(unix.EINVAL, unix.SYS_FCHOWNAT, atFDCWD, f.str("/tmp/at"), 0, 0, 0x1)
	// utimensat: explicit times, UTIME_OMIT, NULL path = the fd.
	ts := f.alloc(32)
	b := make([]byte, 32)
	le.PutUint64(b[0:], 1000)
	le.PutUint64(b[8:], 5)
	le.PutUint64(b[16:], 2000)
	le.PutUint64(b[24:], 7)
	f.put(ts, b)
	f.ok(unix.SYS_UTIMENSAT, atFDCWD, f.str("/tmp/at"), ts, 0)
	if st := f.stat("/tmp/at"); st.Atim.Sec != 1000 || st.Atim.Nsec != 5 || st.Mtim.Sec != 2000 || st.Mtim.Nsec != 7 {
		t.Errorf("utimensat: atime %v mtime %v", st.Atim, st.Mtim)
	}
	le.PutUint64(b[8:], unix.UTIME_OMIT)
	le.PutUint64(b[16:], 3000)
	f.put(ts, b)
	f.ok(unix.SYS_UTIMENSAT, fd, 0, ts, 0)
	if st := f.stat("/tmp/at"); st.Atim.Sec != 1000 || st.Mtim.Sec != 3000 {
		t.Errorf("futimens with UTIME_OMIT: atime %v mtime %v", st.Atim, st.Mtim)
	}
	le.PutUint64(b[8:], 1e9)
	f.put(ts, b)
	f.fails(unix.EINVAL, unix.SYS_UTIMENSAT, atFDCWD, f.str("/tmp/at"), ts, 0)
	f.fails(unix.EFAULT, unix.SYS_UTIMENSAT, atFDCWD, 0, 0, 0)
	f.fails(unix.EINVAL, unix.SYS_UTIMENSAT, atFDCWD, f.str("/tmp/at"), 0, 0x1)
	f.ok(unix.SYS_UTIMENSAT, atFDCWD, f.str("/tmp/at"), 0, 0)
	if st := f.stat("/tmp/at"); st.Mtim.Sec < 1e9 {
		t.Errorf("utimensat(NULL times): mtime %v", st.Mtim)
	}
	tv := f.alloc(32)
	le.PutUint64(b[0:], 10)
	le.PutUint64(b[8:], 20)
	le.PutUint64(b[16:], 30)
	le.PutUint64(b[24:], 40)
	f.put(tv, b)
	f.ok(unix.SYS_UTIMES, f.str("/tmp/at"), tv)
	if st := f.stat("/tmp/at"); st.Atim.Sec != 10 || st.Atim.Nsec != 20000 || st.Mtim.Sec != 30 {
		t.Errorf("utimes: atime %v mtime %v", st.Atim, st.Mtim)
	}
	// umask.
	if old := f.ok(unix.SYS_UMASK, 0o077); old != 0o022 {
		t.Errorf("umask = %o, want 022", old)
	}
	f.open("/tmp/um", unix.O_CREAT|unix.O_WRONLY, 0o666)
	if st := f.stat("/tmp/um"); st.Mode != unix.S_IFREG|0o600 {
		t.Errorf("mode under umask 077: %o", st.Mode)
	}
	if old := f.ok(unix.SYS_UMASK, 0o022); old != 0o077 {
		t.Errorf("umask = %o, want 077", old)
	}
}

func TestTruncateSyncFcntl(t *testing.T) {
	f := newFx(t)
	fd := f.open("/tmp/tr", unix.O_CREAT|unix.O_RDWR, 0o644)
	f.write(fd, "0123456789")
	f.ok(unix.SYS_TRUNCATE, f.str("/tmp/tr"), 4)
	if st := f.fstat(fd); st.Size != 4 {
		t.Errorf("truncate: size %d", st.Size)
	}
	f.ok(unix.SYS_FTRUNCATE, fd, 8192)
	if st := f.fstat(fd); st.Size != 8192 || st.Blocks != 16 {
		t.Errorf("ftruncate: size %d blocks %d", st.Size, st.Blocks)
	}
	f.fails(unix.EINVAL, unix.SYS_FTRUNCATE, fd, ^uintptr(0))
	f.fails(unix.EISDIR, unix.SYS_TRUNCATE, f.str("/tmp"), 0)
	f.fails(unix.ENOENT, unix.SYS_TRUNCATE, f.str("/tmp/none"), 0)
	ro := f.open("/tmp/tr", unix.O_RDONLY, 0)
	f.fails(unix.EINVAL, unix.SYS_FTRUNCATE, ro, 0)
	f.ok(unix.SYS_FSYNC, fd)
	f.ok(unix.SYS_FDATASYNC, fd)
	f.fails(unix.EBADF, unix.SYS_FSYNC, 99)
	f.ok(unix.SYS_FALLOCATE, fd, 0, 0, 10000)
	if st := f.fstat(fd); st.Size != 10000 {
		t.Errorf("fallocate: size %d", st.Size)
	}
	f.fails(unix.EOPNOTSUPP, unix.SYS_FALLOCATE, fd, unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, 10)
	f.fails(unix.EBADF, unix.SYS_FALLOCATE, ro, 0, 0, 10)

	// dup family: duplicates share the offset.
	f.ok(unix.SYS_LSEEK, fd, 0, unix.SEEK_SET)
	d := uintptr(f.ok(unix.SYS_DUP, fd))
	f.ok(unix.SYS_LSEEK, d, 2, unix.SEEK_SET)
	if r := f.ok(unix.SYS_LSEEK, fd, 0, unix.SEEK_CUR); r != 2 {
		t.Errorf("offset after lseek on dup = %d", r)
	}
	if r := f.ok(unix.SYS_DUP2, fd, 20); r != 20 {
		t.Errorf("dup2 = %d", r)
	}
	if r := f.ok(unix.SYS_DUP2, fd, fd); r != int64(fd) {
		t.Errorf("dup2(fd, fd) = %d", r)
	}
	f.fails(unix.EBADF, unix.SYS_DUP2, 99, 99)
	if r := f.ok(unix.SYS_DUP3, fd, 21, unix.O_CLOEXEC); r != 21 || f.ok(unix.SYS_FCNTL, 21, unix.F_GETFD) != unix.FD_CLOEXEC {
		t.Errorf("dup3(O_CLOEXEC) = %d", r)
	}
	f.fails(unix.EINVAL, unix.SYS_DUP3, fd, fd, 0)
	f.fails(unix.EINVAL, unix.SYS_DUP3, fd, 22, 1)
	f.fails(unix.EBADF, unix.SYS_DUP3, fd, 5000, 0)
	f.fails(unix.EBADF, unix.SYS_DUP, 99)
	// fcntl.
	if r := f.ok(unix.SYS_FCNTL, fd, unix.F_DUPFD, 10); r != 10 {
		t.Errorf("F_DUPFD 10 = %d", r)
	}
	if r := f.ok(unix.SYS_FCNTL, fd, unix.F_DUPFD_CLOEXEC, 10); r != 11 || f.ok(unix.SYS_FCNTL, 11, unix.F_GETFD) != unix.FD_CLOEXEC {
		t.Errorf("F_DUPFD_CLOEXEC = %d", r)
	}
	f.fails(unix.EINVAL, unix.SYS_FCNTL, fd, unix.F_DUPFD, 1<<20)
	f.fails(unix.EINVAL, unix.SYS_FCNTL, fd, 9999, 0)
	f.fails(unix.EBADF, unix.SYS_FCNTL, 99, unix.F_GETFD)
	lk := f.alloc(32)
	b := make([]byte, 32)
	le.PutUint16(b[0:], unix.F_WRLCK)
	le.PutUint64(b[8:], 0)
	le.PutUint64(b[16:], 100)
	f.put(lk, b)
	f.ok(unix.SYS_FCNTL, fd, unix.F_SETLK, lk)
	f.ok(unix.SYS_FCNTL, fd, unix.F_SETLKW, lk)
	f.fails(unix.EBADF, unix.SYS_FCNTL, ro, unix.F_SETLK, lk)
	f.ok(unix.SYS_FCNTL, fd, unix.F_GETLK, lk)
	if typ := le.Uint16(f.get(lk, 2)); typ != unix.F_UNLCK {
		t.Errorf("F_GETLK l_type = %d, want F_UNLCK", typ)
	}
	if l := le.Uint64(f.get(lk+16, 8)); l != 100 {
		t.Errorf("F_GETLK changed l_len to %d", l)
	}
	le.PutUint16(b[0:], 7)
	f.put(lk, b)
	f.fails(unix.EINVAL, unix.SYS_FCNTL, fd, unix.F_SETLK, lk)
	f.fails(unix.EFAULT, unix.SYS_FCNTL, fd, unix.F_SETLK, 0x10)
	f.ok(unix.SYS_FLOCK, fd, unix.LOCK_EX|unix.LOCK_NB)
	f.fails(unix.EINVAL, unix.SYS_FLOCK, fd, 0)
	// close_range.
	f.ok(unix.SYS_CLOSE_RANGE, 10, 11, 0)
	f.fails(unix.EBADF, unix.SYS_FCNTL, 10, unix.F_GETFD)
	f.fails(unix.EINVAL, unix.SYS_CLOSE_RANGE, 5, 4, 0)
}

func TestCwd(t *testing.T) {
	f := newFx(t)
	buf := f.alloc(256)
	if n := f.ok(unix.SYS_GETCWD, buf, 256); n != 2 || string(f.get(buf, 2)) != "/\x00" {
		t.Errorf("getcwd = %d %q", n, f.get(buf, 2))
	}
	f.ok(unix.SYS_MKDIR, f.str("/tmp/w"), 0o755)
	f.ok(unix.SYS_CHDIR, f.str("/tmp/w"))
	if n := f.ok(unix.SYS_GETCWD, buf, 256); n != 7 || string(f.get(buf, 7)) != "/tmp/w\x00" {
		t.Errorf("getcwd = %d %q", n, f.get(buf, 7))
	}
	f.fails(unix.ERANGE, unix.SYS_GETCWD, buf, 6)
	f.fails(unix.EFAULT, unix.SYS_GETCWD, 0x10, 256)
	f.ok(unix.SYS_CHDIR, f.str(".."))
	if s := f.readlink("/proc/self/cwd"); s != "/tmp" {
		t.Errorf("/proc/self/cwd = %q", s)
	}
	dfd := f.open("/tmp/w", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	f.ok(unix.SYS_FCHDIR, dfd)
	f.open("rel", unix.O_CREAT|unix.O_WRONLY, 0o644)
	if st := f.stat("/tmp/w/rel"); st.Size != 0 {
		t.Error("relative create after fchdir")
	}
	fd := f.open("/tmp/w/rel", unix.O_RDONLY, 0)
	f.fails(unix.ENOTDIR, unix.SYS_FCHDIR, fd)
	f.fails(unix.ENOTDIR, unix.SYS_CHDIR, f.str("/tmp/w/rel"))
	f.fails(unix.ENOENT, unix.SYS_CHDIR, f.str("/tmp/none"))
	f.fails(unix.EBADF, unix.SYS_FCHDIR, 99)
	f.ok(unix.SYS_CHDIR, f.str("/proc/self/cwd"))
	// A removed working directory.
	f.ok(unix.SYS_CHDIR, f.str("/tmp"))
	f.ok(unix.SYS_MKDIR, f.str("/tmp/gone"), 0o755)
	f.ok(unix.SYS_CHDIR, f.str("/tmp/gone"))
	f.ok(unix.SYS_RMDIR, f.str("/tmp/gone"))
	f.fails(unix.ENOENT, unix.SYS_GETCWD, buf, 256)
}

func TestSendfile(t *testing.T) {
	f := newFx(t)
	in := f.open("/tmp/src", unix.O_CREAT|unix.O_RDWR, 0o644)
	f.write(in, "0123456789")
	f.ok(unix.SYS_LSEEK, in, 2, unix.SEEK_SET)
	out := f.open("/tmp/dst", unix.O_CREAT|unix.O_WRONLY, 0o644)
	if n := f.ok(unix.SYS_SENDFILE, out, in, 0, 5); n != 5 {
		t.Errorf("sendfile = %d", n)
	}
	if r := f.ok(unix.SYS_LSEEK, in, 0, unix.SEEK_CUR); r != 7 {
		t.Errorf("in offset after sendfile = %d, want 7", r)
	}
	off := f.alloc(8)
	f.put(off, []byte{8, 0, 0, 0, 0, 0, 0, 0})
	if n := f.ok(unix.SYS_SENDFILE, out, in, off, 100); n != 2 {
		t.Errorf("sendfile with offset = %d, want 2", n)
	}
	if v := le.Uint64(f.get(off, 8)); v != 10 {
		t.Errorf("offset after sendfile = %d", v)
	}
	if r := f.ok(unix.SYS_LSEEK, in, 0, unix.SEEK_CUR); r != 7 {
		t.Errorf("in offset moved with an offset pointer: %d", r)
	}
	if s := f.readFile("/tmp/dst"); s != "2345689" {
		t.Errorf("dst = %q", s)
	}
	if n := f.ok(unix.SYS_SENDFILE, out, in, 0, 0); n != 0 {
		t.Errorf("sendfile of 0 = %d", n)
	}
	f.ok(unix.SYS_SENDFILE, 1, in, 0, 100) // to the console
	if f.out.String() != "789" {
		t.Errorf("console got %q", f.out.String())
	}
	f.fails(unix.EBADF, unix.SYS_SENDFILE, in, out, 0, 1)
	f.fails(unix.EBADF, unix.SYS_SENDFILE, out, 99, 0, 1)
	fds := f.alloc(8)
	f.ok(unix.SYS_PIPE2, fds, 0)
	f.fails(unix.EINVAL, unix.SYS_SENDFILE, out, uintptr(le.Uint32(f.get(fds, 4))), 0, 1)
	app := f.open("/tmp/dst", unix.O_WRONLY|unix.O_APPEND, 0)
	f.fails(unix.EINVAL, unix.SYS_SENDFILE, app, in, 0, 1)
}

func TestCopyFileRange(t *testing.T) {
	f := newFx(t)
	in := f.open("/tmp/cin", unix.O_CREAT|unix.O_RDWR, 0o644)
	f.write(in, "abcdefghij")
	f.ok(unix.SYS_LSEEK, in, 2, unix.SEEK_SET)
	out := f.open("/tmp/cout", unix.O_CREAT|unix.O_RDWR, 0o644)
	if n := f.ok(unix.SYS_COPY_FILE_RANGE, in, 0, out, 0, 3, 0); n != 3 {
		t.Errorf("copy_file_range = %d", n)
	}
	if r := f.ok(unix.SYS_LSEEK, in, 0, unix.SEEK_CUR); r != 5 {
		t.Errorf("in offset %d", r)
	}
	offs := f.alloc(16)
	f.put(offs, []byte{8, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0})
	if n := f.ok(unix.SYS_COPY_FILE_RANGE, in, offs, out, offs+8, 100, 0); n != 2 {
		t.Errorf("copy_file_range with offsets = %d", n)
	}
	if b := f.get(offs, 16); le.Uint64(b) != 10 || le.Uint64(b[8:]) != 12 {
		t.Errorf("offsets after = %d %d", le.Uint64(b), le.Uint64(b[8:]))
	}
	if n := f.ok(unix.SYS_COPY_FILE_RANGE, in, offs, out, offs+8, 100, 0); n != 0 {
		t.Errorf("copy_file_range at EOF = %d", n)
	}
	if s := f.readFile("/tmp/cout"); s != "cde\x00\x00\x00\x00\x00\x00\x00ij" {
		t.Errorf("out = %q", s)
	}
	f.fails(unix.EINVAL, unix.SYS_COPY_FILE_RANGE, in, 0, out, 0, 1, 1)
	f.fails(unix.EINVAL, unix.SYS_COPY_FILE_RANGE, in, 0, in, 0, 4, 0)
	f.fails(unix.EBADF, unix.SYS_COPY_FILE_RANGE, in, 0, 99, 0, 4, 0)
	ro := f.open("/tmp/cout", unix.O_RDONLY, 0)
	f.fails(unix.EBADF, unix.SYS_COPY_FILE_RANGE, in, 0, ro, 0, 4, 0)
	f.fails(unix.EINVAL, unix.SYS_COPY_FILE_RANGE, in, 0, 1, 0, 4, 0)
	dir := f.open("/tmp", unix.O_RDONLY, 0)
	f.fails(unix.EISDIR, unix.SYS_COPY_FILE_RANGE, dir, 0, out, 0, 4, 0)
}

func TestStatfs(t *testing.T) {
	f := newFx(t)
	buf := f.alloc(120)
	decode := func() unix.Statfs_t {
		var s unix.Statfs_t
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&s)), unsafe.Sizeof(s)), f.get(buf, 120))
		return s
	}
	f.ok(unix.SYS_STATFS, f.str("/tmp"), buf)
	s := decode()
	if s.Type != unix.TMPFS_MAGIC || s.Bsize != 4096 || s.Namelen != 255 || s.Blocks == 0 || s.Bfree > s.Blocks || s.Frsize != 4096 {
		t.Errorf("statfs(/tmp) = %+v", s)
	}
	fd := f.open("/tmp", unix.O_RDONLY, 0)
	f.ok(unix.SYS_FSTATFS, fd, buf)
	if decode().Type != unix.TMPFS_MAGIC {
		t.Error("fstatfs type")
	}
	f.ok(unix.SYS_STATFS, f.str("/proc/self"), buf)
	if decode().Type != unix.PROC_SUPER_MAGIC {
		t.Errorf("statfs(/proc) type %#x", decode().Type)
	}
	f.ok(unix.SYS_STATFS, f.str("/sys/devices/system/cpu"), buf)
	if decode().Type != unix.SYSFS_MAGIC {
		t.Errorf("statfs(/sys) type %#x", decode().Type)
	}
	f.fails(unix.ENOENT, unix.SYS_STATFS, f.str("/none"), buf)
	f.fails(unix.EFAULT, unix.SYS_STATFS, f.str("/"), 0x10)
}

func TestIoctl(t *testing.T) {
	f := newFx(t)
	fd := f.open("/tmp/io", unix.O_CREAT|unix.O_RDWR, 0o644)
	f.write(fd, "abcdef")
	f.ok(unix.SYS_LSEEK, fd, 2, unix.SEEK_SET)
	n := f.alloc(4)
	f.ok(unix.SYS_IOCTL, fd, fionread, n)
	if v := le.Uint32(f.get(n, 4)); v != 4 {
		t.Errorf("FIONREAD on a file = %d, want 4", v)
	}
	f.fails(unix.ENOTTY, unix.SYS_IOCTL, fd, unix.TCGETS, f.alloc(60))
	f.fails(unix.ENOTTY, unix.SYS_IOCTL, 1, unix.TCGETS, f.alloc(60))
	f.fails(unix.EBADF, unix.SYS_IOCTL, 99, unix.TCGETS, 0)
	f.ok(unix.SYS_IOCTL, fd, fioclex, 0)
	if f.ok(unix.SYS_FCNTL, fd, unix.F_GETFD) != unix.FD_CLOEXEC {
		t.Error("FIOCLEX")
	}
	f.ok(unix.SYS_IOCTL, fd, fionclex, 0)
	f.put(n, []byte{1, 0, 0, 0})
	f.ok(unix.SYS_IOCTL, fd, fionbio, n)
	if f.ok(unix.SYS_FCNTL, fd, unix.F_GETFL)&unix.O_NONBLOCK == 0 {
		t.Error("FIONBIO did not set O_NONBLOCK")
	}
	// A terminal console still answers TCGETS and TIOCGWINSZ.
	f.p.FDs.InstallAt(5, &Console{TTY: true}, unix.O_RDWR, false)
	ws := f.alloc(8)
	f.ok(unix.SYS_IOCTL, 5, unix.TIOCGWINSZ, ws)
	if rows := le.Uint16(f.get(ws, 2)); rows != 24 {
		t.Errorf("TIOCGWINSZ rows %d", rows)
	}
	f.ok(unix.SYS_IOCTL, 5, unix.TCGETS, f.alloc(60))
}

func TestFilePath(t *testing.T) {
	f := newFx(t)
	f.ok(unix.SYS_MKDIR, f.str("/tmp/real"), 0o755)
	f.ok(unix.SYS_SYMLINK, f.str("real"), f.str("/tmp/alias"))
	f.ok(unix.SYS_SYMLINK, f.str("/tmp/alias/file"), f.str("/tmp/flink"))
	f.ok(unix.SYS_CHDIR, f.str("/tmp"))
	cases := map[string]string{
		"/tmp/alias/file":   "/tmp/real/file",
		"alias//file":       "/tmp/real/file",
		"/tmp/flink":        "/tmp/real/file",
		"/tmp/./alias":      "/tmp/real",
		"/tmp/real/../real": "/tmp/real",
		"/":                 "/",
	}
	f.open("/tmp/real/file", unix.O_CREAT|unix.O_WRONLY, 0o644)
	for path, want := range cases {
		fd := f.open(path, unix.O_RDONLY, 0)
		file, _ := f.p.FDs.Get(int(fd))
		if got := file.(interface{ Path() string }).Path(); got != want {
			t.Errorf("Path() of %q = %q, want %q", path, got, want)
		}
		if got := f.readlink("/proc/self/fd/" + strconv.Itoa(int(fd))); got != want {
			t.Errorf("/proc/self/fd of %q = %q, want %q", path, got, want)
		}
	}
	// A symlink opened with O_PATH|O_NOFOLLOW is named by itself.
	fd := f.open("/tmp/flink", unix.O_PATH|unix.O_NOFOLLOW, 0)
	if got := f.readlink("/proc/self/fd/" + strconv.Itoa(int(fd))); got != "/tmp/flink" {
		t.Errorf("O_PATH|O_NOFOLLOW symlink named %q", got)
	}
	buf := f.alloc(64)
	if n := f.ok(unix.SYS_READLINKAT, fd, f.str(""), buf, 64); string(f.get(buf, int(n))) != "/tmp/alias/file" {
		t.Errorf("readlinkat(O_PATH symlink, \"\") = %q", f.get(buf, int(n)))
	}
	// An unlinked file is "(deleted)".
	fd = f.open("/tmp/real/file", unix.O_RDONLY, 0)
	f.ok(unix.SYS_UNLINK, f.str("/tmp/real/file"))
	if got := f.readlink("/proc/self/fd/" + strconv.Itoa(int(fd))); got != "/tmp/real/file (deleted)" {
		t.Errorf("unlinked file named %q", got)
	}
}

// read(2) leaves the bytes of the buffer past what it returns as they
// were (a 4-byte file read into an 8-byte buffer of "abcdefgh").
func TestReadLeavesTail(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	task0.CopyOut(buf, []byte("/f\x00"))
	fd := call(task0, unix.SYS_OPEN, buf, unix.O_CREAT|unix.O_RDWR, 0o644)
	task0.CopyOut(buf+64, []byte{1, 2, 0, 0xff})
	call(task0, unix.SYS_WRITE, uintptr(fd), buf+64, 4)
	call(task0, unix.SYS_LSEEK, uintptr(fd), 0, 0)
	task0.CopyOut(buf+128, []byte("abcdefgh"))
	if r := call(task0, unix.SYS_READ, uintptr(fd), buf+128, 8); r != 4 {
		t.Fatalf("read = %d, want 4", r)
	}
	got := make([]byte, 8)
	task0.CopyIn(got, buf+128)
	if string(got) != "\x01\x02\x00\xffefgh" {
		t.Errorf("buffer after read = %q, want the tail \"efgh\" untouched", got)
	}
}

// File permissions follow the task's credentials: after dropping root, a
// root-owned 0600 file cannot be opened (EACCES), as on Linux.
func TestPermissionsAfterSetuid(t *testing.T) {
	_, task0, _, buf := newTestProcess(t)
	task0.CopyOut(buf, []byte("/secret\x00"))
	fd := call(task0, unix.SYS_OPEN, buf, unix.O_CREAT|unix.O_WRONLY, 0o600)
	if fd < 0 {
		t.Fatalf("create = %d", fd)
	}
	call(task0, unix.SYS_CLOSE, uintptr(fd))
	if r := call(task0, unix.SYS_SETRESUID, 1000, 1000, 1000); r != 0 {
		t.Fatalf("setresuid = %d", r)
	}
	if r := call(task0, unix.SYS_OPEN, buf, unix.O_RDONLY); r != -int64(unix.EACCES) {
		t.Errorf("open of a root-only file as uid 1000 = %d, want EACCES", r)
	}
}
