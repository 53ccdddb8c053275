package task

import "golang.org/x/sys/unix"

// Args are the six syscall arguments (rdi, rsi, rdx, r10, r8, r9).
type Args [6]uintptr

// SyscallFn implements one syscall. It returns the value for RAX; a
// non-nil error must be a unix.Errno and becomes -errno in RAX.
type SyscallFn func(t *Task, a Args) (uintptr, error)

// errnoRet converts err to -errno; errors that are not an Errno are EIO.
func ErrnoRet(err error) uintptr {
	e, ok := err.(unix.Errno)
	if !ok {
		e = unix.EIO
	}
	return uintptr(-int64(e))
}

// Dispatcher runs syscall nr for t and returns the value for RAX; the
// syscall table sets it.
var Dispatcher func(t *Task, nr uintptr, a Args) uintptr
