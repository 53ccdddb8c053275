package vfs

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The x86-64 struct stat and struct statx layouts, checked against the
// definitions of golang.org/x/sys/unix (generated from the kernel headers).
func TestStatLayout(t *testing.T) {
	var s unix.Stat_t
	if unsafe.Sizeof(s) != SizeofStat {
		t.Fatalf("sizeof(Stat_t) = %d", unsafe.Sizeof(s))
	}
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"dev", statOffDev, unsafe.Offsetof(s.Dev)},
		{"ino", statOffIno, unsafe.Offsetof(s.Ino)},
		{"nlink", statOffNlink, unsafe.Offsetof(s.Nlink)},
		{"mode", statOffMode, unsafe.Offsetof(s.Mode)},
		{"uid", statOffUID, unsafe.Offsetof(s.Uid)},
		{"gid", statOffGID, unsafe.Offsetof(s.Gid)},
		{"rdev", statOffRdev, unsafe.Offsetof(s.Rdev)},
		{"size", statOffSize, unsafe.Offsetof(s.Size)},
		{"blksize", statOffBlksize, unsafe.Offsetof(s.Blksize)},
		{"blocks", statOffBlocks, unsafe.Offsetof(s.Blocks)},
		{"atime", statOffAtime, unsafe.Offsetof(s.Atim) + unsafe.Offsetof(s.Atim.Sec)},
		{"atime_nsec", statOffAtimeNsec, unsafe.Offsetof(s.Atim) + unsafe.Offsetof(s.Atim.Nsec)},
		{"mtime", statOffMtime, unsafe.Offsetof(s.Mtim)},
		{"mtime_nsec", statOffMtimeNsec, unsafe.Offsetof(s.Mtim) + unsafe.Offsetof(s.Mtim.Nsec)},
		{"ctime", statOffCtime, unsafe.Offsetof(s.Ctim)},
		{"ctime_nsec", statOffCtimeNsec, unsafe.Offsetof(s.Ctim) + unsafe.Offsetof(s.Ctim.Nsec)},
	} {
		if c.got != c.want {
			t.Errorf("stat %s at %d, unix.Stat_t has %d", c.name, c.got, c.want)
		}
	}

	var x unix.Statx_t
	if unsafe.Sizeof(x) != SizeofStatx {
		t.Fatalf("sizeof(Statx_t) = %d", unsafe.Sizeof(x))
	}
	for _, c := range []struct {
		name      string
		got, want uintptr
	}{
		{"mask", statxOffMask, unsafe.Offsetof(x.Mask)},
		{"blksize", statxOffBlksize, unsafe.Offsetof(x.Blksize)},
		{"attributes", statxOffAttributes, unsafe.Offsetof(x.Attributes)},
		{"nlink", statxOffNlink, unsafe.Offsetof(x.Nlink)},
		{"uid", statxOffUID, unsafe.Offsetof(x.Uid)},
		{"gid", statxOffGID, unsafe.Offsetof(x.Gid)},
		{"mode", statxOffMode, unsafe.Offsetof(x.Mode)},
		{"ino", statxOffIno, unsafe.Offsetof(x.Ino)},
		{"size", statxOffSize, unsafe.Offsetof(x.Size)},
		{"blocks", statxOffBlocks, unsafe.Offsetof(x.Blocks)},
		{"attributes_mask", statxOffAttrMask, unsafe.Offsetof(x.Attributes_mask)},
		{"atime", statxOffAtime, unsafe.Offsetof(x.Atime)},
		{"btime", statxOffBtime, unsafe.Offsetof(x.Btime)},
		{"ctime", statxOffCtime, unsafe.Offsetof(x.Ctime)},
		{"mtime", statxOffMtime, unsafe.Offsetof(x.Mtime)},
		{"rdev_major", statxOffRdevMajor, unsafe.Offsetof(x.Rdev_major)},
		{"rdev_minor", statxOffRdevMinor, unsafe.Offsetof(x.Rdev_minor)},
		{"dev_major", statxOffDevMajor, unsafe.Offsetof(x.Dev_major)},
		{"dev_minor", statxOffDevMinor, unsafe.Offsetof(x.Dev_minor)},
		{"mnt_id", statxOffMntID, unsafe.Offsetof(x.Mnt_id)},
		{"dio_mem_align", statxOffDioMemAlign, unsafe.Offsetof(x.Dio_mem_align)},
		{"timestamp.nsec", 8, unsafe.Offsetof(x.Atime.Nsec)},
	} {
		if c.got != c.want {
			t.Errorf("statx %s at %d, unix.Statx_t has %d", c.name, c.got, c.want)
		}
	}
}

func sampleStat() Stat {
	return Stat{
		Dev: Mkdev(0x123, 0x45678), Ino: 0x1122334455667788, Nlink: 3,
		Mode: S_IFREG | 0o4755, UID: 1000, GID: 1001, Rdev: Mkdev(5, 1),
		Size: 0x123456789, Blksize: 4096, Blocks: 0x91a2b4,
		Atime: Timespec{1_700_000_001, 1}, Mtime: Timespec{1_700_000_002, 2},
		Ctime: Timespec{1_700_000_003, 3}, Btime: Timespec{1_600_000_000, 999_999_999},
	}
}

// MarshalLinux bytes read back as a unix.Stat_t give the same values.
func TestMarshalLinux(t *testing.T) {
	s := sampleStat()
	b := s.MarshalLinux()
	u := *(*unix.Stat_t)(unsafe.Pointer(&b[0]))
	if u.Dev != s.Dev || u.Ino != s.Ino || u.Nlink != s.Nlink || u.Mode != s.Mode ||
		u.Uid != s.UID || u.Gid != s.GID || u.Rdev != s.Rdev || u.Size != s.Size ||
		u.Blksize != s.Blksize || u.Blocks != s.Blocks ||
		u.Atim.Sec != s.Atime.Sec || u.Atim.Nsec != s.Atime.Nsec ||
		u.Mtim.Sec != s.Mtime.Sec || u.Mtim.Nsec != s.Mtime.Nsec ||
		u.Ctim.Sec != s.Ctime.Sec || u.Ctim.Nsec != s.Ctime.Nsec {
		t.Errorf("round trip: %+v\nfrom %+v", u, s)
	}
	for _, off := range []int{36, 37, 38, 39} {
		if b[off] != 0 {
			t.Errorf("padding byte %d not zero", off)
		}
	}
	for off := 120; off < SizeofStat; off++ {
		if b[off] != 0 {
			t.Errorf("unused byte %d not zero", off)
		}
	}
}

func TestMarshalStatx(t *testing.T) {
	s := sampleStat()
	b := s.MarshalStatx()
	x := *(*unix.Statx_t)(unsafe.Pointer(&b[0]))
	if x.Mask != unix.STATX_BASIC_STATS|unix.STATX_BTIME || x.Blksize != 4096 || x.Nlink != 3 ||
		x.Uid != 1000 || x.Gid != 1001 || uint32(x.Mode) != s.Mode || x.Ino != s.Ino ||
		x.Size != uint64(s.Size) || x.Blocks != uint64(s.Blocks) ||
		x.Rdev_major != 5 || x.Rdev_minor != 1 || x.Dev_major != 0x123 || x.Dev_minor != 0x45678 {
		t.Errorf("statx fields: %+v", x)
	}
	for _, c := range []struct {
		got  unix.StatxTimestamp
		want Timespec
	}{{x.Atime, s.Atime}, {x.Btime, s.Btime}, {x.Ctime, s.Ctime}, {x.Mtime, s.Mtime}} {
		if c.got.Sec != c.want.Sec || int64(c.got.Nsec) != c.want.Nsec {
			t.Errorf("statx time %+v, want %+v", c.got, c.want)
		}
	}
	for off := 144; off < SizeofStatx; off++ {
		if b[off] != 0 {
			t.Errorf("statx byte %d not zero", off)
		}
	}
}

// The encoding of values taken from a real host stat(2) equals the bytes
// the host kernel wrote.
func TestMarshalLinuxMatchesHost(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("hello"), 0o640); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{p, "/dev/null", "/"} {
		var u unix.Stat_t
		if err := unix.Stat(path, &u); err != nil {
			t.Fatal(err)
		}
		s := Stat{
			Dev: u.Dev, Ino: u.Ino, Nlink: u.Nlink, Mode: u.Mode, UID: u.Uid, GID: u.Gid,
			Rdev: u.Rdev, Size: u.Size, Blksize: u.Blksize, Blocks: u.Blocks,
			Atime: Timespec{u.Atim.Sec, u.Atim.Nsec}, Mtime: Timespec{u.Mtim.Sec, u.Mtim.Nsec},
			Ctime: Timespec{u.Ctim.Sec, u.Ctim.Nsec},
		}
		b := s.MarshalLinux()
		host := unsafe.Slice((*byte)(unsafe.Pointer(&u)), SizeofStat)
		if string(b[:]) != string(host) {
			t.Errorf("%s: encoding differs from the host's struct stat\n%x\n%x", path, b, host)
		}
		var x unix.Statx_t
		if err := unix.Statx(unix.AT_FDCWD, path, 0, unix.STATX_BASIC_STATS|unix.STATX_BTIME, &x); err != nil {
			t.Skipf("statx: %v", err)
		}
		s.Btime = Timespec{x.Btime.Sec, int64(x.Btime.Nsec)}
		xb := s.MarshalStatx()
		got := *(*unix.Statx_t)(unsafe.Pointer(&xb[0]))
		if got.Dev_major != x.Dev_major || got.Dev_minor != x.Dev_minor ||
			got.Rdev_major != x.Rdev_major || got.Rdev_minor != x.Rdev_minor ||
			got.Ino != x.Ino || got.Mode != x.Mode || got.Size != x.Size || got.Mtime != x.Mtime {
			t.Errorf("%s: statx differs from the host's:\n%+v\n%+v", path, got, x)
		}
	}
}
