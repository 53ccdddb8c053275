package linux

import (
	"crypto/rand"
	"math"
	"path"
	"sync"

	"golang.org/x/sys/unix"
)

// Identity and system information: getpid(2) and friends, credentials
// (setuid(2), setresuid(2), getgroups(2), capget(2), ...), process groups
// and sessions, prctl(2), personality(2), uname(2), getrandom(2),
// getcpu(2), membarrier(2). Resources are in sys_res.go.
func init() {
	register(unix.SYS_GETPID, "getpid", func(t *Task, a Args) (uintptr, error) { return uintptr(t.P.Pid()), nil })
	register(unix.SYS_GETPPID, "getppid", func(t *Task, a Args) (uintptr, error) { return 0, nil })

	register(unix.SYS_GETUID, "getuid", credGetter(func(c *creds) uint32 { return c.uid }))
	register(unix.SYS_GETEUID, "geteuid", credGetter(func(c *creds) uint32 { return c.euid }))
	register(unix.SYS_GETGID, "getgid", credGetter(func(c *creds) uint32 { return c.gid }))
	register(unix.SYS_GETEGID, "getegid", credGetter(func(c *creds) uint32 { return c.egid }))
	register(unix.SYS_SETUID, "setuid", func(t *Task, a Args) (uintptr, error) { return 0, t.setid(false, idSet, uint32(a[0]), 0, 0) })
	register(unix.SYS_SETGID, "setgid", func(t *Task, a Args) (uintptr, error) { return 0, t.setid(true, idSet, uint32(a[0]), 0, 0) })
	register(unix.SYS_SETREUID, "setreuid", func(t *Task, a Args) (uintptr, error) {
		return 0, t.setid(false, idSetRE, uint32(a[0]), uint32(a[1]), 0)
	})
	register(unix.SYS_SETREGID, "setregid", func(t *Task, a Args) (uintptr, error) {
		return 0, t.setid(true, idSetRE, uint32(a[0]), uint32(a[1]), 0)
	})
	register(unix.SYS_SETRESUID, "setresuid", func(t *Task, a Args) (uintptr, error) {
		return 0, t.setid(false, idSetRES, uint32(a[0]), uint32(a[1]), uint32(a[2]))
	})
	register(unix.SYS_SETRESGID, "setresgid", func(t *Task, a Args) (uintptr, error) {
		return 0, t.setid(true, idSetRES, uint32(a[0]), uint32(a[1]), uint32(a[2]))
	})
	register(unix.SYS_GETRESUID, "getresuid", func(t *Task, a Args) (uintptr, error) { return 0, t.getres(false, a) })
	register(unix.SYS_GETRESGID, "getresgid", func(t *Task, a Args) (uintptr, error) { return 0, t.getres(true, a) })
	register(unix.SYS_SETFSUID, "setfsuid", func(t *Task, a Args) (uintptr, error) { return t.setfsid(false, uint32(a[0])), nil })
	register(unix.SYS_SETFSGID, "setfsgid", func(t *Task, a Args) (uintptr, error) { return t.setfsid(true, uint32(a[0])), nil })
	register(unix.SYS_GETGROUPS, "getgroups", sysGetgroups)
	register(unix.SYS_SETGROUPS, "setgroups", sysSetgroups)
	register(unix.SYS_CAPGET, "capget", sysCapget)
	register(unix.SYS_CAPSET, "capset", sysCapset)

	register(unix.SYS_GETPGID, "getpgid", sysGetpgid)
	register(unix.SYS_GETPGRP, "getpgrp", func(t *Task, a Args) (uintptr, error) { return 1, nil })
	register(unix.SYS_GETSID, "getsid", sysGetpgid) // the app is its own session and group
	register(unix.SYS_SETPGID, "setpgid", sysSetpgid)
	register(unix.SYS_SETSID, "setsid", func(t *Task, a Args) (uintptr, error) { return 0, unix.EPERM })

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

// Capabilities (capabilities(7)): the app starts as root with all of them.
const (
	capLastCap     = 40 // CAP_CHECKPOINT_RESTORE
	capAll         = uint64(1)<<(capLastCap+1) - 1
	capSetgid      = 6
	capSetuid      = 7
	capSysNice     = 23
	capSysResource = 24
)

// creds are the process's credentials (credentials(7)). Linux keeps them
// per thread; glibc makes every thread change them together.
type creds struct {
	uid, euid, suid, fsuid  uint32
	gid, egid, sgid, fsgid  uint32
	groups                  []uint32
	capEff, capPerm, capInh uint64
	keepCaps                bool // PR_SET_KEEPCAPS
}

func (c *creds) capable(cap int) bool { return c.capEff&(1<<cap) != 0 }

var rootCreds = creds{capEff: capAll, capPerm: capAll}

// cred returns the process credentials, locked; call unlock when done.
func (t *Task) cred() (c *creds, unlock func()) {
	s := t.P.miscState()
	s.mu.Lock()
	return &s.cred, s.mu.Unlock
}

func credGetter(get func(*creds) uint32) SyscallFn {
	return func(t *Task, a Args) (uintptr, error) {
		c, unlock := t.cred()
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
func (t *Task) setid(gid bool, kind setidKind, r, e, s uint32) error {
	c, unlock := t.cred()
	defer unlock()
	ids := [4]*uint32{&c.uid, &c.euid, &c.suid, &c.fsuid}
	priv := c.capable(capSetuid)
	if gid {
		ids = [4]*uint32{&c.gid, &c.egid, &c.sgid, &c.fsgid}
		priv = c.capable(capSetgid)
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
		c.uidCapChange(old, [3]uint32{nr, ne, ns})
	}
	return nil
}

// uidCapChange applies cap_emulate_setxuid: leaving uid 0 everywhere drops
// the permitted and effective sets, leaving euid 0 the effective set;
// becoming euid 0 raises the effective set to the permitted one.
func (c *creds) uidCapChange(old, new [3]uint32) {
	if (old[0] == 0 || old[1] == 0 || old[2] == 0) && new[0] != 0 && new[1] != 0 && new[2] != 0 && !c.keepCaps {
		c.capPerm, c.capEff = 0, 0
	}
	if old[1] == 0 && new[1] != 0 {
		c.capEff = 0
	}
	if old[1] != 0 && new[1] == 0 {
		c.capEff = c.capPerm
	}
}

func (t *Task) getres(gid bool, a Args) error {
	c, unlock := t.cred()
	ids := [3]uint32{c.uid, c.euid, c.suid}
	if gid {
		ids = [3]uint32{c.gid, c.egid, c.sgid}
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
func (t *Task) setfsid(gid bool, id uint32) uintptr {
	c, unlock := t.cred()
	defer unlock()
	ids, priv := [4]*uint32{&c.uid, &c.euid, &c.suid, &c.fsuid}, c.capable(capSetuid)
	if gid {
		ids, priv = [4]*uint32{&c.gid, &c.egid, &c.sgid, &c.fsgid}, c.capable(capSetgid)
	}
	old := *ids[3]
	if id != noID && (priv || id == *ids[0] || id == *ids[1] || id == *ids[2] || id == *ids[3]) {
		*ids[3] = id
	}
	return uintptr(old)
}

const ngroupsMax = 65536

func sysGetgroups(t *Task, a Args) (uintptr, error) {
	size := int(int32(a[0]))
	if size < 0 {
		return 0, unix.EINVAL
	}
	c, unlock := t.cred()
	groups := append([]uint32(nil), c.groups...)
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

func sysSetgroups(t *Task, a Args) (uintptr, error) {
	c, unlock := t.cred()
	priv := c.capable(capSetgid)
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
	c, unlock = t.cred()
	c.groups = groups
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
func capHeader(t *Task, addr uintptr) (words int, pid int32, err error) {
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

func sysCapget(t *Task, a Args) (uintptr, error) {
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
	if _, err := t.findTask(int(pid)); err != nil {
		return 0, err
	}
	c, unlock := t.cred()
	sets := [3]uint64{c.capEff, c.capPerm, c.capInh}
	unlock()
	b := make([]byte, 12*words)
	for w := 0; w < words; w++ {
		for i, s := range sets {
			le.PutUint32(b[12*w+4*i:], uint32(s>>(32*w)))
		}
	}
	return 0, t.CopyOut(a[1], b)
}

func sysCapset(t *Task, a Args) (uintptr, error) {
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
	eff, perm, inh := sets[0]&capAll, sets[1]&capAll, sets[2]&capAll
	c, unlock := t.cred()
	defer unlock()
	if words == 1 { // version 1 leaves the upper words unchanged
		eff |= c.capEff &^ math.MaxUint32
		perm |= c.capPerm &^ math.MaxUint32
		inh |= c.capInh &^ math.MaxUint32
	}
	if perm&^c.capPerm != 0 || eff&^perm != 0 || inh&^(c.capInh|c.capPerm) != 0 {
		return 0, unix.EPERM
	}
	c.capEff, c.capPerm, c.capInh = eff, perm, inh
	return 0, nil
}

// getpgid(pid) and getsid(pid): the app is process group and session 1.
func sysGetpgid(t *Task, a Args) (uintptr, error) {
	if _, err := t.findTask(int(int32(a[0]))); err != nil {
		return 0, err
	}
	return 1, nil
}

// setpgid(pid, pgid): the app leads its session, which Linux refuses.
func sysSetpgid(t *Task, a Args) (uintptr, error) {
	pid, pgid := int(int32(a[0])), int(int32(a[1]))
	if pgid < 0 {
		return 0, unix.EINVAL
	}
	x, err := t.findTask(pid)
	if err != nil {
		return 0, err
	}
	if x.TID != t.P.Pid() && pid != 0 {
		return 0, unix.EINVAL // not a thread group leader
	}
	return 0, unix.EPERM
}

// taskState is the per-thread state of the misc family.
type taskState struct {
	mu         sync.Mutex
	comm       string
	named      bool
	pdeathsig  int
	timerslack uint64
}

// newTaskState is the misc state of a new thread (timer slack 50 µs).
func newTaskState() taskState { return taskState{timerslack: 50000} }

func (t *Task) miscState() *taskState { return &t.misc }

func (p *Process) miscState() *procState { return p.state() }

// taskCommLen is TASK_COMM_LEN: a thread name has at most 15 bytes.
const taskCommLen = 16

// Comm is the thread's name (prctl PR_SET_NAME, /proc/self/comm): the
// executable's base name until the thread sets another.
func (t *Task) Comm() string {
	s := t.miscState()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.named {
		return s.comm
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
func (t *Task) SetComm(name string) {
	if len(name) >= taskCommLen {
		name = name[:taskCommLen-1]
	}
	s := t.miscState()
	s.mu.Lock()
	s.comm, s.named = name, true
	s.mu.Unlock()
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

func sysPrctl(t *Task, a Args) (uintptr, error) {
	option, arg2 := int(int32(a[0])), a[1]
	switch option {
	case prSetPdeathsig:
		if arg2 > 64 {
			return 0, unix.EINVAL
		}
		s := t.miscState()
		s.mu.Lock()
		s.pdeathsig = int(arg2)
		s.mu.Unlock()
		return 0, nil
	case prGetPdeathsig:
		s := t.miscState()
		s.mu.Lock()
		sig := s.pdeathsig
		s.mu.Unlock()
		return 0, t.WriteU32(arg2, uint32(sig))
	case prGetDumpable, prGetKeepCaps, prGetChildSubreaper, prGetNoNewPrivs, prGetTHPDisable:
		if option == prGetNoNewPrivs && (a[1] != 0 || a[2] != 0 || a[3] != 0 || a[4] != 0) {
			return 0, unix.EINVAL
		}
		ps := t.P.miscState()
		ps.mu.Lock()
		defer ps.mu.Unlock()
		switch option {
		case prGetDumpable:
			return uintptr(ps.dumpable), nil
		case prGetKeepCaps:
			return boolRet(ps.cred.keepCaps), nil
		case prGetChildSubreaper:
			return 0, t.WriteU32(arg2, uint32(boolRet(ps.subreaper)))
		case prGetNoNewPrivs:
			return boolRet(ps.noNewPrivs), nil
		default:
			return boolRet(ps.thpDisable), nil
		}
	case prSetDumpable, prSetKeepCaps, prSetChildSubreaper, prSetNoNewPrivs, prSetTHPDisable:
		if (option == prSetDumpable || option == prSetKeepCaps) && arg2 > 1 ||
			option == prSetNoNewPrivs && (arg2 != 1 || a[2] != 0 || a[3] != 0 || a[4] != 0) {
			return 0, unix.EINVAL
		}
		ps := t.P.miscState()
		ps.mu.Lock()
		defer ps.mu.Unlock()
		switch option {
		case prSetDumpable:
			ps.dumpable = int(arg2)
		case prSetKeepCaps:
			ps.cred.keepCaps = arg2 == 1
		case prSetChildSubreaper:
			ps.subreaper = arg2 != 0
		case prSetNoNewPrivs:
			ps.noNewPrivs = true
		default:
			ps.thpDisable = arg2 != 0
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
		t.SetComm(string(name))
		return 0, nil
	case prGetName:
		var b [taskCommLen]byte
		copy(b[:taskCommLen-1], t.Comm())
		return 0, t.CopyOut(arg2, b[:])
	case prGetSeccomp:
		return 0, nil
	case prCapbsetRead:
		if arg2 > capLastCap {
			return 0, unix.EINVAL
		}
		return 1, nil
	case prCapbsetDrop:
		if arg2 > capLastCap {
			return 0, unix.EINVAL
		}
		return 0, nil
	case prCapAmbient:
		if a[1] == 1 || a[1] == 2 || a[1] == 3 { // IS_SET, RAISE, LOWER
			if a[2] > capLastCap {
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
		s := t.miscState()
		s.mu.Lock()
		defer s.mu.Unlock()
		if option == prGetTimerslack {
			return uintptr(s.timerslack), nil
		}
		s.timerslack = uint64(arg2)
		if arg2 == 0 {
			s.timerslack = 50000
		}
		return 0, nil
	case prMCEKill, prSetPtracer:
		return 0, nil
	case prMCEKillGet:
		return 0, nil // PR_MCE_KILL_DEFAULT
	case prGetTidAddress:
		return 0, t.WriteU64(arg2, uint64(t.clearTID))
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
func sysPersonality(t *Task, a Args) (uintptr, error) {
	s := t.P.miscState()
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.personality
	if p := uint32(a[0]); p != math.MaxUint32 {
		s.personality = p
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

func sysUname(t *Task, a Args) (uintptr, error) {
	var b [6 * 65]byte
	for i, s := range []string{UnameSysname, UnameNodename, UnameRelease, UnameVersion, UnameMachine, "(none)"} {
		copy(b[i*65:i*65+64], s)
	}
	return 0, t.CopyOut(a[0], b[:])
}

// getrandom(buf, count, flags): the pool is always initialised, so
// GRND_NONBLOCK never fails; a fault after some bytes returns their count.
func sysGetrandom(t *Task, a Args) (uintptr, error) {
	flags := a[2]
	if flags&^(unix.GRND_NONBLOCK|unix.GRND_RANDOM|unix.GRND_INSECURE) != 0 ||
		flags&(unix.GRND_RANDOM|unix.GRND_INSECURE) == unix.GRND_RANDOM|unix.GRND_INSECURE {
		return 0, unix.EINVAL
	}
	n := min(a[1], 1<<25)
	buf := make([]byte, min(n, pageSize))
	done := uintptr(0)
	for done < n {
		// Chunks end at page boundaries, so a fault returns what fits.
		chunk := buf[:min(n-done, pageSize-(a[0]+done)%pageSize)]
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
func sysGetcpu(t *Task, a Args) (uintptr, error) {
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
func sysMembarrier(t *Task, a Args) (uintptr, error) {
	cmd, flags := int(int32(a[0])), a[1]
	if flags != 0 {
		return 0, unix.EINVAL
	}
	s := t.P.miscState()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch cmd {
	case mbQuery:
		return mbSupported, nil
	case mbGlobal, mbGlobalExpedited:
		return 0, nil
	case mbRegisterGlobalExpedited, mbRegisterPrivateExpedited, mbRegisterPrivateSyncCore:
		s.membarrier |= uint32(cmd)
		return 0, nil
	case mbPrivateExpedited, mbPrivateSyncCore:
		if s.membarrier&uint32(cmd<<1) == 0 {
			return 0, unix.EPERM
		}
		return 0, nil
	}
	return 0, unix.EINVAL
}
