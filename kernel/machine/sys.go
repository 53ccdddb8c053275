package machine

import "syscall"

// syscall6 makes a blocking private syscall: the runtime marks the
// goroutine as in a syscall (entersyscall), so its P can run other work.
func syscall6(nr, a0, a1, a2 uintptr) error {
	_, _, e := syscall.Syscall(nr, a0, a1, a2)
	if e != 0 {
		return e
	}
	return nil
}

// rawSyscall makes a short private syscall without telling the scheduler.
func rawSyscall(nr, a0, a1, a2 uintptr) error {
	_, _, e := syscall.RawSyscall(nr, a0, a1, a2)
	if e != 0 {
		return e
	}
	return nil
}
