package linux

import (
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Readiness syscalls: poll(2), ppoll(2), select(2), pselect6(2). epoll(7)
// lives in epoll.go and eventfd(2) in eventfd.go.
//
// Readiness comes from the optional Poller interface of a File: Poll
// returns the EPOLL* bits that hold now (EPOLLIN, EPOLLOUT, EPOLLHUP, ...,
// which equal the POLL* bits), and Watch registers a channel that the file
// signals, without blocking, whenever its readiness may have changed.
// Watchers pass a channel with a buffer of one and check readiness after
// registering, so no change is lost. A File can implement Watch by
// embedding pollWatchers and calling notify after each change. A File
// without Poller is always readable and writable, like a regular file
// (DEFAULT_POLLMASK).
func init() {
	register(unix.SYS_POLL, "poll", sysPoll)
	register(unix.SYS_PPOLL, "ppoll", sysPpoll)
	register(unix.SYS_SELECT, "select", sysSelect)
	register(unix.SYS_PSELECT6, "pselect6", sysPselect6)
}

// Poll bits (poll(2)); the EPOLL* constants have the same values.
const (
	pollIn     = unix.POLLIN
	pollPri    = unix.POLLPRI
	pollOut    = unix.POLLOUT
	pollErr    = unix.POLLERR
	pollHup    = unix.POLLHUP
	pollNval   = unix.POLLNVAL
	pollRdNorm = unix.EPOLLRDNORM
	pollRdBand = unix.EPOLLRDBAND
	pollWrNorm = unix.EPOLLWRNORM
	pollWrBand = unix.EPOLLWRBAND

	// defaultPollMask is the readiness of a file without Poller.
	defaultPollMask = pollIn | pollOut | pollRdNorm | pollWrNorm
)

// pollWatchers is the set of channels registered with Watch on one file.
// Embed it to implement Poller.Watch; call notify after every change of
// readiness.
type pollWatchers struct {
	mu   sync.Mutex
	next uint64
	chs  map[uint64]chan<- struct{}
}

// Watch registers ch; cancel unregisters it.
func (w *pollWatchers) Watch(ch chan<- struct{}) (cancel func()) {
	w.mu.Lock()
	if w.chs == nil {
		w.chs = map[uint64]chan<- struct{}{}
	}
	id := w.next
	w.next++
	w.chs[id] = ch
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		delete(w.chs, id)
		w.mu.Unlock()
	}
}

// notify signals every watcher without blocking.
func (w *pollWatchers) notify() {
	w.mu.Lock()
	for _, ch := range w.chs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	w.mu.Unlock()
}

// nonblockFlag tells whether O_NONBLOCK is set on the open file
// description of a File that blocks (eventfd, timerfd): it follows fcntl
// F_SETFL once the file is installed with installNonblocking.
type nonblockFlag struct {
	initial bool                      // O_NONBLOCK at creation
	desc    atomic.Pointer[fileFlags] // the description's status flags
}

func (n *nonblockFlag) get() bool {
	d := n.desc.Load()
	if d == nil {
		return n.initial
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.flags&unix.O_NONBLOCK != 0
}

// installNonblocking installs f at the lowest free fd with the status
// flags (O_RDWR plus O_NONBLOCK when nonblock) and ties n to them.
func installNonblocking(t *Task, f File, n *nonblockFlag, nonblock, cloexec bool) (uintptr, error) {
	flags := unix.O_RDWR
	if nonblock {
		flags |= unix.O_NONBLOCK
	}
	n.initial = nonblock
	fd, err := t.P.FDs.Install(f, flags, cloexec, 0)
	if err != nil {
		return 0, err
	}
	// f is a pointer, so the comparison is safe; another thread may have
	// closed fd already.
	if file, desc, err := t.P.FDs.getDesc(fd); err == nil && file == f {
		n.desc.Store(desc)
	}
	return uintptr(fd), nil
}

// waitFor runs try with mu held until it succeeds, then notifies w's
// watchers; while it fails the task waits for a change signalled through
// w. EAGAIN when nonblock, EINTR when the task is interrupted.
func waitFor(t *Task, mu *sync.Mutex, w *pollWatchers, nonblock *nonblockFlag, try func() bool) error {
	var intr <-chan struct{}
	var wake chan struct{}
	for {
		mu.Lock()
		ok := try()
		mu.Unlock()
		if ok {
			w.notify()
			return nil
		}
		if nonblock.get() {
			return unix.EAGAIN
		}
		if wake == nil { // register, then try again
			intr = t.interruptCh()
			wake = make(chan struct{}, 1)
			cancel := w.Watch(wake)
			defer cancel()
			continue
		}
		select {
		case <-wake:
		case <-intr:
			return unix.EINTR
		}
	}
}

// pollFile returns the readiness of f: Poller.Poll, or defaultPollMask.
func pollFile(f File) uint32 {
	if p, ok := f.(Poller); ok {
		return p.Poll()
	}
	return defaultPollMask
}

// Console readiness: reads return at once (end of file on stdin) and
// writes never block, so a console is always readable and writable.
func (c *Console) Poll() uint32 { return defaultPollMask }

// Watch: a console's readiness never changes.
func (c *Console) Watch(ch chan<- struct{}) (cancel func()) { return func() {} }

// waitReady runs scan until it reports true, the timeout passes (timeout
// < 0: never) or intr is closed (EINTR). Every Poller in ps is watched
// while waiting; scan runs once more after the timeout. With timeout 0,
// scan runs once and nothing is watched.
func waitReady(intr <-chan struct{}, ps []Poller, timeout time.Duration, scan func() bool) error {
	if scan() || timeout == 0 {
		return nil
	}
	wake := make(chan struct{}, 1)
	for _, p := range ps {
		cancel := p.Watch(wake)
		defer cancel()
	}
	var expired <-chan time.Time
	if timeout > 0 {
		tm := time.NewTimer(timeout)
		defer tm.Stop()
		expired = tm.C
	}
	for {
		if scan() {
			return nil
		}
		select {
		case <-wake:
		case <-expired:
			scan()
			return nil
		case <-intr:
			return unix.EINTR
		}
	}
}

// timespecTimeout reads a relative timeout for ppoll, pselect6 and
// epoll_pwait2: -1 (infinite) when addr is 0; EINVAL when invalid.
func timespecTimeout(t *Task, addr uintptr) (time.Duration, error) {
	if addr == 0 {
		return -1, nil
	}
	return readTimespec(t, addr)
}

// remaining is what is left of timeout (>= 0) since start.
func remaining(timeout time.Duration, start int64) time.Duration {
	return max(0, timeout-time.Duration(Nanotime()-start))
}

// withSigmask runs wait with the signal mask at maskAddr (when non-zero)
// in place of the task's own (ppoll, pselect6, epoll_pwait). EINVAL
// unless size is 8. After EINTR the temporary mask stays in force until
// the signal is delivered, whose handler frame records the saved one
// (setWaitSigmask in signal.go); otherwise it is restored at once.
func (t *Task) withSigmask(maskAddr, size uintptr, wait func() (uintptr, error)) (uintptr, error) {
	if maskAddr == 0 {
		return wait()
	}
	if size != 8 {
		return 0, unix.EINVAL
	}
	mask, err := t.ReadU64(maskAddr)
	if err != nil {
		return 0, err
	}
	t.setWaitSigmask(mask)
	r, err := wait()
	t.endWaitSigmask(err == unix.EINTR)
	return r, err
}

// nofileLimit is the soft RLIMIT_NOFILE (bound on poll's nfds).
func (t *Task) nofileLimit() int {
	t.P.FDs.mu.Lock()
	defer t.P.FDs.mu.Unlock()
	return t.P.FDs.limit
}

// doPoll implements poll and ppoll over the pollfd array at addr
// (struct pollfd {int fd; short events; short revents}).
func doPoll(t *Task, addr uintptr, nfds uint64, timeout time.Duration) (uintptr, error) {
	intr := t.interruptCh()
	if nfds > uint64(t.nofileLimit()) {
		return 0, unix.EINVAL
	}
	buf := make([]byte, 8*nfds)
	if err := t.CopyIn(buf, addr); err != nil {
		return 0, err
	}
	files := make([]File, nfds)
	var ps []Poller
	for i := range files {
		fd := int32(le.Uint32(buf[8*i:]))
		if fd < 0 {
			continue
		}
		if f, err := t.P.FDs.Get(int(fd)); err == nil {
			files[i] = f
			if p, ok := f.(Poller); ok {
				ps = append(ps, p)
			}
		}
	}
	n := 0
	scan := func() bool {
		n = 0
		for i, f := range files {
			fd := int32(le.Uint32(buf[8*i:]))
			var rev uint32
			switch {
			case fd < 0:
			case f == nil:
				rev = pollNval
			default:
				events := uint32(le.Uint16(buf[8*i+4:]))
				rev = pollFile(f) & (events | pollErr | pollHup)
			}
			le.PutUint16(buf[8*i+6:], uint16(rev))
			if rev != 0 {
				n++
			}
		}
		return n > 0
	}
	if err := waitReady(intr, ps, timeout, scan); err != nil {
		return 0, err
	}
	if err := t.CopyOut(addr, buf); err != nil {
		return 0, err
	}
	return uintptr(n), nil
}

func sysPoll(t *Task, a Args) (uintptr, error) {
	timeout := time.Duration(-1)
	if ms := int32(a[2]); ms >= 0 {
		timeout = time.Duration(ms) * time.Millisecond
	}
	return doPoll(t, a[0], uint64(uint32(a[1])), timeout)
}

// ppoll(fds, nfds, tmo_p, sigmask, sigsetsize): the remaining time is
// written back to *tmo_p.
func sysPpoll(t *Task, a Args) (uintptr, error) {
	timeout, err := timespecTimeout(t, a[2])
	if err != nil {
		return 0, err
	}
	return t.withSigmask(a[3], a[4], func() (uintptr, error) {
		start := Nanotime()
		n, err := doPoll(t, a[0], uint64(uint32(a[1])), timeout)
		if a[2] != 0 && (err == nil || err == unix.EINTR) {
			rem := remaining(timeout, start)
			writeTimespec(t, a[2], int64(rem/time.Second), int64(rem%time.Second))
		}
		return n, err
	})
}

// Readiness that sets a bit of each select set (fs/select.c).
const (
	selectIn  = pollIn | pollRdNorm | pollRdBand | pollHup | pollErr
	selectOut = pollOut | pollWrNorm | pollWrBand | pollErr
	selectEx  = pollPri
)

// doSelect implements select and pselect6 over the fd_set bitmaps at
// sets[0..2] (read, write, except; 0 = none) for fds below nfds.
func doSelect(t *Task, nfds int, sets [3]uintptr, timeout time.Duration) (uintptr, error) {
	intr := t.interruptCh()
	if nfds < 0 {
		return 0, unix.EINVAL
	}
	nfds = min(nfds, t.nofileLimit())
	nbytes := (nfds + 63) / 64 * 8
	var in [3][]byte
	for i, addr := range sets {
		if addr == 0 || nbytes == 0 {
			continue
		}
		in[i] = make([]byte, nbytes)
		if err := t.CopyIn(in[i], addr); err != nil {
			return 0, err
		}
	}
	type entry struct {
		fd   int
		f    File
		want [3]bool
	}
	var entries []entry
	var ps []Poller
	for fd := 0; fd < nfds; fd++ {
		var e entry
		wanted := false
		for i := range in {
			if in[i] != nil && in[i][fd/8]&(1<<(fd%8)) != 0 {
				e.want[i], wanted = true, true
			}
		}
		if !wanted {
			continue
		}
		f, err := t.P.FDs.Get(fd)
		if err != nil {
			return 0, unix.EBADF
		}
		e.fd, e.f = fd, f
		entries = append(entries, e)
		if p, ok := f.(Poller); ok {
			ps = append(ps, p)
		}
	}
	var out [3][]byte
	for i := range in {
		if in[i] != nil {
			out[i] = make([]byte, nbytes)
		}
	}
	n := 0
	scan := func() bool {
		n = 0
		for i := range out {
			clear(out[i])
		}
		for _, e := range entries {
			ready := pollFile(e.f)
			for i, mask := range [3]uint32{selectIn, selectOut, selectEx} {
				if e.want[i] && ready&mask != 0 {
					out[i][e.fd/8] |= 1 << (e.fd % 8)
					n++
				}
			}
		}
		return n > 0
	}
	if err := waitReady(intr, ps, timeout, scan); err != nil {
		return 0, err
	}
	for i, addr := range sets {
		if out[i] != nil {
			if err := t.CopyOut(addr, out[i]); err != nil {
				return 0, err
			}
		}
	}
	return uintptr(n), nil
}

// select(nfds, readfds, writefds, exceptfds, timeout): struct timeval
// {sec, usec}; the remaining time is written back.
func sysSelect(t *Task, a Args) (uintptr, error) {
	timeout := time.Duration(-1)
	if a[4] != 0 {
		var b [16]byte
		if err := t.CopyIn(b[:], a[4]); err != nil {
			return 0, err
		}
		sec, usec := int64(le.Uint64(b[0:])), int64(le.Uint64(b[8:]))
		sec, usec = sec+usec/1e6, usec%1e6
		if sec < 0 || usec < 0 {
			return 0, unix.EINVAL
		}
		timeout = durationOf(sec, usec*1000)
	}
	start := Nanotime()
	n, err := doSelect(t, int(int32(a[0])), [3]uintptr{a[1], a[2], a[3]}, timeout)
	if a[4] != 0 && (err == nil || err == unix.EINTR) {
		rem := remaining(timeout, start)
		var b [16]byte
		le.PutUint64(b[0:], uint64(rem/time.Second))
		le.PutUint64(b[8:], uint64(rem%time.Second/time.Microsecond))
		t.CopyOut(a[4], b[:])
	}
	return n, err
}

// pselect6(nfds, readfds, writefds, exceptfds, timeout, sig): sig points
// to {const sigset_t *ss; size_t ss_len}; the remaining time is written
// back to *timeout.
func sysPselect6(t *Task, a Args) (uintptr, error) {
	timeout, err := timespecTimeout(t, a[4])
	if err != nil {
		return 0, err
	}
	var mask, size uintptr
	if a[5] != 0 {
		var b [16]byte
		if err := t.CopyIn(b[:], a[5]); err != nil {
			return 0, err
		}
		mask, size = uintptr(le.Uint64(b[0:])), uintptr(le.Uint64(b[8:]))
	}
	return t.withSigmask(mask, size, func() (uintptr, error) {
		start := Nanotime()
		n, err := doSelect(t, int(int32(a[0])), [3]uintptr{a[1], a[2], a[3]}, timeout)
		if a[4] != 0 && (err == nil || err == unix.EINTR) {
			rem := remaining(timeout, start)
			writeTimespec(t, a[4], int64(rem/time.Second), int64(rem%time.Second))
		}
		return n, err
	})
}
