package linux

import (
	"crypto/rand"
	"math"
	"path"

	"github.com/gosv/gosv/kernel/task"
	"golang.org/x/sys/unix"
)

// Identity and system information: getpid(2) and friends, credentials
// (setuid(2), setresuid(2), getgroups(2), capget(2), ...), process groups
// and sessions, prctl(2), personality(2), uname(2), getrandom(2),
// getcpu(2), membarrier(2). Resources are in sys_res.go.
func init() {
	register(unix.SYS_GETPID, "getpid", func(t *task.Task, a task.Args) (uintptr, error) { return uintptr(t.P.Pid()), nil })
	register(unix.SYS_GETPPID, "getppid", func(t *task.Task, a task.Args) (uintptr, error) { return 0, nil })

	register(unix.SYS_GETUID, "getuid", credGetter(func(c *task.Creds) uint32 { return c.Uid }))
	register(unix.SYS_GETEUID, "geteuid", credGetter(func(c *task.Creds) uint32 { return c.Euid }))
	register(unix.SYS_GETGID, "getgid", credGetter(func(c *task.Creds) uint32 { return c.Gid }))
	register(unix.SYS_GETEGID, "getegid", credGetter(func(c *task.Creds) uint32 { return c.Egid }))
	register(unix.SYS_SETUID, "setuid", func(t *task.Task, a task.Args) (uintptr, error) { return 0, setid(t, false, idSet, uint32(a[0]), 0, 0) })
	register(unix.SYS_SETGID, "setgid", func(t *task.Task, a task.Args) (uintptr, error) { return 0, setid(t, true, idSet, uint32(a[0]), 0, 0) })
	register(unix.SYS_SETREUID, "setreuid", func(t *task.Task, a task.Args) (uintptr, error) {
		return 0, setid(t, false, idSetRE, uint32(a[0]), uint32(a[1]), 0)
	})
	register(unix.SYS_SETREGID, "setregid", func(t *task.Task, a task.Args) (uintptr, error) {
		return 0, setid(t, true, idSetRE, uint32(a[0]), uint32(a[1]), 0)
	})
	register(unix.SYS_SETRESUID, "setresuid", func(t *task.Task, a task.Args) (uintptr, error) {
		return 0, setid(t, false, idSetRES, uint32(a[0]), uint32(a[1]), uint32(a[2]))
	})
	register(unix.SYS_SETRESGID, "setresgid", func(t *task.Task, a task.Args) (uintptr, error) {
		return 0, setid(t, true, idSetRES, uint32(a[0]), uint32(a[1]), uint32(a[2]))
	})
	register(unix.SYS_GETRESUID, "getresuid", func(t *task.Task, a task.Args) (uintptr, error) { return 0, getres(t, false, a) })
	register(unix.SYS_GETRESGID, "getresgid", func(t *task.Task, a task.Args) (uintptr, error) { return 0, getres(t, true, a) })
	register(unix.SYS_SETFSUID, "setfsuid", func(t *task.Task, a task.Args) (uintptr, error) { return setfsid(t, false, uint32(a[0])), nil })
	register(unix.SYS_SETFSGID, "setfsgid", func(t *task.Task, a task.Args) (uintptr, error) { return setfsid(t, true, uint32(a[0])), nil })
	register(unix.SYS_GETGROUPS, "getgroups", sysGetgroups)
	register(unix.SYS_SETGROUPS, "setgroups", sysSetgroups)
	register(unix.SYS_CAPGET, "capget", sysCapget)
	register(unix.SYS_CAPSET, "capset", sysCapset)

	register(unix.SYS_GETPGID, "getpgid", sysGetpgid)
	register(unix.SYS_GETPGRP, "getpgrp", func(t *task.Task, a task.Args) (uintptr, error) { return 1, nil })
	register(unix.SYS_GETSID, "getsid", sysGetpgid) // the app is its own session and group
	register(unix.SYS_SETPGID, "setpgid", sysSetpgid)
	register(unix.SYS_SETSID, "setsid", func(t *task.Task, a task.Args) (uintptr, error) { return 0, unix.EPERM })

	register(unix.SYS_PRCTL, "prctl", sysPrctl)
	register(unix.SYS_PERSONALITY, "personality", sysPersonality)
	register(unix.SYS_UNAME, "uname", sysUname)
	register(unix.SYS_GETRANDOM, "getrandom", sysGetrandom)
	register(unix.SYS_GETCPU, "getcpu", sysGetcpu)
	register(unix.SYS_MEMBARRIER, "membarrier", sysMembarrier)

	// Processes come with the multi-process work: until then one program
	// runs per VM.
	const oneProcess = "one process per VM for now"
	registerUnsupported(unix.SYS_FORK, "fork", oneProcess)
	registerUnsupported(unix.SYS_VFORK, "vfork", oneProcess)
	registerUnsupported(unix.SYS_EXECVE, "execve", oneProcess)
	registerUnsupported(unix.SYS_EXECVEAT, "execveat", oneProcess)
	registerUnsupported(unix.SYS_WAIT4, "wait4", oneProcess)
	registerUnsupported(unix.SYS_WAITID, "waitid", oneProcess)
}

// cred returns the process credentials, locked; call unlock when done.
func cred(t *task.Task) (c *task.Creds, unlock func()) {
	s := t.P.MiscState()
	s.Mu.Lock()
	return &s.Cred, s.Mu.Unlock
}

func credGetter(get func(*task.Creds) uint32) task.SyscallFn {
	return func(t *task.Task, a task.Args) (uintptr, error) {
		c, unlock := cred(t)
		defer unlock()
		return uintptr(get(c)), nil
	}
}

const noID = math.MaxUint32 // -1: leave unchanged

type setidKind int

const (
	idSet    setidKind = iota // setuid, setgid
	idSetRE                   // setreuid, setregid
	idSetRES                  // setresuid, setresgid
)

// setid implements the set*uid and set*gid calls with Linux's permission
// rules (kernel/sys.c) and the capability changes of a uid change.
func setid(t *task.Task, gid bool, kind setidKind, r, e, s uint32) error {
	c, unlock := cred(t)
	defer unlock()
	ids := [4]*uint32{&c.Uid, &c.Euid, &c.Suid, &c.Fsuid}
	priv := c.Capable(task.CapSetuid)
	if gid {
		ids = [4]*uint32{&c.Gid, &c.Egid, &c.Sgid, &c.Fsgid}
		priv = c.Capable(task.CapSetgid)
	}
	old := [3]uint32{*ids[0], *ids[1], *ids[2]}
	is := func(v uint32, of ...uint32) bool {
		for _, o := range of {
			if v == o {
				return true
			}
		}
		return false
	}
	nr, ne, ns := old[0], old[1], old[2]
	switch kind {
	case idSet:
		if r == noID {
			return unix.EINVAL
		}
		switch {
		case priv:
			nr, ne, ns = r, r, r
		case is(r, old[0], old[2]):
			ne = r
		default:
			return unix.EPERM
		}
	case idSetRE:
		if r != noID {
			if !priv && !is(r, old[0], old[1]) {
				return unix.EPERM
			}
			nr = r
		}
		if e != noID {
			if !priv && !is(e, old[0], old[1], old[2]) {
				return unix.EPERM
			}
			ne = e
		}
		if r != noID || e != noID && e != old[0] {
			ns = ne
		}
	case idSetRES:
		for _, v := range []uint32{r, e, s} {
			if v != noID && !priv && !is(v, old[0], old[1], old[2]) {
				return unix.EPERM
			}
		}
		if r != noID {
			nr = r
		}
		if e != noID {
			ne = e
		}
		if s != noID {
			ns = s
		}
	}
	*ids[0], *ids[1], *ids[2], *ids[3] = nr, ne, ns, ne
	if !gid {
		uidCapChange(c, old, [3]uint32{nr, ne, ns})
	}
	return nil
}

// uidCapChange applies cap_emulate_setxuid: leaving uid 0 everywhere drops
// the permitted and effective sets, leaving euid 0 the effective set;
// becoming euid 0 raises the effective set to the permitted one.
func uidCapChange(c *task.Creds, old, new [3]uint32) {
	if (old[0] == 0 || old[1] == 0 || old[2] == 0) && new[0] != 0 && new[1] != 0 && new[2] != 0 && !c.KeepCaps {
		c.CapPerm, c.CapEff = 0, 0
	}
	if old[1] == 0 && new[1] != 0 {
		c.CapEff = 0
	}
	if old[1] != 0 && new[1] == 0 {
		c.CapEff = c.CapPerm
	}
}

func getres(t *task.Task, gid bool, a task.Args) error {
	c, unlock := cred(t)
	ids := [3]uint32{c.Uid, c.Euid, c.Suid}
	if gid {
		ids = [3]uint32{c.Gid, c.Egid, c.Sgid}
	}
	unlock()
	for i, id := range ids {
		if err := t.WriteU32(a[i], id); err != nil {
			return err
		}
	}
	return nil
}

// setfsid returns the old fsuid (fsgid) and sets the new one when allowed.
func setfsid(t *task.Task, gid bool, id uint32) uintptr {
	c, unlock := cred(t)
	defer unlock()
	ids, priv := [4]*uint32{&c.Uid, &c.Euid, &c.Suid, &c.Fsuid}, c.Capable(task.CapSetuid)
	if gid {
		ids, priv = [4]*uint32{&c.Gid, &c.Egid, &c.Sgid, &c.Fsgid}, c.Capable(task.CapSetgid)
	}
	old := *ids[3]
	if id != noID && (priv || id == *ids[0] || id == *ids[1] || id == *ids[2] || id == *ids[3]) {
		*ids[3] = id
	}
	return uintptr(old)
}

const ngroupsMax = 65536

func sysGetgroups(t *task.Task, a task.Args) (uintptr, error) {
	size := int(int32(a[0]))
	if size < 0 {
		return 0, unix.EINVAL
	}
	c, unlock := cred(t)
	groups := append([]uint32(nil), c.Groups...)
	unlock()
	if size == 0 {
		return uintptr(len(groups)), nil
	}
	if size < len(groups) {
		return 0, unix.EINVAL
	}
	b := make([]byte, 4*len(groups))
	for i, g := range groups {
		le.PutUint32(b[4*i:], g)
	}
	return uintptr(len(groups)), t.CopyOut(a[1], b)
}

func sysSetgroups(t *task.Task, a task.Args) (uintptr, error) {
	c, unlock := cred(t)
	priv := c.Capable(task.CapSetgid)
	unlock()
	if !priv {
		return 0, unix.EPERM
	}
	size := uint32(a[0])
	if size > ngroupsMax {
		return 0, unix.EINVAL
	}
	b := make([]byte, 4*size)
	if err := t.CopyIn(b, a[1]); err != nil {
		return 0, err
	}
	groups := make([]uint32, size)
	for i := range groups {
		groups[i] = le.Uint32(b[4*i:])
	}
	c, unlock = cred(t)
	c.Groups = groups
	unlock()
	return 0, nil
}

// capget(2)/capset(2) header versions and the number of 32-bit words of
// each capability set they carry.
const (
	capVersion1 = 0x19980330
	capVersion2 = 0x20071026
	capVersion3 = 0x20080522
)

// capHeader reads struct __user_cap_header_struct {u32 version; int pid}:
// the number of data words, the pid, or EINVAL after writing the
// preferred version back.
func capHeader(t *task.Task, addr uintptr) (words int, pid int32, err error) {
	var b [8]byte
	if err := t.CopyIn(b[:], addr); err != nil {
		return 0, 0, err
	}
	switch le.Uint32(b[0:]) {
	case capVersion1:
		words = 1
	case capVersion2, capVersion3:
		words = 2
	default:
		if err := t.WriteU32(addr, capVersion3); err != nil {
			return 0, 0, err
		}
		return 0, 0, unix.EINVAL
	}
	return words, int32(le.Uint32(b[4:])), nil
}

func sysCapget(t *task.Task, a task.Args) (uintptr, error) {
	words, pid, err := capHeader(t, a[0])
	if a[1] == 0 {
		if err == unix.EINVAL {
			return 0, nil // probing for the version
		}
		return 0, err
	}
	if err != nil {
		return 0, err
	}
	if pid < 0 {
		return 0, unix.EINVAL
	}
	if _, err := findTask(t, int(pid)); err != nil {
		return 0, err
	}
	c, unlock := cred(t)
	sets := [3]uint64{c.CapEff, c.CapPerm, c.CapInh}
	unlock()
	b := make([]byte, 12*words)
	for w := 0; w < words; w++ {
		for i, s := range sets {
			le.PutUint32(b[12*w+4*i:], uint32(s>>(32*w)))
		}
	}
	return 0, t.CopyOut(a[1], b)
}

func sysCapset(t *task.Task, a task.Args) (uintptr, error) {
	words, pid, err := capHeader(t, a[0])
	if err != nil {
		return 0, err
	}
	if pid != 0 && int(pid) != t.TID {
		return 0, unix.EPERM
	}
	b := make([]byte, 12*words)
	if err := t.CopyIn(b, a[1]); err != nil {
		return 0, err
	}
	var sets [3]uint64
	for w := 0; w < words; w++ {
		for i := range sets {
			sets[i] |= uint64(le.Uint32(b[12*w+4*i:])) << (32 * w)
		}
	}
	eff, perm, inh := sets[0]&task.CapAll, sets[1]&task.CapAll, sets[2]&task.CapAll
	c, unlock := cred(t)
	defer unlock()
	if words == 1 { // version 1 leaves the upper words unchanged
		eff |= c.CapEff &^ math.MaxUint32
		perm |= c.CapPerm &^ math.MaxUint32
		inh |= c.CapInh &^ math.MaxUint32
	}
	if perm&^c.CapPerm != 0 || eff&^perm != 0 || inh&^(c.CapInh|c.CapPerm) != 0 {
		return 0, unix.EPERM
	}
	c.CapEff, c.CapPerm, c.CapInh = eff, perm, inh
	return 0, nil
}

// getpgid(pid) and getsid(pid): the app is process group and session 1.
func sysGetpgid(t *task.Task, a task.Args) (uintptr, error) {
	if _, err := findTask(t, int(int32(a[0]))); err != nil {
		return 0, err
	}
	return 1, nil
}

// setpgid(pid, pgid): the app leads its session, which Linux refuses.
func sysSetpgid(t *task.Task, a task.Args) (uintptr, error) {
	pid, pgid := int(int32(a[0])), int(int32(a[1]))
	if pgid < 0 {
		return 0, unix.EINVAL
	}
	x, err := findTask(t, pid)
	if err != nil {
		return 0, err
	}
	if x.TID != t.P.Pid() && pid != 0 {
		return 0, unix.EINVAL // not a thread group leader
	}
	return 0, unix.EPERM
}

// taskCommLen is TASK_COMM_LEN: a thread name has at most 15 bytes.
const taskCommLen = 16

// Comm is the thread's name (prctl PR_SET_NAME, /proc/self/comm): the
// executable's base name until the thread sets another.
func Comm(t *task.Task) string {
	s := t.MiscState()
	s.Mu.Lock()
	defer s.Mu.Unlock()
	if s.Named {
		return s.Comm
	}
	name := path.Base(t.P.ExePath)
	if t.P.ExePath == "" {
		name = ""
	}
	if len(name) >= taskCommLen {
		name = name[:taskCommLen-1]
	}
	return name
}

// SetComm names the thread, truncated to 15 bytes.
func SetComm(t *task.Task, name string) {
	if len(name) >= taskCommLen {
		name = name[:taskCommLen-1]
	}
	s := t.MiscState()
	s.Mu.Lock()
	s.Comm, s.Named = name, true
	s.Mu.Unlock()
}

// prctl(2) options.
const (
	prSetPdeathsig       = 1
	prGetPdeathsig       = 2
	prGetDumpable        = 3
	prSetDumpable        = 4
	prGetKeepCaps        = 7
	prSetKeepCaps        = 8
	prSetName            = 15
	prGetName            = 16
	prGetSeccomp         = 21
	prSetSeccomp         = 22
	prCapbsetRead        = 23
	prCapbsetDrop        = 24
	prGetTSC             = 25
	prSetTSC             = 26
	prSetTimerslack      = 29
	prGetTimerslack      = 30
	prMCEKill            = 33
	prMCEKillGet         = 34
	prSetMM              = 35
	prSetChildSubreaper  = 36
	prGetChildSubreaper  = 37
	prSetNoNewPrivs      = 38
	prGetNoNewPrivs      = 39
	prGetTidAddress      = 40
	prSetTHPDisable      = 41
	prGetTHPDisable      = 42
	prCapAmbient         = 47
	prGetSpeculationCtrl = 52
	prSetSpeculationCtrl = 53
	prSetPtracer         = 0x59616d61
	prSetVMA             = 0x53564d41
)

func sysPrctl(t *task.Task, a task.Args) (uintptr, error) {
	option, arg2 := int(int32(a[0])), a[1]
	switch option {
	case prSetPdeathsig:
		if arg2 > 64 {
			return 0, unix.EINVAL
		}
		s := t.MiscState()
		s.Mu.Lock()
		s.Pdeathsig = int(arg2)
		s.Mu.Unlock()
		return 0, nil
	case prGetPdeathsig:
		s := t.MiscState()
		s.Mu.Lock()
		sig := s.Pdeathsig
		s.Mu.Unlock()
		return 0, t.WriteU32(arg2, uint32(sig))
	case prGetDumpable, prGetKeepCaps, prGetChildSubreaper, prGetNoNewPrivs, prGetTHPDisable:
		if option == prGetNoNewPrivs && (a[1] != 0 || a[2] != 0 || a[3] != 0 || a[4] != 0) {
			return 0, unix.EINVAL
		}
		ps := t.P.MiscState()
		ps.Mu.Lock()
		defer ps.Mu.Unlock()
		switch option {
		case prGetDumpable:
			return uintptr(ps.Dumpable), nil
		case prGetKeepCaps:
			return boolRet(ps.Cred.KeepCaps), nil
		case prGetChildSubreaper:
			return 0, t.WriteU32(arg2, uint32(boolRet(ps.Subreaper)))
		case prGetNoNewPrivs:
			return boolRet(ps.NoNewPrivs), nil
		default:
			return boolRet(ps.ThpDisable), nil
		}
	case prSetDumpable, prSetKeepCaps, prSetChildSubreaper, prSetNoNewPrivs, prSetTHPDisable:
		if (option == prSetDumpable || option == prSetKeepCaps) && arg2 > 1 ||
			option == prSetNoNewPrivs && (arg2 != 1 || a[2] != 0 || a[3] != 0 || a[4] != 0) {
			return 0, unix.EINVAL
		}
		ps := t.P.MiscState()
		ps.Mu.Lock()
		defer ps.Mu.Unlock()
		switch option {
		case prSetDumpable:
			ps.Dumpable = int(arg2)
		case prSetKeepCaps:
			ps.Cred.KeepCaps = arg2 == 1
		case prSetChildSubreaper:
			ps.Subreaper = arg2 != 0
		case prSetNoNewPrivs:
			ps.NoNewPrivs = true
		default:
			ps.ThpDisable = arg2 != 0
		}
		return 0, nil
	case prSetName:
		var name []byte
		for len(name) < taskCommLen-1 {
			var c [1]byte
			if err := t.CopyIn(c[:], arg2+uintptr(len(name))); err != nil {
				return 0, err
			}
			if c[0] == 0 {
				break
			}
			name = append(name, c[0])
		}
		SetComm(t, string(name))
		return 0, nil
	case prGetName:
		var b [taskCommLen]byte
		copy(b[:taskCommLen-1], Comm(t))
		return 0, t.CopyOut(arg2, b[:])
	case prGetSeccomp:
		return 0, nil
	case prCapbsetRead:
		if arg2 > task.CapLastCap {
			return 0, unix.EINVAL
		}
		return 1, nil
	case prCapbsetDrop:
		if arg2 > task.CapLastCap {
			return 0, unix.EINVAL
		}
		return 0, nil
	case prCapAmbient:
		if a[1] == 1 || a[1] == 2 || a[1] == 3 { // IS_SET, RAISE, LOWER
			if a[2] > task.CapLastCap {
				return 0, unix.EINVAL
			}
		} else if a[1] != 4 { // CLEAR_ALL
			return 0, unix.EINVAL
		}
		return 0, nil
	case prGetTSC:
		return 0, t.WriteU32(arg2, 1) // PR_TSC_ENABLE
	case prSetTSC:
		if arg2 != 1 && arg2 != 2 {
			return 0, unix.EINVAL
		}
		return 0, nil
	case prSetTimerslack, prGetTimerslack:
		s := t.MiscState()
		s.Mu.Lock()
		defer s.Mu.Unlock()
		if option == prGetTimerslack {
			return uintptr(s.Timerslack), nil
		}
		s.Timerslack = uint64(arg2)
		if arg2 == 0 {
			s.Timerslack = 50000
		}
		return 0, nil
	case prMCEKill, prSetPtracer:
		return 0, nil
	case prMCEKillGet:
		return 0, nil // PR_MCE_KILL_DEFAULT
	case prGetTidAddress:
		return 0, t.WriteU64(arg2, uint64(t.ClearTID))
	case prGetSpeculationCtrl:
		return 0, nil // PR_SPEC_NOT_AFFECTED
	case prSetSpeculationCtrl:
		return 0, unix.ENXIO
	case prSetSeccomp, prSetMM, prSetVMA:
		return 0, unix.EINVAL
	}
	return 0, unix.EINVAL
}

func boolRet(b bool) uintptr {
	if b {
		return 1
	}
	return 0
}

// personality(persona): 0xffffffff queries; other values set and return
// the previous persona (PER_LINUX = 0 at start).
func sysPersonality(t *task.Task, a task.Args) (uintptr, error) {
	s := t.P.MiscState()
	s.Mu.Lock()
	defer s.Mu.Unlock()
	old := s.Personality
	if p := uint32(a[0]); p != math.MaxUint32 {
		s.Personality = p
	}
	return uintptr(old), nil
}

// Uname fields reported to the app (utsname, 6 x 65 bytes).
var (
	UnameSysname  = "Linux"
	UnameNodename = "gosv"
	UnameRelease  = "6.1.0-gosv"
	UnameVersion  = "#1 SMP gosv"
	UnameMachine  = "x86_64"
)

func sysUname(t *task.Task, a task.Args) (uintptr, error) {
	var b [6 * 65]byte
	for i, s := range []string{UnameSysname, UnameNodename, UnameRelease, UnameVersion, UnameMachine, "(none)"} {
		copy(b[i*65:i*65+64], s)
	}
	return 0, t.CopyOut(a[0], b[:])
}

// getrandom(buf, count, flags): the pool is always initialised, so
// GRND_NONBLOCK never fails; a fault after some bytes returns their count.
func sysGetrandom(t *task.Task, a task.Args) (uintptr, error) {
	flags := a[2]
	if flags&^(unix.GRND_NONBLOCK|unix.GRND_RANDOM|unix.GRND_INSECURE) != 0 ||
		flags&(unix.GRND_RANDOM|unix.GRND_INSECURE) == unix.GRND_RANDOM|unix.GRND_INSECURE {
		return 0, unix.EINVAL
	}
	n := min(a[1], 1<<25)
	buf := make([]byte, min(n, task.PageSize))
	done := uintptr(0)
	for done < n {
		// Chunks end at page boundaries, so a fault returns what fits.
		chunk := buf[:min(n-done, task.PageSize-(a[0]+done)%task.PageSize)]
		rand.Read(chunk)
		if err := t.CopyOut(a[0]+done, chunk); err != nil {
			if done > 0 {
				break
			}
			return 0, err
		}
		done += uintptr(len(chunk))
	}
	return done, nil
}

// getcpu(cpu, node, tcache).
func sysGetcpu(t *task.Task, a task.Args) (uintptr, error) {
	if a[0] != 0 {
		if err := t.WriteU32(a[0], uint32(t.P.K.Plat.CurrentCPU())); err != nil {
			return 0, err
		}
	}
	if a[1] != 0 {
		return 0, t.WriteU32(a[1], 0)
	}
	return 0, nil
}

// membarrier(2) commands.
const (
	mbQuery                    = 0
	mbGlobal                   = 1 << 0
	mbGlobalExpedited          = 1 << 1
	mbRegisterGlobalExpedited  = 1 << 2
	mbPrivateExpedited         = 1 << 3
	mbRegisterPrivateExpedited = 1 << 4
	mbPrivateSyncCore          = 1 << 5
	mbRegisterPrivateSyncCore  = 1 << 6

	mbSupported = mbGlobal | mbGlobalExpedited | mbRegisterGlobalExpedited | mbPrivateExpedited |
		mbRegisterPrivateExpedited | mbPrivateSyncCore | mbRegisterPrivateSyncCore
)

// membarrier(cmd, flags, cpu_id). Every app thread enters the kernel
// through a serialising trap, but gosv does not interrupt threads running
// on other CPUs: the barriers are accepted without further action.
func sysMembarrier(t *task.Task, a task.Args) (uintptr, error) {
	cmd, flags := int(int32(a[0])), a[1]
	if flags != 0 {
		return 0, unix.EINVAL
	}
	s := t.P.MiscState()
	s.Mu.Lock()
	defer s.Mu.Unlock()
	switch cmd {
	case mbQuery:
		return mbSupported, nil
	case mbGlobal, mbGlobalExpedited:
		return 0, nil
	case mbRegisterGlobalExpedited, mbRegisterPrivateExpedited, mbRegisterPrivateSyncCore:
		s.Membarrier |= uint32(cmd)
		return 0, nil
	case mbPrivateExpedited, mbPrivateSyncCore:
		if s.Membarrier&uint32(cmd<<1) == 0 {
			return 0, unix.EPERM
		}
		return 0, nil
	}
	return 0, unix.EINVAL
}
