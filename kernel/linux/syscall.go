package linux

import (
	"fmt"
	"sync"

	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
)

// Support says how completely gosv implements a syscall (gVisor's
// support levels).
type Support int

const (
	// Supported: Linux semantics for every flag and argument.
	Supported Support = iota + 1
	// Partial: the common uses work; the entry's note says what does not.
	Partial
	// Unsupported: the syscall fails with ENOSYS and is logged once with
	// the entry's note.
	Unsupported
)

func (s Support) String() string {
	switch s {
	case Supported:
		return "supported"
	case Partial:
		return "partial"
	case Unsupported:
		return "unsupported"
	}
	return "unknown"
}

type syscallEntry struct {
	name    string
	fn      task.SyscallFn
	support Support
	note    string
}

// table is indexed by the x86-64 syscall number. Families register their
// handlers in init functions of the family's file with register,
// registerPartial or registerUnsupported.
var table [512]syscallEntry

// register adds a fully supported syscall.
func register(nr int, name string, fn task.SyscallFn) { add(nr, name, fn, Supported, "") }

// registerPartial adds a syscall of which note names what is missing.
func registerPartial(nr int, name, note string, fn task.SyscallFn) { add(nr, name, fn, Partial, note) }

// registerUnsupported records a known syscall gosv does not implement:
// it fails with ENOSYS and is logged once, with note saying why.
func registerUnsupported(nr int, name, note string) {
	add(nr, name, func(t *task.Task, a task.Args) (uintptr, error) {
		logUnsupported(t, uintptr(nr), note)
		return 0, unix.ENOSYS
	}, Unsupported, note)
}

func add(nr int, name string, fn task.SyscallFn, support Support, note string) {
	if table[nr].fn != nil {
		panic(fmt.Sprintf("syscall %d (%s) registered twice", nr, name))
	}
	if support != Supported && note == "" {
		panic(fmt.Sprintf("syscall %s: a %v entry needs a note", name, support))
	}
	table[nr] = syscallEntry{name, fn, support, note}
}

var (
	unknownMu   sync.Mutex
	unknownSeen = map[uintptr]bool{}
)

// Dispatch runs syscall nr and returns RAX. An unknown syscall returns
// -ENOSYS and is logged once by name.
func Dispatch(t *task.Task, nr uintptr, a task.Args) uintptr {
	if nr < uintptr(len(table)) && table[nr].fn != nil {
		r, err := table[nr].fn(t, a)
		if t.P.Strace {
			t.P.Logf("[%d] %s(%#x, %#x, %#x) = %s", t.TID, table[nr].name, a[0], a[1], a[2], retString(r, err))
		}
		if err != nil {
			return task.ErrnoRet(err)
		}
		return r
	}
	logUnsupported(t, nr, "")
	return task.ErrnoRet(unix.ENOSYS)
}

// logUnsupported logs once per syscall number that the app called a
// syscall gosv does not implement, with why when known.
func logUnsupported(t *task.Task, nr uintptr, note string) {
	unknownMu.Lock()
	seen := unknownSeen[nr]
	unknownSeen[nr] = true
	unknownMu.Unlock()
	if seen {
		return
	}
	if note != "" {
		t.P.Logf("gosv: unsupported syscall %s (%d): ENOSYS (%s)", SyscallName(nr), nr, note)
		return
	}
	t.P.Logf("gosv: unsupported syscall %s (%d): ENOSYS", SyscallName(nr), nr)
}

func retString(r uintptr, err error) string {
	if err != nil {
		return fmt.Sprintf("-1 %v", err)
	}
	return fmt.Sprintf("%#x", r)
}

// SyscallName is the name of syscall nr on x86-64 ("syscall_N" when unknown).
func SyscallName(nr uintptr) string {
	if nr < uintptr(len(syscallNames)) && syscallNames[nr] != "" {
		return syscallNames[nr]
	}
	return fmt.Sprintf("syscall_%d", nr)
}

// Implemented lists the names of the syscalls with a handler that is
// supported or partial, by number.
func Implemented() []string {
	var names []string
	for _, e := range table {
		if e.fn != nil && e.support != Unsupported {
			names = append(names, e.name)
		}
	}
	return names
}

// TableEntry describes one syscall of the table (the README's list is
// generated from these).
type TableEntry struct {
	Nr      int
	Name    string
	Support Support
	Note    string
}

// Table lists every registered syscall by number.
func Table() []TableEntry {
	var out []TableEntry
	for nr, e := range table {
		if e.fn != nil {
			out = append(out, TableEntry{nr, e.name, e.support, e.note})
		}
	}
	return out
}

func init() {
	task.Dispatcher = func(t *task.Task, nr uintptr, a task.Args) uintptr { return Dispatch(t, nr, a) }
}

// fileArg returns the file of an fd argument (the low 32 bits, as Linux
// reads an int): EBADF when it is not open.
func fileArg(t *task.Task, fd uintptr) (task.File, error) {
	return t.P.FDs.Get(int(int32(fd)))
}

// checkWritable fails with EFAULT unless the n bytes of app memory at addr
// can be written. It writes back what is there, so bytes past what a
// read then returns keep their values (read(2) must not touch them).
func checkWritable(t *task.Task, addr uintptr, n int) error {
	if n == 0 {
		return nil
	}
	b := make([]byte, n)
	if err := t.CopyIn(b, addr); err != nil {
		return err
	}
	return t.CopyOut(addr, b)
}
