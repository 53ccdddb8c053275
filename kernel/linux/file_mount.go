package linux

import (
	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
)

// Mount table syscalls: mount(2) and umount2(2) over the process's mount
// namespace (kernel/vfs). The app is root, so there is no EPERM. x86-64
// has no umount(2) syscall: umount(8) calls umount2 with flags 0.
func init() {
	registerPartial(unix.SYS_MOUNT, "mount", "filesystems tmpfs, proc, sysfs and devtmpfs; MS_BIND, MS_REMOUNT, MS_MOVE; propagation flags are accepted and do nothing (one mount namespace)", sysMount)
	register(unix.SYS_UMOUNT2, "umount2", sysUmount2)
}

// maxMountData is the size of the data page mount(2) copies in.
const maxMountData = task.PageSize

// mountString reads an optional string argument of mount(2) (NULL: "").
func mountString(t *task.Task, addr uintptr, max int) (string, error) {
	if addr == 0 {
		return "", nil
	}
	return t.ReadString(addr, max)
}

// sysMount is mount(source, target, fstype, flags, data): a new
// filesystem, MS_BIND, MS_REMOUNT, MS_MOVE or a propagation change
// (MS_SHARED, MS_PRIVATE, MS_SLAVE, MS_UNBINDABLE, accepted). Errors:
// ENOENT, ENOTDIR, ENODEV for an unknown type, EINVAL for a remount of
// something that is not a mount or bad options, EFAULT.
func sysMount(t *task.Task, a task.Args) (uintptr, error) {
	source, err := mountString(t, a[0], unix.PathMax)
	if err != nil {
		return 0, err
	}
	target, err := readPath(t, a[1])
	if err != nil {
		return 0, err
	}
	fstype, err := mountString(t, a[2], 256)
	if err != nil {
		return 0, err
	}
	data, err := mountString(t, a[4], maxMountData)
	if err != nil && err != unix.ENAMETOOLONG {
		return 0, err
	}
	return 0, t.P.FS.MountAt(t, source, target, fstype, uint64(a[3]), data)
}

// sysUmount2 is umount2(target, flags): MNT_FORCE, MNT_DETACH,
// MNT_EXPIRE, UMOUNT_NOFOLLOW. Errors: EINVAL when target is not a mount
// point, EBUSY when it is in use.
func sysUmount2(t *task.Task, a task.Args) (uintptr, error) {
	target, err := readPath(t, a[0])
	if err != nil {
		return 0, err
	}
	return 0, t.P.FS.Umount(t, target, int(int32(a[1])))
}
