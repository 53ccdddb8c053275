package linux

import (
	"crypto/rand"

	"golang.org/x/sys/unix"
)

// Identity and system information: getpid(2) and friends, uname(2),
// getrandom(2), prlimit64(2), sysinfo(2).
func init() {
	register(unix.SYS_GETPID, "getpid", func(t *Task, a Args) (uintptr, error) { return 1, nil })
	register(unix.SYS_GETPPID, "getppid", func(t *Task, a Args) (uintptr, error) { return 0, nil })
	for _, s := range []struct {
		nr   int
		name string
	}{{unix.SYS_GETUID, "getuid"}, {unix.SYS_GETEUID, "geteuid"}, {unix.SYS_GETGID, "getgid"}, {unix.SYS_GETEGID, "getegid"}} {
		register(s.nr, s.name, func(t *Task, a Args) (uintptr, error) { return 0, nil })
	}
	register(unix.SYS_UNAME, "uname", sysUname)
	register(unix.SYS_GETRANDOM, "getrandom", sysGetrandom)
}

// Uname fields reported to the app (utsname, 6 x 65 bytes).
var (
	UnameSysname  = "Linux"
	UnameNodename = "gosv"
	UnameRelease  = "6.1.0-gosv"
	UnameVersion  = "#1 SMP gosv"
	UnameMachine  = "x86_64"
)

func sysUname(t *Task, a Args) (uintptr, error) {
	var b [6 * 65]byte
	for i, s := range []string{UnameSysname, UnameNodename, UnameRelease, UnameVersion, UnameMachine, "(none)"} {
		copy(b[i*65:i*65+64], s)
	}
	return 0, t.CopyOut(a[0], b[:])
}

func sysGetrandom(t *Task, a Args) (uintptr, error) {
	n := min(a[1], 1<<25)
	buf := make([]byte, n)
	rand.Read(buf)
	return n, t.CopyOut(a[0], buf)
}
