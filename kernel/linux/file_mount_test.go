package linux

import (
	"encoding/binary"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mount(2), umount2(2), fstatfs(2) of a mount, and the mount files of
// /proc through the syscall layer.
func TestMountSyscalls(t *testing.T) {
	f := newFx(t)
	f.ok(unix.SYS_MKDIR, f.str("/mnt"), 0o755)
	f.ok(unix.SYS_MOUNT, f.str("none"), f.str("/mnt"), f.str("tmpfs"), unix.MS_NOEXEC, f.str("size=128k"))
	fd := f.open("/mnt/f", unix.O_CREAT|unix.O_WRONLY, 0o644)
	f.write(fd, "hi")
	buf := f.alloc(120)
	f.ok(unix.SYS_FSTATFS, fd, buf)
	var s unix.Statfs_t
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&s)), unsafe.Sizeof(s)), f.get(buf, 120))
	if s.Type != unix.TMPFS_MAGIC || s.Blocks != 32 || s.Flags&unix.ST_NOEXEC == 0 || s.Flags&unix.ST_RDONLY != 0 {
		t.Errorf("fstatfs of the new mount %+v", s)
	}
	// An open file keeps the mount busy; closing it frees it.
	f.fails(unix.EBUSY, unix.SYS_UMOUNT2, f.str("/mnt"), 0)
	f.ok(unix.SYS_CLOSE, fd)
	if m := f.readFile("/proc/self/mounts"); !strings.Contains(m, "none /mnt tmpfs rw,noexec,relatime,size=128k 0 0\n") {
		t.Errorf("/proc/self/mounts:\n%s", m)
	}
	if mi := f.readFile("/proc/self/mountinfo"); !strings.Contains(mi, " / /mnt rw,noexec,relatime - tmpfs none rw,size=128k\n") {
		t.Errorf("/proc/self/mountinfo:\n%s", mi)
	}
	f.ok(unix.SYS_MOUNT, 0, f.str("/mnt"), 0, unix.MS_REMOUNT|unix.MS_RDONLY, 0)
	f.fails(unix.EROFS, unix.SYS_OPENAT, atFDCWD, f.str("/mnt/f"), unix.O_WRONLY)
	f.fails(unix.EROFS, unix.SYS_UNLINK, f.str("/mnt/f"))
	f.ok(unix.SYS_STATFS, f.str("/mnt/f"), buf)
	if fl := binary.LittleEndian.Uint64(f.get(buf, 120)[80:]); fl&unix.ST_RDONLY == 0 {
		t.Errorf("statfs flags %#x lack ST_RDONLY", fl)
	}
	f.ok(unix.SYS_UMOUNT2, f.str("/mnt"), 0)
	f.fails(unix.ENOENT, unix.SYS_STAT, f.str("/mnt/f"), buf)
	// Errors.
	f.fails(unix.EFAULT, unix.SYS_MOUNT, f.str("none"), 0x10, f.str("tmpfs"), 0, 0)
	f.fails(unix.EFAULT, unix.SYS_MOUNT, 0x10, f.str("/mnt"), f.str("tmpfs"), 0, 0)
	f.fails(unix.ENODEV, unix.SYS_MOUNT, f.str("none"), f.str("/mnt"), f.str("ext9"), 0, 0)
	f.fails(unix.ENOENT, unix.SYS_MOUNT, f.str("none"), f.str("/nowhere"), f.str("tmpfs"), 0, 0)
	f.fails(unix.EINVAL, unix.SYS_UMOUNT2, f.str("/mnt"), 0)
	f.fails(unix.EINVAL, unix.SYS_UMOUNT2, f.str("/proc"), 0x80)
	f.fails(unix.EBUSY, unix.SYS_UMOUNT2, f.str("/"), 0)
	// The boot mounts are there, and /dev/shm is a tmpfs.
	m := f.readFile("/proc/mounts")
	for _, want := range []string{"proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n",
		"devtmpfs /dev devtmpfs rw,nosuid,relatime,mode=755 0 0\n", "tmpfs /dev/shm tmpfs rw,nosuid,nodev,relatime 0 0\n"} {
		if !strings.Contains(m, want) {
			t.Errorf("/proc/mounts lacks %q:\n%s", want, m)
		}
	}
}

// openat2(2): struct open_how checks and RESOLVE_* flags.
func TestOpenat2(t *testing.T) {
	f := newFx(t)
	how := func(flags, mode, resolve uint64, size int) uintptr {
		b := make([]byte, max(size, 24))
		binary.LittleEndian.PutUint64(b[0:], flags)
		binary.LittleEndian.PutUint64(b[8:], mode)
		binary.LittleEndian.PutUint64(b[16:], resolve)
		a := f.alloc(len(b))
		f.put(a, b)
		return a
	}
	f.ok(unix.SYS_MKDIR, f.str("/tmp/d"), 0o755)
	dfd := f.open("/tmp/d", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	fd := f.ok(unix.SYS_OPENAT2, dfd, f.str("new"), how(unix.O_CREAT|unix.O_WRONLY, 0o600, 0x08, 24), 24)
	if st := f.fstat(uintptr(fd)); st.Mode != unix.S_IFREG|0o600 {
		t.Errorf("created mode %o", st.Mode)
	}
	f.fails(unix.EXDEV, unix.SYS_OPENAT2, dfd, f.str("../d/new"), how(unix.O_RDONLY, 0, 0x08, 24), 24)
	f.fails(unix.EXDEV, unix.SYS_OPENAT2, dfd, f.str("/etc"), how(unix.O_RDONLY, 0, 0x08, 24), 24)
	// RESOLVE_IN_ROOT: an absolute path starts at dirfd, never at the
	// real root (/etc is not inside /tmp/d; /new is).
	f.fails(unix.ENOENT, unix.SYS_OPENAT2, dfd, f.str("/etc"), how(unix.O_RDONLY, 0, 0x10, 24), 24)
	f.ok(unix.SYS_OPENAT2, dfd, f.str("/new"), how(unix.O_RDONLY, 0, 0x10, 24), 24)
	f.ok(unix.SYS_OPENAT2, dfd, f.str("/../../new"), how(unix.O_RDONLY, 0, 0x10, 24), 24)
	f.fails(unix.ELOOP, unix.SYS_OPENAT2, atFDCWD, f.str("/proc/self/fd/0"), how(unix.O_RDONLY, 0, 0x02, 24), 24)
	f.fails(unix.EXDEV, unix.SYS_OPENAT2, atFDCWD, f.str("/proc/self"), how(unix.O_RDONLY, 0, 0x01, 24), 24)
	f.fails(unix.EINVAL, unix.SYS_OPENAT2, dfd, f.str("new"), how(unix.O_RDONLY, 0, 0, 16), 16)
	f.fails(unix.E2BIG, unix.SYS_OPENAT2, dfd, f.str("new"), how(unix.O_RDONLY, 0, 0, 8192), 8192)
	f.fails(unix.EINVAL, unix.SYS_OPENAT2, dfd, f.str("new"), how(unix.O_RDONLY, 0o644, 0, 24), 24)
	f.fails(unix.EINVAL, unix.SYS_OPENAT2, dfd, f.str("new"), how(unix.O_RDONLY, 0, 0x18, 24), 24)
	f.fails(unix.EFAULT, unix.SYS_OPENAT2, dfd, f.str("new"), 0x10, 24)
	big := how(unix.O_RDONLY, 0, 0, 40)
	f.ok(unix.SYS_OPENAT2, dfd, f.str("new"), big, 40)
	f.put(big+32, []byte{1})
	f.fails(unix.E2BIG, unix.SYS_OPENAT2, dfd, f.str("new"), big, 40)
}
