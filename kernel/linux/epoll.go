package linux

import (
	"math"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// epoll(7): epoll_create(2), epoll_create1(2), epoll_ctl(2),
// epoll_wait(2), epoll_pwait(2), epoll_pwait2(2).
func init() {
	register(unix.SYS_EPOLL_CREATE, "epoll_create", sysEpollCreate)
	register(unix.SYS_EPOLL_CREATE1, "epoll_create1", sysEpollCreate1)
	register(unix.SYS_EPOLL_CTL, "epoll_ctl", sysEpollCtl)
	register(unix.SYS_EPOLL_WAIT, "epoll_wait", sysEpollWait)
	register(unix.SYS_EPOLL_PWAIT, "epoll_pwait", sysEpollPwait)
	register(unix.SYS_EPOLL_PWAIT2, "epoll_pwait2", sysEpollPwait2)
}

const (
	// epollPrivateBits are flags of an interest, never reported.
	epollPrivateBits = unix.EPOLLWAKEUP | unix.EPOLLONESHOT | unix.EPOLLET | unix.EPOLLEXCLUSIVE
	// epollExclusiveOK are the bits allowed with EPOLLEXCLUSIVE.
	epollExclusiveOK = unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLERR | unix.EPOLLHUP | unix.EPOLLWAKEUP | unix.EPOLLET | unix.EPOLLEXCLUSIVE
	epollMaxEvents   = math.MaxInt32 / epollEventSize
	epollEventSize   = 12 // struct epoll_event is packed on x86-64: u32 events, u64 data
	epollMaxNests    = 4  // EP_MAX_NESTS
)

// epollKey names an interest like Linux does: the fd and the open file
// description it referred to when added.
type epollKey struct {
	fd   int
	desc *fileFlags
}

// epollItem is one interest of an epoll instance.
type epollItem struct {
	key     epollKey
	poller  Poller
	events  uint32 // requested events | EPOLLERR | EPOLLHUP | flags; only flags after EPOLLONESHOT fired
	data    uint64
	changed chan struct{} // signalled by the file at each change; drained by collectLocked
	queued  bool          // on the ready list
	gone    bool          // deleted
	cancel  [2]func()
}

// epollFile is an epoll instance. Each interest watches its file twice:
// with its own channel, which tells which files changed (Linux's
// ep_poll_callback; read synchronously, so a change made before
// epoll_wait is always seen), and with the instance's kick channel, whose
// pump goroutine wakes blocked waiters and watchers of the epoll fd.
// epoll_wait moves changed interests to the ready list, polls them and
// puts level-triggered ones back (ep_send_events).
type epollFile struct {
	mu    sync.Mutex
	items map[epollKey]*epollItem
	ready []*epollItem
	kick  chan struct{}
	done  chan struct{}
	// watchers are epoll_wait callers and pollers of the epoll fd itself.
	watchers pollWatchers
}

// epollLoopMu serialises adding epoll instances to each other, so the loop
// check and the insertion are atomic (Linux's epnested_mutex).
var epollLoopMu sync.Mutex

func newEpoll() *epollFile {
	ep := &epollFile{items: map[epollKey]*epollItem{}, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		for {
			select {
			case <-ep.kick:
				ep.watchers.notify()
			case <-ep.done:
				return
			}
		}
	}()
	return ep
}

func (ep *epollFile) Read(t *Task, p []byte) (int, error)  { return 0, unix.EINVAL }
func (ep *epollFile) Write(t *Task, p []byte) (int, error) { return 0, unix.EINVAL }

func (ep *epollFile) Close() error {
	ep.mu.Lock()
	for _, it := range ep.items {
		ep.dropLocked(it)
	}
	ep.ready = nil
	ep.mu.Unlock()
	close(ep.done)
	return nil
}

func (ep *epollFile) Stat() (unix.Stat_t, error) {
	return unix.Stat_t{Mode: 0o600, Nlink: 1, Blksize: pageSize}, nil
}

// Poll: an epoll fd is readable when one of its interests has events.
func (ep *epollFile) Poll() uint32 {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.collectLocked()
	for _, it := range ep.ready {
		if !it.gone && it.poller.Poll()&it.events&^epollPrivateBits != 0 {
			return unix.EPOLLIN | unix.EPOLLRDNORM
		}
	}
	return 0
}

func (ep *epollFile) Watch(ch chan<- struct{}) (cancel func()) { return ep.watchers.Watch(ch) }

// dropLocked removes it from the instance and stops watching its file.
func (ep *epollFile) dropLocked(it *epollItem) {
	if it.gone {
		return
	}
	it.gone = true
	delete(ep.items, it.key)
	it.cancel[0]()
	it.cancel[1]()
}

// queueLocked puts it on the ready list if it is not there yet and has
// events; it reports whether waiters must be notified.
func (ep *epollFile) queueLocked(it *epollItem) bool {
	if it.gone || it.queued || it.events&^epollPrivateBits == 0 {
		return false
	}
	if it.poller.Poll()&it.events&^epollPrivateBits == 0 {
		return false
	}
	it.queued = true
	ep.ready = append(ep.ready, it)
	return true
}

// collectLocked queues the interests whose files signalled a change.
func (ep *epollFile) collectLocked() {
	for _, it := range ep.items {
		select {
		case <-it.changed:
			ep.queueLocked(it)
		default:
		}
	}
}

// addLocked inserts an interest (EPOLL_CTL_ADD).
func (ep *epollFile) addLocked(key epollKey, p Poller, events uint32, data uint64) bool {
	it := &epollItem{key: key, poller: p, events: events, data: data, changed: make(chan struct{}, 1)}
	it.cancel[0] = p.Watch(it.changed)
	it.cancel[1] = p.Watch(ep.kick)
	ep.items[key] = it
	return ep.queueLocked(it)
}

// alive reports whether the open file description of an interest is still
// open in some fd (Linux removes interests when their file is closed).
func (k epollKey) alive() bool {
	k.desc.mu.Lock()
	defer k.desc.mu.Unlock()
	return k.desc.refs > 0
}

type epollEvent struct {
	events uint32
	data   uint64
}

// harvest returns up to max events from the ready list (ep_send_events).
// Level-triggered interests that reported go back to the end of the list;
// edge-triggered ones wait for the next change; one-shot ones are disabled.
func (ep *epollFile) harvest(max int) []epollEvent {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	ep.collectLocked()
	var out []epollEvent
	var again []*epollItem
	list := ep.ready
	i := 0
	for ; i < len(list) && len(out) < max; i++ {
		it := list[i]
		it.queued = false
		if it.gone {
			continue
		}
		if !it.key.alive() {
			ep.dropLocked(it)
			continue
		}
		rev := it.poller.Poll() & it.events &^ epollPrivateBits
		if rev == 0 {
			continue
		}
		out = append(out, epollEvent{rev, it.data})
		switch {
		case it.events&unix.EPOLLONESHOT != 0:
			it.events &= epollPrivateBits
		case it.events&unix.EPOLLET == 0:
			it.queued = true
			again = append(again, it)
		}
	}
	ep.ready = append(append([]*epollItem(nil), list[i:]...), again...)
	return out
}

// reaches reports whether ep reaches target through nested epoll
// instances within depth levels (or nests deeper than allowed).
func (ep *epollFile) reaches(target *epollFile, depth int) bool {
	if depth > epollMaxNests {
		return true
	}
	ep.mu.Lock()
	var nested []*epollFile
	for _, it := range ep.items {
		if e, ok := it.poller.(*epollFile); ok {
			nested = append(nested, e)
		}
	}
	ep.mu.Unlock()
	for _, e := range nested {
		if e == target || e.reaches(target, depth+1) {
			return true
		}
	}
	return false
}

// getDesc returns the file at fd and its open file description.
func (d *FDTable) getDesc(fd int) (File, *fileFlags, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.fds[fd]
	if !ok {
		return nil, nil, unix.EBADF
	}
	return e.file, e.flags, nil
}

func sysEpollCreate(t *Task, a Args) (uintptr, error) {
	if int32(a[0]) <= 0 {
		return 0, unix.EINVAL
	}
	return installEpoll(t, false)
}

func sysEpollCreate1(t *Task, a Args) (uintptr, error) {
	flags := int(int32(a[0]))
	if flags&^unix.EPOLL_CLOEXEC != 0 {
		return 0, unix.EINVAL
	}
	return installEpoll(t, flags&unix.EPOLL_CLOEXEC != 0)
}

func installEpoll(t *Task, cloexec bool) (uintptr, error) {
	fd, err := t.P.FDs.Install(newEpoll(), unix.O_RDWR, cloexec, 0)
	return uintptr(fd), err
}

// epoll_ctl(epfd, op, fd, event), with Linux's order of checks.
func sysEpollCtl(t *Task, a Args) (uintptr, error) {
	epfd, op, fd := int(int32(a[0])), int(int32(a[1])), int(int32(a[2]))
	var events uint32
	var data uint64
	if op != unix.EPOLL_CTL_DEL {
		var b [epollEventSize]byte
		if err := t.CopyIn(b[:], a[3]); err != nil {
			return 0, err
		}
		events, data = le.Uint32(b[0:]), le.Uint64(b[4:])
	}
	ef, err := t.P.FDs.Get(epfd)
	if err != nil {
		return 0, err
	}
	tf, desc, err := t.P.FDs.getDesc(fd)
	if err != nil {
		return 0, err
	}
	p, ok := tf.(Poller)
	if !ok {
		return 0, unix.EPERM
	}
	target, targetIsEpoll := tf.(*epollFile)
	if op != unix.EPOLL_CTL_DEL && events&unix.EPOLLEXCLUSIVE != 0 {
		if op == unix.EPOLL_CTL_MOD || targetIsEpoll || events&^epollExclusiveOK != 0 {
			return 0, unix.EINVAL
		}
	}
	ep, ok := ef.(*epollFile)
	if !ok || ep == target {
		return 0, unix.EINVAL
	}
	if targetIsEpoll && op == unix.EPOLL_CTL_ADD {
		epollLoopMu.Lock()
		defer epollLoopMu.Unlock()
		if target.reaches(ep, 1) {
			return 0, unix.ELOOP
		}
	}
	events |= unix.EPOLLERR | unix.EPOLLHUP
	key := epollKey{fd, desc}
	ep.mu.Lock()
	it := ep.items[key]
	notify := false
	switch op {
	case unix.EPOLL_CTL_ADD:
		if it != nil {
			err = unix.EEXIST
		} else {
			notify = ep.addLocked(key, p, events, data)
		}
	case unix.EPOLL_CTL_MOD:
		switch {
		case it == nil:
			err = unix.ENOENT
		case it.events&unix.EPOLLEXCLUSIVE != 0:
			err = unix.EINVAL
		default:
			it.events, it.data = events, data
			notify = ep.queueLocked(it)
		}
	case unix.EPOLL_CTL_DEL:
		if it == nil {
			err = unix.ENOENT
		} else {
			ep.dropLocked(it)
		}
	default:
		err = unix.EINVAL
	}
	ep.mu.Unlock()
	if notify {
		ep.watchers.notify()
	}
	return 0, err
}

// epollWait implements the epoll_wait family; timeout < 0 waits forever.
func epollWait(t *Task, epfd int, addr uintptr, maxevents int, timeout time.Duration) (uintptr, error) {
	intr := t.interruptCh()
	if maxevents <= 0 || maxevents > epollMaxEvents {
		return 0, unix.EINVAL
	}
	f, err := t.P.FDs.Get(epfd)
	if err != nil {
		return 0, err
	}
	ep, ok := f.(*epollFile)
	if !ok {
		return 0, unix.EINVAL
	}
	var evs []epollEvent
	scan := func() bool {
		evs = ep.harvest(maxevents)
		return len(evs) > 0
	}
	if err := waitReady(intr, []Poller{ep}, timeout, scan); err != nil {
		return 0, err
	}
	if len(evs) == 0 {
		return 0, nil
	}
	b := make([]byte, epollEventSize*len(evs))
	for i, e := range evs {
		le.PutUint32(b[epollEventSize*i:], e.events)
		le.PutUint64(b[epollEventSize*i+4:], e.data)
	}
	if err := t.CopyOut(addr, b); err != nil {
		return 0, err
	}
	return uintptr(len(evs)), nil
}

// msTimeout converts a timeout in milliseconds (negative: infinite).
func msTimeout(ms int32) time.Duration {
	if ms < 0 {
		return -1
	}
	return time.Duration(ms) * time.Millisecond
}

func sysEpollWait(t *Task, a Args) (uintptr, error) {
	return epollWait(t, int(int32(a[0])), a[1], int(int32(a[2])), msTimeout(int32(a[3])))
}

// epoll_pwait(epfd, events, maxevents, timeout, sigmask, sigsetsize).
func sysEpollPwait(t *Task, a Args) (uintptr, error) {
	return t.withSigmask(a[4], a[5], func() (uintptr, error) {
		return epollWait(t, int(int32(a[0])), a[1], int(int32(a[2])), msTimeout(int32(a[3])))
	})
}

// epoll_pwait2(epfd, events, maxevents, timeout *timespec, sigmask, sigsetsize).
func sysEpollPwait2(t *Task, a Args) (uintptr, error) {
	timeout, err := timespecTimeout(t, a[3])
	if err != nil {
		return 0, err
	}
	return t.withSigmask(a[4], a[5], func() (uintptr, error) {
		return epollWait(t, int(int32(a[0])), a[1], int(int32(a[2])), timeout)
	})
}
