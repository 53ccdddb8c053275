package linux

import (
	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
)

// Threads: clone(2) and clone3(2) with the flag set of pthread_create and
// of the Go runtime. A new process (fork, vfork, posix_spawn's
// CLONE_VM|CLONE_VFORK) cannot exist in a unikernel: ENOSYS, logged once.
func init() {
	registerPartial(unix.SYS_CLONE, "clone", "threads (CLONE_THREAD|CLONE_VM|...) only: a new process (fork) and namespaces are ENOSYS", sysClone)
	registerPartial(unix.SYS_CLONE3, "clone3", "threads only, as clone; set_tid is ENOSYS", sysClone3)
}

// clone(flags, stack, parent_tid, child_tid, tls) on x86-64.
func sysClone(t *task.Task, a task.Args) (uintptr, error) {
	return t.Clone(task.CloneArgs{
		Flags: uint64(a[0]) &^ task.Csignal, ExitSignal: uint64(a[0]) & task.Csignal,
		Stack: uint64(a[1]), ParentTID: a[2], ChildTID: a[3], Tls: uint64(a[4]),
	})
}

// clone3(args, size).
func sysClone3(t *task.Task, a task.Args) (uintptr, error) {
	size := a[1]
	if size > task.PageSize {
		return 0, unix.E2BIG
	}
	if size < task.CloneArgsSizeVer0 {
		return 0, unix.EINVAL
	}
	b := make([]byte, max(size, task.CloneArgsSizeMax))
	if err := t.CopyIn(b[:size], a[0]); err != nil {
		return 0, err
	}
	for _, x := range b[task.CloneArgsSizeMax:] {
		if x != 0 {
			return 0, unix.E2BIG
		}
	}
	u := func(i int) uint64 { return le.Uint64(b[8*i:]) }
	flags, exitSignal, stack, stackSize := u(0), u(4), u(5), u(6)
	setTID, setTIDSize := u(8), u(9)
	if flags&(unix.CLONE_DETACHED|task.Csignal) != 0 || exitSignal&^task.Csignal != 0 || exitSignal > task.NumSignals {
		return 0, unix.EINVAL
	}
	if stack == 0 && stackSize != 0 || stack != 0 && stackSize == 0 {
		return 0, unix.EINVAL
	}
	if setTIDSize != 0 || setTID != 0 {
		t.P.CloneUnsupported("clone3 with set_tid")
		return 0, unix.ENOSYS
	}
	sp := uint64(0)
	if stack != 0 {
		sp = stack + stackSize
	}
	return t.Clone(task.CloneArgs{Flags: flags, ExitSignal: exitSignal, Stack: sp,
		ParentTID: uintptr(u(3)), ChildTID: uintptr(u(2)), Tls: u(7)})
}
