package linux

import (
	"fmt"
	"sync"

	"golang.org/x/sys/unix"
)

// Args are the six syscall arguments (rdi, rsi, rdx, r10, r8, r9).
type Args [6]uintptr

// SyscallFn implements one syscall. It returns the value for RAX; a
// non-nil error must be a unix.Errno and becomes -errno in RAX.
type SyscallFn func(t *Task, a Args) (uintptr, error)

type syscallEntry struct {
	name string
	fn   SyscallFn
}

// table is indexed by the x86-64 syscall number. Families register their
// handlers in init functions with register.
var table [512]syscallEntry

func register(nr int, name string, fn SyscallFn) {
	if table[nr].fn != nil {
		panic(fmt.Sprintf("syscall %d (%s) registered twice", nr, name))
	}
	table[nr] = syscallEntry{name, fn}
}

var (
	unknownMu   sync.Mutex
	unknownSeen = map[uintptr]bool{}
)

// Dispatch runs syscall nr and returns RAX. An unknown syscall returns
// -ENOSYS and is logged once by name.
func (t *Task) Dispatch(nr uintptr, a Args) uintptr {
	if nr < uintptr(len(table)) && table[nr].fn != nil {
		r, err := table[nr].fn(t, a)
		if t.P.Strace {
			t.P.logf("[%d] %s(%#x, %#x, %#x) = %s", t.TID, table[nr].name, a[0], a[1], a[2], retString(r, err))
		}
		if err != nil {
			return errnoRet(err)
		}
		return r
	}
	unknownMu.Lock()
	if !unknownSeen[nr] {
		unknownSeen[nr] = true
		t.P.logf("gosv: unsupported syscall %s (%d): ENOSYS", SyscallName(nr), nr)
	}
	unknownMu.Unlock()
	return errnoRet(unix.ENOSYS)
}

func retString(r uintptr, err error) string {
	if err != nil {
		return fmt.Sprintf("-1 %v", err)
	}
	return fmt.Sprintf("%#x", r)
}

// errnoRet converts err to -errno; errors that are not an Errno are EIO.
func errnoRet(err error) uintptr {
	e, ok := err.(unix.Errno)
	if !ok {
		e = unix.EIO
	}
	return uintptr(-int64(e))
}

// SyscallName is the name of syscall nr on x86-64 ("syscall_N" when unknown).
func SyscallName(nr uintptr) string {
	if nr < uintptr(len(syscallNames)) && syscallNames[nr] != "" {
		return syscallNames[nr]
	}
	return fmt.Sprintf("syscall_%d", nr)
}

// Implemented lists the names of the syscalls with a handler, by number.
func Implemented() []string {
	var names []string
	for _, e := range table {
		if e.fn != nil {
			names = append(names, e.name)
		}
	}
	return names
}
