package machine

import (
	"sync/atomic"
	"unsafe"
)

// thread is a kernel thread: one Go M of the kernel's runtime, or an idle
// loop. It lives in a frame of its own (direct map); its FPU image lives in
// a second frame. Links between threads are uintptrs (no write barriers).
type thread struct {
	regs     frame // saved context when not running (regs.fpu unused)
	fsbase   uintptr
	state    uintptr
	tid      uintptr
	next     uintptr // run queue, futex or epoll wait list
	snext    uintptr // sleep list (ordered by deadline)
	deadline uint64  // ns of monotonic time; 0 = none
	wait     uintptr // what the thread waits for (waitNone, ...)
	waitAddr uintptr // futex address
	fpuValid uintptr
	fpuArea  uintptr // 64-byte aligned XSAVE/FXSAVE image
	self     uintptr // physical address of this struct's frame

	// App mode (a goroutine running app code through RunApp).
	app   uintptr // *AppContext while in app mode
	kregs frame   // kernel context to return to when the app traps
	kfpu  uintptr
}

const (
	tsRunning = iota + 1
	tsRunnable
	tsBlocked
	tsDead
	tsIdle
)

const (
	waitNone = iota
	waitFutex
	waitSleep
	waitEpoll
	waitIRQ // WaitVector (irq.go)
)

var (
	schedLock  spinlock
	runqHead   uintptr
	runqTail   uintptr
	sleepHead  uintptr
	futexHead  uintptr
	nextTID    uint64 = 1
	nThreads   int64
	fpuInit    uintptr // clean FPU image loaded into threads without a saved one
	timeSlice  uint64  = 10_000_000
	threadPool uintptr // freed thread frames
)

//go:nosplit
func th(p uintptr) *thread { return (*thread)(ptr(p)) }

// newThread allocates a thread; 0 when memory is exhausted.
//
//go:nosplit
func newThread() uintptr {
	p := allocFrame()
	if p == 0 {
		return 0
	}
	fa := allocFrame()
	if fa == 0 {
		freeFrame(p)
		return 0
	}
	t := th(phys2virt(p))
	t.self = p
	t.fpuArea = phys2virt(fa)
	t.state = tsRunnable
	t.tid = uintptr(atomic.AddUint64(&nextTID, 1))
	t.fsbase = uintptr(unsafe.Pointer(&scratchTLS)) + 16
	atomic.AddInt64(&nThreads, 1)
	return phys2virt(p)
}

//go:nosplit
func freeThread(tp uintptr) {
	t := th(tp)
	if t.kfpu != 0 {
		freeFrame(t.kfpu - DirectMapBase)
	}
	freeFrame(t.fpuArea - DirectMapBase)
	freeFrame(t.self)
	atomic.AddInt64(&nThreads, -1)
}

//go:nosplit
func runqPush(tp uintptr) {
	t := th(tp)
	t.state = tsRunnable
	t.next = 0
	if runqTail == 0 {
		runqHead = tp
	} else {
		th(runqTail).next = tp
	}
	runqTail = tp
	if ncpu > 1 {
		wakeIdleCPU(curCPU())
	}
}

//go:nosplit
func runqPop() uintptr {
	tp := runqHead
	if tp != 0 {
		runqHead = th(tp).next
		if runqHead == 0 {
			runqTail = 0
		}
		th(tp).next = 0
	}
	return tp
}

// sleepInsert adds t to the deadline-ordered sleep list.
//
//go:nosplit
func sleepInsert(tp uintptr) {
	t := th(tp)
	pp := &sleepHead
	for *pp != 0 && th(*pp).deadline <= t.deadline {
		pp = &th(*pp).snext
	}
	t.snext = *pp
	*pp = tp
}

//go:nosplit
func sleepRemove(tp uintptr) {
	for pp := &sleepHead; *pp != 0; pp = &th(*pp).snext {
		if *pp == tp {
			*pp = th(tp).snext
			th(tp).snext = 0
			return
		}
	}
}

//go:nosplit
func listRemove(head *uintptr, tp uintptr) {
	for pp := head; *pp != 0; pp = &th(*pp).next {
		if *pp == tp {
			*pp = th(tp).next
			th(tp).next = 0
			return
		}
	}
}

// wake makes a blocked thread runnable with syscall result rax.
//
//go:nosplit
func wake(tp uintptr, rax uint64) {
	t := th(tp)
	switch t.wait {
	case waitFutex:
		listRemove(&futexHead, tp)
	case waitEpoll:
		listRemove(&epollWaiters, tp)
	}
	if t.deadline != 0 {
		sleepRemove(tp)
		t.deadline = 0
	}
	t.wait = waitNone
	t.regs.rax = rax
	runqPush(tp)
}

// saveContext copies the context in f into thread t.
//
//go:nosplit
func saveContext(t *thread, f *frame) {
	copyWords(uintptr(unsafe.Pointer(&t.regs.r15)), uintptr(unsafe.Pointer(&f.r15)), ctxWords)
	if f.fpu != 0 {
		copyWords(t.fpuArea, f.fpu, xsaveLen/8)
		t.fpuValid = 1
	} else {
		t.fpuValid = 0
	}
}

// loadContext makes f resume thread t.
//
//go:nosplit
func loadContext(c *cpuData, t *thread, f *frame) {
	nSwitches++
	copyWords(uintptr(unsafe.Pointer(&f.r15)), uintptr(unsafe.Pointer(&t.regs.r15)), ctxWords)
	if t.fpuValid != 0 {
		f.fpu = t.fpuArea
	} else {
		f.fpu = fpuInit
	}
	if t.app != 0 && atomic.LoadUint32(&appCtx(t.app).Kick) != 0 {
		c.cur = uintptr(unsafe.Pointer(t))
		t.state = tsRunning
		leaveApp(c, t, f, EventInterrupt, 0, 0)
		return
	}
	if t.app != 0 {
		wrmsr(msrKernelGSBase, appCtx(t.app).GSBase)
	}
	f.fs = uint64(fsOf(t))
	c.cur = uintptr(unsafe.Pointer(t))
	t.state = tsRunning
}

// reschedule picks the next thread for this CPU and loads it into f. The
// current thread's context must already be saved (or the thread be dead).
// Called with schedLock held.
//
//go:nosplit
func reschedule(c *cpuData, f *frame) {
	next := runqPop()
	if next == 0 {
		next = c.idle
	}
	loadContext(c, th(next), f)
	if next != c.idle {
		th(next).state = tsRunning
	} else {
		th(next).state = tsIdle
	}
	c.sliceEnd = nanotime() + timeSlice
	rearmTimer(c)
}

// block suspends the current thread (whose syscall frame is f) until wake;
// the syscall then returns the value wake passes. deadline 0 = none.
// Called with schedLock held.
//
//go:nosplit
func block(c *cpuData, f *frame, why uintptr, deadline uint64) {
	t := th(c.cur)
	saveContext(t, f)
	t.state = tsBlocked
	t.wait = why
	t.deadline = deadline
	if deadline != 0 {
		sleepInsert(c.cur)
	}
	reschedule(c, f)
}

// yield puts the current thread at the back of the run queue.
//
//go:nosplit
func yield(c *cpuData, f *frame) {
	if runqHead == 0 {
		return
	}
	t := th(c.cur)
	saveContext(t, f)
	runqPush(c.cur)
	reschedule(c, f)
}

// timerInterrupt wakes expired sleepers and preempts the current thread
// when its slice is over and another thread is runnable.
//
//go:nosplit
func timerInterrupt(c *cpuData, f *frame) {
	schedLock.lock()
	now := nanotime()
	expireSleepers(now)
	cur := th(c.cur)
	if cur.app != 0 && atomic.LoadUint32(&appCtx(cur.app).Kick) != 0 {
		leaveApp(c, cur, f, EventInterrupt, 0, 0)
		rearmTimer(c)
		schedLock.unlock()
		return
	}
	switch {
	case cur.state == tsIdle && runqHead != 0:
		saveContext(cur, f)
		reschedule(c, f)
	case cur.state == tsRunning && runqHead != 0 && now >= c.sliceEnd:
		saveContext(cur, f)
		runqPush(c.cur)
		reschedule(c, f)
	default:
		if now >= c.sliceEnd {
			c.sliceEnd = now + timeSlice
		}
		rearmTimer(c)
	}
	schedLock.unlock()
}

//go:nosplit
func expireSleepers(now uint64) {
	for sleepHead != 0 && th(sleepHead).deadline <= now {
		tp := sleepHead
		t := th(tp)
		var rax uint64
		if t.wait == waitFutex {
			rax = uint64(negErrno(eTIMEDOUT))
		}
		wake(tp, rax)
	}
}

// rearmTimer programs the LAPIC timer for the next event: the earliest
// sleeper, or the end of the slice when another thread waits to run.
//
//go:nosplit
func rearmTimer(c *cpuData) {
	next := uint64(0)
	if sleepHead != 0 {
		next = th(sleepHead).deadline
	}
	// A busy CPU always ticks at the end of its slice: another CPU may make
	// a thread runnable at any time, and only this CPU's timer preempts.
	if th(c.cur).state != tsIdle {
		if next == 0 || c.sliceEnd < next {
			next = c.sliceEnd
		}
	}
	setTimerDeadline(next)
}

// fsOf is the FS base thread t runs with: its app's while in app mode.
//
//go:nosplit
func fsOf(t *thread) uintptr {
	if t.app != 0 {
		return uintptr(appCtx(t.app).FSBase)
	}
	return t.fsbase
}
