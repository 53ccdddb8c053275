package machine

// The kernel runtime's file descriptors: just what its netpoller uses, an
// epoll instance and eventfds (epoll(7), eventfd(2)). Fds 0-2 are the console.
const (
	kfdFree = iota
	kfdEpoll
	kfdEventfd
	maxKfd  = 32
	epollIn = 0x1
)

type kfile struct {
	kind  int
	count uint64 // eventfd counter
	// epoll interest list, indexed by the registered fd
	reg [maxKfd]epollReg
}

type epollReg struct {
	on   bool
	ev   uint32
	data uint64
}

var (
	consoleLock  spinlock
	kfds         [maxKfd]kfile
	epollWaiters uintptr
)

//go:nosplit
func newKfd(kind int) int64 {
	schedLock.lock()
	defer0 := int64(negErrno(eMFILE))
	for i := 3; i < maxKfd; i++ {
		if kfds[i].kind == kfdFree {
			kfds[i] = kfile{kind: kind}
			defer0 = int64(i)
			break
		}
	}
	schedLock.unlock()
	return defer0
}

//go:nosplit
func kclose(fd int) int64 {
	if fd < 3 || fd >= maxKfd || kfds[fd].kind == kfdFree {
		return negErrno(eBADF)
	}
	schedLock.lock()
	kfds[fd].kind = kfdFree
	schedLock.unlock()
	return 0
}

//go:nosplit
func kwrite(c *cpuData, f *frame, fd int, buf, n uintptr) int64 {
	if fd == 1 || fd == 2 {
		consoleLock.lock()
		for i := uintptr(0); i < n; i++ {
			if fd == 1 {
				putc(*(*byte)(ptr(buf + i)))
			} else {
				putcErr(*(*byte)(ptr(buf + i)))
			}
		}
		consoleLock.unlock()
		return int64(n)
	}
	if fd < 3 || fd >= maxKfd || kfds[fd].kind != kfdEventfd || n < 8 {
		return negErrno(eBADF)
	}
	schedLock.lock()
	kfds[fd].count += load64(buf)
	// Wake every epoll waiter: the eventfd became readable.
	for epollWaiters != 0 {
		tp := epollWaiters
		wake(tp, 0)
	}
	schedLock.unlock()
	return 8
}

//go:nosplit
func kread(fd int, buf, n uintptr) int64 {
	if fd < 3 || fd >= maxKfd || kfds[fd].kind != kfdEventfd || n < 8 {
		return negErrno(eBADF)
	}
	schedLock.lock()
	v := kfds[fd].count
	kfds[fd].count = 0
	schedLock.unlock()
	if v == 0 {
		return negErrno(eAGAIN)
	}
	store64(buf, v)
	return 8
}

//go:nosplit
func epollCtl(epfd, op, fd int, ev uintptr) int64 {
	if epfd < 3 || epfd >= maxKfd || kfds[epfd].kind != kfdEpoll {
		return negErrno(eBADF)
	}
	if fd < 0 || fd >= maxKfd {
		return negErrno(eBADF)
	}
	r := &kfds[epfd].reg[fd]
	schedLock.lock()
	res := int64(0)
	switch op {
	case 1, 3: // EPOLL_CTL_ADD, EPOLL_CTL_MOD
		// struct epoll_event is packed on x86-64: u32 events, u64 data.
		r.on, r.ev, r.data = true, load32(ev), load64(ev+4)
	case 2: // EPOLL_CTL_DEL
		r.on = false
	default:
		res = negErrno(eINVAL)
	}
	schedLock.unlock()
	return res
}

// epollWait reports ready eventfds, or blocks up to timeout ms (-1 = forever).
//
//go:nosplit
func epollWait(c *cpuData, f *frame, epfd int, events uintptr, max int, timeout int64) {
	if epfd < 3 || epfd >= maxKfd || kfds[epfd].kind != kfdEpoll || max <= 0 {
		ret(f, negErrno(eINVAL))
		return
	}
	e := &kfds[epfd]
	schedLock.lock()
	n := 0
	for fd := 0; fd < maxKfd && n < max; fd++ {
		r := &e.reg[fd]
		if r.on && r.ev&epollIn != 0 && kfds[fd].kind == kfdEventfd && kfds[fd].count > 0 {
			p := events + uintptr(n)*12
			store32(p, epollIn)
			store64(p+4, r.data)
			n++
		}
	}
	if n > 0 || timeout == 0 {
		schedLock.unlock()
		ret(f, int64(n))
		return
	}
	var deadline uint64
	if timeout > 0 {
		deadline = nanotime() + uint64(timeout)*1_000_000
	}
	t := th(c.cur)
	t.next = epollWaiters
	epollWaiters = c.cur
	ret(f, 0) // woken: the runtime calls epoll_pwait again and finds the event
	block(c, f, waitEpoll, deadline)
	schedLock.unlock()
}
