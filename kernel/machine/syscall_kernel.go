package machine

import (
	"github.com/gosv/gosv/internal/bootproto"
	"unsafe"
)

// Linux x86-64 syscall numbers and errno values the machine layer serves
// to the kernel's own Go runtime.
const (
	sysRead            = 0
	sysWrite           = 1
	sysClose           = 3
	sysMmap            = 9
	sysMprotect        = 10
	sysMunmap          = 11
	sysRtSigaction     = 13
	sysRtSigprocmask   = 14
	sysSchedYield      = 24
	sysMadvise         = 28
	sysNanosleep       = 35
	sysGetpid          = 39
	sysClone           = 56
	sysExit            = 60
	sysKill            = 62
	sysFcntl           = 72
	sysSigaltstack     = 131
	sysPrctl           = 157
	sysArchPrctl       = 158
	sysGettid          = 186
	sysFutex           = 202
	sysSchedGetaffin   = 204
	sysClockGettime    = 228
	sysExitGroup       = 231
	sysEpollCtl        = 233
	sysTgkill          = 234
	sysOpenat          = 257
	sysEpollPwait      = 281
	sysEventfd2        = 290
	sysEpollCreate1    = 291
	sysPrlimit64       = 302
	sysGetrandom       = 318
	sysEpollPwait2     = 441
	sysGosvBase        = 0x6000 // private syscalls (machine.go)
	eNOENT             = 2
	eINTR              = 4
	eBADF              = 9
	eAGAIN             = 11
	eNOMEM             = 12
	eBUSY              = 16
	eNODEV             = 19
	eFAULT             = 14
	eINVAL             = 22
	eMFILE             = 24
	eNOSPC             = 28
	eNOSYS             = 38
	eTIMEDOUT          = 110
	futexWait          = 0
	futexWake          = 1
	futexPrivate       = 128
	futexClockRealtime = 256
	cloneSettls        = 0x80000
	archSetFS          = 0x1002
	archGetFS          = 0x1003
)

//go:nosplit
func negErrno(e int) int64 { return int64(-e) }

//go:nosplit
func ret(f *frame, v int64) { f.rax = uint64(v) }

// syscallKernel serves a SYSCALL made by the kernel's own runtime. f is
// the frame on this CPU's syscall stack; blocking calls save it into the
// current thread and load another thread's context into it.
//
//go:nosplit
func syscallKernel(fp uintptr) {
	f := frameAt(fp)
	c := curCPU()
	c.depth++
	f.fs = uint64(th(c.cur).fsbase)
	nSyscalls++
	a0, a1, a2, a3 := uintptr(f.rdi), uintptr(f.rsi), uintptr(f.rdx), uintptr(f.r10)
	switch nr := f.rax; nr {
	case sysWrite:
		ret(f, kwrite(c, f, int(a0), a1, a2))
	case sysRead:
		ret(f, kread(int(a0), a1, a2))
	case sysClose:
		ret(f, kclose(int(a0)))
	case sysMmap:
		ret(f, kmmap(a0, a1, a2, a3, int(int32(f.r8))))
	case sysMunmap:
		if a0&(PageSize-1) != 0 || a0 < WindowStart || a0+a1 > WindowEnd {
			ret(f, negErrno(eINVAL))
			break
		}
		vmLock.lock()
		unmapRange(a0, (a1+PageSize-1)&^(PageSize-1))
		vmLock.unlock()
		ret(f, 0)
	case sysMadvise:
		if a2 == 4 || a2 == 8 { // MADV_DONTNEED, MADV_FREE
			vmLock.lock()
			discardRange(a0&^(PageSize-1), (a1+PageSize-1)&^(PageSize-1))
			vmLock.unlock()
		}
		ret(f, 0)
	case sysMprotect, sysRtSigaction, sysRtSigprocmask, sysSigaltstack, sysPrctl, sysFcntl:
		if nr == sysRtSigaction && a2 != 0 {
			for i := uintptr(0); i < 32; i += 8 {
				store64(a2+i, 0)
			}
		}
		if nr == sysRtSigprocmask && a2 != 0 {
			store64(a2, 0)
		}
		if nr == sysSigaltstack && a1 != 0 {
			store64(a1, 0)
			store64(a1+8, 2) // SS_DISABLE
			store64(a1+16, 0)
		}
		ret(f, 0)
	case sysArchPrctl:
		t := th(c.cur)
		switch a0 {
		case archSetFS:
			t.fsbase = a1
			f.fs = uint64(a1)
			ret(f, 0)
		case archGetFS:
			store64(a1, uint64(t.fsbase))
			ret(f, 0)
		default:
			ret(f, negErrno(eINVAL))
		}
	case sysGetpid:
		ret(f, 1)
	case sysGettid:
		ret(f, int64(th(c.cur).tid))
	case sysSchedYield:
		schedLock.lock()
		ret(f, 0)
		yield(c, f)
		schedLock.unlock()
	case sysSchedGetaffin:
		if a1 < 8 {
			ret(f, negErrno(eINVAL))
			break
		}
		store64(a2, (uint64(1)<<uint(ncpu))-1)
		ret(f, 8)
	case sysClockGettime:
		var ns int64
		if a0 == 0 || a0 == 5 || a0 == 8 { // REALTIME, REALTIME_COARSE, REALTIME_ALARM
			ns = walltime()
		} else {
			ns = int64(nanotime())
		}
		store64(a1, uint64(ns/1_000_000_000))
		store64(a1+8, uint64(ns%1_000_000_000))
		ret(f, 0)
	case sysNanosleep:
		d := load64(a0)*1_000_000_000 + load64(a0+8)
		if d == 0 {
			ret(f, 0)
			break
		}
		schedLock.lock()
		ret(f, 0)
		block(c, f, waitSleep, nanotime()+d)
		schedLock.unlock()
	case sysFutex:
		kfutex(c, f, a0, int(a1), uint32(a2), a3)
	case sysClone:
		ret(f, kclone(c, f, a0, a1))
	case sysExit:
		schedLock.lock()
		t := c.cur
		th(t).state = tsDead
		reschedule(c, f)
		freeThread(t)
		schedLock.unlock()
	case sysExitGroup:
		exitMachine(int(a0))
	case sysTgkill, sysKill:
		sig := a2
		if nr == sysKill {
			sig = a1
		}
		if sig == 23 || sig == 0 { // SIGURG (preemption), probe
			ret(f, 0)
			break
		}
		puts("gosv: the kernel's runtime raised signal ")
		putDec(uint64(sig))
		puts("\n")
		exitMachine(bootproto.ExitRunnerFailed)
	case sysGetrandom:
		ret(f, getrandom(a0, a1))
	case sysOpenat:
		ret(f, negErrno(eNOENT))
	case sysEpollCreate1:
		ret(f, newKfd(kfdEpoll))
	case sysEventfd2:
		fd := newKfd(kfdEventfd)
		if fd >= 0 && fd < maxKfd {
			kfds[fd].count = uint64(a0)
		}
		ret(f, fd)
	case sysEpollCtl:
		ret(f, epollCtl(int(a0), int(a1), int(a2), a3))
	case sysEpollPwait:
		epollWait(c, f, int(a0), a1, int(a2), int64(int32(a3)))
	case sysPrlimit64:
		ret(f, negErrno(eNOSYS))
	default:
		if nr >= sysGosvBase && nr < sysGosvBase+64 {
			privateSyscall(c, f, int(nr-sysGosvBase))
			break
		}
		logUnknown(nr)
		ret(f, negErrno(eNOSYS))
	}
	c.depth--
}

var unknownSeen [512]bool

//go:nosplit
func logUnknown(nr uint64) {
	if nr < uint64(len(unknownSeen)) {
		if unknownSeen[nr] {
			return
		}
		unknownSeen[nr] = true
	}
	puts("gosv: machine: unsupported syscall ")
	putDec(nr)
	puts(" from the kernel runtime (ENOSYS)\n")
}

//go:nosplit
func getrandom(buf, n uintptr) int64 {
	for i := uintptr(0); i < n; i += 8 {
		v, ok := rdrand()
		if !ok {
			v = rdtsc() * 0x9E3779B97F4A7C15
		}
		for j := uintptr(0); j < 8 && i+j < n; j++ {
			*(*byte)(ptr(buf + i + j)) = byte(v >> (8 * j))
		}
	}
	return int64(n)
}

var (
	mmapNext uintptr = mmapAreaStart
)

// kmmap serves mmap(2) for the kernel runtime: anonymous private memory
// only, demand-zero. Hints inside the hint area are honoured, others fail
// with ENOMEM so the runtime tries its next arena hint.
//
//go:nosplit
func kmmap(addr, n, prot, flags uintptr, fd int) int64 {
	const mapFixed, mapAnon = 0x10, 0x20
	if flags&mapAnon == 0 || n == 0 {
		return negErrno(eINVAL)
	}
	n = (n + PageSize - 1) &^ (PageSize - 1)
	vmLock.lock()
	var va uintptr
	switch {
	case flags&mapFixed != 0:
		if addr&(PageSize-1) != 0 || addr < WindowStart || addr+n > WindowEnd {
			vmLock.unlock()
			return negErrno(eINVAL)
		}
		va = addr
	case addr != 0:
		if addr < hintAreaStart || addr+n > hintAreaEnd || addr&(PageSize-1) != 0 {
			vmLock.unlock()
			return negErrno(eNOMEM)
		}
		va = addr
	default:
		if mmapNext+n > mmapAreaEnd {
			vmLock.unlock()
			return negErrno(eNOMEM)
		}
		va = mmapNext
		mmapNext += n + PageSize // leave a hole between mappings
	}
	ok := true
	if prot == 0 {
		unmapRange(va, n)
	} else {
		ok = mapDemand(va, n, prot, false)
	}
	vmLock.unlock()
	if !ok {
		return negErrno(eNOMEM)
	}
	return int64(va)
}

// kfutex implements FUTEX_WAIT and FUTEX_WAKE (futex(2)) for the runtime.
//
//go:nosplit
func kfutex(c *cpuData, f *frame, addr uintptr, op int, val uint32, ts uintptr) {
	op &^= futexPrivate | futexClockRealtime
	switch op {
	case futexWait:
		schedLock.lock()
		if load32(addr) != val {
			schedLock.unlock()
			ret(f, negErrno(eAGAIN))
			return
		}
		var deadline uint64
		if ts != 0 {
			deadline = nanotime() + load64(ts)*1_000_000_000 + load64(ts+8)
		}
		t := th(c.cur)
		t.waitAddr = addr
		t.next = futexHead
		futexHead = c.cur
		ret(f, 0)
		block(c, f, waitFutex, deadline)
		schedLock.unlock()
	case futexWake:
		schedLock.lock()
		n := 0
		for tp := futexHead; tp != 0 && n < int(val); {
			next := th(tp).next
			if th(tp).waitAddr == addr {
				wake(tp, 0)
				n++
			}
			tp = next
		}
		schedLock.unlock()
		ret(f, int64(n))
	default:
		ret(f, negErrno(eNOSYS))
	}
}

// kclone creates a kernel thread that starts at the instruction after the
// SYSCALL with rax=0, on stack stk, and FS base from r8 with CLONE_SETTLS.
//
//go:nosplit
func kclone(c *cpuData, f *frame, flags, stk uintptr) int64 {
	tp := newThread()
	if tp == 0 {
		return negErrno(eAGAIN)
	}
	t := th(tp)
	copyWords(uintptr(unsafe.Pointer(&t.regs.r15)), uintptr(unsafe.Pointer(&f.r15)), ctxWords)
	t.regs.rax = 0
	t.regs.rsp = uint64(stk)
	if flags&cloneSettls != 0 {
		t.fsbase = uintptr(f.r8)
	} else {
		t.fsbase = th(c.cur).fsbase
	}
	schedLock.lock()
	runqPush(tp)
	schedLock.unlock()
	return int64(t.tid)
}
